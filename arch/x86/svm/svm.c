/*
 * svm.c - the AMD SVM backend with nested paging (AMD APM Vol. 2, ch. 15).
 *
 * Per vCPU one VMCB (4 KiB, arch/x86/svm/vmcb.h).  Shared by all vCPUs: an
 * I/O permission map with every port intercepted (the core emulates COM1
 * and the exit port, and floats the rest) and an MSR permission map that
 * intercepts every MSR but EFER, which the guest owns (it sets LME and NXE
 * itself; VMRUN loads and saves it with the rest of the guest state).
 *
 * Each VM has its own ASID (vm id + 1; ASID 0 is the host's), so its TLB
 * entries survive world switches and one VM's can never serve another.
 * Flushing a VM's guest-physical translations therefore only needs
 * TLB_CONTROL = "flush this ASID" on that VM's next VMRUN: until then the
 * VM does not run, and no other ASID can use its entries, so a frame freed
 * in between is already unreachable on this (single) CPU.  That encoding
 * (3) exists only on CPUs with FlushByAsid (CPUID 8000_000Ah EDX bit 6);
 * elsewhere it is reserved, and the VMRUN flushes every ASID's entries
 * instead (TLB_CONTROL 1), which is correct, only dearer.  QEMU's TCG does
 * not report FlushByAsid, and flushes everything on every VMRUN anyway.
 *
 * What VMRUN does not switch is ours to: DR0-DR3 (guest_regs.c; DR6 and
 * DR7 are in the VMCB).  The guest's CR8 is V_TPR (V_INTR_MASKING), and
 * its CR0, CR4 and CR8 writes are intercepted and checked (cr_write()),
 * so that what the CPU refuses is a #GP, not a failed VMRUN.
 *
 * QEMU's TCG has SVM and NPT but no NRIP save: where the VMCB's next-RIP
 * is 0 the instruction length is known from the exit (CPUID 2, HLT 1,
 * VMMCALL 3, RDMSR/WRMSR 2) or, for IOIO, EXITINFO2 holds the next RIP.
 *
 * Shadow paging (vm=...,paging=shadow; mm/shadow.h): nested paging off,
 * the VMCB's CR0/CR3/CR4/EFER are what the CPU runs the guest with
 * (hv/vmmem.c vmmem_shadow_cpu(): paging on through the shadow root), and
 * the guest's own values live in vcpu->cr0/cr3/cr4/efer.  SVM has no read
 * shadows, so reads of CR0, CR3 and CR4 are intercepted as well as writes
 * and answered from those; EFER is intercepted too (a second MSR map), and
 * so are #PF and INVLPG.  Without decode assists (TCG has none) every one
 * of these instructions is decoded here, for its operands and its length.
 */
#include "npt.h"
#include "vmcb.h"
#include "../cpu.h"
#include "../cpufeat.h"
#include "../cr_check.h"
#include "../guest_regs.h"
#include "../lapic.h"
#include "../trap.h"
#include "../insn_decode.h"
#include "../modrm.h"
#include "../virt_insn.h"
#include "../xstate.h"
#include "../../../hv/bench.h"
#include "../../../hv/console.h"
#include "../../../hv/exit.h"
#include "../../../hv/fmt.h"
#include "../../../hv/hvmem.h"
#include "../../../hv/vm.h"
#include "../../../hv/vmmem.h"

void svm_enter(u64 vmcb_pa, struct guest_regs *regs, u64 host_vmcb_pa);

#define IOPM_PAGES 3	/* 65536 ports + 3 bytes, one bit each (APM 15.10.1) */
#define MSRPM_PAGES 2	/* APM 15.11 */
#define MSRPM_C0000000_OFFSET 0x800	/* bitmap for MSRs C000_0000h-C000_1FFFh */
#define PAT_POWER_ON 0x0007040600070406ull

/* Segment attributes, VMCB format: descriptor bits 47:40 in 7:0 and 55:52
 * in 11:8 (APM 15.5.1). */
#define ATTR_CODE32 0xc9b	/* G, D, P, S, type 0xB (exec/read, accessed) */
#define ATTR_DATA32 0xc93	/* G, B, P, S, type 0x3 (read/write, accessed) */
#define ATTR_TSS32_BUSY 0x08b	/* P, type 0xB */
#define ATTR_LDT 0x082		/* P, type 0x2 */

#define VMEXIT_CR4_WRITE (VMEXIT_CR0_WRITE + 4)
#define VMEXIT_CR8_WRITE (VMEXIT_CR0_WRITE + 8)

/* The last control-register write we intercepted, for the report of a
 * VMRUN that fails afterwards (explain_invalid()). */
struct cr_write {
	bool valid;
	bool faulted;		/* answered with #GP */
	u8 cr;
	u64 value, rip;
};

struct svm_vcpu {
	u64 vmcb_pa;
	bool flush;		/* TLB_CONTROL flush on the next VMRUN */
	struct guest_dregs dregs;	/* DR0-DR3: not in the VMCB */
	struct cr_write last_cr;
	bool host_nmi;		/* selftest: a host NMI for the next VMRUN */
	u64 exit_rip;		/* guest RIP at the last #VMEXIT */
	bool intr_window;	/* V_IRQ + VINTR intercept set */
	bool shadow;		/* shadow paging: NPT off */
};

/* The CR4 and EFER bits a guest may set (svm_enable()). */
static u64 cr4_valid, efer_valid;
static void svm_cpuid_adjust(u32 leaf, u32 subleaf, struct cpuid_regs *c);
static void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error,
				 u32 error);

static u64 host_vmcb_pa;	/* our own VMLOAD/VMSAVE state */
static u64 hsave_pa;		/* VM_HSAVE_PA: where VMRUN saves the host */
static u64 iopm_pa, msrpm_pa;
static u64 msrpm_shadow_pa;	/* every MSR intercepted, EFER too */
static struct svm_vcpu vcpus[VM_MAX];

