/*
 * vmcs.h - VMCS field encodings, control bits and exit reasons, by the
 * Intel SDM's names, plus the VMX instructions as checked inline functions.
 *
 * Encodings: SDM Vol. 3D Appendix B ("Field Encoding in VMCS").  An
 * encoding's bits 14:13 give the width (0 16-bit, 1 64-bit, 2 32-bit,
 * 3 natural), bits 11:10 the kind (0 control, 1 read-only exit data,
 * 2 guest state, 3 host state); that is why the groups below start at
 * 0x0000/0x0800/0x0c00, 0x2000/0x2400/0x2800/0x2c00, and so on.
 * Control bits: SDM Vol. 3C 24.6-24.8 (25.6-25.8 in newer editions).
 * Exit reasons: SDM Vol. 3D Appendix C.
 *
 * Every VMX instruction reports failure in RFLAGS (SDM Vol. 3C 30.2,
 * "Conventions"): CF=1 is VMfailInvalid (no current VMCS, nothing more
 * to know), ZF=1 is VMfailValid (the reason is in the VM-instruction
 * error field of the current VMCS).  The wrappers below return that
 * status; vmcs_write()/vmcs_read() panic on failure, because a VMWRITE
 * the hardware refuses is a bug in this backend, never a guest's doing.
 */
#ifndef ARCH_X86_VMX_VMCS_H
#define ARCH_X86_VMX_VMCS_H

#include "../../../hv/types.h"

/* --- 16-bit fields (Appendix B.1) ------------------------------------- */
#define VIRTUAL_PROCESSOR_ID		0x0000
#define GUEST_ES_SELECTOR		0x0800
#define GUEST_CS_SELECTOR		0x0802
#define GUEST_SS_SELECTOR		0x0804
#define GUEST_DS_SELECTOR		0x0806
#define GUEST_FS_SELECTOR		0x0808
#define GUEST_GS_SELECTOR		0x080a
#define GUEST_LDTR_SELECTOR		0x080c
#define GUEST_TR_SELECTOR		0x080e
#define HOST_ES_SELECTOR		0x0c00
#define HOST_CS_SELECTOR		0x0c02
#define HOST_SS_SELECTOR		0x0c04
#define HOST_DS_SELECTOR		0x0c06
#define HOST_FS_SELECTOR		0x0c08
#define HOST_GS_SELECTOR		0x0c0a
#define HOST_TR_SELECTOR		0x0c0c

/* --- 64-bit fields (Appendix B.2) ------------------------------------- */
#define IO_BITMAP_A			0x2000
#define IO_BITMAP_B			0x2002
#define MSR_BITMAP			0x2004
#define VM_EXIT_MSR_STORE_ADDR		0x2006
#define VM_EXIT_MSR_LOAD_ADDR		0x2008
#define VM_ENTRY_MSR_LOAD_ADDR		0x200a
#define TSC_OFFSET			0x2010
#define VIRTUAL_APIC_PAGE_ADDR		0x2012
#define EPT_POINTER			0x201a
#define GUEST_PHYSICAL_ADDRESS		0x2400	/* read-only */
#define VMCS_LINK_POINTER		0x2800
#define GUEST_IA32_DEBUGCTL		0x2802
#define GUEST_IA32_PAT			0x2804
#define GUEST_IA32_EFER			0x2806
#define GUEST_PDPTE0			0x280a
#define GUEST_PDPTE1			0x280c
#define GUEST_PDPTE2			0x280e
#define GUEST_PDPTE3			0x2810
#define HOST_IA32_PAT			0x2c00
#define HOST_IA32_EFER			0x2c02

