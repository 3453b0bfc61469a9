/*
 * run.c - from declared VMs to the verdict.
 *
 *   1. pick the first backend that can run on this CPU, and enable it;
 *   2. create each VM: p2m and SLAT root (vmmem.c), the guest image and
 *      multiboot info (guest_load.c), the vCPU's control structure;
 *   3. run the VMs round-robin, one exit at a time, until all have ended
 *      (or used up their runtime= of guest time);
 *   4. for each VM: check its SLAT against its p2m, print its exit and
 *      memory tables, return every frame, and compare how it ended, and
 *      what its console printed (expect_console=, forbid_console=), with
 *      what its declaration expected.
 *
 * A VM that misbehaves is stopped alone (exit.c); the others go on.
 */
#include "run.h"
#include "bench.h"
#include "console.h"
#include "exit.h"
#include "finish.h"
#include "fmt.h"
#include "guest_load.h"
#include "bitflip.h"
#include "dev/i8254.h"
#include "hvmem.h"
#include "string.h"
#include "vintr.h"
#include "vmmem.h"
#include "../arch/x86/cpufeat.h"
#include "../arch/x86/lapic.h"
#include "../arch/x86/trap.h"

/* A backend that is not linked in is simply absent. */
#pragma weak vmx_backend
#pragma weak svm_backend

#define VM_MIN_MEM (2 * MiB)	/* low memory + a 1 MiB-based image */
#define VM_MAX_MEM (4 * GiB)	/* multiboot v1 fields are 32-bit */
/* Frames the hypervisor keeps outside the pool for its own structures
 * (the backends' control structures, SLAT tables, p2m arrays): 8 MiB. */
#define HV_RESERVE_FRAMES (8 * MiB / PAGE_SIZE)

static struct vm vms[VM_MAX];
static int vm_count;
struct vm *volatile vm_on_cpu;

/* The backends, in the order they are tried, each with the CPU extension
 * it runs on (as cpu_virt_extension() names it). */
static const struct {
	const char *extension;
	const struct backend_ops *ops;	/* NULL: not built in */
} backends[] = {
	{ "VMX", &vmx_backend },
	{ "SVM", &svm_backend },
};

const struct backend_ops *backend_select(char *err, size_t errlen)
{
	const char *ext = cpu_virt_extension();
	char why[160];

	err[0] = '\0';
	for (unsigned i = 0; i < ARRAY_SIZE(backends); i++) {
		const struct backend_ops *b = backends[i].ops;
		/* Only the backend for the CPU's own extension has something
		 * to say about why it cannot run. */
		bool cpus = ext && !strcmp(ext, backends[i].extension);

		if (!b) {
			if (cpus)
				fmt_snprintf(err, errlen, "this CPU has %s, but "
					     "the %s backend is not built in",
					     ext, ext);
			continue;
		}
		if (b->probe(why, sizeof(why)) == 0)
			return b;
		if (cpus)
			fmt_snprintf(err, errlen, "%s", why);
	}
	if (!ext) {
		size_t n = fmt_snprintf(err, errlen, "this CPU has neither");
		for (unsigned i = 0; i < ARRAY_SIZE(backends); i++)
			if (n < errlen)
				n += fmt_snprintf(err + n, errlen - n, "%s %s",
						  i ? " nor" : "",
						  backends[i].extension);
	}
	return NULL;
}

const struct boot_module *boot_find_module(const struct boot_info *boot,
					  const char *name)
{
	for (u32 i = 0; i < boot->module_count; i++)
		if (!strcmp(boot->modules[i].name, name))
			return &boot->modules[i];
	return NULL;
}

/* vconsole's emit: one guest console line, as "[vmN] text". */
static void vm_console_line(void *ctx, const char *text, size_t len)
{
	const struct vm *vm = ctx;

	kprintf("[%s] %.*s\n", vm->name, (int)len, text);
}

static int vm_create(struct vm *vm, int id, const struct vm_decl *d,
		     const struct boot_info *boot, char *err, size_t errlen)
{
	const struct boot_module *m = boot_find_module(boot, d->module);

	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	fmt_snprintf(vm->name, sizeof(vm->name), "vm%d", id);
	fmt_snprintf(vm->image, sizeof(vm->image), "%s", d->module);
	vm->mem_bytes = d->mem;
	vm->npages = d->mem / PAGE_SIZE;
	vm->share_group = d->share_group;
	vm->shares = d->shares ? d->shares : SHARES_DEFAULT;
	vm->runtime_s = d->runtime_s;
	vm->shadow_paging = d->shadow_paging;
	vm->vcpu.vm = vm;
	vm->state = VM_LOADING;
	vintr_init(vm);
	pc_devices_reset(&vm->dev, d->mem, rdtsc(), tsc_khz);
	vconsole_init(&vm->con, vm_console_line, vm);
	for (int i = 0; i < d->n_expect_console; i++)
		vconsole_watch(&vm->con, &d->expect_console[i], false);
	for (int i = 0; i < d->n_forbid_console; i++)
		vconsole_watch(&vm->con, &d->forbid_console[i], true);

	if (d->mem % PAGE_SIZE || d->mem < VM_MIN_MEM || d->mem > VM_MAX_MEM) {
		fmt_snprintf(err, errlen, "%s: RAM size %llu KiB: want a "
			     "multiple of 4 KiB from %llu MiB to %llu GiB",
			     vm->name, (unsigned long long)(d->mem / KiB),
			     VM_MIN_MEM / MiB, VM_MAX_MEM / GiB);
		return -1;
	}
	if (!m) {
		fmt_snprintf(err, errlen, "%s: module '%s' not found", vm->name,
			     d->module);
		return -1;
	}
	if (vm->shadow_paging && !backend->shadow_paging) {
		fmt_snprintf(err, errlen, "%s: paging=shadow: the %s backend "
			     "does not run shadow-paged VMs", vm->name,
			     backend->name);
		return -1;
	}
	if (vmmem_init(vm, backend->slat, err, errlen) < 0)
		return -1;
	if (guest_load(vm, hv_ptr(m->base), m->size, m->name, d->args, err,
		       errlen) < 0)
		return -1;
	if (backend->vcpu_create(&vm->vcpu, err, errlen) < 0)
		return -1;
	vm->state = VM_RUNNING;
	hv_log("%s: %s, %llu MiB RAM, entry 0x%llx, %llu pages loaded, "
	       "args '%s'", vm->name, m->name,
	       (unsigned long long)(vm->mem_bytes / MiB),
	       (unsigned long long)vm->vcpu.boot.entry,
	       (unsigned long long)vm->mem.st.loaded, d->args);
	return 0;
}

