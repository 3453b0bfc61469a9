/*
 * test_gmem.c - a randomized model test of guest memory through the real
 * entry points: SLAT violations and hypercalls go through hv/exit.c's
 * exit_handle(), VMs are built and torn down with hv/vmmem.c, the sharing
 * scanner runs as hv/run.c runs it between slices (share_scan), and
 * mm/gmem.c, mm/share.c, mm/slat.c, mm/pool.c run unchanged underneath
 * (tests/stub_hv.c supplies identity-mapped memory and the backend).
 *
 * Three VMs share an overcommitted pool; vm1's SLAT is in the real EPT
 * format, the others' in the real NPT format; vm0 and vm1 are in sharing
 * group 0, vm2 in group 1.  The guests write random bytes, and whole
 * pages of one of a few images (zeros, eight patterns), so that many
 * pages are identical: they merge, and the next write to one is a
 * copy-on-write.  The model keeps, per VM:
 *
 *   - the guest's view of RAM, byte for byte: what it wrote, what the
 *     hypervisor wrote for it (MEMSTAT), zeros for pages never written,
 *     ballooned or deflated;
 *   - each page's state (resident, ballooned, neither) and the counters
 *     MEMSTAT must report;
 *   - a TLB: gfn -> (hpa, writable) for every translation the "CPU"
 *     looked up, with the table pages the walk went through (the
 *     paging-structure caches).  A guest access uses a cached translation
 *     as hardware would, without looking at the SLAT again: a write
 *     through a read-only one is a permission fault (present); only the
 *     backend's flush_slat (the stub calls model_flush) empties it.  Both
 *     emulators flush on every world switch, so only this can catch a
 *     missing flush.
 *
 * Before every batch of guest accesses the test calls gmem_settle(), as
 * hv/run.c's run_slice() does before every entry, and again after every
 * exit inside the batch.  After every step:
 *
 *   - every cached translation reaches a frame the pool says is PRIVATE
 *     to that (VM, gfn), or STALE (released, waiting for the flush), or a
 *     shared frame (or the zero frame) that the VM's p2m maps the gfn to,
 *     through a read-only translation.  FREE, another owner, or a
 *     writable translation to a shared frame fails the test: a frame was
 *     reused, or shared, while a stale translation could reach it;
 *   - every table page a cached walk went through is still in the tree
 *     at that place or waiting on the SLAT's stale list;
 *   - each page's p2m state is the model's (a resident page may be
 *     PRIVATE or SHARED), every page the step touched or whose p2m entry
 *     it changed reads (vm_read_phys) as the model says, and the pool's
 *     used frames are the private pages, plus the shared frames, plus the
 *     frames waiting for flushes;
 *
 * and periodically every page of every VM is compared, and gmem_check()
 * and share_check() (the end-of-VM self-check) find nothing.  At the end
 * every VM is destroyed and the pool and the hypervisor's frame allocator
 * are back where they started, with no shared frame or zero reference.
 * The same model runs again with a scanner hash that returns a constant:
 * only the byte comparison then keeps different pages apart.
 *
 * Swapping (gmem_model_swap, gmem_model_swap_small): the VMs are attached
 * to guest_swap over a RAM-disk big enough for every page the pool cannot
 * hold, or too small (the out-of-memory stop, "pool N frames and swap M
 * slots"); pressure steps run swap_reclaim() with a random need and
 * swap_background(); the model's walk that fills its TLB sets the leaf's
 * accessed flag as the CPU does (a TLB hit does not), and random "CPU
 * walks" set more.  A resident page may then also be SWAPPED, or
 * UNPOPULATED when its bytes are all zero (a zero drop); the slots in use
 * are the SWAPPED entries plus the clean copies; swap_check() finds
 * nothing; the hv reads a swapped page in place without swapping it in;
 * at the end every slot is free.
 *
 * Steps and seed: GMEM_STEPS (default 100000; a tenth of it with the
 * constant hash) and GMEM_SEED (default 1); `make fuzz` runs 10^7 steps
 * with a random seed it prints.
 */
#include <stdlib.h>

#include "unit.h"
#include "stub_hv.h"
#include "../arch/x86/svm/npt.h"
#include "../arch/x86/vmx/ept_format.h"
#include "../hv/exit.h"
#include "../hv/hypercall.h"
#include "../hv/hvmem.h"
#include "../hv/vmmem.h"

/* MEMSTAT's nine u64 counters (docs/guest-abi.md). */
#define MEMSTAT_BYTES 72

#define NVM 3
static const u64 vm_pages[NVM] = { 768, 256, 160 };	/* 1184 pages */
#define POOL_FRAMES 560					/* overcommitted */

enum { M_UNPOP, M_RESIDENT, M_BALLOONED };

struct model {
	bool alive;
	u64 npages;
	u8 *mem;		/* npages * PAGE_SIZE: the guest's RAM */
	u8 *st;			/* M_* per page */
	u64 resident, ballooned;
	u64 touched;	/* ballooned pages populated again (MEMSTAT 8) */
	u64 pops;		/* populations: touches and hv writes */
	u64 violations;		/* SLAT violations delivered */
	u64 *tlb;		/* hpa per gfn; 0: nothing cached */
	u8 *tlbw;		/* ... and whether the walk granted writes */
	u64 (*walk)[4];		/* the tables the cached walk read */
	u64 *p2m_before;	/* the p2m at the start of the step */
};

static struct vm vms[NVM];
static struct model model[NVM];
static u64 rng;
static long step_now;
static bool failed;
static bool swapping;	/* this run's VMs are attached to guest_swap */
static bool no_last_writes;	/* MEMSTAT compares bytes across its call */

/* Groups: vm0 and vm1 may share, vm2 only with itself. */
static const unsigned vm_group[NVM] = { 0, 0, 1 };

/* Page images the guests write whole, so that many pages are identical:
 * zeros and eight patterns. */
#define NIMAGES 9
static u8 images[NIMAGES][PAGE_SIZE];

/* Pages the step touched (their content is compared after it). */
static struct {
	int v[64];
	u64 gfn[64];
	unsigned n;
	bool overflow;
} touched;

static void note_touch(int v, u64 gfn)
{
	if (touched.n < 64) {
		touched.v[touched.n] = v;
		touched.gfn[touched.n++] = gfn;
	} else {
		touched.overflow = true;
	}
}

/* What the run went through (checked at the end: every case happened). */
static struct {
	u64 accesses, tlb_hits, violations, stops_oom, stops_nonram;
	u64 inflates, deflates, hc_ok, e2big, efault, einval, enomem, zero;
	u64 list_in_listed, memstats, drops, teardowns, flushes, evictions;
	u64 memstat_reclaimed;
	u64 scans, fills, ro_write_faults, shared_reads, verified, sweeps;
	u64 a_sets, reclaims, backgrounds, swapped_reads, stops_swap_oom;
	u64 policies, targets;
	u64 last_writes;
} cov;

static u64 rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static u64 below(u64 n)
{
	return n ? rnd() % n : 0;
}

#define FAIL(...)                                                           \
	do {                                                                \
		printf("  step %ld: ", step_now);                           \
		printf(__VA_ARGS__);                                        \
		printf("\n");                                               \
		unit_failed_checks++;                                       \
		failed = true;                                              \
	} while (0)

/* --- the model TLB ---------------------------------------------------------- */