/* --- 32-bit fields (Appendix B.3) ------------------------------------- */
#define PIN_BASED_VM_EXEC_CONTROL	0x4000
#define CPU_BASED_VM_EXEC_CONTROL	0x4002
#define EXCEPTION_BITMAP		0x4004
#define PAGE_FAULT_ERROR_CODE_MASK	0x4006
#define PAGE_FAULT_ERROR_CODE_MATCH	0x4008
#define CR3_TARGET_COUNT		0x400a
#define VM_EXIT_CONTROLS		0x400c
#define VM_EXIT_MSR_STORE_COUNT		0x400e
#define VM_EXIT_MSR_LOAD_COUNT		0x4010
#define VM_ENTRY_CONTROLS		0x4012
#define VM_ENTRY_MSR_LOAD_COUNT		0x4014
#define VM_ENTRY_INTR_INFO		0x4016
#define VM_ENTRY_EXCEPTION_ERROR_CODE	0x4018
#define VM_ENTRY_INSTRUCTION_LEN	0x401a
#define TPR_THRESHOLD			0x401c
#define SECONDARY_VM_EXEC_CONTROL	0x401e
#define VM_INSTRUCTION_ERROR		0x4400	/* read-only from here */
#define VM_EXIT_REASON			0x4402
#define VM_EXIT_INTR_INFO		0x4404
#define VM_EXIT_INTR_ERROR_CODE		0x4406
#define IDT_VECTORING_INFO		0x4408
#define IDT_VECTORING_ERROR_CODE	0x440a
#define VM_EXIT_INSTRUCTION_LEN		0x440c
#define VMX_INSTRUCTION_INFO		0x440e
#define GUEST_ES_LIMIT			0x4800
#define GUEST_CS_LIMIT			0x4802
#define GUEST_SS_LIMIT			0x4804
#define GUEST_DS_LIMIT			0x4806
#define GUEST_FS_LIMIT			0x4808
#define GUEST_GS_LIMIT			0x480a
#define GUEST_LDTR_LIMIT		0x480c
#define GUEST_TR_LIMIT			0x480e
#define GUEST_GDTR_LIMIT		0x4810
#define GUEST_IDTR_LIMIT		0x4812
#define GUEST_ES_AR_BYTES		0x4814
#define GUEST_CS_AR_BYTES		0x4816
#define GUEST_SS_AR_BYTES		0x4818
#define GUEST_DS_AR_BYTES		0x481a
#define GUEST_FS_AR_BYTES		0x481c
#define GUEST_GS_AR_BYTES		0x481e
#define GUEST_LDTR_AR_BYTES		0x4820
#define GUEST_TR_AR_BYTES		0x4822
#define GUEST_INTERRUPTIBILITY_INFO	0x4824
#define GUEST_ACTIVITY_STATE		0x4826
#define GUEST_SYSENTER_CS		0x482a
#define VMX_PREEMPTION_TIMER_VALUE	0x482e
#define HOST_IA32_SYSENTER_CS		0x4c00

/* --- natural-width fields (Appendix B.4) ------------------------------ */
#define CR0_GUEST_HOST_MASK		0x6000
#define CR4_GUEST_HOST_MASK		0x6002
#define CR0_READ_SHADOW			0x6004
#define CR4_READ_SHADOW			0x6006
#define EXIT_QUALIFICATION		0x6400	/* read-only */
#define GUEST_LINEAR_ADDRESS		0x640a	/* read-only */
#define GUEST_CR0			0x6800
#define GUEST_CR3			0x6802
#define GUEST_CR4			0x6804
#define GUEST_ES_BASE			0x6806
#define GUEST_CS_BASE			0x6808
#define GUEST_SS_BASE			0x680a
#define GUEST_DS_BASE			0x680c
#define GUEST_FS_BASE			0x680e
#define GUEST_GS_BASE			0x6810
#define GUEST_LDTR_BASE			0x6812
#define GUEST_TR_BASE			0x6814
#define GUEST_GDTR_BASE			0x6816
#define GUEST_IDTR_BASE			0x6818
#define GUEST_DR7			0x681a
#define GUEST_RSP			0x681c
#define GUEST_RIP			0x681e
#define GUEST_RFLAGS			0x6820
#define GUEST_PENDING_DBG_EXCEPTIONS	0x6822
#define GUEST_SYSENTER_ESP		0x6824
#define GUEST_SYSENTER_EIP		0x6826
#define HOST_CR0			0x6c00
#define HOST_CR3			0x6c02
#define HOST_CR4			0x6c04
#define HOST_FS_BASE			0x6c06
#define HOST_GS_BASE			0x6c08
#define HOST_TR_BASE			0x6c0a
#define HOST_GDTR_BASE			0x6c0c
#define HOST_IDTR_BASE			0x6c0e
#define HOST_IA32_SYSENTER_ESP		0x6c10
#define HOST_IA32_SYSENTER_EIP		0x6c12
#define HOST_RSP			0x6c14
#define HOST_RIP			0x6c16

/* --- control bits ----------------------------------------------------- */
/* Pin-based VM-execution controls (24.6.1, Table 24-5). */
#define PIN_EXTINT_EXITING		(1u << 0)
#define PIN_NMI_EXITING			(1u << 3)
#define PIN_VIRTUAL_NMIS		(1u << 5)
#define PIN_PREEMPTION_TIMER		(1u << 6)

