/*
 * console.h - kprintf to COM1, and the two ways the guest ends: a PASS or a
 * FAIL line, then the status on the exit port.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* Prints "GUEST RESULT: PASS" and writes 0 to the exit port. */
__attribute__((noreturn)) void guest_pass(void);

/* Prints "GUEST RESULT: FAIL <reason>" and writes status to the exit port. */
__attribute__((noreturn, format(printf, 2, 3))) void
guest_fail(int status, const char *fmt, ...);

#endif