static void print_exits(const struct vm *vm)
{
	u64 total = 0;

	for (int r = 0; r < EXIT_REASON_COUNT; r++)
		total += vm->stats.exits[r];
	kprintf("[hv] %s exits: %llu total", vm->name,
		(unsigned long long)total);
	for (int r = 1; r < EXIT_REASON_COUNT; r++)
		if (vm->stats.exits[r])
			kprintf(", %s %llu", exit_reason_name(r),
				(unsigned long long)vm->stats.exits[r]);
	kprintf("\n");
}

/*
 * expect_console= and forbid_console=: one line for each pattern, how it
 * fared over the VM's console lines.  Returns how many failed (an
 * expected pattern never seen, a forbidden one seen).
 */
static u64 console_report(const struct vm *vm)
{
	u64 failed = 0;

	for (int i = 0; i < vm->con.nwatch; i++) {
		const struct vconsole_watch *w = &vm->con.watch[i];
		unsigned long long at = w->first_line;
		if (w->forbid && at) {
			hv_log("%s console: forbidden /%s/ seen at line %llu: %s",
			       vm->name, w->re->src, at, w->text);
			failed++;
		} else if (w->forbid) {
			hv_log("%s console: forbidden /%s/ not seen", vm->name,
			       w->re->src);
		} else if (at) {
			hv_log("%s console: /%s/ seen (first at line %llu)",
			       vm->name, w->re->src, at);
		} else {
			hv_log("%s console: /%s/ NEVER SEEN", vm->name,
			       w->re->src);
			failed++;
		}
	}
	return failed;
}

/*
 * Reports a VM that has just ended and frees everything it had, at once,
 * so its frames serve the VMs still running.  Records whether it ended as
 * its declaration expected.
 */
