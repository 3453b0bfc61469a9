/*
 * work_pt.c - page-table stress in the scratch window: the guest changes
 * its own present mappings over and over and checks that the CPU (or the
 * hypervisor's shadow of it) never uses a stale translation.
 *
 *   remap    4 virtual slots rotate over 4 frames; after each remap every
 *            byte is read through the slot and must be the new frame's
 *            pattern, and a write through the slot must land in the new
 *            frame (checked through the physmap)
 *   alias    one frame at two addresses in different page tables: a write
 *            through either is seen through the other
 *   unmap    a just-used page is unmapped: reading it must fault (P=0)
 *   protect  a writable page is remapped read-only: writing must fault
 *            (P=1 W=1), reading still works
 *   kernel   the image's own permissions hold: writes to .text and
 *            .rodata fault (CR0.WP), .text is executable and .data is not
 *
 * Frames hold pattern(seed, TAG_PT, gen = frame index), so reading frame
 * A's bytes where frame B was expected fails on the first word.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "trap.h"
#include "vm.h"

#define PT_FRAMES 4
#define PT_SLOTS 4
#define PAGE UINT64_C(4096)
/* Alias B sits 1 GiB above A, so the two go through different PDs and PTs. */
#define ALIAS_A (SCRATCH_BASE + 64 * PAGE)
#define ALIAS_B (SCRATCH_BASE + (UINT64_C(1) << 30) + 64 * PAGE)
#define ALIAS_GEN_A 100
#define ALIAS_GEN_B 101

static uint64_t slot_va(int s)
{
	return SCRATCH_BASE + (uint64_t)s * PAGE;
}

/* A one-page region seen at `va` holding pattern generation `gen`. */
static struct region page_view(const char *name, uint64_t va, uint64_t gen)
{
	return (struct region){ .name = name,
				.base = (uint8_t *)(uintptr_t)va,
				.pages = 1,
				.tag = TAG_PT,
				.gen = gen };
}

static int map_or_fail(struct work_ctx *c, uint64_t va, uint64_t pa,
		       uint64_t flags)
{
	if (vm_map_page(va, pa, flags) < 0)
		return work_fail(c, STATUS_NO_MEMORY,
				 "pt: cannot map 0x%lx (no frame for tables)",
				 va);
	return WORK_PASS;
}

static int check_translation(struct work_ctx *c, uint64_t va, uint64_t pa)
{
	struct pt_walk w;
	if (!vm_walk(va, &w) || w.pa != pa)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: walk of 0x%lx gives 0x%lx, expected 0x%lx",
				 va, w.present ? w.pa : 0, pa);
	return WORK_PASS;
}

/* Writes a marker through va and looks for it in the frame at pa. */
static int check_write_lands(struct work_ctx *c, uint64_t va, uint64_t pa,
			     unsigned word, uint64_t marker)
{
	volatile uint64_t *through_va = (volatile uint64_t *)(uintptr_t)va;
	volatile uint64_t *in_frame = phys_to_virt(pa);
	uint64_t saved = through_va[word];

	through_va[word] = marker;
	uint64_t seen = in_frame[word];
	through_va[word] = saved;
	if (seen != marker)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: write through 0x%lx did not reach frame "
				 "0x%lx (found 0x%lx): stale translation",
				 va, pa, seen);
	return WORK_PASS;
}

static int remap_rounds(struct work_ctx *c, const uint64_t frame[])
{
	for (uint64_t it = 0; it < c->cfg->pt_iters; it++) {
		for (int s = 0; s < PT_SLOTS; s++) {
			int k = (int)((s + it) % PT_FRAMES);
			uint64_t va = slot_va(s);
			struct region view = page_view("pt-slot", va, k);

			if (map_or_fail(c, va, frame[k], PTE_W | PTE_NX) ||
			    check_translation(c, va, frame[k]) ||
			    work_verify(c, &view, 0, 1) < 0 ||
			    check_write_lands(c, va, frame[k], it % 512,
					      0x5EED0000ull + it))
				return WORK_FAIL;
		}
	}
	return WORK_PASS;
}

static int alias_check(struct work_ctx *c, uint64_t pa)
{
	struct region via_a = page_view("pt-alias-A", ALIAS_A, ALIAS_GEN_A);
	struct region via_b = page_view("pt-alias-B", ALIAS_B, ALIAS_GEN_A);

	if (map_or_fail(c, ALIAS_A, pa, PTE_W | PTE_NX) ||
	    map_or_fail(c, ALIAS_B, pa, PTE_W | PTE_NX))
		return WORK_FAIL;
	region_fill_pages(&via_a, c->cfg->seed, 0, 1);
	if (work_verify(c, &via_b, 0, 1) < 0)
		return WORK_FAIL;
	via_a.gen = via_b.gen = ALIAS_GEN_B;
	region_fill_pages(&via_b, c->cfg->seed, 0, 1);
	if (work_verify(c, &via_a, 0, 1) < 0)
		return WORK_FAIL;
	vm_unmap_page(ALIAS_A);
	vm_unmap_page(ALIAS_B);
	return WORK_PASS;
}

