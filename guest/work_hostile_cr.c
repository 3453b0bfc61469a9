/*
 * work_hostile_cr.c - hostile= actions on the guest's own control and
 * debug registers: what a hypervisor that emulates or switches them must
 * answer as the processor would (Intel SDM Vol. 2B "MOV - Move to/from
 * Control Registers" and "MOV - Move to/from Debug Registers", Vol. 3A
 * 2.5, Vol. 3B 18.2; AMD APM Vol. 2 3.1).
 *
 *   cr8           CR8 = 0..15 each read back; CR8 = 16 is #GP
 *   cr8-spin      CR8 = 15 (every interrupt class masked), CLI, spin: the
 *                 hypervisor must still preempt and stop it (watchdog)
 *   cr4-vmxe      CR4.VMXE while CPUID shows no VMX: #GP
 *   cr4-reserved  CR4 bit 31 and the bits of features CPUID does not
 *                 report: #GP each
 *   cr0-pg-off    clearing CR0.PG in 64-bit mode: #GP (IA-32e mode is
 *                 left from compatibility mode only)
 *   cr0-invalid   PG without PE, NW without CD, bit 32: #GP each
 *   dr7           DR0-DR3 and DR7 read back as written, across a yield to
 *                 the other VMs; a write breakpoint fires #DB once per
 *                 write, not on a read, and not once DR7 disarms it
 *
 * Every refused write is a probe (trap.h): the #GP is absorbed and the
 * guest checks that the register is unchanged.  The CR0 writes are each
 * made twice, once as they are and once with CR0.NE flipped as well: a
 * VMX hypervisor owns NE (its guest/host mask), so the second one exits
 * and is judged by the hypervisor's emulation, the first by the CPU.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "format.h"
#include "hv.h"
#include "trap.h"

#define CR0_PE (1ull << 0)
#define CR0_NE (1ull << 5)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR4_VMXE (1ull << 13)
#define CPUID1_ECX_VMX (1u << 5)
#define NO_FAULT (-1)
/* Natively the CPU is QEMU's TCG, which misses these #GPs itself. */
#define NATIVE_TCG "natively QEMU's TCG raises no #GP here: needs memvisor"

static inline uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static inline void write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

/* The vector the last probe absorbed since `before`, or NO_FAULT. */
static int probe_result(uint64_t before)
{
	return last_probe_fault.count != before ? (int)last_probe_fault.vector
						 : NO_FAULT;
}

#define DEFINE_PROBE_WRITE(reg)                                             \
	static int probe_write_##reg(uint64_t v)                            \
	{                                                                   \
		uint64_t before = last_probe_fault.count;                   \
		__asm__ volatile("1: mov %0, %%" #reg "\n2:\n"              \
				 PROBE_TABLE_ENTRY("1b", "2b")              \
				 : : "r"(v) : "memory");                    \
		return probe_result(before);                                \
	}
DEFINE_PROBE_WRITE(cr0)
DEFINE_PROBE_WRITE(cr4)
DEFINE_PROBE_WRITE(cr8)
#undef DEFINE_PROBE_WRITE

static const char *fault_name(int vector)
{
	switch (vector) {
	case NO_FAULT: return "accepted";
	case VEC_GP: return "#GP";
	case VEC_UD: return "#UD";
	default: return "another exception";
	}
}

/*
 * One write the CPU must refuse: #GP, and the register still holding
 * `before` afterwards.  Prints what happened and what was expected.
 */
static int expect_gp(struct work_ctx *c, const char *reg, const char *what,
		     uint64_t value, int vector, uint64_t before,
		     uint64_t after)
{
	int ok = vector == VEC_GP && after == before;

	kprintf("hostile: %s <- 0x%lx (%s): %s, %s now 0x%lx (expected #GP, "
		"0x%lx)%s\n", reg, value, what, fault_name(vector), reg, after,
		before, ok ? "" : "  <-- WRONG");
	if (!ok)
		return work_fail(c, STATUS_HOSTILE,
				 "hostile: %s <- 0x%lx (%s): %s, %s 0x%lx; "
				 "expected #GP and 0x%lx", reg, value, what,
				 fault_name(vector), reg, after, before);
	return WORK_PASS;
}