static void vm_finish(struct vm *vm, const struct vm_decl *d)
{
	const struct gmem *g = &vm->mem;
	const struct p2m *p = &g->p2m;
	bool ok;

	vconsole_flush(&vm->con);	/* a last line without its newline */
	print_exits(vm);
	vintr_report(vm);
	hv_log("%s scheduling: %llu slices, %llu ended by the timer; late "
	       "ticks discarded: %llu", vm->name,
	       (unsigned long long)vm->stats.slices,
	       (unsigned long long)vm->stats.preemptions,
	       (unsigned long long)vm->stats.late_ticks);
	if (vm->stats.pit_stretches)
		hv_log("%s: %llu slices stretched to the end of a PIT counter 2 "
		       "countdown (a TSC calibration)", vm->name,
		       (unsigned long long)vm->stats.pit_stretches);
	if (vm->stats.msr_refused > MSR_LOG_MAX)
		hv_log("%s: %llu MSR accesses refused with #GP in all (the "
		       "first %d shown)", vm->name,
		       (unsigned long long)vm->stats.msr_refused, MSR_LOG_MAX);
	if (vm->stats.io_other)
		hv_log("%s: %llu port accesses with nothing attached (%u "
		       "port%s logged%s)", vm->name,
		       (unsigned long long)vm->stats.io_other,
		       vm->dev.unknown_logged,
		       vm->dev.unknown_logged == 1 ? "" : "s",
		       vm->dev.unknown_more_said ? ", more not" : "");
	if (vm->stats.hypercalls_refused)
		hv_log("%s: %llu hypercalls from CPL > 0 refused with -EPERM",
		       vm->name,
		       (unsigned long long)vm->stats.hypercalls_refused);
	hv_log("%s memory: %llu MiB RAM; %llu pages resident (loaded %llu, "
	       "demand-zero %llu, by the hypervisor %llu), %llu ballooned",
	       vm->name, (unsigned long long)(vm->mem_bytes / MiB),
	       (unsigned long long)(p->count[P2M_PRIVATE] +
				    p->count[P2M_SHARED]),
	       (unsigned long long)g->st.loaded,
	       (unsigned long long)g->st.populated_slat,
	       (unsigned long long)g->st.populated_hv,
	       (unsigned long long)p->count[P2M_BALLOONED]);
	/* Every violation should map exactly the page touched: a count that
	 * differs means violations repeated or were refused (a stop). */
	if (vm->shadow)		/* its SLAT tree is a record no CPU walks */
		hv_log("%s p2m record: %llu pages mapped into it by #PF exits "
		       "(rebuilt from the p2m %llu after %llu drops); now %llu "
		       "leaves in %llu table pages", vm->name,
		       (unsigned long long)g->st.maps,
		       (unsigned long long)g->st.rebuilds,
		       (unsigned long long)vm->stats.slat_drops,
		       (unsigned long long)g->slat.leaves,
		       (unsigned long long)g->slat.tables);
	else
		hv_log("%s %s: slat-violations %llu, pages mapped by them %llu "
		       "(rebuilt from the p2m %llu after %llu drops); now %llu "
		       "leaves in %llu table pages",
		       vm->name, g->slat.fmt->name,
		       (unsigned long long)vm->stats.exits[EXIT_SLAT_VIOLATION],
		       (unsigned long long)g->st.maps,
		       (unsigned long long)g->st.rebuilds,
		       (unsigned long long)vm->stats.slat_drops,
		       (unsigned long long)g->slat.leaves,
		       (unsigned long long)g->slat.tables);
	if (vm->shadow) {
		const struct shadow_stats *ss = &vm->shadow->st;
		hv_log("%s shadow paging: %llu #PF exits: %llu leaves made, "
		       "%llu the guest's own faults (reflected), %llu waited "
		       "for a frame; %llu first writes (dirty), %llu page-table "
		       "writes (%llu to their own walk's tables); CR3 roots %llu "
		       "hit / %llu missed; %llu INVLPG; at most %llu table pages",
		       vm->name, (unsigned long long)ss->faults,
		       (unsigned long long)ss->fixed,
		       (unsigned long long)ss->reflected,
		       (unsigned long long)ss->no_frame,
		       (unsigned long long)ss->dirty_faults,
		       (unsigned long long)ss->pt_writes,
		       (unsigned long long)ss->self_writes,
		       (unsigned long long)ss->root_hits,
		       (unsigned long long)ss->root_misses,
		       (unsigned long long)ss->invlpg,
		       (unsigned long long)ss->tables_max);
		hv_log("%s shadow flushes: %llu whole (%llu for p2m changes, "
		       "%llu invalidations while unsynced, %llu hypervisor "
		       "writes); reverse map %s: %llu leaves dropped through it, "
		       "%llu p2m flushes it answered, full %llu times; %llu "
		       "accessed samples (%llu used)", vm->name,
		       (unsigned long long)ss->flush_all,
		       (unsigned long long)ss->flush_by[SHADOW_FLUSH_P2M],
		       (unsigned long long)ss->flush_by[SHADOW_FLUSH_INVALIDATE],
		       (unsigned long long)ss->flush_by[SHADOW_FLUSH_HV_WRITE],
		       vm->shadow->rmap_cap ? "on" : "off",
		       (unsigned long long)ss->rmap_drops,
		       (unsigned long long)ss->rmap_flushes,
		       (unsigned long long)ss->rmap_full,
		       (unsigned long long)ss->samples,
		       (unsigned long long)ss->samples_used);
	}
	hv_log("%s TLB: %llu flushes owed and paid; %llu frames waited for "
	       "one", vm->name, (unsigned long long)g->slat.flushes,
	       (unsigned long long)g->st.deferred);
	hv_log("%s sharing: %llu pages shared now (group %u), %llu merged "
	       "into the zero frame so far; %llu copy-on-write breaks (%llu "
	       "by its page-table walks)", vm->name,
	       (unsigned long long)p->count[P2M_SHARED], vm->share_group,
	       (unsigned long long)g->st.zero_merges,
	       (unsigned long long)g->st.cow_breaks,
	       (unsigned long long)g->st.cow_page_walks);
	if (guest_share.on)
		vmmem_print_oracle("before this VM's teardown");
	if (swap_on(&guest_swap))
		hv_log("%s swap: %llu pages swapped now; %llu taken out (to a "
		       "slot, or dropped as zero or clean), %llu brought back",
		       vm->name, (unsigned long long)p->count[P2M_SWAPPED],
		       (unsigned long long)g->st.swapped_out,
		       (unsigned long long)g->st.swapped_in);

	const struct balloon *b = &g->balloon;
	hv_log("%s balloon: target up to %llu pages, held up to %llu; %llu "
	       "inflated and %llu deflated in %llu calls; %llu ballooned pages "
	       "touched anyway (back as zero); %llu periods short of target "
	       "and not moving; idle memory estimate %llu%%", vm->name,
	       (unsigned long long)b->st.target_max,
	       (unsigned long long)b->st.held_max,
	       (unsigned long long)b->st.inflated,
	       (unsigned long long)b->st.deflated,
	       (unsigned long long)(b->st.inflates + b->st.deflates),
	       (unsigned long long)g->st.balloon_touched,
	       (unsigned long long)b->st.lag_periods,
	       (unsigned long long)(b->idle_pm / 10));
	if (vm->stats.mem_waits || vm->stats.held)
		hv_log("%s waited for a frame %llu times (%llu ms in all); held "
		       "below low %llu times", vm->name,
		       (unsigned long long)vm->stats.mem_waits,
		       (unsigned long long)(vm->stats.mem_wait_us / 1000),
		       (unsigned long long)vm->stats.held);

	u64 diffs = vmmem_check(vm);
	hv_log("%s self-check: %s walk %s the p2m (%llu leaves, %llu "
	       "differences)", vm->name, g->slat.fmt->name,
	       diffs ? "DIFFERS FROM" : "matches",
	       (unsigned long long)g->slat.leaves, (unsigned long long)diffs);

	u64 console_failed = console_report(vm);
	if (d->expect == EXPECT_STOPPED)
		ok = vm->state == VM_STOPPED;
	else
		ok = (vm->state == VM_DONE || vm->state == VM_RUNTIME_UP) &&
		     vm->exit_status == d->expect_status;
	if (vm->state == VM_RUNTIME_UP && d->expect == EXPECT_STOPPED)
		hv_log("%s: ended by its runtime (%llu s of guest time), as "
		       "status 0; expected a stop: WRONG", vm->name,
		       (unsigned long long)vm->runtime_s);
	else if (vm->state == VM_RUNTIME_UP)
		hv_log("%s: ended by its runtime (%llu s of guest time), as "
		       "status 0; expected %d: %s", vm->name,
		       (unsigned long long)vm->runtime_s, d->expect_status,
		       ok ? "ok" : "WRONG");
	else if (vm->state == VM_DONE && d->expect == EXPECT_STOPPED)
		hv_log("%s: ended with status %d; expected a stop: WRONG",
		       vm->name, vm->exit_status);
	else if (vm->state == VM_DONE)
		hv_log("%s: ended with status %d; expected %d: %s", vm->name,
		       vm->exit_status, d->expect_status, ok ? "ok" : "WRONG");
	else
		hv_log("%s: stopped by the hypervisor (%s); expected %s: %s",
		       vm->name, vm->stop_reason,
		       d->expect == EXPECT_STOPPED ? "a stop" : "an exit",
		       ok ? "ok" : "WRONG");
	if (console_failed) {
		hv_log("%s: %llu of its %d console expectations failed "
		       "(see above): WRONG", vm->name,
		       (unsigned long long)console_failed, vm->con.nwatch);
		ok = false;
	}
	if (diffs)
		ok = false;

	vmmem_destroy(vm);	/* flushes through the vCPU: first */
	backend->vcpu_destroy(&vm->vcpu);
	hv_log("%s: torn down; pool %llu of %llu frames free", vm->name,
	       (unsigned long long)guest_pool.st.free,
	       (unsigned long long)guest_pool.nframes);
	vm->finished = true;
	vm->as_expected = ok;
}

static const char *state_name(const struct vm *vm)
{
	switch (vm->state) {
	case VM_LOADING: return "loading";
	case VM_RUNNING: return "running";
	case VM_DONE: return "done";
	case VM_STOPPED: return "stopped";
	case VM_RUNTIME_UP: return "runtime";
	}
	return "?";
}

/* Pages of every VM mapped to a shared frame (the zero frame included). */
static u64 pages_sharing(void)
{
	u64 n = 0;

	for (int i = 0; i < vm_count; i++)
		n += vms[i].mem.p2m.count[P2M_SHARED];
	return n;
}

/* The "share" object of a [stat] line.  frames saved: guest pages mapped
 * to shared frames, less the pool frames that hold them (the zero frame
 * is not a pool frame). */
