/*
 * frame.h - the host frame allocator: 4 KiB frames of usable RAM.
 *
 * Pure logic (no hardware access), so tests/test_frame.c drives it on the
 * host with a made-up memory map.
 */
#ifndef MM_FRAME_H
#define MM_FRAME_H

#include "../boot/boot_info.h"

/* Frames below this address are never handed out (BIOS data, real-mode
 * trampolines, and page 0 must never look like a valid allocation). */
#define FRAME_LOW_LIMIT (1 * MiB)

struct frame_stats {
	u64 total;		/* frames the allocator manages */
	u64 free;
	u64 high_water;		/* most frames ever in use at once */
	u64 allocs, frees, failures;
};

struct frame_allocator {
	u64 *bitmap;		/* bit set = frame free */
	u64 nframes;		/* frames covered by the bitmap, from 0 */
	u64 hint;		/* where the next search starts */
	u64 bm_first, bm_last;	/* frames holding the bitmap itself */
	const struct boot_mem_range *map;	/* to tell managed frames */
	int nmap;
	struct frame_stats st;
};

/* Bytes of bitmap needed for a map (covers 0 .. end of last usable range). */
u64 frame_bitmap_bytes(const struct boot_mem_range *map, int n);

/*
 * Picks a physical place for the bitmap: the lowest usable range above
 * FRAME_LOW_LIMIT with room.  Returns 0 if there is none.
 */
u64 frame_bitmap_place(const struct boot_mem_range *map, int n, u64 bytes);

/*
 * Sets the allocator up over the usable ranges of a normalized map.  The
 * bitmap lives at bitmap (a pointer the caller can write) which is the
 * physical range [bitmap_pa, bitmap_pa + bytes); those frames are marked in
 * use.  Nothing outside BOOT_MEM_USABLE ranges is ever handed out.
 */
void frame_init(struct frame_allocator *fa, const struct boot_mem_range *map,
		int n, u64 *bitmap, u64 bitmap_pa, u64 bytes);

/* One frame: its physical address, or 0 if none is free. */
u64 frame_alloc(struct frame_allocator *fa);

/* count contiguous frames aligned to align_frames; 0 if impossible. */
u64 frame_alloc_contig(struct frame_allocator *fa, u64 count, u64 align_frames);

/* Returns 0, or -1 if pa is not an allocated frame (a double free). */
int frame_free(struct frame_allocator *fa, u64 pa);

bool frame_is_free(const struct frame_allocator *fa, u64 pa);

#endif