static int cr8_readback(struct work_ctx *c)
{
	uint64_t saved = read_cr8();

	for (uint64_t v = 0; v <= 15; v++) {
		write_cr8(v);
		uint64_t r = read_cr8();
		if (r != v) {
			write_cr8(saved);
			kprintf("hostile: CR8 <- %lu read back %lu  <-- WRONG\n",
				v, r);
			return work_fail(c, STATUS_HOSTILE,
					 "hostile: CR8 <- %lu read back %lu", v,
					 r);
		}
	}
	kprintf("hostile: CR8 <- 0..15: each read back as written\n");
	if (!hv_present()) {
		write_cr8(saved);
		return work_skip("cr8 <- 16", NATIVE_TCG);
	}
	/* Bits 63:4 are reserved (SDM Vol. 3A 10.8.6.1). */
	write_cr8(15);
	int vec = probe_write_cr8(16);
	int rc = expect_gp(c, "CR8", "reserved bit 4", 16, vec, 15, read_cr8());
	write_cr8(saved);
	return rc;
}

static int cr8_spin(struct work_ctx *c)
{
	if (!hv_present())
		return work_skip("cr8-spin", "needs memvisor: natively it "
					     "spins forever");
	kprintf("hostile: CR8 <- 15 (every interrupt class masked), "
		"interrupts off, spinning forever\n");
	write_cr8(15);
	irq_disable();
	for (;;)
		__asm__ volatile("" : : : "memory");
	return work_fail(c, STATUS_HOSTILE, "hostile=cr8-spin was not "
					     "stopped");
}

static int cr4_vmxe(struct work_ctx *c)
{
	uint32_t r[4];
	uint64_t cr4 = read_cr4();

	if (!hv_present())
		return work_skip("cr4-vmxe", NATIVE_TCG);
	cpuid(1, 0, r);
	if (r[2] & CPUID1_ECX_VMX)
		return work_skip("cr4-vmxe", "CPUID reports VMX: CR4.VMXE "
					     "is allowed here");
	int vec = probe_write_cr4(cr4 | CR4_VMXE);
	return expect_gp(c, "CR4", "VMXE, CPUID.1:ECX.VMX = 0",
			 cr4 | CR4_VMXE, vec, cr4, read_cr4());
}

/* A CR4 bit and the CPUID flag of its feature (leaf 1 ECX or leaf 7
 * subleaf 0 EBX/ECX). */
struct cr4_bit {
	int bit;
	const char *name;
	uint32_t leaf;
	int reg;	/* 1 EBX, 2 ECX */
	int cpuid_bit;
};

static const struct cr4_bit absent_candidates[] = {
	{ 14, "SMXE", 1, 2, 6 },
	{ 22, "PKE", 7, 2, 3 },
	{ 11, "UMIP", 7, 2, 2 },
	{ 23, "CET", 7, 2, 7 },
	{ 24, "PKS", 7, 2, 31 },
};

static int cr4_try(struct work_ctx *c, uint64_t bit, const char *what)
{
	uint64_t cr4 = read_cr4();
	int vec = probe_write_cr4(cr4 | bit);
	return expect_gp(c, "CR4", what, cr4 | bit, vec, cr4, read_cr4());
}

static int cr4_reserved(struct work_ctx *c)
{
	uint32_t r[4], max;
	int tried = 0;

	if (!hv_present())
		return work_skip("cr4-reserved", NATIVE_TCG);
	if (cr4_try(c, 1ull << 31, "reserved bit 31") != WORK_PASS)
		return WORK_FAIL;
	cpuid(0, 0, r);
	max = r[0];
	for (unsigned i = 0; i < sizeof(absent_candidates) /
				     sizeof(absent_candidates[0]); i++) {
		const struct cr4_bit *b = &absent_candidates[i];
		char what[48];
		if (b->leaf > max)
			continue;
		cpuid(b->leaf, 0, r);
		if (r[b->reg] & (1u << b->cpuid_bit))
			continue;	/* the CPU has it: not reserved */
		fmt_snprintf(what, sizeof(what), "%s, CPUID says absent",
			     b->name);
		if (cr4_try(c, 1ull << b->bit, what) != WORK_PASS)
			return WORK_FAIL;
		tried++;
	}
	kprintf("hostile: cr4-reserved: bit 31 and %d absent feature bits "
		"refused\n", tried);
	return WORK_PASS;
}