static void print_share_json(void)
{
	const struct share_stats *st = &guest_share.st;
	u64 sharing = pages_sharing();

	kprintf("\"share\":{\"on\":%s,\"pages_shared\":%llu,"
		"\"pages_sharing\":%llu,\"saved\":%llu,\"zero_shared\":%llu,"
		"\"cow_breaks\":%llu,\"cow_in_place\":%llu,"
		"\"cow_page_walks\":%llu,\"volatile\":%llu,"
		"\"collisions\":%llu,\"full_scans\":%llu,\"scanned\":%llu}",
		guest_share.on ? "true" : "false",
		(unsigned long long)st->frames_shared,
		(unsigned long long)sharing,
		(unsigned long long)(sharing - st->frames_shared),
		(unsigned long long)guest_share.zero_refs,
		(unsigned long long)st->cow_breaks,
		(unsigned long long)st->cow_in_place,
		(unsigned long long)st->cow_page_walks,
		(unsigned long long)st->volatile_pages,
		(unsigned long long)st->collisions,
		(unsigned long long)st->full_scans,
		(unsigned long long)st->scanned);
}

/* One [stat] line: machine-readable counters of every VM and of memory. */
static void print_stat(u64 t_ms)
{
	kprintf("[stat] {\"t_ms\":%llu,\"pool\":{\"frames\":%llu,\"free\":%llu,"
		"\"used\":%llu,\"high_water\":%llu},\"hv_frames_free\":%llu,"
		"\"vms\":[", (unsigned long long)t_ms,
		(unsigned long long)guest_pool.nframes,
		(unsigned long long)guest_pool.st.free,
		(unsigned long long)pool_used(&guest_pool),
		(unsigned long long)guest_pool.st.high_water,
		(unsigned long long)frames.st.free);
	for (int i = 0; i < vm_count; i++) {
		const struct vm *vm = &vms[i];
		u64 exits = 0;
		const char *blocked = vm->state != VM_RUNNING ? "no"
				      : vm->wants_frame ? "memory"
				      : reclaim_holds(&guest_reclaim, &vm->mem)
					      ? "held" : "no";
		for (int r = 0; r < EXIT_REASON_COUNT; r++)
			exits += vm->stats.exits[r];
		kprintf("%s{\"vm\":%d,\"state\":\"%s\",\"resident\":%llu,"
			"\"populated\":%llu,\"slat_violations\":%llu,"
			"\"exits\":%llu,\"slices\":%llu,\"preemptions\":%llu,"
			"\"shared\":%llu,\"cow_breaks\":%llu,\"swapped\":%llu,"
			"\"swap_outs\":%llu,\"swap_ins\":%llu,"
			"\"ballooned\":%llu,\"target\":%llu,\"idle_pct\":%llu,"
			"\"balloon_touched\":%llu,\"blocked\":\"%s\"}",
			i ? "," : "", vm->id, state_name(vm),
			(unsigned long long)(vm->mem.p2m.count[P2M_PRIVATE] +
					     vm->mem.p2m.count[P2M_SHARED]),
			(unsigned long long)vm->mem.st.populated_slat,
			(unsigned long long)vm->stats.exits[EXIT_SLAT_VIOLATION],
			(unsigned long long)exits,
			(unsigned long long)vm->stats.slices,
			(unsigned long long)vm->stats.preemptions,
			(unsigned long long)vm->mem.p2m.count[P2M_SHARED],
			(unsigned long long)vm->mem.st.cow_breaks,
			(unsigned long long)vm->mem.p2m.count[P2M_SWAPPED],
			(unsigned long long)vm->mem.st.swapped_out,
			(unsigned long long)vm->mem.st.swapped_in,
			(unsigned long long)vm->mem.p2m.count[P2M_BALLOONED],
			(unsigned long long)vm->mem.balloon.target,
			(unsigned long long)(vm->mem.balloon.idle_pm / 10),
			(unsigned long long)vm->mem.st.balloon_touched, blocked);
	}
	const struct mem_thresholds *th = &guest_reclaim.par.th;
	kprintf("],\"mem\":{\"state\":\"%s\",\"free\":%llu,\"high\":%llu,"
		"\"soft\":%llu,\"hard\":%llu,\"low\":%llu},",
		mem_state_name(guest_reclaim.state),
		(unsigned long long)guest_pool.st.free,
		(unsigned long long)th->high, (unsigned long long)th->soft,
		(unsigned long long)th->hard, (unsigned long long)th->low);
	print_share_json();
	const struct swap_stats *w = &guest_swap.st;
	kprintf(",\"swap\":{\"slots\":%llu,\"used\":%llu,\"high_water\":%llu,"
		"\"swap_outs\":%llu,\"swap_ins\":%llu,\"zero_drops\":%llu,"
		"\"clean_drops\":%llu,\"batches\":%llu,\"passed_over\":%llu}",
		(unsigned long long)guest_swap.nslots,
		(unsigned long long)guest_swap.used,
		(unsigned long long)guest_swap.high_water,
		(unsigned long long)w->swap_outs,
		(unsigned long long)w->swap_ins,
		(unsigned long long)w->zero_drops,
		(unsigned long long)w->clean_drops,
		(unsigned long long)w->batches,
		(unsigned long long)w->passed_over);
	kprintf("}\n");
}

/*
 * Runs one slice of a VM: enter, handle exits, re-enter, until the VM
 * ends, yields, or the timer fires.  The timer interrupt exits the guest
 * whatever the guest's RFLAGS.IF, so a guest spinning with interrupts off
 * loses the CPU like any other.  The timer is set for the slice's end or
 * the guest's own next virtual timer tick, whichever comes first: at the
 * tick the slice goes on, with the tick's interrupt injected (vintr.c).
 */
/*
 * A guest that calibrates its TSC against PIT counter 2 (memtest86+,
 * Linux) counts TSC ticks until OUT2 goes high.  Preempted in between, it
 * sees OUT2 only when it runs again, late by the other VMs' slices, and
 * its clock comes out too fast (27% with one busy neighbour).  So a slice
 * that ends while counter 2 counts down in mode 0 is stretched to the
 * moment OUT2 rises, plus PIT_STRETCH_MARGIN_US for the guest to notice.
 * A countdown is at most 65536 pulses (55 ms), and a slice is stretched
 * only if the VM's previous one was not: a guest that reprograms the PIT
 * forever gets at most one stretched slice in two, never the CPU.
 */
