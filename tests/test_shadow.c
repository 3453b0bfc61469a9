/*
 * test_shadow.c - mm/shadow.c, the shadow MMU, in a shadow-paged VM as the
 * hypervisor builds one (hv/vmmem.c: vmmem_init gives it
 * shadow_vslat_format and its shadow MMU, the SLAT's owed flush drops the
 * shadows, vm_write_phys tells it of the hypervisor's writes, vmmem_check
 * runs shadow_check) over mm/gmem.c and the pool, on the hypervisor's host
 * stand-ins (tests/stub_hv.c: physical address == pointer).  The guest's page tables are written into its RAM as the
 * guest would write them; the "CPU" is the test, which looks at the
 * shadow leaves the MMU installed.  Each step is followed by
 * shadow_check(), the end-of-VM self-check, which must find nothing; one
 * test breaks a leaf on purpose to show that it would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "stub_hv.h"
#include "../hv/exit.h"
#include "../hv/hvmem.h"
#include "../hv/vmmem.h"
#include "../mm/shadow.h"

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define SPTE_P (1ull << 0)
#define SPTE_RW (1ull << 1)
#define SPTE_US (1ull << 2)
#define SPTE_A (1ull << 5)
#define SPTE_NX (1ull << 63)
#define SPTE_ADDR 0x000ffffffffff000ull
#define RW_USER (GPTE_P | GPTE_RW | GPTE_US)

static struct vm vm;
#define sh (*vm.shadow)		/* the VM's shadow MMU, from vmmem_init() */
static u64 guest_tlb_flushes;
static unsigned reports;

/* The backend's flush of the guest's TLB (the stub calls this). */
static void count_flush(struct vm *v)
{
	(void)v;
	guest_tlb_flushes++;
}

static void report(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
	reports++;
}

static u64 frames_before;

/* A 2 MiB shadow-paged VM as the hypervisor builds it; the guest's tables:
 * PML4 at GPA 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000 (covering
 * 0x400000-0x5fffff). */
static void setup(void)
{
	stub_phys_init(4 * MiB);
	frames_before = frames.st.free;
	CHECK_EQ(stub_vm_create_shadow(&vm, 0, 2 * MiB), 0);
	CHECK(vm.shadow != NULL);
	CHECK_EQ(vm.mem.slat.fmt, &shadow_vslat_format);
	stub_on_flush = count_flush;
	guest_tlb_flushes = 0;
	reports = 0;
}

static void gput(u64 gpa, u64 value)
{
	CHECK_EQ(vm_write_phys(&vm, gpa, &value, sizeof(value)), 0);
}

static u64 gget(u64 gpa)
{
	u64 v = 0;
	CHECK_EQ(vm_read_phys(&vm, gpa, &v, sizeof(v)), 0);
	return v;
}

static void build_tables(void)
{
	gput(0x1000, 0x2000 | RW_USER);
	gput(0x2000, 0x3000 | RW_USER);
	gput(0x3000 + 2 * 8, 0x4000 | RW_USER);		/* 0x400000 */
	gput(0x4000 + 0 * 8, 0x10000 | RW_USER);	/* 0x400000 */
	gput(0x4000 + 1 * 8, 0x11000 | GPTE_P | GPTE_RW);	/* supervisor */
	gput(0x4000 + 2 * 8, 0x12000 | RW_USER | GPTE_NX);
}

static struct gwalk_regs long_mode(u64 cr3)
{
	return (struct gwalk_regs){ .cr0 = CR0_PE | CR0_PG | CR0_WP,
				    .cr3 = cr3, .cr4 = CR4_PAE,
				    .efer = EFER_LME | EFER_LMA | EFER_NXE };
}

/* The loaded root's leaf for va, or 0: the CPU's walk, PAE (3 levels)
 * for a guest with paging off. */
static u64 leaf(u64 va)
{
	u64 t = sh.root[sh.cur].hpa;
	unsigned top = sh.root[sh.cur].cr3 == SHADOW_PAGING_OFF ? 3 : 4;
	for (unsigned level = top; level > 1; level--) {
		u64 e = ((u64 *)hv_ptr(t))[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(e & SPTE_P))
			return 0;
		t = e & SPTE_ADDR;
	}
	return ((u64 *)hv_ptr(t))[(va >> 12) & 511];
}

static u64 frame_of(u64 gfn)
{
	return p2m_value(&vm.mem.p2m, gfn);
}

static void check_clean(void)
{
	u64 n;
	CHECK_EQ(shadow_check(&sh, report, NULL, &n), 0);
	CHECK_EQ(reports, 0);
}

static void teardown(void)
{
	CHECK_EQ(vmmem_check(&vm), 0);	/* the end-of-VM self-check */
	vmmem_destroy(&vm);
	stub_on_flush = NULL;
	CHECK(vm.shadow == NULL);
	CHECK_EQ(frames.st.free, frames_before);
}

#define FAULT(va, err) shadow_fault(&sh, (va), (err), &error, &why)

