/*
 * diag.c - saying what went wrong, in the SDM's words.
 *
 * A failed VM entry comes in two shapes (SDM Vol. 3C 26.1, 26.8):
 *
 *   VMLAUNCH/VMRESUME falls through with CF or ZF set: the controls or the
 *     host state were refused (or the VMCS was not in the right launch
 *     state).  The VM-instruction error field names the reason;
 *     vmx_report_vmfail() prints it by name, plus the fields that the
 *     failed check concerns (controls for error 7, host state for 8).
 *   A "VM exit" whose reason has bit 31 set: the guest state was refused
 *     (33), an MSR in the VM-entry MSR-load area (34), or a machine check
 *     hit during entry (41).  vmx_report_entry_failure() prints the exit
 *     qualification and every guest-state field the entry checks.
 *
 * Bochs explains the precise check that failed in its own log
 * (build/boot-tests/NAME/bochs.log); these reports say what the values
 * were, which is what one needs on real hardware.
 */
#include "vmx.h"
#include "../cpu.h"
#include "../../../hv/console.h"

/* SDM Vol. 3C 30.4, Table 30-1 "VM-Instruction Error Numbers". */
static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in "
	       "executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

/* SDM Vol. 3D Appendix C, Table C-1 "Basic Exit Reasons". */
static const char *const exit_names[VMX_EXIT_REASON_MAX + 1] = {
	[VMX_EXIT_EXCEPTION_NMI] = "exception or NMI",
	[VMX_EXIT_EXTERNAL_INTERRUPT] = "external interrupt",
	[VMX_EXIT_TRIPLE_FAULT] = "triple fault",
	[VMX_EXIT_INIT] = "INIT signal",
	[VMX_EXIT_SIPI] = "start-up IPI",
	[VMX_EXIT_IO_SMI] = "I/O SMI",
	[VMX_EXIT_OTHER_SMI] = "other SMI",
	[VMX_EXIT_INTERRUPT_WINDOW] = "interrupt window",
	[VMX_EXIT_NMI_WINDOW] = "NMI window",
	[VMX_EXIT_TASK_SWITCH] = "task switch",
	[VMX_EXIT_CPUID] = "CPUID",
	[VMX_EXIT_GETSEC] = "GETSEC",
	[VMX_EXIT_HLT] = "HLT",
	[VMX_EXIT_INVD] = "INVD",
	[VMX_EXIT_INVLPG] = "INVLPG",
	[VMX_EXIT_RDPMC] = "RDPMC",
	[VMX_EXIT_RDTSC] = "RDTSC",
	[VMX_EXIT_RSM] = "RSM",
	[VMX_EXIT_VMCALL] = "VMCALL",
	[VMX_EXIT_VMCLEAR] = "VMCLEAR",
	[VMX_EXIT_VMLAUNCH] = "VMLAUNCH",
	[VMX_EXIT_VMPTRLD] = "VMPTRLD",
	[VMX_EXIT_VMPTRST] = "VMPTRST",
	[VMX_EXIT_VMREAD] = "VMREAD",
	[VMX_EXIT_VMRESUME] = "VMRESUME",
	[VMX_EXIT_VMWRITE] = "VMWRITE",
	[VMX_EXIT_VMXOFF] = "VMXOFF",
	[VMX_EXIT_VMXON] = "VMXON",
	[VMX_EXIT_CR_ACCESS] = "control-register access",
	[VMX_EXIT_DR_ACCESS] = "MOV DR",
	[VMX_EXIT_IO_INSTRUCTION] = "I/O instruction",
	[VMX_EXIT_RDMSR] = "RDMSR",
	[VMX_EXIT_WRMSR] = "WRMSR",
	[VMX_EXIT_INVALID_GUEST_STATE] = "VM-entry failure due to invalid "
					 "guest state",
	[VMX_EXIT_MSR_LOADING] = "VM-entry failure due to MSR loading",
	[VMX_EXIT_MWAIT] = "MWAIT",
	[VMX_EXIT_MONITOR_TRAP_FLAG] = "monitor trap flag",
	[VMX_EXIT_MONITOR] = "MONITOR",
	[VMX_EXIT_PAUSE] = "PAUSE",
	[VMX_EXIT_MACHINE_CHECK] = "VM-entry failure due to machine-check "
				   "event",
	[VMX_EXIT_TPR_BELOW_THRESHOLD] = "TPR below threshold",
	[VMX_EXIT_APIC_ACCESS] = "APIC access",
	[VMX_EXIT_VIRTUALIZED_EOI] = "virtualized EOI",
	[VMX_EXIT_GDTR_IDTR] = "access to GDTR or IDTR",
	[VMX_EXIT_LDTR_TR] = "access to LDTR or TR",
	[VMX_EXIT_EPT_VIOLATION] = "EPT violation",
	[VMX_EXIT_EPT_MISCONFIG] = "EPT misconfiguration",
	[VMX_EXIT_INVEPT] = "INVEPT",
	[VMX_EXIT_RDTSCP] = "RDTSCP",
	[VMX_EXIT_PREEMPTION_TIMER] = "VMX-preemption timer expired",
	[VMX_EXIT_INVVPID] = "INVVPID",
	[VMX_EXIT_WBINVD] = "WBINVD",
	[VMX_EXIT_XSETBV] = "XSETBV",
	[VMX_EXIT_APIC_WRITE] = "APIC write",
	[VMX_EXIT_RDRAND] = "RDRAND",
	[VMX_EXIT_INVPCID] = "INVPCID",
	[VMX_EXIT_VMFUNC] = "VMFUNC",
	[VMX_EXIT_ENCLS] = "ENCLS",
	[VMX_EXIT_RDSEED] = "RDSEED",
	[VMX_EXIT_PML_FULL] = "page-modification log full",
	[VMX_EXIT_XSAVES] = "XSAVES",
	[VMX_EXIT_XRSTORS] = "XRSTORS",
};

