/*
 * vmx.c - Intel VMX: turning it on, and what the CPU lets us ask of it.
 *
 * The backend in one picture (SDM Vol. 3C chapters 23-31):
 *
 *   enable()       IA32_FEATURE_CONTROL allows VMXON outside SMX (we set
 *                  and lock it if the firmware left it open), CR0/CR4
 *                  satisfy IA32_VMX_CR{0,4}_FIXED{0,1}, CR4.VMXE, VMXON
 *                  on a 4 KiB region stamped with the VMCS revision id.
 *   vcpu_create()  one VMCS per vCPU (vmcs.c): VMCLEAR, VMPTRLD, then
 *                  every control, host and guest field.
 *   vcpu_run()     VMLAUNCH once, VMRESUME afterwards (vmexit.c with the
 *                  stub in vmx_entry.asm); each exit becomes a neutral
 *                  struct vm_exit for hv/exit.c.
 *   EPT            ept.c formats the entries mm/slat.c builds, and issues
 *                  INVEPT when the core has changed a present entry.
 *
 * Controls are never hard-coded words.  Each capability MSR says, per bit,
 * whether it may be 0 (low half clear) and whether it may be 1 (high half
 * set) (SDM Vol. 3C Appendix A.3-A.5); adjust_controls() starts from the
 * bits that must be 1, adds the bits we want where allowed, and refuses
 * with the bit's name if one we cannot do without is not allowed.  Where
 * IA32_VMX_BASIC bit 55 is set, the TRUE_ MSRs are used: they allow some
 * "default1" bits (CR3-load exiting, for instance) to be 0.
 *
 * Only one CPU runs VMX here, so "the current VMCS" is a single global;
 * vmx_make_current() does the VMPTRLD when another vCPU's VMCS is needed.
 */
#include "vmx.h"
#include "../cpu.h"
#include "../cpufeat.h"
#include "../guest_regs.h"
#include "../../../hv/console.h"
#include "../../../hv/finish.h"
#include "../../../hv/fmt.h"
#include "../../../hv/hvmem.h"
#include "../../../hv/vmmem.h"

/* IA32_FEATURE_CONTROL (SDM Vol. 3C 23.7). */
#define FEATURE_CONTROL_LOCK			(1ull << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX	(1ull << 2)

/* IA32_VMX_BASIC (SDM Vol. 3D Appendix A.1). */
#define VMX_BASIC_REVISION_MASK		0x7fffffffull
#define VMX_BASIC_REGION_SIZE(b)	(((b) >> 32) & 0x1fff)
#define VMX_BASIC_32BIT_ADDRESSES	(1ull << 48)
#define VMX_BASIC_INS_OUTS_INFO		(1ull << 54)
#define VMX_BASIC_TRUE_CTLS		(1ull << 55)

/* IA32_VMX_MISC bits 4:0: the preemption timer counts down once every
 * 2^rate TSC ticks (Appendix A.6). */
#define VMX_MISC_PREEMPTION_RATE_MASK	0x1fu

struct vmx_caps vmx;

static void vmx_cpuid_adjust(u32 leaf, u32 subleaf, struct cpuid_regs *c);

static bool vmx_is_on;
static u64 vmxon_region;
static u64 current_vmcs;	/* what VMPTRLD last made current, or 0 */
static bool addresses_32bit;	/* VMX structures must lie below 4 GiB */

/* --- checked VMCS access ---------------------------------------------- */

void vmcs_write(u64 field, u64 value)
{
	enum vmx_status st = vmx_vmwrite(field, value);

	if (st != VMX_OK) {
		u64 e = vmcs_read_or(VM_INSTRUCTION_ERROR, 0);
		panic("vmx: VMWRITE of field 0x%04llx (value 0x%llx) failed: %s",
		      (unsigned long long)field, (unsigned long long)value,
		      st == VMX_FAIL_INVALID ? "no current VMCS (CF=1)"
					     : vmx_instruction_error_name(e));
	}
}

