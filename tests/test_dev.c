/*
 * test_dev.c - the emulated PC devices (hv/dev/), through their real entry
 * point pc_dev_io() at chosen TSC times, and through exit_handle() (hv/exit.c)
 * for the wiring: RAX, RIP, the stop on a reset, the unknown-port log.
 *
 * What is proven:
 *   - memtest86+'s TSC calibration (system/timers.c correct_tsc()): gate
 *     on through 0x61, counter 2 mode 0 by 0x43 = 0xB0, 59659 LSB then
 *     MSB; OUT2 (0x61 bit 5) is low one TSC tick before 59659 PIT clocks
 *     (50 ms) have passed and high at that tick, at several TSC rates, so
 *     the calibration comes out right; with GATE2 low the count waits;
 *   - the counter latch command, LSB/MSB alternation, LSB-only and
 *     MSB-only access, count 0 = 65536, mode 2 and mode 3 reload, BCD;
 *   - nonsense is defined: read-back of a counter never programmed,
 *     modes 6/7 as 2/3, channels 0/1 programmed, half a count, a read of
 *     the write-only 0x43;
 *   - the RTC: the index wraps at 128, bit 7 (NMI disable) is not part of
 *     it, UIP in the last 2228 us of a second, the date and time in BCD,
 *     binary and 12-hour form; memory size bytes for 16 MiB and 4 GiB;
 *   - the i8042: status 0; FEh and D1h-with-bit-0-clear stop the VM;
 *   - PCI: CONFIG_ADDRESS reads back with reserved bits 0, CONFIG_DATA
 *     reads all ones, memtest86+'s mechanism #1 and #2 probes both find no
 *     PCI, 0xCF9 with RST_CPU stops the VM;
 *   - port 0x80 is silent; an unknown port is logged once, with direction,
 *     size and RIP; after 16 ports one line, and a storm adds nothing.
 */
#include <stdlib.h>

#include "unit.h"
#include "stub_hv.h"
#include "../hv/exit.h"

#define KHZ_1GHZ 1000000ull

static struct vm vm;
static u64 T;	/* the TSC "now" of the next access */

static void setup_at(u64 ram_bytes, u64 tsc_khz)
{
	memset(&vm, 0, sizeof(vm));
	vm.id = 0;
	strcpy(vm.name, "vm0");
	vm.mem_bytes = ram_bytes;
	vm.vcpu.vm = &vm;
	vm.state = VM_RUNNING;
	T = 1000000;	/* any TSC; time zero of the VM */
	pc_devices_reset(&vm.dev, ram_bytes, T, tsc_khz);
	stub_log_clear();
}

static void setup(void)
{
	setup_at(16 * MiB, KHZ_1GHZ);
}

static void outb(u16 port, u8 v)
{
	pc_dev_io(&vm, port, 1, false, v, T);
}

static u8 inb(u16 port)
{
	return (u8)pc_dev_io(&vm, port, 1, true, 0, T);
}

static void outl(u16 port, u32 v)
{
	pc_dev_io(&vm, port, 4, false, v, T);
}

static u32 inl(u16 port)
{
	return pc_dev_io(&vm, port, 4, true, 0, T);
}

/* An LSB-then-MSB counter read: LSB first (C leaves the order of the two
 * operands of | open). */
static u16 rd16(u16 port)
{
	u8 lo = inb(port);

	return (u16)(lo | inb(port) << 8);
}

static u16 inw(u16 port)
{
	return (u16)pc_dev_io(&vm, port, 2, true, 0, T);
}

/* The first TSC distance at which `ticks` PIT clocks have passed. */
static u64 tsc_for_ticks(u64 ticks, u64 tsc_khz)
{
	unsigned __int128 hz = (unsigned __int128)tsc_khz * 1000;

	return (u64)((ticks * hz + PIT_HZ - 1) / PIT_HZ);
}

