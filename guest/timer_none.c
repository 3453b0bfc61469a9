/*
 * timer_none.c - PLACEHOLDER for the guest timer (guest/timer.h): no
 * interrupt source at all.  timer_start() refuses (-1), so nothing ticks
 * and timer_running() stays 0; the hook is remembered and never called.
 * The real x2APIC driver (branch `timer`) replaces this file at merge.
 */
#include "timer.h"

static timer_hook_fn *hook;

int timer_start(unsigned hz)
{
	(void)hz;
	return -1;
}

void timer_stop(void)
{
}

int timer_running(void)
{
	return 0;
}

uint64_t timer_ticks(void)
{
	return 0;
}

void timer_set_hook(timer_hook_fn *fn)
{
	hook = fn;
	(void)hook;
}
