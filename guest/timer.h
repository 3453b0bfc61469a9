/*
 * timer.h - the guest's periodic timer tick (PLACEHOLDER interface).
 *
 * The interface is fixed; the real driver (the x2APIC timer, branch
 * `timer`) replaces this header and guest/timer_none.c at merge.  Until
 * then timer_start() fails, nothing ticks, and the balloon driver is
 * polled from the guest's idle waits and between workload steps instead.
 *
 * The hook runs in every tick with interrupts off (IF=0), before the EOI.
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

int timer_start(unsigned hz);
void timer_stop(void);
int timer_running(void);
uint64_t timer_ticks(void);

typedef void timer_hook_fn(void);
void timer_set_hook(timer_hook_fn *fn); /* called in every tick, IF=0, before EOI */

#endif