static int count_in_log(const char *s)
{
	int n = 0;

	for (const char *p = stub_log(); (p = strstr(p, s)); p++)
		n++;
	return n;
}

/* --- the PIT ---------------------------------------------------------------- */

#define PIT_TICKS_50MS 59659	/* memtest86+ system/timers.c */

TEST(pit_memtest_calibration_sees_out2_at_50ms)
{
	static const u64 rates[] = { KHZ_1GHZ, 2400000, 2893441, 3701234 };

	for (unsigned i = 0; i < ARRAY_SIZE(rates); i++) {
		setup_at(16 * MiB, rates[i]);
		T += 123456789;	/* the VM has run a while */
		outb(0x61, (inb(0x61) & ~0x02) | 0x01);
		outb(0x43, 0xb0);
		outb(0x42, PIT_TICKS_50MS & 0xff);
		u64 start = T;	/* the count starts with the MSB */
		outb(0x42, PIT_TICKS_50MS >> 8);
		u64 d = tsc_for_ticks(PIT_TICKS_50MS, rates[i]);

		CHECK_EQ(inb(0x61) & 0x20, 0);
		T = start + d / 2;
		CHECK_EQ(inb(0x61) & 0x20, 0);
		T = start + d - 1;
		CHECK_EQ(inb(0x61) & 0x20, 0);
		T = start + d;
		CHECK_EQ(inb(0x61) & 0x20, 0x20);
		T = start + 3 * d;	/* OUT stays high */
		CHECK_EQ(inb(0x61) & 0x20, 0x20);
		/* What memtest computes: clks_per_msec = run_time / 50,
		 * right to memtest's own rounding (59659 clocks are
		 * 49999.92 us: 1.7 ppm short). */
		u64 khz = d / 50, slack = rates[i] / 500000 + 1;
		CHECK(khz >= rates[i] - slack && khz <= rates[i] + slack);
		/* The gate bit reads back, the speaker stays off. */
		CHECK_EQ(inb(0x61) & 0x03, 0x01);
	}
}

/* i8254_out2_rises_at(): the TSC time the scheduler stretches a slice
 * to is the first at which OUT2 reads high, and only a mode-0 countdown
 * with GATE2 high has one. */
TEST(pit_out2_rise_time_for_the_scheduler)
{
	static const u64 rates[] = { KHZ_1GHZ, 2609000, 3701234 };

	for (unsigned i = 0; i < ARRAY_SIZE(rates); i++) {
		setup_at(16 * MiB, rates[i]);
		struct i8254 *pit = &vm.dev.pit;
		CHECK_EQ(i8254_out2_rises_at(pit, T), 0);	/* not loaded */
		outb(0x61, 0x01);
		outb(0x43, 0xb0);
		outb(0x42, PIT_TICKS_50MS & 0xff);
		outb(0x42, PIT_TICKS_50MS >> 8);
		T += 777;
		u64 rise = i8254_out2_rises_at(pit, T);
		CHECK(rise > T);
		CHECK(!i8254_out(pit, 2, rise - 1));
		CHECK(i8254_out(pit, 2, rise));
		CHECK_EQ(i8254_out2_rises_at(pit, rise), 0);	/* risen */
		outb(0x61, 0x00);				/* gate low */
		CHECK_EQ(i8254_out2_rises_at(pit, T), 0);
		outb(0x61, 0x01);
		outb(0x43, 0xb6);		/* mode 3: no single rise */
		outb(0x42, 0x00);
		outb(0x42, 0x10);
		CHECK_EQ(i8254_out2_rises_at(pit, T), 0);
	}
}

