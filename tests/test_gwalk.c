/*
 * test_gwalk.c - mm/gwalk.c, the guest's page-table walk, over a made-up
 * guest: 1 MiB of "guest-physical" RAM in a host array, page tables built
 * in it by map() from a bump allocator, every entry write the walker makes
 * recorded.  Each rule of SDM 4.6-4.8 the walker claims is checked both
 * ways (allowed and denied), with the exact #PF error code, and so are the
 * accessed and dirty flags: set on an allowed access at every level used
 * (dirty only at the leaf of a write), never on a plain look or a denied
 * access.
 */
#include <string.h>

#include "../mm/gwalk.h"
#include "unit.h"

#define RAM (1ull << 20)
#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static u64 ram[RAM / 8];
static u64 next_table;		/* bump allocator for table pages */
static unsigned writes;		/* entry writes by the walker */

static int ram_read(void *ctx, u64 gpa, u64 *v)
{
	(void)ctx;
	if (gpa >= RAM || gpa % 8)
		return -1;
	*v = ram[gpa / 8];
	return 0;
}

static int ram_write(void *ctx, u64 gpa, u64 v)
{
	(void)ctx;
	if (gpa >= RAM || gpa % 8)
		return -1;
	ram[gpa / 8] = v;
	writes++;
	return 0;
}

static const struct gwalk_env env = { ram_read, ram_write, NULL };

/* The standard long-mode registers, the PML4 at 0x1000. */
static struct gwalk_regs regs(void)
{
	return (struct gwalk_regs){ .cr0 = CR0_PE | CR0_PG | CR0_WP,
				    .cr3 = 0x1000, .cr4 = CR4_PAE,
				    .efer = EFER_LME | EFER_LMA | EFER_NXE };
}

static void reset(void)
{
	memset(ram, 0, sizeof(ram));
	next_table = 0x2000;
	writes = 0;
}

/*
 * Maps va to gpa with a leaf at `level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB)
 * carrying leaf_flags; the tables on the way get table_flags.
 */
static void map(u64 va, u64 gpa, unsigned level, u64 leaf_flags,
		u64 table_flags)
{
	u64 table = 0x1000;
	for (unsigned l = 4; l > level; l--) {
		u64 *e = &ram[(table + ((va >> (12 + 9 * (l - 1))) & 511) * 8) /
			      8];
		if (!(*e & GPTE_P)) {
			*e = next_table | table_flags;
			next_table += 0x1000;
		}
		table = *e & GPTE_ADDR;
	}
	ram[(table + ((va >> (12 + 9 * (level - 1))) & 511) * 8) / 8] =
		gpa | leaf_flags | (level > 1 ? GPTE_PS : 0);
}

#define RW_USER (GPTE_P | GPTE_RW | GPTE_US)

TEST(gwalk_paging_off_is_identity)
{
	struct gwalk_regs r = { .cr0 = CR0_PE, .cr3 = 0x1000 };
	struct gwalk w;

	reset();
	CHECK_EQ(gwalk(&r, 0x123456, PFERR_W | GWALK_SET_AD, &env, &w),
		 GWALK_OK);
	CHECK_EQ(w.gpa, 0x123456);
	CHECK_EQ(w.levels, 0);
	CHECK_EQ(writes, 0);
}

TEST(gwalk_4k_2m_1g_pages)
{
	struct gwalk_regs r = regs();
	struct gwalk w;

	reset();
	map(0x400000abc000ull, 0x5000, 1, RW_USER, RW_USER);
	map(0x7fff80200000ull, 0x40000000, 2, RW_USER, RW_USER);
	map(0xffff800080000000ull, 0x80000000, 3, RW_USER, RW_USER);
	CHECK_EQ(gwalk(&r, 0x400000abc123ull, 0, &env, &w), GWALK_OK);
	CHECK_EQ(w.gpa, 0x5123);
	CHECK_EQ(w.levels, 4);
	CHECK_EQ(w.page_size, 4096);
	CHECK_EQ(w.table[0], 0x1000 + ((0x400000abc123ull >> 39) & 511) * 8);
	CHECK(w.writable && w.user && w.exec);
	CHECK_EQ(gwalk(&r, 0x7fff80312345ull, 0, &env, &w), GWALK_OK);
	CHECK_EQ(w.gpa, 0x40112345);
	CHECK_EQ(w.levels, 3);
	CHECK_EQ(w.page_size, 2ull << 20);
	CHECK_EQ(gwalk(&r, 0xffff8000abcdef01ull, 0, &env, &w), GWALK_OK);
	CHECK_EQ(w.gpa, 0xabcdef01);
	CHECK_EQ(w.levels, 2);
	CHECK_EQ(w.page_size, 1ull << 30);
	/* A 2 MiB leaf's PAT bit (12) is not part of the address. */
	map(0x600000ull, 0x200000 | (1ull << 12), 2, RW_USER, RW_USER);
	CHECK_EQ(gwalk(&r, 0x612345, 0, &env, &w), GWALK_OK);
	CHECK_EQ(w.gpa, 0x212345);
	CHECK_EQ(writes, 0);	/* plain looks change nothing */
}

