/*
 * test_vlapic.c - hv/vlapic.c through its real entry points, with a fake
 * clock: the IA32_APIC_BASE mode transitions, the x2APIC registers' #GP
 * rules, and the timer (one-shot, periodic, divide, masked, illegal vector,
 * zero count, coalescing, the minimum period), priority and EOI.
 */
#include "../hv/vlapic.h"
#include "unit.h"

#define TSC_PER_US 1000ull	/* a 1 GHz TSC */
#define MIN_PERIOD (VLAPIC_MIN_PERIOD_US * TSC_PER_US)

static const char *why;

static int wr(struct vlapic *a, u32 msr, u64 v, u64 now)
{
	why = NULL;
	return vlapic_wrmsr(a, msr, v, now, &why);
}

static u64 rd(struct vlapic *a, u32 msr, u64 now)
{
	u64 v = 0xdeadbeef;
	CHECK_EQ(vlapic_rdmsr(a, msr, now, &v, &why), 0);
	return v;
}

static bool rd_faults(struct vlapic *a, u32 msr, u64 now)
{
	u64 v;
	return vlapic_rdmsr(a, msr, now, &v, &why) < 0;
}

/* Reset, x2APIC on, software-enabled with spurious vector 0xff. */
static void x2apic_on(struct vlapic *a)
{
	vlapic_reset(a, 0, true, TSC_PER_US);
	CHECK_EQ(wr(a, MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT | APIC_BASE_EN |
		    APIC_BASE_EXTD, 0), 0);
	CHECK_EQ(wr(a, X2APIC_SVR, SVR_SW_ENABLE | 0xff, 0), 0);
}

TEST(apic_base_reset_value_and_owned_msrs)
{
	struct vlapic a;

	vlapic_reset(&a, 0, true, TSC_PER_US);
	CHECK_EQ(rd(&a, MSR_IA32_APIC_BASE, 0), 0xfee00900ull);
	CHECK_EQ(vlapic_mode(&a), VLAPIC_XAPIC);
	vlapic_reset(&a, 0, false, TSC_PER_US);
	CHECK_EQ(rd(&a, MSR_IA32_APIC_BASE, 0), 0xfee00800ull);
	CHECK(vlapic_owns_msr(0x1b));
	CHECK(vlapic_owns_msr(0x800));
	CHECK(vlapic_owns_msr(0x8ff));
	CHECK(!vlapic_owns_msr(0x900));
	CHECK(!vlapic_owns_msr(0x7ff));
}

TEST(apic_base_mode_transitions)
{
	struct vlapic a;
	u64 en = APIC_BASE_DEFAULT | APIC_BASE_EN, x2 = en | APIC_BASE_EXTD;

	vlapic_reset(&a, 0, true, TSC_PER_US);
	/* xAPIC: the x2APIC MSRs #GP. */
	CHECK(rd_faults(&a, X2APIC_TPR, 0));
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30, 0), -1);
	/* EXTD without EN: the invalid state. */
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT | APIC_BASE_EXTD,
		    0), -1);
	/* Reserved bits 0-7, 9 and above bit 51. */
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, en | 1, 0), -1);
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, en | (1ull << 9), 0), -1);
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, en | (1ull << 52), 0), -1);
	CHECK_EQ(vlapic_mode(&a), VLAPIC_XAPIC);
	/* xAPIC -> x2APIC is legal. */
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, x2, 0), 0);
	CHECK_EQ(vlapic_mode(&a), VLAPIC_X2APIC);
	CHECK_EQ(rd(&a, MSR_IA32_APIC_BASE, 0), x2 | APIC_BASE_BSP);
	/* x2APIC -> xAPIC is not. */
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, en, 0), -1);
	CHECK(why && strstr(why, "x2APIC to xAPIC"));
	CHECK_EQ(vlapic_mode(&a), VLAPIC_X2APIC);
	/* x2APIC -> disabled resets the registers; disabled -> x2APIC #GPs. */
	CHECK_EQ(wr(&a, X2APIC_SVR, 0x1ff, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 1000, 0), 0);
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, APIC_BASE_DEFAULT, 0), 0);
	CHECK_EQ(vlapic_mode(&a), VLAPIC_DISABLED);
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, x2, 0), -1);
	CHECK(why && strstr(why, "disabled to x2APIC"));
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, en, 0), 0);
	CHECK_EQ(wr(&a, MSR_IA32_APIC_BASE, x2, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_SVR, 0), 0xff);
	CHECK_EQ(rd(&a, X2APIC_TIMER_INIT, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_LVT_TIMER, 0), LVT_MASKED);
	/* The BSP flag cannot be cleared by a write. */
	CHECK_EQ(rd(&a, MSR_IA32_APIC_BASE, 0) & APIC_BASE_BSP, APIC_BASE_BSP);
}

