/*
 * vmx.h - what the files of the VMX backend share, and nothing else sees.
 *
 *   vmx.c        VMX on (enable), the capability MSRs, the control values,
 *                the checked VMREAD/VMWRITE, the backend_ops table
 *   vmcs.c       one VMCS per vCPU: controls, host state, guest state
 *   vmexit.c     entering the guest and turning exits into struct vm_exit
 *   ept_format.c the EPT entry format (pure; ept_format.h)
 *   ept.c        this CPU's EPT format, the EPTP, INVEPT/INVVPID
 *   diag.c       names (VM-instruction errors, exit reasons) and the
 *                reports for failed entries and fatal errors
 *   vmx_entry.asm  VMLAUNCH/VMRESUME and the exit stub
 */
#ifndef ARCH_X86_VMX_VMX_H
#define ARCH_X86_VMX_VMX_H

#include "vmcs.h"
#include "../guest_regs.h"
#include "../../../hv/vm.h"

/* What this CPU's VMX offers and what we chose, fixed once by enable(). */
struct vmx_caps {
	u32 revision;		/* IA32_VMX_BASIC 30:0, for VMXON and VMCS */
	bool true_ctls;		/* IA32_VMX_BASIC bit 55 */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;	/* IA32_VMX_EPT_VPID_CAP */
	u32 preemption_rate;	/* IA32_VMX_MISC 4:0: timer ticks = TSC >> rate */
	/* The control words every VMCS gets (vmx_compute_controls()). */
	u32 pin, cpu, cpu2, exit, entry;
	/* Guest CR bits VMX forces either way: owned by us, shadowed. */
	u64 cr0_mask, cr4_mask;
	u64 cr4_valid;		/* CR4 bits a guest may set (vmx.c) */
	/* Shadow paging (vm=...,paging=shadow): the controls it needs are
	 * there, the masks of the bits a shadow VM's CPU differs in, and the
	 * EFER bits a guest may set (its EFER writes exit). */
	bool shadow_ok;
	u64 shadow_cr0_mask, shadow_cr4_mask;
	u64 efer_valid;
	u64 eptp_flags;		/* memory type, walk length, A/D enable */
	bool vpid;		/* VPID enabled in cpu2 */
	bool ins_outs_info;	/* IA32_VMX_BASIC bit 54: INS/OUTS exits
				   report address size and segment */
	bool invept_single, invept_all;
	bool invvpid_single, invvpid_all;
};

extern struct vmx_caps vmx;

/* The backend's per-vCPU state (struct vcpu's hw). */
struct vmx_vcpu {
	u64 vmcs_pa;		/* this vCPU's VMCS region */
	u64 msr_bitmap_pa;
	u16 vpid;		/* vm->id + 1: VPID 0 belongs to the host */
	bool launched;		/* VMLAUNCH succeeded: VMRESUME from now on */
	u64 eptp_root;		/* the SLAT root the EPTP was built from */
	u64 exit_rip;		/* guest RIP at the last exit */
	u64 cr2;		/* the guest's CR2: not in the VMCS (vmexit.c) */
	u64 vapic_pa;		/* virtual-APIC page: the guest's CR8 (TPR) */
	struct guest_dregs dregs; /* DR0-DR3, DR6: not in the VMCS */
	bool host_nmi;		/* selftest: meet a host NMI at the next entry */
	bool intr_window;	/* interrupt-window exiting is on */
	bool shadow;		/* shadow paging: EPT off */
	u64 cr0_mask, cr4_mask;	/* this VMCS's guest/host masks */
};

/* vmx.c */
void vmx_make_current(struct vmx_vcpu *hw);
void vmx_clear(u64 vmcs_pa);
u64 vmx_alloc_frame(void);	/* zeroed, and where VMX can address it */

/* vmcs.c */
int vmx_vcpu_create(struct vcpu *v, char *err, size_t errlen);
void vmx_vcpu_destroy(struct vcpu *v);
/* CR0/CR4 as VMX requires them, for the guest's wanted value. */
u64 vmx_guest_cr0(u64 wanted);
u64 vmx_guest_cr4(u64 wanted);

/* vmexit.c */
/* Shadow paging: gives the VMCS the paging registers the CPU runs the
 * guest with, from the guest's own (hv/vmmem.c vmmem_shadow_cpu()); false
 * with e saying why if its mode cannot be run so (VMCS current). */
bool vmx_load_paging(struct vcpu *v, struct vmx_vcpu *hw, struct vm_exit *e);
bool vmx_inject_page_fault(struct vcpu *v, u64 va, u32 error);
void vmx_flush_slat(struct vm *vm);

void vmx_raise_host_nmi(struct vcpu *v);
void vmx_vcpu_run(struct vcpu *v, struct vm_exit *exit);
void vmx_inject_exception(struct vcpu *v, u8 vector, bool has_error,
			  u32 error);
bool vmx_interruptible(struct vcpu *v);
void vmx_inject_interrupt(struct vcpu *v, u8 vector);
void vmx_set_intr_window(struct vcpu *v, bool on);

/* ept.c */
/* ept_format_for() this CPU's capabilities, from enable() on. */
extern struct slat_format ept_format;
u64 ept_pointer(u64 root);
void ept_flush(struct vm *vm);
void ept_flush_eptp(u64 eptp);
void vpid_flush(u16 vpid);
void ept_dump_walk(const struct slat *s, u64 gpa);
/* A one-line reason in err if this CPU's EPT cannot do what we need. */
int ept_check_caps(char *err, size_t errlen);

/* diag.c */
const char *vmx_instruction_error_name(u64 error);
const char *vmx_exit_reason_name(u32 basic);
void vmx_report_vmfail(const char *insn, enum vmx_status st);
void vmx_report_entry_failure(u32 reason);
void vmx_dump(struct vcpu *v);

/* vmx_entry.asm: loads regs, VMLAUNCH (launched == 0) or VMRESUME; returns
 * VMX_OK after a VM exit (regs saved back), else the VMX failure status. */
enum vmx_status vmx_enter(struct guest_regs *regs, u64 launched);
void vmx_exit_stub(void);

#endif