static inline u8 *vmcb(const struct vcpu *v)
{
	return hv_ptr(((struct svm_vcpu *)v->hw)->vmcb_pa);
}

#define VMCB_FIELD(type, name)                                              \
	static inline type name##_get(const struct vcpu *v, unsigned off)   \
	{                                                                   \
		return *(volatile type *)(vmcb(v) + off);                   \
	}                                                                   \
	static inline void name##_set(const struct vcpu *v, unsigned off,   \
				      type val)                             \
	{                                                                   \
		*(volatile type *)(vmcb(v) + off) = val;                    \
	}
VMCB_FIELD(u64, vmcb64)
VMCB_FIELD(u32, vmcb32)
VMCB_FIELD(u16, vmcb16)
VMCB_FIELD(u8, vmcb8)
#undef VMCB_FIELD

static inline void vmsave(u64 pa)
{
	__asm__ volatile("vmsave %%rax" : : "a"(pa) : "memory");
}

/* --- enabling SVM -------------------------------------------------------- */

static int svm_probe(char *err, size_t errlen)
{
	if (!cpu.svm) {
		fmt_snprintf(err, errlen, "this CPU has no SVM "
			     "(CPUID.80000001h:ECX bit 2 is 0)");
		return -1;
	}
	if (!cpu.npt) {
		fmt_snprintf(err, errlen, "SVM without nested paging: memvisor "
			     "needs NPT");
		return -1;
	}
	return 0;
}

static int svm_enable(char *err, size_t errlen)
{
	if (cpu.svm_disabled) {
		fmt_snprintf(err, errlen, "SVM is disabled by firmware "
			     "(VM_CR.SVMDIS = 1); enable it in the BIOS setup");
		return -1;
	}
	if (cpu.asids < 2) {
		fmt_snprintf(err, errlen, "only %u ASIDs: none left for guests",
			     cpu.asids);
		return -1;
	}
	hsave_pa = hv_frame_alloc();
	host_vmcb_pa = hv_frame_alloc();
	iopm_pa = hv_frames_alloc(IOPM_PAGES, 1);
	msrpm_pa = hv_frames_alloc(MSRPM_PAGES, 1);
	msrpm_shadow_pa = hv_frames_alloc(MSRPM_PAGES, 1);
	if (!hsave_pa || !host_vmcb_pa || !iopm_pa || !msrpm_pa ||
	    !msrpm_shadow_pa) {
		fmt_snprintf(err, errlen, "out of memory for SVM structures");
		return -1;
	}
	/* Intercept every port and every MSR, then let EFER through (but
	 * not in the map of shadow-paged VMs, whose EFER is ours to give). */
	u8 *iopm = hv_ptr(iopm_pa), *msrpm = hv_ptr(msrpm_pa);
	u8 *msrpm_shadow = hv_ptr(msrpm_shadow_pa);
	for (u64 i = 0; i < IOPM_PAGES * PAGE_SIZE; i++)
		iopm[i] = 0xff;
	for (u64 i = 0; i < MSRPM_PAGES * PAGE_SIZE; i++)
		msrpm[i] = msrpm_shadow[i] = 0xff;
	/* Two bits per MSR (read, write), MSR C000_0080h is the 0x80th. */
	msrpm[MSRPM_C0000000_OFFSET + (MSR_EFER & 0x1fff) * 2 / 8] &=
		(u8)~(3u << ((MSR_EFER & 0x1fff) * 2 % 8));

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave_pa);
	vmsave(host_vmcb_pa);	/* our TR/FS/GS/... for svm_enter's VMLOAD */
	cr4_valid = guest_cr4_valid_bits(svm_cpuid_adjust);
	efer_valid = guest_efer_valid_bits();
	return 0;
}

/* --- vCPUs -------------------------------------------------------------- */

static void svm_vcpu_destroy(struct vcpu *v);

/*
 * The guest's paging registers (vcpu->cr0/cr3/cr4/efer, as it sees them)
 * changed: give the CPU its own.  With nested paging they are the same;
 * with shadow paging they are those hv/vmmem.c derives, around the shadow
 * root for the guest's CR3 (a new one is a new address space for the TLB:
 * flushed, as a MOV to CR3 flushes natively).  false, with e saying why,
 * if the guest's mode cannot be run that way.
 */
static bool load_paging(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *sv = v->hw;
	struct shadow_cpu c = { v->cr0, v->cr3, v->cr4, v->efer };

	if (sv->shadow) {
		const char *why = vmmem_shadow_cpu(v, &c);
		if (why) {
			*e = (struct vm_exit){ .reason = EXIT_CANNOT_RUN,
					       .stop.why = why };
			return false;
		}
		c.efer |= EFER_SVME;
		sv->flush = true;
	}
	vmcb64_set(v, VMCB_CR0, c.cr0);
	vmcb64_set(v, VMCB_CR3, c.cr3);
	vmcb64_set(v, VMCB_CR4, c.cr4);
	vmcb64_set(v, VMCB_EFER, c.efer);
	return true;
}

static void set_segment(const struct vcpu *v, unsigned off, u16 sel, u16 attr,
			u32 limit, u64 base)
{
	vmcb16_set(v, off + SEG_SELECTOR, sel);
	vmcb16_set(v, off + SEG_ATTRIB, attr);
	vmcb32_set(v, off + SEG_LIMIT, limit);
	vmcb64_set(v, off + SEG_BASE, base);
}