/*
 * The backend's flush (stub_on_flush): every translation of the VM goes.
 * Until this moment each of them could still be used, so none may reach
 * a frame that is free already or another page's: a frame (or a shared
 * frame's last reference) released before the flush it waited for is
 * caught here, even when the step's own later flush hides it.
 */
static void model_flush(struct vm *vm)
{
	struct model *m = &model[vm->id];

	/* Until the flush, another vCPU may still store through a cached
	 * writable translation: one last byte, into the page it still
	 * belongs to (PRIVATE, or gone out to the swap device meanwhile).
	 * A page written to its slot before the flush loses that byte, and
	 * the next comparison finds it. */
	for (u64 gfn = 0; swapping && !no_last_writes && m->tlb && m->alive &&
			  gfn < m->npages; gfn++) {
		u64 hpa = m->tlb[gfn];
		struct frame_meta *f = pool_meta(&guest_pool, hpa);
		enum p2m_state st = p2m_state(&vm->mem.p2m, gfn);
		if (!hpa || !m->tlbw[gfn] || !f || f->owner != (u64)vm->id + 1 ||
		    f->gfn != gfn || (f->state != FRAME_PRIVATE &&
				      f->state != FRAME_STALE) ||
		    m->st[gfn] != M_RESIDENT || below(4))
			continue;
		if (!(st == P2M_PRIVATE && p2m_value(&vm->mem.p2m, gfn) == hpa) &&
		    st != P2M_SWAPPED && st != P2M_UNPOPULATED)
			continue;
		u64 off = below(PAGE_SIZE);
		u8 b = (u8)(rnd() | 1);
		((u8 *)hv_ptr(hpa))[off] = b;
		m->mem[gfn * PAGE_SIZE + off] = b;
		note_touch(vm->id, gfn);
		cov.last_writes++;
	}
	for (u64 gfn = 0; m->tlb && gfn < m->npages && !failed; gfn++) {
		u64 hpa = m->tlb[gfn];
		struct frame_meta *f = pool_meta(&guest_pool, hpa);
		if (!hpa || hpa == guest_share.zero_hpa || !f ||
		    f->state == FRAME_SHARED ||
		    (f->owner == (u64)vm->id + 1 && f->gfn == gfn &&
		     f->state != FRAME_FREE))
			continue;
		FAIL("vm%d gfn 0x%llx -> 0x%llx is still in the TLB at the flush, "
		     "but the frame is already %s (owner %d gfn 0x%llx): freed "
		     "before the flush", vm->id, (unsigned long long)gfn,
		     (unsigned long long)hpa,
		     f->state == FRAME_FREE ? "free" : "another page's",
		     (int)f->owner - 1, (unsigned long long)f->gfn);
	}
	if (m->tlb) {
		memset(m->tlb, 0, m->npages * sizeof(u64));
		memset(m->tlbw, 0, m->npages);
	}
	cov.flushes++;
}

/* The table pages a hardware walk of gpa reads, root first. */
static void walk_tables(const struct slat *s, u64 gpa, u64 out[4])
{
	u64 t = s->root;

	for (int level = 4; level >= 1; level--) {
		out[4 - level] = t;
		if (level == 1 || !t)
			break;
		u64 e = ((u64 *)hv_ptr(t))[(gpa >> (12 + 9 * (level - 1))) & 511];
		t = s->fmt->present(e) ? s->fmt->address(e) : 0;
	}
}

/* The leaf entry the CPU's walk of gpa ends at, or NULL. */
static u64 *leaf_ptr(const struct slat *s, u64 gpa)
{
	u64 t = s->root;

	for (int level = 4; level > 1; level--) {
		u64 e = ((u64 *)hv_ptr(t))[(gpa >> (12 + 9 * (level - 1))) & 511];
		if (!s->fmt->present(e))
			return NULL;
		t = s->fmt->address(e);
	}
	u64 *e = &((u64 *)hv_ptr(t))[(gpa >> 12) & 511];
	return s->fmt->present(*e) ? e : NULL;
}

/* The CPU's walk through the leaf for gpa sets its accessed flag (where
 * the format has one; the host CPU never does it for us). */
static void set_accessed(struct vm *vm, u64 gpa)
{
	u64 *e = leaf_ptr(&vm->mem.slat, gpa);

	if (e && vm->mem.slat.fmt->accessed) {
		*e |= vm->mem.slat.fmt->accessed;
		cov.a_sets++;
	}
}

static bool on_stale_list(const struct slat *s, u64 hpa)
{
	for (u64 t = s->stale_tables; t; t = *(u64 *)hv_ptr(t))
		if (t == hpa)
			return true;
	return false;
}

/* The check after every step. */
static void check_tlbs(void)
{
	for (int v = 0; v < NVM && !failed; v++) {
		struct model *m = &model[v];
		struct vm *vm = &vms[v];
		if (!m->tlb)
			continue;
		for (u64 gfn = 0; gfn < m->npages && !failed; gfn++) {
			u64 hpa = m->tlb[gfn];
			if (!hpa)
				continue;
			struct frame_meta *f = pool_meta(&guest_pool, hpa);
			bool shared = hpa == guest_share.zero_hpa ||
				      (f && f->state == FRAME_SHARED);
			if (shared && (m->tlbw[gfn] || !m->alive ||
				       p2m_state(&vm->mem.p2m, gfn) != P2M_SHARED ||
				       p2m_value(&vm->mem.p2m, gfn) != hpa)) {
				FAIL("vm%d gfn 0x%llx -> 0x%llx (%s) is in the TLB, "
				     "but that frame is shared and the p2m says %s "
				     "0x%llx: a stale translation to a shared "
				     "frame", v, (unsigned long long)gfn,
				     (unsigned long long)hpa,
				     m->tlbw[gfn] ? "writable" : "read-only",
				     m->alive ? p2m_state_name(p2m_state(
						 &vm->mem.p2m, gfn)) : "gone",
				     m->alive ? (unsigned long long)p2m_value(
						 &vm->mem.p2m, gfn) : 0ull);
				break;
			}
			if (!shared && (!f || (f->state != FRAME_PRIVATE &&
				   f->state != FRAME_STALE) ||
			    f->owner != (u64)v + 1 || f->gfn != gfn)) {
				FAIL("vm%d gfn 0x%llx -> 0x%llx is in the TLB, but "
				     "the pool says state %d owner %d gfn 0x%llx: "
				     "frame reused while a stale translation can "
				     "reach it", v, (unsigned long long)gfn,
				     (unsigned long long)hpa,
				     f ? (int)f->state : -1,
				     f ? (int)f->owner - 1 : -1,
				     f ? (unsigned long long)f->gfn : 0ull);
				break;
			}
			if (!m->alive)
				continue;
			u64 now[4];
			walk_tables(&vm->mem.slat, gfn * PAGE_SIZE, now);
			for (int i = 0; i < 4; i++)
				if (m->walk[gfn][i] != now[i] &&
				    !on_stale_list(&vm->mem.slat,
						   m->walk[gfn][i])) {
					FAIL("vm%d gfn 0x%llx: a cached walk went "
					     "through table 0x%llx (level %d), "
					     "which is neither in the tree nor "
					     "waiting for a flush", v,
					     (unsigned long long)gfn,
					     (unsigned long long)m->walk[gfn][i],
					     4 - i);
					break;
				}
		}
	}
}

/* --- VMs ---------------------------------------------------------------------- */

/* vm1's tables are in the real EPT format, the others' in NPT: both
 * formats go through the same model. */
