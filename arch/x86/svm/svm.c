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
 * in between is already unreachable on this (single) CPU.
 *
 * QEMU's TCG has SVM and NPT but no NRIP save: where the VMCB's next-RIP
 * is 0 the instruction length is known from the exit (CPUID 2, HLT 1,
 * VMMCALL 3, RDMSR/WRMSR 2) or, for IOIO, EXITINFO2 holds the next RIP.
 */
#include "npt.h"
#include "vmcb.h"
#include "../cpu.h"
#include "../cpufeat.h"
#include "../trap.h"
#include "../virt_insn.h"
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

#define DR6_INIT 0xffff0ff0ull
#define DR7_INIT 0x400ull

struct svm_vcpu {
	u64 vmcb_pa;
	bool flush;		/* TLB_CONTROL flush on the next VMRUN */
};

static u64 host_vmcb_pa;	/* our own VMLOAD/VMSAVE state */
static u64 hsave_pa;		/* VM_HSAVE_PA: where VMRUN saves the host */
static u64 iopm_pa, msrpm_pa;
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
	if (!hsave_pa || !host_vmcb_pa || !iopm_pa || !msrpm_pa) {
		fmt_snprintf(err, errlen, "out of memory for SVM structures");
		return -1;
	}
	/* Intercept every port and every MSR, then let EFER through. */
	u8 *iopm = hv_ptr(iopm_pa), *msrpm = hv_ptr(msrpm_pa);
	for (u64 i = 0; i < IOPM_PAGES * PAGE_SIZE; i++)
		iopm[i] = 0xff;
	for (u64 i = 0; i < MSRPM_PAGES * PAGE_SIZE; i++)
		msrpm[i] = 0xff;
	/* Two bits per MSR (read, write), MSR C000_0080h is the 0x80th. */
	msrpm[MSRPM_C0000000_OFFSET + (MSR_EFER & 0x1fff) * 2 / 8] &=
		(u8)~(3u << ((MSR_EFER & 0x1fff) * 2 % 8));

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave_pa);
	vmsave(host_vmcb_pa);	/* our TR/FS/GS/... for svm_enter's VMLOAD */
	return 0;
}

/* --- vCPUs -------------------------------------------------------------- */

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
	if (!sv->vmcb_pa) {
		fmt_snprintf(err, errlen, "%s: out of memory for the VMCB",
			     vm->name);
		return -1;
	}
	sv->flush = true;	/* the ASID may hold a previous VM's entries */
	v->hw = sv;

	/* Control area: what exits, and nested paging. */
	vmcb32_set(v, VMCB_INTERCEPT_MISC1,
		   INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_CPUID |
			   INTERCEPT_HLT | INTERCEPT_IOIO_PROT |
			   INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN);
	/* VMRUN must be intercepted (a consistency check); the others so a
	 * guest cannot reach SVM at all. */
	vmcb32_set(v, VMCB_INTERCEPT_MISC2,
		   INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
			   INTERCEPT_VMSAVE | INTERCEPT_STGI |
			   INTERCEPT_CLGI | INTERCEPT_SKINIT);
	/* #UD: a guest's VMCALL (Intel's hypercall) is a hypercall here too,
	 * and a VMX instruction is reported by name (virt_insn.c). */
	vmcb32_set(v, VMCB_INTERCEPT_EXC, 1u << VEC_UD);
	vmcb64_set(v, VMCB_IOPM_BASE_PA, iopm_pa);
	vmcb64_set(v, VMCB_MSRPM_BASE_PA, msrpm_pa);
	vmcb32_set(v, VMCB_GUEST_ASID, (u32)vm->id + 1);
	/* Physical interrupts follow the host's RFLAGS.IF, not the guest's. */
	vmcb64_set(v, VMCB_VINTR, VINTR_MASKING);
	vmcb64_set(v, VMCB_NP_ENABLE, 1);
	vmcb64_set(v, VMCB_N_CR3, vm->mem.slat.root);

	/* State save area: Multiboot's 32-bit protected mode, paging off. */
	set_segment(v, VMCB_CS, 0x08, ATTR_CODE32, 0xffffffff, 0);
	set_segment(v, VMCB_DS, 0x10, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_ES, 0x10, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_SS, 0x10, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_FS, 0x10, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_GS, 0x10, ATTR_DATA32, 0xffffffff, 0);
	set_segment(v, VMCB_GDTR, 0, 0, 0, 0);
	set_segment(v, VMCB_IDTR, 0, 0, 0, 0);
	set_segment(v, VMCB_LDTR, 0, ATTR_LDT, 0xffff, 0);
	set_segment(v, VMCB_TR, 0, ATTR_TSS32_BUSY, 0xffff, 0);
	vmcb8_set(v, VMCB_CPL, 0);
	/* EFER.SVME must be 1 in guest state too (VMRUN consistency check). */
	vmcb64_set(v, VMCB_EFER, EFER_SVME);
	vmcb64_set(v, VMCB_CR0, CR0_PE | CR0_ET);
	vmcb64_set(v, VMCB_CR3, 0);
	vmcb64_set(v, VMCB_CR4, 0);
	vmcb64_set(v, VMCB_DR6, DR6_INIT);
	vmcb64_set(v, VMCB_DR7, DR7_INIT);
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
	}
	v->hw = NULL;
}

