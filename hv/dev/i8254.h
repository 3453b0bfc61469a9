/*
 * i8254.h - the PC's programmable interval timer (Intel 8254 PIT) and the
 * PC/AT port 0x61 "NMI Status and Control" through which counter 2 is
 * gated and its OUT is read (hv/dev/i8254.c).
 */
#ifndef HV_DEV_I8254_H
#define HV_DEV_I8254_H

#include "../types.h"

#define PIT_HZ 1193182u		/* the PC's 14.31818 MHz / 12 */
#define PIT_PORT_COUNTER0 0x40
#define PIT_PORT_COUNTER2 0x42
#define PIT_PORT_CONTROL 0x43	/* Control Word Register (write only) */
#define PORT_NMI_SC 0x61

struct i8254_counter {
	u8 mode;		/* 0-5 (6 and 7 are stored as 2 and 3) */
	u8 rw;			/* RW1:RW0: 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	u16 cr;			/* Count Register: the initial count */
	u8 write_lsb;		/* RW 3: the LSB written, MSB awaited */
	bool write_msb_next;
	bool read_msb_next;	/* RW 3: the next read is the MSB */
	bool count_latched;	/* Output Latch holds a counter latch */
	bool latch_msb_next;
	u16 latch;
	bool status_latched;	/* read-back status, read before the count */
	u8 status;
	bool null_count;	/* NULL COUNT: a count written, not yet in
				   the CE (read-back status bit 6) */
	bool armed;		/* modes 1 and 5: a count awaits a trigger */
	bool loaded;		/* the Counting Element holds count n */
	bool running;		/* ... and counts (GATE allows) */
	u32 n;			/* that count, 1..65536 (BCD: 1..10000) */
	u64 done_ticks;		/* CLK pulses counted before `since` */
	u64 since;		/* TSC when the current counting run began */
	u16 frozen;		/* what the CE reads while not loaded */
};

struct i8254 {
	struct i8254_counter c[3];
	bool gate2;		/* port 0x61 bit 0 */
	bool speaker;		/* port 0x61 bit 1 (stored, no sound) */
	u8 nmi_sc_high;		/* port 0x61 bits 3:2 as written */
	u64 epoch;		/* TSC at reset: the refresh toggle's origin */
	u64 tsc_khz;
};

void i8254_reset(struct i8254 *p, u64 now, u64 tsc_khz);
/* port is 0x40-0x43; one byte. */
u8 i8254_read(struct i8254 *p, u16 port, u64 now);
void i8254_write(struct i8254 *p, u16 port, u8 val, u64 now);
u8 i8254_nmi_sc_read(struct i8254 *p, u64 now);
void i8254_nmi_sc_write(struct i8254 *p, u8 val, u64 now);
/* Counter n's OUT pin at `now` (for tests and port 0x61 bit 5). */
bool i8254_out(struct i8254 *p, unsigned n, u64 now);
/* Counter 2 counting down in mode 0 with GATE2 high, its OUT still low
 * (a TSC calibration under way): the TSC time at which OUT2 goes high;
 * 0 otherwise. */
u64 i8254_out2_rises_at(const struct i8254 *p, u64 now);
/* PIT clock pulses in `tsc` TSC ticks at tsc_khz (exact, no overflow). */
u64 i8254_ticks(u64 tsc, u64 tsc_khz);

#endif