static const struct slat_format *vm_format(int v)
{
	return v == 1 ? ept_format_for(EPT_CAP_EXEC_ONLY) : &npt_format;
}

static void vm_up(int v)
{
	struct model *m = &model[v];

	if (stub_vm_create_in(&vms[v], v, vm_pages[v] * PAGE_SIZE,
			      vm_format(v), vm_group[v]) < 0) {
		FAIL("vm%d cannot be created", v);
		return;
	}
	m->npages = vm_pages[v];
	free(m->mem);
	free(m->st);
	free(m->tlb);
	free(m->tlbw);
	free(m->walk);
	free(m->p2m_before);
	m->mem = calloc(m->npages, PAGE_SIZE);
	m->st = calloc(m->npages, 1);
	m->tlb = calloc(m->npages, sizeof(u64));
	m->tlbw = calloc(m->npages, 1);
	m->walk = calloc(m->npages, sizeof(*m->walk));
	m->p2m_before = calloc(m->npages, sizeof(u64));
	m->resident = m->ballooned = m->pops = m->violations = 0;
	m->touched = 0;
	m->alive = true;
}

static void vm_down(int v)
{
	struct model *m = &model[v];

	vmmem_destroy(&vms[v]);
	for (u64 g = 0; g < m->npages; g++)
		if (m->tlb[g]) {
			FAIL("vm%d torn down without a flush: gfn 0x%llx still "
			     "cached", v, (unsigned long long)g);
			break;
		}
	m->alive = false;
	cov.teardowns++;
}

/* The entry into the VM (run_slice): pay what is owed. */
static void entry(int v)
{
	struct vm *vm = &vms[v];

	gmem_settle(&vm->mem);
	if (vm->mem.slat.flush_owed || vm->mem.nstale || vm->mem.stale)
		FAIL("vm%d: still owes a flush after gmem_settle", v);
	/* The CPU may drop any translation whenever it likes. */
	for (int i = 0; i < 2; i++) {
		u64 g = below(model[v].npages);
		if (model[v].tlb[g]) {
			model[v].tlb[g] = 0;
			model[v].tlbw[g] = 0;
			cov.evictions++;
		}
	}
}

/* A page the hv or the guest populated: the model follows. */
static void model_populated(struct model *m, u64 gfn)
{
	if (m->st[gfn] == M_RESIDENT)
		return;
	if (m->st[gfn] == M_BALLOONED) {
		m->ballooned--;
		m->touched++;
	}
	m->st[gfn] = M_RESIDENT;
	m->resident++;
	m->pops++;
}

/*
 * May the guest use the cached translation gfn -> hpa (rights: writable or
 * not) for this access?  Its own private frame, for anything; a shared
 * frame (or the zero frame) the p2m maps gfn to, for reads through a
 * read-only translation.  Anything else is a translation that should have
 * been flushed.
 */
static bool cached_ok(int v, u64 gfn, u64 hpa, bool writable)
{
	struct vm *vm = &vms[v];
	struct frame_meta *f = pool_meta(&guest_pool, hpa);
	bool maps = p2m_value(&vm->mem.p2m, gfn) == hpa;

	if (hpa == guest_share.zero_hpa || (f && f->state == FRAME_SHARED))
		return !writable && maps &&
		       p2m_state(&vm->mem.p2m, gfn) == P2M_SHARED;
	return f && f->state == FRAME_PRIVATE && f->owner == (u64)v + 1 &&
	       f->gfn == gfn && maps &&
	       p2m_state(&vm->mem.p2m, gfn) == P2M_PRIVATE;
}

/*
 * The guest reads or writes len bytes at gpa (inside one page), as the CPU
 * would: through a cached translation if there is one, else through the
 * SLAT, else a SLAT violation, handled and then retried after the
 * re-entry.  A translation caches the rights its walk found: a write
 * through a read-only one is a permission fault (present), and the
 * violation invalidates that translation (Intel SDM Vol. 3C, "Operations that
 * Invalidate Cached Mappings").
 * False if the VM was stopped.
 */
static bool guest_access(int v, u64 gpa, void *buf, u64 len, bool write)
{
	struct vm *vm = &vms[v];
	struct model *m = &model[v];
	u64 gfn = gpa / PAGE_SIZE, off = gpa % PAGE_SIZE;

	cov.accesses++;
	note_touch(v, gfn);
	for (int tries = 0; tries < 3; tries++) {
		u64 hpa = m->tlb[gfn], e;
		bool present = false;
		if (hpa && write && !m->tlbw[gfn]) {
			m->tlb[gfn] = 0;	/* the violation drops it */
			present = true;
			cov.ro_write_faults++;
		} else if (hpa) {
			if (!cached_ok(v, gfn, hpa, m->tlbw[gfn])) {
				struct frame_meta *f = pool_meta(&guest_pool, hpa);
				FAIL("vm%d gfn 0x%llx: the guest %s through a "
				     "cached %s translation to 0x%llx that is no "
				     "longer its to use (frame state %d; the p2m "
				     "says %s 0x%llx)", v,
				     (unsigned long long)gfn,
				     write ? "wrote" : "read",
				     m->tlbw[gfn] ? "writable" : "read-only",
				     (unsigned long long)hpa, f ? (int)f->state : -1,
				     p2m_state_name(p2m_state(&vm->mem.p2m, gfn)),
				     (unsigned long long)p2m_value(&vm->mem.p2m,
								   gfn));
				return false;
			}
			u8 *p = (u8 *)hv_ptr(hpa) + off;
			u8 *mp = m->mem + gpa;
			if (write) {
				memcpy(p, buf, len);
				memcpy(mp, buf, len);
			} else {
				memcpy(buf, p, len);
				if (memcmp(p, mp, len) != 0)
					FAIL("vm%d reads gpa 0x%llx: 0x%llx, the "
					     "model says 0x%llx", v,
					     (unsigned long long)gpa,
					     (unsigned long long)*(u64 *)p,
					     (unsigned long long)*(u64 *)mp);
				if (!m->tlbw[gfn])
					cov.shared_reads++;
			}
			if (tries == 0)
				cov.tlb_hits++;
			return true;
		} else {
			present = slat_lookup(&vm->mem.slat, gfn * PAGE_SIZE, &e);
			bool w = present && (vm->mem.slat.fmt->perms(e) & SLAT_W);
			if (present && (!write || w)) {
				/* The walk that fills the TLB sets the
				 * leaf's accessed flag, as hardware does; a
				 * TLB hit does not. */
				set_accessed(vm, gpa);
				m->tlb[gfn] = vm->mem.slat.fmt->address(e);
				m->tlbw[gfn] = w;
				walk_tables(&vm->mem.slat, gfn * PAGE_SIZE,
					    m->walk[gfn]);
				continue;
			}
		}
		struct vm_exit x = { .reason = EXIT_SLAT_VIOLATION };
		x.slat.gpa = gpa;
		x.slat.read = !write;
		x.slat.write = write;
		x.slat.present = present;
		exit_handle(vm, &x);
		/* No frame: the model runs one VM at a time, so no other
		 * VM's balloon can give one: the scheduler's verdict is a
		 * stop (hv/vmmem.c). */
		if (vm->wants_frame)
			vmmem_frame_ready(vm, 0, false);
		m->violations++;
		cov.violations++;
		if (vm->state != VM_RUNNING) {
			bool swap_oom = strstr(vm->stop_reason,
				"out of memory: pool ") &&
				strstr(vm->stop_reason, " slots all in use");
			if (swap_oom && !swapping)
				FAIL("vm%d stopped: %s, without swapping", v,
				     vm->stop_reason);
			else if (swap_oom && guest_swap.used != guest_swap.nslots)
				FAIL("vm%d stopped: %s, with %llu of %llu slots "
				     "in use", v, vm->stop_reason,
				     (unsigned long long)guest_swap.used,
				     (unsigned long long)guest_swap.nslots);
			else if (!swap_oom &&
				 (swapping || !strstr(vm->stop_reason,
						      "out of guest memory")))
				FAIL("vm%d stopped: %s", v, vm->stop_reason);
			else if (guest_pool.st.free != 0)
				FAIL("vm%d out of memory with %llu frames free",
				     v, (unsigned long long)guest_pool.st.free);
			else if (p2m_state(&vm->mem.p2m, gfn) == P2M_PRIVATE)
				FAIL("vm%d stopped, but gfn 0x%llx was populated",
				     v, (unsigned long long)gfn);
			cov.stops_oom++;
			cov.stops_swap_oom += swap_oom;
			return false;
		}
		enum p2m_state now = p2m_state(&vm->mem.p2m, gfn);
		if (now != P2M_PRIVATE && (write || now != P2M_SHARED)) {
			FAIL("vm%d: the %s violation at 0x%llx left the page %s",
			     v, write ? "write" : "read", (unsigned long long)gpa,
			     p2m_state_name(now));
			return false;
		}
		model_populated(m, gfn);
		gmem_settle(&vm->mem);	/* the re-entry */
	}
	{ u64 e = 0; bool pr = slat_lookup(&vm->mem.slat, gpa, &e); FAIL("vm%d: no progress on gpa 0x%llx (%s, %s; p2m %s 0x%llx, leaf %d 0x%llx, tlb 0x%llx w%d)", v, (unsigned long long)gpa, write ? "write" : "read", "", p2m_state_name(p2m_state(&vm->mem.p2m, gfn)), (unsigned long long)p2m_value(&vm->mem.p2m, gfn), pr, (unsigned long long)e, (unsigned long long)m->tlb[gfn], m->tlbw[gfn]); }
	return false;
}

