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
	WORK_SETTLE,   /* yield until MEMSTAT shared settles (memvisor) */
	WORK_VOLATILE, /* pages rewritten every round beside still ones */
	WORK_ZERO,     /* resident pages that hold only zeros */
	WORK_VERIFY,
	WORK_TICKS,    /* wait ticks= timer ticks by HLT, compare the period */
	WORK_SPILL,    /* writes, verifies, frees most of it (a cache dropped) */
	WORK_GROW,     /* allocates in steps, verifying all so far each time */
	WORK_EXITS,    /* exits= of each cheap kind: CPUID, I/O, MSR, hypercall */
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
	HOSTILE_XSETBV,        /* XSETBV: valid and invalid XCR0, #UD, #GP */
	HOSTILE_INVD,          /* INVD: goes on, data kept */
	HOSTILE_OUTS,          /* REP OUTSB/W/D: forwards, DF=1, widths */
	HOSTILE_INS,           /* REP INSB/W from an empty port and COM1 */
	HOSTILE_OUTS_BAD,      /* REP OUTSB from an unmapped address, RCX huge */
	HOSTILE_OUTS_HUGE,     /* REP OUTSB, RCX = 2^64-1, off a mapped page */
	HOSTILE_CR8,           /* CR8 0..15 read back, 16 is #GP */
	HOSTILE_CR8_SPIN,      /* CR8 = 15, interrupts off, spin forever */
	HOSTILE_CR4_VMXE,      /* CR4.VMXE while CPUID hides VMX: #GP */
	HOSTILE_CR4_RESERVED,  /* CR4 bits the CPU does not have: #GP */
	HOSTILE_CR0_PG_OFF,    /* clear CR0.PG in 64-bit mode: #GP */
	HOSTILE_CR0_INVALID,   /* PG without PE, NW without CD, bit 32: #GP */
	HOSTILE_DR7,           /* DR0-DR3/DR7 kept, a data breakpoint fires */
	HOSTILE_INVLPGA,       /* AMD's INVLPGA: #UD (work_hostile_insn.c) */
	HOSTILE_CPUID_HIDDEN,  /* CPUID shows no VMX, no SVM, no SVM leaf */
	HOSTILE_HCALL_OTHER_VENDOR, /* VERSION via the other vendor's insn */
	HOSTILE_HLT_CLI,       /* HLT with interrupts off (stop) */
	HOSTILE_HLT_STI,       /* HLT with interrupts on, none armed (stop) */
	HOSTILE_HCALL_USER,    /* hypercalls from ring 3: -EPERM */
	HOSTILE_IN32,          /* IN EAX clears RAX 63:32, IN AL/AX do not */
	HOSTILE_MSR_SWEEP,     /* RDMSR 0..0xfff, each must #GP */
	HOSTILE_HCALL_RESERVED, /* buffers/gfns in the reserved hole; count 0 */
	HOSTILE_COMPUTE,       /* fixed computation, no exits (fair slices) */
	HOSTILE_COW_STORM,     /* store into merged dup pages, again and again */
	HOSTILE_X2APIC_BAD,    /* program the x2APIC timer badly: SDM answers */
	HOSTILE_BALLOON_TOUCH, /* read and write pages it ballooned: zeros, counted */
	HOSTILE_PC_DEVICES,    /* memtest86+'s PIT calibration, CMOS, PCI probe */
	HOSTILE_KBC_RESET,     /* i8042 command FEh: the VM must be stopped */
	HOSTILE_CR3_OUTSIDE,   /* CR3 beyond RAM: the VM must be stopped */
	HOSTILE_PT_LOOP,       /* a PML4 slot pointing at the PML4 itself */
	HOSTILE_PT_SCRIBBLE,   /* its PML4 overwritten: a triple fault */
	HOSTILE_COUNT
};

#define CMDLINE_MAX_WORK 16
/* Pages the guest can hold in its balloon (driver and `balloon` workload
 * together): 128 MiB, so a 64 MiB VM can be asked for all it has free. */
#define CMDLINE_BALLOON_MAX 32768
#define CMDLINE_SETTLE_DEFAULT 2000 /* settle=: yields, when not given */
#define CMDLINE_TIMER_DEFAULT 100   /* timer=: Hz, when not given */
#define CMDLINE_TICKS_DEFAULT 50    /* ticks=: ticks the workload waits */

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
	uint64_t idle_ticks;     /* idle_ticks=: idle steps (ticks, or YIELDs) */
	uint64_t idle_deflate;   /* idle_deflate=: bound on the wait, 0 = off */
	uint64_t balloon_pages;  /* balloon_pages=: pages of `balloon` */
	int balloon_off;         /* balloon=off: no balloon driver */
	uint64_t corrupt;
	uint64_t settle_bound;   /* settle=: most yields */
	uint64_t settle_shared;  /* settle_shared=: target, 0 = until stable */
	uint64_t volatile_pages; /* volatile=: pages rewritten (and still) */
	uint64_t vrounds;        /* vrounds=: rewrites of the volatile set */
	uint64_t zero_pages;     /* zero=: pages of the zero workload */
	uint64_t timer_hz;       /* timer=: x2APIC timer rate, 0 = off */
	uint64_t ticks;          /* ticks=: ticks the ticks workload waits */
	uint64_t spill_bytes;    /* spill=: written, then mostly freed */
	uint64_t spill_keep;     /* spill_keep=: what spill keeps */
	uint64_t grow_bytes;     /* grow=: written in steps */
	uint64_t grow_step;      /* grow_step=: one step */
	uint64_t exits;          /* exits=: of each kind, the exits workload */
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