TEST(pit_counter2_waits_while_gate2_is_low)
{
	setup();
	outb(0x61, 0x00);
	outb(0x43, 0xb0);
	outb(0x42, 0x10);
	outb(0x42, 0x00);	/* 16 clocks */
	T += 100 * 1000000;	/* 100 ms */
	CHECK_EQ(inb(0x61) & 0x20, 0);
	outb(0x43, 0x80);	/* latch counter 2 */
	CHECK_EQ(inb(0x42), 0x10);
	CHECK_EQ(inb(0x42), 0x00);
	outb(0x61, 0x01);	/* gate up: counting starts now */
	T += tsc_for_ticks(15, KHZ_1GHZ);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	T += tsc_for_ticks(1, KHZ_1GHZ) + 1;
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
}

TEST(pit_latch_holds_the_count_until_read)
{
	setup();
	outb(0x61, 0x01);
	outb(0x43, 0xb0);	/* counter 2, LSB then MSB, mode 0 */
	outb(0x42, 1000 & 0xff);
	u64 start = T;
	outb(0x42, 1000 >> 8);
	T = start + tsc_for_ticks(100, KHZ_1GHZ);
	outb(0x43, 0x80);	/* counter latch command */
	T += 50 * 1000000;	/* the counter goes on */
	outb(0x43, 0x80);	/* a second latch before the read: ignored */
	CHECK_EQ(rd16(0x42), 900);
	/* Released: the next read is the live count, which has wrapped
	 * (mode 0 keeps counting down past 0). */
	u64 e = i8254_ticks(T - start, KHZ_1GHZ);
	CHECK(e > 1000);
	CHECK_EQ(rd16(0x42), (1000 - e) & 0xffff);
}

TEST(pit_lsb_msb_alternate_and_single_byte_modes)
{
	setup();	/* GATE2 low: counter 2 holds its count */
	outb(0x43, 0xb0);
	outb(0x42, 0x34);
	outb(0x42, 0x12);
	CHECK_EQ(inb(0x42), 0x34);
	CHECK_EQ(inb(0x42), 0x12);
	CHECK_EQ(inb(0x42), 0x34);
	CHECK_EQ(inb(0x42), 0x12);
	outb(0x43, 0x90);	/* LSB only */
	outb(0x42, 0x56);
	CHECK_EQ(inb(0x42), 0x56);
	CHECK_EQ(inb(0x42), 0x56);
	outb(0x43, 0xa0);	/* MSB only */
	outb(0x42, 0x78);
	CHECK_EQ(inb(0x42), 0x78);
	CHECK_EQ(inb(0x42), 0x78);
	outb(0x43, 0x80);	/* latched, MSB only: one read releases */
	CHECK_EQ(inb(0x42), 0x78);
}

TEST(pit_count_zero_is_65536)
{
	setup();
	outb(0x61, 0x01);
	outb(0x43, 0xb0);
	outb(0x42, 0);
	u64 start = T;
	outb(0x42, 0);
	T = start + tsc_for_ticks(1, KHZ_1GHZ);
	CHECK_EQ(rd16(0x42), 0xffff);
	T = start + tsc_for_ticks(65535, KHZ_1GHZ);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	T = start + tsc_for_ticks(65536, KHZ_1GHZ);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	CHECK_EQ(rd16(0x42), 0);
}

