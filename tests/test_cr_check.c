/*
 * test_cr_check.c - arch/x86/cr_check.c: the #GP rules of MOV to CR0 and
 * CR4 both backends apply, the CR4 bits CPUID allows, and the decoder of
 * the instructions that write CR0/CR4/CR8 (SVM decodes them itself).
 */
#include "../arch/x86/cr_check.h"
#include "unit.h"

/* 64-bit mode with 4-level paging, as the test guest runs. */
static const struct cr_state long64 = {
	.cr0 = CR0_PE | CR0_ET | CR0_WP | CR0_PG,
	.cr3 = 0x1000,
	.cr4 = CR4_PAE,
	.efer = EFER_LME | EFER_LMA | EFER_NXE,
	.cs_l = true,
};

TEST(cr0_invalid_values_fault)
{
	u64 cr0 = long64.cr0;

	CHECK(!cr0_write_faults(&long64, cr0));
	CHECK(!cr0_write_faults(&long64, cr0 | CR0_NE));
	CHECK(cr0_write_faults(&long64, cr0 | (1ull << 32)));
	CHECK(cr0_write_faults(&long64, cr0 & ~CR0_PE));	/* PG, no PE */
	CHECK(cr0_write_faults(&long64, (cr0 | CR0_NW) & ~CR0_CD));
	CHECK(!cr0_write_faults(&long64, cr0 | CR0_NW | CR0_CD));
}

TEST(cr0_paging_off_only_from_compatibility_mode)
{
	struct cr_state compat = long64;

	CHECK(cr0_write_faults(&long64, long64.cr0 & ~CR0_PG));
	compat.cs_l = false;
	CHECK(!cr0_write_faults(&compat, compat.cr0 & ~CR0_PG));
	compat.cr4 |= CR4_PCIDE;	/* but never with PCIDE set */
	CHECK(cr0_write_faults(&compat, compat.cr0 & ~CR0_PG));
}

TEST(cr0_long_mode_paging_needs_pae)
{
	struct cr_state s = { .cr0 = CR0_PE | CR0_ET, .efer = EFER_LME };

	CHECK(cr0_write_faults(&s, s.cr0 | CR0_PG));
	s.cr4 = CR4_PAE;
	CHECK(!cr0_write_faults(&s, s.cr0 | CR0_PG));
	s.efer = 0;
	s.cr4 = 0;		/* 32-bit paging needs no PAE */
	CHECK(!cr0_write_faults(&s, s.cr0 | CR0_PG));
}

TEST(cr4_valid_bits_follow_cpuid)
{
	struct cpuid_regs l1 = { .edx = 1u << 6, .ecx = 1u << 5 };
	struct cpuid_regs l7 = { .ebx = 1u << 7 };
	u64 v = cr4_valid_bits(&l1, &l7);

	CHECK_EQ(v, CR4_PCE | CR4_PAE | CR4_VMXE | CR4_SMEP);
	l1.ecx = 0;		/* VMX hidden: VMXE reserved */
	CHECK_EQ(cr4_valid_bits(&l1, &l7) & CR4_VMXE, 0);
}

TEST(cr4_rules)
{
	u64 valid = CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_LA57 | CR4_CET |
		    CR4_OSFXSR;
	struct cr_state s = long64;

	CHECK(!cr4_write_faults(&s, CR4_PAE | CR4_PGE, valid));
	CHECK(cr4_write_faults(&s, CR4_PAE | CR4_VMXE, valid));
	CHECK(cr4_write_faults(&s, CR4_PAE | (1ull << 31), valid));
	CHECK(cr4_write_faults(&s, CR4_PAE | (1ull << 32), valid));
	CHECK(cr4_write_faults(&s, 0, valid));		/* PAE off in IA-32e */
	CHECK(cr4_write_faults(&s, CR4_PAE | CR4_LA57, valid));
	CHECK(!cr4_write_faults(&s, CR4_PAE | CR4_CET, valid));	/* WP set */
	s.cr0 &= ~CR0_WP;
	CHECK(cr4_write_faults(&s, CR4_PAE | CR4_CET, valid));
}

TEST(cr4_pcide_needs_ia32e_and_pcid_0)
{
	u64 valid = CR4_PAE | CR4_PCIDE;
	struct cr_state s = long64;

	s.cr3 = 0x1000;
	CHECK(!cr4_write_faults(&s, CR4_PAE | CR4_PCIDE, valid));
	s.cr3 = 0x1001;
	CHECK(cr4_write_faults(&s, CR4_PAE | CR4_PCIDE, valid));
	s = (struct cr_state){ .cr0 = CR0_PE };
	CHECK(cr4_write_faults(&s, CR4_PCIDE, valid));
}

