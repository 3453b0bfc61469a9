/*
 * abi.h - the memvisor guest ABI as numbers: the exit port, the CPUID
 * signature, the hypercall numbers and the errors they return.
 *
 * docs/guest-abi.md is the prose version of this file; keep the two in step.
 * Nothing here is guest policy: a hypervisor and any other guest would use the
 * same values.
 */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H

/* Multiboot v1 (Multiboot Specification 0.6.96, section 3.2): EAX on entry. */
#define MB_BOOT_MAGIC 0x2BADB002u

/* COM1, a 16550 UART at the PC's standard base port. */
#define COM1_BASE 0x3F8

/*
 * Writing v to this port ends the machine with status v.  QEMU's
 * isa-debug-exit (iobase=0xf4) turns it into the process exit status
 * (v << 1) | 1; memvisor stops the VM and records v.
 */
#define EXIT_PORT 0xF4

/* Guest exit statuses (the value written to EXIT_PORT). */
enum guest_status {
	STATUS_PASS = 0,
	STATUS_VERIFY_FAILED = 1, /* a workload found wrong data */
	STATUS_BAD_CMDLINE = 2,   /* unknown key/workload, bad value */
	STATUS_EXCEPTION = 3,     /* an unexpected fault or exception */
	STATUS_NO_MEMORY = 4,     /* the guest ran out of its own frames */
	STATUS_HOSTILE = 5,       /* a hostile action was not stopped */
	STATUS_BAD_BOOT = 6,      /* wrong multiboot magic or info */
};

/*
 * Hypervisor detection (Intel SDM Vol. 2A, CPUID: leaf 1 ECX bit 31 is
 * reserved for hypervisors; leaves 0x40000000.. are the hypervisor range by
 * convention).  The signature is the 12 bytes of EBX, ECX, EDX.
 */
#define CPUID_FEATURES 0x1u
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID_HV_BASE 0x40000000u
#define MEMVISOR_SIG_EBX 0x766d656du /* "memv" little-endian */
#define MEMVISOR_SIG_ECX 0x726f7369u /* "isor" */
#define MEMVISOR_SIG_EDX 0x00000000u

/* Hypercall numbers: RAX on VMCALL/VMMCALL. */
enum hypercall_nr {
	HC_VERSION = 0,
	HC_BALLOON_INFLATE = 1, /* RBX = gpa of u64 gfn[], RCX = count */
	HC_BALLOON_DEFLATE = 2, /* RBX = gpa of u64 gfn[], RCX = count */
	HC_BALLOON_TARGET = 3,
	HC_YIELD = 4,
	HC_MEMSTAT = 5, /* RBX = gpa of buffer, RCX = length in bytes */
};

/* The ABI version this guest was written against (HC_VERSION's answer). */
#define MEMVISOR_ABI_VERSION 2

/* Errors come back in RAX as negative Linux errno values. */
#define HC_EPERM 1 /* a call from CPL > 0 (user mode) */
#define HC_E2BIG 7 /* a gfn list longer than HC_GFN_MAX */
#define HC_EFAULT 14
#define HC_EINVAL 22
#define HC_ENOSYS 38

/* The most gfns one BALLOON_INFLATE or BALLOON_DEFLATE takes: the
 * hypervisor copies the whole list into its own memory once, before it
 * checks or changes anything.  A larger count gets -E2BIG, before any
 * other check. */
#define HC_GFN_MAX 512

/* HC_MEMSTAT fills these u64 counters, in this order, in pages. */
enum memstat_index {
	MEMSTAT_RESIDENT,
	MEMSTAT_SHARED,
	MEMSTAT_SWAPPED,
	MEMSTAT_BALLOONED,
	MEMSTAT_ZERO_POPULATED,
	MEMSTAT_FAULTS,
	MEMSTAT_COW_BREAKS,	/* the guest's writes that broke a share */
	MEMSTAT_SWAP_INS,	/* swapped pages it touched again */
	MEMSTAT_BALLOON_TOUCHED, /* ballooned pages it touched anyway */
	MEMSTAT_COUNT
};

#endif
