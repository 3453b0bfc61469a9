/*
 * bench.c - the samples behind `make bench` (hv/bench.h says what is
 * timed and where).  Compiled to nothing unless -DMV_BENCH.
 *
 * Each operation keeps its exact count, sum, minimum and maximum, and up
 * to BENCH_SAMPLES samples for its median and 90th percentile.  When the
 * buffer is full every other sample is dropped and from then on only
 * every second (fourth, ...) sample is kept, so the samples kept are
 * spread evenly over the whole run, whatever its length: deterministic,
 * no random numbers, no allocation.
 *
 * At the end (bench_report, before the HV RESULT line) each operation
 * that happened prints one line:
 *   [bench] op=NAME n=N median=M p90=P mean=A min=L max=H total=T
 * (op=share.pass adds pages=V hashed=H ticks=T: the pass that hashed the
 * most pages, H of the V it visited, and its time)
 * plus the time split of the run:
 *   [bench] split guest=G exits=E idle=I other=O total=T
 * (ticks from the first VM entry on: in guest mode, in exits, waiting
 * with every vCPU asleep in HLT, and the rest of the hypervisor's work
 * between slices: scheduling, the scanner, the policy).
 * scripts/bench-report turns those lines into the tables, the JSON and
 * the plot.
 */
#ifdef MV_BENCH

#include "bench.h"
#include "backend.h"
#include "console.h"
#include "exit.h"
#include "fmt.h"
#include "string.h"
#include "../mm/pool.h"

#define BENCH_SAMPLES 2048
#define NO_OP (-1)

struct series {
	u64 n, total, min, max;
	u32 stride, skip, kept;
	u32 sample[BENCH_SAMPLES];
};

static struct series series[BENCH_OP_COUNT];
static u32 scratch[BENCH_SAMPLES];

/* The exit being handled: when it began, what it is, what to divide it
 * by, and the parts of it that are not its own. */
static struct {
	int op;
	u64 exit_tsc, entry_tsc, per, zeroed, reclaimed;
} cur = { .op = NO_OP };

static u64 guest_ticks, exit_ticks, idle_ticks, first_tsc;

/* The sharing scanner's pass, which spans many rounds: its time so far,
 * the pages it hashed; the pass that hashed the most pages. */
static u64 scan_t0, pass_ticks, pass_hashed;
static struct { u64 pages, hashed, ticks; } largest;

static const char *const op_names[BENCH_OP_COUNT] = {
	[BENCH_EXIT_BARE] = "exit.bare",
	[BENCH_EXIT_BACKEND] = "exit.in-backend",
	[BENCH_SLAT_POPULATE] = "slat.populate",
	[BENCH_SLAT_POPULATE_NOZERO] = "slat.populate-less-zeroing",
	[BENCH_SLAT_POPULATE_RECLAIM] = "slat.populate-with-reclaim",
	[BENCH_SLAT_COW] = "slat.cow-break",
	[BENCH_SLAT_COW_LAST] = "slat.cow-last-reference",
	[BENCH_SLAT_SHARED_READ] = "slat.shared-read",
	[BENCH_SLAT_SWAP_IN] = "slat.swap-in",
	[BENCH_SLAT_REBUILD] = "slat.rebuild",
	[BENCH_BALLOON_INFLATE] = "balloon.inflate-page",
	[BENCH_BALLOON_DEFLATE] = "balloon.deflate-page",
	[BENCH_SHARE_SCAN_PAGE] = "share.scan-page",
	[BENCH_SHARE_MERGE] = "share.merge",
	[BENCH_SHARE_PASS] = "share.pass",
	[BENCH_SHARE_PASS_PAGE] = "share.pass-per-page",
	[BENCH_SWAP_OUT] = "swap.out-page",
	[BENCH_PAGE_ZERO] = "page.zero",
	[BENCH_PAGE_COPY] = "page.copy",
	[BENCH_PAGE_HASH] = "page.hash",
	[BENCH_PAGE_CMP] = "page.cmp",
};

