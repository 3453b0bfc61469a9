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

typedef void (*trap_handler_t)(struct trap_frame *f);

void trap_init(void);
/* Routes a vector to a handler instead of the fatal default. */
void trap_set_handler(u8 vector, trap_handler_t fn);
void trap_dispatch(struct trap_frame *f);
/* Prints pc (if non-zero) and the callers found through the RBP chain. */
void backtrace_print(u64 pc, u64 rbp);

#endif