/* The guest stores a buffer of any length (page by page).  False if the
 * VM was stopped. */
static bool guest_store(int v, u64 gpa, const void *buf, u64 len)
{
	const u8 *b = buf;

	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - gpa % PAGE_SIZE);
		u8 tmp[PAGE_SIZE];
		memcpy(tmp, b, chunk);
		if (!guest_access(v, gpa, tmp, chunk, true))
			return false;
		gpa += chunk;
		b += chunk;
		len -= chunk;
	}
	return true;
}

static void verify_page(int v, u64 gfn);

/* --- the operations ----------------------------------------------------------- */

static bool batch(int v)
{
	struct model *m = &model[v];
	int n = 1 + (int)below(8);

	entry(v);
	for (int i = 0; i < n; i++) {
		/* A hot third of RAM, and the rest. */
		u64 gfn = below(4) ? below(m->npages / 3) : below(m->npages);
		if (below(100) < 15) {
			/* A whole page of one of the images: zeros more
			 * often than any one pattern. */
			u64 k = below(NIMAGES + 2);
			cov.fills++;
			if (!guest_store(v, gfn * PAGE_SIZE,
					 images[k < NIMAGES ? k : 0], PAGE_SIZE))
				return false;
			continue;
		}
		u64 len = below(4) ? 8 : 1 + below(64);
		u64 off = below(PAGE_SIZE - len + 1);
		u8 buf[64];
		bool write = below(2);
		for (u64 k = 0; k < len; k++)
			buf[k] = (u8)rnd();
		if (!guest_access(v, gfn * PAGE_SIZE + off, buf, len, write))
			return false;
	}
	return true;
}

static s64 model_balloon(int v, u64 gpa, u64 count, bool inflate, u64 *list)
{
	struct model *m = &model[v];
	struct vm *vm = &vms[v];

	if (!count)
		return 0;
	if (count > HC_GFN_MAX)
		return -HC_E2BIG;
	if (!vm_in_ram(vm, gpa, count * 8))
		return -HC_EFAULT;
	memcpy(list, m->mem + gpa, count * 8);
	u8 *seen = calloc(m->npages, 1);
	s64 rc = (s64)count;
	for (u64 k = 0; k < count; k++) {
		u64 g = list[k];
		/* RAM to a hypercall is what the memory map calls RAM: not
		 * the legacy hole (hv/vmmem.h, vm_in_ram). */
		if (g >= m->npages || seen[g] ||
		    !vm_in_ram(vm, g * PAGE_SIZE, PAGE_SIZE) ||
		    (m->st[g] == M_BALLOONED) != !inflate) {
			rc = -HC_EINVAL;
			break;
		}
		seen[g] = 1;
	}
	free(seen);
	return rc;
}

static void hc_balloon(int v, bool inflate)
{
	struct model *m = &model[v];
	struct vm *vm = &vms[v];
	static u64 list[HC_GFN_MAX + 8], got[HC_GFN_MAX];
	u64 r = below(100), count;

	inflate ? cov.inflates++ : cov.deflates++;
	if (r < 3)
		count = (const u64[]){ 513, ~0ull, (1ull << 61) + 1,
				       1ull << 63, 600 }[below(5)];
	else if (r < 6)
		count = 0;
	else if (r < 8)
		count = 200 + below(313);
	else
		count = 1 + below(8);

	/* A list that is valid as far as the model knows, of up to count
	 * entries... */
	u64 n = 0, want = MIN(count, HC_GFN_MAX);
	u8 *used = calloc(m->npages, 1);
	for (u64 tries = 0; n < want && tries < want * 4; tries++) {
		u64 g = below(2) ? below(m->npages / 3) : below(m->npages);
		if (used[g] || (m->st[g] == M_BALLOONED) != !inflate)
			continue;
		used[g] = 1;
		list[n++] = g;
	}
	free(used);
	if (count <= HC_GFN_MAX)
		count = n;
	/* ... made wrong sometimes, often at the end. */
	if (n && below(100) < 15) {
		u64 at = below(2) ? n - 1 : below(n);
		switch (below(4)) {
		case 0: list[at] = list[below(n)]; break;	/* duplicate */
		case 1: list[at] = m->npages + below(4); break;
		case 2: list[at] = ~0ull - below(2); break;
		default: list[at] = below(m->npages); break;
		}
	}

	/* Where the guest puts it. */
	u64 len = MIN(count, HC_GFN_MAX) * 8, gpa;
	bool store = true;
	r = below(100);
	if (r < 25 && n) {
		u64 g = list[below(n)] % m->npages;
		gpa = g * PAGE_SIZE + (below(PAGE_SIZE) & ~7ull);
		cov.list_in_listed++;
	} else if (r < 30) {
		gpa = vm->mem_bytes - below(len + 16);	/* across the end */
		store = false;
	} else if (r < 35) {
		gpa = below(vm->mem_bytes);	/* whatever is there */
		store = false;
	} else {
		gpa = below(vm->mem_bytes);
		if (below(2))
			gpa &= ~7ull;
	}
	if (gpa > vm->mem_bytes || len > vm->mem_bytes - gpa)
		store = false;

	entry(v);
	if (store && len && !guest_store(v, gpa, list, len))
		return;

	s64 want_rc = model_balloon(v, gpa, count, inflate, got);
	u64 used_before = pool_used(&guest_pool);
	u64 counts[P2M_STATE_COUNT];
	memcpy(counts, vm->mem.p2m.count, sizeof(counts));
	bool owed = vm->mem.slat.flush_owed;

	vm->vcpu.regs.rax = inflate ? HC_BALLOON_INFLATE : HC_BALLOON_DEFLATE;
	vm->vcpu.regs.rbx = gpa;
	vm->vcpu.regs.rcx = count;
	struct vm_exit x = { .reason = EXIT_HYPERCALL, .insn_len = 3 };
	exit_handle(vm, &x);
	s64 rc = (s64)vm->vcpu.regs.rax;
	if (rc != want_rc) {
		FAIL("vm%d %s(0x%llx, %llu): %lld, the model says %lld", v,
		     inflate ? "INFLATE" : "DEFLATE", (unsigned long long)gpa,
		     (unsigned long long)count, (long long)rc,
		     (long long)want_rc);
		return;
	}
	if (rc < 0) {
		rc == -HC_E2BIG ? cov.e2big++ : rc == -HC_EFAULT ? cov.efault++
							       : cov.einval++;
		if (pool_used(&guest_pool) != used_before ||
		    memcmp(counts, vm->mem.p2m.count, sizeof(counts)) != 0 ||
		    vm->mem.slat.flush_owed != owed)
			FAIL("vm%d: a failing balloon call changed state", v);
		for (u64 k = 0; k < n; k++)
			if (list[k] < m->npages &&
			    p2m_marked(&vm->mem.p2m, list[k]))
				FAIL("vm%d: gfn 0x%llx left marked", v,
				     (unsigned long long)list[k]);
		return;
	}
	rc ? cov.hc_ok++ : cov.zero++;
	for (s64 k = 0; k < rc; k++) {
		u64 g = got[k];
		if (m->st[g] == M_RESIDENT)
			m->resident--;
		if (m->st[g] == M_BALLOONED)
			m->ballooned--;
		m->st[g] = inflate ? M_BALLOONED : M_UNPOP;
		if (inflate)
			m->ballooned++;
		memset(m->mem + g * PAGE_SIZE, 0, PAGE_SIZE);
	}
}