static int svm_vcpu_create(struct vcpu *v, char *err, size_t errlen)
{
	struct vm *vm = v->vm;
	struct svm_vcpu *sv = &vcpus[vm->id];

	if ((u32)vm->id + 1 >= cpu.asids) {
		fmt_snprintf(err, errlen, "%s: no ASID left (%u available)",
			     vm->name, cpu.asids);
		return -1;
	}
	sv->vmcb_pa = hv_frame_alloc();
	if (!sv->vmcb_pa || xstate_vcpu_init(v) < 0) {
		if (sv->vmcb_pa)
			hv_frames_free(sv->vmcb_pa, 1);
		sv->vmcb_pa = 0;
		fmt_snprintf(err, errlen, "%s: out of memory for the VMCB",
			     vm->name);
		return -1;
	}
	sv->flush = true;	/* the ASID may hold a previous VM's entries */
	guest_dregs_init(&sv->dregs);
	sv->last_cr = (struct cr_write){ 0 };
	sv->exit_rip = v->regs.rip;
	sv->intr_window = false;
	sv->shadow = vm->shadow != NULL;
	v->hw = sv;

	/* Control area: what exits, and nested paging. */
	vmcb32_set(v, VMCB_INTERCEPT_MISC1,
		   INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_CPUID |
			   INTERCEPT_HLT | INTERCEPT_INVLPGA |
			   INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT |
			   INTERCEPT_SHUTDOWN | INTERCEPT_INVD);
	/* VMRUN must be intercepted (a consistency check); the others, and
	 * INVLPGA above, so a guest cannot reach SVM at all: with EFER.SVME
	 * set (VMRUN demands it in guest state too) they would otherwise
	 * execute natively, INVLPGA on the TLB entries of any ASID.  XSETBV:
	 * the guest's XCR0 is validated by the core and kept apart
	 * (arch/x86/xstate.c). */
	vmcb32_set(v, VMCB_INTERCEPT_MISC2,
		   INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
			   INTERCEPT_VMSAVE | INTERCEPT_STGI |
			   INTERCEPT_CLGI | INTERCEPT_SKINIT |
			   INTERCEPT_XSETBV);
	/* #UD: a guest's VMCALL (Intel's hypercall) is a hypercall here too,
	 * and a VMX instruction is reported by name (virt_insn.c). */
	vmcb32_set(v, VMCB_INTERCEPT_EXC, 1u << VEC_UD);
	/* CR0, CR4 and CR8 writes are checked here (cr_write()): QEMU's
	 * TCG lets a guest clear CR0.PG in 64-bit mode, set PG without PE
	 * or CR8 bit 4, and ends it with VMEXIT_INVALID at a reserved CR4
	 * bit, where the CPU raises #GP.  CR8 reads stay the CPU's: with
	 * V_INTR_MASKING (below) the guest's CR8 is V_TPR, never the host's
	 * TPR (APM 15.21.1). */
	vmcb32_set(v, VMCB_INTERCEPT_CR, INTERCEPT_CR_WRITE(0) |
					 INTERCEPT_CR_WRITE(4) |
					 INTERCEPT_CR_WRITE(8));
	vmcb64_set(v, VMCB_IOPM_BASE_PA, iopm_pa);
	vmcb64_set(v, VMCB_MSRPM_BASE_PA, msrpm_pa);
	vmcb32_set(v, VMCB_GUEST_ASID, (u32)vm->id + 1);
	/* Physical interrupts follow the host's RFLAGS.IF, not the guest's. */
	vmcb64_set(v, VMCB_VINTR, VINTR_MASKING);
	if (sv->shadow) {
		/* Everything that reads or changes the guest's paging. */
		vmcb32_set(v, VMCB_INTERCEPT_CR,
			   vmcb32_get(v, VMCB_INTERCEPT_CR) |
				   INTERCEPT_CR_READ(0) | INTERCEPT_CR_READ(3) |
				   INTERCEPT_CR_READ(4) | INTERCEPT_CR_WRITE(3));
		vmcb32_set(v, VMCB_INTERCEPT_EXC,
			   vmcb32_get(v, VMCB_INTERCEPT_EXC) | 1u << VEC_PF);
		vmcb32_set(v, VMCB_INTERCEPT_MISC1,
			   vmcb32_get(v, VMCB_INTERCEPT_MISC1) |
				   INTERCEPT_INVLPG);
		vmcb64_set(v, VMCB_MSRPM_BASE_PA, msrpm_shadow_pa);
	} else {
		vmcb64_set(v, VMCB_NP_ENABLE, 1);
		vmcb64_set(v, VMCB_N_CR3, vm->mem.slat.root);
	}

	/* State save area: the boot protocol's 32-bit protected mode,
	 * paging off (struct vcpu_boot). */
	const struct vcpu_boot *b = &v->boot;
	set_segment(v, VMCB_CS, b->code_sel, ATTR_CODE32, 0xffffffff, 0);
	set_segment(v, VMCB_DS, b->data_sel, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_ES, b->data_sel, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_SS, b->data_sel, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_FS, b->data_sel, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_GS, b->data_sel, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_GDTR, 0, 0, b->gdt_limit, b->gdt_base);
	set_segment(v, VMCB_IDTR, 0, 0, 0, 0);
	set_segment(v, VMCB_LDTR, 0, ATTR_LDT, 0xffff, 0);
	set_segment(v, VMCB_TR, 0, ATTR_TSS32_BUSY, 0xffff, 0);
	vmcb8_set(v, VMCB_CPL, 0);
	/* EFER.SVME must be 1 in guest state too (VMRUN consistency check). */
	v->cr0 = CR0_PE | CR0_ET;
	v->cr3 = v->cr4 = 0;
	v->efer = sv->shadow ? 0 : EFER_SVME;
	struct vm_exit none;
	if (!load_paging(v, &none)) {
		fmt_snprintf(err, errlen, "%s: %s", vm->name, none.stop.why);
		svm_vcpu_destroy(v);
		return -1;
	}
	vmcb64_set(v, VMCB_DR6, DR6_RESET);
	vmcb64_set(v, VMCB_DR7, DR7_RESET);
	/* With nested paging the guest's PAT is G_PAT; it must be valid. */
	vmcb64_set(v, VMCB_G_PAT, PAT_POWER_ON);
	return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	struct svm_vcpu *sv = v->hw;

	if (sv && sv->vmcb_pa) {
		hv_frames_free(sv->vmcb_pa, 1);
		sv->vmcb_pa = 0;
		guest_dregs_forget(&sv->dregs);
	}
	xstate_vcpu_destroy(v);
	v->hw = NULL;
}

