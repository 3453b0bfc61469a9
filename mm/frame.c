/*
 * frame.c - a bitmap of host frames, one bit per 4 KiB frame from address 0
 * to the end of the last usable range (bit set = free).
 *
 * The bitmap is the simplest structure that can also hand out contiguous,
 * aligned runs (a backend's MSR or I/O permission bitmap may span several
 * contiguous pages) and detect double frees exactly.  At 32 KiB of
 * bitmap per GiB it is cheap enough.  Searches start from a hint that
 * follows the last allocation, so the common single-frame case is short.
 *
 * Only frames inside BOOT_MEM_USABLE ranges at or above FRAME_LOW_LIMIT are
 * ever marked free; the loaders have already marked the hypervisor image,
 * the modules and their own data as other types, so they are excluded by
 * construction.
 */
#include "frame.h"

static bool test_bit(const u64 *bm, u64 i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static void set_bit(u64 *bm, u64 i)
{
	bm[i / 64] |= 1ull << (i % 64);
}

static void clear_bit(u64 *bm, u64 i)
{
	bm[i / 64] &= ~(1ull << (i % 64));
}

static u64 usable_end(const struct boot_mem_range *map, int n)
{
	u64 end = 0;
	for (int i = 0; i < n; i++)
		if (map[i].type == BOOT_MEM_USABLE)
			end = MAX(end, map[i].base + map[i].length);
	return end;
}

u64 frame_bitmap_bytes(const struct boot_mem_range *map, int n)
{
	u64 frames = usable_end(map, n) / PAGE_SIZE;
	return ALIGN_UP(frames, 64) / 8;
}

u64 frame_bitmap_place(const struct boot_mem_range *map, int n, u64 bytes)
{
	u64 need = ALIGN_UP(bytes, PAGE_SIZE);

	for (int i = 0; i < n; i++) {
		const struct boot_mem_range *r = &map[i];
		u64 base = MAX(r->base, FRAME_LOW_LIMIT);
		u64 end = r->base + r->length;
		if (r->type == BOOT_MEM_USABLE && base < end &&
		    end - base >= need)
			return base;
	}
	return 0;
}

void frame_init(struct frame_allocator *fa, const struct boot_mem_range *map,
		int n, u64 *bitmap, u64 bitmap_pa, u64 bytes)
{
	u64 bm_first = bitmap_pa / PAGE_SIZE;
	u64 bm_last = (bitmap_pa + ALIGN_UP(bytes, PAGE_SIZE)) / PAGE_SIZE;

	*fa = (struct frame_allocator){ .bitmap = bitmap,
					.nframes = bytes * 8,
					.bm_first = bm_first,
					.bm_last = bm_last,
					.map = map,
					.nmap = n };
	for (u64 i = 0; i < bytes / 8; i++)
		bitmap[i] = 0;
	for (int i = 0; i < n; i++) {
		const struct boot_mem_range *r = &map[i];
		if (r->type != BOOT_MEM_USABLE)
			continue;
		u64 first = MAX(r->base, FRAME_LOW_LIMIT) / PAGE_SIZE;
		u64 last = MIN((r->base + r->length) / PAGE_SIZE, fa->nframes);
		for (u64 f = first; f < last; f++) {
			if (f >= bm_first && f < bm_last)
				continue;
			set_bit(bitmap, f);
			fa->st.total++;
		}
	}
	fa->st.free = fa->st.total;
}

static void note_alloc(struct frame_allocator *fa, u64 count)
{
	fa->st.free -= count;
	fa->st.allocs += count;
	if (fa->st.total - fa->st.free > fa->st.high_water)
		fa->st.high_water = fa->st.total - fa->st.free;
}

u64 frame_alloc(struct frame_allocator *fa)
{
	u64 words = fa->nframes / 64;

	if (fa->st.free == 0) {
		fa->st.failures++;
		return 0;
	}
	for (u64 k = 0; k < words; k++) {
		u64 w = (fa->hint / 64 + k) % words;
		if (fa->bitmap[w]) {
			u64 f = w * 64 + (u64)__builtin_ctzll(fa->bitmap[w]);
			clear_bit(fa->bitmap, f);
			fa->hint = f;
			note_alloc(fa, 1);
			return f * PAGE_SIZE;
		}
	}
	fa->st.failures++;	/* free count said otherwise: cannot happen */
	return 0;
}

u64 frame_alloc_contig(struct frame_allocator *fa, u64 count, u64 align_frames)
{
	if (count == 0 || align_frames == 0 || count > fa->st.free) {
		fa->st.failures++;
		return 0;
	}
	for (u64 f = 0; f + count <= fa->nframes; f += align_frames) {
		u64 run = 0;
		while (run < count && test_bit(fa->bitmap, f + run))
			run++;
		if (run == count) {
			for (u64 i = 0; i < count; i++)
				clear_bit(fa->bitmap, f + i);
			note_alloc(fa, count);
			return f * PAGE_SIZE;
		}
	}
	fa->st.failures++;
	return 0;
}

/* True if the allocator hands out this frame at all. */
static bool is_managed(const struct frame_allocator *fa, u64 f)
{
	if (f >= fa->nframes || f * PAGE_SIZE < FRAME_LOW_LIMIT ||
	    (f >= fa->bm_first && f < fa->bm_last))
		return false;
	for (int i = 0; i < fa->nmap; i++) {
		const struct boot_mem_range *r = &fa->map[i];
		if (r->type == BOOT_MEM_USABLE && r->base <= f * PAGE_SIZE &&
		    f * PAGE_SIZE < r->base + r->length)
			return true;
	}
	return false;
}

int frame_free(struct frame_allocator *fa, u64 pa)
{
	u64 f = pa / PAGE_SIZE;

	if (pa % PAGE_SIZE || !is_managed(fa, f) || test_bit(fa->bitmap, f))
		return -1;
	set_bit(fa->bitmap, f);
	fa->st.free++;
	fa->st.frees++;
	return 0;
}

bool frame_is_free(const struct frame_allocator *fa, u64 pa)
{
	u64 f = pa / PAGE_SIZE;
	return f < fa->nframes && test_bit(fa->bitmap, f);
}
