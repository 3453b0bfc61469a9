/*
 * slat.c - four-level second-level page tables, format-neutral.
 *
 * EPT and NPT share the shape of x86-64 paging: four levels of 512 entries
 * indexed by guest-physical address bits 47:39, 38:30, 29:21 and 20:12.
 * Only the entry bits differ, and those come from struct slat_format.  We
 * only ever create 4 KiB leaves, so every walk is four steps.
 *
 * The tables are a cache of the p2m (mm/p2m.c): slat_drop() may throw any
 * part away, and the next SLAT violations rebuild it.
 *
 * Flushing is owed, not done: every removal or weakening of a present
 * entry sets s->flush_owed, and a table page taken out of the tree goes on
 * s->stale_tables instead of back to its allocator, because the CPU's
 * paging-structure caches may still walk through it.  slat_flush() calls
 * the backend's flush and only then frees those pages.  The list is linked
 * through entry 0 of each stale page: a page address has bits 11:0 clear,
 * which every format reads as a non-present entry.
 */
#include "slat.h"

#define LEVELS 4
#define ENTRIES 512

static unsigned index_at(u64 gpa, int level)	/* level 4 = top */
{
	return (gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

static u64 *table(const struct slat *s, u64 hpa)
{
	return s->env.ptr(s->env.ctx, hpa);
}

int slat_init(struct slat *s, const struct slat_format *fmt,
	      const struct slat_env *env)
{
	*s = (struct slat){ .fmt = fmt, .env = *env };
	s->root = env->alloc_table(env->ctx);
	if (!s->root)
		return -1;
	s->tables = 1;
	return 0;
}

/* The level-1 entry for gpa, creating tables if create; NULL if absent. */
static u64 *walk(struct slat *s, u64 gpa, bool create)
{
	u64 *t = table(s, s->root);

	for (int level = LEVELS; level > 1; level--) {
		u64 *e = &t[index_at(gpa, level)];
		if (!s->fmt->present(*e)) {
			if (!create)
				return NULL;
			u64 hpa = s->env.alloc_table(s->env.ctx);
			if (!hpa)
				return NULL;
			s->tables++;
			*e = s->fmt->make_table(hpa);
		}
		t = table(s, s->fmt->address(*e));
	}
	return &t[index_at(gpa, 1)];
}

/* A present leaf at gpa (old) was removed or weakened. */
static void owe_flush(struct slat *s, u64 gpa, u64 old)
{
	s->flush_owed = true;
	if (s->env.unmapped)
		s->env.unmapped(s->env.ctx, gpa, s->fmt->address(old));
}

int slat_map(struct slat *s, u64 gpa, u64 hpa, unsigned perms)
{
	u64 *e = walk(s, gpa, true);

	if (!e)
		return -1;
	/* Count by what the format calls present: an EPT leaf without any
	 * permission is not a mapping at all. */
	u64 old = *e;
	*e = s->fmt->make_leaf(hpa, perms);
	s->leaves += (u64)s->fmt->present(*e) - (u64)s->fmt->present(old);
	/* A TLB may hold the old translation: another frame, or a right
	 * this entry no longer grants, must not outlive the change. */
	if (s->fmt->present(old) &&
	    (s->fmt->address(old) != s->fmt->address(*e) ||
	     (s->fmt->perms(old) & ~s->fmt->perms(*e))))
		owe_flush(s, gpa, old);
	return 0;
}

bool slat_unmap(struct slat *s, u64 gpa)
{
	u64 *e = walk(s, gpa, false);

	if (!e || !s->fmt->present(*e))
		return false;
	u64 old = *e;
	*e = 0;
	s->leaves--;
	owe_flush(s, gpa, old);
	return true;
}

bool slat_test_and_clear_accessed(struct slat *s, u64 gpa)
{
	u64 *e = walk(s, gpa, false);

	if (!e || !s->fmt->present(*e))
		return false;
	s->flush_owed = true;	/* a TLB entry would hide the next access */
	if (!s->fmt->accessed) {
		int used = s->env.sample ? s->env.sample(s->env.ctx, gpa,
							 s->fmt->address(*e))
					 : -1;
		if (used >= 0)
			return used;
		u64 old = *e;
		*e = 0;
		s->leaves--;
		owe_flush(s, gpa, old);
		return true;
	}
	bool was = *e & s->fmt->accessed;
	*e &= ~s->fmt->accessed;
	return was;
}

bool slat_lookup(const struct slat *s, u64 gpa, u64 *entry)
{
	u64 *e = walk((struct slat *)s, gpa, false);

	if (!e || !s->fmt->present(*e))
		return false;
	*entry = *e;
	return true;
}

static void each_leaf(const struct slat *s, u64 hpa, int level, u64 base,
		      void (*fn)(void *, u64, u64), void *ctx)
{
	const u64 *t = table(s, hpa);

	for (unsigned i = 0; i < ENTRIES; i++) {
		if (!s->fmt->present(t[i]))
			continue;
		u64 gpa = base | ((u64)i << (12 + 9 * (level - 1)));
		if (level == 1)
			fn(ctx, gpa, t[i]);
		else
			each_leaf(s, s->fmt->address(t[i]), level - 1, gpa, fn,
				  ctx);
	}
}

void slat_for_each_leaf(const struct slat *s,
			void (*fn)(void *ctx, u64 gpa, u64 entry), void *ctx)
{
	each_leaf(s, s->root, LEVELS, 0, fn, ctx);
}

/* Takes a table page out of the tree: it waits for the next flush. */
static void retire_table(struct slat *s, u64 hpa)
{
	u64 *t = table(s, hpa);

	t[0] = s->stale_tables;	/* bits 11:0 clear: not present */
	s->stale_tables = hpa;
	s->nstale_tables++;
	s->tables--;
	s->flush_owed = true;
	if (s->env.unmapped)
		s->env.unmapped(s->env.ctx, SLAT_UNMAPPED_MANY, 0);
}

/* Retires the table at hpa (a level-`level` table) and everything below. */
static void free_tree(struct slat *s, u64 hpa, int level)
{
	u64 *t = table(s, hpa);

	for (unsigned i = 0; i < ENTRIES; i++) {
		if (!s->fmt->present(t[i]))
			continue;
		if (level > 1)
			free_tree(s, s->fmt->address(t[i]), level - 1);
		else
			s->leaves--;
		t[i] = 0;
	}
	retire_table(s, hpa);
}

/* Drops [gpa, end) within the level-`level` table t covering base.. */
static void drop_range(struct slat *s, u64 *t, int level, u64 base, u64 gpa,
		       u64 end)
{
	u64 span = 1ull << (12 + 9 * (level - 1));

	for (unsigned i = 0; i < ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;
		if (hi <= gpa || lo >= end || !s->fmt->present(t[i]))
			continue;
		if (level == 1) {
			u64 old = t[i];
			t[i] = 0;
			s->leaves--;
			owe_flush(s, lo, old);
		} else if (gpa <= lo && hi <= end) {
			free_tree(s, s->fmt->address(t[i]), level - 1);
			t[i] = 0;
		} else {
			drop_range(s, table(s, s->fmt->address(t[i])),
				   level - 1, lo, gpa, end);
		}
	}
}

void slat_drop(struct slat *s, u64 gpa, u64 size)
{
	drop_range(s, table(s, s->root), LEVELS, 0, gpa, gpa + size);
}

void slat_flush(struct slat *s)
{
	if (!s->flush_owed)
		return;
	s->env.flush(s->env.ctx);
	s->flush_owed = false;
	s->flushes++;
	while (s->stale_tables) {
		u64 hpa = s->stale_tables;
		u64 *t = table(s, hpa);
		s->stale_tables = t[0];
		t[0] = 0;	/* back to a zeroed page */
		s->env.free_table(s->env.ctx, hpa);
		s->nstale_tables--;
	}
}

void slat_destroy(struct slat *s)
{
	if (s->root)
		free_tree(s, s->root, LEVELS);
	s->root = 0;
	slat_flush(s);
}