TEST(shadow_paging_off_maps_gpa_one_to_one)
{
	struct gwalk_regs off = { .cr0 = CR0_PE };
	u32 error;
	const char *why;

	setup();
	shadow_load(&sh, &off);
	gput(0x5000, 0x1234);	/* the loader wrote this page */
	CHECK_EQ(FAULT(0x5008, 0), SHADOW_FIXED);
	CHECK_EQ(leaf(0x5000) & SPTE_ADDR, frame_of(5));
	CHECK(leaf(0x5000) & SPTE_RW);	/* private: writable */
	/* A PAE tree: PDPTE 0 present, no rights bits (reserved there); the
	 * rest of the root empty. */
	u64 *pdpt = hv_ptr(sh.root[sh.cur].hpa);
	CHECK_EQ(pdpt[0] & ~SPTE_ADDR, SPTE_P);
	CHECK_EQ(pdpt[1] | pdpt[2] | pdpt[3], 0);
	CHECK_EQ(FAULT(0x40000000 + 0x7000, 0), SHADOW_BAD);	/* beyond RAM */
	/* A page never written: demand-zero, populated by this fault. */
	CHECK_EQ(p2m_state(&vm.mem.p2m, 6), P2M_UNPOPULATED);
	CHECK_EQ(FAULT(0x6000, 0), SHADOW_FIXED);
	CHECK_EQ(p2m_state(&vm.mem.p2m, 6), P2M_PRIVATE);
	CHECK_EQ(leaf(0x6000) & SPTE_ADDR, frame_of(6));
	CHECK_EQ(*(u64 *)hv_ptr(frame_of(6)), 0);
	/* The leaf is recorded in the p2m's SLAT tree as for any VM. */
	u64 e;
	CHECK(slat_lookup(&vm.mem.slat, 0x6000, &e));
	check_clean();
	teardown();
}

TEST(shadow_composes_guest_rights_and_sets_accessed_dirty)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why;

	setup();
	build_tables();
	gput(0x10000, 0xabcd);
	shadow_load(&sh, &r);
	CHECK_EQ(FAULT(0x400010, PFERR_U), SHADOW_FIXED);
	u64 l = leaf(0x400000);
	CHECK_EQ(l & SPTE_ADDR, frame_of(0x10));
	CHECK(l & SPTE_US);
	CHECK(!(l & SPTE_RW));	/* not dirty yet: the first write comes back */
	CHECK(!(l & SPTE_NX));
	CHECK(gget(0x1000) & GPTE_A);
	CHECK(gget(0x4000) & GPTE_A);
	CHECK(!(gget(0x4000) & GPTE_D));
	check_clean();
	CHECK_EQ(FAULT(0x400010, PFERR_P | PFERR_W | PFERR_U), SHADOW_FIXED);
	CHECK(gget(0x4000) & GPTE_D);
	CHECK(leaf(0x400000) & SPTE_RW);
	CHECK_EQ(sh.st.dirty_faults, 1);
	/* Supervisor page: supervisor leaf; no-execute page: NX leaf. */
	CHECK_EQ(FAULT(0x401000, PFERR_W), SHADOW_FIXED);
	CHECK(!(leaf(0x401000) & SPTE_US));
	CHECK_EQ(FAULT(0x402000, 0), SHADOW_FIXED);
	CHECK(leaf(0x402000) & SPTE_NX);
	check_clean();
	CHECK_EQ(sh.st.fixed, 4);
	teardown();
}

TEST(shadow_reflects_the_guests_own_faults)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error = 0;
	const char *why;

	setup();
	build_tables();
	shadow_load(&sh, &r);
	CHECK_EQ(FAULT(0x403000, PFERR_W | PFERR_U), SHADOW_REFLECT);
	CHECK_EQ(error, PFERR_W | PFERR_U);	/* not present */
	CHECK_EQ(FAULT(0x401000, PFERR_U), SHADOW_REFLECT);
	CHECK_EQ(error, PFERR_P | PFERR_U);	/* supervisor page */
	CHECK_EQ(FAULT(0x402000, PFERR_I), SHADOW_REFLECT);
	CHECK_EQ(error, PFERR_P | PFERR_I);	/* no-execute */
	CHECK_EQ(sh.st.reflected, 3);
	CHECK_EQ(leaf(0x403000), 0);
	CHECK(!(gget(0x4000 + 8) & GPTE_A));	/* a denied access sets none */
	check_clean();
	teardown();
}

TEST(shadow_write_protects_guest_page_tables)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why;

	setup();
	build_tables();
	/* A second PT (0x600000-0x7fffff) maps the first one at 0x600000. */
	gput(0x3000 + 3 * 8, 0x5000 | RW_USER);
	gput(0x5000, 0x4000 | RW_USER);
	gput(0x10000, 1);
	gput(0x11000, 2);
	shadow_load(&sh, &r);
	CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_FIXED);
	CHECK(sh.gfn_flags[4] & SH_PT);
	/* The guest reads its PT through 0x600000: a read-only leaf, though
	 * its entry allows writes. */
	CHECK_EQ(FAULT(0x600000, 0), SHADOW_FIXED);
	CHECK(!(leaf(0x600000) & SPTE_RW));
	/* Its write there is a page-table write: the write gets a writable
	 * leaf, and the shadows are unsynced (no flush yet). */
	u64 flushes = sh.st.flush_all;
	CHECK_EQ(FAULT(0x600000, PFERR_P | PFERR_W), SHADOW_FIXED);
	CHECK_EQ(sh.st.pt_writes, 1);
	CHECK(leaf(0x600000) & SPTE_RW);
	CHECK(sh.unsynced);
	CHECK_EQ(sh.st.flush_all, flushes);
	check_clean();
	/* The guest repoints 0x400000 through that writable mapping (its
	 * store does not exit): until it invalidates, the old leaf may serve,
	 * as a TLB entry may; its INVLPG drops every shadow, and the next
	 * touch walks the new entry and protects the PT again. */
	u64 *pt = hv_ptr(leaf(0x600000) & SPTE_ADDR);
	pt[0] = 0x11000 | RW_USER;
	CHECK_EQ(leaf(0x400000) & SPTE_ADDR, frame_of(0x10));
	shadow_invlpg(&sh, 0x400000);
	CHECK_EQ(sh.st.flush_all, flushes + 1);
	CHECK(!sh.unsynced);
	CHECK_EQ(leaf(0x600000), 0);
	CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_FIXED);
	CHECK_EQ(leaf(0x400000) & SPTE_ADDR, frame_of(0x11));
	CHECK(sh.gfn_flags[4] & SH_PT);
	CHECK_EQ(FAULT(0x600000, 0), SHADOW_FIXED);
	CHECK(!(leaf(0x600000) & SPTE_RW));	/* protected again */
	check_clean();
	teardown();
}

