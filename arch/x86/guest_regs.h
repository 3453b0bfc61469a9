/*
 * guest_regs.h - guest register state that both backends keep the same
 * way, because neither VM entry (VMX) nor VMRUN (SVM) does it for them
 * (arch/x86/guest_regs.c).
 */
#ifndef ARCH_X86_GUEST_REGS_H
#define ARCH_X86_GUEST_REGS_H

#include "cpu.h"
#include "../../hv/vm.h"

/* The general register that instruction encodings (and VMX exit
 * qualifications) number n: 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP,
 * 6 RSI, 7 RDI, 8-15 R8-R15 (SDM Vol. 2A Table 2-2). */
u64 *guest_gpr(struct guest_regs *r, unsigned n);

/*
 * DR0-DR3 (and DR6 on VMX, whose VMCS has no DR6 field) are not part of
 * any world switch: the guest writes them directly (MOV DR does not
 * exit), and the next VM would find them in the CPU.  So each vCPU keeps
 * its own, saved after every exit and loaded before an entry when the
 * CPU holds another vCPU's.  DR7, which arms them, is switched by the
 * hardware on both backends (VMCS GUEST_DR7 with the debug-controls
 * entry/exit controls; VMCB DR7), and the host's DR7 is 0x400 after
 * every exit, so the guest's breakpoints never fire in the hypervisor.
 * The hypervisor itself uses no debug register.
 */
struct guest_dregs {
	u64 dr[4];
	u64 dr6;
};

/* The reset values: DR0-DR3 zero, DR6 0xffff0ff0. */
void guest_dregs_init(struct guest_dregs *d);
/* Before an entry: puts d in the CPU unless it is there already. */
void guest_dregs_load(struct guest_dregs *d, bool dr6);
/* After an exit: what the guest has in the CPU now. */
void guest_dregs_save(struct guest_dregs *d, bool dr6);
/* The vCPU goes away: the CPU no longer holds its registers. */
void guest_dregs_forget(struct guest_dregs *d);

/* The EFER bits a guest may set on this CPU (cr_check.h EFER_GUEST_BITS),
 * for the backends that intercept its writes (shadow paging). */
u64 guest_efer_valid_bits(void);
/* The CR4 bits a guest may set: those whose feature the guest's CPUID
 * (as the backend's adjust() edits it) reports (cr_check.c). */
u64 guest_cr4_valid_bits(void (*adjust)(u32 leaf, u32 subleaf,
					struct cpuid_regs *c));

#endif
