/*
 * test_frame.c - mm/frame.c, the host frame allocator.
 *
 * The "physical" addresses are made up: a normalized map describes them and
 * the bitmap itself lives in a malloc'd host buffer (frame_init is told its
 * fake physical address separately).  The allocator must only ever hand out
 * page-aligned frames of usable RAM at or above FRAME_LOW_LIMIT that do not
 * hold the bitmap, never the same frame twice, and must detect every bad
 * free.
 */
#include <stdlib.h>

#include "../mm/frame.h"
#include "unit.h"

#define U BOOT_MEM_USABLE

/*
 * Map A (normalized).  Usable RAM ends at 256 MiB, so the bitmap covers
 * 65536 frames = 8 KiB = 2 pages.  The 1-frame range at 1 MiB is too small
 * for it, so it goes to 0x200000.  Managed frames:
 *   0x100000            1
 *   0x202000-0x20ffff  14  (0x200000-0x201fff hold the bitmap)
 *   0x300000            1
 *   0x302000-0x309fff   8
 *   0xfff0000-0xfffffff 16
 * = 40.  The usable RAM below 1 MiB is never handed out.
 */
static const struct boot_mem_range map_a[] = {
	{ 0x0, 0x9f000, U, 0 },
	{ 0x9f000, 0x61000, BOOT_MEM_RESERVED, 0 },
	{ 0x100000, 0x1000, U, 0 },
	{ 0x101000, 0xff000, BOOT_MEM_LOADER, 0 },
	{ 0x200000, 0x10000, U, 0 },
	{ 0x210000, 0xf0000, BOOT_MEM_HV_IMAGE, 0 },
	{ 0x300000, 0x1000, U, 0 },
	{ 0x301000, 0x1000, BOOT_MEM_RESERVED, 0 },
	{ 0x302000, 0x8000, U, 0 },
	{ 0x30a000, 0xfce6000, BOOT_MEM_ACPI_NVS, 0 },
	{ 0xfff0000, 0x10000, U, 0 },
	{ 0x10000000, 0xf0000000, BOOT_MEM_RESERVED, 0 },	/* to 4G */
};
#define A_MANAGED 40
#define A_BITMAP_PA 0x200000ull

static struct frame_allocator fa;
static u64 *bm;

/* Sets fa up over map_a with a fresh, garbage-filled host bitmap. */
static void init_a(void)
{
	u64 bytes = frame_bitmap_bytes(map_a, ARRAY_SIZE(map_a));
	free(bm);
	bm = malloc(bytes);
	memset(bm, 0xff, bytes);	/* frame_init must clear it */
	frame_init(&fa, map_a, ARRAY_SIZE(map_a), bm, A_BITMAP_PA, bytes);
}

/* Reference: is this frame one the allocator may hand out? */
static bool ref_managed(const struct boot_mem_range *map, int n, u64 bm_pa,
			u64 bm_bytes, u64 pa)
{
	if (pa < FRAME_LOW_LIMIT || pa % PAGE_SIZE)
		return false;
	if (pa >= bm_pa && pa < bm_pa + bm_bytes)
		return false;
	for (int i = 0; i < n; i++)
		if (map[i].type == U && map[i].base <= pa &&
		    pa + PAGE_SIZE <= map[i].base + map[i].length)
			return true;
	return false;
}

