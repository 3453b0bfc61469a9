/*
 * vmexit.c - running a vCPU: one VM entry, one VM exit, one struct vm_exit.
 *
 * Around each entry (SDM Vol. 3C chapters 26-27):
 *
 *   before   the core may have changed regs (a hypercall result, RIP past
 *            the exiting instruction): RIP/RSP/RFLAGS go into the VMCS,
 *            the other registers are loaded by the stub from regs.  If
 *            RIP moved, the instruction was skipped, and an STI or MOV SS
 *            interrupt shadow it sat in ends with it (KVM does the same:
 *            entry refuses STI blocking with IF = 0, for one).
 *            CR2 is not in the VMCS at all (the guest-state area holds
 *            CR0, CR3 and CR4 only, SDM 24.4.1), so with several VMs on
 *            one CPU it is ours to switch: the guest's own goes back in.
 *            Otherwise a guest preempted between a page fault and its
 *            handler's MOV from CR2 reads the address another VM faulted
 *            on.  DR0-DR3 and DR6 are not in the VMCS either (DR7 is, with
 *            the debug-controls entry/exit controls): guest_regs.c
 *            switches them the same way.
 *   enter    vmx_entry.asm: VMLAUNCH the first time, VMRESUME after.
 *   after    the stub has stored the guest's registers in regs; RIP, RSP,
 *            RFLAGS, CR0/CR3/CR4 (as the guest sees them, through the
 *            read shadows) and EFER come from the VMCS, CR2 from the CPU.
 *            An event the guest was in the middle of delivering when the
 *            exit came (a #PF whose handler stack page the SLAT had not
 *            populated yet, say) is put back for the next entry from the
 *            IDT-vectoring field ("Information for VM Exits During Event
 *            Delivery", SDM 27.2.4), or the guest would lose it.
 *
 * The exit is then named in neutral terms for hv/exit.c.  The one kind
 * handled here, because it is VMX's own doing, is a MOV to CR0/CR4 that
 * touches the bits the guest/host masks own (and MOV to/from CR3 if a CPU
 * forces CR3 exiting): it is emulated and the guest re-entered without
 * the core hearing of it.  A #UD exit is looked at once: if the guest ran
 * AMD's VMMCALL it becomes a hypercall, if an SVM instruction it is named
 * like the VMX ones that exit by themselves (arch/x86/virt_insn.c),
 * otherwise it is an exception the core hands back to the guest.
 */
#include "vmx.h"
#include "../cpu.h"
#include "../cr_check.h"
#include "../insn_decode.h"
#include "../lapic.h"
#include "../trap.h"
#include "../virt_insn.h"
#include "../xstate.h"
#include "../../../hv/bench.h"
#include "../../../hv/console.h"
#include "../../../hv/finish.h"
#include "../../../hv/vmmem.h"

/* Exit qualification for I/O instructions (SDM 27.2.1, Table 27-5). */
#define IO_QUAL_SIZE_MASK	0x7u	/* size - 1 */
#define IO_QUAL_IN		(1u << 3)
#define IO_QUAL_STRING		(1u << 4)
#define IO_QUAL_REP		(1u << 5)
#define IO_QUAL_PORT_SHIFT	16

/* VM-exit instruction information for INS/OUTS (SDM 27.2.5, Table 27-8),
 * reported where IA32_VMX_BASIC bit 54 says so: address size in bits 9:7
 * (0 = 16, 1 = 32, 2 = 64 bits), the segment of OUTS in bits 17:15. */
#define IO_INFO_ADDR_SIZE(i)	(((i) >> 7) & 7)
#define IO_INFO_SEG(i)		(((i) >> 15) & 7)

/* Exit qualification for EPT violations (Table 27-7): the access in bits
 * 2:0, what the entry allowed in bits 5:3 (all zero = not present). */
#define EPT_QUAL_READ		(1u << 0)
#define EPT_QUAL_WRITE		(1u << 1)
#define EPT_QUAL_EXEC		(1u << 2)
#define EPT_QUAL_PERMS_MASK	(7u << 3)
/* Bit 7: the guest-linear address is valid; with it, bit 8 clear means
 * the access was to a guest paging-structure entry (SDM Table 28-7). */