const char *vmx_instruction_error_name(u64 error)
{
	if (error < ARRAY_SIZE(insn_errors) && insn_errors[error])
		return insn_errors[error];
	return "unknown VM-instruction error";
}

const char *vmx_exit_reason_name(u32 basic)
{
	if (basic < ARRAY_SIZE(exit_names) && exit_names[basic])
		return exit_names[basic];
	return "unknown exit reason";
}

/* A field for a report: the value, or all ones if unreadable. */
static unsigned long long f(u64 field)
{
	return (unsigned long long)vmcs_read_or(field, ~0ull);
}

static void dump_segment(const char *name, u32 sel_field)
{
	u32 i = sel_field - GUEST_ES_SELECTOR;
	u64 ar = vmcs_read_or(GUEST_ES_AR_BYTES + i, ~0ull);

	kprintf("[hv]   %-4s sel 0x%04llx base 0x%016llx limit 0x%08llx "
		"AR 0x%05llx (type 0x%llx S%llu DPL%llu P%llu L%llu DB%llu "
		"G%llu%s)\n",
		name, f(sel_field), f(GUEST_ES_BASE + i), f(GUEST_ES_LIMIT + i),
		(unsigned long long)ar, (unsigned long long)(ar & AR_TYPE_MASK),
		(unsigned long long)!!(ar & AR_S),
		(unsigned long long)((ar >> AR_DPL_SHIFT) & 3),
		(unsigned long long)!!(ar & AR_P),
		(unsigned long long)!!(ar & AR_L),
		(unsigned long long)!!(ar & AR_DB),
		(unsigned long long)!!(ar & AR_G),
		(ar & AR_UNUSABLE) ? " unusable" : "");
}

/* Every guest-state field VM entry checks (SDM 26.3.1). */
static void dump_guest_state(void)
{
	kprintf("[hv]   RIP 0x%016llx RSP 0x%016llx RFLAGS 0x%llx\n",
		f(GUEST_RIP), f(GUEST_RSP), f(GUEST_RFLAGS));
	kprintf("[hv]   CR0 0x%llx (read shadow 0x%llx, mask 0x%llx) "
		"CR3 0x%llx CR4 0x%llx (read shadow 0x%llx, mask 0x%llx)\n",
		f(GUEST_CR0), f(CR0_READ_SHADOW), f(CR0_GUEST_HOST_MASK),
		f(GUEST_CR3), f(GUEST_CR4), f(CR4_READ_SHADOW),
		f(CR4_GUEST_HOST_MASK));
	kprintf("[hv]   IA32_EFER 0x%llx DR7 0x%llx DEBUGCTL 0x%llx "
		"PAT 0x%llx SYSENTER_CS 0x%llx ESP 0x%llx EIP 0x%llx\n",
		f(GUEST_IA32_EFER), f(GUEST_DR7), f(GUEST_IA32_DEBUGCTL),
		(vmx.entry & ENTRY_LOAD_IA32_PAT) ? f(GUEST_IA32_PAT) : 0ull,
		f(GUEST_SYSENTER_CS), f(GUEST_SYSENTER_ESP),
		f(GUEST_SYSENTER_EIP));
	dump_segment("CS", GUEST_CS_SELECTOR);
	dump_segment("SS", GUEST_SS_SELECTOR);
	dump_segment("DS", GUEST_DS_SELECTOR);
	dump_segment("ES", GUEST_ES_SELECTOR);
	dump_segment("FS", GUEST_FS_SELECTOR);
	dump_segment("GS", GUEST_GS_SELECTOR);
	dump_segment("TR", GUEST_TR_SELECTOR);
	dump_segment("LDTR", GUEST_LDTR_SELECTOR);
	kprintf("[hv]   GDTR base 0x%llx limit 0x%llx, IDTR base 0x%llx "
		"limit 0x%llx\n",
		f(GUEST_GDTR_BASE), f(GUEST_GDTR_LIMIT), f(GUEST_IDTR_BASE),
		f(GUEST_IDTR_LIMIT));
	kprintf("[hv]   activity state %llu, interruptibility 0x%llx, pending "
		"debug exceptions 0x%llx, VMCS link pointer 0x%llx\n",
		f(GUEST_ACTIVITY_STATE), f(GUEST_INTERRUPTIBILITY_INFO),
		f(GUEST_PENDING_DBG_EXCEPTIONS), f(VMCS_LINK_POINTER));
	kprintf("[hv]   entry controls 0x%llx (IA-32e mode guest %d), entry "
		"interruption info 0x%llx error code 0x%llx length %llu\n",
		f(VM_ENTRY_CONTROLS),
		!!(vmcs_read_or(VM_ENTRY_CONTROLS, 0) & ENTRY_IA32E_MODE_GUEST),
		f(VM_ENTRY_INTR_INFO), f(VM_ENTRY_EXCEPTION_ERROR_CODE),
		f(VM_ENTRY_INSTRUCTION_LEN));
	kprintf("[hv]   PDPTEs 0x%llx 0x%llx 0x%llx 0x%llx\n", f(GUEST_PDPTE0),
		f(GUEST_PDPTE1), f(GUEST_PDPTE2), f(GUEST_PDPTE3));
}

