/* trap.h - interrupts and exceptions taken by the hypervisor itself. */
#ifndef ARCH_X86_TRAP_H
#define ARCH_X86_TRAP_H

#include "../../hv/types.h"

/* The stack as isr.asm leaves it, lowest address first. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

/* Exception vectors (SDM Vol. 3A Table 6-1). */
enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4,
	VEC_BR = 5, VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10,
	VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16,
	VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20, VEC_CP = 21,
};

/*
 * What a #PF met while the CPU delivered exception `first` becomes (SDM
 * Vol. 3A 6.15 Table 6-5, APM Vol. 2 8.2.9): during a #PF or a
 * contributory exception (#DE, #TS, #NP, #SS, #GP) a #DF; during a #DF a
 * shutdown (triple fault, -1); otherwise the #PF itself.  For a backend
 * that reflects a guest's #PF the CPU intercepted mid-delivery.
 */
static inline int exc_pf_during(u8 first)
{
	if (first == VEC_DF)
		return -1;
	if (first == VEC_PF || first == VEC_DE ||
	    (first >= VEC_TS && first <= VEC_GP))
		return VEC_DF;
	return VEC_PF;
}

typedef void (*trap_handler_t)(struct trap_frame *f);

void trap_init(void);
/* Routes a vector to a handler instead of the fatal default. */
void trap_set_handler(u8 vector, trap_handler_t fn);
void trap_dispatch(struct trap_frame *f);

/*
 * The host's NMIs.  Every NMI is the hypervisor's (a guest has no way to
 * send one), whenever it comes: the IDT's NMI gate (on its own IST stack)
 * counts it and returns, and a backend whose guest was interrupted by one
 * makes sure the same handler takes it (see trap_deliver_nmi()).
 */
u64 trap_nmi_count(void);

/*
 * Runs the hypervisor's NMI handler as if the CPU had just delivered an
 * NMI: an interrupt frame is built on the current stack and the handler
 * returns through it with IRETQ, which also ends the NMI blocking the CPU
 * put in place (isr.asm).  For a VMX exit caused by an NMI, which leaves
 * the NMI blocked but not delivered (KVM does the same after such an
 * exit).  Call with interrupts off.
 */
void trap_deliver_nmi(void);

/*
 * Test hook (selftest=host-nmi): takes one NMI, sent by send(), without
 * returning through IRET, so that NMIs stay blocked until the next IRET.
 * An NMI sent after this stays pending until then: a VM entry that
 * unblocks NMIs meets it in the guest.  false if no NMI came.
 */
bool trap_block_nmis(void (*send)(void));
/* Prints pc (if non-zero) and the callers found through the RBP chain. */
void backtrace_print(u64 pc, u64 rbp);

#endif