TEST(pit_modes_2_and_3_reload)
{
	setup();
	/* Counter 0, mode 2, count 100: OUT low while it reads 1. */
	outb(0x43, 0x34);
	outb(0x40, 100);
	u64 start = T;
	outb(0x40, 0);
	struct i8254 *p = &vm.dev.pit;
	T = start;
	CHECK_EQ(rd16(0x40), 100);
	T = start + tsc_for_ticks(98, KHZ_1GHZ);
	CHECK(i8254_out(p, 0, T));
	T = start + tsc_for_ticks(99, KHZ_1GHZ);
	CHECK_EQ(rd16(0x40), 1);
	CHECK(!i8254_out(p, 0, T));
	T = start + tsc_for_ticks(100, KHZ_1GHZ);
	CHECK_EQ(rd16(0x40), 100);	/* reloaded */
	CHECK(i8254_out(p, 0, T));
	T = start + tsc_for_ticks(250, KHZ_1GHZ);
	CHECK_EQ(rd16(0x40), 50);

	/* Counter 0, mode 3, count 100: a square wave, 50 high, 50 low. */
	outb(0x43, 0x36);
	outb(0x40, 100);
	start = T;
	outb(0x40, 0);
	T = start + tsc_for_ticks(10, KHZ_1GHZ);
	CHECK_EQ(rd16(0x40), 80);	/* by 2 per clock */
	T = start + tsc_for_ticks(49, KHZ_1GHZ);
	CHECK(i8254_out(p, 0, T));
	T = start + tsc_for_ticks(50, KHZ_1GHZ);
	CHECK(!i8254_out(p, 0, T));
	T = start + tsc_for_ticks(99, KHZ_1GHZ);
	CHECK(!i8254_out(p, 0, T));
	T = start + tsc_for_ticks(100, KHZ_1GHZ);
	CHECK(i8254_out(p, 0, T));
	T = start + tsc_for_ticks(1000050, KHZ_1GHZ);
	CHECK(!i8254_out(p, 0, T));
}

TEST(pit_bcd_counts_in_decimal)
{
	setup();
	outb(0x61, 0x01);
	outb(0x43, 0xb1);	/* counter 2, LSB/MSB, mode 0, BCD */
	outb(0x42, 0x00);
	u64 start = T;
	outb(0x42, 0x01);	/* BCD 0100 */
	T = start + tsc_for_ticks(30, KHZ_1GHZ);
	CHECK_EQ(rd16(0x42), 0x0070);
	T = start + tsc_for_ticks(101, KHZ_1GHZ);
	CHECK_EQ(rd16(0x42), 0x9999);	/* wraps in BCD */
}

TEST(pit_nonsense_is_defined)
{
	setup();
	/* Read-back of counters never programmed: status, then count. */
	outb(0x43, 0xe2);	/* /COUNT=1 /STATUS=0, counter 0 */
	CHECK_EQ(inb(0x40), 0x70);	/* OUT 0, NULL COUNT, LSB/MSB, mode 0 */
	outb(0x43, 0xce);	/* /COUNT=0 /STATUS=0, counters 0-2 */
	for (u16 port = 0x40; port <= 0x42; port++) {
		CHECK_EQ(inb(port), 0x70);
		CHECK_EQ(inb(port), 0);
		CHECK_EQ(inb(port), 0);
	}
	/* Live reads of an unprogrammed counter read 0, at any time. */
	T += 1ull << 40;
	CHECK_EQ(inb(0x41), 0);
	CHECK_EQ(inb(0x43), 0xff);	/* write-only */

	/* Mode 6 is mode 2: status says 2, and it reloads like 2. */
	outb(0x43, 0x3c);	/* counter 0, LSB/MSB, M2:M0 = 110 */
	outb(0x40, 10);
	u64 start = T;
	outb(0x40, 0);
	outb(0x43, 0xe2);
	CHECK_EQ(inb(0x40), 0x80 | 0x30 | 2 << 1);
	T = start + tsc_for_ticks(15, KHZ_1GHZ);
	CHECK_EQ(rd16(0x40), 5);
	/* Mode 7 is mode 3. */
	outb(0x43, 0x7e);	/* counter 1, LSB/MSB, M2:M0 = 111 */
	outb(0x43, 0xe4);
	CHECK_EQ(inb(0x41), 0x80 | 0x40 | 0x30 | 3 << 1);

	/* Counter 1 programmed and running: counts, bothers nobody. */
	outb(0x41, 0x12);
	outb(0x41, 0x00);
	T += 1000;
	(void)inb(0x41);
	(void)inb(0x41);
	CHECK_EQ(inb(0x61) & 0x20, 0);	/* counter 2 untouched */

	/* Half an LSB/MSB count in mode 0: counting stops, OUT low, the
	 * count reads what the CE held; a control word then starts over. */
	outb(0x61, 0x01);
	outb(0x43, 0xb0);
	outb(0x42, 5);
	outb(0x42, 0);
	T += tsc_for_ticks(10, KHZ_1GHZ);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	outb(0x42, 0x77);	/* the LSB alone */
	CHECK_EQ(inb(0x61) & 0x20, 0);
	T += 1000000000;
	CHECK_EQ(inb(0x61) & 0x20, 0);
	outb(0x43, 0xb0);	/* the MSB never came: the flip-flop resets */
	outb(0x42, 0x02);
	start = T;
	outb(0x42, 0x00);	/* count 2 */
	T = start + tsc_for_ticks(2, KHZ_1GHZ);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	CHECK_EQ(vm.state, VM_RUNNING);
	CHECK_EQ(vm.stats.io_other, 0);
}

