/*
 * lapic.h - interrupts the hypervisor owns: the legacy PICs (remapped and
 * masked) and the local APIC's one-shot timer, which ends a vCPU's time
 * slice by interrupting the guest (an external-interrupt exit on VMX, an
 * INTR intercept on SVM).
 */
#ifndef ARCH_X86_LAPIC_H
#define ARCH_X86_LAPIC_H

#include "../../hv/types.h"

#define VEC_PIC_BASE 0x20	/* the 8259s, remapped here and masked */
#define VEC_TIMER 0x40
#define VEC_SPURIOUS 0xff

/* Remaps and masks the PICs, enables the LAPIC, calibrates its timer and
 * the TSC against the PIT.  0, or -1 with a reason. */
int lapic_init(char *err, size_t errlen);

/* Arms the one-shot timer to fire after us microseconds (0: disarm). */
void lapic_timer_arm(u64 us);
/* Arms it to fire when the TSC reaches tsc (at once if that is past). */
void lapic_timer_arm_until(u64 tsc);
/* Halts this CPU until the TSC reaches tsc (the timer wakes it); leaves
 * the timer disarmed and no tick pending. */
void lapic_wait_until(u64 tsc);
/* Sends this CPU an NMI through the ICR (selftest=host-nmi).  It arrives
 * at once unless NMIs are blocked (SVM: GIF = 0; inside an NMI handler). */
void lapic_self_nmi(void);
/* Disarms the timer and takes a tick that fired but is still pending,
 * so none is left for the next slice; true if there was one that had not
 * been seen through lapic_timer_fired(). */
bool lapic_timer_stop(void);
/* True (once) if the timer fired since the last call. */
bool lapic_timer_fired(void);

/* TSC ticks per microsecond and per millisecond, measured at boot. */
extern u64 tsc_per_us;
extern u64 tsc_khz;
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#endif
