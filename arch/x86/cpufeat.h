/*
 * cpufeat.h - what this CPU offers for virtualization, read once at boot
 * from CPUID and the VMX capability MSRs.  The backends decide from this;
 * the boot log prints it on one line.
 */
#ifndef ARCH_X86_CPUFEAT_H
#define ARCH_X86_CPUFEAT_H

#include "../../hv/types.h"

/* The CPUID bits that announce the two extensions; the backends also clear
 * them in what guests see (no nested virtualization). */
#define CPUID1_ECX_VMX (1u << 5)	/* CPUID.1:ECX.VMX */
#define CPUIDX1_ECX_SVM (1u << 2)	/* CPUID.80000001h:ECX.SVM */
#define CPUID_SVM_LEAF 0x8000000a	/* SVM revision and features */

struct cpu_features {
	char vendor[13];
	char brand[49];
	bool intel, amd;

	bool vmx;		/* CPUID.1:ECX.VMX[bit 5] */
	bool vmx_locked_off;	/* IA32_FEATURE_CONTROL locked without VMXON */
	bool ept, vpid, unrestricted, ept_ad, preemption_timer;

	bool svm;		/* CPUID.80000001h:ECX.SVM[bit 2] */
	bool svm_disabled;	/* VM_CR.SVMDIS */
	bool npt, nrip_save;
	bool flush_by_asid;	/* TLB_CONTROL 3: flush one ASID */
	u32 asids;
};

extern struct cpu_features cpu;

void cpufeat_detect(void);
/* The virtualization extension CPUID reports, "VMX" or "SVM", or NULL;
 * named as the backends' table in hv/run.c names them. */
const char *cpu_virt_extension(void);
void cpufeat_print(void);

#endif
