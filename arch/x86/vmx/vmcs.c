/*
 * vmcs.c - one VMCS per vCPU, filled in completely before the first
 * VMLAUNCH (SDM Vol. 3C chapter 24 for the fields, chapter 26 for the
 * checks VM entry makes on them).
 *
 * The VMCS has four parts, set up by the four functions below:
 *
 *   controls   what exits: HLT, every I/O port, every MSR but the few the
 *              bitmap passes through, VMX instructions (always), physical
 *              interrupts and NMIs, and #UD (for VMMCALL); never the
 *              guest's other exceptions: its page faults are its business
 *              under EPT.  EPT with this VM's root, a VPID per VM.
 *   host       where an exit lands: the hypervisor's own CR0/CR3/CR4, GDT,
 *              IDT, TSS and segments, RIP = vmx_exit_stub; RSP is written
 *              by the stub itself before each entry (it is the stack of
 *              whoever called vcpu_run(), so no per-vCPU host stack).
 *   guest      the boot protocol's entry state (struct vcpu_boot): 32-bit
 *              protected mode, paging off, flat segments, EFLAGS 0x2.
 *   CR masks   CR0.NE and CR4.VMXE, which VMX forces on, are hidden behind
 *              the read shadows (vmx.c explains the masks).
 *   CR8        "use TPR shadow": the guest's MOV to/from CR8 reads and
 *              writes the TPR byte (offset 0x80) of its own virtual-APIC
 *              page, without an exit.  The TPR threshold is 0, so no
 *              write ever exits either ("TPR below threshold" needs
 *              VTPR[7:4] < threshold, SDM 29.1.2).  The local APIC's real
 *              TPR stays the hypervisor's: a guest that writes CR8 = 15
 *              cannot hold back the timer that ends its slice.
 *
 * The MSR bitmap (SDM 24.6.9) is one page of four 1 KiB bitmaps: reads of
 * MSRs 0-0x1fff, reads of 0xc0000000-0xc0001fff, then the same two for
 * writes.  A set bit makes the access exit.  All bits are set except for
 * the MSRs whose guest value the VMCS itself switches, so the guest may
 * own them outright: IA32_EFER (the guest sets LME and NXE on its way to
 * long mode; saved and loaded by the exit/entry controls) and the FS/GS
 * bases (guest-state fields).
 */
#include "vmx.h"
#include "../cpu.h"
#include "../gdt.h"
#include "../xstate.h"
#include "../../../hv/finish.h"
#include "../../../hv/fmt.h"
#include "../../../hv/hvmem.h"
#include "../../../hv/string.h"
#include "../../../hv/vmmem.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define VEC_UD			6
#define VEC_PF			14
#define MSR_IA32_PAT		0x277
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101

/* The power-up PAT (SDM Vol. 3A 11.12.4): WB, WT, UC-, UC, twice. */
#define PAT_POWER_UP		0x0007040600070406ull

#define RFLAGS_RESERVED1	(1ull << 1)

/* Flat 4 GiB segments for the boot entry state (Table 24-2 format).
 * Types: 0xb = code execute/read accessed, 0x3 = data read/write accessed
 * (VM entry insists on the accessed bit of usable segments), 0xb for TR =
 * busy 32-bit TSS (the only TSS types entry accepts). */
#define GUEST_CS_AR	(0xbu | AR_S | AR_P | AR_DB | AR_G)
#define GUEST_DATA_AR	(0x3u | AR_S | AR_P | AR_DB | AR_G)
#define GUEST_TR_AR	(0xbu | AR_P)
#define GUEST_FLAT_LIMIT 0xffffffffu
#define GUEST_TR_LIMIT_VALUE 0x67	/* a minimal 32-bit TSS */

/*
 * The VMX-preemption timer bounds how long the guest runs without an exit:
 * it counts down from this many TSC ticks (scaled by IA32_VMX_MISC's rate)
 * and is reloaded at every entry, so only a guest that runs that long
 * without any other exit ever sees it (EXIT_TIMER).  The scheduler's time
 * slices come from the local APIC timer (an external-interrupt exit); the
 * preemption timer is the backstop that makes the hypervisor look at its
 * pending interrupts even if that exit does not come.  It does not come
 * under Bochs 2.7 for a guest that spins with IF = 0 after the host
 * itself executed CLI: Bochs loads the guest's RFLAGS before it counts as
 * "in VMX non-root operation", so it keeps INTR masked by the guest's IF
 * despite "external-interrupt exiting" (real CPUs exit regardless of IF).
 * 2^22 ticks: 42 ms of Bochs's 100 MHz TSC, about 1.4 ms at 3 GHz.
 */
#define PREEMPTION_TIMER_TSC_TICKS (1ull << 22)

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

static struct vmx_vcpu vcpu_pool[VM_MAX];