/* The bitmap covers 0 .. end of the last usable range, 64 frames a word. */
TEST(frame_bitmap_sizing)
{
	CHECK_EQ(frame_bitmap_bytes(map_a, ARRAY_SIZE(map_a)), 8192);
	/* 0x141 = 321 frames round up to 384 bits = 48 bytes. */
	static const struct boot_mem_range m1[] = {
		{ 0x100000, 0x41000, U, 0 },
		{ 0x141000, 0x100000000ull, BOOT_MEM_RESERVED, 0 },
	};
	CHECK_EQ(frame_bitmap_bytes(m1, 2), 48);
	/* Exactly 64 frames: one word. */
	static const struct boot_mem_range m2[] = { { 0x0, 0x40000, U, 0 } };
	CHECK_EQ(frame_bitmap_bytes(m2, 1), 8);
	/* No usable RAM: no bitmap. */
	CHECK_EQ(frame_bitmap_bytes(m1 + 1, 1), 0);
	CHECK_EQ(frame_bitmap_bytes(m1, 0), 0);
	/* 4 GiB of RAM: 1 Mi frames, 128 KiB (32 KiB per GiB). */
	static const struct boot_mem_range m3[] = {
		{ 0x100000, 0xfff00000ull, U, 0 } };
	CHECK_EQ(frame_bitmap_bytes(m3, 1), 128 * KiB);
}

/* The bitmap goes into the lowest usable range at/above 1 MiB with room. */
TEST(frame_bitmap_placement)
{
	int n = ARRAY_SIZE(map_a);
	CHECK_EQ(frame_bitmap_place(map_a, n, 8192), 0x200000);	/* skips 1 page */
	CHECK_EQ(frame_bitmap_place(map_a, n, 4096), 0x100000);
	CHECK_EQ(frame_bitmap_place(map_a, n, 1), 0x100000);	/* rounds up */
	CHECK_EQ(frame_bitmap_place(map_a, n, 4097), 0x200000);
	CHECK_EQ(frame_bitmap_place(map_a, n, 0x10000), 0x200000); /* exact */
	CHECK_EQ(frame_bitmap_place(map_a, n, 0x10001), 0);	/* none fits */

	/* Never below FRAME_LOW_LIMIT, even where there is room. */
	static const struct boot_mem_range low[] = {
		{ 0x0, 0x9f000, U, 0 }, { 0x100000, 0x100000, U, 0 } };
	CHECK_EQ(frame_bitmap_place(low, 2, 0x1000), 0x100000);
	CHECK_EQ(frame_bitmap_place(low, 1, 0x1000), 0);
	/* A range straddling 1 MiB: only the part above counts. */
	static const struct boot_mem_range straddle[] = {
		{ 0x80000, 0x100000, U, 0 } };
	CHECK_EQ(frame_bitmap_place(straddle, 1, 0x80000), 0x100000);
	CHECK_EQ(frame_bitmap_place(straddle, 1, 0x81000), 0);
	/* Only usable ranges are considered. */
	static const struct boot_mem_range res[] = {
		{ 0x100000, 0x100000, BOOT_MEM_RESERVED, 0 },
		{ 0x200000, 0x100000, BOOT_MEM_LOADER, 0 } };
	CHECK_EQ(frame_bitmap_place(res, 2, 0x1000), 0);
}

/* Init counts only usable frames >= 1 MiB outside the bitmap. */
TEST(frame_init_counts_managed_frames)
{
	init_a();
	CHECK_EQ(fa.st.total, A_MANAGED);
	CHECK_EQ(fa.st.free, A_MANAGED);
	CHECK_EQ(fa.st.high_water, 0);
	CHECK_EQ(fa.st.allocs, 0);
	CHECK_EQ(fa.st.frees, 0);
	CHECK_EQ(fa.st.failures, 0);
	CHECK_EQ(fa.nframes, 65536);

	CHECK(frame_is_free(&fa, 0x100000));
	CHECK(!frame_is_free(&fa, 0x200000));	/* bitmap */
	CHECK(!frame_is_free(&fa, 0x201000));	/* bitmap */
	CHECK(frame_is_free(&fa, 0x202000));
	CHECK(frame_is_free(&fa, 0x20f000));
	CHECK(!frame_is_free(&fa, 0x210000));	/* hv image */
	CHECK(!frame_is_free(&fa, 0x0));	/* page 0 */
	CHECK(!frame_is_free(&fa, 0x9e000));	/* usable, but < 1 MiB */
	CHECK(!frame_is_free(&fa, 0x150000));	/* loader */
	CHECK(frame_is_free(&fa, 0x300000));
	CHECK(!frame_is_free(&fa, 0x301000));	/* reserved */
	CHECK(frame_is_free(&fa, 0xffff000));
	CHECK(!frame_is_free(&fa, 0x10000000));	/* past the bitmap */
	CHECK(!frame_is_free(&fa, ~0ull & PAGE_MASK));

	/* Exhaustive: the free bits are exactly the reference set. */
	int mismatches = 0;
	for (u64 pa = 0; pa < 0x10000000; pa += PAGE_SIZE)
		mismatches += frame_is_free(&fa, pa) !=
			      ref_managed(map_a, ARRAY_SIZE(map_a), A_BITMAP_PA,
					  8192, pa);
	CHECK_EQ(mismatches, 0);
}

