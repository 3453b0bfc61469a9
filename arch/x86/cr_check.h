/*
 * cr_check.h - which MOV to CR0 / CR4 the processor refuses with #GP(0),
 * for the backends that emulate such writes (arch/x86/cr_check.c).  One
 * set of rules for both, so a guest gets the same answer from VMX and
 * SVM, and the same as on hardware.  Pure: tests/test_cr_check.c.
 */
#ifndef ARCH_X86_CR_CHECK_H
#define ARCH_X86_CR_CHECK_H

#include "cpu.h"

/* The guest's control state a MOV to CR0/CR4 is checked against. */
struct cr_state {
	u64 cr0, cr3, cr4, efer;
	bool cs_l;		/* CS.L: 64-bit mode (with EFER.LMA) */
};

/*
 * The CR4 bits a guest may set, from the CPUID it sees: leaf 1 and leaf
 * 7 subleaf 0 (all zero if the maximum basic leaf is below 7).  A bit
 * whose feature CPUID does not report is reserved, and setting it is a
 * #GP (SDM Vol. 3A 2.5, Vol. 2B MOV CR "Protected Mode Exceptions").
 */
u64 cr4_valid_bits(const struct cpuid_regs *leaf1,
		   const struct cpuid_regs *leaf7);

/* true if MOV val to CR0 raises #GP(0) in state s. */
bool cr0_write_faults(const struct cr_state *s, u64 val);
/* true if MOV val to CR4 raises #GP(0) in state s; valid from
 * cr4_valid_bits() (and whatever else the CPU cannot do). */
bool cr4_write_faults(const struct cr_state *s, u64 val, u64 valid);

/* true if MOV val to CR3 raises #GP(0) in state s: in IA-32e mode, a bit
 * above the architectural physical-address width (bits 62:52; bit 63 is
 * PCID's "no flush" and needs CR4.PCIDE).  Outside IA-32e mode bits
 * 63:32 are ignored. */
bool cr3_write_faults(const struct cr_state *s, u64 val);

/* The EFER bits a guest may set, for a CPU with or without NX and
 * SYSCALL (CPUID 8000_0001h EDX bits 20 and 11). */
#define EFER_GUEST_BITS(nx, syscall) \
	(EFER_LME | EFER_LMA | ((nx) ? EFER_NXE : 0) | ((syscall) ? EFER_SCE : 0))
/* WRMSR val to IA32_EFER in state s, for a backend that keeps the guest's
 * EFER itself (shadow paging): NULL with the new EFER in *efer, or why it
 * raises #GP(0): a bit outside valid, or LME changed while CR0.PG = 1.
 * LMA is the CPU's: the value written for it is ignored. */
const char *efer_write(const struct cr_state *s, u64 val, u64 valid,
		       u64 *efer);

/* An instruction that writes or reads a control register, decoded. */
enum cr_insn_kind {
	CR_INSN_MOV_TO,		/* MOV CRn, reg: 0F 22 /r */
	CR_INSN_MOV_FROM,	/* MOV reg, CRn: 0F 20 /r */
	CR_INSN_CLTS,		/* 0F 06: CR0.TS = 0 */
	CR_INSN_LMSW,		/* 0F 01 /6, register form only */
};

struct cr_insn {
	enum cr_insn_kind kind;
	u8 len;		/* bytes, prefixes included */
	u8 cr;		/* ModRM.reg plus 8 with REX.R (MOV); 0 otherwise */
	u8 gpr;		/* ModRM.rm plus 8 with REX.B (guest_gpr()) */
};

/* Decodes bytes[0..n) as one of those; REX counts only in 64-bit mode.
 * true with *d filled, false if they are something else (LMSW with a
 * memory operand included). */
bool cr_insn_decode(const u8 *bytes, size_t n, bool mode64,
		    struct cr_insn *d);

#endif
