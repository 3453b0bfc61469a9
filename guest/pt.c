/*
 * pt.c - building and reading four-level page tables.
 *
 *   63    48 47   39 38   30 29   21 20   12 11       0
 *  | sign   | PML4  | PDPT  |  PD   |  PT   |  offset  |
 *
 * Intermediate entries are created present+writable and never executable-
 * disabled: the leaf decides (the SDM combines permissions across levels,
 * 4.6, so restricting the leaf is enough).  The caller's flags go on the
 * leaf only.
 */
#include "pt.h"

#include "format.h"

static const int level_shift[5] = { 0, 12, 21, 30, 39 };

unsigned pt_index(uint64_t va, int level)
{
	return (unsigned)((va >> level_shift[level]) & (PT_ENTRIES - 1));
}

int pt_is_canonical(uint64_t va)
{
	/* Bits 63:47 must all equal bit 47 (SDM Vol. 1, 3.3.7.1). */
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1FFFF;
}

static uint64_t *table_at(const struct pt_space *s, uint64_t pa)
{
	return (uint64_t *)(uintptr_t)(pa + s->phys_offset);
}

/* Returns the table below `entry`, creating it when `create` is set.  `user`
 * (PTE_U or 0) is added to the entry: a user page needs U at every level. */
static uint64_t *descend(struct pt_space *s, uint64_t *entry, int create,
			 uint64_t user, int *err)
{
	if (*entry & PTE_P) {
		*entry |= user;
		if (*entry & PTE_PS) {
			*err = PT_HUGE_IN_WAY;
			return 0;
		}
		return table_at(s, *entry & PTE_ADDR_MASK);
	}
	if (!create) {
		*err = PT_OK;
		return 0;
	}
	uint64_t pa = s->alloc_table(s->ctx);
	if (!pa) {
		*err = PT_NO_MEMORY;
		return 0;
	}
	*entry = pa | PTE_P | PTE_W | user;
	return table_at(s, pa);
}

int pt_map(struct pt_space *s, uint64_t va, uint64_t pa, uint64_t flags,
	   int level, uint64_t *old)
{
	uint64_t size = level == 2 ? PAGE_SIZE_2M : PAGE_SIZE_4K;
	uint64_t *table = table_at(s, s->root);
	int err = PT_OK;

	*old = 0;
	if ((va | pa) & (size - 1))
		return PT_UNALIGNED;
	for (int l = 4; l > level; l--) {
		table = descend(s, &table[pt_index(va, l)], 1, flags & PTE_U,
				&err);
		if (!table)
			return err;
	}
	uint64_t *leaf = &table[pt_index(va, level)];
	*old = *leaf;
	*leaf = pa | flags | PTE_P | (level == 2 ? PTE_PS : 0);
	return PT_OK;
}

uint64_t pt_unmap(struct pt_space *s, uint64_t va)
{
	uint64_t *table = table_at(s, s->root);
	int err;

	for (int l = 4; l > 1; l--) {
		table = descend(s, &table[pt_index(va, l)], 0, 0, &err);
		if (!table)
			return 0;
	}
	uint64_t *leaf = &table[pt_index(va, 1)];
	uint64_t old = *leaf;
	*leaf = 0;
	return old;
}

int pt_walk(const struct pt_space *s, uint64_t va, struct pt_walk *w)
{
	uint64_t table_pa = s->root;

	*w = (struct pt_walk){ 0 };
	for (int l = 4; l >= 1; l--) {
		unsigned i = pt_index(va, l);
		uint64_t e = table_at(s, table_pa)[i];
		int slot = 4 - l;

		w->entry[slot] = e;
		w->index[slot] = i;
		w->levels = slot + 1;
		if (!(e & PTE_P))
			return 0;
		/* PS is a leaf marker only in PDPTEs and PDEs. */
		if (l == 1 || ((l == 3 || l == 2) && (e & PTE_PS))) {
			uint64_t size = 1ull << level_shift[l];
			uint64_t base = e & PTE_ADDR_MASK & ~(size - 1);
			w->present = 1;
			w->page_size = size;
			w->pa = base | (va & (size - 1));
			return 1;
		}
		table_pa = e & PTE_ADDR_MASK;
	}
	return 0;
}

const char *pt_level_name(int level)
{
	static const char *const names[5] = { "?", "PTE", "PDE", "PDPTE",
					      "PML4E" };
	return (level >= 1 && level <= 4) ? names[level] : names[0];
}

void pt_describe_entry(uint64_t e, char *buf, int size)
{
	if (!(e & PTE_P)) {
		fmt_snprintf(buf, (unsigned)size, "not present");
		return;
	}
	fmt_snprintf(buf, (unsigned)size, "P%s%s%s%s%s%s%s",
		     e & PTE_W ? " W" : " RO", e & PTE_U ? " U" : "",
		     e & PTE_A ? " A" : "", e & PTE_D ? " D" : "",
		     e & PTE_PS ? " PS" : "", e & PTE_G ? " G" : "",
		     e & PTE_NX ? " NX" : "");
}

void pt_describe_pf_error(uint64_t err, char *buf, int size)
{
	fmt_snprintf(buf, (unsigned)size,
		     "P=%d W=%d U=%d I=%d%s (%s %s, %s mode)",
		     (int)(err & PF_P ? 1 : 0), (int)(err & PF_W ? 1 : 0),
		     (int)(err & PF_U ? 1 : 0), (int)(err & PF_I ? 1 : 0),
		     err & PF_RSVD ? " RSVD=1" : "",
		     err & PF_P ? "protection violation on" : "not-present",
		     err & PF_I ? "instruction fetch"
				: (err & PF_W ? "write" : "read"),
		     err & PF_U ? "user" : "supervisor");
}
