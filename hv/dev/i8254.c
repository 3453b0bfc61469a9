/*
 * i8254.c - the PC's programmable interval timer: an Intel 8254 (82C54
 * data sheet) at ports 0x40-0x43, and port 0x61, the PC/AT's "NMI Status
 * and Control" register (as the Intel ICH/PCH data sheets name it), which
 * gates counter 2 and shows its OUT.
 *
 * Registers.  0x40-0x42 are counters 0-2, 0x43 the Control Word Register:
 * SC1:SC0 select a counter (3 = the read-back command), RW1:RW0 the
 * access (0 = the counter latch command, 1 LSB only, 2 MSB only, 3 LSB
 * then MSB), M2:M0 the mode, and BCD.  The read-back command (D5 = /COUNT,
 * D4 = /STATUS, D3:D1 = counters 2, 1, 0) latches the count and/or the
 * status byte (OUT, NULL COUNT, RW1:RW0, M2:M0, BCD) of each counter it
 * names; a latched status is read before a latched count, and a second
 * latch before the first is read is ignored, as the data sheet says.
 * Port 0x61: bit 0 timer 2 gate (GATE2), bit 1 speaker data enable, bits
 * 3:2 the SERR#/IOCHK# NMI enables (stored only), bit 4 the refresh cycle
 * toggle (flips every 15.085 us, 18 PIT clocks, as counter 1's DRAM
 * refresh did on the PC/AT), bit 5 timer 2 OUT (OUT2); bits 7:6, the NMI
 * sources, read 0 (there are none).
 *
 * Emulated: all six modes by what a counter reads and what OUT is, as a
 * pure function of the clock pulses counted since the count was loaded,
 * which are derived from the TSC (the guest's RDTSC is not offset, so the
 * guest times the PIT against the same clock): pulses = TSC ticks *
 * 1193182 / TSC Hz, exactly, in 64 bits.  Mode 0 "interrupt on terminal
 * count": OUT low from the control word, high once n pulses have been
 * counted; writing the first byte of an LSB-then-MSB count stops the
 * count.  Modes 1 and 5 (hardware triggered) wait for a rising GATE edge;
 * modes 2 and 3 restart on one and force OUT high while GATE is low;
 * modes 0 and 4 pause while GATE is low.  Only counter 2 has a GATE the
 * guest can move (port 0x61 bit 0); counters 0 and 1 are wired high, as on
 * the PC.  A count of 0 is 65536 (10000 in BCD).  Modes 6 and 7 are the
 * data sheet's aliases of 2 and 3, and status reports them as 2 and 3.
 *
 * Simplified (as QEMU's hw/timer/i8254 does): a new count takes effect at
 * once in modes 2 and 3 rather than at the end of the current period, and
 * the count is loaded with the write rather than one CLK pulse later.
 * Mode 3 with an odd count reads as QEMU's does (n - 2t mod n).  Mode 2
 * with the illegal count 1 holds OUT low.
 *
 * Not emulated: IRQ0 (no interrupt controller is offered; counter 0 counts
 * but interrupts nobody), the speaker's sound, the power-up state (there
 * is no BIOS: every counter starts in mode 0, LSB then MSB, binary, no
 * count, reading 0, NULL COUNT set, OUT low).
 */
#include "i8254.h"

#define CW_SC_SHIFT 6
#define CW_SC_READ_BACK 3
#define CW_RW_SHIFT 4
#define CW_RW_LATCH 0
#define CW_RW_LSB 1
#define CW_RW_MSB 2
#define CW_RW_LSB_MSB 3
#define CW_M_SHIFT 1
#define CW_BCD 0x01
#define RB_NOT_COUNT 0x20
#define RB_NOT_STATUS 0x10
#define STATUS_OUT 0x80
#define STATUS_NULL_COUNT 0x40

#define NMI_SC_GATE2 0x01
#define NMI_SC_SPEAKER 0x02
#define NMI_SC_ENABLES 0x0c	/* SERR# and IOCHK# NMI enables */
#define NMI_SC_REFRESH 0x10
#define NMI_SC_OUT2 0x20
#define REFRESH_PIT_CLOCKS 18	/* 18 / 1193182 Hz = 15.085 us */

u64 i8254_ticks(u64 tsc, u64 tsc_khz)
{
	u64 hz = tsc_khz * 1000;

	if (!hz)
		return 0;
	/* r * PIT_HZ < hz * 2^21 fits for any TSC below 8 THz. */
	return tsc / hz * PIT_HZ + tsc % hz * PIT_HZ / hz;
}

static u32 modulus(const struct i8254_counter *c)
{
	return c->bcd ? 10000 : 65536;
}

