/* Tests of arch/x86/modrm.c: INVLPG's memory operand, decoded. */
#include "unit.h"
#include "../arch/x86/modrm.h"
#include "../hv/backend.h"

static const u64 gpr[16] = { 0x1000, 0x10, 0x20, 0x30, 0x7000, 0x8000,
			     0x40, 0x50, 0x100000, 0x200000, 0, 0,
			     0xc0000, 0xd0000, 0, 0 };

TEST(invlpg_register_indirect_and_displacements)
{
	struct modrm_mem m;
	const u8 rax[] = { 0x0f, 0x01, 0x38 };		/* invlpg [rax] */
	const u8 rbp8[] = { 0x0f, 0x01, 0x7d, 0xf0 };	/* [rbp-0x10] */
	const u8 rbx32[] = { 0x0f, 0x01, 0xbb, 0x00, 0x10, 0x00, 0x00 };

	CHECK(modrm_decode_invlpg(rax, sizeof(rax), true, false, &m));
	CHECK_EQ(m.len, 3);
	CHECK_EQ(m.seg, X86_SEG_DS);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0x1000);
	CHECK(modrm_decode_invlpg(rbp8, sizeof(rbp8), true, false, &m));
	CHECK_EQ(m.len, 4);
	CHECK_EQ(m.seg, X86_SEG_SS);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0x8000 - 0x10);
	CHECK(modrm_decode_invlpg(rbx32, sizeof(rbx32), true, false, &m));
	CHECK_EQ(m.len, 7);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0x30 + 0x1000);
}

TEST(invlpg_sib_rex_and_rip_relative)
{
	struct modrm_mem m;
	/* invlpg [r8 + r9*4 + 8]: REX.WXB 0x4b, ModRM 01 111 100, SIB
	 * 10 001 000 */
	const u8 sib[] = { 0x4b, 0x0f, 0x01, 0x7c, 0x88, 0x08 };
	/* invlpg [rip + 0x100] */
	const u8 rip[] = { 0x0f, 0x01, 0x3d, 0x00, 0x01, 0x00, 0x00 };
	/* invlpg [rsp]: SIB with no index */
	const u8 rsp[] = { 0x0f, 0x01, 0x3c, 0x24 };
	/* invlpg gs:[0x2000]: SIB, no base, no index, disp32 */
	const u8 abs[] = { 0x65, 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x20, 0x00,
			   0x00 };
	/* invlpg [r12]: REX.B, SIB base 4 + 8: DS, not SS */
	const u8 r12[] = { 0x41, 0x0f, 0x01, 0x3c, 0x24 };

	CHECK(modrm_decode_invlpg(sib, sizeof(sib), true, false, &m));
	CHECK_EQ(m.len, 6);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0x100000 + 0x200000 * 4 + 8);
	CHECK(modrm_decode_invlpg(rip, sizeof(rip), true, false, &m));
	CHECK_EQ(modrm_offset(&m, gpr, 0x400000), 0x400000 + 7 + 0x100);
	CHECK(modrm_decode_invlpg(rsp, sizeof(rsp), true, false, &m));
	CHECK_EQ(m.seg, X86_SEG_SS);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0x7000);
	CHECK(modrm_decode_invlpg(abs, sizeof(abs), true, false, &m));
	CHECK_EQ(m.seg, X86_SEG_GS);
	CHECK_EQ(m.len, 9);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0x2000);
	CHECK(modrm_decode_invlpg(r12, sizeof(r12), true, false, &m));
	CHECK_EQ(m.seg, X86_SEG_DS);
	CHECK_EQ(modrm_offset(&m, gpr, 0), 0xc0000);
}

TEST(invlpg_32bit_addressing)
{
	struct modrm_mem m;
	/* In 32-bit code, rm 101 with mod 00 is an absolute disp32, and the
	 * offset wraps at 4 GiB; 0x67 there means 16-bit addressing. */
	const u8 abs[] = { 0x0f, 0x01, 0x3d, 0x00, 0x30, 0x00, 0x00 };
	const u8 wrap[] = { 0x0f, 0x01, 0x78, 0xff };	/* [eax - 1] */
	const u8 a16[] = { 0x67, 0x0f, 0x01, 0x3e, 0x00, 0x10 };
	u64 regs[16] = { 0 };

	CHECK(modrm_decode_invlpg(abs, sizeof(abs), false, true, &m));
	CHECK_EQ(m.addr_size, 4);
	CHECK_EQ(modrm_offset(&m, regs, 0x100000), 0x3000);
	CHECK(modrm_decode_invlpg(wrap, sizeof(wrap), false, true, &m));
	CHECK_EQ(modrm_offset(&m, regs, 0), 0xffffffffull);
	CHECK(!modrm_decode_invlpg(a16, sizeof(a16), false, true, &m));
}

TEST(invlpg_refuses_other_instructions_and_short_bytes)
{
	struct modrm_mem m;
	const u8 lmsw[] = { 0x0f, 0x01, 0xf0 };		/* /6, register form */
	const u8 swapgs[] = { 0x0f, 0x01, 0xf8 };	/* /7, mod 3 */
	const u8 cut[] = { 0x0f, 0x01, 0xbb, 0x00 };	/* disp32 cut short */
	const u8 sib_cut[] = { 0x0f, 0x01, 0x3c };

	CHECK(!modrm_decode_invlpg(lmsw, sizeof(lmsw), true, false, &m));
	CHECK(!modrm_decode_invlpg(swapgs, sizeof(swapgs), true, false, &m));
	CHECK(!modrm_decode_invlpg(cut, sizeof(cut), true, false, &m));
	CHECK(!modrm_decode_invlpg(sib_cut, sizeof(sib_cut), true, false, &m));
}