#define EPT_QUAL_GLA_VALID	(1u << 7)
#define EPT_QUAL_GLA_FINAL	(1u << 8)

/* Exit qualification for control-register accesses (Table 27-3). */
#define CR_QUAL_NUMBER(q)	((q) & 0xf)
#define CR_QUAL_TYPE(q)		(((q) >> 4) & 3)
#define CR_QUAL_GPR(q)		(((q) >> 8) & 0xf)
#define CR_ACCESS_MOV_TO	0
#define CR_ACCESS_MOV_FROM	1

#define VEC_UD 6
#define VEC_GP 13

/* Vectors that push an error code (SDM Vol. 3A Table 6-1). */
static bool vector_has_error_code(u8 v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
}

/* --- exceptions ------------------------------------------------------- */

void vmx_inject_exception(struct vcpu *v, u8 vector, bool has_error,
			  u32 error)
{
	u32 type = vector == 2 ? INTR_TYPE_NMI : INTR_TYPE_HW_EXCEPTION;
	u32 info = vector | (type << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;

	vmx_make_current(v->hw);
	/* Entry delivers an error code only for the vectors that have one,
	 * and only in protected mode (checked by entry, SDM 26.2.1.3). */
	if (has_error && vector_has_error_code(vector) &&
	    (vmcs_read(GUEST_CR0) & CR0_PE)) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write(VM_ENTRY_INTR_INFO, info);
}

/* --- virtual interrupts (hv/vintr.c) ---------------------------------- */

/* IF set, no STI/MOV SS blocking (prepare_entry ends it when RIP moved),
 * no event already in the entry's interruption-information field. */
bool vmx_interruptible(struct vcpu *v)
{
	struct vmx_vcpu *hw = v->hw;

	vmx_make_current(hw);
	bool shadow = v->regs.rip == hw->exit_rip &&
		      (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
		       (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	return (v->regs.rflags & RFLAGS_IF) && !shadow &&
	       !(vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
}

void vmx_inject_interrupt(struct vcpu *v, u8 vector)
{
	vmx_make_current(v->hw);
	vmcs_write(VM_ENTRY_INTR_INFO, vector |
		   (INTR_TYPE_EXT_INTR << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
}

/* Interrupt-window exiting (SDM 25.2): an exit, reason 7, before any
 * instruction at which RFLAGS.IF = 1 and nothing blocks interrupts. */
void vmx_set_intr_window(struct vcpu *v, bool on)
{
	struct vmx_vcpu *hw = v->hw;

	if (hw->intr_window == on)
		return;
	vmx_make_current(hw);
	hw->intr_window = on;
	u64 ctl = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL,
		   on ? ctl | CPU_INTR_WINDOW_EXITING
		      : ctl & ~(u64)CPU_INTR_WINDOW_EXITING);
}

/* Puts back an event whose delivery the exit interrupted. */
static void requeue_interrupted_event(void)
{
	u32 idt = (u32)vmcs_read(IDT_VECTORING_INFO);

	if (!(idt & INTR_INFO_VALID))
		return;
	u32 type = (idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	/* Bits 30:12 of the entry field are reserved; keep vector, type,
	 * error-code flag and valid. */
	vmcs_write(VM_ENTRY_INTR_INFO,
		   idt & (INTR_INFO_VECTOR_MASK | INTR_INFO_TYPE_MASK |
			  INTR_INFO_DELIVER_CODE | INTR_INFO_VALID));
	if (idt & INTR_INFO_DELIVER_CODE)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
			   vmcs_read(IDT_VECTORING_ERROR_CODE));
	/* Software interrupts and exceptions are re-executed as events with
	 * the instruction's length, so RIP advances past INT n etc. */
	if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN,
			   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

/* --- control registers ------------------------------------------------ */

enum cr_result { CR_DONE, CR_FAULT, CR_UNHANDLED, CR_STOP };

/* The guest's TLB entries after an emulated control-register write that
 * would have flushed them natively: all of this VPID's (with VPID off,
 * every entry and exit flushes anyway). */
static void flush_guest_tlb(struct vcpu *v)
{
	if (vmx.vpid)
		vpid_flush(((struct vmx_vcpu *)v->hw)->vpid);
}

static bool legacy_pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* The guest's control state as it sees it, for cr_check.c: what
 * save_guest_state() made of the VMCS at this exit. */
static struct cr_state guest_cr_state(const struct vcpu *v)
{
	return (struct cr_state){
		.cr0 = v->cr0, .cr3 = v->cr3, .cr4 = v->cr4, .efer = v->efer,
		.cs_l = vmcs_read(GUEST_CS_AR_BYTES) & AR_L,
	};
}

/*
 * Shadow paging: the guest's own CR0/CR3/CR4 (v->cr*) after a write the
 * checks allowed, given to the CPU as vmx_load_paging() derives it.  With
 * EFER.LME, paging on enters IA-32e mode and paging off leaves it, as
 * natively (vmx_load_paging() sets the entry control from it).
 */
static enum cr_result shadow_cr_write(struct vcpu *v, unsigned cr, u64 val,
				      struct vm_exit *exit)
{
	const struct cr_state s = guest_cr_state(v);

	if (cr == 0) {
		if (cr0_write_faults(&s, val) || (val & ~vmx.cr0_fixed1))
			return CR_FAULT;
		if ((val & CR0_PG) && !(s.cr0 & CR0_PG) && (s.efer & EFER_LME))
			v->efer |= EFER_LMA;
		else if (!(val & CR0_PG) && (s.cr0 & CR0_PG))
			v->efer &= ~EFER_LMA;
		v->cr0 = val;
	} else if (cr == 4) {
		if (cr4_write_faults(&s, val, vmx.cr4_valid & ~SHADOW_CR4_REFUSED))
			return CR_FAULT;
		v->cr4 = val;
	} else {
		if (cr3_write_faults(&s, val))
			return CR_FAULT;
		v->cr3 = val;
	}
	return vmx_load_paging(v, v->hw, exit) ? CR_DONE : CR_STOP;
}

static enum cr_result mov_to_cr0(struct vcpu *v, u64 val)
{
	struct cr_state s = guest_cr_state(v);
	u64 old = vmcs_read(GUEST_CR0);
	u64 efer = s.efer;
	u64 entry = vmcs_read(VM_ENTRY_CONTROLS);

	/* What the CPU would refuse natively (cr_check.c), and what it
	 * cannot do in VMX operation. */
	if (cr0_write_faults(&s, val) || (val & ~vmx.cr0_fixed1))
		return CR_FAULT;

	/* Turning paging on or off switches IA-32e mode when EFER.LME is
	 * set; natively the CPU does that, here the VMM must (SDM 26.3.1.1:
	 * the entry control and EFER.LMA must agree).  Turning it off is
	 * only allowed from compatibility mode (cr_check.c). */
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E_MODE_GUEST;
	} else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
		entry &= ~ENTRY_IA32E_MODE_GUEST;
	}
	/* Legacy PAE paging would need the PDPTEs loaded into the VMCS from
	 * guest memory; no guest of ours uses it. */
	if (legacy_pae_paging(val, s.cr4, efer))
		return CR_UNHANDLED;

	vmcs_write(GUEST_CR0, vmx_guest_cr0(val));
	vmcs_write(CR0_READ_SHADOW, val);
	vmcs_write(GUEST_IA32_EFER, efer);
	vmcs_write(VM_ENTRY_CONTROLS, entry);
	if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE))
		flush_guest_tlb(v);
	return CR_DONE;
}

/* Setting a bit outside vmx.cr4_valid is a #GP: VMXE above all, which
 * VMX forces on in GUEST_CR4 but CPUID hides from the guest. */
static enum cr_result mov_to_cr4(struct vcpu *v, u64 val)
{
	struct cr_state s = guest_cr_state(v);
	u64 old = s.cr4;
	u64 efer = s.efer;

	if (cr4_write_faults(&s, val, vmx.cr4_valid))
		return CR_FAULT;
	if (legacy_pae_paging(vmcs_read(GUEST_CR0), val, efer))
		return CR_UNHANDLED;
	vmcs_write(GUEST_CR4, vmx_guest_cr4(val));
	vmcs_write(CR4_READ_SHADOW, val);
	if ((old ^ val) & (CR4_PGE | CR4_PAE | CR4_PSE))
		flush_guest_tlb(v);
	return CR_DONE;
}

static enum cr_result mov_to_cr3(struct vcpu *v, u64 val)
{
	if (legacy_pae_paging(vmcs_read(GUEST_CR0), vmcs_read(GUEST_CR4),
			      vmcs_read(GUEST_IA32_EFER)))
		return CR_UNHANDLED;
	vmcs_write(GUEST_CR3, val);
	flush_guest_tlb(v);	/* a native MOV to CR3 flushes non-global */
	return CR_DONE;
}

/* true if the access was emulated (or faulted) and the guest can go on;
 * false with exit filled if the core must see it. */
static bool handle_cr_access(struct vcpu *v, u64 qual, struct vm_exit *exit)
{
	unsigned cr = CR_QUAL_NUMBER(qual);
	u64 *reg = guest_gpr(&v->regs, CR_QUAL_GPR(qual));
	bool long_mode = vmcs_read(GUEST_CS_AR_BYTES) & AR_L;
	bool shadow = ((struct vmx_vcpu *)v->hw)->shadow;
	enum cr_result r = CR_UNHANDLED;

	switch (CR_QUAL_TYPE(qual)) {
	case CR_ACCESS_MOV_TO: {
		/* Outside 64-bit mode the operand is the register's low half. */
		u64 val = long_mode ? *reg : (u32)*reg;
		if (shadow && (cr == 0 || cr == 3 || cr == 4))
			r = shadow_cr_write(v, cr, val, exit);
		else if (cr == 0)
			r = mov_to_cr0(v, val);
		else if (cr == 4)
			r = mov_to_cr4(v, val);
		else if (cr == 3)
			r = mov_to_cr3(v, val);
		break;
	}
	case CR_ACCESS_MOV_FROM:
		if (cr == 3) {	/* with shadow paging the CPU's is the root */
			u64 val = shadow ? v->cr3 : vmcs_read(GUEST_CR3);
			*reg = long_mode ? val : (u32)val;
			r = CR_DONE;
		}
		break;
	default:	/* CLTS, LMSW: our masks never make them exit */
		break;
	}
	if (r == CR_UNHANDLED) {
		exit->reason = EXIT_CR_ACCESS;
		hv_log("vmx: %s: unemulated control-register access, "
		       "qualification 0x%llx", v->vm->name,
		       (unsigned long long)qual);
		return false;
	}
	if (r == CR_STOP)
		return false;
	if (r == CR_FAULT)
		vmx_inject_exception(v, VEC_GP, true, 0);
	else
		v->regs.rip += vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	return true;
}

/*
 * Shadow paging: RDMSR and WRMSR of EFER, the guest's own
 * (vmx_load_paging() gives the CPU the EFER it runs with).  A write the
 * CPU would refuse is a #GP; LMA is the CPU's, so the guest's value for it
 * is ignored.  true to re-enter; false with exit filled.
 */
static bool efer_access(struct vcpu *v, bool write, struct vm_exit *exit)
{
	struct guest_regs *r = &v->regs;
	const struct cr_state s = guest_cr_state(v);

	if (!write) {
		r->rax = (u32)v->efer;
		r->rdx = v->efer >> 32;
		r->rip += vmcs_read(VM_EXIT_INSTRUCTION_LEN);
		return true;
	}
	u64 val = (r->rdx & 0xffffffffull) << 32 | (r->rax & 0xffffffffull);
	const char *bad = efer_write(&s, val, vmx.efer_valid, &v->efer);
	if (bad) {
		hv_log("%s: WRMSR EFER = 0x%llx at RIP 0x%llx: %s: injecting "
		       "#GP", v->vm->name, (unsigned long long)val,
		       (unsigned long long)r->rip, bad);
		vmx_inject_exception(v, VEC_GP, true, 0);
		return true;
	}
	if (!vmx_load_paging(v, v->hw, exit))
		return false;
	r->rip += vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	return true;
}

/* Shadow paging: the guest's own #PF; met while the CPU delivered another
 * exception (re-queued for this entry), a #DF or a triple fault. */
bool vmx_inject_page_fault(struct vcpu *v, u64 va, u32 error)
{
	struct vmx_vcpu *hw = v->hw;

	vmx_make_current(hw);
	u32 pending = (u32)vmcs_read(VM_ENTRY_INTR_INFO);
	int vec = VEC_PF;
	if ((pending & INTR_INFO_VALID) &&
	    ((pending & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) ==
		    INTR_TYPE_HW_EXCEPTION)
		vec = exc_pf_during((u8)(pending & INTR_INFO_VECTOR_MASK));
	if (vec < 0)
		return false;
	if (vec == VEC_PF)
		hw->cr2 = va;	/* prepare_entry() loads it into CR2 */
	vmx_inject_exception(v, (u8)vec, true, vec == VEC_PF ? error : 0);
	return true;
}

/* --- the exit --------------------------------------------------------- */

static void save_guest_state(struct vcpu *v, struct vmx_vcpu *hw)
{
	hw->cr2 = read_cr2();
	guest_dregs_save(&hw->dregs, true);
	v->regs.rip = vmcs_read(GUEST_RIP);
	v->regs.rsp = vmcs_read(GUEST_RSP);
	v->regs.rflags = vmcs_read(GUEST_RFLAGS);
	hw->exit_rip = v->regs.rip;
	/* The guest's view: its own value in the bits it owns, the read
	 * shadow in the bits the mask gives to us. */
	v->cr0 = (vmcs_read(GUEST_CR0) & ~hw->cr0_mask) |
		 (vmcs_read(CR0_READ_SHADOW) & hw->cr0_mask);
	v->cr4 = (vmcs_read(GUEST_CR4) & ~hw->cr4_mask) |
		 (vmcs_read(CR4_READ_SHADOW) & hw->cr4_mask);
	if (!hw->shadow) {	/* else the guest's own, kept in v */
		v->cr3 = vmcs_read(GUEST_CR3);
		v->efer = vmcs_read(GUEST_IA32_EFER);
	}
	/* CPL is SS.DPL (SDM 24.4.1: the VMCS has no CPL field). */
	v->cpl = (u8)((vmcs_read(GUEST_SS_AR_BYTES) >> AR_DPL_SHIFT) & 3);
}

static void prepare_entry(struct vcpu *v, struct vmx_vcpu *hw)
{
	/* The core may have rebuilt the SLAT from scratch. */
	if (!hw->shadow && v->vm->mem.slat.root != hw->eptp_root) {
		hw->eptp_root = v->vm->mem.slat.root;
		vmcs_write(EPT_POINTER, ept_pointer(hw->eptp_root));
		ept_flush_eptp(ept_pointer(hw->eptp_root));
	}
	if (v->regs.rip != hw->exit_rip) {
		u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
		if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
			vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
				   intr & ~(u64)(INTERRUPTIBILITY_STI |
						 INTERRUPTIBILITY_MOV_SS));
	}
	vmcs_write(GUEST_RIP, v->regs.rip);
	vmcs_write(GUEST_RSP, v->regs.rsp);
	vmcs_write(GUEST_RFLAGS, v->regs.rflags);
	/* The hypervisor takes no page faults, so nothing changes CR2
	 * between here and the entry. */
	if (read_cr2() != hw->cr2)
		write_cr2(hw->cr2);
	guest_dregs_load(&hw->dregs, true);
}

/* A hardware #UD that AMD's VMMCALL (a hypercall here too) or an SVM
 * instruction raised: described in exit, true (virt_insn.c). */
static bool ud_is_virt_insn(struct vcpu *v, u32 info, struct vm_exit *exit)
{
	if ((info & INTR_INFO_VECTOR_MASK) != VEC_UD ||
	    ((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) !=
		    INTR_TYPE_HW_EXCEPTION)
		return false;
	return virt_insn_at_ud(v, exit);
}

static const char *virt_insn_name(u32 basic)
{
	switch (basic) {
	case VMX_EXIT_GETSEC: return "GETSEC";
	case VMX_EXIT_VMCLEAR: return "VMCLEAR";
	case VMX_EXIT_VMLAUNCH: return "VMLAUNCH";
	case VMX_EXIT_VMPTRLD: return "VMPTRLD";
	case VMX_EXIT_VMPTRST: return "VMPTRST";
	case VMX_EXIT_VMREAD: return "VMREAD";
	case VMX_EXIT_VMRESUME: return "VMRESUME";
	case VMX_EXIT_VMWRITE: return "VMWRITE";
	case VMX_EXIT_VMXOFF: return "VMXOFF";
	case VMX_EXIT_VMXON: return "VMXON";
	case VMX_EXIT_INVEPT: return "INVEPT";
	case VMX_EXIT_INVVPID: return "INVVPID";
	case VMX_EXIT_VMFUNC: return "VMFUNC";
	default: return NULL;
	}
}

/* What the core needs to emulate INS/OUTS itself: the address size and
 * the segment of the memory operand, with its base. */
static void decode_string_io(struct vcpu *v, struct vm_exit *exit)
{
	u64 cs_ar = vmcs_read(GUEST_CS_AR_BYTES);
	bool cs_l = (cs_ar & AR_L) && (vmcs_read(GUEST_IA32_EFER) & EFER_LMA);
	int seg = X86_SEG_DS;

	if (vmx.ins_outs_info) {
		u32 info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
		exit->io.addr_size = (u8)(2u << IO_INFO_ADDR_SIZE(info));
		seg = (int)IO_INFO_SEG(info);
	} else {
		struct insn_prefixes p;
		if (insn_prefixes_at_rip(v, &p) < 0)
			p = (struct insn_prefixes){ .seg = -1 };
		exit->io.addr_size = insn_addr_size(cs_l, cs_ar & AR_DB,
						    p.addr_override);
		if (p.seg >= 0)
			seg = p.seg;
	}
	/* INS always writes through ES (no override, SDM Vol. 2A INS). */
	if (exit->io.in || seg > X86_SEG_GS)
		seg = exit->io.in ? X86_SEG_ES : X86_SEG_DS;
	exit->io.seg = (u8)seg;
	/* The base fields follow the segments' order, 2 apart (B.4). */
	exit->io.seg_base = cs_l && seg < X86_SEG_FS
				    ? 0
				    : vmcs_read(GUEST_ES_BASE + 2 * (u32)seg);
}

/* Fills exit; false if the exit was handled here and the guest should
 * simply be entered again. */
static bool decode_exit(struct vcpu *v, u32 basic, struct vm_exit *exit)
{
	bool insn = true;	/* caused by an instruction: length valid */
	u64 qual;

	exit->raw = basic;
	switch (basic) {
	case VMX_EXIT_CPUID:
		exit->reason = EXIT_CPUID;
		break;
	case VMX_EXIT_HLT:
		exit->reason = EXIT_HLT;
		break;
	case VMX_EXIT_VMCALL:
		exit->reason = EXIT_HYPERCALL;
		break;
	case VMX_EXIT_IO_INSTRUCTION:
		qual = vmcs_read(EXIT_QUALIFICATION);
		exit->reason = EXIT_IO;
		exit->io.port = (u16)(qual >> IO_QUAL_PORT_SHIFT);
		exit->io.size = (u8)((qual & IO_QUAL_SIZE_MASK) + 1);
		exit->io.in = qual & IO_QUAL_IN;
		exit->io.string = qual & IO_QUAL_STRING;
		exit->io.rep = qual & IO_QUAL_REP;
		if (exit->io.string)
			decode_string_io(v, exit);
		break;
	case VMX_EXIT_XSETBV:
		exit->reason = EXIT_XSETBV;
		break;
	case VMX_EXIT_INVD:
		exit->reason = EXIT_INVD;
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		if ((u32)v->regs.rcx == MSR_EFER &&
		    ((struct vmx_vcpu *)v->hw)->shadow)
			return !efer_access(v, basic == VMX_EXIT_WRMSR, exit);
		exit->reason = basic == VMX_EXIT_RDMSR ? EXIT_MSR_READ
						       : EXIT_MSR_WRITE;
		exit->msr.index = (u32)v->regs.rcx;
		break;
	case VMX_EXIT_CR_ACCESS:
		qual = vmcs_read(EXIT_QUALIFICATION);
		if (handle_cr_access(v, qual, exit))
			return false;
		break;
	case VMX_EXIT_INVLPG:	/* shadow paging: the address is given */
		exit->reason = EXIT_INVLPG;
		exit->pf.va = vmcs_read(EXIT_QUALIFICATION);
		break;
	case VMX_EXIT_INVPCID:	/* ... INVPCID exits with it: drop all */
		exit->reason = EXIT_INVLPG;
		exit->pf.all = true;
		break;
	case VMX_EXIT_EPT_VIOLATION:
		insn = false;
		qual = vmcs_read(EXIT_QUALIFICATION);
		exit->reason = EXIT_SLAT_VIOLATION;
		exit->slat.gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		exit->slat.read = qual & EPT_QUAL_READ;
		exit->slat.write = qual & EPT_QUAL_WRITE;
		exit->slat.exec = qual & EPT_QUAL_EXEC;
		exit->slat.present = qual & EPT_QUAL_PERMS_MASK;
		exit->slat.walk = (qual & EPT_QUAL_GLA_VALID) &&
				  !(qual & EPT_QUAL_GLA_FINAL);
		break;
	case VMX_EXIT_EPT_MISCONFIG: {
		/* Our tables hold an entry the CPU cannot interpret: a bug in
		 * the hypervisor, never the guest's doing. */
		u64 gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		hv_log("vmx: %s: EPT misconfiguration at GPA 0x%llx, RIP 0x%llx",
		       v->vm->name, (unsigned long long)gpa,
		       (unsigned long long)v->regs.rip);
		ept_dump_walk(&v->vm->mem.slat, gpa);
		panic("vmx: EPT misconfiguration for %s at GPA 0x%llx",
		      v->vm->name, (unsigned long long)gpa);
	}
	case VMX_EXIT_TRIPLE_FAULT:
		insn = false;
		exit->reason = EXIT_SHUTDOWN;
		break;
	case VMX_EXIT_EXTERNAL_INTERRUPT:
		/* Not acknowledged (vmx.c): still pending, for the core to
		 * take through the hypervisor's IDT. */
		insn = false;
		exit->reason = EXIT_EXTINT;
		break;
	case VMX_EXIT_PREEMPTION_TIMER:
		insn = false;
		exit->reason = EXIT_TIMER;
		break;
	case VMX_EXIT_INTERRUPT_WINDOW:
		insn = false;
		exit->reason = EXIT_INTR_WINDOW;
		break;
	case VMX_EXIT_EXCEPTION_NMI: {
		/* The guest's #UD (the only exception we intercept), or a
		 * physical NMI or machine check. */
		u32 info = (u32)vmcs_read(VM_EXIT_INTR_INFO);
		insn = false;
		if (((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) ==
		    INTR_TYPE_NMI) {
			/*
			 * With NMI exiting every NMI in the guest is the
			 * host's.  The exit left it blocked, not delivered:
			 * run our handler now, through a frame whose IRETQ
			 * ends the blocking (KVM's vmx_do_nmi_irqoff()).
			 */
			trap_deliver_nmi();
			exit->reason = EXIT_HOST_NMI;
			break;
		}
		if (ud_is_virt_insn(v, info, exit))
			break;
		if ((info & INTR_INFO_VECTOR_MASK) == VEC_PF &&
		    ((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) ==
			    INTR_TYPE_HW_EXCEPTION) {
			/* Shadow paging: CR2 is left alone by the CPU. */
			exit->reason = EXIT_PAGE_FAULT;
			exit->pf.va = vmcs_read(EXIT_QUALIFICATION);
			exit->pf.error = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
			break;
		}
		exit->reason = EXIT_EXCEPTION;
		exit->exc.vector = (u8)(info & INTR_INFO_VECTOR_MASK);
		exit->exc.has_error = info & INTR_INFO_DELIVER_CODE;
		if (exit->exc.has_error)
			exit->exc.error = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
		break;
	}
	default:
		if (virt_insn_name(basic)) {
			exit->reason = EXIT_VIRT_INSN;
			exit->insn.name = virt_insn_name(basic);
			break;
		}
		insn = false;
		exit->reason = EXIT_UNHANDLED;
		exit->insn.name = vmx_exit_reason_name(basic);
		hv_log("vmx: %s: exit %u (%s), qualification 0x%llx, RIP 0x%llx",
		       v->vm->name, basic, vmx_exit_reason_name(basic),
		       (unsigned long long)vmcs_read(EXIT_QUALIFICATION),
		       (unsigned long long)v->regs.rip);
		break;
	}
	if (insn)
		exit->insn_len = (u32)vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	return true;
}

/*
 * selftest=host-nmi: an NMI pending while NMIs are blocked, for the entry
 * to unblock (with "virtual NMIs" off, NMIs are blocked after entry only
 * if the guest's blocking-by-NMI bit is 1: SDM Vol. 3C, VM entries,
 * "Interruptibility State"), so it arrives in the guest and exits at once.
 * NMIs are blocked by taking one without IRET (trap_block_nmis()); nothing
 * between here and the entry executes an IRET.  Bochs 2.7 differs: its VM
 * entry only ever sets NMI blocking from that bit, never clears it, so the
 * NMI stays blocked in the guest and is taken by our NMI gate right after
 * the next exit (newer Bochs clears it, as the SDM says).  Either way the
 * hypervisor takes it and the guest never sees it.
 */
static void meet_host_nmi(struct vcpu *v, struct vmx_vcpu *hw)
{
	hw->host_nmi = false;
	if (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & INTERRUPTIBILITY_NMI)
		panic("vmx: %s: guest NMI blocking set: the host-nmi selftest "
		      "cannot work", v->vm->name);
	if (!trap_block_nmis(lapic_self_nmi))
		panic("vmx: selftest host-nmi: the self-NMI never came");
	lapic_self_nmi();
}

void vmx_raise_host_nmi(struct vcpu *v)
{
	((struct vmx_vcpu *)v->hw)->host_nmi = true;
}

void vmx_vcpu_run(struct vcpu *v, struct vm_exit *exit)
{
	struct vmx_vcpu *hw = v->hw;

	vmx_make_current(hw);
	for (;;) {
		prepare_entry(v, hw);
		if (hw->host_nmi)
			meet_host_nmi(v, hw);
		xstate_enter(v);
		bench_entering();
		enum vmx_status st = vmx_enter(&v->regs, hw->launched);
		bench_exit_returned();
		xstate_exit(v);

		*exit = (struct vm_exit){ .reason = EXIT_NONE };
		if (st != VMX_OK) {
			/* The entry never started: the VMCS names the reason. */
			vmx_report_vmfail(hw->launched ? "VMRESUME" : "VMLAUNCH",
					  st);
			exit->reason = EXIT_ENTRY_FAILED;
			return;
		}
		u32 reason = (u32)vmcs_read(VM_EXIT_REASON);
		save_guest_state(v, hw);
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			/* Guest state was refused after the checks on
			 * controls and host state passed (SDM 26.8). */
			vmx_report_entry_failure(reason);
			exit->reason = EXIT_ENTRY_FAILED;
			exit->raw = reason & EXIT_REASON_BASIC_MASK;
			return;
		}
		hw->launched = true;
		requeue_interrupted_event();
		if (decode_exit(v, reason & EXIT_REASON_BASIC_MASK, exit))
			return;
	}
}
