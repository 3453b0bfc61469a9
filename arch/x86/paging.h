/* paging.h - the hypervisor's own four-level page tables. */
#ifndef ARCH_X86_PAGING_H
#define ARCH_X86_PAGING_H

#include "../../boot/boot_info.h"

/* Builds the identity map from the memory map and switches CR3 to it. */
void paging_init(const struct boot_info *bi);
/* Maps device memory [pa, pa+size) uncached, read/write, no-execute. */
void paging_map_mmio(u64 pa, u64 size);
/* Page-table pages used so far, of the static pool. */
void paging_stats(u32 *used, u32 *pool);

#endif
