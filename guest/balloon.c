/*
 * balloon.c - the guest's balloon driver (balloon.h has the contract).
 *
 * State: gfns[0, held) are the pages in the balloon, in the order they
 * went in; a deflate takes the last ones back (a stack), so one array
 * serves both directions and every hypercall gets a contiguous list.  The
 * array lives in .bss: the kernel image is identity-mapped, so its address
 * is the guest-physical address the hypercalls take.
 *
 * Concurrency: one CPU.  balloon_tick() runs either in the timer's
 * interrupt (IF=0) or called from workload code, where it turns interrupts
 * off for its whole length; every other entry point does the same around
 * the state it reads or changes.  `busy` guards against the one nesting
 * left: the frame allocator's shortage hook (a demand fault that finds no
 * free frame) deflating while a tick is half done cannot happen, because
 * the tick takes frames with vm_alloc_frame_untouched(), which never calls
 * the hook.
 *
 * Reserve: max(256 frames, RAM/16) stay free (balloon_step.h).  256 frames
 * (1 MiB) cover the page tables of 512 MiB of heap plus a few hundred
 * demand faults between two ticks; RAM/16 keeps the same proportion for a
 * larger VM, whose workloads take bigger steps (grow's 1 MiB step is 256
 * pages, a 64 MiB VM keeps 1024).  Should a workload still outrun the
 * ticks, the shortage hook gives balloon pages back at once instead of
 * failing the demand fault (a real driver's deflate-on-OOM).
 */
#include "balloon.h"

#include "abi.h"
#include "balloon_step.h"
#include "console.h"
#include "cpu.h"
#include "format.h"
#include "hv.h"
#include "timer.h"
#include "vm.h"

#define PAGE UINT64_C(4096)

static uint64_t gfns[CMDLINE_BALLOON_MAX];
static uint64_t held, peak, inflated, deflated, ticks, shortage_deflates;
static uint64_t failures;
static char failure[160];
static int enabled;  /* balloon=on and memvisor */
static int paused;   /* balloon_pause() depth: no tick work while > 0 */
static int stopped;  /* balloon_finish() ran, or a call failed */
static int busy;
static const char *off_reason = "not initialised";

static void record_failure(const char *what, uint64_t n, int64_t rc)
{
	if (!failures++)
		fmt_snprintf(failure, sizeof(failure),
			     "balloon driver: %s(%lu pages) returned %ld (%s) "
			     "with %lu held",
			     what, n, (long)rc, hc_error_name(rc), held);
	stopped = 1;
}

/* Takes up to n free frames without touching them and gives them to
 * memvisor.  A refused call changes nothing (guest ABI): the frames go
 * back to the allocator. */
static void inflate(uint64_t n)
{
	uint64_t got = 0;

	while (got < n) {
		uint64_t pa = vm_alloc_frame_untouched();
		if (!pa)
			break;
		gfns[held + got++] = pa / PAGE;
	}
	if (!got)
		return;
	int64_t rc = hc_balloon_inflate(kernel_phys(&gfns[held]), got);
	if (rc != (int64_t)got) {
		for (uint64_t i = 0; i < got; i++)
			vm_free_frame(gfns[held + i] * PAGE);
		record_failure("INFLATE", got, rc);
		return;
	}
	held += got;
	inflated += got;
	if (held > peak)
		peak = held;
}

/* Takes the last n pages back; their frames go to the allocator as they
 * are (unpopulated in memvisor, zero when first touched). */
static void deflate(uint64_t n)
{
	uint64_t first = held - n;
	int64_t rc = hc_balloon_deflate(kernel_phys(&gfns[first]), n);

	if (rc != (int64_t)n) {
		record_failure("DEFLATE", n, rc);
		return;
	}
	held = first;
	deflated += n;
	for (uint64_t i = first; i < first + n; i++)
		vm_free_frame(gfns[i] * PAGE);
}

