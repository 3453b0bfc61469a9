/*
 * timer.h - the guest's timer driver: the x2APIC timer in periodic mode,
 * as memvisor offers it (guest ABI version 2, docs/guest-abi.md "Timer").
 *
 * Other code relies on exactly this interface.  The tick handler counts,
 * calls the hook, and sends the EOI; nothing else runs in it.
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

#define TIMER_VECTOR 0x30
#define SPURIOUS_VECTOR 0xff

/* x2APIC MSRs and bits (Intel SDM Vol. 3A 11.12, Table 11-6). */
#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define X2APIC_ID 0x802u
#define X2APIC_TPR 0x808u
#define X2APIC_EOI 0x80bu
#define X2APIC_SVR 0x80fu
#define X2APIC_ESR 0x828u
#define X2APIC_LVT_TIMER 0x832u
#define X2APIC_TIMER_INIT 0x838u
#define X2APIC_TIMER_CUR 0x839u
#define X2APIC_TIMER_DIV 0x83eu
#define SVR_SW_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define TIMER_DIV_1 0xbu
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
/* memvisor's timing leaf: EAX = TSC kHz, EBX = APIC timer input kHz. */
#define CPUID_HV_TIMING 0x40000010u
#define CPUID1_ECX_X2APIC (1u << 21)

/* Starts the x2APIC periodic timer at hz if memvisor offers x2APIC and the
 * 0x40000010 leaf: 0, or -1 after printing why (e.g. natively under QEMU
 * TCG without x2APIC).  Does not change RFLAGS.IF: the caller enables
 * interrupts. */
int timer_start(unsigned hz);
/* Masks the timer and stops its count; a tick already pending may still
 * arrive once interrupts are on. */
void timer_stop(void);
int timer_running(void);
/* Ticks handled since boot. */
uint64_t timer_ticks(void);
typedef void timer_hook_fn(void);
/* Called in every tick, with IF=0, before EOI; one hook (NULL: none). */
void timer_set_hook(timer_hook_fn *fn);

/* For the ticks workload and hostile=x2apic-bad, valid once
 * timer_start() succeeded: the period in TSC ticks as programmed, and the
 * frequencies the leaf reported. */
uint64_t timer_period_tsc(void);
uint32_t timer_divisor(void);
uint64_t timer_tsc_khz(void);
uint64_t timer_apic_khz(void);

#endif