#define PIT_STRETCH_MARGIN_US 1000

static bool stretch_for_pit(struct vm *vm, u64 *end, bool *stretched)
{
	u64 now = rdtsc(), rise = i8254_out2_rises_at(&vm->dev.pit, now);

	if (*stretched || vm->stretched || !rise)
		return false;
	*end = rise + PIT_STRETCH_MARGIN_US * tsc_per_us;
	*stretched = true;
	vm->stats.pit_stretches++;
	return true;
}

static void run_slice(struct vm *vm, u64 slice_us, bool host_nmi)
{
	struct vm_exit e;
	u64 end = rdtsc() + slice_us * tsc_per_us;
	bool stretched = false;

	vm->stats.slices++;
	vm->yielded = false;
	if (!vm->first_entry_tsc) {	/* guest time starts */
		vm->first_entry_tsc = rdtsc();
		if (vm->runtime_s)
			vm->runtime_end_tsc = vm->first_entry_tsc +
					      vm->runtime_s * 1000000 *
						      tsc_per_us;
	}
	/* selftest=host-nmi: one NMI while the guest is well under way. */
	if (host_nmi && vm->stats.slices == 2)
		backend->raise_host_nmi(&vm->vcpu);
	lapic_timer_arm_until(vintr_slice_end(vm, end));
	vm_on_cpu = vm;
	while (vm->state == VM_RUNNING && !vm->yielded) {
		gmem_settle(&vm->mem);	/* pay any TLB flush owed first */
		vintr_before_entry(vm);
		backend->vcpu_run(&vm->vcpu, &e);
		exit_handle(vm, &e);
		if (e.reason != EXIT_EXTINT && e.reason != EXIT_TIMER &&
		    e.reason != EXIT_HOST_NMI)
			vm->last_progress = rdtsc();
		if (lapic_timer_fired()) {
			if (rdtsc() < end ||	/* the guest's tick */
			    stretch_for_pit(vm, &end, &stretched)) {
				lapic_timer_arm_until(vintr_slice_end(vm, end));
				continue;
			}
			vm->stats.preemptions++;
			break;
		}
	}
	vm_on_cpu = NULL;
	bench_slice_ended();
	vm->stretched = stretched;
	/* A tick that fired as the slice ended (say during the exit that
	 * yielded) belongs to no one: it must not cut the next slice short. */
	if (lapic_timer_stop())
		vm->stats.late_ticks++;
}

/*
 * slat_drop=: throws away part of a VM's SLAT tables, to show they are
 * only a cache of the p2m.  The dropped tables wait for the flush the
 * drop owes, which is paid before the VM's next entry (gmem_settle).
 */
static void drop_slat(struct vm *vm)
{
	u64 span = 2 * MiB, chunks = (vm->mem_bytes + span - 1) / span;

	if (vm->stats.slat_drops % 4 == 3)
		slat_drop(&vm->mem.slat, 0, 512 * GiB);	/* all of it */
	else
		slat_drop(&vm->mem.slat, (vm->stats.slat_drops % chunks) * span,
			  span);
	vm->stats.slat_drops++;
}

/*
 * A vCPU whose fault found no free frame waits (vm->wants_frame) while the
 * others run, their balloons inflate and the swapper works; it runs again
 * as soon as a frame is free.  It is stopped only when nothing can free
 * one: sharing and swapping have nothing left to give, and no other VM
 * that can run holds pages its balloon could still take (reclaim_can_free:
 * it is blocked too, held, at its balloon bound, or has nothing).  Waiting
 * is bounded as well (a VM that could balloon but never does must not
 * keep the other waiting forever): after the watchdog's time (10 s when
 * the watchdog is off) it is stopped the same way.  Each round either a
 * frame comes free, or some waiter is stopped and its frames free, so the
 * waiters never deadlock, and never livelock past the bound.
 */
#define MEM_WAIT_DEFAULT_S 10

static u32 runnable_mask(void)
{
	u32 m = 0;

	for (int i = 0; i < vm_count; i++)
		if (vms[i].state == VM_RUNNING && !vms[i].wants_frame &&
		    !reclaim_holds(&guest_reclaim, &vms[i].mem))
			m |= 1u << vms[i].id;
	return m;
}

/* True if the waiting vm may run now; stops it if it never can. */
static bool frame_ready(struct vm *vm, u64 wait_limit_tsc)
{
	if (vmmem_frame_ready(vm, runnable_mask(), false)) {
		u64 now = rdtsc();
		vm->stats.mem_wait_us += (now - vm->blocked_since) / tsc_per_us;
		vm->last_progress = now;
		return true;
	}
	if (vm->state == VM_RUNNING &&
	    rdtsc() - vm->blocked_since > wait_limit_tsc)
		vmmem_frame_ready(vm, runnable_mask(), true);
	return false;
}

/* Guest memory in use now: pages with a frame or a slot, every VM. */
static u64 guest_pages_in_use(void)
{
	u64 n = 0;

	for (int i = 0; i < vm_count; i++) {
		const struct p2m *p = &vms[i].mem.p2m;
		if (vms[i].state == VM_RUNNING)
			n += p->count[P2M_PRIVATE] + p->count[P2M_SHARED] +
			     p->count[P2M_SWAPPED];
	}
	return n;
}

static u64 in_use_peak, in_use_peak_resident, share_saved_max;

/* One policy period (mm/reclaim.c), and the figures for the summary. */
static void reclaim_round(void)
{
	reclaim_period(&guest_reclaim);
	for (int i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];
		if (vm->state == VM_RUNNING) {
			struct gmem *g = &vm->mem;
			g->st.swapped_max = MAX(g->st.swapped_max,
						g->p2m.count[P2M_SWAPPED]);
		}
	}
	u64 sharing = pages_sharing();
	if (sharing > guest_share.st.frames_shared)
		share_saved_max = MAX(share_saved_max,
				      sharing - guest_share.st.frames_shared);
	u64 n = guest_pages_in_use();
	if (n > in_use_peak) {
		in_use_peak = n;
		in_use_peak_resident = pool_used(&guest_pool);
	}
}

/* The scanner's round; with share_oracle=1 the oracle judges the first
 * two full passes as they end (make bench's sharing effectiveness). */
static void scan_round(const struct hv_config *cfg)
{
	u64 before = guest_share.st.full_scans;

	share_scan(&guest_share, cfg->share_scan);
	u64 after = guest_share.st.full_scans;
	if (cfg->share_oracle && after != before && after <= 2)
		vmmem_print_oracle(after == 1 ? "after 1 full scan"
					      : "after 2 full scans");
}

