/*
 * test_guest_pt.c - the guest's page-table code (guest/pt.c) over a fake
 * physical memory: a host array whose frame n stands for physical address
 * FAKE_BASE + n * 4 KiB.
 */
#include <stdlib.h>

#include "pt.h"
#include "unit.h"

#define FAKE_BASE 0x200000ull
#define FAKE_FRAMES 64

struct fake_mem {
	uint8_t *mem;
	int used;
};

static uint64_t fake_alloc(void *ctx)
{
	struct fake_mem *m = ctx;
	if (m->used == FAKE_FRAMES)
		return 0;
	uint64_t pa = FAKE_BASE + (uint64_t)m->used++ * 4096;
	memset(m->mem + (pa - FAKE_BASE), 0, 4096);
	return pa;
}

static struct pt_space make_space(struct fake_mem *m)
{
	m->mem = aligned_alloc(4096, FAKE_FRAMES * 4096);
	m->used = 0;
	struct pt_space s = {
		.phys_offset = (uint64_t)(uintptr_t)m->mem - FAKE_BASE,
		.alloc_table = fake_alloc,
		.ctx = m,
	};
	s.root = fake_alloc(m);
	return s;
}

TEST(pt_index_splits_the_address)
{
	uint64_t va = (5ull << 39) | (6ull << 30) | (7ull << 21) | (8ull << 12) | 9;
	CHECK_EQ(pt_index(va, 4), 5);
	CHECK_EQ(pt_index(va, 3), 6);
	CHECK_EQ(pt_index(va, 2), 7);
	CHECK_EQ(pt_index(va, 1), 8);
}

TEST(pt_canonical_addresses)
{
	CHECK(pt_is_canonical(0x00007FFFFFFFFFFFull));
	CHECK(pt_is_canonical(0xFFFF800000000000ull));
	CHECK(!pt_is_canonical(0x0000800000000000ull));
	CHECK(!pt_is_canonical(0xFFFF7FFFFFFFFFFFull));
}

TEST(pt_map_then_walk_4k)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	struct pt_walk w;
	uint64_t old;
	uint64_t va = 0x0000008000123000ull;

	CHECK_EQ(pt_walk(&s, va, &w), 0);
	CHECK_EQ(w.levels, 1); /* stopped at the empty PML4E */
	CHECK_EQ(pt_map(&s, va, 0x5000, PTE_W | PTE_NX, 1, &old), PT_OK);
	CHECK_EQ(old, 0);
	CHECK_EQ(m.used, 4); /* PML4 + PDPT + PD + PT */
	CHECK_EQ(pt_walk(&s, va + 0x123, &w), 1);
	CHECK_EQ(w.levels, 4);
	CHECK_EQ(w.pa, 0x5123);
	CHECK_EQ(w.page_size, 4096);
	CHECK_EQ(w.entry[3], 0x5000 | PTE_P | PTE_W | PTE_NX);
	CHECK_EQ(w.index[0], 1);
	/* Upper levels are P|W without NX: the leaf decides. */
	CHECK_EQ(w.entry[0] & (PTE_P | PTE_W | PTE_NX), PTE_P | PTE_W);
	free(m.mem);
}

/* A user page needs U at every level (SDM 4.6.1); a supervisor page
 * mapped first under the same tables keeps its own leaf's U=0. */
TEST(pt_user_leaf_sets_u_on_every_level)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	struct pt_walk w;
	uint64_t old;

	CHECK_EQ(pt_map(&s, 0x400000, 0x1000, PTE_W, 1, &old), PT_OK);
	CHECK_EQ(pt_walk(&s, 0x400000, &w), 1);
	for (int l = 0; l < 4; l++)
		CHECK_EQ(w.entry[l] & PTE_U, 0);
	CHECK_EQ(pt_map(&s, 0x401000, 0x2000, PTE_U, 1, &old), PT_OK);
	CHECK_EQ(pt_walk(&s, 0x401000, &w), 1);
	for (int l = 0; l < 4; l++)
		CHECK_EQ(w.entry[l] & PTE_U, PTE_U);
	CHECK_EQ(pt_walk(&s, 0x400000, &w), 1);
	CHECK_EQ(w.entry[3] & PTE_U, 0);
	free(m.mem);
}

TEST(pt_neighbours_share_tables)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	uint64_t old;

	pt_map(&s, 0x400000, 0x1000, 0, 1, &old);
	pt_map(&s, 0x401000, 0x2000, 0, 1, &old);
	CHECK_EQ(m.used, 4);
	pt_map(&s, 0x600000, 0x3000, 0, 1, &old); /* next PD entry */
	CHECK_EQ(m.used, 5);
	free(m.mem);
}