u64 vmx_guest_cr0(u64 wanted)
{
	return (wanted | (vmx.cr0_fixed0 & ~(CR0_PE | CR0_PG))) &
	       vmx.cr0_fixed1;
}

u64 vmx_guest_cr4(u64 wanted)
{
	return (wanted | vmx.cr4_fixed0) & vmx.cr4_fixed1;
}

static void msr_pass_through(u8 *bitmap, u32 msr)
{
	u32 base;

	if (msr <= 0x1fff) {
		base = 0;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		base = 1024;
		msr -= 0xc0000000;
	} else {
		panic("vmx: MSR 0x%x is outside the MSR bitmap's ranges", msr);
	}
	bitmap[base + msr / 8] &= (u8)~(1u << (msr % 8));		/* read */
	bitmap[2048 + base + msr / 8] &= (u8)~(1u << (msr % 8));	/* write */
}

static void setup_controls(struct vcpu *v, struct vmx_vcpu *hw)
{
	u32 cpu = vmx.cpu, cpu2 = vmx.cpu2, exc = 1u << VEC_UD;

	hw->cr0_mask = vmx.cr0_mask;
	hw->cr4_mask = vmx.cr4_mask;
	if (hw->shadow) {
		/* Shadow paging (vmx.c explains the masks): the guest's CR3,
		 * INVLPG and page faults are the hypervisor's; EPT is off,
		 * and with it unrestricted guest. */
		cpu |= CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING |
		       CPU_INVLPG_EXITING;
		cpu2 &= ~(CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST);
		exc |= 1u << VEC_PF;
		hw->cr0_mask = vmx.shadow_cr0_mask;
		hw->cr4_mask = vmx.shadow_cr4_mask;
	}
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx.pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, cpu);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, cpu2);
	vmcs_write(VM_EXIT_CONTROLS, vmx.exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmx.entry);

	/* #UD only: it may be AMD's VMMCALL, which the guest ABI accepts as
	 * a hypercall on Intel too (vmexit.c); any other #UD goes straight
	 * back to the guest.  With bit 14 clear the guest's page faults never
	 * exit, and the #PF mask/match pair is irrelevant (SDM 25.2). */
	vmcs_write(EXCEPTION_BITMAP, exc);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	/* With CR3-load exiting forced on by a CPU, count 0 means every MOV
	 * to CR3 exits (vmexit.c emulates it). */
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO, 0);
	vmcs_write(TSC_OFFSET, 0);
	vmcs_write(MSR_BITMAP, hw->msr_bitmap_pa);
	vmcs_write(VIRTUAL_APIC_PAGE_ADDR, hw->vapic_pa);
	vmcs_write(TPR_THRESHOLD, 0);

	if (vmx.vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, hw->vpid);
	hw->eptp_root = hw->shadow ? 0 : v->vm->mem.slat.root;
	if (!hw->shadow)
		vmcs_write(EPT_POINTER, ept_pointer(hw->eptp_root));

	vmcs_write(CR0_GUEST_HOST_MASK, hw->cr0_mask);
	vmcs_write(CR4_GUEST_HOST_MASK, hw->cr4_mask);
}

static u64 tss_base(const struct desc_ptr *gdtr, u16 tr)
{
	const u64 *gdt = (const u64 *)gdtr->base;
	u64 lo = gdt[tr / 8], hi = gdt[tr / 8 + 1];

	/* A 16-byte system descriptor (SDM Vol. 3A 8.2.3). */
	return ((lo >> 16) & 0xffffff) | ((lo >> 56) << 24) | (hi << 32);
}

static void setup_host(void)
{
	struct desc_ptr gdtr, idtr;
	u16 tr;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	__asm__ volatile("str %0" : "=r"(tr));
	if (tr != GDT_TSS)
		panic("vmx: TR is 0x%x, expected the hypervisor's TSS 0x%x", tr,
		      GDT_TSS);

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());

	/* The selectors gdt_init() loaded; entry requires RPL = TI = 0. */
	vmcs_write(HOST_CS_SELECTOR, GDT_CODE64);
	vmcs_write(HOST_SS_SELECTOR, GDT_DATA);
	vmcs_write(HOST_DS_SELECTOR, GDT_DATA);
	vmcs_write(HOST_ES_SELECTOR, GDT_DATA);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_TSS);
	vmcs_write(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(HOST_TR_BASE, tss_base(&gdtr, tr));
	vmcs_write(HOST_GDTR_BASE, gdtr.base);
	vmcs_write(HOST_IDTR_BASE, idtr.base);

	/* Every exit loads the SYSENTER MSRs from here; we never use
	 * SYSENTER, so keep ours as they are (the addresses must only be
	 * canonical). */
	vmcs_write(HOST_IA32_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_EFER));
	if (vmx.exit & EXIT_LOAD_IA32_PAT)
		vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));

	vmcs_write(HOST_RIP, (u64)vmx_exit_stub);
}

