/*
 * ept.c - Intel's second-level page tables as the VMX backend uses them:
 * the format chosen for this CPU (the bits are in ept_format.c), the EPT
 * pointer, the TLB invalidations, and the walk printed on a
 * misconfiguration.
 *
 * EPTP (SDM Vol. 3C 24.6.11): bits 2:0 the memory type the CPU uses to
 * read the tables (write-back where IA32_VMX_EPT_VPID_CAP allows it), bits
 * 5:3 the page-walk length minus one (4 levels: 3), bit 6 enables A/D
 * flags, bits 51:12 the root table.
 *
 * Invalidation (29.4.3): translations derived from EPT are tagged with
 * the EPTP; INVEPT single-context drops every one derived from this VM's
 * tables (for all VPIDs), which is what the core needs after it changed or
 * removed a present entry.  INVVPID is needed when a VPID is handed to a
 * new VM (vmcs.c) and when we emulate a guest CR write that would have
 * flushed its TLB natively (vmexit.c).
 */
#include "vmx.h"
#include "../../../hv/console.h"
#include "../../../hv/finish.h"
#include "../../../hv/fmt.h"
#include "ept_format.h"

#define EPTP_WALK_LENGTH_4	(3ull << 3)
#define EPTP_AD_ENABLE		(1ull << 6)

/* IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D Appendix A.10). */
#define CAP_WALK_LENGTH_4	(1ull << 6)
#define CAP_MEMTYPE_UC		(1ull << 8)
#define CAP_MEMTYPE_WB		(1ull << 14)
#define CAP_INVEPT		(1ull << 20)
#define CAP_INVEPT_SINGLE	(1ull << 25)
#define CAP_INVEPT_ALL		(1ull << 26)
#define CAP_INVVPID		(1ull << 32)
#define CAP_INVVPID_SINGLE	(1ull << 41)
#define CAP_INVVPID_ALL		(1ull << 42)

struct slat_format ept_format;

void ept_format_misuse(const char *what, u64 hpa, unsigned perms)
{
	/* The leaf would be a misconfiguration at the first access; catch
	 * the bug where it is made, not where the guest trips over it. */
	panic("ept_make_leaf: %s for 0x%llx (permissions %u)", what,
	      (unsigned long long)hpa, perms);
}

int ept_check_caps(char *err, size_t errlen)
{
	u64 cap = vmx.ept_vpid_cap;

	if (!(cap & CAP_WALK_LENGTH_4)) {
		fmt_snprintf(err, errlen, "VMX: EPT without 4-level page walks "
			     "(IA32_VMX_EPT_VPID_CAP 0x%llx)",
			     (unsigned long long)cap);
		return -1;
	}
	if (!(cap & (CAP_MEMTYPE_WB | CAP_MEMTYPE_UC))) {
		fmt_snprintf(err, errlen, "VMX: EPT paging structures can be "
			     "neither write-back nor uncached (IA32_VMX_EPT_VPID_CAP "
			     "0x%llx)", (unsigned long long)cap);
		return -1;
	}
	if (!(cap & CAP_INVEPT) ||
	    !(cap & (CAP_INVEPT_SINGLE | CAP_INVEPT_ALL))) {
		fmt_snprintf(err, errlen, "VMX: no INVEPT, so EPT changes could "
			     "not be made visible (IA32_VMX_EPT_VPID_CAP 0x%llx)",
			     (unsigned long long)cap);
		return -1;
	}
	vmx.invept_single = cap & CAP_INVEPT_SINGLE;
	vmx.invept_all = cap & CAP_INVEPT_ALL;
	vmx.invvpid_single = (cap & CAP_INVVPID) && (cap & CAP_INVVPID_SINGLE);
	vmx.invvpid_all = (cap & CAP_INVVPID) && (cap & CAP_INVVPID_ALL);
	/* A VPID we could never flush is worse than none: without one, every
	 * entry and exit flushes the guest's translations by itself. */
	if (vmx.vpid && !vmx.invvpid_single && !vmx.invvpid_all) {
		vmx.cpu2 &= ~CPU2_ENABLE_VPID;
		vmx.vpid = false;
	}

	vmx.eptp_flags = ((cap & CAP_MEMTYPE_WB) ? MEMTYPE_WB : MEMTYPE_UC) |
			 EPTP_WALK_LENGTH_4;
	if (cap & EPT_CAP_AD)
		vmx.eptp_flags |= EPTP_AD_ENABLE;
	ept_format = *ept_format_for(cap);
	return 0;
}

u64 ept_pointer(u64 root)
{
	return (root & EPT_ADDR_MASK) | vmx.eptp_flags;
}

void ept_flush_eptp(u64 eptp)
{
	struct invept_desc d = { .eptp = eptp, .reserved = 0 };
	u64 type = vmx.invept_single ? INVEPT_SINGLE_CONTEXT
				     : INVEPT_ALL_CONTEXT;
	enum vmx_status st = vmx_invept(type, &d);

	if (st != VMX_OK) {
		vmx_report_vmfail("INVEPT", st);
		panic("vmx: INVEPT type %llu for EPTP 0x%llx failed",
		      (unsigned long long)type, (unsigned long long)eptp);
	}
}

void ept_flush(struct vm *vm)
{
	ept_flush_eptp(ept_pointer(vm->mem.slat.root));
}

/* A VM's guest-physical translations: with EPT those tagged by its EPTP;
 * with shadow paging (EPT off) its linear ones, tagged by its VPID (with
 * VPID off every entry and exit flushes them anyway). */
void vmx_flush_slat(struct vm *vm)
{
	if (!vm->shadow_paging)
		ept_flush(vm);
	else if (vmx.vpid)
		vpid_flush((u16)(vm->id + 1));
}

void vpid_flush(u16 vpid)
{
	struct invvpid_desc d = { .vpid = vpid, .linear_address = 0 };
	u64 type = vmx.invvpid_single ? INVVPID_SINGLE_CONTEXT
				      : INVVPID_ALL_CONTEXT;
	enum vmx_status st = vmx_invvpid(type, &d);

	if (st != VMX_OK) {
		vmx_report_vmfail("INVVPID", st);
		panic("vmx: INVVPID type %llu for VPID %u failed",
		      (unsigned long long)type, vpid);
	}
}

void ept_dump_walk(const struct slat *s, u64 gpa)
{
	u64 table = s->root;

	kprintf("[hv]   EPT walk for GPA 0x%llx (EPTP 0x%llx):\n",
		(unsigned long long)gpa,
		(unsigned long long)ept_pointer(s->root));
	for (int level = 4; level >= 1; level--) {
		unsigned idx = (gpa >> (12 + 9 * (level - 1))) & 511;
		const u64 *t = s->env.ptr(s->env.ctx, table);
		u64 e = t[idx];

		kprintf("[hv]     level %d table 0x%llx [%3u] = 0x%016llx %c%c%c "
			"type %llu%s%s %s\n",
			level, (unsigned long long)table, idx,
			(unsigned long long)e, (e & EPT_R) ? 'R' : '-',
			(e & EPT_W) ? 'W' : '-', (e & EPT_X) ? 'X' : '-',
			(unsigned long long)((e & EPT_MEMTYPE_MASK) >>
					     EPT_MEMTYPE_SHIFT),
			(e & EPT_ACCESSED) ? " A" : "",
			(e & EPT_DIRTY) ? " D" : "",
			ept_entry_problem(e, level, vmx.ept_vpid_cap));
		if (!ept_format.present(e) || (e & EPT_LARGE))
			break;
		table = ept_format.address(e);
	}
}
