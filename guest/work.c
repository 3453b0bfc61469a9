/*
 * work.c - the workload runner and the region table.
 *
 * Every region a workload writes is registered here, so `verify` can
 * re-check all of them at the end: a hypervisor that shared, swapped or
 * ballooned a page must give back exactly the bytes the guest wrote.
 * corrupt=1 flips one byte right after the first fill, which the next
 * verification must catch and report by address (the negative test).
 */
#include "work.h"

#include "abi.h"
#include "balloon.h"
#include "console.h"
#include "cpu.h"
#include "format.h"
#include "hv.h"
#include "timer.h"
#include "vm.h"

/* Native idle: HLT with interrupts off never wakes on bare metal or under
 * QEMU, so each idle step without a timer is this many PAUSEs instead. */
#define NATIVE_PAUSES_PER_STEP 2000

#define MAX_REGIONS 16
#define MISMATCH_PRINT_LIMIT 8
#define CORRUPT_SALT 0xBADC0FFEE0DDF00Dull

static struct region regions[MAX_REGIONS];
static int nregions;

int work_fail(struct work_ctx *c, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->status = status;
	return WORK_FAIL;
}

int work_skip(const char *name, const char *why)
{
	kprintf("%s: SKIP %s\n", name, why);
	return WORK_SKIP;
}

struct region *work_new_region(const char *name, uint64_t pages,
			       uint32_t tag)
{
	if (nregions == MAX_REGIONS)
		guest_fail(STATUS_NO_MEMORY, "too many regions (adding %s)",
			   name);
	struct region *r = &regions[nregions++];
	*r = (struct region){
		.name = name,
		.base = heap_alloc(pages * REGION_PAGE_SIZE, name),
		.pages = pages,
		.tag = tag,
	};
	return r;
}

int work_region_count(void)
{
	return nregions;
}

struct region *work_region(int i)
{
	return &regions[i];
}

uint64_t work_faults(void)
{
	return vm_stats()->demand_faults;
}

static void corrupt_one_byte(struct work_ctx *c, struct region *r,
			     uint64_t first, uint64_t count)
{
	uint64_t seed = c->cfg->seed;
	uint64_t page = first + pattern_mix(seed ^ CORRUPT_SALT) % count;
	uint64_t offset = pattern_mix(seed + CORRUPT_SALT) % REGION_PAGE_SIZE;
	volatile uint8_t *p = r->base + page * REGION_PAGE_SIZE + offset;
	uint8_t before = *p;

	*p = (uint8_t)~before;
	c->corrupted = 1;
	kprintf("corrupt: flipped byte at 0x%lx in %s (0x%02x -> 0x%02x)\n",
		(uint64_t)(uintptr_t)p, r->name, before, (uint8_t)~before);
}

void work_fill(struct work_ctx *c, struct region *r, uint64_t first,
	       uint64_t count)
{
	region_fill_pages(r, c->cfg->seed, first, count);
	if (c->cfg->corrupt && !c->corrupted && count)
		corrupt_one_byte(c, r, first, count);
}

struct mismatch_log {
	const char *name;
	uint64_t seen;
	uint64_t first_addr;
	uint8_t first_expected, first_actual;
};

static void log_mismatch(void *ctx, uint64_t addr, uint8_t expected,
			 uint8_t actual)
{
	struct mismatch_log *log = ctx;
	if (log->seen == 0) {
		log->first_addr = addr;
		log->first_expected = expected;
		log->first_actual = actual;
	}
	if (log->seen < MISMATCH_PRINT_LIMIT)
		kprintf("verify %s: MISMATCH at 0x%lx: expected 0x%02x, "
			"actual 0x%02x\n",
			log->name, addr, expected, actual);
	log->seen++;
}

int work_verify(struct work_ctx *c, struct region *r, uint64_t first,
		uint64_t count)
{
	struct mismatch_log log = { .name = r->name };
	uint64_t bad = region_verify_pages(r, c->cfg->seed, first, count,
					   log_mismatch, &log);
	if (!bad)
		return 0;
	if (bad > MISMATCH_PRINT_LIMIT)
		kprintf("verify %s: ... %lu more wrong bytes not shown\n",
			r->name, bad - MISMATCH_PRINT_LIMIT);
	work_fail(c, STATUS_VERIFY_FAILED,
		  "%s: %lu wrong byte(s) in pages %lu..%lu, first at 0x%lx "
		  "(expected 0x%02x, actual 0x%02x)",
		  r->name, bad, first, first + count - 1, log.first_addr,
		  log.first_expected, log.first_actual);
	return -1;
}

int work_run(enum work_id w, struct work_ctx *c)
{
	switch (w) {
	case WORK_TOUCH: return work_touch(c);
	case WORK_DUP: return work_dup(c);
	case WORK_COW: return work_cow(c);
	case WORK_HOTCOLD: return work_hotcold(c);
	case WORK_PT: return work_pt(c);
	case WORK_IDLE: return work_idle(c);
	case WORK_BALLOON: return work_balloon(c);
	case WORK_SETTLE: return work_settle(c);
	case WORK_VOLATILE: return work_volatile(c);
	case WORK_ZERO: return work_zero(c);
	case WORK_VERIFY: return work_verify_all(c);
	case WORK_TICKS: return work_ticks(c);
	case WORK_SPILL: return work_spill(c);
	case WORK_GROW: return work_grow(c);
	case WORK_EXITS: return work_exits(c);
	case WORK_COUNT: break;
	}
	return work_fail(c, STATUS_BAD_CMDLINE, "no such workload %d", (int)w);
}

int work_verify_regions(struct work_ctx *c)
{
	for (int i = 0; i < nregions; i++)
		if (work_verify(c, &regions[i], 0, regions[i].pages) < 0)
			return -1;
	return 0;
}

void work_idle_step(void)
{
	if (timer_running()) {
		/* STI's one-instruction shadow covers the HLT: a tick that is
		 * already pending wakes it, none is lost in between. */
		uint64_t flags = irq_save();
		__asm__ volatile("sti; hlt; cli" : : : "memory");
		irq_restore(flags);
		return;
	}
	balloon_poll();
	if (hv_present()) {
		/* Give the CPU to the other VMs; we resume after the call.
		 * Not HLT: without the timer no interrupt will ever come to
		 * end it (memvisor stops a vCPU that halts with nothing to
		 * wake it). */
		hc_yield();
		return;
	}
	for (int i = 0; i < NATIVE_PAUSES_PER_STEP; i++)
		cpu_pause();
}
