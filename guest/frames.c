/*
 * frames.c - bitmap frame allocator over the multiboot memory map.
 *
 * Invariant: nfree equals the number of zero bits.  Allocation scans from a
 * cursor for a word that is not all ones, so a run of full words costs one
 * compare each; freeing moves the cursor back so low frames are reused first
 * (that keeps the guest's footprint compact and its runs repeatable).
 */
#include "frames.h"

#define WORD_FULL (~0ull)

static int test_bit(const struct frames *f, uint64_t n)
{
	return (f->bits[n / 64] >> (n % 64)) & 1;
}

static void set_used(struct frames *f, uint64_t n)
{
	if (!test_bit(f, n)) {
		f->bits[n / 64] |= 1ull << (n % 64);
		f->nfree--;
	}
}

static void set_free(struct frames *f, uint64_t n)
{
	if (test_bit(f, n)) {
		f->bits[n / 64] &= ~(1ull << (n % 64));
		f->nfree++;
		if (n < f->cursor)
			f->cursor = n;
	}
}

void frames_init(struct frames *f, uint64_t *bits, uint64_t nframes)
{
	f->bits = bits;
	f->nframes = nframes;
	f->nfree = 0;
	f->cursor = 0;
	for (uint64_t w = 0; w < FRAMES_WORDS(nframes); w++)
		bits[w] = WORD_FULL;
}

void frames_add_range(struct frames *f, uint64_t base, uint64_t len)
{
	uint64_t first = (base + FRAME_SIZE - 1) >> FRAME_SHIFT;
	uint64_t end = (base + len) >> FRAME_SHIFT;

	if (base + len < base) /* wraps: clamp to the top */
		end = f->nframes;
	if (end > f->nframes)
		end = f->nframes;
	/* Frame 0 stays used: 0 is the allocator's "none" answer, and the
	 * real-mode IVT lives there anyway. */
	if (first == 0)
		first = 1;
	for (uint64_t n = first; n < end; n++)
		set_free(f, n);
}

void frames_reserve_range(struct frames *f, uint64_t base, uint64_t len)
{
	if (len == 0)
		return;
	uint64_t first = base >> FRAME_SHIFT;
	uint64_t last = (base + len - 1) >> FRAME_SHIFT;

	if (base + len - 1 < base)
		last = f->nframes - 1;
	if (last >= f->nframes)
		last = f->nframes - 1;
	for (uint64_t n = first; n <= last && n < f->nframes; n++)
		set_used(f, n);
}

uint64_t frames_alloc(struct frames *f)
{
	for (uint64_t w = f->cursor / 64; w < FRAMES_WORDS(f->nframes); w++) {
		if (f->bits[w] == WORD_FULL)
			continue;
		for (uint64_t b = 0; b < 64; b++) {
			uint64_t n = w * 64 + b;
			if (n >= f->nframes)
				return 0;
			if (!test_bit(f, n)) {
				set_used(f, n);
				f->cursor = n + 1;
				return n << FRAME_SHIFT;
			}
		}
	}
	return 0;
}

int frames_free(struct frames *f, uint64_t pa)
{
	uint64_t n = pa >> FRAME_SHIFT;
	if ((pa & (FRAME_SIZE - 1)) || n == 0 || n >= f->nframes ||
	    !test_bit(f, n))
		return -1;
	set_free(f, n);
	return 0;
}

int frames_is_used(const struct frames *f, uint64_t pa)
{
	uint64_t n = pa >> FRAME_SHIFT;
	return n >= f->nframes || test_bit(f, n);
}
