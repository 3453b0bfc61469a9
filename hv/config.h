/*
 * config.h - what the hypervisor command line (hv.cfg, or GRUB's multiboot2
 * command line) means.  Pure logic, host-tested by tests/test_cmdline.c.
 *
 *   vm=MODULE[,mem=SIZE][,args="GUEST COMMAND LINE"][,expect=WHAT]
 *      [,share_group=N][,shares=N][,runtime=S][,paging=slat|shadow]
 *      [,expect_console="RE"]...
 *      [,forbid_console="RE"]...
 *                   declare a VM (up to 8); expect=N (exit status N, default
 *                   0) or expect=stopped (the hypervisor stops it) says
 *                   how it must end for HV RESULT: PASS; pages are shared
 *                   only between VMs of one share_group (0-255, default 0);
 *                   shares=N (1-1000000, default 1000) is its proportional
 *                   share of memory under pressure (mm/reclaim.c);
 *                   runtime=S (1-86400 s; default none) ends the VM once it
 *                   has seen S seconds of guest time (its TSC since its
 *                   first entry), which counts as exit status 0;
 *                   paging=shadow runs it without EPT/NPT, on shadow page
 *                   tables (mm/shadow.h; default slat: EPT or NPT);
 *                   expect_console= (up to 4) must each match one of its
 *                   console lines, forbid_console= (up to 4) none
 *                   (hv/regex.h: the dialect, checked here)
 *   pool=SIZE       the guest-memory pool (default: the sum of the VMs' RAM);
 *                   may be smaller than that sum (overcommit)
 *   slice=US        a vCPU's time slice in microseconds (default 10000)
 *   stat_interval=MS  a [stat] JSON line every MS milliseconds (default
 *                   1000; 0 turns them off)
 *   slat_drop=N     every N-th slice, drop part of the VM's SLAT tables (a
 *                   2 MiB subtree, every fourth time all of them); the
 *                   next violations rebuild them from the p2m (0: off)
 *   slat_trace=N    log each VM's first N SLAT violations: the GPA, the
 *                   access, what the p2m held and what was mapped (0: off)
 *   watchdog=S      stop a VM that made no exit but timer ticks for S
 *                   seconds (default 10; 0 turns it off)
 *   swap=SIZE       the swap RAM-disk (a multiple of 4K; default 0: no
 *                   swapping)
 *   swap_low=LOW:HIGH  free pool frames, in percent of the pool, below
 *                   which the clock swaps out of every VM between slices,
 *                   and up to which it does (default 2:4; 0 < LOW < HIGH
 *                   <= 50); above LOW, swapping takes only from VMs short
 *                   of their balloon target (mm/reclaim.c)
 *   mem_states=HIGH:SOFT:HARD:LOW  the pool's free-memory states, percent
 *                   of the pool (default 6:4:2:1, as VMware ESX)
 *   idle_tax=PERCENT  the idle memory tax (0-99, default 75)
 *   balloon_max=PERCENT  the most of a VM's RAM its balloon target may
 *                   ask for (0-90, default 65)
 *   share=on|off    content-based page sharing (default on)
 *   shadow_rmap=on|off  shadow-paged VMs keep a reverse map from guest
 *                   page to shadow leaves, so a p2m change drops only that
 *                   page's leaves (default on); off, it drops every shadow
 *                   of the VM (mm/shadow.h; for measuring the two)
 *   share_scan=N    pages the sharing scanner hashes per round, between
 *                   slices (1-65536, default 128)
 *   share_oracle=0|1  print the sharing oracle with every [stat] line too
 *                   (it is always printed at the end)
 *   selftest=NAME   deliberately break something at boot, to prove the
 *                   hypervisor catches it (see config.c for the names);
 *                   bitflip:VM:MS flips one bit of that VM's RAM after MS
 *                   ms of its guest time, to prove a memory tester in it
 *                   sees a lost byte
 *
 * Unknown keys, malformed values and duplicate single-use keys are errors
 * that name the key: a typo must never be silently ignored.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include "types.h"
#include "regex.h"
#include "../mm/reclaim.h"

#define CONFIG_MAX_VMS 8
#define CONFIG_NAME_MAX 64
#define CONFIG_ARGS_MAX 256
#define CONFIG_DEFAULT_VM_MEM (32 * MiB)
#define CONFIG_CONSOLE_RE_MAX 4	/* expect_console=, and forbid_console= */
#define CONFIG_RUNTIME_MAX_S 86400

