/*
 * vlapic.c - the virtual local APIC's registers and timer (vlapic.h says
 * what is emulated and what is not).
 *
 * State changes only through the entry points, each at a time the caller
 * gives: a register access first lets the timer catch up (vlapic_update),
 * so what the guest reads is always "now".  An expiry sets the timer's
 * vector in the IRR; one that finds it still set is lost (coalesced), as
 * on hardware, where the IRR holds one request per vector.  Delivery is
 * the caller's (hv/vintr.c): vlapic_pending() says what the APIC would
 * deliver, vlapic_accept() records that it was, EOI ends it.
 *
 * The #GP rules are those of the SDM for x2APIC mode (Vol. 3A 11.12.1.2,
 * 11.12.5): any access to 0x800-0x8FF unless x2APIC mode is on; RDMSR of a
 * write-only or reserved register, WRMSR of a read-only or reserved one;
 * a reserved bit set in a write (bits 63:32 included, ICR aside); a
 * nonzero write to EOI or ESR; IA32_APIC_BASE transitions the SDM forbids
 * (x2APIC to xAPIC, disabled to x2APIC, EXTD without EN) and its reserved
 * bits.
 */
#include "vlapic.h"

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR,
       LVT_COUNT };

/* Writable bits of each LVT entry (SDM Figure 11-8): vector, delivery
 * mode where there is one, LINT pin polarity and trigger mode, mask, and
 * the timer's mode bit 17 (bit 18 would be TSC-deadline, not offered).
 * Delivery status (bit 12) and remote IRR (bit 14) are read-only: written
 * values are ignored there. */
#define LVT_RO_BITS ((1u << 12) | (1u << 14))
static const u32 lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0xff | LVT_MASKED | LVT_TIMER_PERIODIC,
	[LVT_THERMAL] = 0x7ff | LVT_MASKED,
	[LVT_PERF] = 0x7ff | LVT_MASKED,
	[LVT_LINT0] = 0x7ff | (1u << 13) | (1u << 15) | LVT_MASKED,
	[LVT_LINT1] = 0x7ff | (1u << 13) | (1u << 15) | LVT_MASKED,
	[LVT_ERROR] = 0xff | LVT_MASKED,
};

#define SVR_WRITABLE 0x1ffu	/* vector, software enable */
#define TPR_WRITABLE 0xffu
#define DIV_WRITABLE 0xbu	/* bits 0, 1 and 3 */
/* ICR in x2APIC mode (SDM 11.12.9): vector, delivery mode, destination
 * mode, level, trigger mode, shorthand, 32-bit destination. */
#define ICR_WRITABLE (0xffffffff00000000ull | 0xfffull | (3ull << 14) | \
		      (3ull << 18))
#define ICR_DELIVERY_MODE(icr) (((icr) >> 8) & 7)
#define ICR_SHORTHAND(icr) (((icr) >> 18) & 3)
#define ICR_DEST(icr) ((u32)((icr) >> 32))
#define ICR_SHORTHAND_SELF 1
#define ICR_SHORTHAND_ALL_INCL 2
#define APIC_BASE_ADDR_SHIFT 12

static bool bit_test(const u32 *r, u8 v) { return r[v / 32] & (1u << (v % 32)); }
static void bit_set(u32 *r, u8 v) { r[v / 32] |= 1u << (v % 32); }
static void bit_clear(u32 *r, u8 v) { r[v / 32] &= ~(1u << (v % 32)); }

static int highest(const u32 *r)
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

enum vlapic_mode vlapic_mode(const struct vlapic *a)
{
	if (!(a->apic_base & APIC_BASE_EN))
		return VLAPIC_DISABLED;
	return a->apic_base & APIC_BASE_EXTD ? VLAPIC_X2APIC : VLAPIC_XAPIC;
}

/* Everything but IA32_APIC_BASE to its power-up value (SDM 11.4.7.1). */
static void reset_registers(struct vlapic *a)
{
	a->tpr = 0;
	a->svr = 0xff;
	a->esr = a->esr_pending = 0;
	a->icr = 0;
	for (int i = 0; i < LVT_COUNT; i++)
		a->lvt[i] = LVT_MASKED;
	for (int i = 0; i < 8; i++)
		a->irr[i] = a->isr[i] = 0;
	a->initial_count = a->count_start = 0;
	a->divide_config = 0;
	a->divisor = 2;
	a->deadline = a->start_tsc = 0;
	/* Logical ID in x2APIC mode: cluster (ID 19:4) and one bit of 16
	 * (SDM 11.12.10.2). */
	a->ldr = ((a->id >> 4) << 16) | (1u << (a->id & 0xf));
}