TEST(x2apic_register_access_rules)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(rd(&a, X2APIC_ID, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_VERSION, 0), VLAPIC_VERSION);
	CHECK_EQ(rd(&a, X2APIC_LDR, 0), 1);
	/* Write-only: EOI, SELF IPI. */
	CHECK(rd_faults(&a, X2APIC_EOI, 0));
	CHECK(rd_faults(&a, X2APIC_SELF_IPI, 0));
	/* Read-only. */
	CHECK_EQ(wr(&a, X2APIC_ID, 0, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_VERSION, 0, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_PPR, 0, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_LDR, 0, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_TIMER_CUR, 5, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_IRR0 + 1, 0, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_ISR0, 0, 0), -1);
	/* Reserved registers, both ways. */
	CHECK(rd_faults(&a, 0x801, 0));
	CHECK(rd_faults(&a, 0x82f, 0));	/* CMCI: not offered */
	CHECK(rd_faults(&a, 0x8ff, 0));
	CHECK_EQ(wr(&a, 0x804, 0, 0), -1);
	/* Nonzero EOI and ESR writes. */
	CHECK_EQ(wr(&a, X2APIC_EOI, 1, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_EOI, 0, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_ESR, 1, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_ESR, 0, 0), 0);
	/* Reserved bits. */
	CHECK_EQ(wr(&a, X2APIC_TPR, 0x100, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_TPR, 0x20, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_TPR, 0), 0x20);
	CHECK_EQ(wr(&a, X2APIC_SVR, 0x1ff | (1u << 12), 0), -1);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30 | (1u << 8), 0), -1);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30 | LVT_TIMER_TSC_DEADLINE, 0),
		 -1);
	CHECK(why && strstr(why, "TSC-deadline"));
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30 | (3u << 17), 0), -1);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30 | (1ull << 32), 0), -1);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 4, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_SELF_IPI, 0x130, 0), -1);
	CHECK_EQ(wr(&a, X2APIC_ICR, 1ull << 12, 0), -1);
	/* The delivery-status bit is read-only: ignored in a write. */
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30 | (1u << 12), 0), 0);
	CHECK_EQ(rd(&a, X2APIC_LVT_TIMER, 0), 0x30);
	CHECK(a.st.refused >= 20);
}

TEST(software_disable_forces_lvt_masks)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_SVR, 0xff, 0), 0);	/* disabled */
	CHECK_EQ(rd(&a, X2APIC_LVT_TIMER, 0), 0x30 | LVT_MASKED);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x31, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_LVT_TIMER, 0), 0x31 | LVT_MASKED);
	CHECK_EQ(wr(&a, X2APIC_SVR, 0x1ff, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_LVT_TIMER, 0), 0x31 | LVT_MASKED);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x31, 0), 0);
	CHECK_EQ(rd(&a, X2APIC_LVT_TIMER, 0), 0x31);
}