/* Writes `value` (and the same with CR0.NE flipped): #GP both times. */
static int cr0_refused(struct work_ctx *c, uint64_t value, const char *what)
{
	uint64_t cr0 = read_cr0();
	char how[64];

	for (int flip = 0; flip < 2; flip++) {
		uint64_t v = flip ? value ^ CR0_NE : value;
		fmt_snprintf(how, sizeof(how), "%s%s", what,
			     flip ? ", NE flipped" : "");
		int vec = probe_write_cr0(v);
		if (expect_gp(c, "CR0", how, v, vec, cr0, read_cr0()) !=
		    WORK_PASS)
			return WORK_FAIL;
	}
	return WORK_PASS;
}

static int cr0_pg_off(struct work_ctx *c)
{
	uint64_t cr0 = read_cr0();

	if (!hv_present())
		return work_skip("cr0-pg-off", NATIVE_TCG);
	kprintf("hostile: in 64-bit mode, CR0 0x%lx: clearing PG\n", cr0);
	if (cr0_refused(c, cr0 & ~CR0_PG, "PG cleared in 64-bit mode"))
		return WORK_FAIL;
	kprintf("hostile: cr0-pg-off: refused, still in 64-bit mode\n");
	return WORK_PASS;
}

static int cr0_invalid(struct work_ctx *c)
{
	uint64_t cr0 = read_cr0();

	if (!hv_present())
		return work_skip("cr0-invalid", NATIVE_TCG);
	if (cr0_refused(c, cr0 & ~CR0_PE, "PG without PE") ||
	    cr0_refused(c, (cr0 | CR0_NW) & ~CR0_CD, "NW without CD") ||
	    cr0_refused(c, cr0 | (1ull << 32), "bit 32"))
		return WORK_FAIL;
	kprintf("hostile: cr0-invalid: every invalid CR0 refused\n");
	return WORK_PASS;
}

/* --- debug registers --------------------------------------------------- */

/* DR7: L0, R/W0 = 01 (data writes), LEN0 = 11 (4 bytes), and bit 10,
 * which always reads as 1 (SDM Vol. 3B 18.2.4). */
#define DR7_WRITE_BP0 UINT64_C(0xd0401)
#define DR7_OFF UINT64_C(0x400)
#define DR6_B0 UINT64_C(1)
#define DR6_RESET UINT64_C(0xffff0ff0)

