/*
 * mc146818.h - the PC/AT real-time clock and CMOS RAM (Motorola MC146818A)
 * at ports 0x70/0x71 (hv/dev/mc146818.c).
 */
#ifndef HV_DEV_MC146818_H
#define HV_DEV_MC146818_H

#include "../types.h"

#define RTC_PORT_INDEX 0x70
#define RTC_PORT_DATA 0x71
#define CMOS_BYTES 128

struct mc146818 {
	u8 ram[CMOS_BYTES];	/* registers A-D and the RAM behind them;
				   the clock bytes 0x00-0x09 are computed */
	u8 index;		/* 0..127 */
	bool nmi_disabled;	/* port 0x70 bit 7 (there is no NMI) */
	u64 epoch;		/* TSC at reset: RTC_BASE_TIME then */
	u64 tsc_khz;
};

/* 2025-01-01 00:00:00 (a Wednesday), in seconds since 1970-01-01. */
#define RTC_BASE_TIME 1735689600ull

void mc146818_reset(struct mc146818 *r, u64 ram_bytes, u64 now,
		    u64 tsc_khz);
u8 mc146818_read(struct mc146818 *r, u16 port, u64 now);
void mc146818_write(struct mc146818 *r, u16 port, u8 val, u64 now);

#endif
