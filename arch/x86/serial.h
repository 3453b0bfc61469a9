/* serial.h - the 16550 UART at COM1, polled. */
#ifndef ARCH_X86_SERIAL_H
#define ARCH_X86_SERIAL_H

#include "../../hv/types.h"

void serial_init(void);
void serial_putc(char c);

#endif
