/*
 * work_hostile_insn.c - hostile= actions about the CPU's own instructions
 * that concern virtualization: what memvisor must hide or refuse, and the
 * other vendor's hypercall instruction, which it must accept.
 *
 *   invlpga             INVLPGA (AMD's TLB flush by ASID): #UD like every
 *                       other virtualization instruction, so the guest's
 *                       report ends it with status 3, as hostile=vmrun
 *   cpuid-hidden        CPUID shows neither VMX nor SVM: leaf 1 ECX bit 5
 *                       and leaf 8000_0001h ECX bit 2 clear, and the SVM
 *                       leaf 8000_000Ah all zero where it exists (on Intel
 *                       it lies beyond the highest extended leaf)
 *   hcall-other-vendor  VERSION through the hypercall instruction the guest
 *                       ABI does not pick for this CPU (VMMCALL on Intel,
 *                       VMCALL on AMD): the ABI says memvisor accepts both
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "hv.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID_EXT_MAX 0x80000000u
#define CPUID_EXT_FEATURES 0x80000001u
#define CPUIDX1_ECX_SVM (1u << 2)
#define CPUID_SVM_LEAF 0x8000000Au

static int invlpga(struct work_ctx *c)
{
	kprintf("hostile: executing INVLPGA (RAX = 0, ECX = ASID 1)\n");
	__asm__ volatile("invlpga %%rax, %%ecx" : : "a"(0), "c"(1) : "memory");
	return work_fail(c, STATUS_HOSTILE, "hostile=invlpga was not stopped");
}

/* One CPUID bit that must read as clear. */
static int bit_clear(const char *what, uint32_t reg, uint32_t bit)
{
	int ok = !(reg & bit);
	kprintf("hostile: %-40s = %d (expected 0)%s\n", what, !ok ? 1 : 0,
		ok ? "" : "  <-- WRONG");
	return ok;
}

static int cpuid_hidden(struct work_ctx *c)
{
	uint32_t r[4], max_ext;
	int ok = 1;

	if (!hv_present())
		return work_skip("cpuid-hidden", "needs memvisor: natively "
				 "the CPU's own extension shows");
	cpuid(1, 0, r);
	ok &= bit_clear("CPUID.1:ECX.VMX (bit 5)", r[2], CPUID1_ECX_VMX);
	cpuid(CPUID_EXT_MAX, 0, r);
	max_ext = r[0];
	if (max_ext >= CPUID_EXT_FEATURES) {
		cpuid(CPUID_EXT_FEATURES, 0, r);
		ok &= bit_clear("CPUID.80000001h:ECX.SVM (bit 2)", r[2],
				CPUIDX1_ECX_SVM);
	}
	if (max_ext >= CPUID_SVM_LEAF) {
		cpuid(CPUID_SVM_LEAF, 0, r);
		int zero = !(r[0] | r[1] | r[2] | r[3]);
		kprintf("hostile: CPUID.8000000Ah = %08x %08x %08x %08x "
			"(expected all zero)%s\n", r[0], r[1], r[2], r[3],
			zero ? "" : "  <-- WRONG");
		ok &= zero;
	} else {
		/* Intel answers such a leaf with its highest basic leaf's
		 * data: nothing about SVM. */
		cpuid(CPUID_SVM_LEAF, 0, r);
		kprintf("hostile: CPUID.8000000Ah is beyond the highest "
			"extended leaf 0x%x: no SVM leaf (reads %08x %08x "
			"%08x %08x)\n", max_ext, r[0], r[1], r[2], r[3]);
	}
	if (!ok)
		return work_fail(c, STATUS_HOSTILE, "hostile: CPUID shows a "
				 "virtualization extension");
	kprintf("hostile: cpuid-hidden: no virtualization extension shows\n");
	return WORK_PASS;
}

/* The guest ABI's VERSION (call 0) through the given instruction. */
static int64_t version_via(int vmmcall)
{
	int64_t ret;

	if (vmmcall)
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"(HC_VERSION)
				 : "memory");
	else
		__asm__ volatile("vmcall" : "=a"(ret) : "a"(HC_VERSION)
				 : "memory");
	return ret;
}

static int hcall_other_vendor(struct work_ctx *c)
{
	const struct hv_info *hv = hv_info();

	if (!hv_present())
		return work_skip("hcall-other-vendor", "needs memvisor: a "
				 "hypercall without it is #UD");
	int other = !hv->use_vmmcall;
	int64_t rc = version_via(other);
	kprintf("hostile: VERSION via %s on %s = %ld (expected %ld, as via "
		"%s)%s\n", other ? "VMMCALL" : "VMCALL", hv->vendor, (long)rc,
		(long)hv->abi_version, other ? "VMCALL" : "VMMCALL",
		rc == hv->abi_version ? "" : "  <-- WRONG");
	if (rc != hv->abi_version)
		return work_fail(c, STATUS_HOSTILE, "hostile: VERSION via %s "
				 "returned %ld", other ? "VMMCALL" : "VMCALL",
				 (long)rc);
	kprintf("hostile: hcall-other-vendor: every answer as documented\n");
	return WORK_PASS;
}

int work_hostile_insn(struct work_ctx *c)
{
	switch (c->cfg->hostile) {
	case HOSTILE_INVLPGA:
		return invlpga(c);
	case HOSTILE_CPUID_HIDDEN:
		return cpuid_hidden(c);
	case HOSTILE_HCALL_OTHER_VENDOR:
		return hcall_other_vendor(c);
	default:
		return WORK_PASS;
	}
}