/*
 * A vCPU asleep in HLT until its next timer tick (vm->sleep_until, set by
 * hv/vintr.c) is not run before then: true while it sleeps, with *wake
 * lowered to its wake-up time.  Woken, its sleep counts as progress for
 * the watchdog.
 */
static bool vm_asleep(struct vm *vm, u64 *wake)
{
	u64 now = rdtsc();

	if (!vm->sleep_until)
		return false;
	if (now < vm->sleep_until) {
		*wake = MIN(*wake, vm->sleep_until);
		return true;
	}
	vm->sleep_until = 0;
	vm->last_progress = now;
	return false;
}

/*
 * runtime=: a VM whose guest time (its TSC, which is not offset, since its
 * first entry) has reached its budget is ended here, between slices,
 * whether it was runnable, asleep in HLT or waiting for a frame.  It ends
 * as if it had exited with status 0.
 */
static bool runtime_up(struct vm *vm)
{
	if (!vm->runtime_end_tsc || rdtsc() < vm->runtime_end_tsc)
		return false;
	hv_log("%s: runtime of %llu s reached (guest time): ending it",
	       vm->name, (unsigned long long)vm->runtime_s);
	vm->state = VM_RUNTIME_UP;
	vm->exit_status = 0;
	return true;
}

static void run_loop(const struct hv_config *cfg)
{
	const struct vm_decl *decls = cfg->vms;
	u64 start = rdtsc(), next_stat = 0;
	u64 stat_tsc = cfg->stat_interval_ms * 1000 * tsc_per_us;
	int running;

	u64 watchdog_tsc = cfg->watchdog_s * 1000000 * tsc_per_us;
	u64 scan_tsc = cfg->slice_us * tsc_per_us, next_scan = 0;

	u64 wait_tsc = (cfg->watchdog_s ? cfg->watchdog_s : MEM_WAIT_DEFAULT_S) *
		       1000000 * tsc_per_us, next_policy = 0;

	for (int i = 0; i < vm_count; i++)
		vms[i].last_progress = start;
	do {
		u64 wake = ~0ull;
		int ran = 0;
		running = 0;
		for (int i = 0; i < vm_count; i++) {
			struct vm *vm = &vms[i];
			if (vm->state != VM_RUNNING)
				continue;
			if (runtime_up(vm)) {
				bitflip_report(vm, cfg);
				vm_finish(vm, &decls[i]);
				continue;
			}
			if (vm_asleep(vm, &wake)) {
				if (vm->runtime_end_tsc)	/* wake to end it */
					wake = MIN(wake, vm->runtime_end_tsc);
				running++;
				continue;
			}
			if (vm->wants_frame && !frame_ready(vm, wait_tsc)) {
				/* still waiting, or stopped for want of one */
			} else if (reclaim_holds(&guest_reclaim, &vm->mem)) {
				vm->stats.held++;
				guest_reclaim.st.holds++;
				vm->last_progress = rdtsc();
			} else {
				ran++;
				run_slice(vm, cfg->slice_us,
					  cfg->selftest == SELFTEST_HOST_NMI);
				if (vm->wants_frame)	/* it has just blocked */
					vm->blocked_since = rdtsc();
				bitflip_maybe(vm, cfg);
			}
			/* The scanner's round and the policy's period:
			 * between slices, at most one each per slice length
			 * of time, however often guests yield. */
			if (rdtsc() >= next_scan) {
				scan_round(cfg);
				next_scan = rdtsc() + scan_tsc;
			}
			if (rdtsc() >= next_policy) {
				reclaim_round();
				next_policy = rdtsc() + scan_tsc;
			}
			if (cfg->slat_drop && vm->state == VM_RUNNING &&
			    vm->stats.slices % cfg->slat_drop == 0)
				drop_slat(vm);
			if (vm->state == VM_RUNNING && vm->wants_frame)
				vm->last_progress = rdtsc();	/* waiting */
			if (vm->state == VM_RUNNING && watchdog_tsc &&
			    rdtsc() - vm->last_progress > watchdog_tsc)
				vm_stop(vm, "watchdog: no exit but the timer for "
					"%llu s; spinning at RIP 0x%llx with "
					"RFLAGS 0x%llx", (unsigned long long)
					cfg->watchdog_s, (unsigned long long)
					vm->vcpu.regs.rip, (unsigned long long)
					vm->vcpu.regs.rflags);
			if (vm->state != VM_RUNNING) {
				bitflip_report(vm, cfg);
				vm_finish(vm, &decls[i]);
			}
			running += vm->state == VM_RUNNING;
		}
		/* All asleep (or waiting for memory beside sleepers): wait
		 * for the first to wake. */
		if (running && !ran && wake != ~0ull) {
			u64 t0 = bench_now();
			lapic_wait_until(wake);
			bench_idle(bench_now() - t0);
		}
		u64 now = rdtsc() - start;
		if (stat_tsc && now >= next_stat) {
			print_stat(now / tsc_per_us / 1000);
			if (cfg->share_oracle && running)
				vmmem_print_oracle("now");
			next_stat = now + stat_tsc;
		}
	} while (running);
	if (stat_tsc)
		print_stat((rdtsc() - start) / tsc_per_us / 1000);
}

/* make bench: what page work costs at the least, on two pages of our
 * own (hv/bench.c). */
static void measure_limits(void)
{
#ifdef MV_BENCH
	u64 pa = hv_frames_alloc(2, 1);

	if (!pa)
		hv_fail("bench: no two frames to measure the limits on");
	bench_limits(hv_ptr(pa), hv_ptr(pa + PAGE_SIZE), share_page_hash);
	hv_frames_free(pa, 2);
#endif
}

static u64 mib_of(u64 pages)
{
	return pages * PAGE_SIZE / MiB;
}

/*
 * What each mechanism took back, per VM and in total, and how far the
 * guests' memory went beyond the pool: the overcommit summary.
 */
