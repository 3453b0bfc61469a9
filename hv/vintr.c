/*
 * vintr.c - delivering a vCPU's virtual interrupts (vintr.h).
 *
 * The only source is the vCPU's own virtual local APIC (hv/vlapic.c): its
 * timer, self IPIs.  Before each entry the APIC is brought up to "now"
 * (the TSC, which the guest also reads unchanged: neither backend offsets
 * or intercepts RDTSC), and the vector it would deliver is injected as an
 * external interrupt when the vCPU can take one: RFLAGS.IF = 1, no STI or
 * MOV SS shadow, no other event queued for this entry (the backend's
 * interruptible()).  Otherwise the backend is asked for an interrupt
 * window, an exit (EXIT_INTR_WINDOW) at the first instruction boundary
 * where the guest can take it; the next entry then injects.  An injection
 * that an exit interrupts (say, the IDT entry's page was not yet mapped)
 * is re-injected by the backend from EXITINTINFO / the IDT-vectoring
 * information, not by this file: the vector is already in the ISR.
 *
 * HLT: the vCPU sleeps until its timer's next tick that raises an
 * interrupt (vm->sleep_until); run.c skips it until then, and waits on
 * the host's timer when every VM sleeps.  RIP stays on the HLT while it
 * sleeps; when it wakes with an interrupt to deliver, the HLT completes
 * and the interrupt is injected (it returns after the HLT, as on
 * hardware).  Woken with none (the tick was lost to a pending one, or
 * masked meanwhile), the guest runs the HLT again and its exit decides
 * anew.
 */
#include "vintr.h"
#include "console.h"
#include "exit.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/lapic.h"

void vintr_init(struct vm *vm)
{
	vlapic_reset(&vm->vlapic, 0, true, tsc_per_us);
	vm->sleep_until = 0;
	vm->halted = false;
}

void vintr_before_entry(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	struct vlapic *a = &vm->vlapic;

	vlapic_update(a, rdtsc());
	int vec = vlapic_pending(a);
	if (vm->halted) {
		vm->halted = false;
		if (vec < 0)
			return;		/* back to the HLT, which exits again */
		v->regs.rip += vm->halt_len;	/* the interrupt ends it */
	}
	if (vec < 0) {
		backend->set_intr_window(v, false);
		return;
	}
	if (backend->interruptible(v)) {
		vlapic_accept(a, (u8)vec);
		backend->inject_interrupt(v, (u8)vec);
		backend->set_intr_window(v, false);
		vm->stats.irq_injected++;
	} else {
		backend->set_intr_window(v, true);
	}
}

int vintr_msr(struct vm *vm, struct vm_exit *e, bool write, const char **why)
{
	struct guest_regs *r = &vm->vcpu.regs;
	u32 msr = e->msr.index;
	u64 val = 0;
	int rc;

	if (!vlapic_owns_msr(msr))
		return 0;
	if (write) {
		val = (r->rdx << 32) | (r->rax & 0xffffffffull);
		rc = vlapic_wrmsr(&vm->vlapic, msr, val, rdtsc(), why);
	} else {
		rc = vlapic_rdmsr(&vm->vlapic, msr, rdtsc(), &val, why);
		if (rc == 0) {
			r->rax = (u32)val;
			r->rdx = val >> 32;
		}
	}
	if (rc < 0)
		return -1;
	r->rip += e->insn_len;
	return 1;
}

/* Why no tick can wake a HLT, for the stop message. */
static const char *unarmed_why(const struct vlapic *a)
{
	u32 lvt = a->lvt[0];

	if (vlapic_mode(a) != VLAPIC_X2APIC)
		return "x2APIC mode off";
	if (!(a->svr & SVR_SW_ENABLE))
		return "APIC software-disabled";
	if (lvt & LVT_MASKED)
		return "timer masked";
	if ((lvt & APIC_VECTOR_MASK) < 16)
		return "timer vector < 16";
	return "timer not counting";
}

void vintr_hlt(struct vm *vm, struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	struct vlapic *a = &vm->vlapic;

	if (!(v->regs.rflags & RFLAGS_IF)) {
		vm_stop(vm, "HLT with interrupts disabled at RIP 0x%llx: nothing "
			"can ever wake it; stopped",
			(unsigned long long)v->regs.rip);
		return;
	}
	vlapic_update(a, rdtsc());
	if (vlapic_pending(a) >= 0) {
		v->regs.rip += e->insn_len;	/* woken at once */
		return;
	}
	u64 wake = vlapic_wake_deadline(a);
	if (!wake) {
		vm_stop(vm, "HLT at RIP 0x%llx with interrupts enabled, but no "
			"virtual interrupt source is armed (%s): nothing can "
			"ever wake it; stopped", (unsigned long long)v->regs.rip,
			unarmed_why(a));
		return;
	}
	vm->sleep_until = wake;
	vm->halted = true;
	vm->halt_len = (u8)e->insn_len;
	vm->yielded = true;
	vm->stats.hlt_sleeps++;
}

u64 vintr_slice_end(const struct vm *vm, u64 slice_end)
{
	u64 tick = vlapic_wake_deadline(&vm->vlapic);

	return tick && tick < slice_end ? tick : slice_end;
}

void vintr_report(const struct vm *vm)
{
	const struct vlapic_stats *s = &vm->vlapic.st;

	if (!s->ticks && !s->refused && !vm->stats.irq_injected &&
	    vlapic_mode(&vm->vlapic) != VLAPIC_X2APIC)
		return;
	hv_log("%s timer: %llu ticks (%llu raised, %llu coalesced, %llu "
	       "masked, %llu illegal vector); %llu interrupts injected, %llu "
	       "window exits, %llu EOIs; %llu HLT sleeps; %llu periods "
	       "raised to %u us; %llu APIC accesses refused",
	       vm->name, (unsigned long long)s->ticks,
	       (unsigned long long)s->raised, (unsigned long long)s->coalesced,
	       (unsigned long long)s->masked, (unsigned long long)s->illegal,
	       (unsigned long long)vm->stats.irq_injected,
	       (unsigned long long)vm->stats.exits[EXIT_INTR_WINDOW],
	       (unsigned long long)s->eois,
	       (unsigned long long)vm->stats.hlt_sleeps,
	       (unsigned long long)s->clamped, VLAPIC_MIN_PERIOD_US,
	       (unsigned long long)s->refused);
}
