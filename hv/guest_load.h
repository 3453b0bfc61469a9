/*
 * guest_load.h - the hypervisor side of the guest ABI's boot protocol
 * (Multiboot version 1, as `qemu-system-x86_64 -kernel` implements it).
 */
#ifndef HV_GUEST_LOAD_H
#define HV_GUEST_LOAD_H

#include "vm.h"

/*
 * Loads a multiboot v1 image into the VM's memory, writes the multiboot
 * information (memory map, mem_lower/mem_upper, command line) and sets the
 * vCPU's entry state (regs.rip, EAX, EBX).  0, or -1 with a one-line
 * reason in err (nothing about the image is trusted).
 */
int guest_load(struct vm *vm, const void *image, u64 size, const char *name,
	       const char *cmdline, char *err, size_t errlen);

#endif
