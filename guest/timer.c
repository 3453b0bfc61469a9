/*
 * timer.c - the x2APIC periodic timer (timer.h).
 *
 * memvisor's virtual local APIC is an x2APIC (CPUID.1:ECX bit 21) reached
 * through MSRs only; its timer's input clock is reported by the
 * hypervisor's timing leaf 0x40000010 (EBX, kHz), beside the TSC's (EAX).
 * timer_start() turns x2APIC mode on through IA32_APIC_BASE (xAPIC first
 * if the APIC was disabled: disabled -> x2APIC is not a legal step, SDM
 * Vol. 3A 11.12.5), enables the APIC in the SVR with the spurious vector,
 * installs both interrupt gates, and programs a count for hz with the
 * smallest divisor whose count fits 32 bits.
 *
 * Natively (QEMU TCG without x2APIC, no memvisor) nothing is touched: the
 * guest runs without a timer, as with timer=0.
 */
#include "timer.h"

#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "hv.h"
#include "trap.h"

extern char irq_stub_timer[], irq_stub_spurious[];

static volatile uint64_t ticks;
static timer_hook_fn *volatile hook;
static int running;
static uint64_t tsc_khz, apic_khz, period_tsc;
static uint32_t divisor;

static void timer_tick(void)
{
	ticks++;
	if (hook)
		hook();
	wrmsr(X2APIC_EOI, 0);
}

/* Spurious interrupts get no EOI (SDM 11.9). */
static void spurious(void)
{
}

/* Divide configuration values (SDM Figure 11-10) by divisor. */
static const struct { uint32_t div, config; } dividers[] = {
	{ 1, 0xb }, { 2, 0x0 }, { 4, 0x1 }, { 8, 0x2 }, { 16, 0x3 },
	{ 32, 0x8 }, { 64, 0x9 }, { 128, 0xa },
};

int timer_start(unsigned hz)
{
	uint32_t r[4];

	if (!hz) {
		kprintf("timer: not started: timer=0\n");
		return -1;
	}
	if (!hv_present()) {
		kprintf("timer: not started: no memvisor, so no timer frequency "
			"leaf (natively QEMU TCG offers no x2APIC either)\n");
		return -1;
	}
	cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_X2APIC)) {
		kprintf("timer: not started: CPUID.1:ECX.x2APIC (bit 21) is "
			"clear\n");
		return -1;
	}
	if (hv_info()->max_leaf < CPUID_HV_TIMING) {
		kprintf("timer: not started: memvisor's highest leaf 0x%x has "
			"no timing leaf 0x%x\n", hv_info()->max_leaf,
			CPUID_HV_TIMING);
		return -1;
	}
	cpuid(CPUID_HV_TIMING, 0, r);
	tsc_khz = r[0];
	apic_khz = r[1];
	if (!tsc_khz || !apic_khz) {
		kprintf("timer: not started: leaf 0x%x reports TSC %lu kHz, "
			"APIC timer %lu kHz\n", CPUID_HV_TIMING, tsc_khz,
			apic_khz);
		return -1;
	}
	uint64_t counts = apic_khz * 1000 / hz, count = 0;
	uint32_t div = 0, config = 0;
	for (unsigned i = 0; i < sizeof(dividers) / sizeof(dividers[0]); i++) {
		if (counts / dividers[i].div <= 0xffffffffu) {
			div = dividers[i].div;
			config = dividers[i].config;
			count = counts / div;
			break;
		}
	}
	if (!count) {
		kprintf("timer: not started: %u Hz is out of reach of a 32-bit "
			"count at %lu kHz\n", hz, apic_khz);
		return -1;
	}

	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	if (!(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	trap_set_irq(TIMER_VECTOR, timer_tick);
	trap_set_irq(SPURIOUS_VECTOR, spurious);
	desc_set_gate(TIMER_VECTOR, (uint64_t)irq_stub_timer, 0);
	desc_set_gate(SPURIOUS_VECTOR, (uint64_t)irq_stub_spurious, 0);
	wrmsr(X2APIC_SVR, SVR_SW_ENABLE | SPURIOUS_VECTOR);
	wrmsr(X2APIC_TIMER_DIV, config);
	wrmsr(X2APIC_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR);
	wrmsr(X2APIC_TIMER_INIT, count);
	period_tsc = count * div * tsc_khz / apic_khz;
	divisor = div;
	running = 1;
	kprintf("timer: x2APIC periodic at %u Hz: vector 0x%x, count %lu, "
		"divide by %u (TSC %lu kHz, APIC timer %lu kHz): period %lu TSC "
		"ticks\n", hz, TIMER_VECTOR, count, div, tsc_khz, apic_khz,
		period_tsc);
	return 0;
}

void timer_stop(void)
{
	if (!running)
		return;
	wrmsr(X2APIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
	wrmsr(X2APIC_TIMER_INIT, 0);
	running = 0;
}

int timer_running(void)
{
	return running;
}

uint64_t timer_ticks(void)
{
	return ticks;
}

void timer_set_hook(timer_hook_fn *fn)
{
	hook = fn;
}

uint64_t timer_period_tsc(void)
{
	return period_tsc;
}

uint32_t timer_divisor(void)
{
	return divisor;
}

uint64_t timer_tsc_khz(void)
{
	return tsc_khz;
}

uint64_t timer_apic_khz(void)
{
	return apic_khz;
}
