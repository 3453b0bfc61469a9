/*
 * p2m.c - the per-VM guest-page table of truth.
 *
 * Every guest page is in exactly one state; the counts per state always add
 * up to npages.  The SLAT tables (EPT/NPT) are derived from this table and
 * may be dropped and rebuilt from it at any time, so no other structure may
 * hold the only copy of where a guest page lives.
 */
#include "p2m.h"

void p2m_init(struct p2m *p, u64 *storage, u64 npages)
{
	*p = (struct p2m){ .entries = storage, .npages = npages };
	for (u64 i = 0; i < npages; i++)
		storage[i] = 0;
	p->count[P2M_UNPOPULATED] = npages;
}

void p2m_set(struct p2m *p, u64 gfn, enum p2m_state state, u64 value)
{
	p->count[p2m_state(p, gfn)]--;
	p->entries[gfn] = (value & P2M_VALUE_MASK) | (u64)state;
	p->count[state]++;
}

const char *p2m_state_name(enum p2m_state s)
{
	static const char *const names[P2M_STATE_COUNT] = {
		"unpopulated", "private", "shared", "swapped", "ballooned",
	};
	return (unsigned)s < P2M_STATE_COUNT ? names[s] : "?";
}
