/*
 * shadow.c - the shadow MMU (mm/shadow.h): shadow page tables built from
 * the guest's tables and the p2m, kept true by write-protecting the
 * guest's tables and by dropping every shadow when the p2m side changes.
 */
#include "shadow.h"

/* Shadow entries are ordinary long-mode page-table entries: the CPU walks
 * them.  Tables grant everything; the leaf alone carries the rights. */
#define SPTE_P (1ull << 0)
#define SPTE_RW (1ull << 1)
#define SPTE_US (1ull << 2)
#define SPTE_A (1ull << 5)
#define SPTE_NX (1ull << 63)
#define SPTE_ADDR 0x000ffffffffff000ull
#define SPTE_TABLE (SPTE_P | SPTE_RW | SPTE_US)

#define EFER_NXE (1ull << 11)
#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)

/* --- the software format of a shadow VM's SLAT tree ---------------------- */

#define VS_R (1ull << 0)
#define VS_W (1ull << 1)
#define VS_X (1ull << 2)

static u64 vs_make_table(u64 hpa)
{
	return (hpa & SPTE_ADDR) | VS_R | VS_W | VS_X;
}

static u64 vs_make_leaf(u64 hpa, unsigned perms)
{
	return (hpa & SPTE_ADDR) | (perms & SLAT_R ? VS_R : 0) |
	       (perms & SLAT_W ? VS_W : 0) | (perms & SLAT_X ? VS_X : 0);
}

static bool vs_present(u64 e)
{
	return e & (VS_R | VS_W | VS_X);
}

static u64 vs_address(u64 e)
{
	return e & SPTE_ADDR;
}

static unsigned vs_perms(u64 e)
{
	return (e & VS_R ? SLAT_R : 0) | (e & VS_W ? SLAT_W : 0) |
	       (e & VS_X ? SLAT_X : 0);
}

const struct slat_format shadow_vslat_format = {
	.name = "shadow",
	.make_table = vs_make_table,
	.make_leaf = vs_make_leaf,
	.present = vs_present,
	.address = vs_address,
	.perms = vs_perms,
	.accessed = 0,
};

/* --- shadow tables ------------------------------------------------------- */

static u64 *table_at(struct shadow *s, u64 hpa)
{
	return s->env.ptr(s->env.ctx, hpa);
}

/* The levels of a root's tree: a guest with paging off runs on a PAE
 * identity tree (the CPU cannot be in long mode with paging off), whose
 * top table is the 4-entry PDPT; every other root is 4-level. */
static unsigned root_levels(const struct shadow_root *r)
{
	return r->cr3 == SHADOW_PAGING_OFF ? 3 : 4;
}

/* The leaf slot for va under root r, creating tables if asked; NULL if one
 * is missing (or cannot be allocated).  PAE's PDPTEs hold no rights (those
 * bits are reserved there): present only. */
static u64 *leaf_slot(struct shadow *s, struct shadow_root *r, u64 va,
		      bool create)
{
	u64 table = r->hpa;

	for (unsigned level = root_levels(r); level > 1; level--) {
		u64 *e = &table_at(s, table)[(va >> (12 + 9 * (level - 1))) &
					     511];
		if (!(*e & SPTE_P)) {
			if (!create)
				return NULL;
			u64 t = s->env.alloc_table(s->env.ctx);
			if (!t)
				return NULL;
			bool pdpte = level == 3 && root_levels(r) == 3;
			*e = t | (pdpte ? SPTE_P : SPTE_TABLE);
			r->filled = true;
			s->tables++;
			if (s->tables > s->st.tables_max)
				s->st.tables_max = s->tables;
		}
		table = *e & SPTE_ADDR;
	}
	return &table_at(s, table)[(va >> 12) & 511];
}

/* Frees every table below the one at hpa (a table of `level`) and clears
 * its entries: a whole flush is this over every root, so the entries are
 * cleared as one string store (4 KiB), and a leaf table is not scanned. */
