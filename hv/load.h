/*
 * load.h - what the guest image loaders share (hv/guest_load.c for
 * multiboot v1, hv/linux_boot.c for the Linux x86 boot protocol): the
 * image being loaded, the one-line failure, copying file bytes into guest
 * RAM, and the memory map both protocols hand the guest.
 */
#ifndef HV_LOAD_H
#define HV_LOAD_H

#include "vm.h"

struct load_ctx {
	struct vm *vm;
	const u8 *image;
	u64 size;
	const char *name;
	char *err;
	size_t errlen;
};

/* Writes "NAME: why" into c->err; returns -1. */
int load_fail(struct load_ctx *c, const char *fmt, ...) __printf(2, 3);

/*
 * Copies file bytes [off, off+filesz) to gpa; the rest up to memsz stays
 * demand-zero.  Refuses what does not fit in the file or the VM's RAM, or
 * overlaps the boot data [low_start, low_end) the loader writes (named
 * low_what in the message).
 */
int load_bytes(struct load_ctx *c, u64 gpa, u64 off, u64 filesz, u64 memsz,
	       u64 low_start, u64 low_end, const char *low_what);

/* The VM's RAM as the BIOS INT 15h E820 call would describe it (the
 * types are the ACPI address-range types both protocols use). */
#define E820_RAM 1
#define E820_RESERVED 2
#define GUEST_MAP_MAX 3

struct guest_range {
	u64 base, length;
	u32 type;
};

/* Fills map[GUEST_MAP_MAX]: conventional memory, the legacy hole
 * (reserved; still RAM to the p2m), RAM above 1 MiB.  Returns the count. */
int guest_memory_map(u64 mem_bytes, struct guest_range *map);

/* Loads a Linux x86 bzImage (hv/linux_boot.c); same contract as
 * guest_load(). */
int linux_boot_load(struct load_ctx *c, const char *cmdline);

/* True if the image starts like a Linux boot sector (boot_flag 0xAA55 at
 * 0x1FE), so that linux_boot_load() is the loader to explain it. */
bool linux_boot_sector(const u8 *image, u64 size);

#endif
