/*
 * hvmem.c - zeroed frames for the hypervisor, on top of mm/frame.c.
 */
#include "hvmem.h"
#include "finish.h"
#include "string.h"

u64 hv_frames_alloc(u64 count, u64 align_frames)
{
	u64 pa = count == 1 && align_frames == 1
			 ? frame_alloc(&frames)
			 : frame_alloc_contig(&frames, count, align_frames);
	if (pa)
		memset(hv_ptr(pa), 0, count * PAGE_SIZE);
	return pa;
}

u64 hv_frame_alloc(void)
{
	return hv_frames_alloc(1, 1);
}

void hv_frames_free(u64 pa, u64 count)
{
	for (u64 i = 0; i < count; i++)
		if (frame_free(&frames, pa + i * PAGE_SIZE) < 0)
			panic("hv_frames_free: 0x%llx is not an allocated frame",
			      (unsigned long long)(pa + i * PAGE_SIZE));
}
