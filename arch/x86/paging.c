/*
 * paging.c - the hypervisor's own four-level page tables.
 *
 * One address space, identity-mapped (virtual == physical):
 *
 *   0 .. 4 KiB            unmapped: a NULL dereference faults
 *   RAM from the map      read/write, no-execute; 2 MiB pages where a whole
 *                         aligned 2 MiB lies in one range, else 4 KiB pages
 *   the hypervisor image  4 KiB pages: text read-only + executable, rodata
 *                         read-only, data/bss read/write; the guard page
 *                         below each stack is left unmapped
 *   device memory         mapped on request, uncached (paging_map_mmio)
 *   everything else       unmapped
 *
 * EFER.NXE and CR0.WP are switched on, so the permissions bind the
 * hypervisor itself: a stray write to its code or a jump into data faults
 * instead of corrupting silently.
 *
 * The tables come from a static pool in .bss: they are built before the
 * frame allocator exists and while the loader's tables (which live in
 * memory the allocator will hand out) are still in CR3.
 */
#include "paging.h"
#include "cpu.h"
#include "../../hv/console.h"
#include "../../hv/finish.h"
#include "../../hv/string.h"

/* Page-table entry bits (SDM Vol. 3A 4.5, Tables 4-14 to 4-20). */
#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define LARGE_PAGE (2 * MiB)
#define PT_POOL_PAGES 256

static u64 pt_pool[PT_POOL_PAGES][512] __aligned(4096)
	__section(".bss.pagetables");
static u32 pt_used;
static u64 *pml4;

extern u8 _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern u8 _data_start[], _hv_start[], _hv_end[];
extern u8 hv_guard_boot[], hv_guard_df[], hv_guard_nmi[], hv_guard_mc[];

static u64 *alloc_table(void)
{
	if (pt_used == PT_POOL_PAGES)
		panic("paging: pool of %d page-table pages exhausted",
		      PT_POOL_PAGES);
	return memset(pt_pool[pt_used++], 0, PAGE_SIZE);
}

static unsigned index_of(u64 va, int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* Replaces a 2 MiB mapping by a page table with the same 512 mappings. */
static void split_large(u64 *pde)
{
	u64 *pt = alloc_table();
	u64 base = *pde & PTE_ADDR & ~(LARGE_PAGE - 1);
	u64 flags = *pde & ~PTE_ADDR & ~PTE_PS;

	for (int i = 0; i < 512; i++)
		pt[i] = (base + i * PAGE_SIZE) | flags;
	*pde = (u64)pt | PTE_P | PTE_W;
}

/*
 * Returns the entry for va at the given level (1 = PT, 2 = PD), creating
 * tables on the way.  Intermediate entries allow everything; the leaf
 * decides, since permissions combine as the most restrictive along the walk.
 */
static u64 *walk(u64 va, int level)
{
	u64 *table = pml4;

	for (int l = 4; l > level; l--) {
		u64 *e = &table[index_of(va, l)];
		if (!(*e & PTE_P))
			*e = (u64)alloc_table() | PTE_P | PTE_W;
		else if (*e & PTE_PS)
			split_large(e);
		table = (u64 *)(*e & PTE_ADDR);
	}
	return &table[index_of(va, level)];
}

static void map_page(u64 pa, u64 flags)
{
	*walk(pa, 1) = pa | flags | PTE_P;
}

/* Maps [start, end) with 2 MiB pages where possible. */
static void map_range(u64 start, u64 end, u64 flags)
{
	u64 pa = start;

	while (pa < end) {
		if (!(pa & (LARGE_PAGE - 1)) && end - pa >= LARGE_PAGE) {
			u64 *pde = walk(pa, 2);
			if (!(*pde & PTE_P)) {
				*pde = pa | flags | PTE_P | PTE_PS;
				pa += LARGE_PAGE;
				continue;
			}
		}
		map_page(pa, flags);
		pa += PAGE_SIZE;
	}
}

/* Maps [start, end) except the hypervisor image and page 0. */
static void map_ram(u64 start, u64 end)
{
	u64 hv_lo = (u64)_hv_start, hv_hi = (u64)_hv_end;

	start = MAX(start, PAGE_SIZE);
	if (start < hv_lo)
		map_range(start, MIN(end, hv_lo), PTE_W | PTE_NX);
	if (end > hv_hi)
		map_range(MAX(start, hv_hi), end, PTE_W | PTE_NX);
}

static bool is_guard(u64 pa)
{
	return pa == (u64)hv_guard_boot || pa == (u64)hv_guard_df ||
	       pa == (u64)hv_guard_nmi || pa == (u64)hv_guard_mc;
}

static void map_image(void)
{
	for (u64 pa = (u64)_text_start; pa < (u64)_text_end; pa += PAGE_SIZE)
		map_page(pa, 0);
	for (u64 pa = (u64)_rodata_start; pa < (u64)_rodata_end;
	     pa += PAGE_SIZE)
		map_page(pa, PTE_NX);
	for (u64 pa = (u64)_data_start; pa < (u64)_hv_end; pa += PAGE_SIZE)
		if (!is_guard(pa))
			map_page(pa, PTE_W | PTE_NX);
}

static bool is_ram(u32 type)
{
	return type == BOOT_MEM_USABLE || type == BOOT_MEM_LOADER ||
	       type == BOOT_MEM_MODULE || type == BOOT_MEM_HV_IMAGE ||
	       type == BOOT_MEM_ACPI_RECLAIM || type == BOOT_MEM_ACPI_NVS;
}

void paging_init(const struct boot_info *bi)
{
	struct cpuid_regs ext = cpuid(0x80000001, 0);

	if (!(ext.edx & (1u << 20)))	/* CPUID 0x80000001 EDX.NX */
		panic("paging: CPU has no NX (execute-disable) support");

	pml4 = alloc_table();
	map_image();
	for (u32 i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_range *r = &bi->mmap[i];
		if (is_ram(r->type))
			map_ram(r->base, r->base + r->length);
	}

	/*
	 * The BIOS path may leave caching disabled (CR0.CD and NW set; seen
	 * under Bochs/GRUB), which the CPU would also carry into guests.
	 * Turn normal write-back caching on, flushing what was cached.
	 */
	if (read_cr0() & (CR0_CD | CR0_NW)) {
		__asm__ volatile("wbinvd" ::: "memory");
		write_cr0(read_cr0() & ~(CR0_CD | CR0_NW));
	}

	/* NXE before CR3: with it off, bit 63 in an entry is reserved. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr3((u64)pml4);
	write_cr0(read_cr0() | CR0_WP);
}

void paging_map_mmio(u64 pa, u64 size)
{
	for (u64 p = ALIGN_DOWN(pa, PAGE_SIZE); p < pa + size; p += PAGE_SIZE)
		map_page(p, PTE_W | PTE_NX | PTE_PCD | PTE_PWT);
	/* A 2 MiB page may have been split: drop every cached translation. */
	write_cr3(read_cr3());
}

void paging_stats(u32 *used, u32 *pool)
{
	*used = pt_used;
	*pool = PT_POOL_PAGES;
}
