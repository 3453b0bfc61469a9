/*
 * trap.h - exceptions: the saved register frame and the dispatcher that
 * trap_entry.asm calls for every vector.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

/* Exception vectors (Intel SDM Vol. 3A, table 6-1). */
#define VEC_DB 1
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14

/* Laid out by trap_common: the registers it pushed (last push first), the
 * stub's vector and error code, then the CPU's interrupt frame. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void trap_dispatch(struct trap_frame *f);

/* The last fault a probe absorbed (for the pt workload's checks). */
struct probe_fault {
	uint64_t addr;   /* CR2 (0 unless a #PF) */
	uint64_t error;  /* the exception's error code */
	uint64_t vector;
	uint64_t count;
};
extern struct probe_fault last_probe_fault;

/*
 * A probe: an instruction that is allowed to fault.  Any exception it
 * raises is recorded in last_probe_fault and the guest resumes at the
 * fixup address instead of failing, the way Linux's exception tables
 * work.  From C, put the pair in the table with PROBE_TABLE_ENTRY inside
 * the asm statement:
 *
 *     __asm__ volatile("1: mov %0, %%cr4\n2:\n"
 *                      PROBE_TABLE_ENTRY("1b", "2b") : : "r"(v));
 *
 * resumes right after the MOV if it faults ("expect a fault here, skip
 * it").
 */
#define PROBE_TABLE_ENTRY(insn, fixup)                         \
	".pushsection .probe_table, \"a\"\n"                    \
	".balign 8\n"                                          \
	".quad " insn ", " fixup "\n"                          \
	".popsection\n"

/*
 * A handler of this guest's own for one vector, tried before anything
 * else: returns 1 if it dealt with the exception (the guest resumes at
 * the frame's RIP), 0 to go on as if it were not there.  NULL removes it.
 */
typedef int (*trap_hook_fn)(struct trap_frame *f);
void trap_set_hook(unsigned vector, trap_hook_fn fn);

/*
 * The handler of an interrupt vector (32-255; trap_entry.asm has stubs for
 * the ones guest/timer.c uses), called with interrupts off; the stub's
 * IRETQ resumes the interrupted code.  A vector without one that arrives
 * is reported like an unexpected exception.
 */
typedef void (*irq_handler_fn)(void);
void trap_set_irq(unsigned vector, irq_handler_fn fn);

int probe_read_u64(uint64_t va, uint64_t *out);
int probe_write_u64(uint64_t va, uint64_t value);

#endif