static void empty_table(struct shadow *s, u64 hpa, unsigned level)
{
	u64 *t = table_at(s, hpa);

	for (unsigned i = 0; level > 1 && i < 512; i++) {
		if (t[i] & SPTE_P) {
			empty_table(s, t[i] & SPTE_ADDR, level - 1);
			s->env.free_table(s->env.ctx, t[i] & SPTE_ADDR);
			s->tables--;
		}
	}
	__builtin_memset(t, 0, PAGE_SIZE);
}

/* Empties a root, unless nothing was built under it since it was last. */
static void empty_root(struct shadow *s, struct shadow_root *r)
{
	if (!r->filled)
		return;
	empty_table(s, r->hpa, root_levels(r));
	r->filled = false;
}

/* --- the reverse map ---------------------------------------------------- */

/* Forgets every entry (their leaves are gone, or their tables freed). */
static void rmap_reset(struct shadow *s)
{
	if (!s->rmap_cap)
		return;
	__builtin_memset(s->rmap_head, 0, s->g->npages * sizeof(u32));
	s->rmap_used = 1;	/* entry 0 ends a list */
}

/* The leaf at spte maps guest page gfn now. */
static void rmap_add(struct shadow *s, u64 gfn, u64 *spte)
{
	if (!s->rmap_cap)
		return;
	if (s->rmap_used == s->rmap_cap) {
		if (!s->rmap_lost)
			s->st.rmap_full++;
		s->rmap_lost = true;
		return;
	}
	u32 i = (u32)s->rmap_used++;
	s->rmap[i] = (struct shadow_rmap){ spte, s->rmap_head[gfn] };
	s->rmap_head[gfn] = i;
}

/*
 * Every leaf on gfn's list that still maps old_hpa goes.  An entry may be
 * stale (its leaf was dropped by INVLPG, or replaced): a leaf that maps
 * another frame now is left alone, and one that maps the same frame for
 * another page (a shared frame) is dropped too, which costs a fault and
 * nothing else.  Entries are never removed one by one: their pointers stay
 * valid until the tables go, and then the whole map is reset.
 */
void shadow_p2m_unmapped(struct shadow *s, u64 gpa, u64 old_hpa)
{
	u64 gfn = gpa / PAGE_SIZE;

	if (!s->rmap_cap || s->rmap_lost || gpa == SLAT_UNMAPPED_MANY ||
	    gfn >= s->g->npages) {
		s->p2m_drop_all = true;
		return;
	}
	for (u32 i = s->rmap_head[gfn]; i; i = s->rmap[i].next) {
		u64 *e = s->rmap[i].spte;
		if ((*e & SPTE_P) && (*e & SPTE_ADDR) == old_hpa) {
			*e = 0;
			s->st.rmap_drops++;
		}
	}
	s->rmap_head[gfn] = 0;
}

int shadow_sample(struct shadow *s, u64 gpa, u64 hpa)
{
	u64 gfn = gpa / PAGE_SIZE;
	bool used = false;

	if (!s->rmap_cap || s->rmap_lost || gfn >= s->g->npages)
		return -1;
	for (u32 i = s->rmap_head[gfn]; i; i = s->rmap[i].next) {
		u64 *e = s->rmap[i].spte;
		if ((*e & SPTE_P) && (*e & SPTE_ADDR) == hpa && (*e & SPTE_A)) {
			used = true;
			*e &= ~SPTE_A;
		}
	}
	s->st.samples++;
	s->st.samples_used += used;
	return used;
}

void shadow_p2m_flush(struct shadow *s)
{
	if (s->p2m_drop_all) {
		shadow_flush_all(s, SHADOW_FLUSH_P2M);
		return;
	}
	s->st.rmap_flushes++;
	s->env.flush(s->env.ctx);
}

/* --- setting up -------------------------------------------------------- */

/* The layout of meta: page marks, then the heads, then the entries. */
static u64 heads_offset(u64 npages)
{
	return ALIGN_UP(npages, 8);
}

