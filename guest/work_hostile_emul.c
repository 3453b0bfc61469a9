/*
 * work_hostile_emul.c - hostile= actions for the instructions memvisor
 * emulates rather than lets the guest run: XSETBV, INVD, and string port
 * I/O (INS/OUTS, with REP).  Each one checks the architectural answer and
 * prints what it got beside what it expected; the outs-bad and outs-huge
 * actions must be stopped by the hypervisor (natively they page-fault).
 *
 * Faults the checks expect (#UD, #GP) are caught with expect_fault: the
 * address of the instruction and where to resume are recorded right before
 * it runs, and trap.c hands any exception at that address here instead of
 * reporting it.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "hv.h"
#include "trap.h"
#include "vm.h"

#define PAGE UINT64_C(4096)
#define NO_FAULT UINT64_C(~0)

/* Runs one instruction (its text in insn) as a probe (trap.h: a fault
 * there resumes right after it); the vector it raised, or NO_FAULT. */
#define TRY_INSN(insn, ...)                                              \
	({                                                               \
		uint64_t faults_ = last_probe_fault.count;               \
		__asm__ volatile("1: " insn "\n2:\n"                      \
				 PROBE_TABLE_ENTRY("1b", "2b")           \
				 :                                       \
				 : __VA_ARGS__                           \
				 : "memory");                            \
		last_probe_fault.count != faults_ ? last_probe_fault.vector \
						  : NO_FAULT;            \
	})

/* --- XSETBV --------------------------------------------------------------- */

#define CR4_OSFXSR (UINT64_C(1) << 9)
#define CR4_OSXSAVE (UINT64_C(1) << 18)
#define CPUID1_XSAVE (1u << 26)
#define CPUID1_OSXSAVE (1u << 27)
#define XCR0_X87 UINT64_C(1)
#define XCR0_SSE UINT64_C(2)
#define XCR0_AVX UINT64_C(4)
#define XMM_ROUNDS 8

static uint64_t try_xsetbv(uint32_t xcr, uint64_t val)
{
	return TRY_INSN("xsetbv", "c"(xcr), "a"((uint32_t)val),
			"d"((uint32_t)(val >> 32)));
}