/* MEMSTAT into a random buffer; cold: into a page this VM never
 * populated, if it has one (to meet an exhausted pool). */
static void hc_memstat(int v, bool cold)
{
	struct model *m = &model[v];
	struct vm *vm = &vms[v];
	u64 gpa, len = below(3) ? MEMSTAT_BYTES : below(100);
	u64 r = below(10);

	cov.memstats++;
	if (cold) {
		u64 g = below(m->npages), k = 0;
		while (k++ < m->npages && m->st[g] == M_RESIDENT)
			g = (g + 1) % m->npages;
		gpa = g * PAGE_SIZE + below(PAGE_SIZE - MEMSTAT_BYTES);
	} else if (r == 0)
		gpa = vm->mem_bytes - below(64);
	else if (r == 1)
		gpa = ~0ull - below(64);
	else
		gpa = below(vm->mem_bytes);

	entry(v);
	u64 n = MIN(len, MEMSTAT_BYTES) / 8 * 8;
	/* Which pages are shared, and so which writes break a share, is the
	 * scanner's choice: the model takes those counts from the VM
	 * (check_state() checks the p2m). */
	u64 c[9] = { m->resident, vm->mem.p2m.count[P2M_SHARED], 0,
		     m->ballooned, m->pops, m->violations,
		     vm->mem.st.cow_guest, vm->mem.st.swapped_in, m->touched };
	if (swapping) {
		/* Which pages are out is the clock's choice, and a zero drop
		 * makes a page populate again: those counts come from the
		 * VM (check_state() checks the p2m). */
		c[0] = vm->mem.p2m.count[P2M_PRIVATE] +
		       vm->mem.p2m.count[P2M_SHARED];
		c[2] = vm->mem.p2m.count[P2M_SWAPPED];
		c[4] = vm->mem.st.populated_slat + vm->mem.st.populated_hv;
	}
	s64 want;
	u64 need = 0;
	if (!vm_in_ram(vm, gpa, n)) {
		want = -HC_EFAULT;
	} else {
		for (u64 g = gpa / PAGE_SIZE; n && g <= (gpa + n - 1) / PAGE_SIZE;
		     g++) {
			u64 h = p2m_value(&vm->mem.p2m, g);
			enum p2m_state ps = p2m_state(&vm->mem.p2m, g);
			if (m->st[g] != M_RESIDENT || ps == P2M_SWAPPED ||
			    ps == P2M_UNPOPULATED)
				need++;
			else if (p2m_state(&vm->mem.p2m, g) == P2M_SHARED)
				need += h == guest_share.zero_hpa ||
					pool_meta(&guest_pool, h)->refcount > 1;
		}
		/* gmem_write pays this VM's own owed flush before it gives
		 * up; after entry() there is none. */
		want = need > guest_pool.st.free ? -HC_ENOMEM : (s64)n;
	}
	u8 before[MEMSTAT_BYTES];
	if (want == -HC_ENOMEM)
		memcpy(before, m->mem + gpa, n);

	vm->vcpu.regs.rax = HC_MEMSTAT;
	vm->vcpu.regs.rbx = gpa;
	vm->vcpu.regs.rcx = len;
	struct vm_exit x = { .reason = EXIT_HYPERCALL, .insn_len = 3 };
	no_last_writes = true;
	exit_handle(vm, &x);
	no_last_writes = false;
	s64 rc = (s64)vm->vcpu.regs.rax;
	/* With the pool short, gmem_write asks sharing to reclaim (an urgent
	 * pass that merges whatever is equal now): which frames that frees is
	 * the scanner's business, so a success is a right answer too. */
	if (want == -HC_ENOMEM && rc == (s64)n && guest_share.on) {
		cov.memstat_reclaimed++;
		want = rc;
	}
	if (rc != want) {
		FAIL("vm%d MEMSTAT(0x%llx, %llu): %lld, the model says %lld", v,
		     (unsigned long long)gpa, (unsigned long long)len,
		     (long long)rc, (long long)want);
		return;
	}
	if (rc == -HC_EFAULT) {
		cov.efault++;
		return;
	}
	if (rc == -HC_ENOMEM) {
		cov.enomem++;
		u8 now[MEMSTAT_BYTES];
		vm_read_phys(vm, gpa, now, n);
		if (memcmp(now, before, n) != 0)
			FAIL("vm%d: MEMSTAT failed but wrote", v);
		return;
	}
	for (u64 g = gpa / PAGE_SIZE; n && g <= (gpa + n - 1) / PAGE_SIZE; g++) {
		model_populated(m, g);
		note_touch(v, g);
	}
	memcpy(m->mem + gpa, c, n);
	u8 now[MEMSTAT_BYTES];
	vm_read_phys(vm, gpa, now, n);
	if (memcmp(now, c, n) != 0)
		FAIL("vm%d MEMSTAT counters: resident %llu ballooned %llu pops "
		     "%llu faults %llu expected; got %llu %llu %llu %llu", v,
		     (unsigned long long)c[0], (unsigned long long)c[3],
		     (unsigned long long)c[4], (unsigned long long)c[5],
		     (unsigned long long)((u64 *)now)[0],
		     (unsigned long long)(n > 24 ? ((u64 *)now)[3] : 0),
		     (unsigned long long)(n > 32 ? ((u64 *)now)[4] : 0),
		     (unsigned long long)(n > 40 ? ((u64 *)now)[5] : 0));
}