static u64 entries_offset(u64 npages)
{
	return heads_offset(npages) + ALIGN_UP(npages * sizeof(u32), 8);
}

u64 shadow_meta_bytes(u64 npages, u64 rmap_cap)
{
	return rmap_cap ? entries_offset(npages) +
				  rmap_cap * sizeof(struct shadow_rmap)
			: heads_offset(npages);
}

int shadow_init(struct shadow *s, struct gmem *g, const struct slat_env *env,
		void *meta, u64 rmap_cap)
{
	u8 *m = meta;

	*s = (struct shadow){ .g = g, .env = *env, .gfn_flags = m, .cur = -1 };
	__builtin_memset(m, 0, shadow_meta_bytes(g->npages, rmap_cap));
	if (rmap_cap) {
		s->rmap_head = (u32 *)(m + heads_offset(g->npages));
		s->rmap = (struct shadow_rmap *)(m + entries_offset(g->npages));
		s->rmap_cap = rmap_cap;
		rmap_reset(s);
	}
	for (int i = 0; i < SHADOW_ROOTS; i++) {
		s->root[i].hpa = env->alloc_table(env->ctx);
		if (!s->root[i].hpa) {
			shadow_destroy(s);
			return -1;
		}
		s->tables++;
	}
	s->st.tables_max = s->tables;
	return 0;
}

void shadow_destroy(struct shadow *s)
{
	for (int i = 0; i < SHADOW_ROOTS; i++) {
		if (!s->root[i].hpa)
			continue;
		empty_table(s, s->root[i].hpa, root_levels(&s->root[i]));
		s->env.free_table(s->env.ctx, s->root[i].hpa);
		s->root[i].hpa = 0;
		s->tables--;
	}
	s->cur = -1;
}

void shadow_flush_all(struct shadow *s, enum shadow_flush_cause why)
{
	for (int i = 0; i < SHADOW_ROOTS; i++)
		empty_root(s, &s->root[i]);
	__builtin_memset(s->gfn_flags, 0, s->g->npages);
	rmap_reset(s);
	s->rmap_lost = false;
	s->p2m_drop_all = false;
	s->unsynced = false;
	s->st.flush_all++;
	s->st.flush_by[why]++;
	s->env.flush(s->env.ctx);
}

void shadow_hv_wrote(struct shadow *s, u64 gfn)
{
	/* Unsynced, a writable page may be a table too; the guest does not
	 * know to invalidate what the hypervisor's write changed. */
	if (gfn < s->g->npages &&
	    ((s->gfn_flags[gfn] & SH_PT) ||
	     (s->unsynced && (s->gfn_flags[gfn] & SH_WMAPPED))))
		shadow_flush_all(s, SHADOW_FLUSH_HV_WRITE);
}

/* Empties one root for reuse: the reverse map's pointers into its tables
 * die with them, so it forgets everything, and the next p2m change drops
 * every shadow (the other roots' leaves are no longer recorded). */
static void evict_root(struct shadow *s, struct shadow_root *r)
{
	if (!r->filled)
		return;
	empty_root(s, r);
	rmap_reset(s);
	s->rmap_lost = true;
}

/* The paging registers that change what a walk means. */
static bool same_mode(const struct gwalk_regs *a, const struct gwalk_regs *b)
{
	const u64 cr0 = CR0_PG | CR0_WP, efer = EFER_NXE | (1ull << 10);
	return (a->cr0 & cr0) == (b->cr0 & cr0) && a->cr4 == b->cr4 &&
	       (a->efer & efer) == (b->efer & efer);
}

