/*
 * console.h - the hypervisor's output: every line goes to COM1.
 *
 *   hv_log("...")   one "[hv] ..." line (the newline is added)
 *   kprintf("...")  raw text, for tables and multi-part lines
 */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include "types.h"

void console_init(void);
void kprintf(const char *fmt, ...) __printf(1, 2);
void vkprintf(const char *fmt, va_list ap);
void hv_log(const char *fmt, ...) __printf(1, 2);
void console_write(const char *s, size_t n);
/* After the HV RESULT line nothing else may reach the console. */
void console_seal(void);

#endif
