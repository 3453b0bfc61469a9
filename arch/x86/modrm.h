/*
 * modrm.h - the memory operand of an instruction, decoded from its
 * prefixes, ModRM, SIB and displacement (SDM Vol. 2A 2.1, 2.2.1), for an
 * exit whose hardware reports no address: INVLPG under shadow paging on
 * an SVM CPU without decode assists (QEMU's TCG has none), where the
 * instruction's length is unknown too.  32- and 64-bit addressing only.
 * Pure logic: tests/test_modrm.c.
 */
#ifndef ARCH_X86_MODRM_H
#define ARCH_X86_MODRM_H

#include "../../hv/types.h"

#define MODRM_NO_REG (-1)
#define MODRM_RIP (-2)		/* base: the next instruction's RIP */

struct modrm_mem {
	u8 len;			/* the instruction's bytes, prefixes included */
	u8 addr_size;		/* 4 or 8 */
	int seg;		/* X86_SEG_*: the override, else SS for an
				   RSP or RBP base, else DS */
	int base, index;	/* GPR numbers as ModRM counts them (REX
				   included), MODRM_NO_REG, or MODRM_RIP */
	u8 scale;		/* 1, 2, 4 or 8 */
	s64 disp;
};

/* Decodes bytes[0..n) as INVLPG m (0F 01 /7, memory form); mode64: CS.L
 * in IA-32e mode (REX counts), cs_d: CS.D outside it.  false for any
 * other instruction and for 16-bit addressing. */
bool modrm_decode_invlpg(const u8 *bytes, size_t n, bool mode64, bool cs_d,
			 struct modrm_mem *m);

/* The operand's offset in its segment (masked to the address size), with
 * gpr[n] the value of register n and rip the instruction's own address. */
u64 modrm_offset(const struct modrm_mem *m, const u64 gpr[16], u64 rip);

#endif