TEST(cr3_reserved_bits_in_ia32e_only)
{
	struct cr_state s = long64;

	CHECK(!cr3_write_faults(&s, 0x000ffffffffff000ull));
	CHECK(cr3_write_faults(&s, 1ull << 52));
	CHECK(cr3_write_faults(&s, 1ull << 63));	/* no PCIDE */
	s.cr4 |= CR4_PCIDE;
	CHECK(!cr3_write_faults(&s, 1ull << 63));
	s = (struct cr_state){ .cr0 = CR0_PE };
	CHECK(!cr3_write_faults(&s, 0xfff0000000001000ull));
}

TEST(efer_rules)
{
	u64 valid = EFER_GUEST_BITS(true, false), efer = 0;
	struct cr_state s = { .cr0 = CR0_PE, .cr4 = CR4_PAE };

	CHECK_EQ(valid, EFER_LME | EFER_LMA | EFER_NXE);
	CHECK(efer_write(&s, EFER_LME | EFER_NXE, valid, &efer) == NULL);
	CHECK_EQ(efer, EFER_LME | EFER_NXE);
	CHECK(efer_write(&s, EFER_LMA, valid, &efer) == NULL);	/* ignored */
	CHECK_EQ(efer, 0);
	CHECK_STR(efer_write(&s, EFER_SCE, valid, &efer),	/* no SYSCALL */
		  "a bit this CPU lacks");
	CHECK(efer_write(&s, EFER_SVME, valid, &efer) != NULL);
	CHECK(efer_write(&s, EFER_NXE, EFER_GUEST_BITS(false, true), &efer));
	s = long64;				/* paging on: LME is fixed */
	CHECK(efer_write(&s, EFER_LME | EFER_NXE, valid, &efer) == NULL);
	CHECK_EQ(efer, EFER_LME | EFER_LMA | EFER_NXE);	/* LMA kept */
	CHECK_STR(efer_write(&s, s.efer & ~EFER_LME, valid, &efer),
		  "LME changed with paging on");
}

TEST(cr_insn_decode_forms)
{
	struct cr_insn d;
	const u8 mov_cr4_rax[] = { 0x0f, 0x22, 0xe0 };
	const u8 mov_cr8_r9[] = { 0x45, 0x0f, 0x22, 0xc1 };
	const u8 mov_rax_cr0[] = { 0x0f, 0x20, 0xc0 };
	const u8 clts[] = { 0x0f, 0x06 };
	const u8 lmsw_ax[] = { 0x0f, 0x01, 0xf0 };
	const u8 lmsw_mem[] = { 0x0f, 0x01, 0x30 };
	const u8 prefixed[] = { 0x66, 0x2e, 0x0f, 0x22, 0xc3 };

	CHECK(cr_insn_decode(mov_cr4_rax, 3, true, &d));
	CHECK_EQ(d.kind, CR_INSN_MOV_TO);
	CHECK_EQ(d.cr, 4);
	CHECK_EQ(d.gpr, 0);
	CHECK_EQ(d.len, 3);
	CHECK(cr_insn_decode(mov_cr8_r9, 4, true, &d));
	CHECK_EQ(d.cr, 8);
	CHECK_EQ(d.gpr, 9);
	CHECK_EQ(d.len, 4);
	/* Outside 64-bit mode 0x45 is INC EBP, not REX. */
	CHECK(!cr_insn_decode(mov_cr8_r9, 4, false, &d));
	CHECK(cr_insn_decode(mov_rax_cr0, 3, true, &d));
	CHECK_EQ(d.kind, CR_INSN_MOV_FROM);
	CHECK(cr_insn_decode(clts, 2, false, &d));
	CHECK_EQ(d.kind, CR_INSN_CLTS);
	CHECK_EQ(d.len, 2);
	CHECK(cr_insn_decode(lmsw_ax, 3, false, &d));
	CHECK_EQ(d.kind, CR_INSN_LMSW);
	CHECK_EQ(d.gpr, 0);
	CHECK(!cr_insn_decode(lmsw_mem, 3, false, &d));
	CHECK(cr_insn_decode(prefixed, 5, false, &d));
	CHECK_EQ(d.len, 5);
	CHECK_EQ(d.gpr, 3);
	CHECK(!cr_insn_decode(mov_cr4_rax, 2, true, &d));	/* cut short */
	const u8 lock_mov_cr0[] = { 0xf0, 0x0f, 0x22, 0xc0 };
	CHECK(cr_insn_decode(lock_mov_cr0, 4, false, &d));
	CHECK_EQ(d.cr, 8);	/* AMD AltMovCr8 */
}
