/*
 * hvmem.h - frames for the hypervisor's own structures (the backends'
 * control structures, MSR and I/O bitmaps, SLAT tables, p2m arrays).
 * Always zeroed; identity-mapped, so the physical address is also the
 * pointer.
 */
#ifndef HV_HVMEM_H
#define HV_HVMEM_H

#include "types.h"
#include "../mm/frame.h"

extern struct frame_allocator frames;

/* One zeroed frame, or 0 if memory is exhausted. */
u64 hv_frame_alloc(void);
/* count zeroed contiguous frames aligned to align_frames frames, or 0. */
u64 hv_frames_alloc(u64 count, u64 align_frames);
/* Returns frames; freeing a frame that is not allocated is a panic. */
void hv_frames_free(u64 pa, u64 count);

static inline void *hv_ptr(u64 pa)
{
	return (void *)pa;
}

#endif
