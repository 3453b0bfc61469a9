/*
 * serial.c - a polled driver for the COM1 16550 UART, output only.
 *
 * Every byte waits for LSR.THRE first: Bochs drops bytes written while the
 * transmitter is busy, and memvisor's virtual UART always reports it empty,
 * so polling costs one port read there and is correct everywhere.
 * No interrupts, no receive path: the guest never reads the console.
 */
#include "serial.h"

#include "abi.h"
#include "cpu.h"

/* 16550 registers as offsets from the base port (PC16550D data sheet,
 * table "Register Summary"). */
#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1 0x03       /* 8 data bits, no parity, 1 stop bit */
#define LCR_DLAB 0x80      /* divisor latch access */
#define FCR_ENABLE_CLEAR 0x07 /* FIFOs on, both cleared */
#define MCR_DTR_RTS 0x03
#define LSR_THRE 0x20      /* transmitter holding register empty */
#define BAUD_DIVISOR_115200 1 /* 1.8432 MHz / (16 * 115200) */

/* Bounded so a UART that never says "empty" cannot hang the guest: after
 * this many polls the byte is written anyway. */
#define THRE_POLL_LIMIT 1000000

void serial_init(void)
{
	outb(COM1_BASE + UART_IER, 0);
	outb(COM1_BASE + UART_LCR, LCR_DLAB);
	outb(COM1_BASE + UART_DLL, BAUD_DIVISOR_115200 & 0xFF);
	outb(COM1_BASE + UART_DLM, BAUD_DIVISOR_115200 >> 8);
	outb(COM1_BASE + UART_LCR, LCR_8N1);
	outb(COM1_BASE + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1_BASE + UART_MCR, MCR_DTR_RTS);
}

void serial_putc(char c)
{
	for (int i = 0; i < THRE_POLL_LIMIT; i++) {
		if (inb(COM1_BASE + UART_LSR) & LSR_THRE)
			break;
		cpu_pause();
	}
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}
