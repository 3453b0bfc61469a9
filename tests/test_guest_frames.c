/*
 * test_guest_frames.c - the guest's frame allocator (guest/frames.c).
 */
#include "frames.h"
#include "unit.h"

#define MIB (1024ull * 1024)

static uint64_t bits[FRAMES_WORDS(4096)];

static void make_16mib(struct frames *f)
{
	/* A typical PC map: low RAM, a hole, RAM from 1 MiB. */
	frames_init(f, bits, (16 * MIB) / FRAME_SIZE);
	frames_add_range(f, 0, 0x9FC00);
	frames_add_range(f, MIB, 15 * MIB);
}

TEST(frames_start_all_used)
{
	struct frames f;
	frames_init(&f, bits, 100);
	CHECK_EQ(f.nfree, 0);
	CHECK_EQ(frames_alloc(&f), 0);
}

TEST(frames_add_rounds_inward)
{
	struct frames f;
	frames_init(&f, bits, 100);
	frames_add_range(&f, 0x1800, 0x3000); /* covers whole frames 2, 3 */
	CHECK_EQ(f.nfree, 2);
	CHECK_EQ(frames_alloc(&f), 0x2000);
	CHECK_EQ(frames_alloc(&f), 0x3000);
	CHECK_EQ(frames_alloc(&f), 0);
}

TEST(frames_never_hands_out_frame_zero)
{
	struct frames f;
	frames_init(&f, bits, 10);
	frames_add_range(&f, 0, 10 * FRAME_SIZE);
	CHECK_EQ(f.nfree, 9);
	CHECK(frames_is_used(&f, 0));
}

TEST(frames_reserve_rounds_outward)
{
	struct frames f;
	make_16mib(&f);
	uint64_t before = f.nfree;
	/* A 100-byte structure straddling a frame boundary costs 2 frames. */
	frames_reserve_range(&f, 2 * MIB + 4090, 100);
	CHECK_EQ(f.nfree, before - 2);
	CHECK(frames_is_used(&f, 2 * MIB));
	CHECK(frames_is_used(&f, 2 * MIB + FRAME_SIZE));
	CHECK(!frames_is_used(&f, 2 * MIB + 2 * FRAME_SIZE));
}

TEST(frames_excludes_kernel_and_low_memory)
{
	struct frames f;
	make_16mib(&f);
	frames_reserve_range(&f, 0, MIB);
	frames_reserve_range(&f, MIB, 0x4C000); /* kernel image */
	uint64_t pa = frames_alloc(&f);
	CHECK_EQ(pa, MIB + 0x4C000);
	/* Nothing the allocator returns is below 1 MiB or in the image. */
	for (; pa; pa = frames_alloc(&f))
		CHECK(pa >= MIB + 0x4C000 && pa < 16 * MIB);
	CHECK_EQ(f.nfree, 0);
}

TEST(frames_free_and_reuse_lowest_first)
{
	struct frames f;
	make_16mib(&f);
	frames_reserve_range(&f, 0, MIB);
	uint64_t a = frames_alloc(&f), b = frames_alloc(&f);
	uint64_t c = frames_alloc(&f);
	CHECK_EQ(b, a + FRAME_SIZE);
	CHECK_EQ(frames_free(&f, b), 0);
	CHECK_EQ(frames_alloc(&f), b);
	CHECK_EQ(frames_alloc(&f), c + FRAME_SIZE);
}

TEST(frames_free_rejects_bad_addresses)
{
	struct frames f;
	make_16mib(&f);
	uint64_t a = frames_alloc(&f);
	CHECK_EQ(frames_free(&f, a + 8), -1);            /* unaligned */
	CHECK_EQ(frames_free(&f, 0), -1);                /* frame 0 */
	CHECK_EQ(frames_free(&f, 64 * MIB), -1);         /* out of range */
	CHECK_EQ(frames_free(&f, a), 0);
	CHECK_EQ(frames_free(&f, a), -1);                /* double free */
}

TEST(frames_count_matches_bits)
{
	struct frames f;
	make_16mib(&f);
	uint64_t n = f.nfree, got = 0;
	while (frames_alloc(&f))
		got++;
	CHECK_EQ(got, n);
	CHECK_EQ(f.nfree, 0);
}

TEST(frames_clamp_ranges_beyond_the_end)
{
	struct frames f;
	frames_init(&f, bits, 16);
	frames_add_range(&f, 8 * FRAME_SIZE, ~0ull - 8 * FRAME_SIZE);
	CHECK_EQ(f.nfree, 8);
	frames_reserve_range(&f, 12 * FRAME_SIZE, 1ull << 40);
	CHECK_EQ(f.nfree, 4);
}