static void guest_segment(u32 sel_field, u16 sel, u32 ar)
{
	/* The segment fields come in parallel groups: selector 0x08xx,
	 * limit 0x48xx, access rights 0x4814 + same offset, base 0x68xx. */
	u32 i = sel_field - GUEST_ES_SELECTOR;

	vmcs_write(sel_field, sel);
	vmcs_write(GUEST_ES_LIMIT + i, GUEST_FLAT_LIMIT);
	vmcs_write(GUEST_ES_AR_BYTES + i, ar);
	vmcs_write(GUEST_ES_BASE + i, 0);
}

bool vmx_load_paging(struct vcpu *v, struct vmx_vcpu *hw, struct vm_exit *e)
{
	struct shadow_cpu c;
	const char *why = vmmem_shadow_cpu(v, &c);
	u64 entry = vmcs_read(VM_ENTRY_CONTROLS);

	if (why) {
		*e = (struct vm_exit){ .reason = EXIT_CANNOT_RUN, .stop.why = why };
		return false;
	}
	/* Without unrestricted guest every FIXED0 bit is forced, PE and PG
	 * among them (the shadow masks hide them). */
	vmcs_write(GUEST_CR0, (c.cr0 | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	vmcs_write(CR0_READ_SHADOW, v->cr0);
	vmcs_write(GUEST_CR3, c.cr3);
	vmcs_write(GUEST_CR4, vmx_guest_cr4(c.cr4));
	vmcs_write(CR4_READ_SHADOW, v->cr4);
	vmcs_write(GUEST_IA32_EFER, c.efer);
	vmcs_write(VM_ENTRY_CONTROLS, c.efer & EFER_LMA
					      ? entry | ENTRY_IA32E_MODE_GUEST
					      : entry & ~(u64)ENTRY_IA32E_MODE_GUEST);
	/* A new root or new rules: natively a TLB flush. */
	if (vmx.vpid)
		vpid_flush(hw->vpid);
	return true;
}

static void setup_guest(struct vcpu *v)
{
	const u64 cr0 = CR0_PE | CR0_ET;	/* Multiboot: PE, paging off */

	vmcs_write(GUEST_CR0, vmx_guest_cr0(cr0));
	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_CR4, vmx_guest_cr4(0));
	vmcs_write(CR4_READ_SHADOW, 0);
	vmcs_write(GUEST_IA32_EFER, 0);
	v->cr0 = cr0;
	v->cr3 = 0;
	v->cr4 = 0;
	v->efer = 0;

	const struct vcpu_boot *b = &v->boot;
	guest_segment(GUEST_CS_SELECTOR, b->code_sel, GUEST_CS_AR);
	guest_segment(GUEST_SS_SELECTOR, b->data_sel, GUEST_DATA_AR);
	guest_segment(GUEST_DS_SELECTOR, b->data_sel, GUEST_DATA_AR);
	guest_segment(GUEST_ES_SELECTOR, b->data_sel, GUEST_DATA_AR);
	guest_segment(GUEST_FS_SELECTOR, b->data_sel, GUEST_DATA_AR);
	guest_segment(GUEST_GS_SELECTOR, b->data_sel, GUEST_DATA_AR);

	/* TR must be usable even though the guest never switches tasks;
	 * it loads its own TSS before it needs one. */
	vmcs_write(GUEST_TR_SELECTOR, 0);
	vmcs_write(GUEST_TR_BASE, 0);
	vmcs_write(GUEST_TR_LIMIT, GUEST_TR_LIMIT_VALUE);
	vmcs_write(GUEST_TR_AR_BYTES, GUEST_TR_AR);
	vmcs_write(GUEST_LDTR_SELECTOR, 0);
	vmcs_write(GUEST_LDTR_BASE, 0);
	vmcs_write(GUEST_LDTR_LIMIT, 0);
	vmcs_write(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	/* GDTR is the loader's (struct vcpu_boot); IDTR is undefined at
	 * either protocol's entry: the guest loads its own. */
	vmcs_write(GUEST_GDTR_BASE, b->gdt_base);
	vmcs_write(GUEST_GDTR_LIMIT, b->gdt_limit);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);

	vmcs_write(GUEST_DR7, DR7_RESET);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_RSP, v->regs.rsp);
	vmcs_write(GUEST_RIP, v->regs.rip);
	v->regs.rflags |= RFLAGS_RESERVED1;	/* IF = 0 per Multiboot */
	vmcs_write(GUEST_RFLAGS, v->regs.rflags);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	if (vmx.entry & ENTRY_LOAD_IA32_PAT)
		vmcs_write(GUEST_IA32_PAT, PAT_POWER_UP);
	if (vmx.pin & PIN_PREEMPTION_TIMER)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE,
			   MAX(PREEMPTION_TIMER_TSC_TICKS >> vmx.preemption_rate,
			       1ull));
	/* No shadow VMCS: the link pointer must be all ones (SDM 26.3.1.5). */
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
}