/* Primary processor-based VM-execution controls (24.6.2, Table 24-6). */
#define CPU_INTR_WINDOW_EXITING		(1u << 2)
#define CPU_HLT_EXITING			(1u << 7)
#define CPU_INVLPG_EXITING		(1u << 9)
#define CPU_CR3_LOAD_EXITING		(1u << 15)
#define CPU_CR3_STORE_EXITING		(1u << 16)
#define CPU_USE_TPR_SHADOW		(1u << 21)
#define CPU_UNCOND_IO_EXITING		(1u << 24)
#define CPU_USE_IO_BITMAPS		(1u << 25)
#define CPU_USE_MSR_BITMAPS		(1u << 28)
#define CPU_ACTIVATE_SECONDARY		(1u << 31)

/* Secondary processor-based VM-execution controls (24.6.2, Table 24-7). */
#define CPU2_ENABLE_EPT			(1u << 1)
#define CPU2_ENABLE_RDTSCP		(1u << 3)
#define CPU2_ENABLE_VPID		(1u << 5)
#define CPU2_UNRESTRICTED_GUEST		(1u << 7)
#define CPU2_ENABLE_INVPCID		(1u << 12)

/* VM-exit controls (24.7.1, Table 24-13). */
#define EXIT_SAVE_DEBUG_CONTROLS	(1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE	(1u << 9)
#define EXIT_ACK_INTR_ON_EXIT		(1u << 15)
#define EXIT_SAVE_IA32_PAT		(1u << 18)
#define EXIT_LOAD_IA32_PAT		(1u << 19)
#define EXIT_SAVE_IA32_EFER		(1u << 20)
#define EXIT_LOAD_IA32_EFER		(1u << 21)

/* VM-entry controls (24.8.1, Table 24-15). */
#define ENTRY_LOAD_DEBUG_CONTROLS	(1u << 2)
#define ENTRY_IA32E_MODE_GUEST		(1u << 9)
#define ENTRY_LOAD_IA32_PAT		(1u << 14)
#define ENTRY_LOAD_IA32_EFER		(1u << 15)

/* Interruption-information fields: VM-entry (24.8.3), VM-exit (24.9.2),
 * IDT-vectoring (24.9.3) share this layout. */
#define INTR_INFO_VECTOR_MASK		0xffu
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		(7u << 8)
#define INTR_TYPE_EXT_INTR		0u
#define INTR_TYPE_NMI			2u
#define INTR_TYPE_HW_EXCEPTION		3u
#define INTR_TYPE_SW_INTR		4u
#define INTR_TYPE_PRIV_SW_EXCEPTION	5u
#define INTR_TYPE_SW_EXCEPTION		6u
#define INTR_INFO_DELIVER_CODE		(1u << 11)
#define INTR_INFO_VALID			(1u << 31)

/* Guest interruptibility state (24.4.2, Table 24-3). */
#define INTERRUPTIBILITY_STI		(1u << 0)
#define INTERRUPTIBILITY_MOV_SS		(1u << 1)
#define INTERRUPTIBILITY_NMI		(1u << 3)	/* blocking by NMI */

/* Activity state (24.4.2). */
#define ACTIVITY_ACTIVE			0u

/* Segment access rights as the VMCS stores them (24.4.1, Table 24-2). */
#define AR_TYPE_MASK			0xfu
#define AR_S				(1u << 4)	/* code/data */
#define AR_DPL_SHIFT			5
#define AR_P				(1u << 7)
#define AR_L				(1u << 13)
#define AR_DB				(1u << 14)
#define AR_G				(1u << 15)
#define AR_UNUSABLE			(1u << 16)

/* The exit-reason field (24.9.1): basic reason in 15:0, bit 31 = the
 * VM entry failed (and the exit happened while loading guest state). */
#define EXIT_REASON_BASIC_MASK		0xffffu
#define EXIT_REASON_ENTRY_FAILURE	(1u << 31)

