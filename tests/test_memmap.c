/*
 * test_memmap.c - boot/memmap.c: turning a firmware memory map into sorted,
 * non-overlapping, page-aligned ranges the frame allocator can trust.
 *
 * Small hand-written maps pin down each rule (sorting, precedence, usable
 * shrinks / others grow, merging, dropped entries, the top of the address
 * space, the cap); an OVMF-shaped map checks them together; a randomized
 * test compares every output against a brute-force page-by-page reference.
 */
#include <stdlib.h>

#include "../boot/memmap.h"
#include "unit.h"

#define U BOOT_MEM_USABLE
#define TOP_PAGE 0xfffffffffffff000ull	/* last page: not representable */

struct r {
	u64 base, len;
	u32 type;
};

/* Builds a struct boot_mem_range array from a compact table. */
static int load(struct boot_mem_range *map, const struct r *in, int n)
{
	for (int i = 0; i < n; i++)
		map[i] = (struct boot_mem_range){ .base = in[i].base,
						  .length = in[i].len,
						  .type = in[i].type };
	return n;
}

/* Checks map[0..n) equals want[0..nwant), printing the first difference. */
static void expect_map_at(int line, const struct boot_mem_range *map, int n,
			  const struct r *want, int nwant)
{
	if (n != nwant) {
		printf("  %s:%d: %d ranges, want %d\n", __FILE__, line, n, nwant);
		unit_failed_checks++;
	}
	for (int i = 0; i < n && i < nwant; i++) {
		if (map[i].base != want[i].base || map[i].length != want[i].len ||
		    map[i].type != want[i].type) {
			printf("  %s:%d: range %d is 0x%llx+0x%llx %s, want "
			       "0x%llx+0x%llx %s\n",
			       __FILE__, line, i,
			       (unsigned long long)map[i].base,
			       (unsigned long long)map[i].length,
			       memmap_type_name(map[i].type),
			       (unsigned long long)want[i].base,
			       (unsigned long long)want[i].len,
			       memmap_type_name(want[i].type));
			unit_failed_checks++;
			return;
		}
	}
}
#define EXPECT_MAP(map, n, ...)                                             \
	do {                                                                \
		static const struct r want_[] = { __VA_ARGS__ };            \
		expect_map_at(__LINE__, map, n, want_, ARRAY_SIZE(want_));  \
	} while (0)

/* Normalizes a table in a BOOT_MMAP_MAX buffer; returns the count. */
static struct boot_mem_range M[BOOT_MMAP_MAX];
#define NORMALIZE(...)                                                      \
	({                                                                  \
		static const struct r in_[] = { __VA_ARGS__ };              \
		memmap_normalize(M, load(M, in_, ARRAY_SIZE(in_)),          \
				 BOOT_MMAP_MAX);                            \
	})

/* memmap_add appends until cap, then refuses without writing past it. */
TEST(memmap_add_respects_cap)
{
	struct boot_mem_range map[4];
	memset(map, 0xab, sizeof(map));
	int n = 0;

	n = memmap_add(map, n, 3, 0x1000, 0x2000, U);
	CHECK_EQ(n, 1);
	n = memmap_add(map, n, 3, 0x5000, 0x1000, BOOT_MEM_RESERVED);
	CHECK_EQ(n, 2);
	n = memmap_add(map, n, 3, 0x9000, 0x10, BOOT_MEM_ACPI_NVS);
	CHECK_EQ(n, 3);
	CHECK_EQ(memmap_add(map, n, 3, 0xa000, 0x1000, U), -1);
	CHECK_EQ(map[3].base, 0xababababababababull);	/* untouched */
	CHECK_EQ(map[0].base, 0x1000);
	CHECK_EQ(map[0].length, 0x2000);
	CHECK_EQ(map[0].type, U);
	CHECK_EQ(map[2].base, 0x9000);
	CHECK_EQ(map[2].length, 0x10);
	CHECK_EQ(map[2].type, BOOT_MEM_ACPI_NVS);
	/* A failed add (-1) fed back in stays -1: errors propagate. */
	CHECK_EQ(memmap_add(map, -1, 3, 0, 0x1000, U), -1);
	CHECK_EQ(memmap_add(map, 0, 0, 0, 0x1000, U), -1);
	CHECK_EQ(map[0].base, 0x1000);
}