static void free_hw(struct vmx_vcpu *hw)
{
	if (hw->msr_bitmap_pa)
		hv_frames_free(hw->msr_bitmap_pa, 1);
	if (hw->vapic_pa)
		hv_frames_free(hw->vapic_pa, 1);
	guest_dregs_forget(&hw->dregs);
	if (hw->vmcs_pa)
		hv_frames_free(hw->vmcs_pa, 1);
	*hw = (struct vmx_vcpu){ 0 };
}

int vmx_vcpu_create(struct vcpu *v, char *err, size_t errlen)
{
	struct vmx_vcpu *hw = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(vcpu_pool); i++)
		if (!vcpu_pool[i].vmcs_pa) {
			hw = &vcpu_pool[i];
			break;
		}
	if (!hw) {
		fmt_snprintf(err, errlen, "VMX: all %d vCPU slots in use",
			     VM_MAX);
		return -1;
	}
	if (!v->vm->mem.slat.root) {
		fmt_snprintf(err, errlen, "VMX: vm%d has no EPT root", v->vm->id);
		return -1;
	}
	if (v->vm->shadow_paging && !vmx.shadow_ok) {
		fmt_snprintf(err, errlen, "VMX: vm%d: paging=shadow needs CR3-load, "
			     "CR3-store and INVLPG exiting, which this CPU "
			     "lacks", v->vm->id);
		return -1;
	}

	hw->vmcs_pa = vmx_alloc_frame();
	hw->msr_bitmap_pa = vmx_alloc_frame();
	hw->vapic_pa = vmx_alloc_frame();	/* zero: TPR 0 at reset */
	if (!hw->vmcs_pa || !hw->msr_bitmap_pa || !hw->vapic_pa ||
	    xstate_vcpu_init(v) < 0) {
		free_hw(hw);
		xstate_vcpu_destroy(v);
		fmt_snprintf(err, errlen, "VMX: no memory for a VMCS");
		return -1;
	}
	/* VPID 0 is the host's (entry refuses it for a guest). */
	hw->vpid = (u16)(v->vm->id + 1);

	/* Bits 30:0 the revision, bit 31 clear: an ordinary, not a shadow,
	 * VMCS (SDM 24.2). */
	*(u32 *)hv_ptr(hw->vmcs_pa) = vmx.revision;
	u8 *bitmap = hv_ptr(hw->msr_bitmap_pa);
	memset(bitmap, 0xff, PAGE_SIZE);
	/* A shadow-paged guest's EFER is the hypervisor's to give the CPU
	 * (vmexit.c efer_access()). */
	hw->shadow = v->vm->shadow_paging;
	if (!hw->shadow)
		msr_pass_through(bitmap, MSR_EFER);
	msr_pass_through(bitmap, MSR_FS_BASE);
	msr_pass_through(bitmap, MSR_GS_BASE);

	/* VMCLEAR puts the VMCS in the "clear" launch state, which the first
	 * VMLAUNCH requires; VMPTRLD makes it the one VMREAD/VMWRITE use. */
	vmx_clear(hw->vmcs_pa);
	vmx_make_current(hw);
	setup_controls(v, hw);
	setup_host();
	setup_guest(v);
	struct vm_exit none;
	if (hw->shadow && !vmx_load_paging(v, hw, &none)) {
		fmt_snprintf(err, errlen, "%s: %s", v->vm->name, none.stop.why);
		vmx_clear(hw->vmcs_pa);
		free_hw(hw);
		xstate_vcpu_destroy(v);
		return -1;
	}
	hw->launched = false;
	hw->intr_window = false;
	hw->exit_rip = v->regs.rip;
	hw->cr2 = 0;
	guest_dregs_init(&hw->dregs);
	v->hw = hw;

	/* A VPID or an EPT root used by an earlier VM may still tag stale
	 * translations; nothing of them may survive into this one. */
	if (!hw->shadow)
		ept_flush_eptp(ept_pointer(hw->eptp_root));
	if (vmx.vpid)
		vpid_flush(hw->vpid);
	return 0;
}

void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *hw = v->hw;

	if (!hw)
		return;
	/* VMCLEAR writes back whatever the CPU caches of the VMCS, so the
	 * page can be freed safely. */
	vmx_clear(hw->vmcs_pa);
	if (!hw->shadow)
		ept_flush_eptp(ept_pointer(hw->eptp_root));
	free_hw(hw);
	xstate_vcpu_destroy(v);
	v->hw = NULL;
}
