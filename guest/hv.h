/*
 * hv.h - finding memvisor and calling it.
 *
 * hv_detect() must run before any hypercall: only a memvisor signature at
 * CPUID 0x40000000 makes VMCALL/VMMCALL safe.  On bare hardware or under
 * another hypervisor (QEMU TCG answers "TCGTCGTCGTCG") those instructions
 * raise #UD, so every hc_* call refuses to run without memvisor.
 */
#ifndef GUEST_HV_H
#define GUEST_HV_H

#include <stdint.h>

struct hv_info {
	int hypervisor_bit;  /* CPUID.1:ECX[31] */
	int memvisor;        /* bit set and signature matched */
	int use_vmmcall;     /* AMD-style CPU: VMMCALL, else VMCALL */
	char signature[13];  /* CPUID 0x40000000 EBX:ECX:EDX as text */
	char vendor[13];     /* CPUID 0 vendor string */
	uint32_t max_leaf;   /* CPUID 0x40000000 EAX */
	int64_t abi_version; /* HC_VERSION's answer, when memvisor */
};

void hv_detect(void);
const struct hv_info *hv_info(void);
int hv_present(void);

/* Raw call: RAX = nr, RBX, RCX, RDX, RSI = a0..a3; returns RAX. */
int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		  uint64_t a3);

int64_t hc_version(void);
int64_t hc_balloon_inflate(uint64_t gfn_array_gpa, uint64_t count);
int64_t hc_balloon_deflate(uint64_t gfn_array_gpa, uint64_t count);
int64_t hc_balloon_target(void);
int64_t hc_yield(void);
int64_t hc_memstat(uint64_t buf_gpa, uint64_t len);

const char *hc_error_name(int64_t rc);

#endif