static void print_reclaim_summary(void)
{
	u64 ram = 0, sh = 0, out = 0, swmax = 0, bmax = 0, touched = 0;
	u64 waits = 0;

	kprintf("[hv] reclaimed, in pages:\n[hv]   vm   ram-pages  shared-max  "
		"swapped-out  swapped-max  ballooned-max  target-max  touched  "
		"waits\n");
	for (int i = 0; i < vm_count; i++) {
		const struct vm *vm = &vms[i];
		const struct gmem *g = &vm->mem;
		kprintf("[hv]   %-4s %-10llu %-11llu %-12llu %-12llu %-14llu "
			"%-11llu %-8llu %llu\n", vm->name,
			(unsigned long long)vm->npages,
			(unsigned long long)g->st.shared_max,
			(unsigned long long)g->st.swapped_out,
			(unsigned long long)g->st.swapped_max,
			(unsigned long long)g->balloon.st.held_max,
			(unsigned long long)g->balloon.st.target_max,
			(unsigned long long)g->st.balloon_touched,
			(unsigned long long)vm->stats.mem_waits);
		ram += vm->npages;
		sh += g->st.shared_max;
		out += g->st.swapped_out;
		swmax += g->st.swapped_max;
		bmax += g->balloon.st.held_max;
		touched += g->st.balloon_touched;
		waits += vm->stats.mem_waits;
	}
	kprintf("[hv]   all  %-10llu %-11llu %-12llu %-12llu %-14llu %-11s "
		"%-8llu %llu\n", (unsigned long long)ram, (unsigned long long)sh,
		(unsigned long long)out, (unsigned long long)swmax,
		(unsigned long long)bmax, "-", (unsigned long long)touched,
		(unsigned long long)waits);
	const struct reclaim_stats *r = &guest_reclaim.st;
	hv_log("reclaim: %llu policy periods (high %llu, soft %llu, hard %llu, "
	       "low %llu); sharing saved up to %llu frames at once; %llu pages "
	       "swapped for VMs short of target, %llu below swap_low; %llu "
	       "holds; %llu pages sampled for idleness",
	       (unsigned long long)r->periods,
	       (unsigned long long)r->in_state[MEM_HIGH],
	       (unsigned long long)r->in_state[MEM_SOFT],
	       (unsigned long long)r->in_state[MEM_HARD],
	       (unsigned long long)r->in_state[MEM_LOW],
	       (unsigned long long)share_saved_max,
	       (unsigned long long)r->swapped_short,
	       (unsigned long long)r->swapped_all,
	       (unsigned long long)r->holds, (unsigned long long)r->sampled);
	hv_log("overcommit: %llu MiB of guest RAM on a %llu MiB pool (%llu.%llux); "
	       "guest memory in use at its peak %llu pages (%llu MiB: resident "
	       "and swapped pages of every VM, a shared page in each), while the "
	       "pool had %llu of its %llu frames in use (%llu%%)", (unsigned long long)mib_of(ram),
	       (unsigned long long)mib_of(guest_pool.nframes),
	       (unsigned long long)(ram / guest_pool.nframes),
	       (unsigned long long)(ram * 10 / guest_pool.nframes % 10),
	       (unsigned long long)in_use_peak,
	       (unsigned long long)mib_of(in_use_peak),
	       (unsigned long long)in_use_peak_resident,
	       (unsigned long long)guest_pool.nframes,
	       (unsigned long long)(in_use_peak_resident * 100 /
				    guest_pool.nframes));
}