u64 vmcs_read(u64 field)
{
	u64 v;
	enum vmx_status st = vmx_vmread(field, &v);

	if (st != VMX_OK) {
		u64 e = vmcs_read_or(VM_INSTRUCTION_ERROR, 0);
		panic("vmx: VMREAD of field 0x%04llx failed: %s",
		      (unsigned long long)field,
		      st == VMX_FAIL_INVALID ? "no current VMCS (CF=1)"
					     : vmx_instruction_error_name(e));
	}
	return v;
}

u64 vmcs_read_or(u64 field, u64 fallback)
{
	u64 v;

	return vmx_vmread(field, &v) == VMX_OK ? v : fallback;
}

void vmx_make_current(struct vmx_vcpu *hw)
{
	if (current_vmcs == hw->vmcs_pa)
		return;
	enum vmx_status st = vmx_vmptrld(hw->vmcs_pa);
	if (st != VMX_OK) {
		vmx_report_vmfail("VMPTRLD", st);
		panic("vmx: VMPTRLD 0x%llx failed",
		      (unsigned long long)hw->vmcs_pa);
	}
	current_vmcs = hw->vmcs_pa;
}

/* VMCLEAR also makes the VMCS not current if it was (SDM 30.3 VMCLEAR). */
void vmx_clear(u64 vmcs_pa)
{
	enum vmx_status st = vmx_vmclear(vmcs_pa);

	if (st != VMX_OK) {
		vmx_report_vmfail("VMCLEAR", st);
		panic("vmx: VMCLEAR 0x%llx failed",
		      (unsigned long long)vmcs_pa);
	}
	if (current_vmcs == vmcs_pa)
		current_vmcs = 0;
}

/* A zeroed frame the CPU may use for a VMX structure. */
u64 vmx_alloc_frame(void)
{
	u64 pa = hv_frame_alloc();

	if (pa && addresses_32bit && pa >= 4 * GiB)
		panic("vmx: frame 0x%llx is above 4 GiB, but IA32_VMX_BASIC "
		      "bit 48 limits VMX structures to 32-bit addresses",
		      (unsigned long long)pa);
	return pa;
}

/* --- controls from the capability MSRs -------------------------------- */

struct ctl_bit {
	u32 bit;
	const char *name;	/* the SDM's name for it */
	bool required;		/* refuse to run without it */
};

static const struct ctl_bit pin_bits[] = {
	/* Physical interrupts must reach the hypervisor, not the guest. */
	{ PIN_EXTINT_EXITING, "external-interrupt exiting", true },
	{ PIN_NMI_EXITING, "NMI exiting", true },
	/* A bound on guest execution without exits (vmcs.c says why). */
	{ PIN_PREEMPTION_TIMER, "activate VMX-preemption timer", false },
};

static const struct ctl_bit cpu_bits[] = {
	{ CPU_HLT_EXITING, "HLT exiting", true },
	/* Every port is the hypervisor's: COM1, the exit port, and "all ones"
	 * for everything else. */
	{ CPU_UNCOND_IO_EXITING, "unconditional I/O exiting", true },
	{ CPU_USE_MSR_BITMAPS, "use MSR bitmaps", true },
	/* The guest's CR8 is its own: MOV to/from CR8 use the TPR byte of
	 * a per-vCPU virtual-APIC page (vmcs.c), never the host's local
	 * APIC TPR, which would hold back the hypervisor's timer. */
	{ CPU_USE_TPR_SHADOW, "use TPR shadow", true },
	{ CPU_ACTIVATE_SECONDARY, "activate secondary controls", true },
};

static const struct ctl_bit cpu2_bits[] = {
	{ CPU2_ENABLE_EPT, "enable EPT", true },
	/* Without it the guest could not start in protected mode with
	 * paging off (nor ever run in real mode). */
	{ CPU2_UNRESTRICTED_GUEST, "unrestricted guest", true },
	/* Tags the guest's TLB entries: no flush on every entry and exit. */
	{ CPU2_ENABLE_VPID, "enable VPID", false },
	/* CPUID is passed through, so what it advertises must work: without
	 * these two RDTSCP and INVPCID would #UD in the guest. */
	{ CPU2_ENABLE_RDTSCP, "enable RDTSCP", false },
	{ CPU2_ENABLE_INVPCID, "enable INVPCID", false },
};

