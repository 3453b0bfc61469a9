/*
 * cr_check.c - the #GP(0) cases of MOV to CR0 and CR4 (Intel SDM Vol. 2B
 * "MOV - Move to/from Control Registers", Vol. 3A 2.5 and 10.8.5; AMD APM
 * Vol. 2 3.1.1, 3.1.3 and 14.7):
 *
 *   CR0  bits 63:32 set; PG without PE; NW without CD; PG turned on with
 *        EFER.LME and no CR4.PAE; PG turned off with CR4.PCIDE, or from
 *        64-bit mode (IA-32e mode is left only from compatibility mode).
 *   CR4  a bit whose feature CPUID does not report (VMXE where CPUID
 *        hides VMX, for one); PAE cleared in IA-32e mode; PCIDE turned on
 *        outside IA-32e mode or with CR3[11:0] not zero; LA57 changed in
 *        IA-32e mode; CET set without CR0.WP.
 *   CR3  in IA-32e mode, bits 62:52 (and 63 without CR4.PCIDE).
 *   EFER a bit the CPU lacks; LME changed with paging on.
 */
#include "cr_check.h"

struct cr4_feature {
	u64 bit;
	u8 leaf;	/* 1 or 7 */
	u8 reg;		/* 'b', 'c' or 'd' */
	u8 cpuid_bit;
};

/* Each CR4 bit and the CPUID flag that announces it (SDM Vol. 3A
 * Table 2-3 / 2.5, CPUID "Feature Information"). */
static const struct cr4_feature cr4_features[] = {
	{ CR4_VME, 1, 'd', 1 },
	{ CR4_PVI, 1, 'd', 1 },
	{ CR4_TSD, 1, 'd', 4 },
	{ CR4_DE, 1, 'd', 2 },
	{ CR4_PSE, 1, 'd', 3 },
	{ CR4_PAE, 1, 'd', 6 },
	{ CR4_MCE, 1, 'd', 7 },
	{ CR4_PGE, 1, 'd', 13 },
	{ CR4_OSFXSR, 1, 'd', 24 },
	{ CR4_OSXMMEXCPT, 1, 'd', 25 },
	{ CR4_VMXE, 1, 'c', 5 },
	{ CR4_SMXE, 1, 'c', 6 },
	{ CR4_PCIDE, 1, 'c', 17 },
	{ CR4_OSXSAVE, 1, 'c', 26 },
	{ CR4_FSGSBASE, 7, 'b', 0 },
	{ CR4_SMEP, 7, 'b', 7 },
	{ CR4_SMAP, 7, 'b', 20 },
	{ CR4_UMIP, 7, 'c', 2 },
	{ CR4_PKE, 7, 'c', 3 },
	{ CR4_CET, 7, 'c', 7 },
	{ CR4_LA57, 7, 'c', 16 },
	{ CR4_KL, 7, 'c', 23 },
	{ CR4_PKS, 7, 'c', 31 },
	{ CR4_UINTR, 7, 'd', 5 },
};

u64 cr4_valid_bits(const struct cpuid_regs *leaf1,
		   const struct cpuid_regs *leaf7)
{
	u64 valid = CR4_PCE;	/* no CPUID flag: always there */

	for (size_t i = 0; i < ARRAY_SIZE(cr4_features); i++) {
		const struct cr4_feature *f = &cr4_features[i];
		const struct cpuid_regs *l = f->leaf == 1 ? leaf1 : leaf7;
		u32 r = f->reg == 'b'	? l->ebx
			: f->reg == 'c' ? l->ecx
					: l->edx;
		if (r & (1u << f->cpuid_bit))
			valid |= f->bit;
	}
	return valid;
}

bool cr0_write_faults(const struct cr_state *s, u64 val)
{
	bool pg_on = (val & CR0_PG) && !(s->cr0 & CR0_PG);
	bool pg_off = !(val & CR0_PG) && (s->cr0 & CR0_PG);

	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return true;
	if (pg_on && (s->efer & EFER_LME) && !(s->cr4 & CR4_PAE))
		return true;
	if (pg_off && ((s->cr4 & CR4_PCIDE) ||
		       ((s->efer & EFER_LMA) && s->cs_l)))
		return true;
	return false;
}

bool cr4_write_faults(const struct cr_state *s, u64 val, u64 valid)
{
	bool ia32e = s->efer & EFER_LMA;

	if (val & ~valid)
		return true;
	if (ia32e && (!(val & CR4_PAE) || ((s->cr4 ^ val) & CR4_LA57)))
		return true;
	if ((val & CR4_PCIDE) && !(s->cr4 & CR4_PCIDE) &&
	    (!ia32e || (s->cr3 & 0xfff)))
		return true;
	if ((val & CR4_CET) && !(s->cr0 & CR0_WP))
		return true;
	return false;
}

bool cr3_write_faults(const struct cr_state *s, u64 val)
{
	u64 reserved = 0x7ff0000000000000ull |
		       (s->cr4 & CR4_PCIDE ? 0 : 1ull << 63);

	return (s->efer & EFER_LMA) && (val & reserved);
}

const char *efer_write(const struct cr_state *s, u64 val, u64 valid,
		       u64 *efer)
{
	val &= ~EFER_LMA;
	if (val & ~valid)
		return "a bit this CPU lacks";
	if ((s->cr0 & CR0_PG) && ((val ^ s->efer) & EFER_LME))
		return "LME changed with paging on";
	*efer = val | (s->efer & EFER_LMA);
	return NULL;
}

/* Legacy prefixes (SDM Vol. 2A 2.1.1): each adds a byte; only LOCK
 * changes what MOV CR does (below). */
static bool legacy_prefix(u8 b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	}
	return false;
}

bool cr_insn_decode(const u8 *b, size_t n, bool mode64, struct cr_insn *d)
{
	size_t i = 0;
	u8 rex = 0;
	bool lock = false;

	for (; i < n && i < 14 && legacy_prefix(b[i]); i++)
		lock |= b[i] == 0xf0;
	if (mode64 && i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];	/* REX must come right before the opcode */
	if (i + 2 > n || b[i] != 0x0f)
		return false;
	u8 op = b[i + 1];
	if (op == 0x06) {
		*d = (struct cr_insn){ .kind = CR_INSN_CLTS,
				       .len = (u8)(i + 2) };
		return true;
	}
	if (i + 3 > n)
		return false;
	u8 modrm = b[i + 2];
	d->len = (u8)(i + 3);
	d->gpr = (u8)((modrm & 7) | (rex & 1 ? 8 : 0));
	d->cr = 0;
	if (op == 0x01) {
		if ((modrm >> 6) != 3 || ((modrm >> 3) & 7) != 6)
			return false;
		d->kind = CR_INSN_LMSW;
		return true;
	}
	if (op != 0x22 && op != 0x20)
		return false;
	/* MOV CR has only the register form: the CPU ignores mod. */
	d->kind = op == 0x22 ? CR_INSN_MOV_TO : CR_INSN_MOV_FROM;
	d->cr = (u8)(((modrm >> 3) & 7) | (rex & 4 ? 8 : 0));
	/* AMD's AltMovCr8: LOCK MOV CR0 is CR8, also outside 64-bit mode
	 * (APM Vol. 3, MOV CRn); on Intel it is #UD before any exit. */
	if (lock && d->cr == 0)
		d->cr = 8;
	return true;
}