/* The Count Register as a number of pulses: 1..modulus (0 is the largest
 * count); BCD digits above 9 are taken at face value. */
static u32 count_of(const struct i8254_counter *c)
{
	u32 v = c->cr, m = modulus(c);

	if (c->bcd)
		v = (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 +
		    (v >> 4 & 0xf) * 10 + (v & 0xf);
	v %= m;
	return v ? v : m;
}

static u16 to_bcd(u32 v)
{
	return (u16)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 |
		     (v / 10 % 10) << 4 | v % 10);
}

static bool gate(const struct i8254 *p, const struct i8254_counter *c)
{
	return c != &p->c[2] || p->gate2;
}

static u64 elapsed(const struct i8254 *p, const struct i8254_counter *c,
		   u64 now)
{
	u64 e = c->done_ticks;

	if (c->running && now > c->since)
		e += i8254_ticks(now - c->since, p->tsc_khz);
	return e;
}

/* The Counting Element (binary, 0..modulus-1) and OUT at `now`. */
static u32 ce_state(const struct i8254 *p, const struct i8254_counter *c,
		    u64 now, bool *out)
{
	u32 n = c->n, m = modulus(c);
	u64 e = elapsed(p, c, now);
	u32 v, em = (u32)(e % m);

	if (!c->loaded) {
		*out = c->mode != 0;	/* mode 0 starts low, the rest high */
		return c->frozen;
	}
	v = (n >= em ? n - em : n + m - em) % m;	/* n - e, wrapping */
	switch (c->mode) {
	case 0:
	case 1:
		*out = e >= n;
		return v;
	case 2:
		v = n - (u32)(e % n);
		*out = !gate(p, c) || v != 1;
		return v % m;
	case 3:
		*out = !gate(p, c) || e % n < (n + 1) / 2;
		return (n - (u32)(2 * e % n)) % m;
	default:	/* 4 and 5: one low pulse at the terminal count */
		*out = e != n;
		return v;
	}
}

static u16 ce_read(const struct i8254 *p, const struct i8254_counter *c,
		   u64 now)
{
	bool out;
	u32 v = ce_state(p, c, now, &out);

	return c->bcd ? to_bcd(v) : (u16)v;
}

bool i8254_out(struct i8254 *p, unsigned n, u64 now)
{
	bool out;

	if (n > 2)
		return false;
	ce_state(p, &p->c[n], now, &out);
	return out;
}

u64 i8254_out2_rises_at(const struct i8254 *p, u64 now)
{
	const struct i8254_counter *c = &p->c[2];
	u64 hz = p->tsc_khz * 1000;

	if (c->mode != 0 || !c->loaded || !c->running || !hz ||
	    elapsed(p, c, now) >= c->n)
		return 0;
	/* elapsed() is done_ticks + floor((t - since) * PIT_HZ / hz): it
	 * reaches n first at since + ceil((n - done_ticks) * hz / PIT_HZ). */
	return c->since + ((c->n - c->done_ticks) * hz + PIT_HZ - 1) / PIT_HZ;
}

static void stop(struct i8254 *p, struct i8254_counter *c, u64 now)
{
	c->done_ticks = elapsed(p, c, now);
	c->running = false;
}

/* Count n goes into the Counting Element and starts (if GATE allows). */
static void start(struct i8254 *p, struct i8254_counter *c, u64 now)
{
	c->n = count_of(c);
	c->loaded = true;
	c->null_count = false;
	c->done_ticks = 0;
	c->since = now;
	c->running = gate(p, c);
}

/* A complete count was written to the Count Register. */
static void count_written(struct i8254 *p, struct i8254_counter *c, u64 now)
{
	if (c->mode == 1 || c->mode == 5)
		c->armed = true;	/* loaded by the next GATE edge */
	else
		start(p, c, now);
}

static void counter_reset(struct i8254_counter *c)
{
	*c = (struct i8254_counter){ .rw = CW_RW_LSB_MSB, .null_count = true,
				     .n = 65536 };
}

void i8254_reset(struct i8254 *p, u64 now, u64 tsc_khz)
{
	*p = (struct i8254){ .epoch = now, .tsc_khz = tsc_khz };
	for (unsigned i = 0; i < 3; i++)
		counter_reset(&p->c[i]);
}

static void latch_count(struct i8254 *p, struct i8254_counter *c, u64 now)
{
	if (c->count_latched)
		return;
	c->latch = ce_read(p, c, now);
	c->count_latched = true;
}