/* Nothing in, nothing out; one clean range passes through unchanged. */
TEST(memmap_normalize_trivial)
{
	CHECK_EQ(memmap_normalize(M, 0, BOOT_MMAP_MAX), 0);
	int n = NORMALIZE({ 0x100000, 0x7f00000, U });
	EXPECT_MAP(M, n, { 0x100000, 0x7f00000, U });
}

/* Output is sorted by address whatever the input order. */
TEST(memmap_normalize_sorts)
{
	int n = NORMALIZE({ 0x9000, 0x1000, BOOT_MEM_RESERVED },
			  { 0x1000, 0x1000, U },
			  { 0x100000000ull, 0x1000, U },
			  { 0x5000, 0x2000, BOOT_MEM_ACPI_RECLAIM });
	EXPECT_MAP(M, n, { 0x1000, 0x1000, U },
		   { 0x5000, 0x2000, BOOT_MEM_ACPI_RECLAIM },
		   { 0x9000, 0x1000, BOOT_MEM_RESERVED },
		   { 0x100000000ull, 0x1000, U });
}

/* Usable ranges shrink to whole pages; a sub-page usable range vanishes. */
TEST(memmap_usable_shrinks_inward)
{
	int n = NORMALIZE({ 0x1001, 0x2fff, U },	/* [0x1001, 0x4000) */
			  { 0x10000, 0x1fff, U },	/* [0x10000,0x11fff) */
			  { 0x20800, 0x700, U });	/* inside one page */
	EXPECT_MAP(M, n, { 0x2000, 0x2000, U }, { 0x10000, 0x1000, U });
}

/* Every other type grows outward: a partly reserved page is reserved. */
TEST(memmap_others_grow_outward)
{
	int n = NORMALIZE({ 0x1800, 0x10, BOOT_MEM_RESERVED },
			  { 0x4fff, 0x2, BOOT_MEM_ACPI_NVS },	/* spans 2 */
			  { 0x8000, 0x1000, BOOT_MEM_FIRMWARE });
	EXPECT_MAP(M, n, { 0x1000, 0x1000, BOOT_MEM_RESERVED },
		   { 0x4000, 0x2000, BOOT_MEM_ACPI_NVS },
		   { 0x8000, 0x1000, BOOT_MEM_FIRMWARE });
}