TEST(shadow_roots_are_cached_per_cr3)
{
	struct gwalk_regs a = long_mode(0x1000), b = long_mode(0x6000);
	u32 error;
	const char *why;

	setup();
	build_tables();
	gput(0x6000, 0x2000 | RW_USER);	/* a second PML4, same lower tables */
	u64 ra = shadow_load(&sh, &a);
	CHECK_EQ(FAULT(0x400000, 0), SHADOW_FIXED);
	u64 rb = shadow_load(&sh, &b);
	CHECK(ra != rb);
	CHECK_EQ(leaf(0x400000), 0);
	CHECK_EQ(FAULT(0x400000, 0), SHADOW_FIXED);
	CHECK_EQ(shadow_load(&sh, &a), ra);
	CHECK(leaf(0x400000) != 0);	/* kept while the other ran */
	CHECK_EQ(sh.st.root_misses, 2);
	CHECK_EQ(sh.st.root_hits, 1);
	check_clean();
	/* INVLPG drops the loaded root's leaf and flushes the TLB. */
	u64 tlb = guest_tlb_flushes;
	shadow_invlpg(&sh, 0x400000);
	CHECK_EQ(leaf(0x400000), 0);
	CHECK_EQ(guest_tlb_flushes, tlb + 1);
	/* A paging-off (PAE) root among them, with tables below it. */
	struct gwalk_regs off = { .cr0 = CR0_PE };
	shadow_load(&sh, &off);
	CHECK_EQ(FAULT(0x9000, 0), SHADOW_FIXED);
	check_clean();
	/* More address spaces than roots: the least recently loaded go, the
	 * PAE one too (its tables freed as a 3-level tree: teardown counts
	 * every frame back). */
	for (u64 i = 0; i < SHADOW_ROOTS; i++) {
		struct gwalk_regs c = long_mode(0x7000 + i * 0x1000);
		shadow_load(&sh, &c);
	}
	CHECK_EQ(sh.st.root_misses, 3 + SHADOW_ROOTS);
	CHECK_EQ(sh.tables, SHADOW_ROOTS);	/* all emptied, roots kept */
	teardown();
}

TEST(shadow_follows_p2m_changes)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why;

	/* With the reverse map (the default) the page's leaves go at the
	 * change, the others stay, and the flush it owes is the TLB's; without
	 * it every shadow goes at that flush. */
	for (int rmap = 1; rmap >= 0; rmap--) {
		vmmem_shadow_rmap = rmap;
		setup();
		build_tables();
		gput(0x10000, 7);
		shadow_load(&sh, &r);
		CHECK_EQ(FAULT(0x400000, PFERR_W | PFERR_U), SHADOW_FIXED);
		CHECK_EQ(FAULT(0x402000, PFERR_U), SHADOW_FIXED);
		CHECK(leaf(0x400000) != 0);
		u64 flushes = sh.st.flush_all, tlb = guest_tlb_flushes;
		/* The balloon takes the page: its frame goes back to the pool
		 * only after the flush. */
		gmem_release(&vm.mem, 0x10, P2M_BALLOONED);
		CHECK_EQ(leaf(0x400000) != 0, !rmap);	/* owed, without */
		gmem_settle(&vm.mem);
		CHECK_EQ(leaf(0x400000), 0);
		CHECK_EQ(leaf(0x402000) != 0, rmap);
		CHECK_EQ(sh.st.flush_all, flushes + !rmap);
		CHECK_EQ(sh.st.rmap_drops, rmap ? 1 : 0);
		CHECK(guest_tlb_flushes > tlb);		/* the TLB's, always */
		check_clean();
		/* The next touch gets a fresh zeroed frame. */
		CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_FIXED);
		CHECK_EQ(*(u64 *)hv_ptr(leaf(0x400000) & SPTE_ADDR), 0);
		check_clean();
		teardown();
	}
	vmmem_shadow_rmap = true;
}

/* The clock's "was it used?" for a shadow VM comes from the accessed flag
 * the CPU sets in the shadow leaf, through the reverse map: the leaf stays
 * (no fault to take it back), its flag is cleared, and the TLB flush the
 * sample owes makes the CPU set it again; without the reverse map the
 * SLAT record's leaf is removed, and the shadow leaf with it. */