/* --- running ------------------------------------------------------------ */

/* If the core moved RIP past the instruction that exited, an STI or MOV
 * SS shadow that instruction sat in ended with it (as in the VMX
 * backend). */
static void sync_to_vmcb(struct vcpu *v)
{
	if (v->regs.rip != ((struct svm_vcpu *)v->hw)->exit_rip)
		vmcb64_set(v, VMCB_INTERRUPT_SHADOW,
			   vmcb64_get(v, VMCB_INTERRUPT_SHADOW) &
				   ~INTERRUPT_SHADOW_ACTIVE);
	vmcb64_set(v, VMCB_RIP, v->regs.rip);
	vmcb64_set(v, VMCB_RSP, v->regs.rsp);
	vmcb64_set(v, VMCB_RFLAGS, v->regs.rflags);
	vmcb64_set(v, VMCB_RAX, v->regs.rax);
}

static void sync_from_vmcb(struct vcpu *v)
{
	v->regs.rip = vmcb64_get(v, VMCB_RIP);
	((struct svm_vcpu *)v->hw)->exit_rip = v->regs.rip;
	v->regs.rsp = vmcb64_get(v, VMCB_RSP);
	v->regs.rflags = vmcb64_get(v, VMCB_RFLAGS);
	v->regs.rax = vmcb64_get(v, VMCB_RAX);
	v->cpl = vmcb8_get(v, VMCB_CPL);
	if (((struct svm_vcpu *)v->hw)->shadow)
		return;		/* the guest's own are ours to keep */
	v->cr0 = vmcb64_get(v, VMCB_CR0);
	v->cr3 = vmcb64_get(v, VMCB_CR3);
	v->cr4 = vmcb64_get(v, VMCB_CR4);
	v->efer = vmcb64_get(v, VMCB_EFER);
}

/* Instruction length: NRIP when the CPU saves it, else what we know. */
static u32 insn_len(const struct vcpu *v, u32 known)
{
	u64 nrip = vmcb64_get(v, VMCB_NRIP);

	if (cpu.nrip_save && nrip > v->regs.rip && nrip - v->regs.rip <= 15)
		return (u32)(nrip - v->regs.rip);
	return known;
}

static void explain_invalid(struct vcpu *v)
{
	u64 efer = vmcb64_get(v, VMCB_EFER), cr0 = vmcb64_get(v, VMCB_CR0);
	u64 cr4 = vmcb64_get(v, VMCB_CR4);

	const struct cr_write *w = &((struct svm_vcpu *)v->hw)->last_cr;

	hv_log("%s: VMRUN failed: VMEXIT_INVALID (a VMCB consistency check, "
	       "APM 15.5.1)", v->vm->name);
	if (w->valid)
		hv_log("%s:   the guest's last intercepted control-register "
		       "write: CR%u <- 0x%llx at RIP 0x%llx (%s)", v->vm->name,
		       w->cr, (unsigned long long)w->value,
		       (unsigned long long)w->rip,
		       w->faulted ? "answered with #GP" : "done");
	if (!(efer & EFER_SVME))
		hv_log("%s:   likely cause: guest EFER.SVME is 0 (EFER 0x%llx)",
		       v->vm->name, (unsigned long long)efer);
	if ((cr0 & CR0_NW) && !(cr0 & CR0_CD))
		hv_log("%s:   likely cause: CR0.NW set with CR0.CD clear",
		       v->vm->name);
	if (cr0 >> 32)
		hv_log("%s:   likely cause: CR0 bits 63:32 set", v->vm->name);
	if ((efer & EFER_LME) && (cr0 & CR0_PG) && !(cr4 & CR4_PAE))
		hv_log("%s:   likely cause: long mode paging without CR4.PAE",
		       v->vm->name);
	if (!vmcb32_get(v, VMCB_GUEST_ASID))
		hv_log("%s:   likely cause: ASID 0", v->vm->name);
	if (!(vmcb32_get(v, VMCB_INTERCEPT_MISC2) & INTERCEPT_VMRUN))
		hv_log("%s:   likely cause: VMRUN not intercepted",
		       v->vm->name);
	backend->dump(v);
}

/* A #UD: Intel's VMCALL (a hypercall here too), a VMX instruction, or the
 * guest's own (e->exc).  The instruction is read from guest memory: the
 * VMCB's instruction bytes (decode assists) are defined only for #NPF and
 * #PF intercepts, and on a #UD hold whatever an earlier exit left. */
static void decode_ud(struct vcpu *v, struct vm_exit *e)
{
	if (!virt_insn_at_ud(v, e)) {
		/* The guest's own #UD: the core hands it back. */
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = VEC_UD;
	}
}

static const char *svm_insn_name(u64 code)
{
	switch (code) {
	case VMEXIT_VMRUN: return "VMRUN";
	case VMEXIT_VMLOAD: return "VMLOAD";
	case VMEXIT_VMSAVE: return "VMSAVE";
	case VMEXIT_STGI: return "STGI";
	case VMEXIT_CLGI: return "CLGI";
	case VMEXIT_SKINIT: return "SKINIT";
	case VMEXIT_INVLPGA: return "INVLPGA";
	default: return "an SVM instruction";
	}
}

/* What the core needs to emulate INS/OUTS itself: EXITINFO1 has the
 * address size (APM 15.10.2); the segment comes from the instruction's
 * prefixes (EXITINFO1's segment field exists only with decode assists). */
