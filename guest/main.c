/*
 * main.c - the guest kernel's life, top to bottom:
 *
 *   serial -> descriptor tables -> multiboot info -> page tables (vm.c)
 *   -> hypervisor detection -> command line -> timer (timer=, interrupts
 *   on from here) -> balloon driver (in the timer tick, or polled between
 *   workloads when no timer runs) -> workloads in the given order ->
 *   optional hostile action (driver paused; timer stopped and interrupts
 *   off first, unless it is the timer's own) -> the driver deflates
 *   everything -> summary -> GUEST RESULT line
 *
 * Each step either works or ends the guest with a FAIL line saying which
 * step and which values; nothing here retries or carries on after an error.
 */
#include <stdint.h>

#include "abi.h"
#include "balloon.h"
#include "cmdline.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "hv.h"
#include "mb.h"
#include "serial.h"
#include "timer.h"
#include "vm.h"
#include "work.h"

void guest_main(uint32_t magic, uint32_t info_pa);

/* The tick the balloon driver runs in, if nothing started the timer yet. */

static struct boot_mem boot;
static struct guest_config cfg;
static uint64_t memstat[MEMSTAT_COUNT];

static const char *region_type_name(uint32_t type)
{
	/* Multiboot 0.6.96 3.3: 1 available, 3 ACPI, 4 preserve, 5 bad. */
	switch (type) {
	case 1: return "available";
	case 3: return "ACPI reclaimable";
	case 4: return "ACPI NVS";
	case 5: return "bad RAM";
	default: return "reserved";
	}
}

static void read_boot_info(uint32_t magic, uint32_t info_pa)
{
	if (magic != MB_BOOT_MAGIC)
		guest_fail(STATUS_BAD_BOOT,
			   "bad multiboot magic 0x%x in EAX (expected 0x%x)",
			   magic, MB_BOOT_MAGIC);
	/* phys_offset 0: the boot map is still the identity map. */
	if (mb_read(info_pa, 0, &boot) < 0)
		guest_fail(STATUS_BAD_BOOT,
			   "multiboot info at 0x%x has neither a memory map "
			   "nor mem_lower/mem_upper",
			   info_pa);
	kprintf("boot: multiboot info at 0x%x, cmdline \"%s\"%s\n", info_pa,
		boot.cmdline, boot.cmdline_truncated ? " (truncated)" : "");
	for (int i = 0; i < boot.nreserved; i++)
		kprintf("boot: loader data at 0x%lx-0x%lx (kept out of the "
			"frame allocator)\n",
			boot.reserved[i].base,
			boot.reserved[i].base + boot.reserved[i].length);
	for (int i = 0; i < boot.nregions; i++)
		kprintf("mem: 0x%012lx-0x%012lx %s\n", boot.region[i].base,
			boot.region[i].base + boot.region[i].length,
			region_type_name(boot.region[i].type));
	if (boot.from_mem_fields)
		kprintf("mem: (no memory map: built from mem_lower/mem_upper)\n");
	if (boot.mmap_truncated)
		kprintf("mem: (more than %d entries: the rest ignored)\n",
			BOOT_MAX_REGIONS);
}

static void parse_config(void)
{
	if (cmdline_parse(boot.cmdline, &cfg) < 0)
		guest_fail(STATUS_BAD_CMDLINE, "bad command line: %s",
			   cfg.error);
	kprintf("config: seed=%lu work=", cfg.seed);
	for (int i = 0; i < cfg.nwork; i++)
		kprintf("%s%s", i ? "," : "", cmdline_work_name(cfg.work[i]));
	if (cfg.nwork == 0)
		kprintf("(none)");
	kprintf(" hostile=%s corrupt=%lu timer=%lu\n",
		cmdline_hostile_name(cfg.hostile), cfg.corrupt, cfg.timer_hz);
}

static void print_summary(void)
{
	const struct vm_stats *s = vm_stats();

	kprintf("summary: demand_faults=%lu spurious_faults=%lu "
		"table_pages=%lu invlpg=%lu free_frames=%lu\n",
		s->demand_faults, s->spurious_faults, s->table_pages,
		s->invlpgs, vm_free_frames());
	if (!hv_present())
		return;
	int64_t rc = hc_memstat(kernel_phys(memstat), sizeof(memstat));
	if (rc < 0) {
		kprintf("summary: MEMSTAT failed: %ld (%s)\n", (long)rc,
			hc_error_name(rc));
		return;
	}
	kprintf("summary: memvisor says resident=%lu shared=%lu swapped=%lu "
		"ballooned=%lu zero_populated=%lu faults=%lu "
		"balloon_touched=%lu\n",
		memstat[MEMSTAT_RESIDENT], memstat[MEMSTAT_SHARED],
		memstat[MEMSTAT_SWAPPED], memstat[MEMSTAT_BALLOONED],
		memstat[MEMSTAT_ZERO_POPULATED], memstat[MEMSTAT_FAULTS],
		memstat[MEMSTAT_BALLOON_TOUCHED]);
}

/* In memory, not in a callee-saved register that a fault dump would show. */
static volatile uint64_t work_t0;

void guest_main(uint32_t magic, uint32_t info_pa)
{
	struct work_ctx ctx = { .cfg = &cfg };

	serial_init();
	kprintf("memvisor guest: 64-bit kernel, guest ABI %d\n",
		MEMVISOR_ABI_VERSION);
	desc_init();
	read_boot_info(magic, info_pa);
	vm_init(&boot);
	hv_detect();
	parse_config();
	if (timer_start((unsigned)cfg.timer_hz) == 0)
		irq_enable();
	balloon_init(&cfg);
	if (balloon_active() && !timer_running())
		kprintf("balloon: no timer tick: the driver is polled between "
			"workload steps and in idle waits\n");

	/* The TSC over the workloads: under QEMU -icount it counts every
	 * instruction, the hypervisor's too (make bench's whole-run
	 * overhead compares it with a native run). */
	work_t0 = rdtsc();
	for (int i = 0; i < cfg.nwork; i++) {
		if (work_run(cfg.work[i], &ctx) == WORK_FAIL)
			guest_fail(ctx.status, "%s", ctx.reason);
		balloon_poll();
	}
	/* Not for hostile runs: their register dumps must not depend on a
	 * TSC value or on how long its number was (tests compare them
	 * across backends). */
	if (cfg.hostile == HOSTILE_NONE)
		kprintf("work: %lu TSC ticks for all workloads\n",
			rdtsc() - work_t0);
	/* The hostile actions count MEMSTAT's ballooned pages exactly: the
	 * driver waits while they run.  They break IDTs and modes on purpose:
	 * no ticks there either (but for the timer's own). */
	if (cfg.hostile != HOSTILE_NONE) {
		balloon_pause();
		if (cfg.hostile != HOSTILE_X2APIC_BAD) {
			timer_stop();
			irq_disable();
		}
		if (work_hostile(&ctx) == WORK_FAIL)
			guest_fail(ctx.status, "%s", ctx.reason);
		balloon_resume();
	}
	if (balloon_finish(&ctx) == WORK_FAIL)
		guest_fail(ctx.status, "%s", ctx.reason);
	if (cfg.corrupt && !ctx.corrupted)
		guest_fail(STATUS_BAD_CMDLINE,
			   "corrupt=1 but no workload wrote a region to corrupt");
	print_summary();
	guest_pass();
}