u64 shadow_load(struct shadow *s, const struct gwalk_regs *regs)
{
	u64 key = regs->cr0 & CR0_PG ? regs->cr3 & GPTE_ADDR
				      : SHADOW_PAGING_OFF;
	int pick = -1;

	if (s->unsynced)	/* a CR3 load invalidates what it left */
		shadow_flush_all(s, SHADOW_FLUSH_INVALIDATE);
	for (int i = 0; i < SHADOW_ROOTS; i++)
		if (s->root[i].used && s->root[i].cr3 == key)
			pick = i;
	if (pick >= 0) {
		s->st.root_hits++;
	} else {
		/* An unused root, or the least recently loaded one. */
		s->st.root_misses++;
		pick = 0;
		for (int i = 1; i < SHADOW_ROOTS; i++)
			if (s->root[i].used < s->root[pick].used)
				pick = i;
		evict_root(s, &s->root[pick]);
		s->root[pick].cr3 = key;
		s->root[pick].regs = *regs;
	}
	/* The same tables read under other rules are other translations. */
	if (!same_mode(&s->root[pick].regs, regs)) {
		evict_root(s, &s->root[pick]);
		s->root[pick].regs = *regs;
	}
	s->root[pick].used = ++s->clock;
	s->cur = pick;
	return s->root[pick].hpa;
}

void shadow_invlpg(struct shadow *s, u64 va)
{
	s->st.invlpg++;
	if (s->unsynced) {
		shadow_flush_all(s, SHADOW_FLUSH_INVALIDATE);
		return;
	}
	if (s->cur < 0)
		return;
	u64 *e = leaf_slot(s, &s->root[s->cur], va, false);
	if (e && *e) {
		*e = 0;
		s->env.flush(s->env.ctx);
	}
}

bool shadow_translate(struct shadow *s, u64 va, u64 *hpa)
{
	if (s->cur < 0)
		return false;
	const u64 *e = leaf_slot(s, &s->root[s->cur], va, false);
	if (!e || !(*e & SPTE_P))
		return false;
	*hpa = (*e & SPTE_ADDR) | (va & (PAGE_SIZE - 1));
	return true;
}

/* --- the fault ----------------------------------------------------------- */

static int guest_read(void *ctx, u64 gpa, u64 *value)
{
	return gmem_read(ctx, gpa, value, sizeof(*value));
}

static int guest_write(void *ctx, u64 gpa, u64 value)
{
	return gmem_write(ctx, gpa, &value, sizeof(value), GMEM_BY_HV);
}

/*
 * Marks every page the walk read a table from (SH_PT): the shadows derived
 * from it stay true while no shadow leaf lets the guest write it.
 *
 * A write the guest's own tables allow to a marked page (the guest changes
 * one of its page tables) unprotects that page: the leaf for the write is
 * writable, and the shadows are "unsynced".  Leaves derived from a table
 * the guest may now change behind our back can go stale, exactly as TLB
 * entries may after a change of a present entry, which the guest must
 * follow with INVLPG or a CR3 load (SDM Vol. 3A 4.10.4): so until the next
 * whole flush every INVLPG and CR3 load drops every shadow, and walks
 * through a writable table leave it writable.  A write to a table of the
 * write's own walk (the PML4 through a physmap the PML4 provides) is the
 * same, or the write could never complete; and so is a walk through a
 * page some leaf maps writable (a page the guest wrote as data, or as a
 * table nobody had walked since the last flush, now read as a table).  So
 * one guest page-table edit costs one whole flush, at the invalidation it
 * owes, instead of one at the write and one more at the next walk through
 * that table.
 */
static void protect_walk(struct shadow *s, const struct gwalk *w, u64 gfn,
			 bool write)
{
	bool pt_write = write && (s->gfn_flags[gfn] & SH_PT);

	if (pt_write) {
		s->st.pt_writes++;
		s->gfn_flags[gfn] &= (u8)~SH_PT;
		s->unsynced = true;
	}
	for (unsigned i = 0; i < w->levels; i++) {
		u64 t = w->table[i] / PAGE_SIZE;
		bool self = write && t == gfn;
		bool wmapped = !(s->gfn_flags[t] & SH_PT) &&
			       (s->gfn_flags[t] & SH_WMAPPED);
		if (self || wmapped) {	/* stays writable */
			s->unsynced = true;
			s->st.self_writes += self;
			continue;
		}
		s->gfn_flags[t] |= SH_PT;
	}
}