TEST(port61_refresh_toggle_flips_every_15us)
{
	setup();
	u8 a = inb(0x61) & 0x10;
	T += tsc_for_ticks(18, KHZ_1GHZ);
	u8 b = inb(0x61) & 0x10;
	T += tsc_for_ticks(18, KHZ_1GHZ);
	CHECK(a != b);
	CHECK_EQ(inb(0x61) & 0x10, a);
	CHECK_EQ(inb(0x61) & 0xc0, 0);	/* no NMI sources */
}

/* --- the RTC and CMOS ----------------------------------------------------- */

static u8 cmos(u8 index)
{
	outb(0x70, index);
	return inb(0x71);
}

TEST(cmos_index_wraps_at_128_and_nmi_bit_is_not_index)
{
	setup();
	outb(0x70, 0x80 | 0x40);	/* NMI disabled, byte 0x40 */
	outb(0x71, 0x5a);
	CHECK(vm.dev.rtc.nmi_disabled);
	CHECK_EQ(cmos(0x40), 0x5a);
	CHECK(!vm.dev.rtc.nmi_disabled);
	outb(0x70, 0x7f);
	outb(0x71, 0x33);
	CHECK_EQ(cmos(0xff), 0x33);	/* 0xff & 0x7f */
	CHECK_EQ(cmos(0x7f), 0x33);
	CHECK_EQ(inb(0x70), 0xff);	/* the index port is write-only */
	CHECK_EQ(cmos(0x0d), 0x80);	/* register D: VRT */
	CHECK_EQ(cmos(0x0c), 0x00);	/* register C: no flags */
	outb(0x70, 0x0d);
	outb(0x71, 0x00);		/* read-only */
	CHECK_EQ(cmos(0x0d), 0x80);
}

TEST(cmos_register_a_uip_before_each_second)
{
	setup();
	u64 t0 = T;
	T = t0 + 500000000;	/* half a second in */
	CHECK_EQ(cmos(0x0a), 0x26);
	T = t0 + 1000000000 - 2228000 - 1;
	CHECK_EQ(cmos(0x0a) & 0x80, 0);
	T = t0 + 1000000000 - 2228000;
	CHECK_EQ(cmos(0x0a) & 0x80, 0x80);
	T = t0 + 1000000000 - 1000;
	CHECK_EQ(cmos(0x0a), 0xa6);
	CHECK_EQ(cmos(0x00), 0x00);	/* the second has not turned */
	T = t0 + 1000000000;
	CHECK_EQ(cmos(0x0a) & 0x80, 0);
	CHECK_EQ(cmos(0x00), 0x01);
	/* SET holds UIP at 0. */
	outb(0x70, 0x0b);
	outb(0x71, 0x82);
	T = t0 + 2000000000 - 1000;
	CHECK_EQ(cmos(0x0a) & 0x80, 0);
}

