/*
 * boot_info.h - the handoff from a loader to the hypervisor.
 *
 * Both loaders (boot/uefi, a GNU-EFI application, and boot/multiboot, a
 * multiboot2 entry that GRUB starts) fill one struct boot_info and jump to the
 * hypervisor's 64-bit entry with its address in RDI.  Nothing after the
 * handoff may depend on which loader ran, so everything the hypervisor needs
 * from firmware is in here, already normalized:
 *
 *   - the physical memory map: sorted, non-overlapping, page-aligned ranges,
 *     with the hypervisor image, the modules and the loader's own data marked
 *     so the frame allocator never hands them out;
 *   - the modules (guest images) by name;
 *   - the hypervisor command line, the ACPI RSDP and the loader's name.
 *
 * The structure is plain data with fixed-size arrays so that a loader can
 * fill it after ExitBootServices() without allocating.
 */
#ifndef BOOT_BOOT_INFO_H
#define BOOT_BOOT_INFO_H

#include "../hv/types.h"

#define BOOT_INFO_MAGIC 0x6f666e69746f6f62ull /* "bootinfo" */
#define BOOT_INFO_VERSION 1

#define BOOT_MMAP_MAX 256
#define BOOT_MODULES_MAX 16
#define BOOT_MODULE_NAME_MAX 64
#define BOOT_CMDLINE_MAX 2048
#define BOOT_LOADER_NAME_MAX 48

/*
 * Range types, in increasing order of precedence: where two firmware ranges
 * overlap, the normalized map keeps the higher type (a byte that one source
 * calls usable and another reserved is reserved).
 */
enum boot_mem_type {
	BOOT_MEM_NONE = 0,
	BOOT_MEM_USABLE,	/* free RAM */
	BOOT_MEM_LOADER,	/* loader data that must survive the handoff */
	BOOT_MEM_MODULE,	/* a module (guest image) */
	BOOT_MEM_HV_IMAGE,	/* the hypervisor's PT_LOAD segments */
	BOOT_MEM_ACPI_RECLAIM,	/* ACPI tables */
	BOOT_MEM_ACPI_NVS,
	BOOT_MEM_FIRMWARE,	/* UEFI runtime services code/data */
	BOOT_MEM_RESERVED,
	BOOT_MEM_BAD,
	BOOT_MEM_TYPE_COUNT
};

struct boot_mem_range {
	u64 base;
	u64 length;
	u32 type;		/* enum boot_mem_type */
	u32 reserved;
};

struct boot_module {
	u64 base;		/* physical, page-aligned */
	u64 size;		/* bytes */
	char name[BOOT_MODULE_NAME_MAX];
};

struct boot_info {
	u64 magic;
	u32 version;
	u32 mmap_count;
	u32 module_count;
	u32 reserved;
	u64 rsdp;		/* physical address of the ACPI RSDP, 0 if none */
	u64 hv_start, hv_end;	/* physical extent of the loaded image */
	char loader_name[BOOT_LOADER_NAME_MAX];
	char cmdline[BOOT_CMDLINE_MAX];
	struct boot_mem_range mmap[BOOT_MMAP_MAX];
	struct boot_module modules[BOOT_MODULES_MAX];
};

#endif