TEST(one_shot_counts_down_and_fires_once)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);	/* divide by 1 */
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 1000, 100), 0);
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 100), 1000);
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 600), 500);
	CHECK_EQ(vlapic_next_deadline(&a), 1100);
	CHECK_EQ(vlapic_wake_deadline(&a), 1100);
	vlapic_update(&a, 1099);
	CHECK_EQ(vlapic_pending(&a), -1);
	vlapic_update(&a, 1100);
	CHECK_EQ(vlapic_pending(&a), 0x30);
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 1200), 0);
	CHECK_EQ(vlapic_next_deadline(&a), 0);
	CHECK_EQ(rd(&a, X2APIC_IRR0 + 1, 1200), 1u << 16);
	vlapic_accept(&a, 0x30);
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(rd(&a, X2APIC_ISR0 + 1, 1200), 1u << 16);
	CHECK_EQ(rd(&a, X2APIC_PPR, 1200), 0x30);
	CHECK_EQ(wr(&a, X2APIC_EOI, 0, 1300), 0);
	CHECK_EQ(rd(&a, X2APIC_ISR0 + 1, 1300), 0);
	vlapic_update(&a, 100000);
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(a.st.ticks, 1);
	CHECK_EQ(a.st.raised, 1);
}

TEST(divide_configuration_scales_the_count_rate)
{
	struct vlapic a;
	/* bits 3,1,0 -> divisor */
	static const struct { u32 dc, div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 },
		{ 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		x2apic_on(&a);
		CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, t[i].dc, 0), 0);
		CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x30, 0), 0);
		CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 10000, 0), 0);
		CHECK_EQ(vlapic_next_deadline(&a), 10000ull * t[i].div);
		CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 100ull * t[i].div), 9900);
	}
}

TEST(periodic_reloads_and_coalesces_a_pending_tick)
{
	struct vlapic a;
	u64 p = 2 * MIN_PERIOD;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x40 | LVT_TIMER_PERIODIC, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, p, 0), 0);
	vlapic_update(&a, p);
	CHECK_EQ(vlapic_pending(&a), 0x40);
	CHECK_EQ(vlapic_next_deadline(&a), 2 * p);
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, p + 10), p - 10);	/* reloaded */
	/* Not delivered: the next tick finds it pending, and three more
	 * periods late count three more lost. */
	vlapic_update(&a, 2 * p);
	vlapic_update(&a, 5 * p + 7);
	CHECK_EQ(a.st.ticks, 5);
	CHECK_EQ(a.st.raised, 1);
	CHECK_EQ(a.st.coalesced, 4);
	CHECK_EQ(vlapic_next_deadline(&a), 6 * p);
	/* Delivered and ended: the next one raises again. */
	vlapic_accept(&a, 0x40);
	CHECK_EQ(wr(&a, X2APIC_EOI, 0, 5 * p + 8), 0);
	vlapic_update(&a, 6 * p);
	CHECK_EQ(vlapic_pending(&a), 0x40);
	CHECK_EQ(a.st.raised, 2);
}

TEST(zero_initial_count_stops_the_timer)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x40 | LVT_TIMER_PERIODIC, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 1000000, 0), 0);
	CHECK(vlapic_next_deadline(&a) != 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 0, 10), 0);
	CHECK_EQ(vlapic_next_deadline(&a), 0);
	CHECK_EQ(vlapic_wake_deadline(&a), 0);
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 20), 0);
	vlapic_update(&a, 100000000);
	CHECK_EQ(a.st.ticks, 0);
	CHECK_EQ(vlapic_pending(&a), -1);
}

TEST(masked_timer_counts_without_interrupts)
{
	struct vlapic a;
	u64 p = 2 * MIN_PERIOD;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x40 | LVT_TIMER_PERIODIC |
		    LVT_MASKED, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, p, 0), 0);
	CHECK_EQ(vlapic_wake_deadline(&a), 0);	/* HLT cannot wait for it */
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 100), p - 100);
	vlapic_update(&a, 3 * p);
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(a.st.masked, 3);
	CHECK_EQ(rd(&a, X2APIC_TIMER_CUR, 3 * p + 5), p - 5);
}