/* Basic exit reasons (Appendix C). */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXTERNAL_INTERRUPT = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_IO_SMI = 5,
	VMX_EXIT_OTHER_SMI = 6,
	VMX_EXIT_INTERRUPT_WINDOW = 7,
	VMX_EXIT_NMI_WINDOW = 8,
	VMX_EXIT_TASK_SWITCH = 9,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_GETSEC = 11,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_INVLPG = 14,
	VMX_EXIT_RDPMC = 15,
	VMX_EXIT_RDTSC = 16,
	VMX_EXIT_RSM = 17,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21,
	VMX_EXIT_VMPTRST = 22,
	VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24,
	VMX_EXIT_VMWRITE = 25,
	VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_DR_ACCESS = 29,
	VMX_EXIT_IO_INSTRUCTION = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_INVALID_GUEST_STATE = 33,
	VMX_EXIT_MSR_LOADING = 34,
	VMX_EXIT_MWAIT = 36,
	VMX_EXIT_MONITOR_TRAP_FLAG = 37,
	VMX_EXIT_MONITOR = 39,
	VMX_EXIT_PAUSE = 40,
	VMX_EXIT_MACHINE_CHECK = 41,
	VMX_EXIT_TPR_BELOW_THRESHOLD = 43,
	VMX_EXIT_APIC_ACCESS = 44,
	VMX_EXIT_VIRTUALIZED_EOI = 45,
	VMX_EXIT_GDTR_IDTR = 46,
	VMX_EXIT_LDTR_TR = 47,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_RDTSCP = 51,
	VMX_EXIT_PREEMPTION_TIMER = 52,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_WBINVD = 54,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_APIC_WRITE = 56,
	VMX_EXIT_RDRAND = 57,
	VMX_EXIT_INVPCID = 58,
	VMX_EXIT_VMFUNC = 59,
	VMX_EXIT_ENCLS = 60,
	VMX_EXIT_RDSEED = 61,
	VMX_EXIT_PML_FULL = 62,
	VMX_EXIT_XSAVES = 63,
	VMX_EXIT_XRSTORS = 64,
	VMX_EXIT_REASON_MAX = 64
};

/* --- the instructions ------------------------------------------------- */
/* The outcome of a VMX instruction, from CF and ZF. */
enum vmx_status {
	VMX_OK = 0,
	VMX_FAIL_INVALID = 1,	/* CF=1: no current VMCS / bad operand */
	VMX_FAIL_VALID = 2,	/* ZF=1: see VM_INSTRUCTION_ERROR */
};

/* setc/setz right after the instruction, before anything touches RFLAGS. */
#define VMX_STATUS(cf, zf) \
	((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

static inline enum vmx_status vmx_on(u64 region_pa)
{
	u8 cf, zf;
	__asm__ volatile("vmxon %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "m"(region_pa)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

static inline enum vmx_status vmx_vmclear(u64 vmcs_pa)
{
	u8 cf, zf;
	__asm__ volatile("vmclear %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "m"(vmcs_pa)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

static inline enum vmx_status vmx_vmptrld(u64 vmcs_pa)
{
	u8 cf, zf;
	__asm__ volatile("vmptrld %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "m"(vmcs_pa)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

static inline enum vmx_status vmx_vmwrite(u64 field, u64 value)
{
	u8 cf, zf;
	/* AT&T order: value first, then the register holding the encoding. */
	__asm__ volatile("vmwrite %3, %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "r"(field), "rm"(value)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

static inline enum vmx_status vmx_vmread(u64 field, u64 *value)
{
	u8 cf, zf;
	u64 v = 0;
	/* VMREAD reports failure in the flags, so the value is only valid
	 * when both CF and ZF are clear. */
	__asm__ volatile("vmread %3, %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf), "=r"(v)
			 : "r"(field)
			 : "cc");
	*value = v;
	return VMX_STATUS(cf, zf);
}

/* INVEPT / INVVPID descriptors and types (SDM Vol. 3C 30.3). */
#define INVEPT_SINGLE_CONTEXT		1
#define INVEPT_ALL_CONTEXT		2
#define INVVPID_SINGLE_CONTEXT		1
#define INVVPID_ALL_CONTEXT		2

struct invept_desc {
	u64 eptp, reserved;
};

struct invvpid_desc {
	u64 vpid, linear_address;	/* VPID in bits 15:0, rest 0 */
};

static inline enum vmx_status vmx_invept(u64 type, const struct invept_desc *d)
{
	u8 cf, zf;
	__asm__ volatile("invept %2, %3; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "m"(*d), "r"(type)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

static inline enum vmx_status vmx_invvpid(u64 type,
					  const struct invvpid_desc *d)
{
	u8 cf, zf;
	__asm__ volatile("invvpid %2, %3; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "m"(*d), "r"(type)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

/* Checked accessors for the current VMCS (vmx.c): panic on failure. */
void vmcs_write(u64 field, u64 value);
u64 vmcs_read(u64 field);
/* For diagnostics: ~0 if the field cannot be read. */
u64 vmcs_read_or(u64 field, u64 fallback);

#endif