void vlapic_reset(struct vlapic *a, u32 id, bool bsp, u64 tsc_per_us)
{
	*a = (struct vlapic){ .id = id };
	a->apic_base = APIC_BASE_DEFAULT | APIC_BASE_EN |
		       (bsp ? APIC_BASE_BSP : 0);
	a->min_period_tsc = VLAPIC_MIN_PERIOD_US * tsc_per_us;
	reset_registers(a);
}

bool vlapic_owns_msr(u32 msr)
{
	return msr == MSR_IA32_APIC_BASE ||
	       (msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST);
}

/* The divide configuration's divisor (SDM Figure 11-10): bits 3,1,0 =
 * 000 -> 2, 001 -> 4, ... 110 -> 128, 111 -> 1. */
static u32 divisor_of(u32 dc)
{
	u32 v = ((dc >> 1) & 4) | (dc & 3);
	return v == 7 ? 1 : 2u << v;
}

static bool timer_periodic(const struct vlapic *a)
{
	return a->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC;
}

/* TSC ticks from one expiry to the next for a count of n. */
static u64 period_tsc(const struct vlapic *a, u32 n)
{
	u64 p = (u64)n * a->divisor;

	if (timer_periodic(a) && p < a->min_period_tsc)
		p = a->min_period_tsc;
	return p ? p : 1;
}

static void timer_start(struct vlapic *a, u64 now)
{
	a->deadline = 0;
	if (!a->initial_count)
		return;		/* a zero initial count stops the timer */
	if (timer_periodic(a) &&
	    (u64)a->initial_count * a->divisor < a->min_period_tsc)
		a->st.clamped++;
	a->count_start = a->initial_count;
	a->start_tsc = now;
	a->deadline = now + period_tsc(a, a->initial_count);
}

static u32 current_count(const struct vlapic *a, u64 now)
{
	if (!a->deadline || now < a->start_tsc)
		return a->deadline ? a->count_start : 0;
	u64 gone = (now - a->start_tsc) / a->divisor;
	return gone >= a->count_start ? 0 : a->count_start - (u32)gone;
}

/* n expiries at once (the later ones of a periodic timer the caller did
 * not look at in time): the first may raise the interrupt; the others
 * find it pending, or meet the same mask or bad vector. */
static void expire(struct vlapic *a, u64 n)
{
	u32 lvt = a->lvt[LVT_TIMER];
	u8 vec = (u8)(lvt & APIC_VECTOR_MASK);

	a->st.ticks += n;
	if ((lvt & LVT_MASKED) || !(a->svr & SVR_SW_ENABLE) ||
	    vlapic_mode(a) != VLAPIC_X2APIC) {
		a->st.masked += n;
		return;
	}
	if (vec < 16) {		/* SDM 11.5.3: "Receive Illegal Vector" */
		a->st.illegal += n;
		a->esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
		return;
	}
	if (bit_test(a->irr, vec)) {
		a->st.coalesced += n;
		return;
	}
	bit_set(a->irr, vec);
	a->st.raised++;
	a->st.coalesced += n - 1;
}

void vlapic_update(struct vlapic *a, u64 now)
{
	if (!a->deadline || now < a->deadline)
		return;
	if (!timer_periodic(a)) {
		a->deadline = 0;	/* one-shot: the count stays at 0 */
		expire(a, 1);
		return;
	}
	u64 p = period_tsc(a, a->initial_count);
	u64 late = (now - a->deadline) / p;	/* whole periods missed */
	expire(a, 1 + late);
	a->start_tsc = a->deadline + late * p;
	a->count_start = a->initial_count;
	a->deadline = a->start_tsc + p;
}