#define DEFINE_DR(n)                                                        \
	static inline uint64_t read_dr##n(void)                             \
	{                                                                   \
		uint64_t v;                                                 \
		__asm__ volatile("mov %%db" #n ", %0" : "=r"(v));           \
		return v;                                                   \
	}                                                                   \
	static inline void write_dr##n(uint64_t v)                          \
	{                                                                   \
		__asm__ volatile("mov %0, %%db" #n : : "r"(v) : "memory");  \
	}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
DEFINE_DR(7)
#undef DEFINE_DR

static volatile uint32_t watched __attribute__((aligned(4)));
static volatile uint64_t db_count, db_dr6, db_rip;

/* A #DB from the data breakpoint: a trap, RIP past the write. */
static int on_debug(struct trap_frame *f)
{
	db_count++;
	db_dr6 = read_dr6();
	db_rip = f->rip;
	write_dr6(DR6_RESET);	/* the B bits are sticky */
	return 1;
}

static int dr_check(struct work_ctx *c, const char *when,
		    const uint64_t want[5])
{
	uint64_t got[5] = { read_dr0(), read_dr1(), read_dr2(), read_dr3(),
			    read_dr7() };
	static const char *const names[5] = { "DR0", "DR1", "DR2", "DR3",
					      "DR7" };

	for (int i = 0; i < 5; i++) {
		if (got[i] == want[i])
			continue;
		kprintf("hostile: %s: %s reads 0x%lx, written 0x%lx  "
			"<-- WRONG\n", when, names[i], got[i], want[i]);
		return work_fail(c, STATUS_HOSTILE,
				 "hostile: %s: %s reads 0x%lx, written 0x%lx",
				 when, names[i], got[i], want[i]);
	}
	kprintf("hostile: %s: DR0-DR3 and DR7 read back as written (DR7 "
		"0x%lx)\n", when, got[4]);
	return WORK_PASS;
}

/* One write to the watched variable: n #DBs expected so far. */
static int dr_write(struct work_ctx *c, const char *when, uint64_t expect)
{
	watched = watched + 1;
	int ok = db_count == expect &&
		 (expect == 0 || (db_dr6 & DR6_B0));

	kprintf("hostile: %s: %lu #DB so far (DR6 0x%lx at RIP 0x%lx); "
		"expected %lu%s\n", when, db_count, db_dr6, db_rip, expect,
		ok ? "" : "  <-- WRONG");
	if (!ok)
		return work_fail(c, STATUS_HOSTILE,
				 "hostile: %s: %lu #DB, expected %lu", when,
				 db_count, expect);
	return WORK_PASS;
}

static int dr7(struct work_ctx *c)
{
	const uint64_t want[5] = { (uint64_t)(uintptr_t)&watched,
				   UINT64_C(0x1000), UINT64_C(0x2000),
				   UINT64_C(0x3000), DR7_WRITE_BP0 };
	const uint64_t off[5] = { 0, 0, 0, 0, DR7_OFF };
	int rc = WORK_FAIL;

	trap_set_hook(VEC_DB, on_debug);
	write_dr6(DR6_RESET);
	write_dr0(want[0]);
	write_dr1(want[1]);
	write_dr2(want[2]);
	write_dr3(want[3]);
	write_dr7(want[4]);
	kprintf("hostile: DR0 <- 0x%lx (a 4-byte write breakpoint), DR1-DR3 "
		"<- 0x1000, 0x2000, 0x3000, DR7 <- 0x%lx\n", want[0], want[4]);
	if (dr_check(c, "after the writes", want) ||
	    dr_write(c, "a write to the watched word", 1))
		goto out;
	uint32_t seen = watched;	/* a read: no #DB */
	(void)seen;
	if (dr_write(c, "a read, then another write", 2))
		goto out;
	if (hv_present()) {
		/* The other VMs run meanwhile: the registers must come
		 * back as this VM left them. */
		for (int i = 0; i < 4; i++)
			hc_yield();
		if (dr_check(c, "after 4 yields", want) ||
		    dr_write(c, "a write after the yields", 3))
			goto out;
	}
	uint64_t n = db_count;
	write_dr7(DR7_OFF);
	write_dr0(0);
	write_dr1(0);
	write_dr2(0);
	write_dr3(0);
	if (dr_check(c, "disarmed", off) ||
	    dr_write(c, "a write with DR7 disarmed", n))
		goto out;
	kprintf("hostile: dr7: debug registers kept, the breakpoint fired "
		"once per write\n");
	rc = WORK_PASS;
out:
	write_dr7(DR7_OFF);
	trap_set_hook(VEC_DB, 0);
	return rc;
}

int work_hostile_cr(struct work_ctx *c)
{
	switch (c->cfg->hostile) {
	case HOSTILE_CR8:
		return cr8_readback(c);
	case HOSTILE_CR8_SPIN:
		return cr8_spin(c);
	case HOSTILE_CR4_VMXE:
		return cr4_vmxe(c);
	case HOSTILE_CR4_RESERVED:
		return cr4_reserved(c);
	case HOSTILE_CR0_PG_OFF:
		return cr0_pg_off(c);
	case HOSTILE_CR0_INVALID:
		return cr0_invalid(c);
	case HOSTILE_DR7:
		return dr7(c);
	default:
		return WORK_SKIP;
	}
}