static const struct ctl_bit exit_bits[] = {
	/* We are a 64-bit host. */
	{ EXIT_HOST_ADDR_SPACE_SIZE, "host address-space size", true },
	/* The guest's DR7 and IA32_DEBUGCTL go to the VMCS at every exit
	 * (which then sets DR7 to 0x400 and clears DEBUGCTL for us)... */
	{ EXIT_SAVE_DEBUG_CONTROLS, "save debug controls", true },
	/* The guest owns EFER (LME, NXE) while it runs; we get ours back. */
	{ EXIT_SAVE_IA32_EFER, "save IA32_EFER", true },
	{ EXIT_LOAD_IA32_EFER, "load IA32_EFER", true },
	/* The guest may reprogram its PAT without touching ours. */
	{ EXIT_SAVE_IA32_PAT, "save IA32_PAT", false },
	{ EXIT_LOAD_IA32_PAT, "load IA32_PAT", false },
	/* "Acknowledge interrupt on exit" is deliberately absent: the
	 * interrupt that caused an exit stays pending in the interrupt
	 * controller, and the core takes it through the hypervisor's own IDT
	 * (a brief STI), whose handler sends the EOI -- the same as SVM's
	 * INTR intercept, so the core need not know which backend ran. */
};

static const struct ctl_bit entry_bits[] = {
	{ ENTRY_LOAD_IA32_EFER, "load IA32_EFER", true },
	/* ... and come back from it at every entry: without the pair the
	 * guest's breakpoints were gone after its first exit. */
	{ ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls", true },
	{ ENTRY_LOAD_IA32_PAT, "load IA32_PAT", false },
	/* IA-32e mode guest is deliberately absent: the guest starts in
	 * 32-bit mode, and the CPU itself keeps the bit equal to the guest's
	 * EFER.LMA at every exit (SDM 27.2, "VM exits: saving guest state"). */
};

static int adjust_controls(const char *kind, u32 msr,
			   const struct ctl_bit *bits, size_t n, u32 *out,
			   char *err, size_t errlen)
{
	u64 cap = rdmsr(msr);
	u32 must_be_1 = (u32)cap, may_be_1 = (u32)(cap >> 32);
	u32 v = must_be_1;

	for (size_t i = 0; i < n; i++) {
		if (may_be_1 & bits[i].bit)
			v |= bits[i].bit;
		else if (bits[i].required) {
			fmt_snprintf(err, errlen,
				     "VMX: the %s control '%s' (bit %d) is "
				     "not supported (MSR 0x%x = 0x%016llx)",
				     kind, bits[i].name,
				     __builtin_ctz(bits[i].bit), msr,
				     (unsigned long long)cap);
			return -1;
		}
	}
	*out = v;
	return 0;
}

static int compute_controls(char *err, size_t errlen)
{
	bool t = vmx.true_ctls;

	if (adjust_controls("pin-based",
			    t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
			      : MSR_IA32_VMX_PINBASED_CTLS,
			    pin_bits, ARRAY_SIZE(pin_bits), &vmx.pin, err,
			    errlen) < 0 ||
	    adjust_controls("primary processor-based",
			    t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
			      : MSR_IA32_VMX_PROCBASED_CTLS,
			    cpu_bits, ARRAY_SIZE(cpu_bits), &vmx.cpu, err,
			    errlen) < 0 ||
	    adjust_controls("secondary processor-based",
			    MSR_IA32_VMX_PROCBASED_CTLS2, cpu2_bits,
			    ARRAY_SIZE(cpu2_bits), &vmx.cpu2, err,
			    errlen) < 0 ||
	    adjust_controls("VM-exit",
			    t ? MSR_IA32_VMX_TRUE_EXIT_CTLS
			      : MSR_IA32_VMX_EXIT_CTLS,
			    exit_bits, ARRAY_SIZE(exit_bits), &vmx.exit, err,
			    errlen) < 0 ||
	    adjust_controls("VM-entry",
			    t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
			      : MSR_IA32_VMX_ENTRY_CTLS,
			    entry_bits, ARRAY_SIZE(entry_bits), &vmx.entry, err,
			    errlen) < 0)
		return -1;

	/* Interrupt-window exiting is switched on only while a virtual
	 * interrupt waits for the guest to take it (vmexit.c), so it is not
	 * in cpu_bits; but it must be there to switch on. */
	u64 cap = rdmsr(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
			  : MSR_IA32_VMX_PROCBASED_CTLS);
	if (!((cap >> 32) & CPU_INTR_WINDOW_EXITING)) {
		fmt_snprintf(err, errlen, "VMX: the primary processor-based "
			     "control 'interrupt-window exiting' (bit 2) is not "
			     "supported (MSR value 0x%016llx)",
			     (unsigned long long)cap);
		return -1;
	}
	/* The I/O bitmaps would take precedence over unconditional I/O
	 * exiting (SDM 25.1.3); no CPU forces them on, but make sure. */
	if (vmx.cpu & CPU_USE_IO_BITMAPS) {
		fmt_snprintf(err, errlen, "VMX: the CPU forces 'use I/O "
			     "bitmaps' on; I/O exiting is not set up for it");
		return -1;
	}
	if (vmx.exit & EXIT_ACK_INTR_ON_EXIT) {
		fmt_snprintf(err, errlen, "VMX: the CPU forces 'acknowledge "
			     "interrupt on exit' on; the core expects the "
			     "interrupt to stay pending");
		return -1;
	}
	/* PAT is either switched both ways or not at all. */
	u32 pat = EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT;
	if ((vmx.exit & pat) != pat || !(vmx.entry & ENTRY_LOAD_IA32_PAT)) {
		vmx.exit &= ~pat;
		vmx.entry &= ~ENTRY_LOAD_IA32_PAT;
	}
	vmx.vpid = vmx.cpu2 & CPU2_ENABLE_VPID;
	return 0;
}

/* --- VMX on ----------------------------------------------------------- */

/* memvisor's guests start in 32-bit protected mode with paging off and
 * run on EPT: without unrestricted guest VMX could not enter them. */
static int vmx_probe(char *err, size_t errlen)
{
	if (!cpu.vmx) {
		fmt_snprintf(err, errlen,
			     "this CPU has no VMX (CPUID.1:ECX bit 5 is 0)");
		return -1;
	}
	if (!cpu.ept || !cpu.unrestricted) {
		fmt_snprintf(err, errlen, "VMX without %s: memvisor needs EPT "
			     "and unrestricted guest",
			     !cpu.ept ? "EPT" : "unrestricted guest");
		return -1;
	}
	return 0;
}

static int vmx_enable(char *err, size_t errlen)
{
	if (vmx_is_on)
		return 0;

	/*
	 * IA32_FEATURE_CONTROL: once locked, only a reset changes it.  Locked
	 * without bit 2 means the firmware switched VMX off; unlocked means
	 * nobody decided, so we allow VMXON (outside SMX) and lock it.
	 */
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (fc & FEATURE_CONTROL_LOCK) {
		if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
			fmt_snprintf(err, errlen,
				     "VMX: disabled by the firmware "
				     "(IA32_FEATURE_CONTROL = 0x%llx: locked, "
				     "VMXON outside SMX not allowed)",
				     (unsigned long long)fc);
			return -1;
		}
	} else {
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK |
			      FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	}

	u64 basic = rdmsr(MSR_IA32_VMX_BASIC);
	vmx.revision = (u32)(basic & VMX_BASIC_REVISION_MASK);
	vmx.true_ctls = basic & VMX_BASIC_TRUE_CTLS;
	addresses_32bit = basic & VMX_BASIC_32BIT_ADDRESSES;
	vmx.ins_outs_info = basic & VMX_BASIC_INS_OUTS_INFO;
	if (VMX_BASIC_REGION_SIZE(basic) > PAGE_SIZE) {
		fmt_snprintf(err, errlen,
			     "VMX: VMCS region of %llu bytes (IA32_VMX_BASIC "
			     "0x%llx) does not fit a page",
			     (unsigned long long)VMX_BASIC_REGION_SIZE(basic),
			     (unsigned long long)basic);
		return -1;
	}
	vmx.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	vmx.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	vmx.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vmx.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	vmx.preemption_rate =
		(u32)rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_PREEMPTION_RATE_MASK;
	vmx.ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

	if (compute_controls(err, errlen) < 0 || ept_check_caps(err, errlen) < 0)
		return -1;

	/*
	 * The guest's CR0/CR4 bits that VMX pins (FIXED0 = must be 1, clear
	 * in FIXED1 = must be 0) belong to us: the guest/host masks make the
	 * guest read them from the read shadows and exit when it writes them
	 * differently, so it never sees CR0.NE or CR4.VMXE it did not set.
	 * Unrestricted guest frees CR0.PE and CR0.PG (SDM 26.3.1.1).
	 */
	vmx.cr0_mask = ((vmx.cr0_fixed0 & ~(CR0_PE | CR0_PG)) |
			~vmx.cr0_fixed1) & 0xffffffffull;
	/*
	 * The guest may set the CR4 bits of the features its CPUID shows and
	 * the CPU allows in VMX operation: not VMXE, which VMX forces on but
	 * CPUID hides (so it is reserved, and a #GP, as on a CPU without
	 * VMX).  Every bit it may not set is in the mask too, so that
	 * setting one exits and vmexit.c answers with #GP.
	 */
	vmx.cr4_valid = guest_cr4_valid_bits(vmx_cpuid_adjust) &
			vmx.cr4_fixed1;
	vmx.cr4_mask = (vmx.cr4_fixed0 | ~vmx.cr4_fixed1 | ~vmx.cr4_valid) &
		       0xffffffffull;
	/*
	 * A shadow-paged VM (vmmem_shadow_cpu()) runs with PE, PG and WP
	 * forced and without unrestricted guest, CR4.PAE forced and PGE,
	 * SMEP, SMAP and PKE cleared while its paging is off: those bits
	 * differ between its CPU and its own view, and each change of a bit
	 * its walks depend on must exit to reach the shadow MMU; the features
	 * it is refused must exit to be answered with #GP.  Its CR3 loads and
	 * stores, INVLPG (and INVPCID with it) and #PF exit too.
	 */
	vmx.shadow_cr0_mask = vmx.cr0_mask | CR0_PE | CR0_PG | CR0_WP;
	vmx.shadow_cr4_mask = (vmx.cr4_mask | CR4_PAE | CR4_PSE | CR4_PGE |
			       CR4_SMEP | CR4_SMAP | SHADOW_CR4_REFUSED) &
			      0xffffffffull;
	vmx.efer_valid = guest_efer_valid_bits();
	u64 cap = rdmsr(vmx.true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
				      : MSR_IA32_VMX_PROCBASED_CTLS) >> 32;
	u32 need = CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING |
		   CPU_INVLPG_EXITING;
	vmx.shadow_ok = (cap & need) == need;

	/* Our own CR0/CR4 must satisfy the same MSRs before VMXON (SDM
	 * 23.8); in practice this sets CR0.NE and CR4.VMXE. */
	write_cr0((read_cr0() | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	write_cr4((read_cr4() | vmx.cr4_fixed0 | CR4_VMXE) & vmx.cr4_fixed1);

	vmxon_region = vmx_alloc_frame();
	if (!vmxon_region) {
		fmt_snprintf(err, errlen, "VMX: no memory for the VMXON region");
		return -1;
	}
	*(u32 *)hv_ptr(vmxon_region) = vmx.revision;
	enum vmx_status st = vmx_on(vmxon_region);
	if (st != VMX_OK) {
		fmt_snprintf(err, errlen,
			     "VMX: VMXON failed (%s; CR0 0x%llx CR4 0x%llx "
			     "IA32_FEATURE_CONTROL 0x%llx)",
			     st == VMX_FAIL_INVALID
				     ? "VMfailInvalid: bad VMXON region or "
				       "CR0/CR4 not allowed"
				     : "VMfailValid: already in VMX operation",
			     (unsigned long long)read_cr0(),
			     (unsigned long long)read_cr4(),
			     (unsigned long long)rdmsr(MSR_IA32_FEATURE_CONTROL));
		hv_frames_free(vmxon_region, 1);
		vmxon_region = 0;
		return -1;
	}
	vmx_is_on = true;

	hv_log("vmx: VMXON ok (VMCS revision 0x%x, %s capability MSRs); "
	       "controls pin 0x%08x cpu 0x%08x cpu2 0x%08x exit 0x%08x "
	       "entry 0x%08x",
	       vmx.revision, vmx.true_ctls ? "TRUE_" : "plain", vmx.pin,
	       vmx.cpu, vmx.cpu2, vmx.exit, vmx.entry);
	hv_log("vmx: EPT %s, A/D %s, INVEPT %s, VPID %s, preemption timer "
	       "%s (rate %u); guest CR0 mask 0x%llx, CR4 mask 0x%llx; "
	       "INS/OUTS information %s",
	       (vmx.eptp_flags & 7) == 6 ? "write-back" : "uncached",
	       (vmx.eptp_flags & (1u << 6)) ? "on" : "off",
	       vmx.invept_single ? "single-context" : "all-context",
	       vmx.vpid ? "on" : "off",
	       (vmx.pin & PIN_PREEMPTION_TIMER) ? "on" : "off",
	       vmx.preemption_rate,
	       (unsigned long long)vmx.cr0_mask,
	       (unsigned long long)vmx.cr4_mask,
	       vmx.ins_outs_info ? "reported" : "decoded");
	return 0;
}

/*
 * Test hook: the guest's CS marked not present (an invalid-guest-state
 * entry failure, exit reason 33), or an event to inject with the reserved
 * interruption type 1 (a control-field check: VM-instruction error 7).
 * SDM Vol. 3C 26.3.1.2 and 26.2.1.3.
 */
#define AR_PRESENT (1u << 7)
#define INTR_INFO_VALID_RESERVED_TYPE ((1u << 31) | (1u << 8))
static void vmx_break_state(struct vcpu *v, bool controls)
{
	vmx_make_current(v->hw);
	if (controls)
		vmcs_write(VM_ENTRY_INTR_INFO, INTR_INFO_VALID_RESERVED_TYPE);
	else
		vmcs_write(GUEST_CS_AR_BYTES,
			   vmcs_read(GUEST_CS_AR_BYTES) & ~(u64)AR_PRESENT);
}

/* Nested VMX is not offered: a guest's CPUID shows no VMX. */
static void vmx_cpuid_adjust(u32 leaf, u32 subleaf, struct cpuid_regs *c)
{
	(void)subleaf;
	if (leaf == 1)
		c->ecx &= ~CPUID1_ECX_VMX;
}

const struct backend_ops vmx_backend = {
	.name = "VMX+EPT",
	.slat = &ept_format,
	.probe = vmx_probe,
	.enable = vmx_enable,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_run = vmx_vcpu_run,
	.cpuid_adjust = vmx_cpuid_adjust,
	.shadow_paging = true,
	.inject_exception = vmx_inject_exception,
	.inject_page_fault = vmx_inject_page_fault,
	.interruptible = vmx_interruptible,
	.inject_interrupt = vmx_inject_interrupt,
	.set_intr_window = vmx_set_intr_window,
	.flush_slat = vmx_flush_slat,
	.dump = vmx_dump,
	.break_state = vmx_break_state,
	.raise_host_nmi = vmx_raise_host_nmi,
};