TEST(cmos_clock_is_base_date_plus_tsc_time)
{
	setup();
	u64 t0 = T;
	CHECK_EQ(cmos(0x00), 0x00);
	CHECK_EQ(cmos(0x02), 0x00);
	CHECK_EQ(cmos(0x04), 0x00);
	CHECK_EQ(cmos(0x06), 4);	/* Wednesday (1 = Sunday) */
	CHECK_EQ(cmos(0x07), 0x01);
	CHECK_EQ(cmos(0x08), 0x01);
	CHECK_EQ(cmos(0x09), 0x25);
	CHECK_EQ(cmos(0x32), 0x20);
	/* 2025-03-01 13:02:03, a Saturday: 59 days and 46923 s later. */
	T = t0 + (59 * 86400ull + 13 * 3600 + 2 * 60 + 3) * 1000000000ull;
	CHECK_EQ(cmos(0x00), 0x03);
	CHECK_EQ(cmos(0x02), 0x02);
	CHECK_EQ(cmos(0x04), 0x13);
	CHECK_EQ(cmos(0x06), 7);
	CHECK_EQ(cmos(0x07), 0x01);
	CHECK_EQ(cmos(0x08), 0x03);
	outb(0x70, 0x0b);
	outb(0x71, 0x04);	/* binary, 12 hours */
	CHECK_EQ(cmos(0x00), 3);
	CHECK_EQ(cmos(0x04), 0x80 | 1);	/* 1 PM */
	CHECK_EQ(cmos(0x09), 25);
	/* Writes to the clock are dropped. */
	outb(0x70, 0x00);
	outb(0x71, 0x30);
	CHECK_EQ(cmos(0x00), 3);
}

TEST(cmos_memory_size_bytes_16m)
{
	setup_at(16 * MiB, KHZ_1GHZ);
	CHECK_EQ(cmos(0x15) | cmos(0x16) << 8, 640);
	CHECK_EQ(cmos(0x17) | cmos(0x18) << 8, 15 * 1024);
	CHECK_EQ(cmos(0x30) | cmos(0x31) << 8, 15 * 1024);
	CHECK_EQ(cmos(0x34) | cmos(0x35) << 8, 0);
	unsigned sum = 0;
	for (u8 i = 0x10; i <= 0x2d; i++)
		sum += cmos(i);
	CHECK_EQ(cmos(0x2e) << 8 | cmos(0x2f), sum);
}

TEST(cmos_memory_size_bytes_4g)
{
	setup_at(4 * GiB, KHZ_1GHZ);
	CHECK_EQ(cmos(0x15) | cmos(0x16) << 8, 640);
	CHECK_EQ(cmos(0x17) | cmos(0x18) << 8, 0xffff);	/* capped */
	CHECK_EQ(cmos(0x30) | cmos(0x31) << 8, 0xffff);
	CHECK_EQ(cmos(0x34) | cmos(0x35) << 8, (4096 - 16) * 16);
	CHECK_EQ(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 0);
	setup_at(4 * GiB + 128 * MiB, KHZ_1GHZ);
	CHECK_EQ(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 128 * 16);
}

/* --- the i8042 ------------------------------------------------------------- */

TEST(i8042_status_nothing_pending_and_reset_stops)
{
	setup();
	CHECK_EQ(inb(0x64), 0);
	CHECK_EQ(inb(0x60), 0);
	outb(0x64, 0x20);	/* read the command byte */
	CHECK_EQ(inb(0x60), 0x45);
	outb(0x64, 0xd1);	/* write the output port: A20 on, no reset */
	outb(0x60, 0xdf);
	outb(0x64, 0xff);	/* pulse nothing (bit 0 set) */
	outb(0x60, 0xf4);	/* a keyboard command: nobody there */
	CHECK_EQ(vm.state, VM_RUNNING);
	CHECK_EQ(vm.stats.io_other, 0);
	vm.vcpu.regs.rip = 0x10bad;
	outb(0x64, 0xfe);
	CHECK_EQ(vm.state, VM_STOPPED);
	CHECK(strstr(vm.stop_reason, "i8042") != NULL);
	CHECK(strstr(vm.stop_reason, "0xfe to port 0x64") != NULL);
	CHECK(strstr(vm.stop_reason, "RIP 0x10bad") != NULL);
	CHECK(stub_log_has("[hv] vm0: guest reset through"));

	setup();
	outb(0x64, 0xd1);
	outb(0x60, 0xfe);	/* output port bit 0 low: reset */
	CHECK_EQ(vm.state, VM_STOPPED);
}

