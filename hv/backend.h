/*
 * backend.h - the one interface between the hypervisor core and a hardware
 * virtualization backend (arch/x86/vmx: Intel VMX + EPT, arch/x86/svm: AMD
 * SVM + NPT).  Compare bhyve's vmm_ops and KVM's kvm_x86_ops.
 *
 * The core never sees a backend's control structures, exit codes or
 * instructions.  A backend enters the guest, turns whatever hardware exit
 * happened into a struct vm_exit with a neutral reason, and returns.  The
 * core handles the exit (hv/exit.c), possibly changing the vCPU's
 * registers in struct vcpu, and runs the vCPU again.
 *
 * Register contract: after vcpu_run() returns, vcpu->regs holds every
 * guest general register plus RIP, RSP and RFLAGS, and vcpu->cr0/cr3/cr4/
 * efer and vcpu->cpl hold the guest's control state and privilege level
 * (read-only for the core).  Before
 * the next entry the backend writes regs back, so the core changes guest
 * registers simply by writing vcpu->regs (e.g. RAX for a hypercall result,
 * RIP += exit->insn_len to skip the instruction).
 */
#ifndef HV_BACKEND_H
#define HV_BACKEND_H

#include "types.h"
#include "../mm/slat.h"

struct vm;
struct vcpu;
struct cpuid_regs;

/* Neutral exit reasons (hv/exit.c has one handler per reason). */
enum exit_reason {
	EXIT_NONE = 0,
	EXIT_CPUID,		/* leaf/subleaf in regs.rax/rcx */
	EXIT_IO,		/* exit.io */
	EXIT_HLT,
	EXIT_HYPERCALL,		/* the guest ABI's hypercall: number in
				   regs.rax */
	EXIT_SLAT_VIOLATION,	/* a guest-physical access the SLAT did not
				   allow: exit.slat */
	EXIT_SLAT_MISCONFIG,	/* a SLAT entry the CPU cannot interpret: a
				   hypervisor bug */
	EXIT_MSR_READ,		/* exit.msr; the core answers in RDX:RAX */
	EXIT_MSR_WRITE,		/* exit.msr; value in RDX:RAX */
	EXIT_CR_ACCESS,		/* a control-register access the backend
				   intercepted and could not handle itself */
	EXIT_SHUTDOWN,		/* triple fault */
	EXIT_EXCEPTION,		/* an intercepted guest exception: exit.exc */
	EXIT_VIRT_INSN,		/* the guest ran a virtualization instruction:
				   exit.insn names it */
	EXIT_EXTINT,		/* a physical interrupt arrived */
	EXIT_TIMER,		/* the backend's preemption timer fired */
	EXIT_HOST_NMI,		/* an NMI came while the guest ran: the
				   host's, already taken by the hypervisor's
				   own handler (arch/x86/trap.c) */
	EXIT_ENTRY_FAILED,	/* VM entry failed: the backend has printed why */
	EXIT_UNHANDLED,		/* a hardware exit the backend has no mapping
				   for: exit.raw says which */
	EXIT_XSETBV,		/* XSETBV: XCR number in regs.rcx, value in
				   EDX:EAX */
	EXIT_INVD,		/* INVD: done as WBINVD */
	EXIT_INTR_WINDOW,	/* the guest can take an interrupt now: the
				   window set_intr_window() asked for */
	EXIT_PAGE_FAULT,	/* shadow paging: a #PF under the shadow
				   tables (exit.pf) */
	EXIT_INVLPG,		/* shadow paging: INVLPG exit.pf.va, or of
				   every address (exit.pf.all) */
	EXIT_CANNOT_RUN,	/* the guest entered a state the backend
				   cannot run it in: exit.stop.why */
	EXIT_REASON_COUNT
};

/* Segment registers, in the order the x86 instruction encodings number
 * them (SDM Vol. 2A 3.1.1.3 "Sreg"); for exit.io.seg. */
enum x86_seg { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS,
	       X86_SEG_GS };

struct vm_exit {
	enum exit_reason reason;
	u64 raw;		/* the hardware's own exit code, for logs and
				   per-code stats */
	u32 insn_len;		/* length of the exiting instruction; 0 if the
				   exit did not come from an instruction */
	union {
		struct {
			u16 port;
			u8 size;	/* 1, 2 or 4 bytes */
			bool in;	/* IN (true) or OUT */
			bool string;	/* INS/OUTS */
			bool rep;
			/* String I/O only: the address size (2, 4 or 8
			 * bytes of RSI/RDI/RCX the instruction uses), the
			 * segment of its memory operand (X86_SEG_*: ES for
			 * INS, DS or the override for OUTS) and that
			 * segment's base as the CPU applies it (0 for ES,
			 * CS, SS and DS in 64-bit mode). */
			u8 addr_size;
			u8 seg;
			u64 seg_base;
		} io;
		struct {
			u64 gpa;
			bool read, write, exec;	/* the access that faulted */
			bool present;	/* a SLAT entry existed (permission
					   fault, not a missing entry) */
			bool walk;	/* during the guest's own page-table
					   walk (not its final access) */
		} slat;
		struct {
			u32 index;
		} msr;
		struct {
			u8 vector;
			bool has_error;
			u32 error;
		} exc;
		struct {
			const char *name;	/* its mnemonic */
		} insn;
		struct {
			u64 va;		/* the linear address */
			u32 error;	/* #PF: the CPU's error code */
			bool all;	/* INVLPG: the address is unknown
					   (drop every shadow entry) */
		} pf;
		struct {
			const char *why;
		} stop;
	};
};

