/*
 * gwalk.c - the guest's own page-table walk (mm/gwalk.h).
 *
 * The rights of a translation are those of every entry on its path
 * (SDM 4.6.1): a user access needs U/S at every level; a write needs R/W
 * at every level, except that a supervisor write ignores R/W when CR0.WP
 * is clear; an instruction fetch fails if any entry has NX (with
 * EFER.NXE; without it bit 63 is reserved), and a supervisor fetch from a
 * user page fails with CR4.SMEP.  SMAP (which depends on RFLAGS.AC) and
 * protection keys are not modelled: the guests memvisor runs leave them
 * off.
 */
#include "gwalk.h"

#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define EFER_NXE (1ull << 11)
#define EFER_LMA (1ull << 10)

static enum gwalk_result bad(struct gwalk *w, const char *why)
{
	w->why = why;
	return GWALK_BAD;
}

static enum gwalk_result fault(struct gwalk *w, u32 error, const char *why)
{
	w->error = error;
	w->why = why;
	return GWALK_FAULT;
}

/* The rights the path grants, checked against the access. */
static enum gwalk_result check_rights(const struct gwalk_regs *r,
				      unsigned access, struct gwalk *w,
				      u32 error)
{
	bool write = access & PFERR_W, user = access & PFERR_U;
	bool fetch = access & PFERR_I;

	if (user && !w->user)
		return fault(w, error | PFERR_P, "a user access to a "
			     "supervisor page");
	if (write && !w->writable && (user || (r->cr0 & CR0_WP)))
		return fault(w, error | PFERR_P, "a write to a read-only page");
	if (fetch && !w->exec)
		return fault(w, error | PFERR_P, "an instruction fetch from a "
			     "no-execute page");
	if (fetch && !user && w->user && (r->cr4 & CR4_SMEP))
		return fault(w, error | PFERR_P, "a supervisor fetch from a "
			     "user page (SMEP)");
	return GWALK_OK;
}

/* Sets the accessed flags of the path and, for a write, the leaf's dirty
 * flag, where they are not set yet. */
static enum gwalk_result set_ad(const struct gwalk_env *env, unsigned access,
				struct gwalk *w)
{
	for (unsigned i = 0; i < w->levels; i++) {
		bool leaf = i + 1 == w->levels;
		u64 want = GPTE_A | (leaf && (access & PFERR_W) ? GPTE_D : 0);
		if ((w->entry[i] & want) == want)
			continue;
		if (env->write(env->ctx, w->table[i], w->entry[i] | want) < 0)
			return bad(w, "cannot set an accessed or dirty flag: "
				   "the entry is outside RAM");
	}
	return GWALK_OK;
}

enum gwalk_result gwalk(const struct gwalk_regs *r, u64 va, unsigned access,
			const struct gwalk_env *env, struct gwalk *w)
{
	bool nxe = r->efer & EFER_NXE;
	/* The I/D bit is reported only where fetches can be refused. */
	u32 error = access & (PFERR_W | PFERR_U |
			      (nxe || (r->cr4 & CR4_SMEP) ? PFERR_I : 0));
	u64 table = r->cr3 & GPTE_ADDR;

	*w = (struct gwalk){ .writable = true, .user = true, .exec = true };
	if (!(r->cr0 & CR0_PG)) {
		w->gpa = va;
		w->page_size = PAGE_SIZE;
		return GWALK_OK;
	}
	if (!(r->efer & EFER_LMA))
		return bad(w, "32-bit or PAE paging outside long mode");
	if (r->cr4 & CR4_LA57)
		return bad(w, "5-level paging");
	if ((u64)((s64)(va << 16) >> 16) != va)
		return bad(w, "a non-canonical address (#GP, not #PF)");

	for (unsigned level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1), i = 4 - level;
		u64 at = table + ((va >> shift) & 511) * 8, e;

		if (env->read(env->ctx, at, &e) < 0)
			return bad(w, "a page table outside RAM");
		w->table[i] = at;
		w->entry[i] = e;
		w->levels = i + 1;
		if (!(e & GPTE_P)) {
			static const char *const missing[4] = {
				"the PML4 entry is not present",
				"the PDPT entry is not present",
				"the PD entry is not present",
				"the PT entry is not present",
			};
			return fault(w, error, missing[i]);
		}
		if ((e & GPTE_NX) && !nxe)
			return fault(w, error | PFERR_P | PFERR_RSVD,
				     "NX set with EFER.NXE clear (reserved)");
		if ((e & GPTE_PS) && level == 4)
			return fault(w, error | PFERR_P | PFERR_RSVD,
				     "PS set in a PML4 entry (reserved)");
		w->writable = w->writable && (e & GPTE_RW);
		w->user = w->user && (e & GPTE_US);
		w->exec = w->exec && !(nxe && (e & GPTE_NX));
		if (level == 1 || (e & GPTE_PS)) {
			u64 size = 1ull << shift;
			w->page_size = size;
			w->gpa = (e & GPTE_ADDR & ~(size - 1)) | (va & (size - 1));
			enum gwalk_result res = check_rights(r, access, w, error);
			if (res == GWALK_OK && (access & GWALK_SET_AD))
				res = set_ad(env, access, w);
			return res;
		}
		table = e & GPTE_ADDR;
	}
	return bad(w, "unreachable");
}
