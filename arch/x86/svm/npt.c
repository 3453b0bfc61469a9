/*
 * npt.c - the nested page table entry format (AMD APM Vol. 2, 15.25): the
 * legacy long-mode page-table format, walked as user accesses, so every
 * level has U/S set; no-execute is bit 63 (the host's EFER.NXE is on).
 * Pure logic: mm/slat.c builds the tables through it, and
 * tests/test_slat.c tests it on the host.
 */
#include "npt.h"

#define NPT_P (1ull << 0)
#define NPT_RW (1ull << 1)
#define NPT_US (1ull << 2)	/* NPT walks are user accesses: always set */
#define NPT_A (1ull << 5)	/* accessed: set by the CPU's nested walk */
#define NPT_NX (1ull << 63)
#define NPT_ADDR 0x000ffffffffff000ull

static u64 npt_make_table(u64 hpa)
{
	return hpa | NPT_P | NPT_RW | NPT_US;
}

static u64 npt_make_leaf(u64 hpa, unsigned perms)
{
	u64 e = hpa | NPT_P | NPT_US;

	if (perms & SLAT_W)
		e |= NPT_RW;
	if (!(perms & SLAT_X))
		e |= NPT_NX;
	return e;
}

static bool npt_present(u64 e)
{
	return e & NPT_P;
}

static u64 npt_address(u64 e)
{
	return e & NPT_ADDR;
}

static unsigned npt_perms(u64 e)
{
	if (!(e & NPT_P))
		return 0;
	return SLAT_R | (e & NPT_RW ? SLAT_W : 0) | (e & NPT_NX ? 0 : SLAT_X);
}

const struct slat_format npt_format = {
	.name = "NPT",
	.make_table = npt_make_table,
	.make_leaf = npt_make_leaf,
	.present = npt_present,
	.address = npt_address,
	.perms = npt_perms,
	.accessed = NPT_A,
};