/* --- PCI ------------------------------------------------------------------------ */

TEST(pci_config_address_reads_back_and_data_is_all_ones)
{
	setup();
	CHECK_EQ(inl(0xcf8), 0);
	outl(0xcf8, 0x80000000);
	CHECK_EQ(inl(0xcf8), 0x80000000);
	outl(0xcf8, 0xffffffff);
	CHECK_EQ(inl(0xcf8), 0x80fffffc);	/* reserved bits read 0 */
	outl(0xcf8, 0x80000000);
	CHECK_EQ(inl(0xcfc), 0xffffffff);
	CHECK_EQ(inw(0xcfe), 0xffff);
	CHECK_EQ(inb(0xcfd), 0xff);
	outl(0xcfc, 0x12345678);
	CHECK_EQ(inl(0xcfc), 0xffffffff);
	CHECK_EQ(vm.stats.io_other, 0);
}

/* memtest86+ system/pci.c probe_config_type(), line by line. */
TEST(pci_memtest_probe_finds_no_pci)
{
	setup();
	/* Type 1: CONFIG_ADDRESS reads back ... */
	u8 tmp_cfb = inb(0xcfb);
	outb(0xcfb, 0x01);
	u32 tmp_cf8 = inl(0xcf8);
	outl(0xcf8, 0x80000000);
	CHECK_EQ(inl(0xcf8), 0x80000000);
	/* ... but the sanity check (class of 00:00.0 = host bridge)
	 * reads 0xffff. */
	outl(0xcf8, 0x80000000 | (0x0a & 0xfc));
	CHECK(inw(0xcfc + (0x0a & 3)) != 0x0600);
	outl(0xcf8, tmp_cf8);
	/* Type 2: byte writes of 0 do not read back. */
	outb(0xcfb, 0x00);
	outb(0xcf8, 0x00);
	outb(0xcfa, 0x00);
	CHECK(!(inb(0xcf8) == 0x00 && inb(0xcfa) == 0x00));
	outb(0xcfb, tmp_cfb);
	CHECK_EQ(inl(0xcf8), tmp_cf8);	/* byte writes did not touch it */
	CHECK_EQ(vm.state, VM_RUNNING);
}

TEST(pci_cf9_rst_cpu_stops_the_vm)
{
	setup();
	/* memtest86+ system/hwctrl.c reboot(). */
	u8 cf9 = inb(0xcf9) & ~6;
	CHECK_EQ(cf9, 0);
	outb(0xcf9, cf9 | 2);	/* hard reset wanted */
	CHECK_EQ(vm.state, VM_RUNNING);
	CHECK_EQ(inb(0xcf9), 2);
	outb(0xcf9, cf9 | 6);	/* do it */
	CHECK_EQ(vm.state, VM_STOPPED);
	CHECK(strstr(vm.stop_reason, "RST_CPU") != NULL);
	CHECK(strstr(vm.stop_reason, "0x6 to port 0xcf9") != NULL);
}

/* --- port 0x80 and unknown ports ---------------------------------------------- */

TEST(port80_post_code_is_silent)
{
	setup();
	for (int i = 0; i < 100; i++)
		outb(0x80, (u8)i);
	CHECK_EQ(inb(0x80), 0xff);
	CHECK_EQ(vm.stats.io_other, 0);
	CHECK_EQ(strlen(stub_log()), 0);
}

static void exit_in(u16 port, u8 size, u64 rip)
{
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 1 };

	e.io.port = port;
	e.io.size = size;
	e.io.in = true;
	vm.vcpu.regs.rip = rip;
	vm.vcpu.regs.rax = 0x1111111122222222ull;
	exit_handle(&vm, &e);
}