static uint64_t try_write_cr4(uint64_t val)
{
	return TRY_INSN("movq %[v], %%cr4", [v] "r"(val));
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static const char *vector_short(uint64_t v)
{
	return v == NO_FAULT ? "no fault" : v == VEC_UD ? "#UD"
			   : v == VEC_GP ? "#GP" : "another fault";
}

static int expect_vec(struct work_ctx *c, const char *what, uint64_t got,
		      uint64_t want)
{
	kprintf("hostile: %-40s -> %s (expected %s)%s\n", what,
		vector_short(got), vector_short(want),
		got == want ? "" : "  <-- WRONG");
	if (got != want)
		return work_fail(c, STATUS_HOSTILE, "hostile: %s: %s, expected %s",
				 what, vector_short(got), vector_short(want));
	return WORK_PASS;
}

static int expect_u64(struct work_ctx *c, const char *what, uint64_t got,
		      uint64_t want)
{
	kprintf("hostile: %-40s = 0x%lx (expected 0x%lx)%s\n", what, got, want,
		got == want ? "" : "  <-- WRONG");
	if (got != want)
		return work_fail(c, STATUS_HOSTILE,
				 "hostile: %s = 0x%lx, expected 0x%lx", what, got,
				 want);
	return WORK_PASS;
}

static uint32_t cpuid_reg(uint32_t leaf, uint32_t sub, int reg)
{
	uint32_t r[4];
	cpuid(leaf, sub, r);
	return r[reg];
}

/*
 * The guest's own vector registers must survive other VMs running: xmm0
 * (and ymm0's upper half with AVX) hold a seed-derived value across
 * yields, while other guests (another xsetbv VM with its own seed) load
 * theirs.  Natively there is nothing to yield to.
 */
static int check_vector_regs(struct work_ctx *c, int avx)
{
	uint64_t pat = UINT64_C(0x5eed00000000a5a5) | (c->cfg->seed << 16);
	uint64_t lo, hi = ~pat;

	__asm__ volatile("movq %0, %%xmm0" : : "r"(~pat));
	if (avx)	/* ymm0[255:128] = ~pat, then xmm0 = pat (legacy SSE
			   leaves the upper half alone) */
		__asm__ volatile("vinsertf128 $1, %xmm0, %ymm0, %ymm0");
	__asm__ volatile("movq %0, %%xmm0" : : "r"(pat));
	for (int i = 0; i < XMM_ROUNDS; i++) {
		if (hv_present())
			hc_yield();
		__asm__ volatile("movq %%xmm0, %0" : "=r"(lo));
		if (avx)
			__asm__ volatile("vextractf128 $1, %%ymm0, %%xmm1\n\t"
					 "movq %%xmm1, %0"
					 : "=r"(hi));
		if (lo != pat || hi != ~pat)
			break;
	}
	if (expect_u64(c, "xmm0 after yields", lo, pat))
		return WORK_FAIL;
	if (avx && expect_u64(c, "ymm0[191:128] after yields", hi, ~pat))
		return WORK_FAIL;
	return WORK_PASS;
}

/* Without XSAVE, XSETBV is #UD.  (Setting CR4.OSXSAVE would be #GP, but
 * QEMU 7.2's TCG loops forever on that write instead, natively too.) */
static int xsetbv_no_xsave(struct work_ctx *c)
{
	kprintf("hostile: xsetbv: CPUID.1:ECX.XSAVE is 0: XSETBV must be "
		"#UD\n");
	if (expect_vec(c, "XSETBV(0, 1)", try_xsetbv(0, XCR0_X87), VEC_UD))
		return WORK_FAIL;
	return check_vector_regs(c, 0);
}

static int hostile_xsetbv(struct work_ctx *c)
{
	uint64_t cr4 = read_cr4() | CR4_OSFXSR;

	if (try_write_cr4(cr4) != NO_FAULT)
		return work_fail(c, STATUS_HOSTILE, "hostile: cannot set OSFXSR");
	if (!(cpuid_reg(1, 0, 2) & CPUID1_XSAVE))
		return xsetbv_no_xsave(c);

	uint64_t supported = ((uint64_t)cpuid_reg(0xd, 0, 3) << 32) |
			     cpuid_reg(0xd, 0, 0);
	uint64_t want = supported & (XCR0_X87 | XCR0_SSE | XCR0_AVX);
	kprintf("hostile: xsetbv: CPUID.(0Dh,0) supports XCR0 0x%lx; trying "
		"0x%lx\n", supported, want);
	if (expect_vec(c, "XSETBV(0, 1) with CR4.OSXSAVE=0",
		       try_xsetbv(0, XCR0_X87), VEC_UD) ||
	    expect_u64(c, "CPUID.1:ECX.OSXSAVE before",
		       !!(cpuid_reg(1, 0, 2) & CPUID1_OSXSAVE), 0) ||
	    expect_vec(c, "MOV CR4 |= OSXSAVE",
		       try_write_cr4(cr4 | CR4_OSXSAVE), NO_FAULT) ||
	    expect_u64(c, "CPUID.1:ECX.OSXSAVE after",
		       !!(cpuid_reg(1, 0, 2) & CPUID1_OSXSAVE), 1) ||
	    expect_u64(c, "XGETBV(0) at start", xgetbv0(), XCR0_X87) ||
	    expect_vec(c, "XSETBV(0, 0): no x87", try_xsetbv(0, 0), VEC_GP) ||
	    expect_vec(c, "XSETBV(0, 5): AVX without SSE",
		       try_xsetbv(0, XCR0_X87 | XCR0_AVX), VEC_GP) ||
	    expect_vec(c, "XSETBV(1, 1): XCR1", try_xsetbv(1, XCR0_X87),
		       VEC_GP) ||
	    expect_vec(c, "XSETBV(0, bit 63 | 1): reserved",
		       try_xsetbv(0, XCR0_X87 | (UINT64_C(1) << 63)), VEC_GP) ||
	    expect_u64(c, "XGETBV(0) after the refusals", xgetbv0(), XCR0_X87) ||
	    expect_vec(c, "XSETBV(0, supported x87/SSE/AVX)",
		       try_xsetbv(0, want), NO_FAULT) ||
	    expect_u64(c, "XGETBV(0) reads it back", xgetbv0(), want))
		return WORK_FAIL;
	if (check_vector_regs(c, !!(want & XCR0_AVX)) ||
	    expect_u64(c, "XGETBV(0) after the yields", xgetbv0(), want))
		return WORK_FAIL;
	return WORK_PASS;
}

/* --- INVD ----------------------------------------------------------------- */

static int hostile_invd(struct work_ctx *c)
{
	/* INVD discards dirty cache lines; memvisor must not (it writes them
	 * back, as WBINVD): this VM's data, written just before, must still
	 * be there, and execution goes on after the instruction. */
	static volatile uint64_t word;

	word = UINT64_C(0x1dd0c0ffee) ^ c->cfg->seed;
	kprintf("hostile: executing INVD\n");
	if (expect_vec(c, "INVD", TRY_INSN("invd", "i"(0)), NO_FAULT) ||
	    expect_u64(c, "data written before INVD", word,
		       UINT64_C(0x1dd0c0ffee) ^ c->cfg->seed))
		return WORK_FAIL;
	return WORK_PASS;
}

/* --- string I/O ----------------------------------------------------------- */

#define COM1_THR 0x3f8
#define COM1_LSR 0x3fd
#define LSR_IDLE 0x60		/* THRE | TEMT */
#define EMPTY_PORT 0x390	/* nothing there, natively or under memvisor */
#define RFLAGS_DF (UINT64_C(1) << 10)

struct string_io {
	uint64_t rsi, rdi, rcx;
};

/* rep outs{b,w,l} / rep ins{b,w,l} with DF as asked; the registers after. */
#define STRING_IO(insn, port, si, di, cx, df)                              \
	({                                                                 \
		struct string_io r_ = { (uint64_t)(si), (uint64_t)(di),    \
					(uint64_t)(cx) };                  \
		if (df)                                                    \
			__asm__ volatile("std" ::: "memory");              \
		__asm__ volatile(insn                                      \
				 : "+S"(r_.rsi), "+D"(r_.rdi), "+c"(r_.rcx) \
				 : "d"((uint16_t)(port))                   \
				 : "memory");                              \
		__asm__ volatile("cld" ::: "memory");                      \
		r_;                                                        \
	})

static const char fwd_line[] = "hostile: outs: this line went out by REP "
			       "OUTSB\n";
static const char back_text[] = "hostile: outs: this line went out by REP "
				"OUTSB with DF=1, backwards\n";
/* back_text reversed: sent backwards (DF=1) from its last byte, it reads
 * forwards. */
static char back_line[sizeof(back_text)];
static uint16_t word_line[] = { 'h', 'o', 's', 't', 'i', 'l', 'e', ':', ' ',
				'o', 'u', 't', 's', ':', ' ', 'O', 'U', 'T',
				'S', 'W', ' ', 'w', 'o', 'r', 'd', 's', '\n' };
static uint32_t dwords[16];

static int hostile_outs(struct work_ctx *c)
{
	uint64_t n = sizeof(fwd_line) - 1, m = sizeof(back_line) - 1;
	uint64_t w = sizeof(word_line) / 2, d = sizeof(dwords) / 4;
	struct string_io r;

	for (uint64_t i = 0; i < m; i++)
		back_line[i] = back_text[m - 1 - i];
	r = STRING_IO("rep outsb", COM1_THR, fwd_line, 0, n, 0);
	if (expect_u64(c, "REP OUTSB: RSI", r.rsi, (uint64_t)fwd_line + n) ||
	    expect_u64(c, "REP OUTSB: RCX", r.rcx, 0))
		return WORK_FAIL;
	r = STRING_IO("rep outsb", COM1_THR, back_line + m - 1, 0, m, 1);
	if (expect_u64(c, "REP OUTSB, DF=1: RSI", r.rsi,
		       (uint64_t)back_line - 1) ||
	    expect_u64(c, "REP OUTSB, DF=1: RCX", r.rcx, 0))
		return WORK_FAIL;
	r = STRING_IO("rep outsw", COM1_THR, word_line, 0, w, 0);
	if (expect_u64(c, "REP OUTSW: RSI", r.rsi, (uint64_t)word_line + 2 * w) ||
	    expect_u64(c, "REP OUTSW: RCX", r.rcx, 0))
		return WORK_FAIL;
	r = STRING_IO("rep outsl", EMPTY_PORT, dwords, 0, d, 0);
	if (expect_u64(c, "REP OUTSD to an empty port: RSI", r.rsi,
		       (uint64_t)dwords + 4 * d) ||
	    expect_u64(c, "REP OUTSD to an empty port: RCX", r.rcx, 0))
		return WORK_FAIL;
	/* Without REP: one element, RCX untouched. */
	r = STRING_IO("outsb", COM1_THR, "\n", 0, 77, 0);
	if (expect_u64(c, "OUTSB (no REP): RCX unchanged", r.rcx, 77))
		return WORK_FAIL;
	return WORK_PASS;
}

static uint8_t in_buf[64 + 2];
static uint16_t in_words[8];

static int hostile_ins(struct work_ctx *c)
{
	uint64_t n = sizeof(in_buf) - 2, bad = 0;
	struct string_io r;

	for (uint64_t i = 0; i < sizeof(in_buf); i++)
		in_buf[i] = 0x11;
	r = STRING_IO("rep insb", EMPTY_PORT, 0, in_buf + 1, n, 0);
	for (uint64_t i = 1; i <= n; i++)
		bad += in_buf[i] != 0xff;
	if (expect_u64(c, "REP INSB from an empty port: bytes not 0xff", bad,
		       0) ||
	    expect_u64(c, "REP INSB: the bytes around untouched",
		       in_buf[0] | (uint64_t)in_buf[n + 1] << 8, 0x1111) ||
	    expect_u64(c, "REP INSB: RDI", r.rdi, (uint64_t)in_buf + 1 + n) ||
	    expect_u64(c, "REP INSB: RCX", r.rcx, 0))
		return WORK_FAIL;
	r = STRING_IO("rep insw", EMPTY_PORT, 0, in_words + 7, 8, 1);
	bad = 0;
	for (int i = 0; i < 8; i++)
		bad += in_words[i] != 0xffff;
	if (expect_u64(c, "REP INSW, DF=1: words not 0xffff", bad, 0) ||
	    expect_u64(c, "REP INSW, DF=1: RDI", r.rdi,
		       (uint64_t)in_words - 2) ||
	    expect_u64(c, "REP INSW, DF=1: RCX", r.rcx, 0))
		return WORK_FAIL;
	r = STRING_IO("rep insb", COM1_LSR, 0, in_buf, 4, 0);
	if (expect_u64(c, "REP INSB from COM1 LSR",
		       in_buf[0] | (uint64_t)in_buf[3] << 8,
		       LSR_IDLE | LSR_IDLE << 8))
		return WORK_FAIL;
	return WORK_PASS;
}

/* RSI unmapped and RCX = 2^64-1: the first element is the bad one. */
#define UNMAPPED_VA UINT64_C(0x00000000DEADB000)
/* One mapped page followed by an unmapped one, for outs-huge. */
#define HUGE_VA (SCRATCH_BASE + (UINT64_C(3) << 30))

static int hostile_outs_bad(struct work_ctx *c)
{
	kprintf("hostile: REP OUTSB to COM1 from unmapped 0x%lx, RCX = "
		"2^64-1\n", UNMAPPED_VA);
	STRING_IO("rep outsb", COM1_THR, UNMAPPED_VA, 0, ~UINT64_C(0), 0);
	return work_fail(c, STATUS_HOSTILE, "hostile=outs-bad was not stopped");
}

static int hostile_outs_huge(struct work_ctx *c)
{
	uint64_t pa = vm_alloc_frame();

	if (!pa || vm_map_page(HUGE_VA, pa, PTE_W | PTE_NX) < 0)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: cannot map");
	kprintf("hostile: REP OUTSB to port 0x%x from 0x%lx (one mapped page, "
		"then none), RCX = 2^64-1\n", EMPTY_PORT, HUGE_VA);
	STRING_IO("rep outsb", EMPTY_PORT, HUGE_VA, 0, ~UINT64_C(0), 0);
	return work_fail(c, STATUS_HOSTILE, "hostile=outs-huge was not stopped");
}

int work_hostile_emul(struct work_ctx *c)
{
	switch (c->cfg->hostile) {
	case HOSTILE_XSETBV:
		return hostile_xsetbv(c);
	case HOSTILE_INVD:
		return hostile_invd(c);
	case HOSTILE_OUTS:
		return hostile_outs(c);
	case HOSTILE_INS:
		return hostile_ins(c);
	case HOSTILE_OUTS_BAD:
		return hostile_outs_bad(c);
	case HOSTILE_OUTS_HUGE:
		return hostile_outs_huge(c);
	default:
		return WORK_PASS;
	}
}