/* Where ranges overlap the higher type wins, and only where they overlap. */
TEST(memmap_overlap_precedence)
{
	/* A loader allocation inside usable RAM splits it in three. */
	int n = NORMALIZE({ 0x0, 0x100000, U },
			  { 0x40000, 0x3000, BOOT_MEM_LOADER });
	EXPECT_MAP(M, n, { 0x0, 0x40000, U },
		   { 0x40000, 0x3000, BOOT_MEM_LOADER },
		   { 0x43000, 0xbd000, U });

	/* Reserved (8) beats ACPI reclaim (5) in the overlap, either order. */
	n = NORMALIZE({ 0x10000, 0x4000, BOOT_MEM_RESERVED },
		      { 0x8000, 0xa000, BOOT_MEM_ACPI_RECLAIM });
	EXPECT_MAP(M, n, { 0x8000, 0x8000, BOOT_MEM_ACPI_RECLAIM },
		   { 0x10000, 0x4000, BOOT_MEM_RESERVED });

	/* Nesting, lowest to highest: usable < module < hv-image < bad. */
	n = NORMALIZE({ 0x0, 0x10000, U },
		      { 0x2000, 0xa000, BOOT_MEM_MODULE },
		      { 0x3000, 0x6000, BOOT_MEM_HV_IMAGE },
		      { 0x5000, 0x1000, BOOT_MEM_BAD });
	EXPECT_MAP(M, n, { 0x0, 0x2000, U },
		   { 0x2000, 0x1000, BOOT_MEM_MODULE },
		   { 0x3000, 0x2000, BOOT_MEM_HV_IMAGE },
		   { 0x5000, 0x1000, BOOT_MEM_BAD },
		   { 0x6000, 0x3000, BOOT_MEM_HV_IMAGE },
		   { 0x9000, 0x3000, BOOT_MEM_MODULE },
		   { 0xc000, 0x4000, U });

	/* A lower type never eats into a higher one that covers it. */
	n = NORMALIZE({ 0x4000, 0x4000, BOOT_MEM_FIRMWARE },
		      { 0x0, 0x10000, U });
	EXPECT_MAP(M, n, { 0x0, 0x4000, U },
		   { 0x4000, 0x4000, BOOT_MEM_FIRMWARE },
		   { 0x8000, 0x8000, U });

	/* A reserved byte in the middle of usable RAM costs the whole page. */
	n = NORMALIZE({ 0x1000, 0xf000, U },
		      { 0x5800, 0x10, BOOT_MEM_RESERVED });
	EXPECT_MAP(M, n, { 0x1000, 0x4000, U },
		   { 0x5000, 0x1000, BOOT_MEM_RESERVED },
		   { 0x6000, 0xa000, U });
}

/* Adjacent or overlapping ranges of one type merge; different types or a
 * gap keep them apart. */
TEST(memmap_merges_adjacent_same_type)
{
	int n = NORMALIZE({ 0x0, 0x1000, U }, { 0x1000, 0x1000, U },
			  { 0x1800, 0x4000, U },	/* overlaps both */
			  { 0x6000, 0x1000, U },	/* after a gap */
			  { 0x7000, 0x1000, BOOT_MEM_RESERVED },
			  { 0x8000, 0x1000, BOOT_MEM_RESERVED });
	EXPECT_MAP(M, n, { 0x0, 0x5000, U },	/* 0x1800+0x4000 shrinks */
		   { 0x6000, 0x1000, U },
		   { 0x7000, 0x2000, BOOT_MEM_RESERVED });

	/* Duplicates of one range collapse into it. */
	n = NORMALIZE({ 0x3000, 0x2000, BOOT_MEM_ACPI_NVS },
		      { 0x3000, 0x2000, BOOT_MEM_ACPI_NVS },
		      { 0x3000, 0x2000, BOOT_MEM_ACPI_NVS });
	EXPECT_MAP(M, n, { 0x3000, 0x2000, BOOT_MEM_ACPI_NVS });
}

/* Zero-length ranges, BOOT_MEM_NONE and out-of-range types are dropped and
 * do not affect anything they overlap. */
TEST(memmap_drops_empty_none_and_invalid)
{
	int n = NORMALIZE({ 0x1000, 0, BOOT_MEM_RESERVED },
			  { 0x2000, 0x1000, BOOT_MEM_NONE },
			  { 0x3000, 0x1000, BOOT_MEM_TYPE_COUNT },
			  { 0x4000, 0x1000, 0xffffffffu },
			  { 0x0, 0x10000, U },
			  { 0x8000, 0x1000, 77 });
	EXPECT_MAP(M, n, { 0x0, 0x10000, U });

	n = NORMALIZE({ 0x1000, 0, U }, { 0x5000, 0x1000, BOOT_MEM_NONE });
	CHECK_EQ(n, 0);
}

/* Ranges reaching or wrapping past 2^64 are clamped to the top page
 * boundary; nothing wraps around to low addresses. */
