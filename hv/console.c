/*
 * console.c - formatted output on the serial port.
 *
 * Lines end in CR LF on the wire, as a serial terminal expects; the test
 * scripts strip the CRs.  The console can be sealed: the run's last line is
 * "HV RESULT: ...", so once that is printed every later write is dropped.
 */
#include "console.h"
#include "fmt.h"
#include "../arch/x86/serial.h"

static bool sealed;

void console_init(void)
{
	serial_init();
}

void console_seal(void)
{
	sealed = true;
}

void console_write(const char *s, size_t n)
{
	if (sealed)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

void vkprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n >= (int)sizeof(buf)) {	/* say so rather than cut silently */
		n = sizeof(buf) - 1;
		buf[n - 4] = buf[n - 3] = buf[n - 2] = '.';
		buf[n - 1] = '\n';
	}
	console_write(buf, (size_t)n);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

void hv_log(const char *fmt, ...)
{
	va_list ap;
	kprintf("[hv] ");
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
}