static void decode_string_io(struct vcpu *v, u64 info1, struct vm_exit *e)
{
	u16 cs_attr = vmcb16_get(v, VMCB_CS + SEG_ATTRIB);
	bool cs_l = (cs_attr & SEG_ATTR_L) && (v->efer & EFER_LMA);
	struct insn_prefixes p;
	int seg = X86_SEG_DS;

	if (insn_prefixes_at_rip(v, &p) < 0)
		p = (struct insn_prefixes){ .seg = -1 };
	if (info1 & (IOIO_A16 | IOIO_A32 | IOIO_A64))
		e->io.addr_size = info1 & IOIO_A64 ? 8 : info1 & IOIO_A32 ? 4 : 2;
	else
		e->io.addr_size = insn_addr_size(cs_l, cs_attr & SEG_ATTR_DB,
						 p.addr_override);
	if (e->io.in)
		seg = X86_SEG_ES;	/* INS: ES, no override */
	else if (p.seg >= 0)
		seg = p.seg;
	e->io.seg = (u8)seg;
	e->io.seg_base = cs_l && seg < X86_SEG_FS
				 ? 0
				 : vmcb64_get(v, VMCB_ES + SEG_SIZE * (u32)seg +
							 SEG_BASE);
}

/*
 * The control-register accesses we intercept: writes of CR0 (MOV, CLTS,
 * LMSW), CR4 and CR8, and with shadow paging reads of CR0, CR3 and CR4
 * and writes of CR3.  Each value written is checked as the CPU checks it
 * (cr_check.c, the rules the VMX backend uses too), then answered with #GP
 * or made the guest's (load_paging()); QEMU's TCG, which is the CPU here,
 * misses several of these #GPs itself.  The GPR comes from EXITINFO1 with
 * decode assists; TCG has none, so the instruction is always decoded too,
 * for its length (no NRIP there either).  Each returns false to raise #GP.
 */
static bool guest_write_cr0(struct vcpu *v, const struct cr_state *s,
			    u64 val)
{
	struct svm_vcpu *sv = v->hw;

	if (cr0_write_faults(s, val))
		return false;
	/* With EFER.LME, paging on enters IA-32e mode and paging off leaves
	 * it: natively the CPU sets EFER.LMA, here we must (as KVM does);
	 * VMRUN takes the VMCB's EFER as it is. */
	if ((val & CR0_PG) && !(s->cr0 & CR0_PG) && (s->efer & EFER_LME))
		v->efer |= EFER_LMA;
	else if (!(val & CR0_PG) && (s->cr0 & CR0_PG))
		v->efer &= ~EFER_LMA;
	v->cr0 = val;
	if ((s->cr0 ^ val) & (CR0_PG | CR0_WP | CR0_PE))
		sv->flush = true;	/* natively a TLB flush */
	return true;
}

static bool guest_write_cr4(struct vcpu *v, const struct cr_state *s,
			    u64 val)
{
	u64 valid = ((struct svm_vcpu *)v->hw)->shadow
			    ? cr4_valid & ~SHADOW_CR4_REFUSED
			    : cr4_valid;

	if (cr4_write_faults(s, val, valid))
		return false;
	v->cr4 = val;
	if (val != s->cr4)	/* PGE, PCIDE, ...: natively a TLB flush */
		((struct svm_vcpu *)v->hw)->flush = true;
	return true;
}

/* Shadow paging only: a new CR3, in the operand size. */
static bool guest_write_cr3(struct vcpu *v, const struct cr_state *s,
			    u64 val)
{
	if (cr3_write_faults(s, val))
		return false;
	v->cr3 = val;
	return true;
}

/* V_TPR is bits 3:0 of the VINTR word; CR8 bits 63:4 are reserved. */
static bool guest_write_cr8(struct vcpu *v, u64 val)
{
	if (val >> 4)
		return false;
	vmcb64_set(v, VMCB_VINTR,
		   (vmcb64_get(v, VMCB_VINTR) & ~VINTR_TPR_MASK) | val);
	return true;
}

/* The guest's control state, as it sees it. */
static struct cr_state guest_cr_state(const struct vcpu *v)
{
	struct cr_state s = { .cr0 = v->cr0, .cr3 = v->cr3, .cr4 = v->cr4,
			      .efer = v->efer };

	s.cs_l = (s.efer & EFER_LMA) &&
		 (vmcb16_get(v, VMCB_CS + SEG_ATTRIB) & ATTR_L);
	return s;
}

/* Fills e and returns false where the exit is the core's (an instruction
 * not emulated here, a mode the backend cannot run); true to re-enter. */
static bool cr_access(struct vcpu *v, unsigned cr, bool write, u64 info1,
		      struct vm_exit *e)
{
	struct svm_vcpu *sv = v->hw;
	u8 b[15];
	size_t n = sizeof(b);
	struct cr_insn d;
	struct cr_state s = guest_cr_state(v);

	while (n && guest_read_insn(v, b, n) < 0)
		n--;	/* as many bytes as are mapped */
	if (!cr_insn_decode(b, n, s.cs_l, &d) ||
	    (d.kind == CR_INSN_MOV_FROM) != !write ||
	    ((d.kind == CR_INSN_MOV_TO || d.kind == CR_INSN_MOV_FROM) &&
	     d.cr != cr) ||
	    (d.kind != CR_INSN_MOV_TO && d.kind != CR_INSN_MOV_FROM &&
	     cr != 0)) {
		e->reason = EXIT_CR_ACCESS;
		hv_log("svm: %s: CR%u %s by an instruction not emulated "
		       "(LMSW from memory?) at RIP 0x%llx", v->vm->name, cr,
		       write ? "write" : "read",
		       (unsigned long long)v->regs.rip);
		return false;
	}
	if ((info1 & CR_INFO_MOV) &&
	    (d.kind == CR_INSN_MOV_TO || d.kind == CR_INSN_MOV_FROM))
		d.gpr = (u8)(info1 & CR_INFO_GPR_MASK);
	u64 *gpr = guest_gpr(&v->regs, d.gpr), val;
	if (!write) {		/* shadow paging: the guest's own value */
		val = cr == 0 ? v->cr0 : cr == 3 ? v->cr3 : v->cr4;
		*gpr = s.cs_l ? val : (u32)val;
		v->regs.rip += insn_len(v, d.len);
		return true;
	}
	switch (d.kind) {
	case CR_INSN_CLTS:
		val = s.cr0 & ~CR0_TS;
		break;
	case CR_INSN_LMSW:	/* PE, MP, EM, TS; PE cannot be cleared */
		val = (s.cr0 & ~0xeull) | (*gpr & 0xf);
		break;
	default:
		val = s.cs_l ? *gpr : (u32)*gpr;	/* the operand size */
		break;
	}
	bool ok = cr == 0   ? guest_write_cr0(v, &s, val)
		  : cr == 3 ? guest_write_cr3(v, &s, val)
		  : cr == 4 ? guest_write_cr4(v, &s, val)
			    : guest_write_cr8(v, val);
	sv->last_cr = (struct cr_write){ .valid = true, .faulted = !ok,
					 .cr = (u8)cr, .value = val,
					 .rip = v->regs.rip };
	if (!ok) {
		svm_inject_exception(v, VEC_GP, true, 0);
		return true;
	}
	if (cr != 8 && !load_paging(v, e))
		return false;
	v->regs.rip += insn_len(v, d.len);
	return true;
}