/* Allocation hands out each managed frame once, then fails with 0. */
TEST(frame_alloc_until_exhausted)
{
	u64 got[A_MANAGED];
	init_a();
	int bad = 0;
	for (int i = 0; i < A_MANAGED; i++) {
		u64 pa = frame_alloc(&fa);
		got[i] = pa;
		bad += pa == 0 || pa % PAGE_SIZE ||
		       !ref_managed(map_a, ARRAY_SIZE(map_a), A_BITMAP_PA, 8192,
				    pa) ||
		       frame_is_free(&fa, pa);
		for (int j = 0; j < i; j++)
			bad += got[j] == pa;	/* duplicate */
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(fa.st.free, 0);
	CHECK_EQ(fa.st.allocs, A_MANAGED);
	CHECK_EQ(fa.st.high_water, A_MANAGED);
	CHECK_EQ(fa.st.failures, 0);

	CHECK_EQ(frame_alloc(&fa), 0);
	CHECK_EQ(fa.st.failures, 1);
	CHECK_EQ(frame_alloc(&fa), 0);
	CHECK_EQ(fa.st.failures, 2);
	CHECK_EQ(frame_alloc_contig(&fa, 1, 1), 0);
	CHECK_EQ(fa.st.failures, 3);
	CHECK_EQ(fa.st.allocs, A_MANAGED);	/* failures are not allocs */
}

/* A freed frame is handed out again; counters follow. */
TEST(frame_free_and_realloc)
{
	init_a();
	for (int i = 0; i < A_MANAGED; i++)
		frame_alloc(&fa);
	CHECK_EQ(frame_free(&fa, 0x305000), 0);
	CHECK(frame_is_free(&fa, 0x305000));
	CHECK_EQ(fa.st.free, 1);
	CHECK_EQ(fa.st.frees, 1);
	CHECK_EQ(frame_alloc(&fa), 0x305000);
	CHECK(!frame_is_free(&fa, 0x305000));
	CHECK_EQ(frame_alloc(&fa), 0);

	/* Free two, get both back (in some order), then nothing. */
	CHECK_EQ(frame_free(&fa, 0x100000), 0);
	CHECK_EQ(frame_free(&fa, 0xffff000), 0);
	u64 a = frame_alloc(&fa), b = frame_alloc(&fa);
	CHECK((a == 0x100000 && b == 0xffff000) ||
	      (a == 0xffff000 && b == 0x100000));
	CHECK_EQ(frame_alloc(&fa), 0);
	CHECK_EQ(fa.st.frees, 3);
	CHECK_EQ(fa.st.allocs, A_MANAGED + 3);
}

/* Every bad free returns -1 and changes nothing. */
TEST(frame_free_rejects_bad_addresses)
{
	init_a();
	u64 pa = frame_alloc(&fa);
	CHECK(pa != 0);
	struct frame_stats before = fa.st;

	CHECK_EQ(frame_free(&fa, pa + 1), -1);		/* unaligned */
	CHECK_EQ(frame_free(&fa, pa + 0x800), -1);
	CHECK_EQ(frame_free(&fa, 0x0), -1);		/* page 0 */
	CHECK_EQ(frame_free(&fa, 0x50000), -1);		/* usable < 1 MiB */
	CHECK_EQ(frame_free(&fa, 0x9f000), -1);		/* reserved */
	CHECK_EQ(frame_free(&fa, 0x150000), -1);	/* loader */
	CHECK_EQ(frame_free(&fa, 0x200000), -1);	/* bitmap */
	CHECK_EQ(frame_free(&fa, 0x201000), -1);	/* bitmap */
	CHECK_EQ(frame_free(&fa, 0x250000), -1);	/* hv image */
	CHECK_EQ(frame_free(&fa, 0x301000), -1);	/* reserved hole */
	CHECK_EQ(frame_free(&fa, 0x10000000), -1);	/* beyond the bitmap */
	CHECK_EQ(frame_free(&fa, 0x7fff0000000ull), -1);
	CHECK_EQ(frame_free(&fa, ~0ull & PAGE_MASK), -1);
	/* A managed frame that was never allocated: a double free. */
	u64 other = pa == 0x300000 ? 0x302000 : 0x300000;
	CHECK(frame_is_free(&fa, other));
	CHECK_EQ(frame_free(&fa, other), -1);
	CHECK(!frame_is_free(&fa, 0x200000));	/* still not free */
	CHECK(!frame_is_free(&fa, 0x50000));
	CHECK(memcmp(&before, &fa.st, sizeof(before)) == 0);

	/* The real free works once, the second is a double free. */
	CHECK_EQ(frame_free(&fa, pa), 0);
	CHECK_EQ(frame_free(&fa, pa), -1);
	CHECK_EQ(fa.st.frees, 1);
	CHECK_EQ(fa.st.free, A_MANAGED);
}

/* Contiguous runs: first fit at the requested alignment, never across a
 * hole, never over frames already taken. */
TEST(frame_alloc_contig_aligned)
{
	init_a();
	/* 3 frames, any alignment: the first run is 0x202000 (0x100000 is
	 * a single frame, 0x200000-0x201fff is the bitmap). */
	CHECK_EQ(frame_alloc_contig(&fa, 3, 1), 0x202000);
	CHECK_EQ(fa.st.free, A_MANAGED - 3);
	CHECK_EQ(fa.st.allocs, 3);
	for (u64 p = 0x202000; p < 0x205000; p += PAGE_SIZE)
		CHECK(!frame_is_free(&fa, p));
	/* 2 frames aligned to 8 frames (32 KiB): 0x208000. */
	u64 pa = frame_alloc_contig(&fa, 2, 8);
	CHECK_EQ(pa, 0x208000);
	CHECK_EQ(pa % (8 * PAGE_SIZE), 0);
	/* 3 more frames: 0x205000-0x207fff is still free. */
	CHECK_EQ(frame_alloc_contig(&fa, 3, 1), 0x205000);
	/* 7 frames: 0x20a000-0x20ffff has 6, 0x300000 is alone and
	 * 0x302000-0x309fff has 8. */
	CHECK_EQ(frame_alloc_contig(&fa, 7, 1), 0x302000);
	/* 16 frames aligned to 16: only the top range. */
	CHECK_EQ(frame_alloc_contig(&fa, 16, 16), 0xfff0000);
	CHECK_EQ(fa.st.free, A_MANAGED - 3 - 2 - 3 - 7 - 16);
	CHECK_EQ(fa.st.high_water, 31);
	CHECK_EQ(fa.st.failures, 0);
}

/* Requests that cannot be met: 0 and a counted failure. */
TEST(frame_alloc_contig_impossible)
{
	init_a();
	CHECK_EQ(frame_alloc_contig(&fa, 17, 1), 0);	/* 40 free, max run 16 */
	CHECK_EQ(frame_alloc_contig(&fa, 15, 32), 0);	/* run not aligned */
	CHECK_EQ(frame_alloc_contig(&fa, 41, 1), 0);	/* more than free */
	CHECK_EQ(frame_alloc_contig(&fa, 0, 1), 0);
	CHECK_EQ(frame_alloc_contig(&fa, 1, 0), 0);
	CHECK_EQ(fa.st.failures, 5);
	CHECK_EQ(fa.st.free, A_MANAGED);
	CHECK_EQ(fa.st.allocs, 0);
	/* A run split by one allocated frame is no longer a run. */
	CHECK_EQ(frame_alloc_contig(&fa, 16, 1), 0xfff0000);
	CHECK_EQ(frame_free(&fa, 0xfff0000), 0);
	CHECK_EQ(frame_free(&fa, 0xfff2000), 0);
	CHECK_EQ(frame_alloc_contig(&fa, 2, 1), 0x202000);
	CHECK_EQ(frame_alloc_contig(&fa, 13, 1), 0);	/* 0x204000.. has 12 */
}

/* Frames from contiguous runs are never handed out again by frame_alloc. */
TEST(frame_contig_and_single_disjoint)
{
	init_a();
	u64 run = frame_alloc_contig(&fa, 8, 8);
	CHECK(run != 0);
	int overlap = 0, count = 0;
	for (u64 pa; (pa = frame_alloc(&fa)) != 0; count++)
		overlap += pa >= run && pa < run + 8 * PAGE_SIZE;
	CHECK_EQ(overlap, 0);
	CHECK_EQ(count, A_MANAGED - 8);
}

/* high_water is the most frames in use at once, not the current use. */
TEST(frame_high_water_and_counters)
{
	u64 p[16];
	init_a();
	for (int i = 0; i < 5; i++)
		p[i] = frame_alloc(&fa);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(frame_free(&fa, p[i]), 0);
	CHECK_EQ(fa.st.high_water, 5);
	CHECK_EQ(fa.st.free, A_MANAGED - 2);
	p[0] = frame_alloc(&fa);
	CHECK_EQ(fa.st.high_water, 5);		/* 3 in use */
	for (int i = 1; i < 11; i++)
		p[i] = frame_alloc(&fa);
	CHECK_EQ(fa.st.high_water, 13);
	CHECK(frame_alloc_contig(&fa, 2, 1) != 0);
	CHECK_EQ(fa.st.high_water, 15);
	CHECK_EQ(fa.st.allocs, 5 + 1 + 10 + 2);
	CHECK_EQ(fa.st.frees, 3);
	CHECK_EQ(fa.st.total, A_MANAGED);
	CHECK_EQ(fa.st.free, A_MANAGED - 15);
}

/* --- randomized alloc/free against a reference ------------------------- */

static u64 rng = 0x853c49e6748fea9bull;
static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Map B: many small usable ranges with holes of every kind, ending at
 * 64 MiB, bitmap placed by frame_bitmap_place.  20000 random operations
 * (single allocs, aligned contiguous allocs, good and bad frees) are
 * checked against a reference array of "managed" and "allocated" flags:
 * each result is valid, contig returns exactly the lowest aligned free run,
 * failures happen exactly when the reference says nothing fits, bad frees
 * are refused, and the counters always agree.
 */
TEST(frame_random_vs_reference)
{
	static struct boot_mem_range map[64];
	int n = 0;
	u64 at = 0;
	/* Alternate usable and other ranges of random page counts. */
	while (at < 64 * MiB) {
		u64 len = (1 + rnd() % 48) * PAGE_SIZE;
		if (at + len > 64 * MiB || n == 63)
			len = 64 * MiB - at;
		u32 type = n % 2 == 0 ? U : 2 + (u32)(rnd() % 8);
		map[n++] = (struct boot_mem_range){ .base = at, .length = len,
						    .type = type };
		at += len;
	}
	if (map[n - 1].type != U) {	/* end on usable RAM */
		map[n - 1].type = U;
	}

	u64 bytes = frame_bitmap_bytes(map, n);
	u64 bm_pa = frame_bitmap_place(map, n, bytes);
	CHECK(bm_pa >= FRAME_LOW_LIMIT);
	u64 *bitmap = malloc(bytes);
	frame_init(&fa, map, n, bitmap, bm_pa, bytes);

	u64 nframes = bytes * 8;
	bool *managed = calloc(nframes, 1), *used = calloc(nframes, 1);
	u64 nmanaged = 0, nused = 0, high = 0;
	for (u64 f = 0; f < nframes; f++) {
		managed[f] = ref_managed(map, n, bm_pa, bytes, f * PAGE_SIZE);
		nmanaged += managed[f];
	}
	CHECK_EQ(fa.st.total, nmanaged);

	int bad = 0;
	for (int op = 0; op < 20000 && bad < 5; op++) {
		int what = (int)(rnd() % 10);
		if (what < 4) {				/* single */
			u64 pa = frame_alloc(&fa), f = pa / PAGE_SIZE;
			if (nused == nmanaged) {
				bad += pa != 0;
			} else if (pa == 0 || pa % PAGE_SIZE || f >= nframes ||
				   !managed[f] || used[f]) {
				printf("  op %d: alloc gave 0x%llx\n", op,
				       (unsigned long long)pa);
				bad++;
			} else {
				used[f] = true;
				nused++;
			}
		} else if (what < 6) {			/* contiguous */
			u64 count = 1 + rnd() % 6;
			u64 align = 1ull << (rnd() % 4);
			u64 want = 0;
			for (u64 f = 0; !want && f + count <= nframes;
			     f += align) {
				u64 k = 0;
				while (k < count && managed[f + k] &&
				       !used[f + k])
					k++;
				if (k == count)
					want = f * PAGE_SIZE;
			}
			u64 pa = frame_alloc_contig(&fa, count, align);
			if (pa != want) {
				printf("  op %d: contig(%llu, %llu) gave 0x%llx, "
				       "want 0x%llx\n",
				       op, (unsigned long long)count,
				       (unsigned long long)align,
				       (unsigned long long)pa,
				       (unsigned long long)want);
				bad++;
			} else if (pa) {
				for (u64 k = 0; k < count; k++)
					used[pa / PAGE_SIZE + k] = true;
				nused += count;
			}
		} else if (what < 9 && nused > 0) {	/* good free */
			u64 f = rnd() % nframes;
			while (!used[f])
				f = (f + 1) % nframes;
			if (frame_free(&fa, f * PAGE_SIZE) != 0)
				bad++;
			used[f] = false;
			nused--;
		} else {				/* any address */
			u64 pa = rnd() % (nframes * PAGE_SIZE + 8 * PAGE_SIZE);
			if (rnd() % 2)
				pa &= PAGE_MASK;
			u64 f = pa / PAGE_SIZE;
			bool ok = pa % PAGE_SIZE == 0 && f < nframes &&
				  managed[f] && used[f];
			int rc = frame_free(&fa, pa);
			if (rc != (ok ? 0 : -1)) {
				printf("  op %d: free(0x%llx) = %d\n", op,
				       (unsigned long long)pa, rc);
				bad++;
			}
			if (ok) {
				used[f] = false;
				nused--;
			}
		}
		high = MAX(high, nused);
		if (fa.st.free != nmanaged - nused || fa.st.high_water != high) {
			printf("  op %d: free %llu high %llu, want %llu %llu\n",
			       op, (unsigned long long)fa.st.free,
			       (unsigned long long)fa.st.high_water,
			       (unsigned long long)(nmanaged - nused),
			       (unsigned long long)high);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(high > 0);

	/* At the end the bitmap agrees with the reference frame by frame. */
	int mismatches = 0;
	for (u64 f = 0; f < nframes; f++)
		mismatches += frame_is_free(&fa, f * PAGE_SIZE) !=
			      (managed[f] && !used[f]);
	CHECK_EQ(mismatches, 0);
	free(managed);
	free(used);
	free(bitmap);
}
