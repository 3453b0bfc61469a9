/*
 * cpufeat.c - CPU feature detection.
 *
 * VMX (Intel SDM Vol. 3C, Appendix A): the secondary controls exist only if
 * the primary processor-based controls allow bit 31 to be 1 (the allowed-1
 * settings are the high 32 bits of each capability MSR).  EPT, VPID and
 * unrestricted guest are secondary bits 1, 5 and 7; EPT accessed/dirty flags
 * are IA32_VMX_EPT_VPID_CAP bit 21; the preemption timer is pin-based bit 6.
 * Where IA32_VMX_BASIC bit 55 says so, the TRUE_ MSRs are the ones to read.
 * The VMX MSRs raise #GP on a CPU without VMX, so they are read only after
 * CPUID says VMX exists.
 *
 * SVM (AMD APM Vol. 2, 15.4 and CPUID Fn8000_000A): EBX = number of ASIDs,
 * EDX bit 0 = nested paging, bit 3 = NRIP save, bit 6 = FlushByAsid
 * (TLB_CONTROL may flush one ASID; without it only "flush all" exists).
 * VM_CR.SVMDIS (bit 4) set means firmware disabled SVM.
 */
#include "cpufeat.h"
#include "cpu.h"
#include "../../hv/console.h"
#include "../../hv/string.h"

#define CPUIDXA_EDX_NP (1u << 0)
#define CPUIDXA_EDX_NRIPS (1u << 3)
#define CPUIDXA_EDX_FLUSH_BY_ASID (1u << 6)
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define PROC_CTLS_SECONDARY (1ull << (32 + 31))
#define PIN_CTLS_PREEMPTION_TIMER (1ull << (32 + 6))
#define PROC2_EPT (1ull << (32 + 1))
#define PROC2_VPID (1ull << (32 + 5))
#define PROC2_UNRESTRICTED (1ull << (32 + 7))
#define EPT_CAP_AD (1ull << 21)
#define VM_CR_SVMDIS (1ull << 4)

struct cpu_features cpu;

static void read_vendor(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	memcpy(cpu.vendor + 0, &r.ebx, 4);
	memcpy(cpu.vendor + 4, &r.edx, 4);
	memcpy(cpu.vendor + 8, &r.ecx, 4);
	cpu.vendor[12] = 0;
	cpu.intel = !strcmp(cpu.vendor, "GenuineIntel");
	cpu.amd = !strcmp(cpu.vendor, "AuthenticAMD");

	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		for (u32 i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			memcpy(cpu.brand + 16 * i, &r, 16);
		}
	}
	cpu.brand[48] = 0;
}

static void detect_vmx(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX))
		return;
	cpu.vmx = true;

	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	cpu.vmx_locked_off = (fc & FEATURE_CONTROL_LOCK) &&
			     !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX);

	bool true_ctls = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS;
	u64 pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
				  : MSR_IA32_VMX_PINBASED_CTLS);
	u64 proc = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
				   : MSR_IA32_VMX_PROCBASED_CTLS);

	cpu.preemption_timer = pin & PIN_CTLS_PREEMPTION_TIMER;
	if (!(proc & PROC_CTLS_SECONDARY))
		return;
	u64 proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	cpu.ept = proc2 & PROC2_EPT;
	cpu.vpid = proc2 & PROC2_VPID;
	cpu.unrestricted = proc2 & PROC2_UNRESTRICTED;
	if (cpu.ept || cpu.vpid)
		cpu.ept_ad = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & EPT_CAP_AD;
}

static void detect_svm(void)
{
	if (cpuid(0x80000000, 0).eax < CPUID_SVM_LEAF ||
	    !(cpuid(0x80000001, 0).ecx & CPUIDX1_ECX_SVM))
		return;
	cpu.svm = true;
	cpu.svm_disabled = rdmsr(MSR_VM_CR) & VM_CR_SVMDIS;

	struct cpuid_regs r = cpuid(CPUID_SVM_LEAF, 0);
	cpu.asids = r.ebx;
	cpu.npt = r.edx & CPUIDXA_EDX_NP;
	cpu.nrip_save = r.edx & CPUIDXA_EDX_NRIPS;
	cpu.flush_by_asid = r.edx & CPUIDXA_EDX_FLUSH_BY_ASID;
}

void cpufeat_detect(void)
{
	read_vendor();
	detect_vmx();
	detect_svm();
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

const char *cpu_virt_extension(void)
{
	return cpu.vmx ? "VMX" : cpu.svm ? "SVM" : NULL;
}

void cpufeat_print(void)
{
	const char *brand = cpu.brand;

	while (*brand == ' ')
		brand++;
	kprintf("[hv] cpu: %s \"%s\"; VMX: ", cpu.vendor, brand);
	if (cpu.vmx)
		kprintf("yes (EPT %s, VPID %s, unrestricted-guest %s, EPT-A/D %s, "
			"preemption-timer %s%s)",
			yn(cpu.ept), yn(cpu.vpid), yn(cpu.unrestricted),
			yn(cpu.ept_ad), yn(cpu.preemption_timer),
			cpu.vmx_locked_off ? ", LOCKED OFF by IA32_FEATURE_CONTROL"
					   : "");
	else
		kprintf("no");
	kprintf("; SVM: ");
	if (cpu.svm)
		kprintf("yes (NPT %s, ASIDs %u, NRIP-save %s, FlushByAsid %s%s)",
			yn(cpu.npt), cpu.asids, yn(cpu.nrip_save),
			yn(cpu.flush_by_asid),
			cpu.svm_disabled ? ", DISABLED by VM_CR.SVMDIS" : "");
	else
		kprintf("no");
	kprintf("\n");
}