/* hv/run.c's drop_slat(), at every level. */
static void drop(int v)
{
	struct vm *vm = &vms[v];
	struct model *m = &model[v];
	int level = below(2) ? 0 : (int)below(4);
	u64 span = PAGE_SIZE << (9 * level);
	u64 gpa = level == 3 ? 0 : below(vm->mem_bytes / span + 2) * span;

	/* One leaf the CPU has cached: the drop owes a flush by itself,
	 * whatever else happens before the frame is released. */
	if (level == 0 && below(4)) {
		u64 g = below(m->npages), k = 0;
		while (k++ < m->npages && !m->tlb[g])
			g = (g + 1) % m->npages;
		gpa = g * PAGE_SIZE;
	}

	slat_drop(&vm->mem.slat, gpa, span);
	vm->stats.slat_drops++;
	cov.drops++;
}

static void nonram_access(int v)
{
	struct vm *vm = &vms[v];
	u64 gpa = vm->mem_bytes + below(1ull << 30);
	struct vm_exit x = { .reason = EXIT_SLAT_VIOLATION };

	entry(v);
	x.slat.gpa = gpa;
	x.slat.read = true;
	exit_handle(vm, &x);
	if (vm->state != VM_STOPPED ||
	    !strstr(vm->stop_reason, "access to non-RAM GPA"))
		FAIL("vm%d: access to 0x%llx outside RAM: state %d (%s)", v,
		     (unsigned long long)gpa, vm->state, vm->stop_reason);
	cov.stops_nonram++;
	vm_down(v);
}

/* --- sharing ------------------------------------------------------------------------ */

/* The scanner's round between slices (hv/run.c), with a random budget;
 * it settles the VMs whose mappings it changed. */
static void scan(void)
{
	u64 budget = below(8) ? 1 + below(256) : 1 + below(1500);

	share_scan(&guest_share, budget);
	cov.scans++;
}

/* --- swapping ------------------------------------------------------------------------ */

/* Pressure: a fault's synchronous reclaim with a random need, or the
 * background swapping between slices (hv/run.c). */
static void pressure(void)
{
	if (below(3)) {
		u64 need = below(8) ? below(64) : below(POOL_FRAMES + 16);
		swap_reclaim(&guest_swap, need);
		cov.reclaims++;
	} else {
		swap_background(&guest_swap);
		cov.backgrounds++;
	}
}

/* The reclaim policy's period between slices (hv/run.c): samples idle
 * memory (clearing accessed flags), sets targets, may swap.  Every target
 * within its bound, and BALLOON_TARGET answers it less the swapped pages. */
static void policy(void)
{
	reclaim_period(&guest_reclaim);
	cov.policies++;
	for (int v = 0; v < NVM; v++) {
		struct vm *vm = &vms[v];
		if (!model[v].alive)
			continue;
		u64 t = vm->mem.balloon.target, bound = vm->npages * 65 / 100;
		if (t > bound)
			FAIL("vm%d: balloon target %llu above its bound %llu", v,
			     (unsigned long long)t, (unsigned long long)bound);
		cov.targets += t > 0;
		u64 sw = vm->mem.p2m.count[P2M_SWAPPED];
		if (balloon_target(&vm->mem) != (t > sw ? t - sw : 0))
			FAIL("vm%d: BALLOON_TARGET %llu for target %llu and %llu "
			     "swapped", v,
			     (unsigned long long)balloon_target(&vm->mem),
			     (unsigned long long)t, (unsigned long long)sw);
	}
}

/* The CPU walks some of a VM's mappings on its own (speculation, a
 * prefetch, a walk after a TLB eviction): their accessed flags get set. */
static void cpu_walks(int v)
{
	struct model *m = &model[v];
	int n = 1 + (int)below(16);

	for (int i = 0; i < n; i++) {
		u64 g = below(4) ? below(m->npages / 3) : below(m->npages);
		set_accessed(&vms[v], g * PAGE_SIZE);
	}
}

/* The hv reads a page the model thinks is swapped out, in place. */
static void hv_read_swapped(int v)
{
	struct model *m = &model[v];
	struct vm *vm = &vms[v];
	u64 g = below(m->npages), k = 0;

	while (k++ < m->npages && p2m_state(&vm->mem.p2m, g) != P2M_SWAPPED)
		g = (g + 1) % m->npages;
	if (p2m_state(&vm->mem.p2m, g) != P2M_SWAPPED)
		return;
	u64 before = p2m_value(&vm->mem.p2m, g);
	verify_page(v, g);
	if (p2m_state(&vm->mem.p2m, g) != P2M_SWAPPED ||
	    p2m_value(&vm->mem.p2m, g) != before)
		FAIL("vm%d: the hv's read of swapped gfn 0x%llx swapped it in",
		     v, (unsigned long long)g);
	cov.swapped_reads++;
}

static u64 const_hash(const void *page)
{
	(void)page;
	return 0x5eed5eedull;
}

/* --- the whole state against the model ----------------------------------------- */

