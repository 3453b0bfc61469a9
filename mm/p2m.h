/*
 * p2m.h - the per-VM physical-to-machine map: one entry per guest page, the
 * single source of truth about guest-physical memory (compare Xen's p2m).
 * Pure logic, host-tested (tests/test_p2m.c).
 */
#ifndef MM_P2M_H
#define MM_P2M_H

#include "../hv/types.h"

enum p2m_state {
	P2M_UNPOPULATED = 0,	/* demand-zero: no frame yet */
	P2M_PRIVATE,		/* backed by a frame this VM owns */
	P2M_SHARED,		/* backed by a shared frame, read-only */
	P2M_SWAPPED,		/* contents in a swap slot */
	P2M_BALLOONED,		/* handed back by the guest's balloon */
	P2M_STATE_COUNT
};

/*
 * An entry is one u64: bits 2:0 the state, bits 63:12 the frame's host
 * physical address (PRIVATE, SHARED) or the swap slot shifted left by 12
 * (SWAPPED).  An all-zero entry is UNPOPULATED, so a zeroed table is a
 * fresh VM.
 */
#define P2M_STATE_MASK 0x7ull
#define P2M_VALUE_MASK (~0xfffull)
/* A scratch bit for one operation over a list of gfns (finding duplicates
 * without allocating); always clear between operations. */
#define P2M_MARK 0x8ull
/* Set once the page has been mapped in the SLAT since it was populated:
 * a later violation on it means the SLAT was dropped and is rebuilt.
 * p2m_set() clears it, as it does every flag. */
#define P2M_MAPPED 0x10ull

struct p2m {
	u64 *entries;
	u64 npages;
	u64 count[P2M_STATE_COUNT];	/* entries in each state */
};

/* storage holds npages zeroed u64s. */
void p2m_init(struct p2m *p, u64 *storage, u64 npages);

static inline bool p2m_marked(const struct p2m *p, u64 gfn)
{
	return p->entries[gfn] & P2M_MARK;
}

static inline void p2m_mark(struct p2m *p, u64 gfn, bool on)
{
	p->entries[gfn] = on ? p->entries[gfn] | P2M_MARK
			     : p->entries[gfn] & ~P2M_MARK;
}

static inline bool p2m_flag(const struct p2m *p, u64 gfn, u64 flag)
{
	return p->entries[gfn] & flag;
}

static inline void p2m_set_flag(struct p2m *p, u64 gfn, u64 flag)
{
	p->entries[gfn] |= flag;
}

static inline enum p2m_state p2m_state(const struct p2m *p, u64 gfn)
{
	return (enum p2m_state)(p->entries[gfn] & P2M_STATE_MASK);
}

/* The frame (PRIVATE/SHARED) or slot << 12 (SWAPPED) of an entry. */
static inline u64 p2m_value(const struct p2m *p, u64 gfn)
{
	return p->entries[gfn] & P2M_VALUE_MASK;
}

/* Sets an entry, keeping the per-state counts exact. */
void p2m_set(struct p2m *p, u64 gfn, enum p2m_state state, u64 value);

const char *p2m_state_name(enum p2m_state s);

#endif