TEST(shadow_accessed_samples_read_the_shadow_leaf)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why;

	for (int rmap = 1; rmap >= 0; rmap--) {
		vmmem_shadow_rmap = rmap;
		setup();
		build_tables();
		shadow_load(&sh, &r);
		CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_FIXED);
		u64 *spte = NULL;
		for (u32 i = sh.rmap_cap ? sh.rmap_head[0x10] : 0; i;
		     i = sh.rmap[i].next)
			spte = sh.rmap[i].spte;
		if (rmap) {
			CHECK(spte != NULL);
			*spte |= SPTE_A;	/* the CPU used it */
			CHECK(slat_test_and_clear_accessed(&vm.mem.slat,
							   0x10 * PAGE_SIZE));
			CHECK(!(*spte & SPTE_A));
			CHECK(!slat_test_and_clear_accessed(&vm.mem.slat,
							    0x10 * PAGE_SIZE));
			gmem_settle(&vm.mem);
			CHECK(leaf(0x400000) & SPTE_P);	/* still mapped */
			CHECK_EQ(sh.st.samples, 2);
			CHECK_EQ(sh.st.samples_used, 1);
		} else {
			CHECK(slat_test_and_clear_accessed(&vm.mem.slat,
							   0x10 * PAGE_SIZE));
			gmem_settle(&vm.mem);
			CHECK_EQ(leaf(0x400000), 0);	/* the next touch tells */
			CHECK(!slat_test_and_clear_accessed(&vm.mem.slat,
							    0x10 * PAGE_SIZE));
		}
		check_clean();
		teardown();
	}
	vmmem_shadow_rmap = true;
}

/* A root evicted frees tables the reverse map pointed into: it forgets
 * them all, and the next p2m change, finding it incomplete, drops every
 * shadow, the surviving roots' leaves too. */
TEST(shadow_rmap_after_a_root_is_evicted)
{
	struct gwalk_regs a = long_mode(0x1000), off = { .cr0 = CR0_PE };
	u32 error;
	const char *why;

	setup();
	build_tables();
	shadow_load(&sh, &off);
	CHECK_EQ(FAULT(0x5000, 0), SHADOW_FIXED);	/* fills the PAE root */
	shadow_load(&sh, &a);
	CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_FIXED);	/* gfn 0x10 */
	for (u64 i = 0; i < SHADOW_ROOTS - 1; i++) {	/* evicts the PAE one */
		struct gwalk_regs c = long_mode(0x7000 + i * 0x1000);
		shadow_load(&sh, &c);
	}
	CHECK(sh.rmap_lost);
	shadow_load(&sh, &a);
	CHECK(leaf(0x400000) != 0);
	u64 flushes = sh.st.flush_all;
	gmem_release(&vm.mem, 0x10, P2M_BALLOONED);
	gmem_settle(&vm.mem);
	CHECK_EQ(leaf(0x400000), 0);
	CHECK_EQ(sh.st.flush_all, flushes + 1);
	CHECK(!sh.rmap_lost);
	check_clean();
	teardown();
}

/* A page table the guest writes through a mapping that page table itself
 * provides: the write gets a writable leaf (it could never complete
 * otherwise), that table is left unprotected, and the shadows are unsynced
 * until the next walk through it, INVLPG or CR3 load. */
TEST(shadow_self_mapped_table_write)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why = NULL;

	setup();
	build_tables();
	shadow_load(&sh, &r);
	gput(0x4000 + 5 * 8, 0x4000 | RW_USER);	/* the PT maps itself */
	CHECK_EQ(FAULT(0x400000, 0), SHADOW_FIXED);
	u64 flushes = sh.st.flush_all;
	CHECK_EQ(FAULT(0x405000, PFERR_W | PFERR_U), SHADOW_FIXED);
	CHECK(leaf(0x405000) & SPTE_RW);
	CHECK(leaf(0x400000) & SPTE_P);		/* others stay, unsynced */
	CHECK_EQ(sh.st.flush_all, flushes);
	CHECK(sh.unsynced);
	CHECK_EQ(sh.st.self_writes, 1);
	check_clean();
	/* The guest edits the PT there (no exit), then invalidates. */
	*(u64 *)hv_ptr(leaf(0x405000) & SPTE_ADDR) = 0;	/* PTE 0: gone */
	shadow_invlpg(&sh, 0x400000);
	CHECK(!sh.unsynced);
	CHECK_EQ(leaf(0x405000), 0);
	CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_REFLECT);
	/* Unsynced, a walk through the writable table keeps it writable:
	 * the writing instruction's fetch and its write both need a leaf. */
	CHECK_EQ(FAULT(0x405000, PFERR_W | PFERR_U), SHADOW_FIXED);
	flushes = sh.st.flush_all;
	CHECK_EQ(FAULT(0x402000, PFERR_U), SHADOW_FIXED);
	CHECK_EQ(sh.st.flush_all, flushes);
	CHECK(leaf(0x405000) & SPTE_RW);
	CHECK(leaf(0x402000) & SPTE_P);
	check_clean();
	/* The hypervisor writing that table flushes: the guest would not
	 * know to invalidate. */
	gput(0x4000 + 7 * 8, 0);
	CHECK(!sh.unsynced);
	CHECK_EQ(leaf(0x405000), 0);
	/* A CR3 load while unsynced flushes too. */
	CHECK_EQ(FAULT(0x405000, PFERR_W | PFERR_U), SHADOW_FIXED);
	CHECK(sh.unsynced);
	shadow_load(&sh, &r);
	CHECK(!sh.unsynced);
	CHECK_EQ(leaf(0x405000), 0);
	(void)why;
	teardown();
}