void balloon_tick(void)
{
	uint64_t flags = irq_save();

	if (enabled && !paused && !stopped && !busy) {
		busy = 1;
		ticks++;
		int64_t target = hc_balloon_target();
		if (target < 0) {
			record_failure("TARGET", 0, target);
		} else {
			struct balloon_step_in in = {
				.target = (uint64_t)target,
				.held = held,
				.free = vm_free_frames(),
				.reserve = balloon_reserve(vm_ram_top() / PAGE),
				.capacity = CMDLINE_BALLOON_MAX,
				.per_tick = BALLOON_PER_TICK,
			};
			int64_t step = balloon_step(&in);
			if (step > 0)
				inflate((uint64_t)step);
			else if (step < 0)
				deflate((uint64_t)-step);
		}
		busy = 0;
	}
	irq_restore(flags);
}

void balloon_poll(void)
{
	if (!timer_running())
		balloon_tick();
}

/* vm.c's shortage hook: a frame is needed now and none is free.  Gives
 * back up to one tick's worth; the number of frames freed. */
static uint64_t give_back_on_shortage(void)
{
	uint64_t flags = irq_save();
	uint64_t n = 0;

	if (enabled && !stopped && !busy && held) {
		busy = 1;
		n = held < BALLOON_PER_TICK ? held : BALLOON_PER_TICK;
		uint64_t before = deflated;
		deflate(n);
		n = deflated - before;
		shortage_deflates += n;
		busy = 0;
	}
	irq_restore(flags);
	return n;
}

void balloon_init(const struct guest_config *cfg)
{
	enabled = 0;
	if (cfg->balloon_off)
		off_reason = "off (balloon=off)";
	else if (!hv_present())
		off_reason = "not run (no memvisor)";
	else
		enabled = 1;
	if (!enabled) {
		kprintf("balloon: driver %s\n", off_reason);
		return;
	}
	vm_set_shortage_hook(give_back_on_shortage);
	timer_set_hook(balloon_tick);
	kprintf("balloon: driver on: up to %d pages a tick, reserve %lu "
		"frames, capacity %d pages\n",
		BALLOON_PER_TICK, balloon_reserve(vm_ram_top() / PAGE),
		CMDLINE_BALLOON_MAX);
}

int balloon_active(void)
{
	return enabled && !stopped;
}

const char *balloon_failure(void)
{
	return failures ? failure : 0;
}

uint64_t balloon_held(void)
{
	return held;
}

uint64_t balloon_peak(void)
{
	return peak;
}

uint64_t balloon_tick_count(void)
{
	return ticks;
}

void balloon_pause(void)
{
	uint64_t flags = irq_save();

	paused++;
	irq_restore(flags);
}

void balloon_resume(void)
{
	uint64_t flags = irq_save();

	paused--;
	irq_restore(flags);
}

uint64_t *balloon_borrow(uint64_t *room)
{
	uint64_t flags = irq_save();

	balloon_pause();
	*room = CMDLINE_BALLOON_MAX - held;
	uint64_t *tail = &gfns[held];
	irq_restore(flags);
	return tail;
}

void balloon_unborrow(void)
{
	balloon_resume();
}

int balloon_finish(struct work_ctx *c)
{
	uint64_t flags = irq_save();
	uint64_t held_then = held;

	if (!enabled) {
		irq_restore(flags);
		return WORK_PASS;
	}
	busy = 1;	/* no tick, no shortage hook from here on */
	while (held && !failures)
		deflate(held < BALLOON_PER_TICK ? held : BALLOON_PER_TICK);
	stopped = 1;
	irq_restore(flags);
	kprintf("balloon: driver %s: peak %lu pages held, inflated %lu, "
		"deflated %lu in %lu ticks; holding %lu at the end "
		"(%lu when the run ended)",
		timer_running() ? "in the timer tick" : "polled (no timer)",
		peak, inflated, deflated, ticks, held, held_then);
	if (shortage_deflates)
		kprintf("; %lu pages given back on a frame shortage",
			shortage_deflates);
	kprintf("\n");
	if (failures)
		return work_fail(c, STATUS_VERIFY_FAILED, "%s%s", failure,
				 failures > 1 ? " (and more)" : "");
	return WORK_PASS;
}
