/*
 * vlapic.h - a vCPU's virtual local APIC, x2APIC mode only (SDM Vol. 3A
 * chapter 11; 11.12 for x2APIC): IA32_APIC_BASE, the x2APIC registers as
 * MSRs 0x800-0x8FF, and the APIC timer (11.5.4) in one-shot and periodic
 * mode.  xAPIC's MMIO page is not emulated: a guest can enable xAPIC mode,
 * but its registers are then out of reach (the page is not RAM; an access
 * stops the VM like any other non-RAM access).
 *
 * Pure logic: every entry point takes the current time (TSC ticks) from
 * its caller, so tests/test_vlapic.c drives it through these same entry
 * points with a fake clock.  hv/vintr.c connects it to a vCPU: the MSR
 * exits, delivery by event injection, HLT.
 *
 * The timer counts down at the TSC rate divided by the divide
 * configuration (the timer's input clock is the TSC: CPUID 0x40000010
 * reports both frequencies, docs/guest-abi.md).  A periodic period shorter
 * than VLAPIC_MIN_PERIOD_US is run at that period (as KVM does, 200 us
 * there), so a guest cannot make its own timer an interrupt storm that
 * starves it; the current count still reads as programmed.
 */
#ifndef HV_VLAPIC_H
#define HV_VLAPIC_H

#include "types.h"

#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)	/* x2APIC mode */
#define APIC_BASE_EN (1ull << 11)	/* APIC global enable */
#define APIC_BASE_DEFAULT 0xfee00000ull

/* x2APIC MSRs (SDM Vol. 3A Table 11-6): 0x800 + (xAPIC offset >> 4). */
#define X2APIC_MSR_FIRST 0x800
#define X2APIC_MSR_LAST 0x8ff
#define X2APIC_ID 0x802
#define X2APIC_VERSION 0x803
#define X2APIC_TPR 0x808
#define X2APIC_PPR 0x80a
#define X2APIC_EOI 0x80b
#define X2APIC_LDR 0x80d
#define X2APIC_SVR 0x80f
#define X2APIC_ISR0 0x810		/* ISR 0x810-0x817 */
#define X2APIC_TMR0 0x818		/* TMR 0x818-0x81f */
#define X2APIC_IRR0 0x820		/* IRR 0x820-0x827 */
#define X2APIC_ESR 0x828
#define X2APIC_ICR 0x830
#define X2APIC_LVT_TIMER 0x832
#define X2APIC_LVT_THERMAL 0x833
#define X2APIC_LVT_PERF 0x834
#define X2APIC_LVT_LINT0 0x835
#define X2APIC_LVT_LINT1 0x836
#define X2APIC_LVT_ERROR 0x837
#define X2APIC_TIMER_INIT 0x838
#define X2APIC_TIMER_CUR 0x839
#define X2APIC_TIMER_DIV 0x83e
#define X2APIC_SELF_IPI 0x83f

/* Register bits (SDM 11.5.1, 11.5.3, 11.9). */
#define APIC_VECTOR_MASK 0xffu
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)	/* not offered: #GP */
#define SVR_SW_ENABLE (1u << 8)
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
/* Version 0x14 (an integrated APIC), highest LVT entry 5 (no CMCI), no
 * EOI-broadcast suppression. */
#define VLAPIC_VERSION 0x00050014u

#define VLAPIC_MIN_PERIOD_US 200

enum vlapic_mode { VLAPIC_DISABLED, VLAPIC_XAPIC, VLAPIC_X2APIC };

struct vlapic_stats {
	u64 ticks;		/* timer expirations */
	u64 raised;		/* ... that set the vector in the IRR */
	u64 coalesced;		/* ... that found it still pending: lost */
	u64 masked;		/* ... with the LVT masked: no interrupt */
	u64 illegal;		/* ... with a vector < 16: ESR bit 6 */
	u64 clamped;		/* periodic periods raised to the minimum */
	u64 eois;
	u64 refused;		/* accesses answered with #GP */
};

struct vlapic {
	u64 apic_base;		/* IA32_APIC_BASE */
	u32 id;
	u32 tpr, svr, ldr;
	u32 esr;		/* as the last ESR write latched it */
	u32 esr_pending;	/* errors since that write */
	u64 icr;
	u32 lvt[6];		/* timer, thermal, perf, LINT0, LINT1, error */
	u32 irr[8], isr[8];	/* 256 bits each, 32 per MSR */
	/* The timer: counts from count_start at start_tsc, one count every
	 * divisor TSC ticks; expires at deadline (0: not counting). */
	u32 initial_count, divide_config, divisor;
	u32 count_start;
	u64 start_tsc, deadline;
	u64 min_period_tsc;	/* VLAPIC_MIN_PERIOD_US in TSC ticks */
	struct vlapic_stats st;
};

/* Power-up state: xAPIC mode, enabled, base 0xFEE00000, BSP; every LVT
 * masked, the APIC software-disabled (SVR 0xFF), timer stopped.
 * tsc_per_us scales the minimum period. */
void vlapic_reset(struct vlapic *a, u32 id, bool bsp, u64 tsc_per_us);

/* True for the MSRs this file answers (IA32_APIC_BASE, 0x800-0x8FF). */
bool vlapic_owns_msr(u32 msr);

/* RDMSR/WRMSR of an owned MSR at time now: 0 (with *val for a read), or
 * -1 for a #GP, with *why saying which rule refused it. */
int vlapic_rdmsr(struct vlapic *a, u32 msr, u64 now, u64 *val,
		 const char **why);
int vlapic_wrmsr(struct vlapic *a, u32 msr, u64 val, u64 now,
		 const char **why);

/* Lets the timer catch up with now: each expiry since the last call
 * raises its interrupt (or is counted as masked, illegal, coalesced). */
void vlapic_update(struct vlapic *a, u64 now);

/* The vector the APIC would deliver now (highest in the IRR whose priority
 * class is above the PPR's), or -1. */
int vlapic_pending(const struct vlapic *a);
/* The vector was delivered to the guest: it moves from the IRR to the
 * ISR (the interrupt acknowledge). */
void vlapic_accept(struct vlapic *a, u8 vector);

/* TSC time of the next timer expiry, or 0 if the timer is not counting. */
u64 vlapic_next_deadline(const struct vlapic *a);
/* The next expiry that will raise an interrupt (the APIC in x2APIC mode
 * and software-enabled, timer unmasked with a legal vector and counting),
 * or 0: what a HLT can wait for. */
u64 vlapic_wake_deadline(const struct vlapic *a);

enum vlapic_mode vlapic_mode(const struct vlapic *a);

#endif
