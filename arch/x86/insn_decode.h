/*
 * insn_decode.h - the little of x86 instruction decoding the backends need
 * where the hardware's exit information leaves something out: the segment
 * and address size of a string I/O instruction's memory operand.
 */
#ifndef ARCH_X86_INSN_DECODE_H
#define ARCH_X86_INSN_DECODE_H

#include "../../hv/types.h"

struct vcpu;

struct insn_prefixes {
	int seg;		/* the last segment override, X86_SEG_*, or -1 */
	bool addr_override;	/* 0x67 */
};

/* Scans the legacy prefixes of the bytes (SDM Vol. 2A 2.1.1); stops at
 * the first byte that is not one (a REX prefix ends the scan too: it must
 * come last). */
void insn_scan_prefixes(const u8 *bytes, u32 len, struct insn_prefixes *p);
/* The same for the instruction at the guest's RIP; -1 if it cannot be
 * read. */
int insn_prefixes_at_rip(struct vcpu *v, struct insn_prefixes *p);

/* The address size in bytes of a memory operand: 8 in 64-bit mode (CS.L),
 * else 4 or 2 by CS.D, the other one with the 0x67 override. */
u8 insn_addr_size(bool cs_l, bool cs_d, bool addr_override);

#endif