static void dump_controls(void)
{
	bool t = vmx.true_ctls;

	kprintf("[hv]   pin-based 0x%08llx (cap 0x%016llx)\n",
		f(PIN_BASED_VM_EXEC_CONTROL),
		(unsigned long long)rdmsr(t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
					    : MSR_IA32_VMX_PINBASED_CTLS));
	kprintf("[hv]   primary   0x%08llx (cap 0x%016llx)\n",
		f(CPU_BASED_VM_EXEC_CONTROL),
		(unsigned long long)rdmsr(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					    : MSR_IA32_VMX_PROCBASED_CTLS));
	kprintf("[hv]   secondary 0x%08llx (cap 0x%016llx)\n",
		f(SECONDARY_VM_EXEC_CONTROL),
		(unsigned long long)rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2));
	kprintf("[hv]   exit      0x%08llx (cap 0x%016llx)\n",
		f(VM_EXIT_CONTROLS),
		(unsigned long long)rdmsr(t ? MSR_IA32_VMX_TRUE_EXIT_CTLS
					    : MSR_IA32_VMX_EXIT_CTLS));
	kprintf("[hv]   entry     0x%08llx (cap 0x%016llx)\n",
		f(VM_ENTRY_CONTROLS),
		(unsigned long long)rdmsr(t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
					    : MSR_IA32_VMX_ENTRY_CTLS));
	kprintf("[hv]   EPTP 0x%llx (EPT/VPID cap 0x%llx) VPID %llu MSR "
		"bitmap 0x%llx exception bitmap 0x%llx CR3-target count %llu\n",
		f(EPT_POINTER), (unsigned long long)vmx.ept_vpid_cap,
		f(VIRTUAL_PROCESSOR_ID), f(MSR_BITMAP), f(EXCEPTION_BITMAP),
		f(CR3_TARGET_COUNT));
	kprintf("[hv]   entry interruption info 0x%llx error code 0x%llx "
		"length %llu; MSR counts store %llu load %llu entry %llu\n",
		f(VM_ENTRY_INTR_INFO), f(VM_ENTRY_EXCEPTION_ERROR_CODE),
		f(VM_ENTRY_INSTRUCTION_LEN), f(VM_EXIT_MSR_STORE_COUNT),
		f(VM_EXIT_MSR_LOAD_COUNT), f(VM_ENTRY_MSR_LOAD_COUNT));
}

static void dump_host_state(void)
{
	kprintf("[hv]   host CR0 0x%llx CR3 0x%llx CR4 0x%llx IA32_EFER 0x%llx "
		"PAT 0x%llx\n",
		f(HOST_CR0), f(HOST_CR3), f(HOST_CR4), f(HOST_IA32_EFER),
		(vmx.exit & EXIT_LOAD_IA32_PAT) ? f(HOST_IA32_PAT) : 0ull);
	kprintf("[hv]   host CS 0x%llx SS 0x%llx DS 0x%llx ES 0x%llx FS 0x%llx "
		"GS 0x%llx TR 0x%llx\n",
		f(HOST_CS_SELECTOR), f(HOST_SS_SELECTOR), f(HOST_DS_SELECTOR),
		f(HOST_ES_SELECTOR), f(HOST_FS_SELECTOR), f(HOST_GS_SELECTOR),
		f(HOST_TR_SELECTOR));
	kprintf("[hv]   host FS base 0x%llx GS base 0x%llx TR base 0x%llx "
		"GDTR base 0x%llx IDTR base 0x%llx\n",
		f(HOST_FS_BASE), f(HOST_GS_BASE), f(HOST_TR_BASE),
		f(HOST_GDTR_BASE), f(HOST_IDTR_BASE));
	kprintf("[hv]   host RIP 0x%llx RSP 0x%llx SYSENTER CS 0x%llx ESP "
		"0x%llx EIP 0x%llx\n",
		f(HOST_RIP), f(HOST_RSP), f(HOST_IA32_SYSENTER_CS),
		f(HOST_IA32_SYSENTER_ESP), f(HOST_IA32_SYSENTER_EIP));
}