void bench_record(enum bench_op op, u64 ticks)
{
	struct series *s = &series[op];

	if (op == BENCH_SHARE_SCAN_PAGE || op == BENCH_SHARE_MERGE)
		pass_hashed++;
	if (!s->n || ticks < s->min)
		s->min = ticks;
	s->max = MAX(s->max, ticks);
	s->n++;
	s->total += ticks;
	if (!s->stride)
		s->stride = 1;
	if (s->skip) {
		s->skip--;
		return;
	}
	if (s->kept == BENCH_SAMPLES) {	/* thin out: keep every other one */
		for (u32 i = 0; i < BENCH_SAMPLES / 2; i++)
			s->sample[i] = s->sample[2 * i];
		s->kept = BENCH_SAMPLES / 2;
		s->stride *= 2;
	}
	s->sample[s->kept++] = (u32)MIN(ticks, 0xffffffffull);
	s->skip = s->stride - 1;
}

/* --- exits ---------------------------------------------------------------- */

void bench_exit_returned(void)
{
	u64 now = bench_now();

	if (!first_tsc)
		first_tsc = now;
	if (cur.entry_tsc)
		guest_ticks += now - cur.entry_tsc;
	cur.entry_tsc = 0;
	cur = (typeof(cur)){ .op = BENCH_EXIT_BACKEND, .exit_tsc = now,
			     .per = 1 };
}

void bench_exit_reason(unsigned reason)
{
	if (cur.op == BENCH_EXIT_BACKEND && reason <= BENCH_EXIT_LAST)
		cur.op = BENCH_EXIT_FIRST + (int)reason;
}

void bench_exit_is(enum bench_op op, u64 per)
{
	if (cur.op != NO_OP) {
		cur.op = op;
		cur.per = MAX(per, 1);
	}
}

void bench_exit_zeroed(u64 ticks)
{
	cur.zeroed += ticks;
}

void bench_exit_reclaimed(u64 ticks)
{
	cur.reclaimed += ticks;
}

/* The exit that began at cur.exit_tsc ends now. */
static void exit_done(u64 now)
{
	if (cur.op == NO_OP)
		return;
	u64 all = now - cur.exit_tsc, own = all - MIN(cur.reclaimed, all);

	exit_ticks += all;
	if (cur.op == BENCH_SLAT_POPULATE && cur.reclaimed)
		cur.op = BENCH_SLAT_POPULATE_RECLAIM;
	bench_record((enum bench_op)cur.op, own / cur.per);
	if (cur.op == BENCH_SLAT_POPULATE)
		bench_record(BENCH_SLAT_POPULATE_NOZERO,
			     own - MIN(cur.zeroed, own));
	cur.op = NO_OP;
}

void bench_entering(void)
{
	u64 now = bench_now();

	exit_done(now);
	cur.entry_tsc = bench_now();	/* the bookkeeping is no one's */
}

void bench_slice_ended(void)
{
	exit_done(bench_now());
}

void bench_idle(u64 ticks)
{
	idle_ticks += ticks;
}

/* --- the sharing scanner --------------------------------------------------- */

void bench_scan_begin(void)
{
	scan_t0 = bench_now();
}

void bench_scan_wrapped(u64 pages)
{
	u64 now = bench_now();

	pass_ticks += now - scan_t0;
	scan_t0 = now;
	bench_record(BENCH_SHARE_PASS, pass_ticks);
	if (pass_hashed)
		bench_record(BENCH_SHARE_PASS_PAGE, pass_ticks / pass_hashed);
	if (pass_hashed >= largest.hashed)
		largest = (typeof(largest)){ pages, pass_hashed, pass_ticks };
	pass_ticks = pass_hashed = 0;
}

void bench_scan_end(void)
{
	pass_ticks += bench_now() - scan_t0;
}

/* --- the limits ------------------------------------------------------------ */

#define LIMIT_ROUNDS 64

/*
 * What a page operation costs at the least on this machine: the same
 * builtins mm/ uses (gmem's zeroing and COW copy, share's compare) and
 * the scanner's own hash, each timed alone LIMIT_ROUNDS times.  The bare
 * exit is measured by the guest's HC_VERSION calls (BENCH_EXIT_BARE).
 */