/*
 * Shadow paging: RDMSR and WRMSR of EFER, the guest's own (load_paging()
 * gives the CPU the EFER it runs with).  A write the CPU would refuse is
 * a #GP; LMA is the CPU's, so the guest's value for it is ignored.
 */
static bool efer_access(struct vcpu *v, bool write, struct vm_exit *e)
{
	struct guest_regs *r = &v->regs;
	struct cr_state s = guest_cr_state(v);

	if (!write) {
		r->rax = (u32)v->efer;
		r->rdx = v->efer >> 32;
		r->rip += insn_len(v, 2);
		return true;
	}
	u64 val = (r->rdx & 0xffffffffull) << 32 | (r->rax & 0xffffffffull);
	const char *bad = efer_write(&s, val, efer_valid, &v->efer);
	if (bad) {
		hv_log("%s: WRMSR EFER = 0x%llx at RIP 0x%llx: %s: injecting "
		       "#GP", v->vm->name, (unsigned long long)val,
		       (unsigned long long)r->rip, bad);
		svm_inject_exception(v, VEC_GP, true, 0);
		return true;
	}
	if (!load_paging(v, e))
		return false;
	r->rip += insn_len(v, 2);
	return true;
}

/*
 * Shadow paging: INVLPG's address, from EXITINFO1 where decode assists
 * give it, else from the instruction (modrm.c), which also gives its
 * length; an INVLPG that cannot be decoded (16-bit addressing) drops every
 * shadow entry if NRIP gives its length, or stops the guest.
 */
static void decode_invlpg(struct vcpu *v, struct vm_exit *e)
{
	u16 cs_attr = vmcb16_get(v, VMCB_CS + SEG_ATTRIB);
	bool cs_l = (cs_attr & SEG_ATTR_L) && (v->efer & EFER_LMA);
	u8 b[15];
	size_t n = sizeof(b);
	struct modrm_mem m;

	while (n && guest_read_insn(v, b, n) < 0)
		n--;
	e->reason = EXIT_INVLPG;
	if (!modrm_decode_invlpg(b, n, cs_l, cs_attr & SEG_ATTR_DB, &m)) {
		e->insn_len = insn_len(v, 0);
		e->pf.all = true;
		if (!e->insn_len) {
			e->reason = EXIT_CANNOT_RUN;
			e->stop.why = "an INVLPG it cannot decode (16-bit "
				      "addressing?)";
		}
		return;
	}
	u64 gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = *guest_gpr(&v->regs, i);
	u64 off = modrm_offset(&m, gpr, v->regs.rip);
	u64 base = cs_l && m.seg < X86_SEG_FS
			   ? 0
			   : vmcb64_get(v, VMCB_ES + SEG_SIZE * (u32)m.seg +
						   SEG_BASE);
	e->pf.va = cs_l ? base + off : (u32)(base + off);
	e->insn_len = insn_len(v, m.len);
}

/* Fills e; false if the exit was handled here and the guest should simply
 * be entered again. */
