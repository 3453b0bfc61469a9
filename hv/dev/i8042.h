/*
 * i8042.h - the PC/AT keyboard controller (Intel 8042) at ports 0x60/0x64,
 * with nothing attached to it (hv/dev/i8042.c).
 */
#ifndef HV_DEV_I8042_H
#define HV_DEV_I8042_H

#include "../types.h"

#define KBC_PORT_DATA 0x60
#define KBC_PORT_STATUS 0x64	/* read: status; write: command */

struct i8042 {
	u8 pending_cmd;		/* a command whose data byte comes next on
				   0x60 (0 = none) */
	u8 command_byte;	/* controller RAM byte 0 (commands 20h/60h) */
	u8 output_port;		/* the output port (commands D0h/D1h) */
};

void i8042_reset(struct i8042 *k);
u8 i8042_read(struct i8042 *k, u16 port);
/* True if the write pulses the CPU reset line (output port bit 0): the
 * guest asks for a reboot. */
bool i8042_write(struct i8042 *k, u16 port, u8 val);

#endif
