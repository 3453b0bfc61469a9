/*
 * vm.c - builds and owns the guest kernel's page tables (layout in vm.h).
 *
 * Boot order: entry.asm left a 2 MiB identity map of the low 4 GiB, so
 * vm_init() can reach any frame by its physical address.  It sets up the
 * frame allocator from the memory map, builds the final tables in frames
 * from that allocator, loads CR3, and from then on reaches frames through
 * the physmap only.
 *
 * TLB rule (Intel SDM Vol. 3A, 4.10.4): whenever an entry that was present
 * is changed or cleared, the stale translation must be flushed with INVLPG
 * before the old frame or old permission can be relied on.  Making a
 * not-present entry present needs no flush; at worst the CPU raises one
 * spurious #PF, which vm_handle_demand_fault() recognises and counts.
 *
 * Interrupts: the balloon driver takes and frees frames in the timer
 * tick, so the frame allocator's entry points run with interrupts off
 * (irq_save/irq_restore) for the bitmap update.  A frame request that
 * finds none asks the shortage hook (the balloon driver gives pages back)
 * once before it fails.
 */
#include "vm.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "frames.h"

/* Linker-script symbols (guest/linker.ld). */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[];
extern char __data_start[];
extern char stack_guard[];

#define LOW_MEMORY_END 0x100000ull /* below 1 MiB: BIOS/real-mode area */
#define HEAP_MAX_ALLOCS 32

static uint64_t frame_bits[FRAMES_WORDS(GUEST_PHYS_LIMIT / FRAME_SIZE)];
static struct frames frames;
static struct pt_space space;
static struct vm_stats stats;
static uint64_t ram_top;
static uint64_t (*shortage_hook)(void);

/* Heap allocations: only these ranges are demand-paged, so a stray
 * pointer into the gap between two allocations still faults loudly. */
static struct heap_alloc {
	uint64_t start, end;
	const char *what;
} heap_allocs[HEAP_MAX_ALLOCS];
static int heap_nallocs;
static uint64_t heap_next = HEAP_BASE;

void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)(pa + space.phys_offset);
}

uint64_t kernel_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

uint64_t vm_ram_top(void)
{
	return ram_top;
}

uint64_t vm_free_frames(void)
{
	return frames.nfree;
}

void vm_set_shortage_hook(uint64_t (*fn)(void))
{
	shortage_hook = fn;
}

uint64_t vm_alloc_frame_untouched(void)
{
	uint64_t flags = irq_save();
	uint64_t pa = frames_alloc(&frames);
	irq_restore(flags);
	return pa;
}

uint64_t vm_alloc_frame(void)
{
	uint64_t pa = vm_alloc_frame_untouched();

	if (!pa && shortage_hook && shortage_hook())
		pa = vm_alloc_frame_untouched();
	if (pa) {
		uint64_t *p = phys_to_virt(pa);
		for (unsigned i = 0; i < FRAME_SIZE / 8; i++)
			p[i] = 0;
	}
	return pa;
}

void vm_free_frame(uint64_t pa)
{
	uint64_t flags = irq_save();
	int rc = frames_free(&frames, pa);
	irq_restore(flags);
	if (rc < 0)
		guest_fail(STATUS_EXCEPTION, "vm_free_frame: bad free of 0x%lx",
			   pa);
}

static uint64_t alloc_table(void *ctx)
{
	(void)ctx;
	uint64_t pa = vm_alloc_frame();
	if (pa)
		stats.table_pages++;
	return pa;
}

static void flush_if_present(uint64_t va, uint64_t old)
{
	if (old & PTE_P) {
		invlpg(va);
		stats.invlpgs++;
	}
}

int vm_map_page(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t old;
	int rc = pt_map(&space, va, pa, flags, 1, &old);
	flush_if_present(va, old);
	return rc;
}

uint64_t vm_unmap_page(uint64_t va)
{
	uint64_t old = pt_unmap(&space, va);
	flush_if_present(va, old);
	return old;
}