static bool decode_exit(struct vcpu *v, struct vm_exit *e)
{
	u64 code = vmcb64_get(v, VMCB_EXITCODE);
	u64 info1 = vmcb64_get(v, VMCB_EXITINFO1);
	u64 info2 = vmcb64_get(v, VMCB_EXITINFO2);

	/*
	 * VMEXIT_INVALID is -1 in the 64-bit EXITCODE (APM Appendix C), but
	 * QEMU's TCG writes it as a 32-bit -1 (0xffffffff).  No valid exit
	 * code comes near either, so both mean "VMRUN refused the VMCB".
	 */
	if ((u32)code == (u32)VMEXIT_INVALID)
		code = VMEXIT_INVALID;
	*e = (struct vm_exit){ .reason = EXIT_UNHANDLED, .raw = code };
	switch (code) {
	case VMEXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->insn_len = insn_len(v, 2);
		break;
	case VMEXIT_HLT:
		e->reason = EXIT_HLT;
		e->insn_len = insn_len(v, 1);
		break;
	case VMEXIT_VMMCALL:
		e->reason = EXIT_HYPERCALL;
		e->insn_len = insn_len(v, 3);
		break;
	case VMEXIT_IOIO:
		e->reason = EXIT_IO;
		e->io.port = (u16)(info1 >> IOIO_PORT_SHIFT);
		e->io.in = info1 & IOIO_TYPE_IN;
		e->io.string = info1 & IOIO_STR;
		e->io.rep = info1 & IOIO_REP;
		e->io.size = info1 & IOIO_SZ32 ? 4 : info1 & IOIO_SZ16 ? 2 : 1;
		e->insn_len = (u32)(info2 - v->regs.rip);	/* next RIP */
		if (e->io.string)
			decode_string_io(v, info1, e);
		break;
	case VMEXIT_XSETBV:
		e->reason = EXIT_XSETBV;
		e->insn_len = insn_len(v, 3);
		break;
	case VMEXIT_INVD:
		e->reason = EXIT_INVD;
		e->insn_len = insn_len(v, 2);
		break;
	case VMEXIT_MSR:
		if ((u32)v->regs.rcx == MSR_EFER &&
		    ((struct svm_vcpu *)v->hw)->shadow)
			return !efer_access(v, info1, e);
		e->reason = info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->msr.index = (u32)v->regs.rcx;
		e->insn_len = insn_len(v, 2);
		break;
	case VMEXIT_NPF:
		e->reason = EXIT_SLAT_VIOLATION;
		e->slat.gpa = info2;
		e->slat.present = info1 & NPF_P;
		e->slat.write = info1 & NPF_RW;
		e->slat.exec = info1 & NPF_ID;
		e->slat.walk = info1 & NPF_GUEST_PT_WALK;
		e->slat.read = !e->slat.write && !e->slat.exec;
		break;
	case VMEXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		break;
	case VMEXIT_INTR:
		e->reason = EXIT_EXTINT;
		break;
	case VMEXIT_VINTR:
		e->reason = EXIT_INTR_WINDOW;
		break;
	case VMEXIT_NMI:
		/* Held pending by GIF = 0 after the exit, then taken by our
		 * own NMI gate at svm_enter's STGI: the guest never saw it. */
		e->reason = EXIT_HOST_NMI;
		break;
	case VMEXIT_VMRUN:
	case VMEXIT_VMLOAD:
	case VMEXIT_VMSAVE:
	case VMEXIT_STGI:
	case VMEXIT_CLGI:
	case VMEXIT_SKINIT:
	case VMEXIT_INVLPGA:
		e->reason = EXIT_VIRT_INSN;
		e->insn.name = svm_insn_name(code);
		break;
	case VMEXIT_EXCP_BASE + VEC_UD:
		decode_ud(v, e);
		break;
	case VMEXIT_EXCP_BASE + VEC_PF:		/* shadow paging only */
		e->reason = EXIT_PAGE_FAULT;
		e->pf.va = info2;
		e->pf.error = (u32)info1;
		break;
	case VMEXIT_INVLPG:			/* shadow paging only */
		decode_invlpg(v, e);
		break;
	case VMEXIT_CR0_READ:
	case VMEXIT_CR0_READ + 3:
	case VMEXIT_CR0_READ + 4:
		return !cr_access(v, (unsigned)(code - VMEXIT_CR0_READ), false,
				  info1, e);
	case VMEXIT_CR0_WRITE:
	case VMEXIT_CR0_WRITE + 3:
	case VMEXIT_CR4_WRITE:
	case VMEXIT_CR8_WRITE:
		return !cr_access(v, (unsigned)(code - VMEXIT_CR0_WRITE), true,
				  info1, e);
	case VMEXIT_INVALID:
		explain_invalid(v);
		e->reason = EXIT_ENTRY_FAILED;
		break;
	}
	return true;
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *sv = v->hw;

	do {
		sync_to_vmcb(v);
		vmcb8_set(v, VMCB_TLB_CONTROL,
			  !sv->flush ? TLB_CONTROL_DO_NOTHING
			  : cpu.flush_by_asid ? TLB_CONTROL_FLUSH_ASID
					      : TLB_CONTROL_FLUSH_ALL);
		sv->flush = false;
		/* We may have changed anything. */
		vmcb32_set(v, VMCB_CLEAN_BITS, 0);
		guest_dregs_load(&sv->dregs, false);
		if (sv->host_nmi) {
			/* selftest=host-nmi: GIF = 0 holds the NMI (svm_enter's
			 * own CLGI then changes nothing) until VMRUN sets GIF
			 * in the guest, where it meets the NMI intercept at
			 * once. */
			sv->host_nmi = false;
			__asm__ volatile("clgi" ::: "memory");
			lapic_self_nmi();
		}

		xstate_enter(v);
		bench_entering();
		svm_enter(sv->vmcb_pa, &v->regs, host_vmcb_pa);
		bench_exit_returned();
		xstate_exit(v);

		guest_dregs_save(&sv->dregs, false);
		sync_from_vmcb(v);
		/*
		 * An event the guest was being delivered when the exit
		 * happened (say a #PF whose IDT entry was not yet mapped in
		 * the NPT) is lost unless it is injected again on the next
		 * entry (APM 15.7.2).
		 */
		u64 pending = vmcb64_get(v, VMCB_EXITINTINFO);
		vmcb64_set(v, VMCB_EVENTINJ,
			   pending & EVENT_VALID ? pending : 0);
	} while (!decode_exit(v, e));
}

static void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error,
				 u32 error)
{
	u64 ev = vector | EVENT_TYPE_EXCEPTION | EVENT_VALID;

	if (has_error)
		ev |= EVENT_ERROR_VALID | (u64)error << 32;
	vmcb64_set(v, VMCB_EVENTINJ, ev);
}

static bool svm_interruptible(struct vcpu *v)
{
	struct svm_vcpu *sv = v->hw;
	bool shadow = v->regs.rip == sv->exit_rip &&
		      (vmcb64_get(v, VMCB_INTERRUPT_SHADOW) &
		       INTERRUPT_SHADOW_ACTIVE);

	return (v->regs.rflags & RFLAGS_IF) && !shadow &&
	       !(vmcb64_get(v, VMCB_EVENTINJ) & EVENT_VALID);
}

/* The exception the CPU was delivering when it exited (re-queued by
 * svm_vcpu_run()) decides what the guest's #PF becomes. */
static bool svm_inject_page_fault(struct vcpu *v, u64 va, u32 error)
{
	u64 pending = vmcb64_get(v, VMCB_EVENTINJ);
	int vec = VEC_PF;

	if ((pending & EVENT_VALID) &&
	    (pending & EVENT_TYPE_MASK) == EVENT_TYPE_EXCEPTION)
		vec = exc_pf_during((u8)(pending & EVENT_VECTOR_MASK));
	if (vec < 0)
		return false;
	if (vec == VEC_DF) {
		svm_inject_exception(v, VEC_DF, true, 0);
		return true;
	}
	vmcb64_set(v, VMCB_CR2, va);	/* a #PF intercept leaves CR2 alone */
	svm_inject_exception(v, VEC_PF, true, error);
	return true;
}