static void exit_out(u16 port, u8 size, u64 rax, u64 rip)
{
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 1 };

	e.io.port = port;
	e.io.size = size;
	vm.vcpu.regs.rip = rip;
	vm.vcpu.regs.rax = rax;
	exit_handle(&vm, &e);
}

TEST(unknown_port_logged_once_through_exit_handle)
{
	setup();
	exit_in(0x3d5, 1, 0x4000);
	CHECK_EQ(vm.vcpu.regs.rax, 0x11111111222222ffull);
	CHECK_EQ(vm.vcpu.regs.rip, 0x4001);
	CHECK(stub_log_has("[hv] vm0: in from port 0x3d5 (1 byte) at RIP "
			   "0x4000: nothing attached there; reads return all "
			   "ones (logged once per port)\n"));
	exit_in(0x3d5, 1, 0x5000);
	exit_out(0x3d5, 1, 0xff, 0x5000);
	CHECK_EQ(count_in_log("port 0x3d5"), 1);
	exit_out(0x3d4, 2, 0x0f0e, 0x6000);
	CHECK(stub_log_has("[hv] vm0: out to port 0x3d4 (2 bytes) at RIP "
			   "0x6000: nothing attached there; writes are "
			   "dropped (logged once per port)\n"));
	exit_in(0x220, 4, 0x7000);
	CHECK_EQ(vm.vcpu.regs.rax, 0xffffffffull);	/* IN EAX zero-extends */
	CHECK_EQ(vm.stats.io_other, 5);
	/* A wide access touching a device is split into bytes. */
	exit_in(0x70, 2, 0x8000);	/* 0x70 reads 0xff, 0x71 the byte */
	CHECK_EQ(vm.vcpu.regs.rax & 0xff, 0xff);
	CHECK_EQ(vm.stats.io_other, 5);
	/* The i8042 reset through exit_handle: stopped, RIP not moved. */
	exit_out(0x64, 1, 0xfe, 0x9000);
	CHECK_EQ(vm.state, VM_STOPPED);
	CHECK_EQ(vm.vcpu.regs.rip, 0x9000);
}

TEST(unknown_ports_log_is_bounded)
{
	setup();
	for (u16 p = 0x200; p < 0x200 + 20; p++)
		exit_in(p, 1, 0x1000);
	CHECK_EQ(count_in_log("nothing attached there"), PORTS_LOG_MAX);
	CHECK_EQ(count_in_log("further ones are not logged"), 1);
	CHECK(stub_log_has("[hv] vm0: in from port 0x210: 16 ports with "
			   "nothing attached logged; further ones are not "
			   "logged (all are counted)\n"));
	size_t len = strlen(stub_log());
	/* A storm over every port but the devices': counted, not logged. */
	u64 n = 0;
	for (int round = 0; round < 4; round++)
		for (u32 p = 0x100; p < 0x10000; p++) {
			if (p >= 0x3f8 && p < 0x400)
				continue;	/* COM1 */
			if (p == 0xcf8 || p == 0xcf9 ||
			    (p >= 0xcfc && p <= 0xcff))
				continue;	/* PCI */
			exit_in((u16)p, 1, 0x2000);
			n++;
		}
	CHECK_EQ(strlen(stub_log()), len);
	CHECK_EQ(vm.stats.io_other, 20 + n);
	CHECK_EQ(vm.state, VM_RUNNING);
}

TEST(unknown_ports_are_per_vm)
{
	setup();
	exit_in(0x3d5, 1, 0x1000);
	struct pc_devices saved = vm.dev;
	setup();	/* another VM: its own log */
	exit_in(0x3d5, 1, 0x1000);
	CHECK_EQ(count_in_log("port 0x3d5"), 1);
	CHECK_EQ(saved.unknown_logged, 1);
}