bool run_vms(const struct hv_config *cfg, const struct boot_info *boot)
{
	char err[200];
	bool pass = true;

	backend = backend_select(err, sizeof(err));
	if (!backend)
		hv_fail("no virtualization backend: %s", err);
	if (backend->enable(err, sizeof(err)) < 0)
		hv_fail("%s: %s", backend->name, err);
	if (lapic_init(err, sizeof(err)) < 0)
		hv_fail("timer: %s", err);
	hv_log("backend: %s; scheduler: round-robin, %llu us slices, local "
	       "APIC timer (TSC %llu MHz)", backend->name,
	       (unsigned long long)cfg->slice_us,
	       (unsigned long long)tsc_per_us);

	u64 ram = 0;
	for (int i = 0; i < cfg->vm_count; i++)
		ram += cfg->vms[i].mem;
	u64 pool = cfg->pool_bytes ? cfg->pool_bytes : ram;
	if (pool / PAGE_SIZE + HV_RESERVE_FRAMES > frames.st.free)
		hv_fail("pool: %llu MiB requested, but only %llu MiB are free "
			"and the hypervisor keeps %llu MiB for itself",
			(unsigned long long)(pool / MiB),
			(unsigned long long)(frames.st.free * PAGE_SIZE / MiB),
			(unsigned long long)(HV_RESERVE_FRAMES * PAGE_SIZE /
					     MiB));
	if (guest_pool_init(pool, err, sizeof(err)) < 0)
		hv_fail("%s", err);
	if (cfg->swap_bytes / PAGE_SIZE + HV_RESERVE_FRAMES > frames.st.free)
		hv_fail("swap: %llu MiB requested, but only %llu MiB are free "
			"and the hypervisor keeps %llu MiB for itself",
			(unsigned long long)(cfg->swap_bytes / MiB),
			(unsigned long long)(frames.st.free * PAGE_SIZE / MiB),
			(unsigned long long)(HV_RESERVE_FRAMES * PAGE_SIZE /
					     MiB));
	vmmem_shadow_rmap = !cfg->shadow_rmap_off;
	if (guest_share_init(cfg->share, err, sizeof(err)) < 0 ||
	    guest_swap_init(cfg->swap_bytes, cfg->swap_low, cfg->swap_high,
			    err, sizeof(err)) < 0)
		hv_fail("%s", err);
	guest_reclaim_init(cfg->mem_states, (unsigned)cfg->idle_tax,
			   (unsigned)cfg->balloon_max);
	hv_log("guest pool: %llu frames (%llu MiB) at 0x%llx for %llu MiB of "
	       "guest RAM%s", (unsigned long long)guest_pool.nframes,
	       (unsigned long long)(pool / MiB),
	       (unsigned long long)guest_pool.base,
	       (unsigned long long)(ram / MiB),
	       pool < ram ? " (overcommitted)" : "");
	if (swap_on(&guest_swap))
		hv_log("swap: a %llu MiB RAM-disk (%llu slots); the clock swaps "
		       "out between slices below %llu free frames, up to %llu, "
		       "and reads %s", (unsigned long long)(cfg->swap_bytes / MiB),
		       (unsigned long long)guest_swap.nslots,
		       (unsigned long long)guest_swap.low,
		       (unsigned long long)guest_swap.high,
		       backend->slat->accessed
			       ? "the accessed flags the CPU sets in the leaves"
			       : "accesses sampled in software (no accessed flags)");
	else
		hv_log("swap: off");
	const struct mem_thresholds *th = &guest_reclaim.par.th;
	hv_log("reclaim: free-memory states high %llu, soft %llu, hard %llu, "
	       "low %llu frames; idle tax %llu%%, balloon targets up to %llu%% "
	       "of a VM's RAM", (unsigned long long)th->high,
	       (unsigned long long)th->soft, (unsigned long long)th->hard,
	       (unsigned long long)th->low, (unsigned long long)cfg->idle_tax,
	       (unsigned long long)cfg->balloon_max);
	if (cfg->share)
		hv_log("share: on; the scanner hashes %llu pages per round "
		       "between slices (XXH3), %llu hash buckets, zero frame "
		       "at 0x%llx", (unsigned long long)cfg->share_scan,
		       (unsigned long long)guest_share.nbuckets,
		       (unsigned long long)guest_share.zero_hpa);
	else
		hv_log("share: off");

	measure_limits();
	u64 free_before = frames.st.free;
	for (int i = 0; i < cfg->vm_count; i++) {
		if (vm_create(&vms[i], i, &cfg->vms[i], boot, err,
			      sizeof(err)) < 0)
			hv_fail("%s", err);
		vms[i].slat_trace_left = cfg->slat_trace;
		vm_count++;
	}

	if (vm_count && (cfg->selftest == SELFTEST_ENTRY_FAILURE ||
			 cfg->selftest == SELFTEST_BAD_CONTROL)) {
		bool controls = cfg->selftest == SELFTEST_BAD_CONTROL;
		hv_log("selftest %s: breaking vm0's %s; its first entry must "
		       "fail, be explained, and stop vm0 alone",
		       selftest_name(cfg->selftest),
		       controls ? "controls" : "guest state");
		backend->break_state(&vms[0].vcpu, controls);
	}
	if (cfg->selftest == SELFTEST_HOST_NMI)
		hv_log("selftest host-nmi: an NMI to this CPU while each VM's "
		       "guest runs, in its second slice; the hypervisor must "
		       "take each, the guests never see one");
	run_loop(cfg);

	kprintf("[hv] summary:\n[hv]   vm   end            resident-max  "
		"shared-max  cow    violations  exits     slices  verdict\n");
	for (int i = 0; i < vm_count; i++) {
		const struct vm *vm = &vms[i];
		char end[24];
		u64 exits = 0;
		for (int r = 0; r < EXIT_REASON_COUNT; r++)
			exits += vm->stats.exits[r];
		if (vm->state == VM_DONE)
			fmt_snprintf(end, sizeof(end), "status %d",
				     vm->exit_status);
		else if (vm->state == VM_RUNTIME_UP)
			fmt_snprintf(end, sizeof(end), "runtime %llu s",
				     (unsigned long long)vm->runtime_s);
		else
			fmt_snprintf(end, sizeof(end), "stopped");
		kprintf("[hv]   %-4s %-14s %-13llu %-11llu %-6llu %-11llu %-9llu "
			"%-7llu %s\n", vm->name, end,
			(unsigned long long)vm->mem.st.resident_max,
			(unsigned long long)vm->mem.st.shared_max,
			(unsigned long long)vm->mem.st.cow_breaks,
			(unsigned long long)vm->stats.exits[EXIT_SLAT_VIOLATION],
			(unsigned long long)exits,
			(unsigned long long)vm->stats.slices,
			vm->as_expected ? "as expected" : "NOT AS EXPECTED");
		pass &= vm->finished && vm->as_expected;
	}
	print_reclaim_summary();
	const struct share_stats *ss = &guest_share.st;
	hv_log("share: %s; %llu pages merged (%llu into the zero frame), "
	       "%llu duplicate frames freed; %llu copy-on-write breaks (%llu in "
	       "place, %llu by page-table walks); %llu volatile, %llu "
	       "collisions, %llu stale candidates; %llu full scans, %llu pages "
	       "hashed, %llu page tables skipped", guest_share.on ? "on" : "off",
	       (unsigned long long)ss->merges,
	       (unsigned long long)ss->zero_merges,
	       (unsigned long long)ss->frames_freed,
	       (unsigned long long)ss->cow_breaks,
	       (unsigned long long)ss->cow_in_place,
	       (unsigned long long)ss->cow_page_walks,
	       (unsigned long long)ss->volatile_pages,
	       (unsigned long long)ss->collisions,
	       (unsigned long long)ss->stale_candidates,
	       (unsigned long long)ss->full_scans,
	       (unsigned long long)ss->scanned,
	       (unsigned long long)ss->skipped_page_tables);
	if (trap_nmi_count())
		hv_log("host NMIs: %llu, every one taken by the hypervisor",
		       (unsigned long long)trap_nmi_count());
	if (swap_on(&guest_swap))
		hv_log("swap: %llu pages written out, %llu brought back, %llu "
		       "dropped as zero, %llu dropped as clean; slots: %llu of "
		       "%llu in use, at most %llu; %llu clock batches, %llu pages "
		       "passed over, %llu full turns, %llu kept for want of a "
		       "slot, %llu clean copies given up for one",
		       (unsigned long long)guest_swap.st.swap_outs,
		       (unsigned long long)guest_swap.st.swap_ins,
		       (unsigned long long)guest_swap.st.zero_drops,
		       (unsigned long long)guest_swap.st.clean_drops,
		       (unsigned long long)guest_swap.used,
		       (unsigned long long)guest_swap.nslots,
		       (unsigned long long)guest_swap.high_water,
		       (unsigned long long)guest_swap.st.batches,
		       (unsigned long long)guest_swap.st.passed_over,
		       (unsigned long long)guest_swap.st.rounds,
		       (unsigned long long)guest_swap.st.no_slot,
		       (unsigned long long)guest_swap.st.copies_stolen);
	bool no_leak = frames.st.free == free_before &&
		       guest_pool.st.free == guest_pool.nframes;
	bench_report();
	hv_log("pool: %llu of %llu frames free after teardown, high-water "
	       "mark %llu; hypervisor frames: %llu free, %llu before the "
	       "VMs%s", (unsigned long long)guest_pool.st.free,
	       (unsigned long long)guest_pool.nframes,
	       (unsigned long long)guest_pool.st.high_water,
	       (unsigned long long)frames.st.free,
	       (unsigned long long)free_before, no_leak ? "" : ": A LEAK");
	return pass && no_leak;
}