static int unmap_check(struct work_ctx *c, uint64_t va)
{
	uint64_t value, faults = last_probe_fault.count;

	/* Read first so the translation is surely in the TLB. */
	if (probe_read_u64(va, &value))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: 0x%lx faulted while still mapped", va);
	vm_unmap_page(va);
	if (!probe_read_u64(va, &value))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: read of unmapped 0x%lx succeeded (0x%lx): "
				 "stale translation",
				 va, value);
	if (last_probe_fault.count != faults + 1 ||
	    last_probe_fault.addr != va || (last_probe_fault.error & PF_P))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: unmapped 0x%lx faulted with CR2 0x%lx "
				 "error 0x%lx, expected not-present",
				 va, last_probe_fault.addr,
				 last_probe_fault.error);
	return WORK_PASS;
}

static int protect_check(struct work_ctx *c, uint64_t va, uint64_t pa)
{
	uint64_t value;
	const uint64_t marker = 0xA11CE5EEDull;

	if (map_or_fail(c, va, pa, PTE_W | PTE_NX))
		return WORK_FAIL;
	if (probe_write_u64(va, marker))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: write to writable 0x%lx faulted", va);
	if (map_or_fail(c, va, pa, PTE_NX)) /* same frame, now read-only */
		return WORK_FAIL;
	if (!probe_write_u64(va, ~marker))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: write to read-only 0x%lx succeeded: "
				 "stale writable translation",
				 va);
	if ((last_probe_fault.error & (PF_P | PF_W)) != (PF_P | PF_W) ||
	    last_probe_fault.addr != va)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: read-only write fault had CR2 0x%lx "
				 "error 0x%lx, expected P=1 W=1",
				 last_probe_fault.addr,
				 last_probe_fault.error);
	if (probe_read_u64(va, &value) || value != marker)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: read-only 0x%lx reads 0x%lx, expected "
				 "0x%lx",
				 va, value, marker);
	vm_unmap_page(va);
	return WORK_PASS;
}

extern char __text_start[], __rodata_start[], __data_start[];

/* Writing back the byte just read: harmless if the page were writable. */
static int check_read_only(struct work_ctx *c, const char *what, void *p)
{
	uint64_t va = (uint64_t)(uintptr_t)p, value;

	if (probe_read_u64(va, &value) || !probe_write_u64(va, value))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: %s at 0x%lx is writable", what, va);
	if ((last_probe_fault.error & (PF_P | PF_W)) != (PF_P | PF_W))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: write to %s faulted with error 0x%lx, "
				 "expected P=1 W=1",
				 what, last_probe_fault.error);
	return WORK_PASS;
}

static int check_leaf(struct work_ctx *c, const char *what, void *p,
		      uint64_t want_set, uint64_t want_clear)
{
	struct pt_walk w;
	uint64_t va = (uint64_t)(uintptr_t)p;

	if (!vm_walk(va, &w) || w.page_size != PAGE ||
	    (w.entry[3] & want_set) != want_set || (w.entry[3] & want_clear))
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "pt: %s at 0x%lx has PTE 0x%lx", what, va,
				 w.entry[3]);
	return WORK_PASS;
}

static int kernel_permissions_check(struct work_ctx *c)
{
	if (check_read_only(c, ".text", __text_start) ||
	    check_read_only(c, ".rodata", __rodata_start) ||
	    check_leaf(c, ".text", __text_start, 0, PTE_W | PTE_NX) ||
	    check_leaf(c, ".rodata", __rodata_start, PTE_NX, PTE_W) ||
	    check_leaf(c, ".data", __data_start, PTE_W | PTE_NX, 0))
		return WORK_FAIL;
	return WORK_PASS;
}

static void fill_frames(struct work_ctx *c, const uint64_t frame[])
{
	for (int k = 0; k < PT_FRAMES; k++) {
		struct region r = page_view("pt-frame", 0, k);
		r.base = phys_to_virt(frame[k]);
		region_fill_pages(&r, c->cfg->seed, 0, 1);
	}
}

int work_pt(struct work_ctx *c)
{
	uint64_t frame[PT_FRAMES];
	uint64_t invlpgs = vm_stats()->invlpgs;
	int rc = WORK_PASS;

	for (int k = 0; k < PT_FRAMES; k++) {
		frame[k] = vm_alloc_frame();
		if (!frame[k])
			return work_fail(c, STATUS_NO_MEMORY,
					 "pt: out of frames");
	}
	kprintf("pt: %lu rounds remapping %d slots at 0x%lx over %d frames\n",
		c->cfg->pt_iters, PT_SLOTS, SCRATCH_BASE, PT_FRAMES);
	fill_frames(c, frame);
	if (remap_rounds(c, frame) || unmap_check(c, slot_va(0)) ||
	    alias_check(c, frame[0]) || protect_check(c, slot_va(1), frame[1]) ||
	    kernel_permissions_check(c))
		rc = WORK_FAIL;
	for (int s = 0; s < PT_SLOTS; s++)
		vm_unmap_page(slot_va(s));
	for (int k = 0; k < PT_FRAMES; k++)
		vm_free_frame(frame[k]);
	if (rc != WORK_PASS)
		return rc;
	kprintf("pt: every remapped page verified through its new mapping; "
		"alias 0x%lx/0x%lx verified both ways; unmapped page faults "
		"(P=0); read-only remap faults on write (P=1 W=1); kernel "
		".text/.rodata read-only, .data NX; %lu INVLPGs\n",
		ALIAS_A, ALIAS_B, vm_stats()->invlpgs - invlpgs);
	return WORK_PASS;
}
