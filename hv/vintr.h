/*
 * vintr.h - virtual interrupts for a vCPU: its virtual local APIC
 * (hv/vlapic.c) wired to the MSR exits, to event injection through the
 * backend, and to HLT, which sleeps until the next timer tick.
 */
#ifndef HV_VINTR_H
#define HV_VINTR_H

#include "vm.h"

/* The APIC at power-up (run.c, when a VM is created). */
void vintr_init(struct vm *vm);

/* Before every entry: lets the timer catch up, ends a HLT the interrupt
 * wakes, and injects the pending interrupt if the vCPU can take it now,
 * or asks the backend for an interrupt window if it cannot. */
void vintr_before_entry(struct vm *vm);

/* RDMSR/WRMSR of IA32_APIC_BASE or an x2APIC MSR: 1 if done (RIP moved
 * on), -1 if refused (*why: the rule; the caller injects #GP), 0 if the
 * MSR is not the APIC's. */
int vintr_msr(struct vm *vm, struct vm_exit *e, bool write, const char **why);

/* HLT with RFLAGS.IF = 1: with an interrupt pending it completes at once;
 * with the timer armed the vCPU sleeps until its next tick
 * (vm->sleep_until); otherwise the VM is stopped (nothing can wake it). */
void vintr_hlt(struct vm *vm, struct vm_exit *e);

/* The earlier of slice_end and the next tick of this vCPU's timer that
 * will raise an interrupt (TSC times): when the slice timer must fire. */
u64 vintr_slice_end(const struct vm *vm, u64 slice_end);

/* One log line of the VM's timer and interrupt counters, if it used them. */
void vintr_report(const struct vm *vm);

#endif
