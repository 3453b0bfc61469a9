/*
 * ept_format.c - the EPT entry format mm/slat.c builds with (bits in
 * ept_format.h).  Tables get R|W|X so that the leaf alone decides an
 * access; leaves get the write-back memory type.  present() and perms()
 * read bits 2:0 only and address() masks bits 51:12, so the accessed and
 * dirty bits the CPU sets never confuse the core's self-check.
 *
 * Whether X alone is allowed depends on the CPU, so there are two formats,
 * and ept_format_for() picks by the capability bit.
 */
#include "ept_format.h"

static u64 ept_make_table(u64 table_hpa)
{
	return (table_hpa & EPT_ADDR_MASK) | EPT_RWX;
}

/* SLAT_R/W/X into EPT's bits.  No permission at all is no entry (0); so
 * is what this CPU's EPT cannot express, and the misuse hook is told. */
static u64 make_leaf(u64 hpa, unsigned perms, bool exec_only)
{
	u64 e = (hpa & EPT_ADDR_MASK) | (MEMTYPE_WB << EPT_MEMTYPE_SHIFT);

	if (!(perms & SLAT_RWX))
		return 0;
	if ((perms & SLAT_W) && !(perms & SLAT_R)) {
		ept_format_misuse("write without read", hpa, perms);
		return 0;
	}
	if (perms == SLAT_X && !exec_only) {
		ept_format_misuse("execute-only, which this CPU does not "
				  "support", hpa, perms);
		return 0;
	}
	if (perms & SLAT_R)
		e |= EPT_R;
	if (perms & SLAT_W)
		e |= EPT_W;
	if (perms & SLAT_X)
		e |= EPT_X;
	return e;
}

static u64 ept_make_leaf(u64 hpa, unsigned perms)
{
	return make_leaf(hpa, perms, false);
}

static u64 ept_make_leaf_exec_only(u64 hpa, unsigned perms)
{
	return make_leaf(hpa, perms, true);
}

static bool ept_present(u64 e)
{
	return e & EPT_RWX;
}

static u64 ept_address(u64 e)
{
	return e & EPT_ADDR_MASK;
}

static unsigned ept_perms(u64 e)
{
	return ((e & EPT_R) ? SLAT_R : 0) | ((e & EPT_W) ? SLAT_W : 0) |
	       ((e & EPT_X) ? SLAT_X : 0);
}

/* Four formats: execute-only leaves or not, accessed flags or not (the
 * EPTP enables them where IA32_VMX_EPT_VPID_CAP allows, ept.c). */
#define EPT_FORMAT(leaf, ad)                                                \
	{ .name = "EPT", .make_table = ept_make_table, .make_leaf = (leaf),  \
	  .present = ept_present, .address = ept_address,                   \
	  .perms = ept_perms, .accessed = (ad) }

static const struct slat_format ept_formats[2][2] = {
	{ EPT_FORMAT(ept_make_leaf, 0),
	  EPT_FORMAT(ept_make_leaf, EPT_ACCESSED) },
	{ EPT_FORMAT(ept_make_leaf_exec_only, 0),
	  EPT_FORMAT(ept_make_leaf_exec_only, EPT_ACCESSED) },
};

const struct slat_format *ept_format_for(u64 ept_vpid_cap)
{
	return &ept_formats[!!(ept_vpid_cap & EPT_CAP_EXEC_ONLY)]
			   [!!(ept_vpid_cap & EPT_CAP_AD)];
}

const char *ept_entry_problem(u64 e, int level, u64 ept_vpid_cap)
{
	u64 type = (e & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT;

	if ((e & EPT_W) && !(e & EPT_R))
		return "write without read";
	if ((e & EPT_RWX) == EPT_X && !(ept_vpid_cap & EPT_CAP_EXEC_ONLY))
		return "execute-only, not supported";
	if (level == 1 || (e & EPT_LARGE)) {
		/* 2, 3 and 7 are reserved memory types (Table 29-6). */
		if (type == 2 || type == 3 || type == 7)
			return "reserved memory type";
	} else if (e & (EPT_MEMTYPE_MASK | EPT_IGNORE_PAT | EPT_LARGE)) {
		return "reserved bits 7:3 set in a table entry";
	}
	return "";
}