void vmx_report_vmfail(const char *insn, enum vmx_status st)
{
	if (st == VMX_FAIL_INVALID) {
		hv_log("vmx: %s failed: VMfailInvalid (CF=1): no valid current "
		       "VMCS or an invalid operand", insn);
		return;
	}
	u64 e = vmcs_read_or(VM_INSTRUCTION_ERROR, 0);
	hv_log("vmx: %s failed: VM-instruction error %llu: %s", insn,
	       (unsigned long long)e, vmx_instruction_error_name(e));
	if (e == 7)
		dump_controls();
	else if (e == 8)
		dump_host_state();
}

static const char *guest_state_qualification(u64 q)
{
	/* SDM 26.8 / 27.2.1 for exit reason 33. */
	switch (q) {
	case 0: return "no further information";
	case 2: return "PDPTE loading failed";
	case 3: return "NMI injection blocked by NMI-unblocking";
	case 4: return "invalid VMCS link pointer";
	default: return "reserved value";
	}
}

void vmx_report_entry_failure(u32 reason)
{
	u32 basic = reason & EXIT_REASON_BASIC_MASK;
	u64 q = vmcs_read_or(EXIT_QUALIFICATION, ~0ull);

	if (basic == VMX_EXIT_MSR_LOADING)
		hv_log("vmx: VM entry failed: %s (exit reason 0x%x), failing "
		       "entry %llu of the VM-entry MSR-load area",
		       vmx_exit_reason_name(basic), reason,
		       (unsigned long long)q);
	else
		hv_log("vmx: VM entry failed: %s (exit reason 0x%x), exit "
		       "qualification %llu (%s)",
		       vmx_exit_reason_name(basic), reason,
		       (unsigned long long)q,
		       basic == VMX_EXIT_INVALID_GUEST_STATE
			       ? guest_state_qualification(q)
			       : "-");
	kprintf("[hv]   guest state as VM entry checked it:\n");
	dump_guest_state();
}

void vmx_dump(struct vcpu *v)
{
	struct vmx_vcpu *hw = v->hw;

	if (!hw) {
		kprintf("[hv]   %s: no VMCS\n", v->vm->name);
		return;
	}
	vmx_make_current(hw);
	u64 reason = vmcs_read_or(VM_EXIT_REASON, 0);
	kprintf("[hv]   %s VMCS 0x%llx VPID %u %s; last exit %llu (%s), "
		"qualification 0x%llx\n",
		v->vm->name, (unsigned long long)hw->vmcs_pa, hw->vpid,
		hw->launched ? "launched" : "not launched",
		(unsigned long long)(reason & EXIT_REASON_BASIC_MASK),
		vmx_exit_reason_name((u32)(reason & EXIT_REASON_BASIC_MASK)),
		f(EXIT_QUALIFICATION));
	kprintf("[hv]   guest linear address 0x%llx, guest physical address "
		"0x%llx, IDT-vectoring info 0x%llx, exit interruption info "
		"0x%llx\n",
		f(GUEST_LINEAR_ADDRESS), f(GUEST_PHYSICAL_ADDRESS),
		f(IDT_VECTORING_INFO), f(VM_EXIT_INTR_INFO));
	kprintf("[hv]   RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
		(unsigned long long)v->regs.rax, (unsigned long long)v->regs.rbx,
		(unsigned long long)v->regs.rcx, (unsigned long long)v->regs.rdx);
	kprintf("[hv]   RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
		(unsigned long long)v->regs.rsi, (unsigned long long)v->regs.rdi,
		(unsigned long long)v->regs.rbp, (unsigned long long)v->regs.r8);
	kprintf("[hv]   R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
		(unsigned long long)v->regs.r9, (unsigned long long)v->regs.r10,
		(unsigned long long)v->regs.r11, (unsigned long long)v->regs.r12);
	kprintf("[hv]   R13 %016llx R14 %016llx R15 %016llx\n",
		(unsigned long long)v->regs.r13, (unsigned long long)v->regs.r14,
		(unsigned long long)v->regs.r15);
	dump_guest_state();
}
