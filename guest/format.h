/*
 * format.h - a small printf engine with no I/O of its own.
 *
 * fmt_vformat() turns a format and its arguments into characters handed one
 * by one to a sink; the console's kprintf and fmt_snprintf are two sinks.
 * Pure C so tests/test_guest_format.c can check it with the host compiler.
 *
 * Supported: %% %c %s %d %i %u %x %X %p, flags '-' and '0', a width (digits
 * or '*'), a precision for %s ('.N' or '.*'), and the length modifiers l,
 * ll and z.
 */
#ifndef GUEST_FORMAT_H
#define GUEST_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_sink)(void *ctx, char c);

/* Returns the number of characters produced. */
int fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap);

/* Like snprintf: always NUL-terminates when size > 0, returns the length the
 * whole result would have had. */
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