TEST(memmap_wraps_at_top_of_address_space)
{
	/* Usable, wraps: clamped to [base, TOP_PAGE). */
	int n = NORMALIZE({ 0xffffffff00000000ull, 0x200000000ull, U });
	EXPECT_MAP(M, n, { 0xffffffff00000000ull, 0xfffff000ull, U });

	/* Reserved whose end is in the last page: grows to TOP_PAGE. */
	n = NORMALIZE({ 0xffffffffffff0800ull, 0xf000, BOOT_MEM_RESERVED });
	EXPECT_MAP(M, n, { 0xffffffffffff0000ull, 0xf000, BOOT_MEM_RESERVED });

	/* Reserved that wraps: from its page to TOP_PAGE, nothing at 0. */
	n = NORMALIZE({ 0xffffffffffffd010ull, 0x5000, BOOT_MEM_FIRMWARE },
		      { 0x0, 0x2000, U });
	EXPECT_MAP(M, n, { 0x0, 0x2000, U },
		   { 0xffffffffffffd000ull, 0x2000, BOOT_MEM_FIRMWARE });

	/* base + length == 2^64 exactly. */
	n = NORMALIZE({ 0xfffffffffff00000ull, 0x100000, U });
	EXPECT_MAP(M, n, { 0xfffffffffff00000ull, 0xff000, U });

	/* The whole space: one range up to TOP_PAGE. */
	n = NORMALIZE({ 0, ~0ull, U });
	EXPECT_MAP(M, n, { 0, TOP_PAGE, U });
	/* Every output range ends without overflow. */
	for (int i = 0; i < n; i++)
		CHECK(M[i].base + M[i].length >= M[i].base);
}

/*
 * A usable range starting inside the last page (> 0xfffffffffffff000) has
 * no whole representable page and must simply vanish.  Regression:
 * align_range() rounded its base up with ALIGN_UP, which wrapped to 0, so
 * a 3 KiB usable entry at the top made [0, 0xfffffffffffff000) usable.
 */
TEST(memmap_usable_in_last_page)
{
	int n = NORMALIZE({ 0xfffffffffffff346ull, 0xc6a, U });
	CHECK_EQ(n, 0);
	EXPECT_MAP(M, n);

	/* Wrapping variant, next to real RAM and a reservation. */
	n = NORMALIZE({ 0x100000, 0x100000, U },
		      { 0x300000, 0x1000, BOOT_MEM_RESERVED },
		      { 0xfffffffffffff800ull, 0x1000, U });
	EXPECT_MAP(M, n, { 0x100000, 0x100000, U },
		   { 0x300000, 0x1000, BOOT_MEM_RESERVED });
	CHECK(!memmap_contains(M, n, 0x0, 0x1000, U));
	CHECK_EQ(memmap_total(M, n, U), 0x100000);
}

/* More output ranges than cap: -1 and the map is left exactly as it was;
 * exactly cap ranges fit.  cap may be smaller than the input count. */
TEST(memmap_cap_overflow_leaves_map_unchanged)
{
	static const struct r in[] = { { 0x0, 0x10000, U },
					{ 0x2000, 0x1000, BOOT_MEM_LOADER },
					{ 0x6000, 0x1000, BOOT_MEM_MODULE } };
	struct boot_mem_range map[8], copy[8];

	/* Needs 5 ranges: U L U M U. */
	int n = load(map, in, 3);
	memcpy(copy, map, sizeof(map));
	CHECK_EQ(memmap_normalize(map, n, 4), -1);
	CHECK(memcmp(map, copy, sizeof(map)) == 0);
	CHECK_EQ(memmap_normalize(map, n, 0), -1);
	CHECK(memcmp(map, copy, sizeof(map)) == 0);
	CHECK_EQ(memmap_normalize(map, n, 5), 5);

	/* Four inputs that merge into one fit a cap of 1. */
	static const struct r four[] = { { 0x0, 0x1000, U },
					 { 0x1000, 0x1000, U },
					 { 0x2000, 0x1000, U },
					 { 0x3000, 0x1000, U } };
	n = load(map, four, 4);
	CHECK_EQ(memmap_normalize(map, n, 1), 1);
	EXPECT_MAP(map, 1, { 0x0, 0x4000, U });

	/* Bad arguments are refused. */
	n = load(map, in, 3);
	CHECK_EQ(memmap_normalize(map, -1, 8), -1);
	CHECK_EQ(memmap_normalize(map, BOOT_MMAP_MAX + 1, 8), -1);
	CHECK_EQ(memmap_normalize(map, 3, BOOT_MMAP_MAX + 1), -1);
	CHECK(memcmp(map, copy, sizeof(struct boot_mem_range) * 3) == 0);
}