int vm_walk(uint64_t va, struct pt_walk *w)
{
	return pt_walk(&space, va, w);
}

void vm_print_walk(uint64_t va)
{
	struct pt_walk w;
	char flags[48];

	if (!space.root) {
		kprintf("  (no walk: still on the boot identity map)\n");
		return;
	}
	vm_walk(va, &w);
	kprintf("  walk of 0x%lx from CR3=0x%lx:\n", va, read_cr3());
	for (int i = 0; i < 4; i++) {
		if (i >= w.levels) {
			kprintf("    %-5s (not reached)\n", pt_level_name(4 - i));
			continue;
		}
		pt_describe_entry(w.entry[i], flags, sizeof(flags));
		kprintf("    %-5s[%3u] = 0x%016lx  %s\n", pt_level_name(4 - i),
			w.index[i], w.entry[i], flags);
	}
	if (w.present)
		kprintf("    -> pa 0x%lx (%lu KiB page)\n", w.pa,
			w.page_size >> 10);
}

/* Maps [start, end) of the kernel image at its own address. */
static void map_kernel_range(char *start, char *end, uint64_t flags)
{
	uint64_t old;
	for (uint64_t va = (uint64_t)start; va < (uint64_t)end;
	     va += PAGE_SIZE_4K) {
		if (va == (uint64_t)stack_guard)
			continue;
		if (pt_map(&space, va, va, flags, 1, &old) < 0)
			guest_fail(STATUS_NO_MEMORY,
				   "vm_init: no frame for kernel page tables");
	}
}

static void map_physmap(void)
{
	uint64_t old;
	for (uint64_t pa = 0; pa < ram_top; pa += PAGE_SIZE_2M) {
		if (pt_map(&space, PHYSMAP_BASE + pa, pa, PTE_W | PTE_NX, 2,
			   &old) < 0)
			guest_fail(STATUS_NO_MEMORY,
				   "vm_init: no frame for the physmap");
	}
}

static void init_frames(const struct boot_mem *m)
{
	uint64_t top = boot_ram_top(m);

	if (top > GUEST_PHYS_LIMIT) {
		kprintf("mem: RAM ends at 0x%lx; the guest uses only the first "
			"%lu MiB\n", top, GUEST_PHYS_LIMIT >> 20);
		top = GUEST_PHYS_LIMIT;
	}
	ram_top = top;
	frames_init(&frames, frame_bits, top / FRAME_SIZE);
	for (int i = 0; i < m->nregions; i++)
		if (m->region[i].type == MB_MMAP_AVAILABLE)
			frames_add_range(&frames, m->region[i].base,
					 m->region[i].length);
	frames_reserve_range(&frames, 0, LOW_MEMORY_END);
	frames_reserve_range(&frames, kernel_phys(__kernel_start),
			     (uint64_t)(__kernel_end - __kernel_start));
	for (int i = 0; i < m->nreserved; i++)
		frames_reserve_range(&frames, m->reserved[i].base,
				     m->reserved[i].length);
}

void vm_init(const struct boot_mem *m)
{
	init_frames(m);

	/* Still on the boot identity map: physical == virtual for now. */
	space.phys_offset = 0;
	space.alloc_table = alloc_table;
	space.root = alloc_table(0);
	if (!space.root)
		guest_fail(STATUS_NO_MEMORY, "vm_init: no frame for the PML4");

	map_kernel_range(__text_start, __text_end, 0);
	map_kernel_range(__rodata_start, __rodata_end, PTE_NX);
	map_kernel_range(__data_start, __kernel_end, PTE_W | PTE_NX);
	map_physmap();

	/* The physmap covers every frame the tables live in, so switching
	 * phys_offset right after the CR3 load keeps every table reachable.
	 * Loading CR3 flushes all non-global TLB entries (SDM 4.10.4.1). */
	write_cr3(space.root);
	space.phys_offset = PHYSMAP_BASE;

	kprintf("vm: kernel 0x%lx-0x%lx (text RX, rodata R, data RW NX), "
		"stack guard 0x%lx\n",
		kernel_phys(__kernel_start), kernel_phys(__kernel_end),
		kernel_phys(stack_guard));
	kprintf("vm: physmap 0x%lx -> pa 0..0x%lx, heap 0x%lx, %lu free "
		"frames, %lu table pages\n",
		PHYSMAP_BASE, ram_top, HEAP_BASE, frames.nfree,
		stats.table_pages);
}

