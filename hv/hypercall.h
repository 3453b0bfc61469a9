/*
 * hypercall.h - the guest ABI's hypercalls (docs/guest-abi.md): RAX = call
 * number, RBX/RCX/RDX/RSI = arguments, RAX = result (>= 0, or -errno).
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "vm.h"

#define HYPERCALL_ABI_VERSION 2

enum hypercall {
	HC_VERSION = 0,
	HC_BALLOON_INFLATE = 1,
	HC_BALLOON_DEFLATE = 2,
	HC_BALLOON_TARGET = 3,
	HC_YIELD = 4,
	HC_MEMSTAT = 5,
};

#define HC_ENOSYS 38
#define HC_EINVAL 22
#define HC_EFAULT 14
#define HC_ENOMEM 12
#define HC_E2BIG 7
#define HC_EPERM 1	/* a call from CPL > 0 */

/* Most gfns one BALLOON_INFLATE/DEFLATE takes: the list is copied into the
 * hypervisor in one piece (4 KiB), and one exit does bounded work. */
#define HC_GFN_MAX 512

/* Handles the call in vcpu->regs and leaves the result in RAX. */
void hypercall_handle(struct vm *vm);

#endif
