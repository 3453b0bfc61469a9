/*
 * serial.c - COM1, a 16550 UART, polled: the hypervisor's only console.
 *
 * Every byte waits for LSR.THRE (transmitter holding register empty) first.
 * Bochs drops bytes written while the transmitter is busy, and a real UART
 * overruns the same way, so there is no unpolled path.  The wait is bounded:
 * a missing or wedged UART (LSR reading 0 forever) must not turn the
 * hypervisor's last words into a silent hang; we give up on that byte.
 */
#include "serial.h"
#include "cpu.h"

#define COM1 0x3f8
/* 16550 registers (offsets from the base port) and bits. */
#define UART_THR 0		/* transmit holding (DLAB=0) */
#define UART_DLL 0		/* divisor latch low (DLAB=1) */
#define UART_IER 1		/* interrupt enable (DLAB=0) */
#define UART_DLM 1		/* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07	/* enable FIFOs, clear both */
#define UART_MCR_DTR_RTS_OUT2 0x0b
#define UART_LSR_THRE 0x20
#define UART_DIVISOR_115200 1		/* 115200 = 1.8432 MHz / 16 / 1 */
#define THRE_SPIN_LIMIT 1000000

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);	/* polled: no UART interrupts */
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, UART_DIVISOR_115200);
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, UART_FCR_ENABLE_CLEAR);
	outb(COM1 + UART_MCR, UART_MCR_DTR_RTS_OUT2);
}

void serial_putc(char c)
{
	for (int spin = 0; spin < THRE_SPIN_LIMIT; spin++) {
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
		pause();
	}
	outb(COM1 + UART_THR, (u8)c);
}
