/*
 * mc146818.c - the PC/AT real-time clock and its CMOS RAM: a Motorola
 * MC146818A behind port 0x70 (index, write only; bit 7 is the PC's NMI
 * disable, not part of the index) and port 0x71 (the byte at the index).
 * The index is 7 bits: 128 bytes, so index 0x80 | n is byte n.
 *
 * Registers (MC146818A data sheet).  0x00-0x09 the clock: seconds,
 * seconds alarm, minutes, minutes alarm, hours, hours alarm, day of week
 * (1 = Sunday), date, month, year.  Register A (0x0A): UIP (bit 7, update
 * in progress), DV2:DV0 and RS3:RS0 (the divider and periodic rate,
 * stored).  Register B (0x0B): SET, PIE, AIE, UIE, SQWE, DM (bit 2: 1 =
 * binary, 0 = BCD), 24/12 (bit 1: 1 = 24 hours), DSE.  Register C (0x0C):
 * IRQF, PF, AF, UF, read-only.  Register D (0x0D): VRT (bit 7, valid RAM
 * and time), read-only.  0x0E-0x7F: battery-backed RAM, whose IBM PC/AT
 * layout the BIOS fills and the guest may read.
 *
 * Emulated: the clock reads a fixed date, RTC_BASE_TIME (2025-01-01
 * 00:00:00, UTC, no daylight saving), plus the guest-visible TSC time
 * since the VM was created, in BCD or binary and in 24- or 12-hour form
 * (bit 7 of the hour = PM) as register B asks, century in 0x32 (the IBM
 * and ACPI FADT location).  UIP reads 1 during the 244 us before an update
 * and the update cycle itself (1984 us), i.e. during the last 2228 us of
 * each second, so a guest that waits for UIP = 0 then reads the clock
 * reads a consistent time; while SET is 1, UIP reads 0.  Register D reads
 * VRT = 1, register C reads 0.  The memory size bytes are what a BIOS
 * would write (as QEMU's pc_cmos_init() does, with the VM's RAM flat from
 * 0): 0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 RAM
 * above 1 MiB in KiB (at most 65535), 0x34/0x35 RAM between 16 MiB and
 * 4 GiB in 64 KiB units (at most 65535), 0x5B-0x5D RAM above 4 GiB in
 * 64 KiB units (QEMU's extension), and the PC/AT checksum of 0x10-0x2D in
 * 0x2E/0x2F.  Registers A and B, the alarms and the RAM take writes.
 *
 * Not emulated: interrupts (IRQ8: no periodic, alarm or update-ended
 * interrupt, so register C never has a flag), setting the clock (writes
 * to the clock bytes are dropped: the time is the hypervisor's), daylight
 * saving, the divider (DV) stopping the clock, persistence across VMs.
 */
#include "mc146818.h"

#define REG_SECONDS 0x00
#define REG_SECONDS_ALARM 0x01
#define REG_MINUTES 0x02
#define REG_MINUTES_ALARM 0x03
#define REG_HOURS 0x04
#define REG_HOURS_ALARM 0x05
#define REG_DAY_OF_WEEK 0x06
#define REG_DATE 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_A_UIP 0x80
#define REG_A_DEFAULT 0x26	/* DV = 010 (32.768 kHz), RS = 0110 (1024 Hz) */
#define REG_B_SET 0x80
#define REG_B_DM_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80
#define HOURS_PM 0x80

/* IBM PC/AT CMOS layout. */
#define CMOS_BASE_KIB_LO 0x15
#define CMOS_EXT_KIB_LO 0x17
#define CMOS_CHECKSUM_FIRST 0x10
#define CMOS_CHECKSUM_LAST 0x2d
#define CMOS_CHECKSUM_HI 0x2e
#define CMOS_POST_EXT_KIB_LO 0x30
#define CMOS_CENTURY 0x32
#define CMOS_EXT16_64K_LO 0x34
#define CMOS_ABOVE4G_64K_LO 0x5b	/* QEMU/SeaBIOS: 3 bytes */

#define UIP_WINDOW_US (244 + 1984)
#define US_PER_S 1000000ull

static void put16(u8 *ram, unsigned at, u64 v)
{
	if (v > 0xffff)
		v = 0xffff;
	ram[at] = (u8)v;
	ram[at + 1] = (u8)(v >> 8);
}