/* What the CPU runs a shadow-paged vCPU with (hv/vmmem.c): paging always
 * on through the root of the guest's CR3, WP and PAE forced; with the
 * guest's paging off its paging bits hidden from the CPU. */
TEST(shadow_cpu_registers_from_the_guests)
{
	struct vcpu *v = &vm.vcpu;
	struct shadow_cpu c;

	setup();
	v->cr0 = CR0_PE | CR0_ET;
	v->cr3 = 0x1000;
	v->cr4 = CR4_SMEP | CR4_PGE;
	v->efer = EFER_LME | EFER_NXE;
	CHECK(vmmem_shadow_cpu(v, &c) == NULL);
	CHECK_EQ(c.cr0, CR0_PE | CR0_ET | CR0_PG | CR0_WP);
	CHECK_EQ(c.cr4, CR4_PAE);
	CHECK_EQ(c.efer, EFER_NXE);
	CHECK_EQ(c.cr3, sh.root[sh.cur].hpa);
	CHECK_EQ(sh.root[sh.cur].cr3, SHADOW_PAGING_OFF);
	CHECK(c.cr3 < 4 * GiB);
	v->cr0 |= CR0_PG | CR0_WP;
	v->cr4 |= CR4_PAE;
	v->efer |= EFER_LMA;
	CHECK(vmmem_shadow_cpu(v, &c) == NULL);
	CHECK_EQ(c.cr4, CR4_PAE | CR4_SMEP | CR4_PGE);
	CHECK_EQ(c.efer, EFER_LME | EFER_LMA | EFER_NXE);
	CHECK_EQ(sh.root[sh.cur].cr3, 0x1000);
	CHECK_EQ(c.cr3, sh.root[sh.cur].hpa);
	v->efer &= ~(EFER_LME | EFER_LMA);	/* PAE paging: not shadowed */
	CHECK_STR(vmmem_shadow_cpu(v, &c), "paging outside long mode (32-bit "
		  "or PAE paging) is not shadowed");
	v->cr0 = CR0_ET;
	CHECK_STR(vmmem_shadow_cpu(v, &c),
		  "real mode (CR0.PE = 0) is not shadowed");
	teardown();
}

/* The core's half, through exit_handle() as the backends call it. */
static void exit_pf(u64 va, u32 error)
{
	struct vm_exit e = { .reason = EXIT_PAGE_FAULT,
			     .pf = { .va = va, .error = error } };
	exit_handle(&vm, &e);
}

/* A #PF exit the guest's tables explain is reflected with the walk's error
 * code and its address; one they do not is answered with a leaf; INVLPG
 * drops the leaf and moves RIP past; a walk that leaves RAM stops the VM
 * with what and where; a #PF met delivering a #DF is a triple fault. */
TEST(shadow_exits_through_the_core)
{
	struct gwalk_regs r = long_mode(0x1000);

	setup();
	build_tables();
	shadow_load(&sh, &r);
	vm.vcpu.cr0 = r.cr0;
	vm.vcpu.cr3 = r.cr3;
	vm.vcpu.cr4 = r.cr4;
	vm.vcpu.efer = r.efer;
	vm.vcpu.regs.rip = 0x1234;
	u64 injected = stub_injected;
	exit_pf(0x403000, PFERR_U);		/* PTE 3: not present */
	CHECK_EQ(stub_injected, injected + 1);
	CHECK_EQ(stub_pf_va, 0x403000);
	CHECK_EQ(stub_pf_error, PFERR_U);
	exit_pf(0x401000, PFERR_U | PFERR_W);	/* supervisor page */
	CHECK_EQ(stub_pf_error, PFERR_P | PFERR_W | PFERR_U);
	exit_pf(0x400000, PFERR_U);		/* the guest's tables allow it */
	CHECK_EQ(stub_injected, injected + 2);
	CHECK(leaf(0x400000) & SPTE_P);
	CHECK_EQ(vm.stats.exits[EXIT_PAGE_FAULT], 3);
	struct vm_exit inv = { .reason = EXIT_INVLPG, .insn_len = 3,
			       .pf = { .va = 0x400000 } };
	exit_handle(&vm, &inv);
	CHECK_EQ(leaf(0x400000), 0);
	CHECK_EQ(vm.vcpu.regs.rip, 0x1237);
	CHECK_EQ(vm.state, VM_RUNNING);
	gput(0x4000 + 4 * 8, 0x7ff00000 | RW_USER);	/* beyond its RAM */
	exit_pf(0x404000, PFERR_U);
	CHECK_EQ(vm.state, VM_STOPPED);
	CHECK_STR(vm.stop_reason, "shadow paging: the guest's tables map a GPA "
		  "beyond its RAM, at GVA 0x404000 (read, user) at RIP 0x1237, "
		  "CR3 0x1000");
	teardown();

	setup();
	build_tables();
	shadow_load(&sh, &r);
	stub_pf_triple = true;
	exit_pf(0x403000, 0);
	stub_pf_triple = false;
	CHECK_EQ(vm.state, VM_STOPPED);
	CHECK(strstr(vm.stop_reason, "triple fault (shutdown): a #PF at GVA "
		     "0x403000 while delivering a #DF") != NULL);
	teardown();
}