/* The frame behind gfn for the access, composed with the p2m as a SLAT
 * violation would be (mm/gmem.c decides; its SLAT tree records it). */
static enum shadow_verdict back(struct shadow *s, u64 gfn, u32 access,
				u64 *hpa, unsigned *perms, const char **why)
{
	struct gmem *g = s->g;
	unsigned need = SLAT_R | (access & PFERR_W ? SLAT_W : 0) |
			(access & PFERR_I ? SLAT_X : 0);
	unsigned how = access & PFERR_W ? GMEM_WRITE :
		       access & PFERR_I ? GMEM_EXEC : GMEM_READ;
	struct gmem_answer a;
	u64 e;
	bool present = slat_lookup(&g->slat, gfn * PAGE_SIZE, &e);

	if (present && (g->slat.fmt->perms(e) & need) == need) {
		*hpa = g->slat.fmt->address(e);
		*perms = g->slat.fmt->perms(e);
		return SHADOW_FIXED;
	}
	switch (gmem_fault(g, gfn, how, present, &a)) {
	case GMEM_MAP:
		if (gmem_map(g, gfn, &a) < 0) {
			*why = "out of memory for the p2m's tables";
			return SHADOW_BAD;
		}
		*hpa = a.hpa;
		*perms = a.perms;
		return SHADOW_FIXED;
	case GMEM_NO_FRAME:
		return SHADOW_NO_FRAME;
	case GMEM_BAD_FAULT:
		break;
	}
	*why = "a permission fault the p2m cannot explain";
	return SHADOW_BAD;
}

enum shadow_verdict shadow_fault(struct shadow *s, u64 va, u32 error_code,
				 u32 *error, const char **why)
{
	const struct gwalk_env genv = { guest_read, guest_write, s->g };
	u32 access = error_code & (PFERR_W | PFERR_U | PFERR_I);
	struct gwalk w;
	u64 hpa;
	unsigned perms;

	s->st.faults++;
	if (s->cur < 0) {
		*why = "a page fault with no shadow root loaded";
		return SHADOW_BAD;
	}
	struct shadow_root *r = &s->root[s->cur];
	if ((r->regs.cr0 & CR0_PG) && !(r->regs.cr0 & CR0_WP)) {
		*why = "the guest cleared CR0.WP (not shadowed)";
		return SHADOW_BAD;
	}
	switch (gwalk(&r->regs, va, access | GWALK_SET_AD, &genv, &w)) {
	case GWALK_OK:
		break;
	case GWALK_FAULT:
		s->st.reflected++;
		*error = w.error;
		return SHADOW_REFLECT;
	case GWALK_BAD:
		*why = w.why;
		return SHADOW_BAD;
	}
	u64 gfn = w.gpa / PAGE_SIZE;
	s->fault_gpa = w.gpa;
	if (gfn >= s->g->npages) {
		*why = "the guest's tables map a GPA beyond its RAM";
		return SHADOW_BAD;
	}
	enum shadow_verdict v = back(s, gfn, access, &hpa, &perms, why);
	if (v == SHADOW_NO_FRAME)
		s->st.no_frame++;
	if (v != SHADOW_FIXED)
		return v;
	bool write = access & PFERR_W;
	protect_walk(s, &w, gfn, write);

	bool dirty = write || !w.levels ||
		     (w.entry[w.levels - 1] & GPTE_D);
	if (write && w.levels && !(w.entry[w.levels - 1] & GPTE_D))
		s->st.dirty_faults++;
	bool writable = w.writable && (perms & SLAT_W) && dirty &&
			!(s->gfn_flags[gfn] & SH_PT);
	bool nx = (r->regs.efer & EFER_NXE) && !(w.exec && (perms & SLAT_X));
	u64 *slot = leaf_slot(s, r, va, true);
	if (!slot) {
		*why = "out of memory for shadow tables";
		return SHADOW_BAD;
	}
	u64 old = *slot;
	*slot = (hpa & SPTE_ADDR) | SPTE_P | (writable ? SPTE_RW : 0) |
		(w.user ? SPTE_US : 0) | (nx ? SPTE_NX : 0);
	if (writable)
		s->gfn_flags[gfn] |= SH_WMAPPED;
	rmap_add(s, gfn, slot);
	/* A leaf that was there granted less (that is why the CPU faulted),
	 * or pointed elsewhere: the CPU may cache it. */
	if (old & SPTE_P)
		s->env.flush(s->env.ctx);
	s->st.fixed++;
	return SHADOW_FIXED;
}

