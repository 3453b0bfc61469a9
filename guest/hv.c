/*
 * hv.c - memvisor detection (CPUID) and the hypercall stubs.
 *
 * The calling convention is the design's Guest ABI: RAX = call number,
 * RBX, RCX, RDX, RSI = arguments, result in RAX (>= 0 success, negative
 * errno).  Intel CPUs hypercall with VMCALL, AMD CPUs with VMMCALL (each
 * #UDs on the other vendor's hardware unless the hypervisor emulates it),
 * so the instruction is picked from the CPUID vendor string once at boot.
 */
#include "hv.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"

#define CPUID_VENDOR 0x0u

static struct hv_info info;

/* Copies the 12 signature bytes of three registers into text. */
static void regs_to_text(char out[13], uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t regs[3] = { a, b, c };
	for (int i = 0; i < 12; i++) {
		char ch = (char)(regs[i / 4] >> (8 * (i % 4)));
		out[i] = (ch >= 0x20 && ch < 0x7F) ? ch : '.';
	}
	out[12] = '\0';
}

static int vendor_is_amd_style(const uint32_t r[4])
{
	/* "AuthenticAMD" and Hygon's "HygonGenuine" implement SVM. */
	static const uint32_t amd[3] = { 0x68747541, 0x69746E65, 0x444D4163 };
	static const uint32_t hygon[3] = { 0x6F677948, 0x6E65476E, 0x656E6975 };
	return (r[1] == amd[0] && r[3] == amd[1] && r[2] == amd[2]) ||
	       (r[1] == hygon[0] && r[3] == hygon[1] && r[2] == hygon[2]);
}

void hv_detect(void)
{
	uint32_t r[4];

	cpuid(CPUID_VENDOR, 0, r);
	regs_to_text(info.vendor, r[1], r[3], r[2]); /* EBX, EDX, ECX */
	info.use_vmmcall = vendor_is_amd_style(r);

	cpuid(CPUID_FEATURES, 0, r);
	info.hypervisor_bit = (r[2] & CPUID1_ECX_HYPERVISOR) != 0;
	if (!info.hypervisor_bit) {
		kprintf("hv: none (CPUID.1:ECX[31] clear), vendor %s\n",
			info.vendor);
		return;
	}
	cpuid(CPUID_HV_BASE, 0, r);
	info.max_leaf = r[0];
	regs_to_text(info.signature, r[1], r[2], r[3]);
	info.memvisor = r[1] == MEMVISOR_SIG_EBX && r[2] == MEMVISOR_SIG_ECX &&
			r[3] == MEMVISOR_SIG_EDX;
	if (!info.memvisor) {
		kprintf("hv: not memvisor (CPUID.1:ECX[31] set, signature "
			"\"%s\"), vendor %s: hypercalls disabled\n",
			info.signature, info.vendor);
		return;
	}
	info.abi_version = hc_version();
	kprintf("hv: memvisor, max leaf 0x%x, ABI version %ld, vendor %s, "
		"hypercalls via %s\n",
		info.max_leaf, (long)info.abi_version, info.vendor,
		info.use_vmmcall ? "VMMCALL" : "VMCALL");
}

const struct hv_info *hv_info(void)
{
	return &info;
}

int hv_present(void)
{
	return info.memvisor;
}

static int64_t call_vmcall(uint64_t nr, uint64_t a0, uint64_t a1,
			   uint64_t a2, uint64_t a3)
{
	int64_t ret;
	__asm__ volatile("vmcall"
			 : "=a"(ret)
			 : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			 : "memory");
	return ret;
}

static int64_t call_vmmcall(uint64_t nr, uint64_t a0, uint64_t a1,
			    uint64_t a2, uint64_t a3)
{
	int64_t ret;
	__asm__ volatile("vmmcall"
			 : "=a"(ret)
			 : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			 : "memory");
	return ret;
}

int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		  uint64_t a3)
{
	if (!info.memvisor)
		guest_fail(STATUS_EXCEPTION,
			   "hypercall %lu attempted without memvisor", nr);
	return info.use_vmmcall ? call_vmmcall(nr, a0, a1, a2, a3)
				: call_vmcall(nr, a0, a1, a2, a3);
}

int64_t hc_version(void)
{
	return hypercall(HC_VERSION, 0, 0, 0, 0);
}

int64_t hc_balloon_inflate(uint64_t gfn_array_gpa, uint64_t count)
{
	return hypercall(HC_BALLOON_INFLATE, gfn_array_gpa, count, 0, 0);
}

int64_t hc_balloon_deflate(uint64_t gfn_array_gpa, uint64_t count)
{
	return hypercall(HC_BALLOON_DEFLATE, gfn_array_gpa, count, 0, 0);
}

int64_t hc_balloon_target(void)
{
	return hypercall(HC_BALLOON_TARGET, 0, 0, 0, 0);
}

int64_t hc_yield(void)
{
	return hypercall(HC_YIELD, 0, 0, 0, 0);
}

int64_t hc_memstat(uint64_t buf_gpa, uint64_t len)
{
	return hypercall(HC_MEMSTAT, buf_gpa, len, 0, 0);
}

const char *hc_error_name(int64_t rc)
{
	switch (rc) {
	case -HC_EPERM: return "-EPERM";
	case -HC_E2BIG: return "-E2BIG";
	case -HC_EFAULT: return "-EFAULT";
	case -HC_EINVAL: return "-EINVAL";
	case -HC_ENOSYS: return "-ENOSYS";
	default: return rc < 0 ? "-E?" : "ok";
	}
}