/* A full BOOT_MMAP_MAX of disjoint ranges normalizes to itself. */
TEST(memmap_full_map)
{
	static struct boot_mem_range map[BOOT_MMAP_MAX];
	for (int i = 0; i < BOOT_MMAP_MAX; i++)	/* reverse order */
		map[i] = (struct boot_mem_range){
			.base = (u64)(BOOT_MMAP_MAX - 1 - i) * 0x2000,
			.length = 0x1000, .type = 1 + (u32)i % 8 };
	CHECK_EQ(memmap_normalize(map, BOOT_MMAP_MAX, BOOT_MMAP_MAX),
		 BOOT_MMAP_MAX);
	bool ok = true;
	for (int i = 0; i < BOOT_MMAP_MAX; i++)
		ok &= map[i].base == (u64)i * 0x2000 && map[i].length == 0x1000 &&
		      map[i].type == 1 + (u32)(BOOT_MMAP_MAX - 1 - i) % 8;
	CHECK(ok);
}

/* An OVMF-shaped map: unsorted firmware descriptors plus the loader's own
 * ranges (hv image, a module, boot_info) inside conventional memory. */
TEST(memmap_ovmf_like_map)
{
	int n = NORMALIZE(
		/* loader additions, as the UEFI loader appends them */
		{ 0x200000, 0xa000, BOOT_MEM_HV_IMAGE },
		{ 0x20a000, 0x2800, BOOT_MEM_HV_IMAGE },
		{ 0x1000000, 0x12345, BOOT_MEM_MODULE },
		{ 0x7e000000, 0x9a28, BOOT_MEM_LOADER },
		/* firmware descriptors, out of order */
		{ 0x100000000ull, 0x80000000ull, U },
		{ 0x900000, 0x7e4f0000, U },
		{ 0x0, 0xa0000, U },
		{ 0x9fc00, 0x400, BOOT_MEM_ACPI_RECLAIM },	/* EBDA table */
		{ 0x800000, 0x8000, BOOT_MEM_ACPI_NVS },
		{ 0x100000, 0x700000, U },
		{ 0x80b000, 0x1000, BOOT_MEM_ACPI_NVS },
		{ 0x808000, 0x3000, U },
		{ 0x810000, 0xf0000, BOOT_MEM_ACPI_NVS },
		{ 0x80c000, 0x4000, U },
		{ 0x7edf0000, 0x110000, BOOT_MEM_FIRMWARE },
		{ 0xffc00000, 0x400000, BOOT_MEM_RESERVED },
		{ 0x7ef00000, 0x80000, U },
		{ 0x7ef80000, 0x10000, BOOT_MEM_ACPI_RECLAIM },
		{ 0xb0000000, 0x10000000, BOOT_MEM_RESERVED },
		{ 0x7ef90000, 0x70000, BOOT_MEM_ACPI_NVS },
		{ 0x7f000000, 0x1000000, BOOT_MEM_RESERVED });
	static const struct r want[] = {
		{ 0x0, 0x9f000, U },
		{ 0x9f000, 0x1000, BOOT_MEM_ACPI_RECLAIM },
		{ 0x100000, 0x100000, U },
		{ 0x200000, 0xd000, BOOT_MEM_HV_IMAGE },	/* merged */
		{ 0x20d000, 0x5f3000, U },
		{ 0x800000, 0x8000, BOOT_MEM_ACPI_NVS },
		{ 0x808000, 0x3000, U },
		{ 0x80b000, 0x1000, BOOT_MEM_ACPI_NVS },
		{ 0x80c000, 0x4000, U },
		{ 0x810000, 0xf0000, BOOT_MEM_ACPI_NVS },
		{ 0x900000, 0x700000, U },
		{ 0x1000000, 0x13000, BOOT_MEM_MODULE },
		{ 0x1013000, 0x7cfed000, U },
		{ 0x7e000000, 0xa000, BOOT_MEM_LOADER },
		{ 0x7e00a000, 0xde6000, U },
		{ 0x7edf0000, 0x110000, BOOT_MEM_FIRMWARE },
		{ 0x7ef00000, 0x80000, U },
		{ 0x7ef80000, 0x10000, BOOT_MEM_ACPI_RECLAIM },
		{ 0x7ef90000, 0x70000, BOOT_MEM_ACPI_NVS },
		{ 0x7f000000, 0x1000000, BOOT_MEM_RESERVED },
		{ 0xb0000000, 0x10000000, BOOT_MEM_RESERVED },
		{ 0xffc00000, 0x400000, BOOT_MEM_RESERVED },
		{ 0x100000000ull, 0x80000000ull, U },
	};
	expect_map_at(__LINE__, M, n, want, ARRAY_SIZE(want));

	u64 usable = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		if (want[i].type == U)
			usable += want[i].len;
	CHECK_EQ(memmap_total(M, n, U), usable);
	CHECK_EQ(memmap_total(M, n, BOOT_MEM_HV_IMAGE), 0xd000);
	CHECK_EQ(memmap_total(M, n, BOOT_MEM_RESERVED),
		 0x1000000 + 0x10000000 + 0x400000);

	/* The hv image and the module are never usable. */
	CHECK(!memmap_contains(M, n, 0x200000, 0x1000, U));
	CHECK(memmap_contains(M, n, 0x200000, 0xd000, BOOT_MEM_HV_IMAGE));
	CHECK(memmap_contains(M, n, 0x1012000, 0x1000, BOOT_MEM_MODULE));
	CHECK(memmap_contains(M, n, 0x1013000, 0x1000, U));

	/* Normalizing a normalized map changes nothing. */
	int again = memmap_normalize(M, n, BOOT_MMAP_MAX);
	expect_map_at(__LINE__, M, again, want, ARRAY_SIZE(want));
}