TEST(illegal_vector_sets_esr_and_delivers_nothing)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 5, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 100, 0), 0);
	CHECK_EQ(vlapic_wake_deadline(&a), 0);
	vlapic_update(&a, 200);
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(a.st.illegal, 1);
	/* ESR shows it only after a write latches it (SDM 11.5.3). */
	CHECK_EQ(rd(&a, X2APIC_ESR, 200), 0);
	CHECK_EQ(wr(&a, X2APIC_ESR, 0, 200), 0);
	CHECK_EQ(rd(&a, X2APIC_ESR, 200), ESR_RECV_ILLEGAL_VECTOR);
	CHECK_EQ(wr(&a, X2APIC_ESR, 0, 300), 0);
	CHECK_EQ(rd(&a, X2APIC_ESR, 300), 0);
	/* A self IPI with an illegal vector too. */
	CHECK_EQ(wr(&a, X2APIC_SELF_IPI, 3, 300), 0);
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(wr(&a, X2APIC_ESR, 0, 300), 0);
	CHECK_EQ(rd(&a, X2APIC_ESR, 300), ESR_RECV_ILLEGAL_VECTOR);
}

TEST(tiny_periods_are_raised_to_the_minimum)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x40 | LVT_TIMER_PERIODIC, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 1, 0), 0);
	CHECK_EQ(a.st.clamped, 1);
	CHECK_EQ(vlapic_next_deadline(&a), MIN_PERIOD);
	/* A long absence: one pending tick, the rest counted as lost. */
	vlapic_update(&a, 1000 * MIN_PERIOD + 1);
	CHECK_EQ(a.st.ticks, 1000);
	CHECK_EQ(a.st.raised, 1);
	CHECK_EQ(a.st.coalesced, 999);
	CHECK_EQ(vlapic_next_deadline(&a), 1001 * MIN_PERIOD);
	/* A one-shot count of 1 is not raised: it fires once. */
	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_TIMER_DIV, 0xb, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_LVT_TIMER, 0x40, 0), 0);
	CHECK_EQ(wr(&a, X2APIC_TIMER_INIT, 1, 0), 0);
	CHECK_EQ(vlapic_next_deadline(&a), 1);
	CHECK_EQ(a.st.clamped, 0);
}

TEST(priority_tpr_and_isr_gate_delivery)
{
	struct vlapic a;

	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_SELF_IPI, 0x45, 0), 0);
	CHECK_EQ(vlapic_pending(&a), 0x45);
	CHECK_EQ(wr(&a, X2APIC_TPR, 0x40, 0), 0);	/* class 4 blocks 0x45 */
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(wr(&a, X2APIC_SELF_IPI, 0x61, 0), 0);
	CHECK_EQ(vlapic_pending(&a), 0x61);
	vlapic_accept(&a, 0x61);
	CHECK_EQ(wr(&a, X2APIC_TPR, 0, 0), 0);
	/* 0x61 in service blocks class 4 until its EOI. */
	CHECK_EQ(rd(&a, X2APIC_PPR, 0), 0x60);
	CHECK_EQ(vlapic_pending(&a), -1);
	CHECK_EQ(wr(&a, X2APIC_EOI, 0, 0), 0);
	CHECK_EQ(vlapic_pending(&a), 0x45);
	/* Software-disabled: nothing delivered. */
	CHECK_EQ(wr(&a, X2APIC_SVR, 0xff, 0), 0);
	CHECK_EQ(vlapic_pending(&a), -1);
	/* An ICR fixed IPI to self. */
	x2apic_on(&a);
	CHECK_EQ(wr(&a, X2APIC_ICR, 0x52 | (1ull << 18), 0), 0);
	CHECK_EQ(vlapic_pending(&a), 0x52);
}