void bench_limits(void *a, void *b, u64 (*hash)(const void *))
{
	volatile u64 sink = 0;

	for (int i = 0; i < LIMIT_ROUNDS; i++) {
		u64 t0 = bench_now();
		__builtin_memset(a, i, PAGE_SIZE);
		u64 t1 = bench_now();
		__builtin_memcpy(b, a, PAGE_SIZE);
		u64 t2 = bench_now();
		sink += hash(a);
		u64 t3 = bench_now();
		sink += (u64)__builtin_memcmp(a, b, PAGE_SIZE);
		u64 t4 = bench_now();
		bench_record(BENCH_PAGE_ZERO, t1 - t0);
		bench_record(BENCH_PAGE_COPY, t2 - t1);
		bench_record(BENCH_PAGE_HASH, t3 - t2);
		bench_record(BENCH_PAGE_CMP, t4 - t3);
	}
	(void)sink;
	hv_log("bench: instrumented build; limits measured over %d rounds; "
	       "each exit is timed from the entry stub's return to its next "
	       "call", LIMIT_ROUNDS);
}

/* --- the report ------------------------------------------------------------ */

static void sort(u32 *v, u32 n)	/* heapsort: no recursion, no buffer */
{
	for (u32 end = n; end > 1;) {
		if (end == n)	/* first time: heapify */
			for (u32 i = n / 2; i-- > 0;) {
				for (u32 r = i, c; (c = 2 * r + 1) < n; r = c) {
					if (c + 1 < n && v[c + 1] > v[c])
						c++;
					if (v[r] >= v[c])
						break;
					u32 t = v[r]; v[r] = v[c]; v[c] = t;
				}
			}
		end--;
		u32 t = v[0]; v[0] = v[end]; v[end] = t;
		for (u32 r = 0, c; (c = 2 * r + 1) < end; r = c) {
			if (c + 1 < end && v[c + 1] > v[c])
				c++;
			if (v[r] >= v[c])
				break;
			t = v[r]; v[r] = v[c]; v[c] = t;
		}
	}
}

static void op_name(int op, char *buf, size_t len)
{
	if (op <= BENCH_EXIT_LAST)
		fmt_snprintf(buf, len, "exit.%s", exit_reason_name(
				(enum exit_reason)(op - BENCH_EXIT_FIRST)));
	else
		fmt_snprintf(buf, len, "%s", op_names[op]);
}

void bench_report(void)
{
	u64 total = bench_now() - first_tsc;

	for (int op = 0; op < BENCH_OP_COUNT; op++) {
		struct series *s = &series[op];
		char name[32];
		if (!s->n)
			continue;
		__builtin_memcpy(scratch, s->sample, s->kept * sizeof(u32));
		sort(scratch, s->kept);
		op_name(op, name, sizeof(name));
		kprintf("[bench] op=%s n=%llu median=%u p90=%u mean=%llu "
			"min=%llu max=%llu total=%llu", name,
			(unsigned long long)s->n, scratch[s->kept / 2],
			scratch[s->kept * 9 / 10],
			(unsigned long long)(s->total / s->n),
			(unsigned long long)s->min, (unsigned long long)s->max,
			(unsigned long long)s->total);
		if (op == BENCH_SHARE_PASS)	/* the pass over the most */
			kprintf(" pages=%llu hashed=%llu ticks=%llu",
				(unsigned long long)largest.pages,
				(unsigned long long)largest.hashed,
				(unsigned long long)largest.ticks);
		kprintf("\n");
	}
	kprintf("[bench] frame-meta bytes=%u\n",
		(unsigned)sizeof(struct frame_meta));
	u64 known = guest_ticks + exit_ticks + idle_ticks;
	kprintf("[bench] split guest=%llu exits=%llu idle=%llu other=%llu "
		"total=%llu\n", (unsigned long long)guest_ticks,
		(unsigned long long)exit_ticks, (unsigned long long)idle_ticks,
		(unsigned long long)(total - MIN(total, known)),
		(unsigned long long)total);
}

#endif