enum selftest {
	SELFTEST_NONE = 0,
	SELFTEST_NULL,		/* read address 0: #PF not-present */
	SELFTEST_WRITE_TEXT,	/* write to our own code: #PF protection */
	SELFTEST_EXEC_DATA,	/* jump into data: #PF instruction fetch */
	SELFTEST_STACK_GUARD,	/* touch the boot stack's guard page */
	SELFTEST_UD,		/* ud2: #UD */
	SELFTEST_PANIC,		/* panic(): message and backtrace */
	SELFTEST_ENTRY_FAILURE,	/* vm0's guest state broken: entry fails */
	SELFTEST_BAD_CONTROL,	/* vm0's controls broken: entry fails */
	SELFTEST_HOST_NMI,	/* a host NMI in each VM's second slice */
	SELFTEST_BITFLIP,	/* bitflip:VM:MS: one bit of VM's RAM flipped
				   after MS ms of its guest time (hv/bitflip.c) */
};

/* How a VM is expected to end (a test scenario's verdict depends on it). */
enum vm_expect {
	EXPECT_STATUS,	/* the exit port with expect_status (default 0) */
	EXPECT_STOPPED,	/* stopped by the hypervisor (a hostile guest) */
};

struct vm_decl {
	char module[CONFIG_NAME_MAX];
	u64 mem;
	char args[CONFIG_ARGS_MAX];
	enum vm_expect expect;
	int expect_status;
	unsigned share_group;
	unsigned shares;	/* 0: SHARES_DEFAULT */
	u64 runtime_s;		/* guest seconds until it is ended; 0: none */
	bool shadow_paging;	/* paging=shadow */
	int n_expect_console, n_forbid_console;
	struct regex expect_console[CONFIG_CONSOLE_RE_MAX];
	struct regex forbid_console[CONFIG_CONSOLE_RE_MAX];
};

#define CONFIG_DEFAULT_SLICE_US 10000
#define CONFIG_DEFAULT_STAT_MS 1000
#define CONFIG_DEFAULT_WATCHDOG_S 10
#define CONFIG_DEFAULT_SHARE_SCAN 128
#define CONFIG_DEFAULT_SWAP_LOW 2
#define CONFIG_DEFAULT_SWAP_HIGH 4

struct hv_config {
	enum selftest selftest;
	unsigned bitflip_vm;	/* selftest=bitflip:VM:MS */
	u64 bitflip_ms;
	u64 pool_bytes;		/* 0: the sum of the VMs' RAM */
	u64 slice_us;
	u64 stat_interval_ms;
	u64 watchdog_s;
	u64 slat_drop;
	u64 slat_trace;		/* violations logged per VM */
	u64 swap_bytes;		/* 0: no swapping */
	u64 swap_low, swap_high;	/* percent of the pool */
	unsigned mem_states[4];	/* high, soft, hard, low: percent */
	u64 idle_tax;		/* percent */
	u64 balloon_max;	/* percent of a VM's RAM */
	bool share;		/* share=on (default) */
	bool shadow_rmap_off;	/* shadow_rmap=off */
	u64 share_scan;
	u64 share_oracle;
	int vm_count;
	struct vm_decl vms[CONFIG_MAX_VMS];
};

/* Fills cfg from a command line; 0, or -1 with a one-line reason in err. */
int config_parse(struct hv_config *cfg, const char *cmdline, char *err,
		 size_t errlen);

const char *selftest_name(enum selftest t);

#endif