void *heap_alloc(uint64_t bytes, const char *what)
{
	uint64_t size = (bytes + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	uint64_t start = heap_next;

	/* One unmapped, never-allocated page after each allocation: an
	 * overrun lands outside the heap and is reported, not populated. */
	if (heap_nallocs == HEAP_MAX_ALLOCS ||
	    start + size + PAGE_SIZE_4K > HEAP_BASE + HEAP_SIZE)
		guest_fail(STATUS_NO_MEMORY,
			   "heap_alloc: no room for %lu bytes (%s)", bytes,
			   what);
	heap_allocs[heap_nallocs++] = (struct heap_alloc){ start,
							   start + size, what };
	heap_next = start + size + PAGE_SIZE_4K;
	return (void *)(uintptr_t)start;
}

static const struct heap_alloc *heap_find(uint64_t addr)
{
	for (int i = 0; i < heap_nallocs; i++)
		if (addr >= heap_allocs[i].start && addr < heap_allocs[i].end)
			return &heap_allocs[i];
	return 0;
}

/* Runs with interrupts off (the #PF gate is an interrupt gate), so the
 * timer tick cannot come between the walk and the map; handle_demand
 * saves and restores IF all the same, in case that ever changes. */
static int handle_demand(uint64_t addr, uint64_t error);

int vm_handle_demand_fault(uint64_t addr, uint64_t error)
{
	uint64_t flags = irq_save();
	int rc = handle_demand(addr, error);
	irq_restore(flags);
	return rc;
}

static int handle_demand(uint64_t addr, uint64_t error)
{
	uint64_t va = addr & ~(PAGE_SIZE_4K - 1);
	struct pt_walk w;

	/* Only a data access to a not-present heap page is ours to fix. */
	if ((error & (PF_P | PF_RSVD | PF_I)) || !heap_find(addr))
		return 0;
	if (pt_walk(&space, va, &w)) {
		invlpg(va);
		stats.spurious_faults++;
		return 1;
	}
	uint64_t pa = vm_alloc_frame();
	if (!pa)
		guest_fail(STATUS_NO_MEMORY,
			   "out of guest frames: demand fault at 0x%lx "
			   "(%lu pages populated)",
			   addr, stats.demand_faults);
	if (vm_map_page(va, pa, PTE_W | PTE_NX) < 0)
		guest_fail(STATUS_NO_MEMORY,
			   "out of guest frames for a page table at 0x%lx",
			   addr);
	stats.demand_faults++;
	return 1;
}

const char *vm_describe_area(uint64_t addr)
{
	const struct heap_alloc *h = heap_find(addr);
	if (h)
		return h->what;
	if (addr >= HEAP_BASE && addr < HEAP_BASE + HEAP_SIZE)
		return "heap area, but in no allocation";
	if (addr >= kernel_phys(stack_guard) &&
	    addr < kernel_phys(stack_guard) + PAGE_SIZE_4K)
		return "kernel stack guard page (stack overflow)";
	if (addr >= kernel_phys(__kernel_start) &&
	    addr < kernel_phys(__kernel_end))
		return "kernel image";
	if (addr >= SCRATCH_BASE && addr < SCRATCH_BASE + SCRATCH_SIZE)
		return "scratch window";
	if (addr >= PHYSMAP_BASE && addr < PHYSMAP_BASE + ram_top)
		return "physmap";
	if (addr < PAGE_SIZE_4K)
		return "null page";
	return "unmapped area";
}

const struct vm_stats *vm_stats(void)
{
	return &stats;
}