/* memmap_total sums the bytes of exactly one type. */
TEST(memmap_total_by_type)
{
	int n = NORMALIZE({ 0x0, 0x3000, U }, { 0x5000, 0x2000, U },
			  { 0x3000, 0x1000, BOOT_MEM_RESERVED });
	CHECK_EQ(memmap_total(M, n, U), 0x5000);
	CHECK_EQ(memmap_total(M, n, BOOT_MEM_RESERVED), 0x1000);
	CHECK_EQ(memmap_total(M, n, BOOT_MEM_ACPI_NVS), 0);
	CHECK_EQ(memmap_total(M, 0, U), 0);
}

/* memmap_contains: inside one range of the type, or not at all. */
TEST(memmap_contains_ranges)
{
	int n = NORMALIZE({ 0x100000, 0x100000, U },
			  { 0x200000, 0x100000, BOOT_MEM_LOADER },
			  { 0x300000, 0x100000, U });
	CHECK(memmap_contains(M, n, 0x100000, 0x100000, U));	/* exact */
	CHECK(memmap_contains(M, n, 0x180000, 0x1000, U));
	CHECK(memmap_contains(M, n, 0x1ff000, 0x1000, U));	/* last page */
	CHECK(!memmap_contains(M, n, 0x1ff000, 0x2000, U));	/* crosses */
	CHECK(!memmap_contains(M, n, 0xff000, 0x2000, U));	/* starts before */
	CHECK(!memmap_contains(M, n, 0x180000, 0x200000, U));	/* spans loader */
	CHECK(!memmap_contains(M, n, 0x200000, 0x1000, U));	/* wrong type */
	CHECK(memmap_contains(M, n, 0x200000, 0x1000, BOOT_MEM_LOADER));
	CHECK(!memmap_contains(M, n, 0x400000, 0x1000, U));	/* past end */
	CHECK(!memmap_contains(M, n, 0x0, 0x1000, U));
	/* base + len overflowing must not wrap into a match. */
	CHECK(!memmap_contains(M, n, 0x100000, ~0ull, U));
	CHECK(!memmap_contains(M, n, 0x100000, 0ull - 0x100000 + 0x1000, U));
	CHECK(!memmap_contains(M, 0, 0x100000, 0x1000, U));
}

