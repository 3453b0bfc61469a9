/*
 * mb.c - copies the multiboot memory map and command line out of the
 * loader's info structure (Multiboot Specification 0.6.96, section 3.3).
 *
 * Copying early means the rest of the guest never follows a loader pointer
 * again, and the loader's pages can be reserved by address alone.
 */
#include "mb.h"

static const void *phys_ptr(uint64_t pa, uint64_t phys_offset)
{
	return (const void *)(uintptr_t)(pa + phys_offset);
}

static void reserve(struct boot_mem *m, uint64_t base, uint64_t length)
{
	if (m->nreserved < BOOT_MAX_RESERVED && length)
		m->reserved[m->nreserved++] = (struct boot_range){ base, length };
}

static void add_region(struct boot_mem *m, uint64_t base, uint64_t length,
		       uint32_t type)
{
	if (m->nregions == BOOT_MAX_REGIONS) {
		m->mmap_truncated = 1;
		return;
	}
	m->region[m->nregions++] = (struct boot_region){ base, length, type };
}

static void copy_cmdline(struct boot_mem *m, uint64_t pa,
			 uint64_t phys_offset)
{
	const char *s = phys_ptr(pa, phys_offset);
	uint64_t n = 0;

	while (s[n] && n < BOOT_CMDLINE_MAX - 1) {
		m->cmdline[n] = s[n];
		n++;
	}
	m->cmdline[n] = '\0';
	m->cmdline_truncated = s[n] != '\0';
	reserve(m, pa, n + 1);
}

static void copy_mmap(struct boot_mem *m, uint64_t pa, uint32_t length,
		      uint64_t phys_offset)
{
	uint64_t off = 0;

	/* A bad `size` could loop forever or run past the buffer: require
	 * room for a whole entry each step. */
	while (off + sizeof(struct mb_mmap_entry) <= length) {
		const struct mb_mmap_entry *e = phys_ptr(pa + off, phys_offset);
		if (e->size < sizeof(*e) - sizeof(e->size))
			break;
		add_region(m, e->base, e->length, e->type);
		off += e->size + sizeof(e->size);
	}
	reserve(m, pa, length);
}

int mb_read(uint64_t info_pa, uint64_t phys_offset, struct boot_mem *out)
{
	const struct mb_info *info = phys_ptr(info_pa, phys_offset);

	*out = (struct boot_mem){ 0 };
	reserve(out, info_pa, sizeof(*info));
	if (info->flags & MB_INFO_CMDLINE)
		copy_cmdline(out, info->cmdline, phys_offset);
	if (info->flags & MB_INFO_MMAP)
		copy_mmap(out, info->mmap_addr, info->mmap_length,
			  phys_offset);
	if (out->nregions == 0 && (info->flags & MB_INFO_MEM)) {
		/* The spec's fallback: conventional memory below 640 KiB and
		 * one contiguous block from 1 MiB. */
		out->from_mem_fields = 1;
		add_region(out, 0, (uint64_t)info->mem_lower << 10,
			   MB_MMAP_AVAILABLE);
		add_region(out, 0x100000, (uint64_t)info->mem_upper << 10,
			   MB_MMAP_AVAILABLE);
	}
	return out->nregions ? 0 : -1;
}

uint64_t boot_ram_top(const struct boot_mem *m)
{
	uint64_t top = 0;
	for (int i = 0; i < m->nregions; i++) {
		const struct boot_region *r = &m->region[i];
		if (r->type == MB_MMAP_AVAILABLE && r->base + r->length > top)
			top = r->base + r->length;
	}
	return top;
}
