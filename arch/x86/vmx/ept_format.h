/*
 * ept_format.h - Intel's EPT entry format (arch/x86/vmx/ept_format.c), a
 * pure function of IA32_VMX_EPT_VPID_CAP: no VMX state, no console, so the
 * host unit tests build the very format the backend uses
 * (tests/test_slat.c).
 *
 * Entry bits (SDM Vol. 3C 29.3.2, Tables 29-1..29-6; 28.3 in newer
 * editions):
 *
 *   bit 0 R, 1 W, 2 X         an entry with none of the three is not
 *                             present; W without R is a misconfiguration,
 *                             and so is X alone unless the CPU supports
 *                             execute-only translations
 *   bits 5:3 memory type      leaves only (reserved, zero, in tables):
 *                             6 = write-back, what guest RAM is
 *   bit 6 ignore PAT          0: the guest's PAT still combines
 *   bit 7                     large page (never set: 4 KiB leaves only)
 *   bits 8/9 accessed/dirty   set by the CPU when the EPTP enables A/D
 *   bits 51:12                the next table's or the page's address
 */
#ifndef ARCH_X86_VMX_EPT_FORMAT_H
#define ARCH_X86_VMX_EPT_FORMAT_H

#include "../../../mm/slat.h"

#define EPT_R			(1ull << 0)
#define EPT_W			(1ull << 1)
#define EPT_X			(1ull << 2)
#define EPT_RWX			(EPT_R | EPT_W | EPT_X)
#define EPT_MEMTYPE_SHIFT	3
#define EPT_MEMTYPE_MASK	(7ull << EPT_MEMTYPE_SHIFT)
#define EPT_IGNORE_PAT		(1ull << 6)
#define EPT_LARGE		(1ull << 7)
#define EPT_ACCESSED		(1ull << 8)
#define EPT_DIRTY		(1ull << 9)
#define EPT_ADDR_MASK		0x000ffffffffff000ull

/* Memory types (SDM Vol. 3A 11.3 / Table 11-2), in leaves and the EPTP. */
#define MEMTYPE_UC		0ull
#define MEMTYPE_WB		6ull

/* IA32_VMX_EPT_VPID_CAP bit 0 (SDM Vol. 3D Appendix A.10): execute-only
 * EPT translations are supported. */
#define EPT_CAP_EXEC_ONLY	(1ull << 0)
/* Bit 21: accessed and dirty flags for EPT (EPTP bit 6 enables them). */
#define EPT_CAP_AD		(1ull << 21)

/* The entry format for a CPU whose IA32_VMX_EPT_VPID_CAP is cap; the same
 * cap always gives the same format. */
const struct slat_format *ept_format_for(u64 ept_vpid_cap);

/* What would make the CPU call entry e of a level-`level` table (1 = the
 * leaf table) a misconfiguration (SDM 29.3.3.1), or "" if nothing does. */
const char *ept_entry_problem(u64 e, int level, u64 ept_vpid_cap);

/*
 * make_leaf() calls this for permissions the format cannot express (write
 * without read; execute alone on a CPU without execute-only support) and
 * then returns 0, an entry that is not present, rather than a leaf the CPU
 * would take for a misconfiguration.  It is a bug in the caller: the
 * backend's definition panics (ept.c), a test's counts.
 */
void ept_format_misuse(const char *what, u64 hpa, unsigned perms);

#endif
