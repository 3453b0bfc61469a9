/*
 * console.c - the guest's only output path and its only way to stop.
 *
 * The last line a guest prints is its result: "GUEST RESULT: PASS" or
 * "GUEST RESULT: FAIL <reason>", and then it writes the status to the exit
 * port (abi.h).  Test scripts and memvisor both key on that line, so nothing
 * may be printed after it.
 */
#include "console.h"

#include "abi.h"
#include "cpu.h"
#include "format.h"
#include "serial.h"

static void serial_sink(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

void kvprintf(const char *fmt, va_list ap)
{
	fmt_vformat(serial_sink, 0, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

static __attribute__((noreturn)) void exit_with(int status)
{
	outb(EXIT_PORT, (uint8_t)status);
	/* Only reached when nothing listens on the exit port (bare hardware,
	 * or a hypervisor without it): stop here quietly. */
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void guest_pass(void)
{
	kprintf("GUEST RESULT: PASS\n");
	exit_with(STATUS_PASS);
}

void guest_fail(int status, const char *fmt, ...)
{
	va_list ap;
	kprintf("GUEST RESULT: FAIL ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	exit_with(status);
}