TEST(shadow_bad_guest_tables_stop_only_the_vm)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why = NULL;

	setup();
	build_tables();
	gput(0x4000 + 4 * 8, 0x7ff00000 | RW_USER);	/* beyond its RAM */
	shadow_load(&sh, &r);
	CHECK_EQ(FAULT(0x404000, 0), SHADOW_BAD);
	CHECK_STR(why, "the guest's tables map a GPA beyond its RAM");
	struct gwalk_regs out = long_mode(0x7ff000000ull);	/* CR3 outside */
	shadow_load(&sh, &out);
	CHECK_EQ(FAULT(0x400000, 0), SHADOW_BAD);
	CHECK_STR(why, "a page table outside RAM");
	struct gwalk_regs nowp = r;
	nowp.cr0 &= ~CR0_WP;
	shadow_load(&sh, &nowp);
	CHECK_EQ(FAULT(0x400000, 0), SHADOW_BAD);
	CHECK_STR(why, "the guest cleared CR0.WP (not shadowed)");
	teardown();
}

TEST(shadow_check_catches_a_bad_leaf)
{
	struct gwalk_regs r = long_mode(0x1000);
	u32 error;
	const char *why;
	u64 n;

	setup();
	build_tables();
	shadow_load(&sh, &r);
	CHECK_EQ(FAULT(0x400000, PFERR_U), SHADOW_FIXED);
	CHECK_EQ(FAULT(0x401000, 0), SHADOW_FIXED);
	check_clean();
	u64 t = sh.root[sh.cur].hpa;
	for (unsigned level = 4; level > 1; level--)
		t = ((u64 *)hv_ptr(t))[(0x400000ull >> (12 + 9 * (level - 1))) &
				       511] & SPTE_ADDR;
	u64 *pt = hv_ptr(t);
	pt[0] |= SPTE_RW;	/* before the guest's dirty flag */
	pt[1] |= SPTE_US;	/* a supervisor page made user */
	CHECK_EQ(shadow_check(&sh, report, NULL, &n), 2);
	CHECK_EQ(n, 2);
	pt[0] &= ~SPTE_RW;
	pt[1] &= ~SPTE_US;
	reports = 0;
	check_clean();
	teardown();
}

/* --- a randomized model -------------------------------------------------- */

/*
 * The guest: two PML4s (GPA 0x1000, 0x2000) over one PDPT (0x3000); data
 * at GVA 0x40000000 (PD 0x4000, four PTs 0x5000-0x8fff: 2048 pages, user);
 * and a supervisor "physmap" at GVA 0x80000000 (PD 0x9000, PT 0xa000)
 * mapping GPA 0-2 MiB writable, through which the guest edits its own
 * tables.  Data pages are GPA 1-4 MiB.  The model keeps every byte of
 * guest RAM as the guest would see it and its data PTEs; the "CPU" has a
 * TLB (va -> frame, writable) that only the shadow MMU's flush empties, so
 * a change the MMU forgets to flush is caught as wrong bytes.
 */
#define M_RAM (4 * MiB)
#define M_DATA_VA 0x40000000ull
#define M_DATA_PAGES 2048
#define M_PHYS_VA 0x80000000ull
#define M_TLB 64

static u8 model[M_RAM];
static struct { u64 va, hpa; bool rw; } tlb[M_TLB];
static unsigned ntlb;
static u64 rng = 88172645463325252ull;

