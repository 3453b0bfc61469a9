/*
 * work_ticks.c - the `ticks` workload: does the timer tick at the period
 * the guest programmed, on the guest's own clock (the TSC)?
 *
 * It waits for ticks= ticks by STI;HLT (every HLT must end with a tick: one
 * that returned with none would be a spurious wake-up).  At each tick the
 * hook reads the TSC and the timer's current count: the count says how
 * long ago the period began, so the tick's deadline on the TSC is known
 * however late its interrupt came (the VM may wait for other VMs' slices
 * before it runs).  A timer that keeps its period puts every deadline on
 * one grid: the span from the first deadline to the last is a whole number
 * of periods.  The measured period is that span over that number, and it
 * must be within TICKS_TOLERANCE_PCT of the programmed one.  The error
 * allowed is what the estimate of a deadline costs: the time between the
 * guest's RDTSC and the hypervisor's reading of the count (a few
 * microseconds; under QEMU TCG or Bochs, whose clocks are emulated, more),
 * against 5% of a period.
 *
 * Ticks are lost (coalesced) when the VM waits more than a period for the
 * CPU, as on hardware; they are counted and printed, not judged: how long
 * other VMs keep the CPU is the scheduler's matter.  The elapsed time over
 * the ticks received is printed too.
 */
#include "work.h"

#include <stddef.h>

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "hv.h"
#include "timer.h"

#define TICKS_TOLERANCE_PCT 5

static volatile uint64_t samples, first_deadline, last_deadline, first_tsc,
	last_tsc, max_late;

/* In the tick (IF=0, before EOI): this tick's deadline on the TSC. */
static void sample_tick(void)
{
	uint64_t t1 = rdtsc(), cur = rdmsr(X2APIC_TIMER_CUR), t2 = rdtsc();
	uint64_t t = t1 + (t2 - t1) / 2;
	uint64_t ago = timer_period_tsc() -
		       cur * timer_divisor() * timer_tsc_khz() / timer_apic_khz();

	if (!samples)
		first_deadline = t - ago, first_tsc = t;
	last_deadline = t - ago;
	last_tsc = t;
	if (ago > max_late)
		max_late = ago;
	samples++;
}

int work_ticks(struct work_ctx *c)
{
	uint64_t n = c->cfg->ticks, halts = 0;

	if (!timer_running())
		return work_skip("ticks", hv_present()
				 ? "the timer is off (timer=0)"
				 : "no memvisor: natively no x2APIC timer");
	uint64_t khz = timer_tsc_khz(), p = timer_period_tsc();
	uint64_t k0 = timer_ticks();
	samples = max_late = 0;
	timer_set_hook(sample_tick);
	while (samples < n + 1) {
		cpu_wait_interrupt();
		halts++;
	}
	timer_set_hook(NULL);
	uint64_t got = timer_ticks() - k0;
	uint64_t span = last_deadline - first_deadline;
	uint64_t periods = (span + p / 2) / p;
	uint64_t measured = periods ? span / periods : 0;
	uint64_t diff = measured > p ? measured - p : p - measured;
	int ok = periods >= n && diff * 100 <= p * TICKS_TOLERANCE_PCT;

	kprintf("ticks: %lu ticks by %lu HLTs; their deadlines span %lu "
		"periods: measured period %lu us, programmed %lu us (%lu / %lu "
		"TSC ticks)%s\n", n, halts, periods, measured * 1000 / khz,
		p * 1000 / khz, measured, p, ok ? "" : "  <-- WRONG");
	kprintf("ticks: %lu ticks lost while the VM waited for the CPU; "
		"latest interrupt %lu us after its deadline; %lu us over the "
		"ticks received\n", periods - n, max_late * 1000 / khz,
		(last_tsc - first_tsc) * 1000 / khz / n);
	if (halts > got)
		return work_fail(c, STATUS_VERIFY_FAILED, "ticks: %lu HLTs for "
				 "%lu ticks: a HLT returned without a tick",
				 halts, got);
	if (!ok)
		return work_fail(c, STATUS_VERIFY_FAILED, "ticks: measured "
				 "period %lu TSC ticks over %lu periods, "
				 "programmed %lu: outside %d%%", measured,
				 periods, p, TICKS_TOLERANCE_PCT);
	kprintf("ticks: period within %d%% of the programmed one\n",
		TICKS_TOLERANCE_PCT);
	return WORK_PASS;
}