TEST(pt_remap_reports_old_entry)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	struct pt_walk w;
	uint64_t old;

	pt_map(&s, 0x7000, 0xA000, PTE_W, 1, &old);
	CHECK_EQ(pt_map(&s, 0x7000, 0xB000, PTE_W, 1, &old), PT_OK);
	/* The caller needs the old present entry to know it must INVLPG. */
	CHECK_EQ(old, 0xA000 | PTE_P | PTE_W);
	pt_walk(&s, 0x7000, &w);
	CHECK_EQ(w.pa, 0xB000);
	free(m.mem);
}

TEST(pt_unmap_clears_and_returns_old)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	struct pt_walk w;
	uint64_t old;

	CHECK_EQ(pt_unmap(&s, 0x9000), 0); /* nothing there, nothing made */
	CHECK_EQ(m.used, 1);
	pt_map(&s, 0x9000, 0xC000, 0, 1, &old);
	CHECK_EQ(pt_unmap(&s, 0x9000), 0xC000 | PTE_P);
	CHECK_EQ(pt_walk(&s, 0x9000, &w), 0);
	CHECK_EQ(w.levels, 4);
	CHECK_EQ(w.entry[3], 0);
	free(m.mem);
}

TEST(pt_map_2m_and_walk)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	struct pt_walk w;
	uint64_t old;
	uint64_t va = 0xFFFF800000000000ull + 0x400000;

	CHECK_EQ(pt_map(&s, va, 0x400000, PTE_W | PTE_NX, 2, &old), PT_OK);
	CHECK_EQ(pt_walk(&s, va + 0x12345, &w), 1);
	CHECK_EQ(w.levels, 3);
	CHECK_EQ(w.page_size, 2ull << 20);
	CHECK_EQ(w.pa, 0x412345);
	CHECK(w.entry[2] & PTE_PS);
	/* A 4 KiB mapping cannot go under a 2 MiB page. */
	CHECK_EQ(pt_map(&s, va + 0x1000, 0x1000, 0, 1, &old), PT_HUGE_IN_WAY);
	CHECK_EQ(pt_map(&s, va + 0x1000, 0x1000, 0, 2, &old), PT_UNALIGNED);
	free(m.mem);
}

TEST(pt_walk_understands_1g_pages)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	struct pt_walk w;
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(s.root + s.phys_offset);
	uint64_t pdpt = fake_alloc(&m);
	uint64_t *pdpt_p = (uint64_t *)(uintptr_t)(pdpt + s.phys_offset);

	pml4[0] = pdpt | PTE_P | PTE_W;
	pdpt_p[1] = 0x80000000ull | PTE_P | PTE_PS;
	CHECK_EQ(pt_walk(&s, 0x40000000ull + 0x1234567, &w), 1);
	CHECK_EQ(w.levels, 2);
	CHECK_EQ(w.pa, 0x80000000ull + 0x1234567);
	free(m.mem);
}

TEST(pt_map_fails_cleanly_without_memory)
{
	struct fake_mem m;
	struct pt_space s = make_space(&m);
	uint64_t old;

	m.used = FAKE_FRAMES;
	CHECK_EQ(pt_map(&s, 0x1000, 0x1000, 0, 1, &old), PT_NO_MEMORY);
	free(m.mem);
}

TEST(pt_describe_pf_error_decodes_bits)
{
	char buf[96];
	pt_describe_pf_error(PF_W, buf, sizeof(buf));
	CHECK_STR(buf, "P=0 W=1 U=0 I=0 (not-present write, supervisor mode)");
	pt_describe_pf_error(PF_P | PF_I | PF_U, buf, sizeof(buf));
	CHECK_STR(buf, "P=1 W=0 U=1 I=1 (protection violation on instruction "
		       "fetch, user mode)");
	pt_describe_pf_error(PF_P | PF_RSVD, buf, sizeof(buf));
	CHECK_STR(buf, "P=1 W=0 U=0 I=0 RSVD=1 (protection violation on read, "
		       "supervisor mode)");
}

TEST(pt_describe_entry_lists_bits)
{
	char buf[48];
	pt_describe_entry(0, buf, sizeof(buf));
	CHECK_STR(buf, "not present");
	pt_describe_entry(0x1000 | PTE_P | PTE_NX, buf, sizeof(buf));
	CHECK_STR(buf, "P RO NX");
	pt_describe_entry(0x1000 | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS, buf,
			  sizeof(buf));
	CHECK_STR(buf, "P W A D PS");
}