void mc146818_reset(struct mc146818 *r, u64 ram_bytes, u64 now, u64 tsc_khz)
{
	u64 below4g = MIN(ram_bytes, 4 * GiB), above4g = ram_bytes - below4g;
	unsigned sum = 0;

	*r = (struct mc146818){ .epoch = now, .tsc_khz = tsc_khz };
	r->ram[REG_A] = REG_A_DEFAULT;
	r->ram[REG_B] = REG_B_24H;	/* BCD, 24 hours: the PC's setting */
	put16(r->ram, CMOS_BASE_KIB_LO, MIN(below4g / KiB, 640));
	put16(r->ram, CMOS_EXT_KIB_LO,
	      below4g > MiB ? (below4g - MiB) / KiB : 0);
	put16(r->ram, CMOS_POST_EXT_KIB_LO,
	      below4g > MiB ? (below4g - MiB) / KiB : 0);
	put16(r->ram, CMOS_EXT16_64K_LO,
	      below4g > 16 * MiB ? (below4g - 16 * MiB) / (64 * KiB) : 0);
	u64 hi = above4g / (64 * KiB);
	r->ram[CMOS_ABOVE4G_64K_LO] = (u8)hi;
	r->ram[CMOS_ABOVE4G_64K_LO + 1] = (u8)(hi >> 8);
	r->ram[CMOS_ABOVE4G_64K_LO + 2] = (u8)(hi >> 16);
	for (unsigned i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++)
		sum += r->ram[i];
	r->ram[CMOS_CHECKSUM_HI] = (u8)(sum >> 8);
	r->ram[CMOS_CHECKSUM_HI + 1] = (u8)sum;
}

struct rtc_time {
	unsigned sec, min, hour, wday, mday, mon, year;
	bool uip;
};

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; the
 * era-based algorithm of H. Hinnant's "chrono-Compatible Low-Level Date
 * Algorithms"). */
static void civil_from_days(u64 days, unsigned *y, unsigned *m, unsigned *d)
{
	u64 z = days + 719468, era = z / 146097, doe = z - era * 146097;
	u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	u64 mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

static struct rtc_time now_time(const struct mc146818 *r, u64 now)
{
	u64 hz = r->tsc_khz * 1000, delta = now > r->epoch ? now - r->epoch : 0;
	u64 secs = RTC_BASE_TIME, frac_us = 0;
	struct rtc_time t;

	if (hz) {
		secs += delta / hz;
		frac_us = delta % hz * US_PER_S / hz;
	}
	u64 days = secs / 86400, s = secs % 86400;
	t.sec = (unsigned)(s % 60);
	t.min = (unsigned)(s / 60 % 60);
	t.hour = (unsigned)(s / 3600);
	t.wday = (unsigned)((days + 4) % 7) + 1;	/* 1970-01-01: Thursday */
	civil_from_days(days, &t.year, &t.mon, &t.mday);
	t.uip = frac_us >= US_PER_S - UIP_WINDOW_US;
	return t;
}

/* A clock field in the format register B asks for. */
static u8 field(const struct mc146818 *r, unsigned v)
{
	if (r->ram[REG_B] & REG_B_DM_BINARY)
		return (u8)v;
	return (u8)((v / 10 % 10) << 4 | v % 10);
}

static u8 hours(const struct mc146818 *r, unsigned h)
{
	if (r->ram[REG_B] & REG_B_24H)
		return field(r, h);
	unsigned h12 = h % 12 ? h % 12 : 12;
	return field(r, h12) | (h >= 12 ? HOURS_PM : 0);
}

/* The bytes that hold the time: computed at each read, never stored. */
static bool clock_byte(u8 i)
{
	switch (i) {
	case REG_SECONDS:
	case REG_MINUTES:
	case REG_HOURS:
	case REG_DAY_OF_WEEK:
	case REG_DATE:
	case REG_MONTH:
	case REG_YEAR:
	case CMOS_CENTURY:
		return true;
	default:
		return false;
	}
}

static u8 reg_read(const struct mc146818 *r, u8 i, u64 now)
{
	struct rtc_time t;

	if (!clock_byte(i)) {
		switch (i) {
		case REG_A:
			t = now_time(r, now);
			return (r->ram[REG_A] & ~REG_A_UIP) |
			       (t.uip && !(r->ram[REG_B] & REG_B_SET) ? REG_A_UIP
								      : 0);
		case REG_C:
			return 0;	/* no interrupt flags: none is emulated */
		case REG_D:
			return REG_D_VRT;
		default:
			return r->ram[i];
		}
	}
	t = now_time(r, now);
	switch (i) {
	case REG_SECONDS: return field(r, t.sec);
	case REG_MINUTES: return field(r, t.min);
	case REG_HOURS: return hours(r, t.hour);
	case REG_DAY_OF_WEEK: return field(r, t.wday);
	case REG_DATE: return field(r, t.mday);
	case REG_MONTH: return field(r, t.mon);
	case REG_YEAR: return field(r, t.year % 100);
	default: return field(r, t.year / 100);	/* century */
	}
}

u8 mc146818_read(struct mc146818 *r, u16 port, u64 now)
{
	if (port == RTC_PORT_INDEX)
		return 0xff;	/* write only on the PC/AT (QEMU: 0xff) */
	return reg_read(r, r->index, now);
}

void mc146818_write(struct mc146818 *r, u16 port, u8 val, u64 now)
{
	(void)now;
	if (port == RTC_PORT_INDEX) {
		r->index = val & (CMOS_BYTES - 1);
		r->nmi_disabled = val & 0x80;
		return;
	}
	if (clock_byte(r->index))
		return;	/* the clock is the hypervisor's */
	switch (r->index) {
	case REG_C:
	case REG_D:
		break;	/* read-only */
	case REG_A:
		r->ram[REG_A] = val & ~REG_A_UIP;
		break;
	default:
		r->ram[r->index] = val;
		break;
	}
}