struct backend_ops {
	const char *name;	/* for messages: extension + SLAT */
	const struct slat_format *slat;
	/* Whether it runs VMs with shadow paging (vm=...,paging=shadow):
	 * nested paging off, the CPU's CR3 the shadow root the core names
	 * (vmmem_shadow_cpu()), and exits for #PF (EXIT_PAGE_FAULT), INVLPG
	 * (EXIT_INVLPG) and every change of the guest's CR0, CR3, CR4 and
	 * EFER, which the backend keeps as the guest sees them in vcpu->cr0/
	 * cr3/cr4/efer. */
	bool shadow_paging;

	/* Whether this backend can run on this CPU, from the features read
	 * at boot; changes nothing.  0, or -1 with a one-line reason in err
	 * (also when the CPU lacks the backend's extension altogether). */
	int (*probe)(char *err, size_t errlen);

	/* Turns virtualization on for this CPU; called once, after probe()
	 * said yes.  0, or -1 with a one-line reason in err. */
	int (*enable)(char *err, size_t errlen);

	/* Sets up the hardware control structure of a vCPU whose
	 * vcpu->vm is complete (slat_root, id) and whose vcpu->regs and
	 * vcpu->boot hold the initial state (see struct vcpu_boot). */
	int (*vcpu_create)(struct vcpu *v, char *err, size_t errlen);
	void (*vcpu_destroy)(struct vcpu *v);

	/* Runs the guest until the next exit and describes it. */
	void (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);

	/* Edits what the guest's CPUID reports of the CPU (leaf/subleaf as
	 * the CPU answered them in c): the backend hides what it does not
	 * offer guests, such as its own virtualization extension.  The core
	 * adds what every backend reports the same way (the hypervisor bit,
	 * the hypervisor's leaves). */
	void (*cpuid_adjust)(u32 leaf, u32 subleaf, struct cpuid_regs *c);

	/* Queues an exception for delivery at the next entry. */
	void (*inject_exception)(struct vcpu *v, u8 vector, bool has_error,
				 u32 error);
	/* Shadow paging: queues the guest's own #PF at va with its error
	 * code, CR2 = va as the guest sees it; met while the CPU delivered
	 * another exception, that becomes a #DF, or (false) a triple fault
	 * (arch/x86/trap.h exc_pf_during()). */
	bool (*inject_page_fault)(struct vcpu *v, u64 va, u32 error);

	/* Virtual interrupts (hv/vintr.c).  interruptible(): whether an
	 * external interrupt injected now would be taken at the next entry:
	 * the guest's RFLAGS.IF = 1, no STI or MOV SS interrupt shadow (one
	 * the core ended by moving RIP past the instruction does not count),
	 * and no other event already queued for that entry.
	 * inject_interrupt(): queues the vector as an external interrupt for
	 * the next entry (only after interruptible() said yes).
	 * set_intr_window(): on, the guest exits with EXIT_INTR_WINDOW as
	 * soon as it can take an interrupt; off cancels that.  An injected
	 * event whose delivery an exit interrupted is re-queued by the backend
	 * itself, as for exceptions. */
	bool (*interruptible)(struct vcpu *v);
	void (*inject_interrupt)(struct vcpu *v, u8 vector);
	void (*set_intr_window)(struct vcpu *v, bool on);

	/* Invalidates every guest-physical translation of this VM, in every
	 * TLB that may hold one.  The core calls it after changing or
	 * removing a present SLAT entry, before the old frame is reused. */
	void (*flush_slat)(struct vm *vm);

	/* Prints the vCPU's hardware state, for fatal-error reports. */
	void (*dump)(struct vcpu *v);

	/* Test hook (selftest=entry-failure, selftest=bad-control): breaks
	 * the vCPU's guest state, or one of its controls, so that the next
	 * entry fails; proves such failures are explained and contained. */
	void (*break_state)(struct vcpu *v, bool controls);

	/* Test hook (selftest=host-nmi): the next entry of the vCPU meets a
	 * host NMI, which arrives as soon as the guest runs; the exit must
	 * be EXIT_HOST_NMI, and the guest never see it. */
	void (*raise_host_nmi)(struct vcpu *v);
};

/* The first backend that can run on this CPU, or NULL (with a reason) if
 * none can (hv/run.c). */
const struct backend_ops *backend_select(char *err, size_t errlen);

/* The implementations (hv/run.c lists them, weakly: BACKENDS= may leave
 * one out). */
extern const struct backend_ops vmx_backend;
extern const struct backend_ops svm_backend;

#endif