TEST(gwalk_not_present_error_codes)
{
	struct gwalk_regs r = regs();
	struct gwalk w;

	reset();
	map(0x200000, 0x3000, 1, 0, RW_USER);	/* PT entry not present */
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W | PFERR_U | GWALK_SET_AD, &env,
		       &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_W | PFERR_U);
	CHECK_EQ(w.levels, 4);
	CHECK_STR(w.why, "the PT entry is not present");
	CHECK_EQ(gwalk(&r, 0x8000000000ull, 0, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, 0);
	CHECK_EQ(w.levels, 1);
	CHECK_STR(w.why, "the PML4 entry is not present");
	/* A fetch reports I/D only where fetches can be refused. */
	CHECK_EQ(gwalk(&r, 0x8000000000ull, PFERR_I, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_I);
	r.efer &= ~EFER_NXE;
	CHECK_EQ(gwalk(&r, 0x8000000000ull, PFERR_I, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, 0);
	r.cr4 |= CR4_SMEP;
	CHECK_EQ(gwalk(&r, 0x8000000000ull, PFERR_I, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_I);
	CHECK_EQ(writes, 0);
}

TEST(gwalk_rights_of_the_whole_path)
{
	struct gwalk_regs r = regs();
	struct gwalk w;

	reset();
	/* Read-only at the PD level only: the whole path is read-only. */
	map(0x200000, 0x3000, 1, RW_USER, GPTE_P | GPTE_US);
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W | PFERR_U, &env, &w),
		 GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_W | PFERR_U);
	CHECK_STR(w.why, "a write to a read-only page");
	CHECK(!w.writable);
	/* Supervisor writes: refused with CR0.WP, allowed without. */
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_W);
	r.cr0 &= ~CR0_WP;
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W, &env, &w), GWALK_OK);
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W | PFERR_U, &env, &w),
		 GWALK_FAULT);	/* user writes never ignore R/W */
	r = regs();
	/* Supervisor only at the leaf (under another PML4 entry: the one
	 * above is read-only for everything below it). */
	map(0x10000000000ull, 0x4000, 1, GPTE_P | GPTE_RW, RW_USER);
	CHECK_EQ(gwalk(&r, 0x10000000000ull, PFERR_U, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_U);
	CHECK_STR(w.why, "a user access to a supervisor page");
	CHECK_EQ(gwalk(&r, 0x10000000000ull, PFERR_W, &env, &w), GWALK_OK);
	/* No-execute anywhere on the path refuses fetches. */
	map(0x8000000000ull, 0x5000, 1, RW_USER, RW_USER | GPTE_NX);
	CHECK_EQ(gwalk(&r, 0x8000000000ull, PFERR_I, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_I);
	CHECK(!w.exec);
	CHECK_EQ(gwalk(&r, 0x8000000000ull, PFERR_W, &env, &w), GWALK_OK);
	/* SMEP: a supervisor fetch from a user page. */
	map(0x18000000000ull, 0x6000, 1, RW_USER, RW_USER);
	CHECK_EQ(gwalk(&r, 0x18000000000ull, PFERR_I, &env, &w), GWALK_OK);
	r.cr4 |= CR4_SMEP;
	CHECK_EQ(gwalk(&r, 0x18000000000ull, PFERR_I, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_I);
	CHECK_EQ(gwalk(&r, 0x18000000000ull, PFERR_I | PFERR_U, &env, &w),
		 GWALK_OK);
	CHECK_EQ(writes, 0);
}

TEST(gwalk_reserved_bits)
{
	struct gwalk_regs r = regs();
	struct gwalk w;

	reset();
	map(0x200000, 0x3000, 1, RW_USER | GPTE_NX, RW_USER);
	CHECK_EQ(gwalk(&r, 0x200000, 0, &env, &w), GWALK_OK);
	r.efer &= ~EFER_NXE;	/* bit 63 is reserved then */
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_RSVD | PFERR_W);
	r = regs();
	ram[0x1000 / 8 + 5] = 0x40000000 | RW_USER | GPTE_PS;	/* in a PML4E */
	CHECK_EQ(gwalk(&r, 5ull << 39, 0, &env, &w), GWALK_FAULT);
	CHECK_EQ(w.error, PFERR_P | PFERR_RSVD);
}

TEST(gwalk_accessed_and_dirty)
{
	struct gwalk_regs r = regs();
	struct gwalk w;

	reset();
	map(0x200000, 0x3000, 1, RW_USER, RW_USER);
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_U | GWALK_SET_AD, &env, &w),
		 GWALK_OK);
	CHECK_EQ(writes, 4);	/* A at every level, no D on a read */
	for (unsigned i = 0; i < 4; i++) {
		CHECK(ram[w.table[i] / 8] & GPTE_A);
		CHECK(!(ram[w.table[i] / 8] & GPTE_D));
	}
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_U | GWALK_SET_AD, &env, &w),
		 GWALK_OK);
	CHECK_EQ(writes, 4);	/* already set: nothing written again */
	CHECK_EQ(gwalk(&r, 0x200000, PFERR_W | GWALK_SET_AD, &env, &w),
		 GWALK_OK);
	CHECK_EQ(writes, 5);	/* D at the leaf only */
	CHECK(ram[w.table[3] / 8] & GPTE_D);
	CHECK(!(ram[w.table[2] / 8] & GPTE_D));
	/* The entries it reports are as read, before the flags. */
	CHECK(!(w.entry[3] & GPTE_D));
	/* A denied access sets nothing. */
	map(0x400000, 0x4000, 1, GPTE_P | GPTE_US, RW_USER);
	unsigned before = writes;
	CHECK_EQ(gwalk(&r, 0x400000, PFERR_W | PFERR_U | GWALK_SET_AD, &env,
		       &w), GWALK_FAULT);
	CHECK_EQ(writes, before);
	/* A 2 MiB leaf gets D too. */
	map(0x600000, 0x200000, 2, RW_USER, RW_USER);
	CHECK_EQ(gwalk(&r, 0x600000, PFERR_W | GWALK_SET_AD, &env, &w),
		 GWALK_OK);
	CHECK(ram[w.table[2] / 8] & (GPTE_A | GPTE_D));
}