static void svm_inject_interrupt(struct vcpu *v, u8 vector)
{
	vmcb64_set(v, VMCB_EVENTINJ, vector | EVENT_TYPE_INTR | EVENT_VALID);
}

static void svm_set_intr_window(struct vcpu *v, bool on)
{
	struct svm_vcpu *sv = v->hw;
	u64 irq = VINTR_V_IRQ | VINTR_PRIO_MAX | VINTR_IGN_TPR;
	u64 vintr = vmcb64_get(v, VMCB_VINTR);
	u32 misc1 = vmcb32_get(v, VMCB_INTERCEPT_MISC1);

	if (on == sv->intr_window)
		return;
	sv->intr_window = on;
	vmcb64_set(v, VMCB_VINTR, on ? vintr | irq : vintr & ~irq);
	vmcb32_set(v, VMCB_INTERCEPT_MISC1, on ? misc1 | INTERCEPT_VINTR
					       : misc1 & ~INTERCEPT_VINTR);
}

/* Nested SVM is not offered: a guest's CPUID shows no SVM, and the SVM
 * leaf 8000_000Ah (revision, ASIDs, NPT, ...) reads all zero, as the APM
 * defines it for a CPU without SVM (CPUID Fn8000_000A: "reserved" unless
 * CPUID Fn8000_0001_ECX[SVM] = 1). */
static void svm_cpuid_adjust(u32 leaf, u32 subleaf, struct cpuid_regs *c)
{
	(void)subleaf;
	if (leaf == 0x80000001)
		c->ecx &= ~CPUIDX1_ECX_SVM;
	if (leaf == CPUID_SVM_LEAF)
		*c = (struct cpuid_regs){ 0, 0, 0, 0 };
}

static void svm_flush_slat(struct vm *vm)
{
	((struct svm_vcpu *)vm->vcpu.hw)->flush = true;
}

static void dump_segment(const struct vcpu *v, const char *name,
			 unsigned off)
{
	kprintf("[hv]   %-4s sel 0x%04x attr 0x%03x limit 0x%08x base 0x%llx\n",
		name, vmcb16_get(v, off + SEG_SELECTOR),
		vmcb16_get(v, off + SEG_ATTRIB), vmcb32_get(v, off + SEG_LIMIT),
		(unsigned long long)vmcb64_get(v, off + SEG_BASE));
}

static void svm_dump(struct vcpu *v)
{
	kprintf("[hv] %s VMCB at 0x%llx: exitcode 0x%llx info1 0x%llx info2 "
		"0x%llx exitintinfo 0x%llx\n", v->vm->name,
		(unsigned long long)((struct svm_vcpu *)v->hw)->vmcb_pa,
		(unsigned long long)vmcb64_get(v, VMCB_EXITCODE),
		(unsigned long long)vmcb64_get(v, VMCB_EXITINFO1),
		(unsigned long long)vmcb64_get(v, VMCB_EXITINFO2),
		(unsigned long long)vmcb64_get(v, VMCB_EXITINTINFO));
	kprintf("[hv]   RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx CR0 0x%llx CR3 "
		"0x%llx CR4 0x%llx EFER 0x%llx CPL %u ASID %u nCR3 0x%llx\n",
		(unsigned long long)vmcb64_get(v, VMCB_RIP),
		(unsigned long long)vmcb64_get(v, VMCB_RSP),
		(unsigned long long)vmcb64_get(v, VMCB_RFLAGS),
		(unsigned long long)vmcb64_get(v, VMCB_CR0),
		(unsigned long long)vmcb64_get(v, VMCB_CR3),
		(unsigned long long)vmcb64_get(v, VMCB_CR4),
		(unsigned long long)vmcb64_get(v, VMCB_EFER),
		vmcb8_get(v, VMCB_CPL), vmcb32_get(v, VMCB_GUEST_ASID),
		(unsigned long long)vmcb64_get(v, VMCB_N_CR3));
	dump_segment(v, "CS", VMCB_CS);
	dump_segment(v, "SS", VMCB_SS);
	dump_segment(v, "DS", VMCB_DS);
	dump_segment(v, "TR", VMCB_TR);
	dump_segment(v, "GDTR", VMCB_GDTR);
	dump_segment(v, "IDTR", VMCB_IDTR);
}

static void svm_raise_host_nmi(struct vcpu *v)
{
	((struct svm_vcpu *)v->hw)->host_nmi = true;
}

/* Test hook: a guest EFER without SVME, or VMRUN not intercepted; both
 * fail VMRUN's consistency checks (APM 15.5.1). */
static void svm_break_state(struct vcpu *v, bool controls)
{
	if (controls)
		vmcb32_set(v, VMCB_INTERCEPT_MISC2,
			   vmcb32_get(v, VMCB_INTERCEPT_MISC2) &
				   ~INTERCEPT_VMRUN);
	else
		vmcb64_set(v, VMCB_EFER, vmcb64_get(v, VMCB_EFER) & ~EFER_SVME);
}

const struct backend_ops svm_backend = {
	.name = "SVM+NPT",
	.slat = &npt_format,
	.shadow_paging = true,
	.probe = svm_probe,
	.enable = svm_enable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.cpuid_adjust = svm_cpuid_adjust,
	.inject_exception = svm_inject_exception,
	.inject_page_fault = svm_inject_page_fault,
	.interruptible = svm_interruptible,
	.inject_interrupt = svm_inject_interrupt,
	.set_intr_window = svm_set_intr_window,
	.flush_slat = svm_flush_slat,
	.dump = svm_dump,
	.break_state = svm_break_state,
	.raise_host_nmi = svm_raise_host_nmi,
};