/* Every type has its name; anything else is "unknown". */
TEST(memmap_type_names)
{
	CHECK_STR(memmap_type_name(BOOT_MEM_NONE), "none");
	CHECK_STR(memmap_type_name(BOOT_MEM_USABLE), "usable");
	CHECK_STR(memmap_type_name(BOOT_MEM_LOADER), "loader");
	CHECK_STR(memmap_type_name(BOOT_MEM_MODULE), "module");
	CHECK_STR(memmap_type_name(BOOT_MEM_HV_IMAGE), "hv-image");
	CHECK_STR(memmap_type_name(BOOT_MEM_ACPI_RECLAIM), "acpi");
	CHECK_STR(memmap_type_name(BOOT_MEM_ACPI_NVS), "acpi-nvs");
	CHECK_STR(memmap_type_name(BOOT_MEM_FIRMWARE), "firmware");
	CHECK_STR(memmap_type_name(BOOT_MEM_RESERVED), "reserved");
	CHECK_STR(memmap_type_name(BOOT_MEM_BAD), "bad");
	CHECK_STR(memmap_type_name(BOOT_MEM_TYPE_COUNT), "unknown");
	CHECK_STR(memmap_type_name(0xffffffffu), "unknown");
}

/* --- randomized property test ------------------------------------------ */

static u64 rng = 0x2545f4914f6cdd1dull;
static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * The reference, by brute force over the input: the type of the page at
 * `page` is the highest type among the valid input ranges that cover it,
 * where a usable range covers only pages it contains completely and any
 * other type covers every page it touches.  Ends are computed in 128 bits;
 * a range that wraps reaches 2^64.  The last page is never representable.
 */
static u32 reference_type(const struct boot_mem_range *in, int n, u64 page)
{
	u32 best = BOOT_MEM_NONE;
	if (page == TOP_PAGE)
		return BOOT_MEM_NONE;
	for (int i = 0; i < n; i++) {
		const struct boot_mem_range *r = &in[i];
		unsigned __int128 end = (unsigned __int128)r->base + r->length;
		if (end > ((unsigned __int128)1 << 64))
			end = (unsigned __int128)1 << 64;
		if (r->length == 0 || r->type == BOOT_MEM_NONE ||
		    r->type >= BOOT_MEM_TYPE_COUNT)
			continue;
		bool covers = r->type == U
			? r->base <= page && page + PAGE_SIZE <= end
			: r->base < page + PAGE_SIZE && page < end;
		if (covers && r->type > best)
			best = r->type;
	}
	return best;
}

/* Type of the normalized map at addr, NONE if no range covers it. */
static u32 lookup(const struct boot_mem_range *map, int n, u64 addr)
{
	for (int i = 0; i < n; i++)
		if (map[i].base <= addr && addr - map[i].base < map[i].length)
			return map[i].type;
	return BOOT_MEM_NONE;
}

/*
 * 500 random maps (fixed seed), each normalized and checked: sorted,
 * non-overlapping, page-aligned, non-empty, valid types, no adjacent
 * ranges of one type; the type at random and boundary probe addresses
 * equals the brute-force reference; normalizing again is the identity;
 * a cap one short of the result fails and leaves the input untouched.
 * Some maps live just below 2^64 so that ranges wrap.
 */