/* --- the self-check ------------------------------------------------------ */

struct check {
	struct shadow *s;
	const struct shadow_root *r;
	gmem_report_fn *report;
	void *ctx;
	u64 bad, leaves;
};

static void check_leaf(struct check *c, u64 va, u64 e)
{
	struct shadow *s = c->s;
	const struct gwalk_env genv = { guest_read, guest_write, s->g };
	struct gwalk w;
	u64 hpa = e & SPTE_ADDR;

	c->leaves++;
	if (gwalk(&c->r->regs, va, 0, &genv, &w) != GWALK_OK) {
		c->report(c->ctx, "shadow leaf for GVA 0x%llx (HPA 0x%llx): the "
			  "guest's tables do not map it (%s)",
			  (unsigned long long)va, (unsigned long long)hpa,
			  w.why);
		c->bad++;
		return;
	}
	u64 gfn = w.gpa / PAGE_SIZE;
	enum p2m_state st = gfn < s->g->npages ?
			    p2m_state(&s->g->p2m, gfn) : P2M_UNPOPULATED;
	bool backed = (st == P2M_PRIVATE || st == P2M_SHARED) &&
		      p2m_value(&s->g->p2m, gfn) == hpa;
	bool rw = e & SPTE_RW, us = e & SPTE_US, x = !(e & SPTE_NX);
	bool dirty = !w.levels || (w.entry[w.levels - 1] & GPTE_D);
	const char *what =
		!backed ? "maps a frame the p2m does not give that page" :
		rw && !w.writable ? "is writable, the guest's entry is not" :
		rw && st != P2M_PRIVATE ? "is writable to a shared frame" :
		rw && (s->gfn_flags[gfn] & SH_PT) ?
			"is writable to a guest page table" :
		rw && !dirty ? "is writable before the guest's dirty flag" :
		us && !w.user ? "is user, the guest's entry is supervisor" :
		x && !w.exec && (c->r->regs.efer & EFER_NXE) ?
			"is executable, the guest's entry is not" : NULL;
	if (what) {
		c->report(c->ctx, "shadow leaf for GVA 0x%llx -> HPA 0x%llx "
			  "(GPA 0x%llx, p2m %s) %s",
			  (unsigned long long)va, (unsigned long long)hpa,
			  (unsigned long long)w.gpa, p2m_state_name(st), what);
		c->bad++;
	}
}

static void check_table(struct check *c, u64 hpa, unsigned level, u64 base)
{
	const u64 *t = table_at(c->s, hpa);

	for (u64 i = 0; i < 512; i++) {
		if (!(t[i] & SPTE_P))
			continue;
		u64 va = base | i << (12 + 9 * (level - 1));
		if (level == 4 && (va >> 47))
			va |= 0xffff000000000000ull;	/* canonical */
		if (level > 1)
			check_table(c, t[i] & SPTE_ADDR, level - 1, va);
		else
			check_leaf(c, va, t[i]);
	}
}

u64 shadow_check(struct shadow *s, gmem_report_fn *report, void *ctx,
		 u64 *leaves)
{
	struct check c = { .s = s, .report = report, .ctx = ctx };

	for (int i = 0; i < SHADOW_ROOTS; i++) {
		if (!s->root[i].used)
			continue;
		c.r = &s->root[i];
		check_table(&c, s->root[i].hpa, root_levels(&s->root[i]), 0);
	}
	if (leaves)
		*leaves = c.leaves;
	return c.bad;
}
