/*
 * fmt.h - printf-style formatting into a buffer (no I/O, no allocation).
 *
 * Shared by the hypervisor's console, the UEFI loader and the host tests.
 */
#ifndef HV_FMT_H
#define HV_FMT_H

#include "types.h"

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