static u64 rnd(u64 n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static void m_flush(struct vm *v)
{
	(void)v;
	ntlb = 0;
	guest_tlb_flushes++;
}

static u64 shadow_leaf_of(u64 va)
{
	return leaf(va);	/* the CPU's walk of the loaded root */
}

/* One access by the CPU: 0 done, 1 a #PF the guest must handle. */
static int cpu_access(u64 va, bool write, bool user, u64 *value)
{
	for (int tries = 0; tries < 4; tries++) {
		u64 hpa = 0;
		bool ok = false, hit = false;
		/* A TLB entry is used as it is, even to fault: the CPU need
		 * not walk again (so a leaf given more rights needs a flush). */
		for (unsigned i = 0; i < ntlb && !hit; i++)
			if (tlb[i].va == (va & ~0xfffull)) {
				hit = true;
				ok = !write || tlb[i].rw;
				hpa = tlb[i].hpa;
			}
		u64 l = hit ? SPTE_P : shadow_leaf_of(va);
		if (!hit && (l & SPTE_P) && (!write || (l & SPTE_RW)) &&
		    (!user || (l & SPTE_US))) {
			hpa = l & SPTE_ADDR;
			ok = true;
			if (ntlb < M_TLB)
				tlb[ntlb++] = (typeof(tlb[0])){ va & ~0xfffull, hpa,
								l & SPTE_RW };
		}
		if (ok) {
			u64 *p = hv_ptr(hpa + (va & 0xff8));
			if (write)
				*p = *value;
			else
				*value = *p;
			return 0;
		}
		u32 error;
		const char *why = "";
		enum shadow_verdict v = shadow_fault(
			&sh, va, (l & SPTE_P ? PFERR_P : 0) |
				 (write ? PFERR_W : 0) | (user ? PFERR_U : 0),
			&error, &why);
		if (v == SHADOW_REFLECT)
			return 1;
		if (v != SHADOW_FIXED) {
			printf("  shadow_fault(0x%llx): verdict %d: %s\n",
			       (unsigned long long)va, v, why);
			CHECK(0);
			return -1;
		}
	}
	printf("  no progress at 0x%llx\n", (unsigned long long)va);
	CHECK(0);
	return -1;
}

static u64 m_get(u64 gpa)
{
	u64 v;
	memcpy(&v, model + gpa, 8);
	return v;
}

static void m_put(u64 gpa, u64 v)
{
	memcpy(model + gpa, &v, 8);
}

/* The guest writes its own PTE for data page i, through its physmap. */
static void guest_set_pte(u64 i, u64 pte)
{
	u64 gpa = 0x5000 + i * 8;
	CHECK_EQ(cpu_access(M_PHYS_VA + gpa, true, false, &pte), 0);
	m_put(gpa, pte);
	shadow_invlpg(&sh, M_DATA_VA + i * PAGE_SIZE);
}

/* The hypervisor writes guest RAM (vm_write_phys tells the shadow MMU). */
static void hv_write(u64 gpa, u64 v)
{
	gput(gpa, v);
	m_put(gpa, v);
}

static void run_model(bool rmap)
{
	u64 steps = 20000;
	const char *s = getenv("SHADOW_STEPS");
	struct gwalk_regs ra = long_mode(0x1000), rb = long_mode(0x2000);

	if (s)
		steps = strtoull(s, NULL, 0);
	vmmem_shadow_rmap = rmap;
	rng = 88172645463325252ull;
	stub_phys_init(8 * MiB);
	frames_before = frames.st.free;
	CHECK_EQ(stub_vm_create_shadow(&vm, 0, M_RAM), 0);
	stub_on_flush = m_flush;
	memset(model, 0, sizeof(model));
	/* The tables, written as the loader would. */
	hv_write(0x1000, 0x3000 | RW_USER);
	hv_write(0x2000, 0x3000 | RW_USER);
	hv_write(0x3000 + 1 * 8, 0x4000 | RW_USER);
	hv_write(0x3000 + 2 * 8, 0x9000 | GPTE_P | GPTE_RW);
	for (u64 i = 0; i < 4; i++)
		hv_write(0x4000 + i * 8, (0x5000 + i * 0x1000) | RW_USER);
	hv_write(0x9000, 0xa000 | GPTE_P | GPTE_RW);
	for (u64 i = 0; i < 512; i++)
		hv_write(0xa000 + i * 8, i * PAGE_SIZE | GPTE_P | GPTE_RW);
	shadow_load(&sh, &ra);

	u64 reads = 0, writes = 0, reflected = 0, checks = 0;
	for (u64 step = 0; step < steps; step++) {
		gmem_settle(&vm.mem);	/* before every "entry" */
		u64 op = rnd(100), i = rnd(M_DATA_PAGES);
		u64 va = M_DATA_VA + i * PAGE_SIZE + rnd(512) * 8;
		u64 pte = m_get(0x5000 + i * 8);
		if (op < 60) {		/* a data access */
			bool write = rnd(2);
			u64 v = write ? rng : 0, before;
			/* Often a read first: then the write meets a read-only
			 * leaf (and TLB entry) of a page not yet dirty. */
			if (write && (pte & GPTE_P) && rnd(2))
				CHECK_EQ(cpu_access(va, false, true, &before), 0);
			int r = cpu_access(va, write, true, &v);
			bool allowed = (pte & GPTE_P) && (!write || (pte & GPTE_RW));
			CHECK_EQ(r, allowed ? 0 : 1);
			if (r == 1) {	/* the guest's handler maps it */
				reflected++;
				u64 gpa = (256 + rnd(768)) * PAGE_SIZE;
				guest_set_pte(i, gpa | RW_USER);
				continue;
			}
			u64 gpa = (pte & GPTE_ADDR) + (va & 0xff8);
			if (write) {
				m_put(gpa, v);
				writes++;
			} else {
				if (v != m_get(gpa)) {
					printf("  read 0x%llx at GVA 0x%llx (GPA "
					       "0x%llx), the guest wrote 0x%llx\n",
					       (unsigned long long)v,
					       (unsigned long long)va,
					       (unsigned long long)gpa,
					       (unsigned long long)m_get(gpa));
					CHECK(0);
					break;
				}
				reads++;
			}
		} else if (op < 75) {	/* the guest edits a PTE */
			u64 gpa = (256 + rnd(768)) * PAGE_SIZE;
			u64 kind = rnd(3);
			guest_set_pte(i, kind == 0 ? 0 :
				      kind == 1 ? gpa | RW_USER :
				      (pte & GPTE_ADDR ? pte : gpa | GPTE_P | GPTE_US) ^
					      GPTE_RW);
		} else if (op < 83) {	/* another address space */
			shadow_load(&sh, rnd(2) ? &ra : &rb);
			ntlb = 0;	/* a CR3 load flushes the TLB (no PCIDs) */
		} else if (op < 90) {	/* the balloon takes a data page */
			u64 gfn = pte & GPTE_P ? (pte & GPTE_ADDR) / PAGE_SIZE
					       : 256 + rnd(768);
			u64 v = rng | 1;
			/* A word written just before, so old bytes show. */
			if ((pte & GPTE_P) && (pte & GPTE_RW))
				CHECK_EQ(cpu_access(va, true, true, &v), 0);
			gmem_release(&vm.mem, gfn, P2M_BALLOONED);
			memset(model + gfn * PAGE_SIZE, 0, PAGE_SIZE);
			/* ... and the guest looks at it at once (after the
			 * entry's settle): zeros, never the old frame. */
			gmem_settle(&vm.mem);
			v = 1;
			if ((pte & GPTE_P) &&
			    cpu_access(va, false, true, &v) == 0) {
				CHECK_EQ(v, 0);
				reads++;
			}
		} else if (op < 94) {	/* a table of the physmap's own walk,
					   through the physmap: an unused
					   slot of the PML4 or the PDPT */
			u64 pml4 = sh.root[sh.cur].cr3;
			u64 gpa = rnd(2) ? pml4 + 7 * 8 : 0x3000 + 5 * 8;
			u64 v = rnd(2) ? rng & ~GPTE_P : 0;
			CHECK_EQ(cpu_access(M_PHYS_VA + gpa, true, false, &v), 0);
			m_put(gpa, v);
		} else if (op < 95) {	/* ... or the PDPT entry of all data:
					   gone (with the CR3 reload that
					   owes), a fault, back (no
					   invalidation owed) */
			u64 pdpte = 0x4000 | RW_USER, v;
			/* Rewritten as it is first (the shadows are unsynced
			 * after that) and a leaf made through it, which the
			 * CR3 reload below must then take. */
			CHECK_EQ(cpu_access(M_PHYS_VA + 0x3000 + 8, true, false,
					    &pdpte), 0);
			if (pte & GPTE_P) {
				CHECK_EQ(cpu_access(va, false, true, &v), 0);
				CHECK_EQ(v, m_get((pte & GPTE_ADDR) + (va & 0xff8)));
				reads++;
			}
			pdpte = 0;
			CHECK_EQ(cpu_access(M_PHYS_VA + 0x3000 + 8, true, false,
					    &pdpte), 0);
			m_put(0x3000 + 8, 0);
			shadow_load(&sh, sh.cur >= 0 && sh.root[sh.cur].cr3 ==
							 0x2000 ? &rb : &ra);
			ntlb = 0;
			CHECK_EQ(cpu_access(va, false, true, &v), 1);
			reflected++;
			pdpte = 0x4000 | RW_USER;
			CHECK_EQ(cpu_access(M_PHYS_VA + 0x3000 + 8, true, false,
					    &pdpte), 0);
			m_put(0x3000 + 8, pdpte);
			if (pte & GPTE_P) {
				CHECK_EQ(cpu_access(va, false, true, &v), 0);
				CHECK_EQ(v, m_get((pte & GPTE_ADDR) + (va & 0xff8)));
				reads++;
			}
		} else if (op < 97) {	/* the hypervisor writes guest RAM */
			hv_write((256 + rnd(768)) * PAGE_SIZE + rnd(512) * 8, rng);
		} else {		/* ... a page table, even: the page it
					   mapped is gone at once */
			u64 v;
			if (pte & GPTE_P)
				cpu_access(va, false, true, &v);
			hv_write(0x5000 + i * 8, 0);
			gmem_settle(&vm.mem);
			CHECK_EQ(cpu_access(va, false, true, &v), 1);
			reflected++;
		}
		if (step % 1000 == 999) {
			u64 n;
			gmem_settle(&vm.mem);
			CHECK_EQ(shadow_check(&sh, report, NULL, &n), 0);
			CHECK_EQ(gmem_check(&vm.mem, report, NULL), 0);
			checks++;
		}
	}
	printf("  shadow model, reverse map %s: %llu steps, %llu reads and "
	       "%llu writes verified, %llu guest faults; MMU: %llu faults, "
	       "%llu fixed, %llu reflected, %llu page-table writes (%llu to "
	       "their own walk's tables), %llu dirty faults, %llu whole "
	       "flushes (%llu for p2m changes), %llu leaves dropped through the "
	       "reverse map, %llu roots hit / %llu missed, most tables %llu; "
	       "%llu checks\n",
	       rmap ? "on" : "off", (unsigned long long)steps, (unsigned long long)reads,
	       (unsigned long long)writes, (unsigned long long)reflected,
	       (unsigned long long)sh.st.faults, (unsigned long long)sh.st.fixed,
	       (unsigned long long)sh.st.reflected,
	       (unsigned long long)sh.st.pt_writes,
	       (unsigned long long)sh.st.self_writes,
	       (unsigned long long)sh.st.dirty_faults,
	       (unsigned long long)sh.st.flush_all,
	       (unsigned long long)sh.st.flush_by[SHADOW_FLUSH_P2M],
	       (unsigned long long)sh.st.rmap_drops,
	       (unsigned long long)sh.st.root_hits,
	       (unsigned long long)sh.st.root_misses,
	       (unsigned long long)sh.st.tables_max,
	       (unsigned long long)checks);
	CHECK(reads > steps / 10 && writes > steps / 10);
	CHECK_EQ(reports, 0);
	teardown();
	vmmem_shadow_rmap = true;
}

TEST(shadow_model)
{
	run_model(true);
}

TEST(shadow_model_without_reverse_map)
{
	run_model(false);
}
