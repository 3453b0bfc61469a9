/*
 * frames.h - the guest-physical frame allocator.
 *
 * A bitmap with one bit per 4 KiB frame of guest-physical memory below
 * `nframes * 4 KiB`: 1 = in use or not RAM, 0 = free.  It starts all ones;
 * usable RAM ranges are freed into it, then the kernel image and the boot
 * data are reserved again.  The bitmap lives outside the frames it tracks
 * (in the kernel's .bss), so building it touches no guest RAM page: under
 * memvisor a page the guest never uses is never populated.
 */
#ifndef GUEST_FRAMES_H
#define GUEST_FRAMES_H

#include <stdint.h>

#define FRAME_SIZE 4096ull
#define FRAME_SHIFT 12

struct frames {
	uint64_t *bits;    /* nframes bits, caller-provided storage */
	uint64_t nframes;  /* frames covered: [0, nframes * 4 KiB) */
	uint64_t nfree;
	uint64_t cursor;   /* where the next search starts */
};

/* Storage needed for n frames, in u64 words. */
#define FRAMES_WORDS(n) (((n) + 63) / 64)

void frames_init(struct frames *f, uint64_t *bits, uint64_t nframes);

/* Marks the whole frames inside [base, base+len) free (rounded inward). */
void frames_add_range(struct frames *f, uint64_t base, uint64_t len);

/* Marks every frame touching [base, base+len) used (rounded outward). */
void frames_reserve_range(struct frames *f, uint64_t base, uint64_t len);

/* Returns the physical address of a free frame, now used; 0 when none is
 * left (frame 0 is never handed out, so 0 cannot be a valid answer). */
uint64_t frames_alloc(struct frames *f);

/* Returns 0, or -1 if pa is unaligned, out of range or already free. */
int frames_free(struct frames *f, uint64_t pa);

int frames_is_used(const struct frames *f, uint64_t pa);

#endif