static void report(void *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	printf("  step %ld: ", step_now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Page gfn of vm v read through its p2m (the hypervisor's read) equals
 * the model. */
static void verify_page(int v, u64 gfn)
{
	static u8 page[PAGE_SIZE];
	struct vm *vm = &vms[v];

	cov.verified++;
	vm_read_phys(vm, gfn * PAGE_SIZE, page, PAGE_SIZE);
	if (memcmp(page, model[v].mem + gfn * PAGE_SIZE, PAGE_SIZE) != 0) {
		u64 k = 0;
		while (page[k] == model[v].mem[gfn * PAGE_SIZE + k])
			k++;
		FAIL("vm%d gfn 0x%llx (%s 0x%llx) differs from the model at byte "
		     "%llu: 0x%02x, the model says 0x%02x", v,
		     (unsigned long long)gfn,
		     p2m_state_name(p2m_state(&vm->mem.p2m, gfn)),
		     (unsigned long long)p2m_value(&vm->mem.p2m, gfn),
		     (unsigned long long)k, page[k],
		     model[v].mem[gfn * PAGE_SIZE + k]);
	}
}

/* The start of a step: what the p2m said, to find what the step changed. */
static void step_begin(void)
{
	touched.n = 0;
	touched.overflow = false;
	for (int v = 0; v < NVM; v++)
		if (model[v].alive)
			memcpy(model[v].p2m_before, vms[v].mem.p2m.entries,
			       model[v].npages * sizeof(u64));
}

/*
 * After every step: the pages it touched and every page whose p2m entry
 * it changed read as the model says (a full sweep when sweep is set, or
 * too much was touched); the p2m states; the pool's frames are the VMs'
 * private pages, the shared frames and the frames waiting for a flush.
 * deep: also gmem_check() of every VM and share_check().
 */
static void check_state(bool sweep, bool deep)
{
	u64 private = 0, stale = 0, swapped = 0, copies = 0;
	static u32 census[POOL_FRAMES];

	for (int v = 0; v < NVM && !failed; v++) {
		struct model *m = &model[v];
		struct vm *vm = &vms[v];
		if (!m->alive)
			continue;
		static const enum p2m_state want[] = {
			[M_UNPOP] = P2M_UNPOPULATED,
			[M_RESIDENT] = P2M_PRIVATE,
			[M_BALLOONED] = P2M_BALLOONED,
		};
		for (u64 g = 0; g < m->npages; g++) {
			enum p2m_state st = p2m_state(&vm->mem.p2m, g);
			bool zero = false;
			if (swapping && m->st[g] == M_RESIDENT &&
			    st == P2M_UNPOPULATED) {
				/* A zero drop: only an all-zero page. */
				const u8 *b = m->mem + g * PAGE_SIZE;
				zero = b[0] == 0 &&
				       !memcmp(b, b + 1, PAGE_SIZE - 1);
			}
			if (st != want[m->st[g]] && !zero &&
			    !(m->st[g] == M_RESIDENT && st == P2M_SHARED) &&
			    !(swapping && m->st[g] == M_RESIDENT &&
			      st == P2M_SWAPPED)) {
				FAIL("vm%d gfn 0x%llx is %s, the model says %d",
				     v, (unsigned long long)g,
				     p2m_state_name(st), m->st[g]);
				return;
			}
		}
		private += vm->mem.p2m.count[P2M_PRIVATE];
		stale += vm->mem.nstale;
		swapped += vm->mem.p2m.count[P2M_SWAPPED];
		for (u64 g = 0; swapping && g < m->npages; g++) {
			if (p2m_state(&vm->mem.p2m, g) != P2M_PRIVATE)
				continue;
			struct frame_meta *f = pool_meta(&guest_pool,
					p2m_value(&vm->mem.p2m, g));
			copies += f && f->swapcopy;
		}
		if (sweep || touched.overflow) {
			for (u64 g = 0; g < m->npages; g++)
				verify_page(v, g);
		} else {
			for (u64 g = 0; g < m->npages; g++)
				if (m->p2m_before[g] != vm->mem.p2m.entries[g])
					verify_page(v, g);
		}
		if (deep) {
			stub_log_clear();
			if (gmem_check(&vm->mem, report, NULL) != 0)
				FAIL("vm%d: gmem_check found differences", v);
			/* Shared frames hold pages of one group only. */
			for (u64 g = 0; g < m->npages && !failed; g++) {
				u64 h = p2m_value(&vm->mem.p2m, g);
				struct frame_meta *f = pool_meta(&guest_pool, h);
				if (p2m_state(&vm->mem.p2m, g) == P2M_SHARED && f &&
				    f->owner != vm_group[v] + 1u)
					FAIL("vm%d (group %u) gfn 0x%llx maps frame "
					     "0x%llx of group %d", v, vm_group[v],
					     (unsigned long long)g,
					     (unsigned long long)h,
					     (int)f->owner - 1);
			}
		}
	}
	for (unsigned k = 0; k < touched.n && !failed; k++)
		if (model[touched.v[k]].alive)
			verify_page(touched.v[k], touched.gfn[k]);
	if (sweep)
		cov.sweeps++;
	if (!failed && pool_used(&guest_pool) !=
			       private + guest_share.st.frames_shared + stale)
		FAIL("the pool has %llu frames in use; the VMs hold %llu private "
		     "pages and %llu shared frames, and %llu frames wait for a "
		     "flush", (unsigned long long)pool_used(&guest_pool),
		     (unsigned long long)private,
		     (unsigned long long)guest_share.st.frames_shared,
		     (unsigned long long)stale);
	if (!failed && (swapping ? guest_swap.used != swapped + copies
				 : swapped != 0))
		FAIL("%llu swap slots in use; the VMs have %llu swapped pages "
		     "and %llu clean copies", (unsigned long long)guest_swap.used,
		     (unsigned long long)swapped, (unsigned long long)copies);
	if (deep && !failed && swapping &&
	    swap_check(&guest_swap, report, NULL) != 0)
		FAIL("swap_check found differences");
	if (deep && !failed) {
		if (share_check(&guest_share, census, report, NULL) != 0)
			FAIL("share_check found differences");
		u64 free_recs = 0;
		for (u64 i = 0; i < guest_pool.nframes; i++)
			free_recs += guest_pool.meta[i].state == FRAME_FREE;
		if (free_recs != guest_pool.st.free)
			FAIL("%llu free frame records, the pool counts %llu",
			     (unsigned long long)free_recs,
			     (unsigned long long)guest_pool.st.free);
	}
}

static u64 env_u64(const char *name, u64 dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

static void make_images(void)
{
	u64 x = 0x243f6a8885a308d3ull;

	memset(images[0], 0, PAGE_SIZE);
	for (int k = 1; k < NIMAGES; k++)
		for (u64 i = 0; i < PAGE_SIZE; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(images[k] + i, &x, 8);
		}
}

/* The model run: steps steps from seed, with the scanner's hash hash
 * (NULL: XXH3, as in the hypervisor). */
static void run_model(const char *name, u64 steps, u64 seed,
		      u64 (*hash)(const void *page), u64 swap_slots)
{
	printf("  %s: GMEM_SEED=%llu, %llu steps\n", name,
	       (unsigned long long)seed, (unsigned long long)steps);
	swapping = swap_slots != 0;
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	memset(&cov, 0, sizeof(cov));
	failed = false;
	make_images();
	stub_phys_init(POOL_FRAMES * PAGE_SIZE);
	stub_share_init(true);
	if (hash) {
		guest_share.hash = hash;
		guest_share.zero_hash = (u32)hash(images[0]);
	}
	if (swapping)	/* background between 2% and 6% of the pool */
		stub_swap_init(swap_slots * PAGE_SIZE, 2, 6);
	stub_reclaim_init(6, 4, 2, 1, 75, 65);
	stub_on_flush = model_flush;
	for (int v = 0; v < NVM; v++)
		vm_up(v);

	for (step_now = 0; step_now < (long)steps && !failed; step_now++) {
		int v = (int)below(NVM);
		if (!model[v].alive) {
			vm_up(v);
			continue;
		}
		step_begin();
		u64 op = below(1000);
		bool up = true;
		if (op < 680)
			up = batch(v);
		else if (op < 760)
			scan();
		else if (op < 820)
			hc_balloon(v, true);
		else if (op < 870)
			hc_balloon(v, false);
		else if (op < 930)
			hc_memstat(v, false);
		else if (op < 940)
			policy();
		else if (op < 996 && !(swapping && op >= 960))
			drop(v);
		else if (op < 996 && op < 975)
			pressure();
		else if (op < 996 && op < 990)
			cpu_walks(v);
		else if (op < 996)
			hv_read_swapped(v);
		else if (op < 999)
			vm_down(v);
		else
			nonram_access(v);
		if (model[v].alive && vms[v].state != VM_RUNNING)
			up = false;
		if (!up && model[v].alive) {
			/* The pool is exhausted right now: what does MEMSTAT
			 * into a fresh page do for another VM? */
			int w = (v + 1) % NVM;
			if (guest_pool.st.free == 0 && model[w].alive)
				hc_memstat(w, true);
			vm_down(v);	/* stopped: out of the test, rebuilt */
		}
		check_tlbs();
		check_state(step_now % 1000 == 0, step_now % 2000 == 0);
	}
	check_state(true, true);
	for (int v = 0; v < NVM; v++)
		if (model[v].alive)
			vm_down(v);
	check_tlbs();
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
	CHECK_EQ(frames.st.free, stub_frames_free_at_start);
	CHECK_EQ(guest_share.zero_refs, 0);
	CHECK_EQ(guest_share.st.frames_shared, 0);
	CHECK_EQ(guest_swap.used, 0);
	CHECK_EQ(swapping ? swap_check(&guest_swap, report, NULL) : 0, 0);
	stub_on_flush = NULL;

	const struct share_stats *ss = &guest_share.st;
	printf("  %s: %llu accesses (%llu TLB hits), %llu violations, "
	       "%llu flushes, %llu evictions; %llu inflates, %llu deflates: "
	       "%llu ok, %llu zero, %llu -E2BIG, %llu -EFAULT, %llu -EINVAL, "
	       "%llu lists in listed pages; %llu MEMSTATs (%llu -ENOMEM); "
	       "%llu drops, %llu teardowns, %llu out of memory, %llu non-RAM\n",
	       name, (unsigned long long)cov.accesses,
	       (unsigned long long)cov.tlb_hits,
	       (unsigned long long)cov.violations, (unsigned long long)cov.flushes,
	       (unsigned long long)cov.evictions,
	       (unsigned long long)cov.inflates, (unsigned long long)cov.deflates,
	       (unsigned long long)cov.hc_ok, (unsigned long long)cov.zero,
	       (unsigned long long)cov.e2big, (unsigned long long)cov.efault,
	       (unsigned long long)cov.einval,
	       (unsigned long long)cov.list_in_listed,
	       (unsigned long long)cov.memstats, (unsigned long long)cov.enomem,
	       (unsigned long long)cov.drops, (unsigned long long)cov.teardowns,
	       (unsigned long long)cov.stops_oom,
	       (unsigned long long)cov.stops_nonram);
	printf("  %s: policy: %llu periods, %llu targets set, %llu pages "
	       "sampled, %llu swapped for targets\n", name,
	       (unsigned long long)cov.policies,
	       (unsigned long long)cov.targets,
	       (unsigned long long)guest_reclaim.st.sampled,
	       (unsigned long long)(guest_reclaim.st.swapped_short +
				    guest_reclaim.st.swapped_all));
	printf("  %s: sharing: %llu scans (%llu pages hashed), %llu fills; "
	       "%llu merges (%llu zero), %llu volatile, %llu collisions, %llu "
	       "stale candidates; %llu COW breaks (%llu in place), %llu write "
	       "faults through read-only translations, %llu reads through "
	       "them; %llu pages compared, %llu sweeps; pool high water %llu\n",
	       name,
	       (unsigned long long)cov.scans, (unsigned long long)ss->scanned,
	       (unsigned long long)cov.fills, (unsigned long long)ss->merges,
	       (unsigned long long)ss->zero_merges,
	       (unsigned long long)ss->volatile_pages,
	       (unsigned long long)ss->collisions,
	       (unsigned long long)ss->stale_candidates,
	       (unsigned long long)ss->cow_breaks,
	       (unsigned long long)ss->cow_in_place,
	       (unsigned long long)cov.ro_write_faults,
	       (unsigned long long)cov.shared_reads,
	       (unsigned long long)cov.verified, (unsigned long long)cov.sweeps,
	       (unsigned long long)guest_pool.st.high_water);
	if (steps >= 10000 && !failed) {
		/* Every case was exercised. */
		CHECK(cov.tlb_hits > 0);
		CHECK(cov.hc_ok > 0);
		CHECK(cov.e2big > 0);
		CHECK(cov.efault > 0);
		CHECK(cov.einval > 0);
		CHECK(cov.list_in_listed > 0);
		CHECK(ss->merges > ss->zero_merges);
		CHECK(ss->zero_merges > 0);
		CHECK(ss->cow_breaks > ss->cow_in_place);
		CHECK(ss->cow_in_place > 0);
		CHECK(cov.ro_write_faults > 0);
		CHECK(cov.shared_reads > 0);
		/* A constant hash never changes: nothing looks volatile. */
		if (hash)
			CHECK(ss->collisions > 0);
		else
			CHECK(ss->volatile_pages > 0);
	}
	const struct swap_stats *ws = &guest_swap.st;
	if (swapping)
		printf("  %s: swapping: %llu slots (high water %llu); %llu "
		       "swap-outs, %llu swap-ins, %llu zero drops, %llu clean "
		       "drops, %llu kept for want of a slot, %llu clean copies "
		       "given up for one; %llu batches, %llu "
		       "passed over, %llu rounds; %llu reclaims, %llu "
		       "background, %llu accessed flags set, %llu in-place "
		       "reads, %llu last stores before flushes; %llu stops for want of pool and slots\n", name,
		       (unsigned long long)guest_swap.nslots,
		       (unsigned long long)guest_swap.high_water,
		       (unsigned long long)ws->swap_outs,
		       (unsigned long long)ws->swap_ins,
		       (unsigned long long)ws->zero_drops,
		       (unsigned long long)ws->clean_drops,
		       (unsigned long long)ws->no_slot,
		       (unsigned long long)ws->copies_stolen,
		       (unsigned long long)ws->batches,
		       (unsigned long long)ws->passed_over,
		       (unsigned long long)ws->rounds,
		       (unsigned long long)cov.reclaims,
		       (unsigned long long)cov.backgrounds,
		       (unsigned long long)cov.a_sets,
		       (unsigned long long)cov.swapped_reads,
		       (unsigned long long)cov.last_writes,
		       (unsigned long long)cov.stops_swap_oom);
	if (steps >= 100000 && !failed && !swapping) {
		CHECK(cov.enomem > 0);
		CHECK(cov.stops_oom > 0);
		CHECK(cov.policies > 0 && cov.targets > 0);
	}
	if (steps >= 10000 && !failed && swapping) {
		CHECK(ws->swap_outs > 0);
		CHECK(ws->swap_ins > 0);
		CHECK(ws->zero_drops > 0);
		if (swap_slots >= POOL_FRAMES / 2)
			CHECK(ws->clean_drops > 0);
		CHECK(ws->passed_over > 0);
		CHECK(cov.swapped_reads > 0);
		/* A small device runs out; a big one never does. */
		if (swap_slots < POOL_FRAMES / 2)
			CHECK(cov.stops_swap_oom > 0 && ws->no_slot > 0);
		else
			CHECK_EQ(cov.stops_swap_oom, 0);
	}
	for (int v = 0; v < NVM; v++) {
		free(model[v].mem);
		free(model[v].st);
		free(model[v].tlb);
		free(model[v].tlbw);
		free(model[v].walk);
		free(model[v].p2m_before);
		model[v] = (struct model){ 0 };
	}
}

TEST(gmem_model_random)
{
	run_model("gmem model", env_u64("GMEM_STEPS", 100000),
		  env_u64("GMEM_SEED", 1), NULL, 0);
}

/* The same model with a hash that returns a constant: only the byte
 * comparison keeps different pages apart, and the model proves it. */
TEST(gmem_model_constant_hash)
{
	run_model("gmem model, constant hash",
		  env_u64("GMEM_STEPS", 100000) / 10, env_u64("GMEM_SEED", 1) + 1,
		  const_hash, 0);
}

/* With swapping to a RAM-disk big enough for every page the pool cannot
 * hold: the clock, swap-in, clean copies and pressure steps, no stop. */
TEST(gmem_model_swap)
{
	run_model("gmem model, swap", env_u64("GMEM_STEPS", 100000),
		  env_u64("GMEM_SEED", 1) + 2, NULL, 800);
}

/* And with one too small for the pressure: the out-of-memory stops. */
TEST(gmem_model_swap_small)
{
	run_model("gmem model, small swap", env_u64("GMEM_STEPS", 100000) / 5,
		  env_u64("GMEM_SEED", 1) + 4, NULL, 24);
}