static void latch_status(struct i8254 *p, struct i8254_counter *c, u64 now)
{
	bool out;

	if (c->status_latched)
		return;
	ce_state(p, c, now, &out);
	c->status = (out ? STATUS_OUT : 0) |
		    (c->null_count ? STATUS_NULL_COUNT : 0) |
		    (u8)(c->rw << CW_RW_SHIFT) | (u8)(c->mode << CW_M_SHIFT) |
		    (c->bcd ? CW_BCD : 0);
	c->status_latched = true;
}

static void control_word(struct i8254 *p, u8 val, u64 now)
{
	unsigned sc = val >> CW_SC_SHIFT, rw = val >> CW_RW_SHIFT & 3;

	if (sc == CW_SC_READ_BACK) {
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & RB_NOT_STATUS))
				latch_status(p, &p->c[i], now);
			if (!(val & RB_NOT_COUNT))
				latch_count(p, &p->c[i], now);
		}
		return;
	}
	struct i8254_counter *c = &p->c[sc];
	if (rw == CW_RW_LATCH) {
		latch_count(p, c, now);
		return;
	}
	/* A new mode: the control logic is reset, OUT takes its initial
	 * level, the CE keeps what it read until a count is written. */
	u16 was = ce_read(p, c, now);
	unsigned mode = val >> CW_M_SHIFT & 7;
	counter_reset(c);
	c->mode = (u8)(mode >= 6 ? mode - 4 : mode);
	c->rw = (u8)rw;
	c->bcd = val & CW_BCD;
	c->frozen = was;
}

u8 i8254_read(struct i8254 *p, u16 port, u64 now)
{
	if (port == PIT_PORT_CONTROL)
		return 0xff;	/* write only: nothing drives the bus */
	struct i8254_counter *c = &p->c[(port - PIT_PORT_COUNTER0) & 3];
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	u16 v = c->count_latched ? c->latch : ce_read(p, c, now);
	bool msb = c->rw == CW_RW_MSB ||
		   (c->rw == CW_RW_LSB_MSB && c->read_msb_next);
	if (c->rw == CW_RW_LSB_MSB)
		c->read_msb_next = !c->read_msb_next;
	if (c->rw != CW_RW_LSB_MSB || !c->read_msb_next)
		c->count_latched = false;	/* read in full: released */
	return msb ? (u8)(v >> 8) : (u8)v;
}

void i8254_write(struct i8254 *p, u16 port, u8 val, u64 now)
{
	if (port == PIT_PORT_CONTROL) {
		control_word(p, val, now);
		return;
	}
	struct i8254_counter *c = &p->c[(port - PIT_PORT_COUNTER0) & 3];
	c->null_count = true;
	switch (c->rw) {
	case CW_RW_LSB:
		c->cr = val;
		break;
	case CW_RW_MSB:
		c->cr = (u16)(val << 8);
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = val;
			c->write_msb_next = true;
			if (c->mode == 0) {	/* counting stops, OUT low */
				c->frozen = ce_read(p, c, now);
				c->loaded = false;
				c->running = false;
			}
			return;
		}
		c->cr = (u16)(c->write_lsb | val << 8);
		c->write_msb_next = false;
		break;
	}
	count_written(p, c, now);
}

u8 i8254_nmi_sc_read(struct i8254 *p, u64 now)
{
	u64 refresh = i8254_ticks(now - p->epoch, p->tsc_khz) /
		      REFRESH_PIT_CLOCKS;

	return (p->gate2 ? NMI_SC_GATE2 : 0) |
	       (p->speaker ? NMI_SC_SPEAKER : 0) | p->nmi_sc_high |
	       (refresh & 1 ? NMI_SC_REFRESH : 0) |
	       (i8254_out(p, 2, now) ? NMI_SC_OUT2 : 0);
}

void i8254_nmi_sc_write(struct i8254 *p, u8 val, u64 now)
{
	struct i8254_counter *c = &p->c[2];
	bool g = val & NMI_SC_GATE2;

	p->speaker = val & NMI_SC_SPEAKER;
	p->nmi_sc_high = val & NMI_SC_ENABLES;
	if (g == p->gate2)
		return;
	if (!g) {	/* falling edge: modes 0, 2, 3, 4 stop counting */
		if (c->loaded && c->mode != 1 && c->mode != 5)
			stop(p, c, now);
		p->gate2 = false;
		return;
	}
	p->gate2 = true;	/* rising edge */
	switch (c->mode) {
	case 0:
	case 4:		/* counting resumes where it stopped */
		if (c->loaded && !c->running) {
			c->since = now;
			c->running = true;
		}
		break;
	case 2:
	case 3:		/* reload the initial count */
		if (c->loaded)
			start(p, c, now);
		break;
	default:	/* 1 and 5: the trigger */
		if (c->armed || c->loaded)
			start(p, c, now);
		break;
	}
}