static u32 ppr(const struct vlapic *a)
{
	int isrv = highest(a->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;

	return (a->tpr & 0xf0) >= isr_class ? a->tpr & 0xff : isr_class;
}

int vlapic_pending(const struct vlapic *a)
{
	int v = highest(a->irr);

	if (v < 0 || vlapic_mode(a) != VLAPIC_X2APIC ||
	    !(a->svr & SVR_SW_ENABLE))
		return -1;
	return ((u32)v & 0xf0) > (ppr(a) & 0xf0) ? v : -1;
}

void vlapic_accept(struct vlapic *a, u8 vector)
{
	bit_clear(a->irr, vector);
	bit_set(a->isr, vector);
}

u64 vlapic_next_deadline(const struct vlapic *a)
{
	return a->deadline;
}

u64 vlapic_wake_deadline(const struct vlapic *a)
{
	u32 lvt = a->lvt[LVT_TIMER];

	if (vlapic_mode(a) != VLAPIC_X2APIC || !(a->svr & SVR_SW_ENABLE) ||
	    (lvt & LVT_MASKED) || (lvt & APIC_VECTOR_MASK) < 16)
		return 0;
	return a->deadline;
}

/* A fixed interrupt this APIC sends itself (self IPI, ICR to self). */
static void raise_self(struct vlapic *a, u8 vec, u32 esr_bit)
{
	if (vec < 16)
		a->esr_pending |= esr_bit;
	else
		bit_set(a->irr, vec);
}

static int refuse(struct vlapic *a, const char **why, const char *rule)
{
	a->st.refused++;
	*why = rule;
	return -1;
}

static int write_apic_base(struct vlapic *a, u64 val, const char **why,
			   u8 phys_bits)
{
	u64 reserved = 0xffull | (1ull << 9) | APIC_BASE_BSP |
		       (phys_bits < 64 ? ~0ull << phys_bits : 0);
	enum vlapic_mode old = vlapic_mode(a), new;

	/* The BSP flag is read-only here (set at reset). */
	if ((val & reserved & ~APIC_BASE_BSP) != 0)
		return refuse(a, why, "IA32_APIC_BASE reserved bit set");
	if ((val & APIC_BASE_EXTD) && !(val & APIC_BASE_EN))
		return refuse(a, why, "IA32_APIC_BASE: EXTD without EN is "
			      "the invalid state");
	new = !(val & APIC_BASE_EN)    ? VLAPIC_DISABLED
	      : (val & APIC_BASE_EXTD) ? VLAPIC_X2APIC
				       : VLAPIC_XAPIC;
	if (old == VLAPIC_X2APIC && new == VLAPIC_XAPIC)
		return refuse(a, why, "IA32_APIC_BASE: x2APIC to xAPIC "
			      "without disabling first");
	if (old == VLAPIC_DISABLED && new == VLAPIC_X2APIC)
		return refuse(a, why, "IA32_APIC_BASE: disabled to x2APIC "
			      "without xAPIC first");
	a->apic_base = (val & ~APIC_BASE_BSP) | (a->apic_base & APIC_BASE_BSP);
	if (new == VLAPIC_DISABLED && old != VLAPIC_DISABLED)
		reset_registers(a);	/* SDM 11.4.3: as at power-up */
	return 0;
}

int vlapic_rdmsr(struct vlapic *a, u32 msr, u64 now, u64 *val,
		 const char **why)
{
	vlapic_update(a, now);
	if (msr == MSR_IA32_APIC_BASE) {
		*val = a->apic_base;
		return 0;
	}
	if (vlapic_mode(a) != VLAPIC_X2APIC)
		return refuse(a, why, "x2APIC MSR while x2APIC mode is off");
	switch (msr) {
	case X2APIC_ID: *val = a->id; return 0;
	case X2APIC_VERSION: *val = VLAPIC_VERSION; return 0;
	case X2APIC_TPR: *val = a->tpr; return 0;
	case X2APIC_PPR: *val = ppr(a); return 0;
	case X2APIC_LDR: *val = a->ldr; return 0;
	case X2APIC_SVR: *val = a->svr; return 0;
	case X2APIC_ESR: *val = a->esr; return 0;
	case X2APIC_ICR: *val = a->icr; return 0;
	case X2APIC_TIMER_INIT: *val = a->initial_count; return 0;
	case X2APIC_TIMER_CUR: *val = current_count(a, now); return 0;
	case X2APIC_TIMER_DIV: *val = a->divide_config; return 0;
	case X2APIC_EOI:
	case X2APIC_SELF_IPI:
		return refuse(a, why, "RDMSR of a write-only x2APIC register");
	}
	if (msr >= X2APIC_LVT_TIMER && msr <= X2APIC_LVT_ERROR) {
		*val = a->lvt[msr - X2APIC_LVT_TIMER];
		return 0;
	}
	if (msr >= X2APIC_ISR0 && msr < X2APIC_ISR0 + 8) {
		*val = a->isr[msr - X2APIC_ISR0];
		return 0;
	}
	if (msr >= X2APIC_TMR0 && msr < X2APIC_TMR0 + 8) {
		*val = 0;	/* every interrupt here is edge-triggered */
		return 0;
	}
	if (msr >= X2APIC_IRR0 && msr < X2APIC_IRR0 + 8) {
		*val = a->irr[msr - X2APIC_IRR0];
		return 0;
	}
	return refuse(a, why, "reserved x2APIC register");
}

static void write_lvt(struct vlapic *a, unsigned i, u32 v)
{
	a->lvt[i] = v & lvt_writable[i];
	if (!(a->svr & SVR_SW_ENABLE))
		a->lvt[i] |= LVT_MASKED;	/* SDM 11.4.7.2 */
}

static void write_divide(struct vlapic *a, u32 v, u64 now)
{
	u32 left = current_count(a, now);

	a->divide_config = v;
	a->divisor = divisor_of(v);
	/* The rest of the count goes on at the new rate. */
	if (a->deadline && left) {
		a->count_start = left;
		a->start_tsc = now;
		a->deadline = now + (u64)left * a->divisor;
	}
}

static void write_icr(struct vlapic *a, u64 v)
{
	u32 sh = ICR_SHORTHAND(v);
	bool to_self = sh == ICR_SHORTHAND_SELF || sh == ICR_SHORTHAND_ALL_INCL ||
		       (sh == 0 && (ICR_DEST(v) == a->id ||
				    ICR_DEST(v) == 0xffffffffu));

	a->icr = v;
	/* One vCPU: only a fixed interrupt to itself has an effect. */
	if (to_self && ICR_DELIVERY_MODE(v) == 0)
		raise_self(a, (u8)(v & APIC_VECTOR_MASK),
			   ESR_SEND_ILLEGAL_VECTOR);
}

int vlapic_wrmsr(struct vlapic *a, u32 msr, u64 val, u64 now,
		 const char **why)
{
	vlapic_update(a, now);
	if (msr == MSR_IA32_APIC_BASE)
		return write_apic_base(a, val, why, 52);
	if (vlapic_mode(a) != VLAPIC_X2APIC)
		return refuse(a, why, "x2APIC MSR while x2APIC mode is off");
	if (msr != X2APIC_ICR && (val >> 32))
		return refuse(a, why, "x2APIC register bits 63:32 are "
			      "reserved");
	u32 v = (u32)val;
	switch (msr) {
	case X2APIC_TPR:
		if (v & ~TPR_WRITABLE)
			return refuse(a, why, "TPR reserved bit set");
		a->tpr = v;
		return 0;
	case X2APIC_EOI:
		if (v)
			return refuse(a, why, "nonzero write to EOI");
		a->st.eois++;
		int s = highest(a->isr);
		if (s >= 0)
			bit_clear(a->isr, (u8)s);
		return 0;
	case X2APIC_SVR:
		if (v & ~SVR_WRITABLE)
			return refuse(a, why, "SVR reserved bit set");
		a->svr = v;
		if (!(v & SVR_SW_ENABLE))
			for (int i = 0; i < LVT_COUNT; i++)
				a->lvt[i] |= LVT_MASKED;
		return 0;
	case X2APIC_ESR:
		if (v)
			return refuse(a, why, "nonzero write to ESR");
		a->esr = a->esr_pending;	/* SDM 11.5.3: the write latches */
		a->esr_pending = 0;
		return 0;
	case X2APIC_ICR:
		if (val & ~ICR_WRITABLE)
			return refuse(a, why, "ICR reserved bit set");
		write_icr(a, val);
		return 0;
	case X2APIC_TIMER_INIT:
		a->initial_count = v;
		timer_start(a, now);
		return 0;
	case X2APIC_TIMER_DIV:
		if (v & ~DIV_WRITABLE)
			return refuse(a, why, "divide configuration reserved "
				      "bit set");
		write_divide(a, v, now);
		return 0;
	case X2APIC_SELF_IPI:
		if (v & ~APIC_VECTOR_MASK)
			return refuse(a, why, "SELF IPI reserved bit set");
		raise_self(a, (u8)v, ESR_RECV_ILLEGAL_VECTOR);
		return 0;
	case X2APIC_ID:
	case X2APIC_VERSION:
	case X2APIC_PPR:
	case X2APIC_LDR:
	case X2APIC_TIMER_CUR:
		return refuse(a, why, "WRMSR of a read-only x2APIC register");
	}
	if (msr >= X2APIC_LVT_TIMER && msr <= X2APIC_LVT_ERROR) {
		unsigned i = msr - X2APIC_LVT_TIMER;
		if (v & ~(lvt_writable[i] | LVT_RO_BITS))
			return refuse(a, why, i == LVT_TIMER && (v >> 17) & 2
						      ? "LVT timer mode: TSC-"
							"deadline is not offered"
						      : "LVT reserved bit set");
		write_lvt(a, i, v);
		return 0;
	}
	if (msr >= X2APIC_ISR0 && msr < X2APIC_IRR0 + 8)
		return refuse(a, why, "WRMSR of a read-only x2APIC register");
	return refuse(a, why, "reserved x2APIC register");
}