TEST(memmap_random_property)
{
	static struct boot_mem_range in[40], map[BOOT_MMAP_MAX],
		again[BOOT_MMAP_MAX];
	int bad_shape = 0, bad_type = 0, bad_idem = 0, bad_cap = 0;

	for (int iter = 0; iter < 500; iter++) {
		int nin = 1 + (int)(rnd() % 24);
		bool high = iter % 5 == 4;
		u64 origin = high ? 0ull - 64 * PAGE_SIZE : 0;
		u64 span = 64 * PAGE_SIZE;

		for (int i = 0; i < nin; i++) {
			u64 base = origin + rnd() % span;
			u64 len = rnd() % 4 == 0 ? rnd() % PAGE_SIZE
						 : rnd() % (span / 2);
			if (rnd() % 16 == 0)
				len = 0;
			if (rnd() % 3 == 0) {	/* page-aligned sometimes */
				base &= PAGE_MASK;
				len &= PAGE_MASK;
			}
			u32 type = (u32)(rnd() % 12);	/* 10, 11: invalid */
			if (rnd() % 2)
				type = U;	/* lots of usable */
			in[i] = (struct boot_mem_range){ .base = base,
							 .length = len,
							 .type = type };
		}
		memcpy(map, in, sizeof(in[0]) * (size_t)nin);
		int n = memmap_normalize(map, nin, BOOT_MMAP_MAX);

		/* Shape of the output. */
		bool shape = n >= 0;
		for (int i = 0; shape && i < n; i++) {
			const struct boot_mem_range *r = &map[i];
			shape = r->length > 0 && r->base % PAGE_SIZE == 0 &&
				r->length % PAGE_SIZE == 0 &&
				r->base + r->length > r->base &&
				r->type > BOOT_MEM_NONE &&
				r->type < BOOT_MEM_TYPE_COUNT;
			if (shape && i > 0) {
				u64 prev_end = map[i - 1].base + map[i - 1].length;
				shape = prev_end <= r->base &&
					!(prev_end == r->base &&
					  map[i - 1].type == r->type);
			}
		}
		if (!shape) {
			if (bad_shape++ == 0)
				printf("  bad shape in iteration %d\n", iter);
			continue;
		}

		/* Probe: random addresses and every input boundary +-1. */
		for (int k = 0; k < 300; k++) {
			u64 a;
			if (k < 4 * nin) {
				const struct boot_mem_range *r = &in[k / 4];
				u64 edge = k % 2 ? r->base + r->length : r->base;
				a = edge + (k % 4 < 2 ? 0 : (u64)-1);
			} else {
				a = origin + rnd() % span;
			}
			u32 want = reference_type(in, nin, a & PAGE_MASK);
			u32 got = lookup(map, n, a);
			if (want != got && bad_type++ < 5)
				printf("  iteration %d: addr 0x%llx is %s, want "
				       "%s\n",
				       iter, (unsigned long long)a,
				       memmap_type_name(got),
				       memmap_type_name(want));
		}

		/* Idempotent. */
		memcpy(again, map, sizeof(map[0]) * (size_t)n);
		if (memmap_normalize(again, n, BOOT_MMAP_MAX) != n ||
		    memcmp(again, map, sizeof(map[0]) * (size_t)n) != 0)
			bad_idem++;

		/* One short of the needed cap: -1, input unchanged. */
		if (n > 0) {
			memcpy(again, in, sizeof(in[0]) * (size_t)nin);
			if (memmap_normalize(again, nin, n - 1) != -1 ||
			    memcmp(again, in, sizeof(in[0]) * (size_t)nin) != 0)
				bad_cap++;
		}
	}
	CHECK_EQ(bad_shape, 0);
	CHECK_EQ(bad_type, 0);
	CHECK_EQ(bad_idem, 0);
	CHECK_EQ(bad_cap, 0);
}