TEST(gwalk_not_translatable)
{
	struct gwalk_regs r = regs();
	struct gwalk w;

	reset();
	CHECK_EQ(gwalk(&r, 0x0000800000000000ull, 0, &env, &w), GWALK_BAD);
	CHECK_STR(w.why, "a non-canonical address (#GP, not #PF)");
	/* A table outside RAM: the walker never reads past it. */
	ram[0x1000 / 8] = 0x7ff00000 | RW_USER;
	CHECK_EQ(gwalk(&r, 0x1000, 0, &env, &w), GWALK_BAD);
	CHECK_STR(w.why, "a page table outside RAM");
	r.cr3 = RAM;	/* CR3 itself outside */
	CHECK_EQ(gwalk(&r, 0x1000, 0, &env, &w), GWALK_BAD);
	r = regs();
	r.efer &= ~EFER_LMA;
	CHECK_EQ(gwalk(&r, 0x1000, 0, &env, &w), GWALK_BAD);
	CHECK_STR(w.why, "32-bit or PAE paging outside long mode");
	r = regs();
	r.cr4 |= CR4_LA57;
	CHECK_EQ(gwalk(&r, 0x1000, 0, &env, &w), GWALK_BAD);
	CHECK_STR(w.why, "5-level paging");
	/* A table that points at itself is walked at most four levels. */
	reset();
	r = regs();
	ram[0x1000 / 8] = 0x1000 | RW_USER;
	CHECK_EQ(gwalk(&r, 0, 0, &env, &w), GWALK_OK);
	CHECK_EQ(w.levels, 4);
	CHECK_EQ(w.gpa, 0x1000);
}
