/* serial.h - polled COM1 output. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

void serial_init(void);
void serial_putc(char c);

#endif
