/*
 * i8042.c - the PC/AT keyboard controller: an Intel 8042 (UPI-41/42
 * family) running the IBM keyboard controller firmware, at port 0x60
 * (data: the output buffer on reads, the input buffer on writes) and port
 * 0x64 (reads: the status register; writes: a controller command).
 *
 * Status register bits: 0 OBF (output buffer full), 1 IBF (input buffer
 * full), 2 SYS (system flag), 3 A2 (last write was a command), 4 INH
 * (keyboard not inhibited), 5 AUXB / MOBF, 6 timeout, 7 parity error.
 * The output port's bit 0 drives the CPU's reset line and bit 1 the A20
 * gate.
 *
 * Emulated: a controller with no keyboard and no mouse behind it.  Status
 * reads 0: nothing pending (OBF = 0) and always ready for a byte (IBF =
 * 0), so a guest that polls 0x64 for a key sees none and one that waits to
 * send never waits; the data port reads 0 (no byte was ever placed in the
 * output buffer).  Commands: 20h (read the command byte: answered at once,
 * without OBF, since nothing is queued), 60h (write it, from the next byte
 * on 0x60), D0h (read the output port), D1h (write the output port, next
 * byte on 0x60: bit 0 = 0 pulses reset), and F0h-FFh "pulse output port
 * bits 3:0" for 6 us (a 0 in bit n pulses line n): FEh, or any even
 * command of the range, pulses the reset line.  A reset pulse is the guest
 * asking for a reboot, which memvisor answers by stopping that VM
 * (hv/dev/ports.c), since nothing can restart it from its reset vector.
 *
 * Not emulated: keyboard and mouse data, scancodes, the controller's
 * self-tests and interface tests (their results are never put in the
 * output buffer), IRQ1/IRQ12, the A20 gate (guest RAM has no 1 MiB wrap).
 */
#include "i8042.h"

#define KBC_CMD_READ_CMD_BYTE 0x20
#define KBC_CMD_WRITE_CMD_BYTE 0x60
#define KBC_CMD_READ_OUTPUT_PORT 0xd0
#define KBC_CMD_WRITE_OUTPUT_PORT 0xd1
#define KBC_CMD_PULSE_FIRST 0xf0	/* F0h-FFh: pulse output bits 3:0 */
#define KBC_OUTPORT_RESET_N 0x01	/* CPU reset line, active low */
#define KBC_OUTPORT_A20 0x02
#define KBC_CMD_BYTE_DEFAULT 0x45	/* IRQ1 on, SYS, translate: IBM AT */

void i8042_reset(struct i8042 *k)
{
	*k = (struct i8042){ .command_byte = KBC_CMD_BYTE_DEFAULT,
			     .output_port = KBC_OUTPORT_RESET_N |
					    KBC_OUTPORT_A20 };
}

u8 i8042_read(struct i8042 *k, u16 port)
{
	u8 answer;

	if (port == KBC_PORT_STATUS)
		return 0;	/* OBF = 0, IBF = 0: nothing pending */
	switch (k->pending_cmd) {
	case KBC_CMD_READ_CMD_BYTE:
		answer = k->command_byte;
		break;
	case KBC_CMD_READ_OUTPUT_PORT:
		answer = k->output_port;
		break;
	default:
		return 0;
	}
	k->pending_cmd = 0;
	return answer;
}

bool i8042_write(struct i8042 *k, u16 port, u8 val)
{
	if (port == KBC_PORT_STATUS) {
		k->pending_cmd = val;
		if (val >= KBC_CMD_PULSE_FIRST) {
			k->pending_cmd = 0;
			return !(val & KBC_OUTPORT_RESET_N);
		}
		return false;
	}
	u8 cmd = k->pending_cmd;
	k->pending_cmd = 0;
	if (cmd == KBC_CMD_WRITE_CMD_BYTE) {
		k->command_byte = val;
	} else if (cmd == KBC_CMD_WRITE_OUTPUT_PORT) {
		k->output_port = val;
		return !(val & KBC_OUTPORT_RESET_N);
	}
	return false;	/* a byte for the keyboard: nobody is there */
}
