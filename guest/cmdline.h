/*
 * cmdline.h - the guest's command line: which workloads to run, how big,
 * with which seed.  docs/guest-abi.md, "Workload command line", is the
 * user-facing description; this is the parser's contract.
 *
 *   [image-path] key=value key=value ...
 *
 * Pure C (tests/test_guest_cmdline.c).  Any word the parser does not know
 * is an error naming that word, never silently ignored: a typo in a test
 * scenario must not turn into a test that checks nothing.
 */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdint.h>

enum work_id {
	WORK_TOUCH,
	WORK_DUP,
	WORK_COW,
	WORK_HOTCOLD,
	WORK_PT,
	WORK_IDLE,
	WORK_BALLOON,
	WORK_VERIFY,
	WORK_COUNT
};

enum hostile_id {
	HOSTILE_NONE,
	HOSTILE_OOB_READ,      /* read a GPA just beyond RAM */
	HOSTILE_OOB_WRITE,     /* write a GPA just beyond RAM */
	HOSTILE_VMXON,
	HOSTILE_VMRUN,
	HOSTILE_TRIPLE,        /* empty IDT, then an exception */
	HOSTILE_HCALL_UNKNOWN, /* unassigned hypercall numbers */
	HOSTILE_HCALL_BADADDR, /* buffers outside guest RAM */
	HOSTILE_HCALL_BADGFN,  /* balloon gfns outside RAM, duplicates, ... */
	HOSTILE_SPIN,          /* loop forever with interrupts off */
	HOSTILE_WILD,          /* write through a wild pointer (#PF report) */
	HOSTILE_EFER_SVME,     /* clear EFER.SVME (bit 12), then exit (AMD) */
	HOSTILE_BALLOON_ALIAS, /* INFLATE with the gfn array inside a listed page */
	HOSTILE_HLT_CLI,       /* HLT with interrupts off (stop) */
	HOSTILE_HLT_STI,       /* HLT with interrupts on, none armed (stop) */
	HOSTILE_HCALL_USER,    /* hypercalls from ring 3: -EPERM */
	HOSTILE_IN32,          /* IN EAX clears RAX 63:32, IN AL/AX do not */
	HOSTILE_MSR_SWEEP,     /* RDMSR 0..0xfff, each must #GP */
	HOSTILE_HCALL_RESERVED, /* buffers/gfns in the reserved hole; count 0 */
	HOSTILE_COMPUTE,       /* fixed computation, no exits (fair slices) */
	HOSTILE_COUNT
};

#define CMDLINE_MAX_WORK 16
#define CMDLINE_BALLOON_MAX 8192 /* pages the guest can hold in its balloon */

struct guest_config {
	enum work_id work[CMDLINE_MAX_WORK];
	int nwork;
	enum hostile_id hostile;
	uint64_t seed;
	uint64_t touch_bytes;
	uint64_t dup_pages;
	uint64_t cow_pages;
	uint64_t hot_bytes;
	uint64_t cold_bytes;
	uint64_t rounds;
	uint64_t pt_iters;
	uint64_t idle_bytes;
	uint64_t halts;
	uint64_t balloon_pages;
	uint64_t corrupt;
	char error[128]; /* set when cmdline_parse fails */
};

/* Returns 0, or -1 with cfg->error naming the offending word. */
int cmdline_parse(const char *line, struct guest_config *cfg);

const char *cmdline_work_name(enum work_id w);
const char *cmdline_hostile_name(enum hostile_id h);

/* Parses "123", "0x7b", "4K", "16M", "1G" into *out; 0 or -1. */
int cmdline_parse_number(const char *s, int len, int allow_suffix,
			 uint64_t *out);

#endif