/* --- running ------------------------------------------------------------ */

static void sync_to_vmcb(struct vcpu *v)
{
	vmcb64_set(v, VMCB_RIP, v->regs.rip);
	vmcb64_set(v, VMCB_RSP, v->regs.rsp);
	vmcb64_set(v, VMCB_RFLAGS, v->regs.rflags);
	vmcb64_set(v, VMCB_RAX, v->regs.rax);
}

static void sync_from_vmcb(struct vcpu *v)
{
	v->regs.rip = vmcb64_get(v, VMCB_RIP);
	v->regs.rsp = vmcb64_get(v, VMCB_RSP);
	v->regs.rflags = vmcb64_get(v, VMCB_RFLAGS);
	v->regs.rax = vmcb64_get(v, VMCB_RAX);
	v->cr0 = vmcb64_get(v, VMCB_CR0);
	v->cr3 = vmcb64_get(v, VMCB_CR3);
	v->cr4 = vmcb64_get(v, VMCB_CR4);
	v->efer = vmcb64_get(v, VMCB_EFER);
	v->cpl = vmcb8_get(v, VMCB_CPL);
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

	hv_log("%s: VMRUN failed: VMEXIT_INVALID (a VMCB consistency check, "
	       "APM 15.5.1)", v->vm->name);
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
 * guest's own (e->exc). */
static void decode_ud(struct vcpu *v, struct vm_exit *e)
{
	u8 bytes[VIRT_INSN_MAX_BYTES];
	u32 fetched = vmcb8_get(v, VMCB_INSN_LEN);	/* decode assists */

	if (fetched > sizeof(bytes))
		fetched = sizeof(bytes);
	for (u32 i = 0; i < fetched; i++)
		bytes[i] = vmcb8_get(v, VMCB_INSN_BYTES + i);
	if (!virt_insn_at_ud(v, bytes, fetched, e)) {
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
	default: return "an SVM instruction";
	}
}

static void decode_exit(struct vcpu *v, struct vm_exit *e)
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
		break;
	case VMEXIT_MSR:
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
		e->slat.read = !e->slat.write && !e->slat.exec;
		break;
	case VMEXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		break;
	case VMEXIT_INTR:
	case VMEXIT_NMI:
		e->reason = EXIT_EXTINT;
		break;
	case VMEXIT_VMRUN:
	case VMEXIT_VMLOAD:
	case VMEXIT_VMSAVE:
	case VMEXIT_STGI:
	case VMEXIT_CLGI:
	case VMEXIT_SKINIT:
		e->reason = EXIT_VIRT_INSN;
		e->insn.name = svm_insn_name(code);
		break;
	case VMEXIT_EXCP_BASE + VEC_UD:
		decode_ud(v, e);
		break;
	case VMEXIT_INVALID:
		explain_invalid(v);
		e->reason = EXIT_ENTRY_FAILED;
		break;
	}
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *sv = v->hw;

	sync_to_vmcb(v);
	vmcb8_set(v, VMCB_TLB_CONTROL, sv->flush ? TLB_CONTROL_FLUSH_ASID
						 : TLB_CONTROL_DO_NOTHING);
	sv->flush = false;
	vmcb32_set(v, VMCB_CLEAN_BITS, 0);	/* we may have changed anything */

	svm_enter(sv->vmcb_pa, &v->regs, host_vmcb_pa);

	sync_from_vmcb(v);
	/*
	 * An event the guest was being delivered when the exit happened (say
	 * a #PF whose IDT entry was not yet mapped in the NPT) is lost unless
	 * it is injected again on the next entry (APM 15.7.2).
	 */
	u64 pending = vmcb64_get(v, VMCB_EXITINTINFO);
	vmcb64_set(v, VMCB_EVENTINJ, pending & EVENT_VALID ? pending : 0);
	decode_exit(v, e);
}

static void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error,
				 u32 error)
{
	u64 ev = vector | EVENT_TYPE_EXCEPTION | EVENT_VALID;

	if (has_error)
		ev |= EVENT_ERROR_VALID | (u64)error << 32;
	vmcb64_set(v, VMCB_EVENTINJ, ev);
}

/* Nested SVM is not offered: a guest's CPUID shows no SVM. */
static void svm_cpuid_adjust(u32 leaf, u32 subleaf, struct cpuid_regs *c)
{
	(void)subleaf;
	if (leaf == 0x80000001)
		c->ecx &= ~CPUIDX1_ECX_SVM;
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
	.probe = svm_probe,
	.enable = svm_enable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.cpuid_adjust = svm_cpuid_adjust,
	.inject_exception = svm_inject_exception,
	.flush_slat = svm_flush_slat,
	.dump = svm_dump,
	.break_state = svm_break_state,
};
