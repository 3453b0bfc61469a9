/*
 * exit.c - one handler per normalized exit reason.
 *
 * Everything here is vendor-neutral: the backend has already decoded the
 * hardware exit into struct vm_exit and put the guest's registers in
 * vcpu->regs.  A handler either completes the instruction the guest ran
 * (emulate, then skip it with RIP += insn_len), makes the access succeed
 * next time (populate a page), injects a fault, or stops the VM with one
 * line saying what happened and where.
 */
#include "exit.h"
#include "bench.h"
#include "console.h"
#include "fmt.h"
#include "hypercall.h"
#include "string.h"
#include "vintr.h"
#include "vmmem.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/lapic.h"
#include "hvmem.h"
#include "../arch/x86/trap.h"
#include "../arch/x86/xstate.h"

/* COM1 as the guest ABI defines it (16550 register offsets). */
#define COM1_BASE 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE_TEMT 0x60	/* always ready to take a byte */
#define UART_IIR_NO_INT 0x01
#define EXIT_PORT 0xf4

/* The hypervisor's CPUID leaves (guest ABI, docs/guest-abi.md): the
 * signature, the ABI version, and the timing leaf (the VMware/KVM
 * convention: EAX = TSC kHz, EBX = the local APIC timer's input clock in
 * kHz, here the TSC too); the leaves between read as zero. */
#define CPUID_HV_BASE 0x40000000
#define CPUID_HV_VERSION 0x40000001
#define CPUID_HV_TIMING 0x40000010
#define CPUID_HV_MAX CPUID_HV_TIMING
#define CPUID1_ECX_HYPERVISOR (1u << 31)
/* The virtual local APIC (hv/vlapic.c) is an x2APIC without TSC-deadline
 * mode; leaf 1 EBX 31:24 is its initial APIC ID. */
#define CPUID1_ECX_X2APIC (1u << 21)
/* Leaf 06H, thermal and power management (SDM Vol. 2A, CPUID): none of
 * its sensors or MSRs (IA32_THERM_STATUS, IA32_MPERF/APERF, HWP) is
 * emulated, so of its bits only ARAT ("APIC timer always running") is
 * passed on, as KVM does. */
#define CPUID_THERMAL_POWER 6
#define CPUID6_EAX_ARAT (1u << 2)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_EBX_APIC_ID_SHIFT 24

const struct backend_ops *backend;

static const char *const reason_names[EXIT_REASON_COUNT] = {
	[EXIT_NONE] = "none",
	[EXIT_CPUID] = "cpuid",
	[EXIT_IO] = "io",
	[EXIT_HLT] = "hlt",
	[EXIT_HYPERCALL] = "hypercall",
	[EXIT_SLAT_VIOLATION] = "slat-violation",
	[EXIT_SLAT_MISCONFIG] = "slat-misconfig",
	[EXIT_MSR_READ] = "msr-read",
	[EXIT_MSR_WRITE] = "msr-write",
	[EXIT_CR_ACCESS] = "cr-access",
	[EXIT_SHUTDOWN] = "shutdown",
	[EXIT_EXCEPTION] = "exception",
	[EXIT_VIRT_INSN] = "virt-insn",
	[EXIT_EXTINT] = "extint",
	[EXIT_TIMER] = "timer",
	[EXIT_HOST_NMI] = "host-nmi",
	[EXIT_ENTRY_FAILED] = "entry-failed",
	[EXIT_UNHANDLED] = "unhandled",
	[EXIT_XSETBV] = "xsetbv",
	[EXIT_INVD] = "invd",
	[EXIT_INTR_WINDOW] = "intr-window",
	[EXIT_PAGE_FAULT] = "page-fault",
	[EXIT_INVLPG] = "invlpg",
	[EXIT_CANNOT_RUN] = "cannot-run",
};

const char *exit_reason_name(enum exit_reason r)
{
	return (unsigned)r < EXIT_REASON_COUNT ? reason_names[r] : "?";
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	hv_log("%s: %s", vm->name, vm->stop_reason);
	vm->state = VM_STOPPED;
}

static void skip_insn(struct vcpu *v, const struct vm_exit *e)
{
	v->regs.rip += e->insn_len;
}

/* The processor-extended-state view of CPUID (SDM Vol. 1 13.2): the host's
 * answer describes the host's CR4.OSXSAVE and XCR0 at the moment of the
 * CPUID; the guest must see its own, and only the components it may
 * enable (arch/x86/xstate.c).  XSAVES is not offered (it needs IA32_XSS,
 * which is refused like every other MSR). */
#define CPUID_XSTATE 0xd
#define CPUID_XSTATE_XSAVES (1u << 3)	/* leaf 0Dh subleaf 1 EAX */

static void cpuid_xstate(const struct vcpu *v, u32 leaf, u32 sub,
			 struct cpuid_regs *c)
{
	u64 allowed = xstate_guest_allowed();

	if (leaf == 1) {
		c->ecx &= ~CPUID1_ECX_OSXSAVE;
		if (v->cr4 & CR4_OSXSAVE_BIT)
			c->ecx |= CPUID1_ECX_OSXSAVE;
	}
	if (leaf != CPUID_XSTATE || !allowed)
		return;
	if (sub == 0) {
		c->eax = (u32)allowed;
		c->edx = (u32)(allowed >> 32);
		c->ebx = xstate_size(v->xcr0);
		c->ecx = xstate_size(allowed);
	} else if (sub == 1) {
		c->eax &= ~CPUID_XSTATE_XSAVES;
		c->ecx = c->edx = 0;	/* no IA32_XSS components */
	} else if (sub >= 64 || !(allowed & (1ull << sub))) {
		*c = (struct cpuid_regs){ 0, 0, 0, 0 };
	}
}

static void handle_cpuid(struct vm *vm, struct vm_exit *e)
{
	struct guest_regs *r = &vm->vcpu.regs;
	u32 leaf = (u32)r->rax, sub = (u32)r->rcx;
	struct cpuid_regs c;

	if (leaf == CPUID_HV_BASE) {
		/* "memvisor" and four zero bytes, in EBX, ECX, EDX. */
		c = (struct cpuid_regs){ CPUID_HV_MAX, 0x766d656d, 0x726f7369,
					 0 };
	} else if (leaf > CPUID_HV_BASE && leaf <= CPUID_HV_BASE + 0xff) {
		c = (struct cpuid_regs){ 0, 0, 0, 0 };
		if (leaf == CPUID_HV_VERSION)
			c.eax = HYPERCALL_ABI_VERSION;
		if (leaf == CPUID_HV_TIMING)
			c.eax = c.ebx = (u32)tsc_khz;
	} else {
		c = cpuid(leaf, sub);
		backend->cpuid_adjust(leaf, sub, &c);
		cpuid_xstate(&vm->vcpu, leaf, sub, &c);
		if (leaf == 1) {	/* guest ABI: running on a hypervisor */
			c.ecx |= CPUID1_ECX_HYPERVISOR | CPUID1_ECX_X2APIC;
			c.ecx &= ~CPUID1_ECX_TSC_DEADLINE;
			c.ebx = (c.ebx & 0x00ffffffu) |
				vm->vlapic.id << CPUID1_EBX_APIC_ID_SHIFT;
		}
		if (leaf == CPUID_THERMAL_POWER)
			c = (struct cpuid_regs){ c.eax & CPUID6_EAX_ARAT, 0, 0,
						 0 };
	}
	r->rax = c.eax;
	r->rbx = c.ebx;
	r->rcx = c.ecx;
	r->rdx = c.edx;
	skip_insn(&vm->vcpu, e);
}

/* COM1 register reads and writes; the divisor latch is accepted and
 * ignored, so a guest that programs its baud rate does not print it. */
static u32 uart_io(struct vm *vm, unsigned reg, bool in, u32 val)
{
	bool dlab = vm->uart_lcr & UART_LCR_DLAB;

	if (!in) {
		switch (reg) {
		case UART_THR:
			if (!dlab)
				vconsole_put(&vm->con, (u8)val);
			break;
		case UART_IER:
			if (!dlab)
				vm->uart_ier = (u8)val;
			break;
		case UART_LCR: vm->uart_lcr = (u8)val; break;
		case UART_MCR: vm->uart_mcr = (u8)val; break;
		case UART_SCR: vm->uart_scr = (u8)val; break;
		}
		return 0;
	}
	switch (reg) {
	case UART_IER: return dlab ? 0 : vm->uart_ier;
	case UART_IIR: return UART_IIR_NO_INT;
	case UART_LCR: return vm->uart_lcr;
	case UART_MCR: return vm->uart_mcr;
	case UART_LSR: return UART_LSR_THRE_TEMT;
	case UART_SCR: return vm->uart_scr;
	default: return 0;	/* RBR (nothing received), DLL/DLM, MSR */
	}
}

/*
 * One port access as IN or OUT does it, for one element of 1, 2 or 4
 * bytes: COM1, the exit port (the VM is done), or the PC devices of
 * hv/dev/ports.c (which answer "nothing attached", all ones, for the
 * ports they do not know), at the guest's TSC time (its RDTSC is the
 * host's).  Returns what an IN reads.
 */
static u32 port_io(struct vm *vm, u16 port, u8 size, bool in, u32 val)
{
	if (!in && port == EXIT_PORT) {
		vm->exit_status = (int)(val & 0xff);	/* guest ABI: low 8 bits */
		vm->state = VM_DONE;
		hv_log("%s: exit port: status %d", vm->name, vm->exit_status);
		return 0;
	}
	if (port >= COM1_BASE && port < COM1_BASE + 8)
		return uart_io(vm, port - COM1_BASE, in, val);
	return pc_dev_io(vm, port, size, in, val, rdtsc());
}

static void handle_string_io(struct vm *vm, struct vm_exit *e);

static void handle_io(struct vm *vm, struct vm_exit *e)
{
	struct guest_regs *r = &vm->vcpu.regs;
	u16 port = e->io.port;
	u32 mask = e->io.size == 4 ? 0xffffffffu : (1u << (8 * e->io.size)) - 1;
	u32 val = (u32)r->rax & mask;

	if (e->io.string) {
		handle_string_io(vm, e);
		return;
	}
	val = port_io(vm, port, e->io.size, e->io.in, val);
	if (vm->state != VM_RUNNING)
		return;	/* done (exit port) or stopped (a reset) */
	/* As any register write: IN AL/AX keep the rest of RAX, IN EAX
	 * zero-extends into bits 63:32 (SDM 3.4.1.1). */
	if (e->io.in && e->io.size == 4)
		r->rax = val;
	else if (e->io.in)
		r->rax = (r->rax & ~(u64)mask) | (val & mask);
	skip_insn(&vm->vcpu, e);
}

/*
 * INS and OUTS, with or without REP (SDM Vol. 2A INS/OUTS, Vol. 1 7.3.9):
 * element by element, each through the guest's page tables
 * (guest_virt_to_phys_access: present, writable for INS, user pages at
 * CPL 3) and guest RAM (vm_read_phys/vm_write_phys check the range), so
 * the hypervisor acts on no address it has not validated.  RSI (OUTS) or
 * RDI (INS) moves by the element size, backwards with RFLAGS.DF, and with
 * REP RCX counts down, in the instruction's address size (a 32-bit update
 * clears bits 63:32, a 16-bit one keeps them, as the CPU does).
 *
 * A REP instruction is interruptible between elements (Vol. 1 7.3.9.2):
 * after STRING_IO_BURST elements the guest is re-entered at the same
 * instruction with the registers updated, so it runs again and exits
 * again, and the scheduler's timer is seen in between.  RCX = 2^64-1
 * costs the hypervisor nothing but the guest's own slices.
 *
 * An element whose address does not translate, is not allowed, or is not
 * RAM stops the VM with a line naming it; the elements before it were
 * done, and RSI/RDI/RCX say so, as after a fault.  (The CPU would raise
 * #PF or #GP; memvisor has no path to inject a #PF with its CR2.)
 */
#define STRING_IO_BURST 256
#define RFLAGS_DF (1ull << 10)

static u64 addr_mask(u8 addr_size)
{
	return addr_size >= 8 ? ~0ull : (1ull << (8 * addr_size)) - 1;
}

/* reg = reg + delta in an addr_size-byte register. */
static void addr_update(u64 *reg, s64 delta, u8 addr_size)
{
	u64 m = addr_mask(addr_size), v = (*reg + (u64)delta) & m;

	*reg = addr_size == 4 ? v : (*reg & ~m) | v;
}

/* Copies one element between the guest's linear address la and buf,
 * byte by byte (it may straddle two pages); false with *bad the byte's
 * address if one does not translate or is not RAM. */
static bool string_io_copy(struct vcpu *v, u64 la, void *buf, u8 size,
			   bool to_guest, u8 cpl, u64 *bad)
{
	unsigned access = (to_guest ? GVA_WRITE : GVA_READ) |
			  (cpl == 3 ? GVA_USER : 0);

	for (u8 i = 0; i < size; i++) {
		u64 gpa, a = la + i;
		u8 *b = (u8 *)buf + i;
		/* 64-bit linear addresses must be canonical (#GP otherwise). */
		bool canonical = (u64)((s64)(a << 16) >> 16) == a;
		if (!canonical ||
		    guest_virt_to_phys_access(v, a, access, &gpa) < 0 ||
		    (to_guest ? vm_write_phys(v->vm, gpa, b, 1)
			      : vm_read_phys(v->vm, gpa, b, 1)) < 0) {
			*bad = a;
			return false;
		}
	}
	return true;
}

static const char *seg_name(u8 seg)
{
	static const char *const names[] = { "ES", "CS", "SS", "DS", "FS",
					     "GS" };
	return seg < ARRAY_SIZE(names) ? names[seg] : "?";
}

static void handle_string_io(struct vm *vm, struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	struct guest_regs *r = &v->regs;
	u8 size = e->io.size, as = e->io.addr_size;
	bool in = e->io.in;
	u64 *index = in ? &r->rdi : &r->rsi;
	u64 count = e->io.rep ? r->rcx & addr_mask(as) : 1;
	s64 step = (r->rflags & RFLAGS_DF) ? -(s64)size : (s64)size;
	u32 mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	const char *name = in ? "INS" : "OUTS";

	if (as != 2 && as != 4 && as != 8) {
		vm_stop(vm, "%s at RIP 0x%llx: the backend gave no address size",
			name, (unsigned long long)r->rip);
		return;
	}
	for (u64 n = 0; n < count; n++) {
		if (n == STRING_IO_BURST)
			return;	/* not done: the guest runs it again */
		u64 la = e->io.seg_base + (*index & addr_mask(as)), bad;
		u32 val = 0;
		if (!(v->efer & EFER_LMA))
			la = (u32)la;	/* linear addresses are 32-bit */
		if (!in && !string_io_copy(v, la, &val, size, false, vm->vcpu.cpl,
					   &bad))
			goto fault;
		if (in)
			val = port_io(vm, e->io.port, size, true, 0) & mask;
		else
			port_io(vm, e->io.port, size, false, val & mask);
		if (in && !string_io_copy(v, la, &val, size, true, vm->vcpu.cpl, &bad))
			goto fault;
		addr_update(index, step, as);
		if (e->io.rep)
			addr_update(&r->rcx, -1, as);
		if (vm->state != VM_RUNNING)
			return;
		continue;
fault:
		/* Short enough for stop_reason: the byte only if the element
		 * straddles into a bad page. */
		char at[40] = "";
		if (bad != la)
			fmt_snprintf(at, sizeof(at), " (byte 0x%llx)",
				     (unsigned long long)bad);
		vm_stop(vm, "%s%s%c port 0x%x at RIP 0x%llx: %s:%s 0x%llx, "
			"linear 0x%llx%s: not mapped%s or not RAM; RCX 0x%llx",
			e->io.rep ? "REP " : "", name,
			size == 1 ? 'B' : size == 2 ? 'W' : 'D', e->io.port,
			(unsigned long long)r->rip, seg_name(e->io.seg),
			in ? "RDI" : "RSI", (unsigned long long)*index,
			(unsigned long long)la, at, in ? " writable" : "",
			(unsigned long long)r->rcx);
		return;
	}
	skip_insn(v, e);
}

static const char *access_name(const struct vm_exit *e)
{
	return e->slat.exec ? "exec" : e->slat.write ? "write" : "read";
}

/* What a p2m entry says, for a log line: "shared HPA 0x...", "swapped
 * slot N", "unpopulated"... */
static void p2m_entry_text(char *buf, size_t len, u64 entry)
{
	enum p2m_state s = (enum p2m_state)(entry & P2M_STATE_MASK);
	u64 value = entry & P2M_VALUE_MASK;

	if (s == P2M_PRIVATE || s == P2M_SHARED)
		fmt_snprintf(buf, len, "%s HPA 0x%llx", p2m_state_name(s),
			     (unsigned long long)value);
	else if (s == P2M_SWAPPED)
		fmt_snprintf(buf, len, "swapped slot %llu",
			     (unsigned long long)(value / PAGE_SIZE));
	else
		fmt_snprintf(buf, len, "%s", p2m_state_name(s));
}

/*
 * slat_trace=N: one line for each of a VM's first N SLAT violations:
 * where, which access, what the p2m held before and what it holds now,
 * and the leaf mapped (the GDB helpers' test checks its walks against
 * these lines; docs/debugging.md uses them).
 */
static void trace_slat_violation(struct vm *vm, const struct vm_exit *e,
				 u64 before, enum gmem_verdict v,
				 const struct gmem_answer *a)
{
	u64 gfn = e->slat.gpa / PAGE_SIZE;
	char was[48], now[48], leaf[48];

	p2m_entry_text(was, sizeof(was), before);
	p2m_entry_text(now, sizeof(now), vm->mem.p2m.entries[gfn]);
	if (v == GMEM_MAP)
		fmt_snprintf(leaf, sizeof(leaf), "leaf HPA 0x%llx %c%c%c",
			     (unsigned long long)a->hpa,
			     a->perms & SLAT_R ? 'R' : '-',
			     a->perms & SLAT_W ? 'W' : '-',
			     a->perms & SLAT_X ? 'X' : '-');
	else
		fmt_snprintf(leaf, sizeof(leaf), "%s",
			     v == GMEM_NO_FRAME ? "no frame: waits for reclaim"
						: "bad fault");
	hv_log("%s slat: %s%s GPA 0x%llx at RIP 0x%llx: was %s, now %s, %s",
	       vm->name, access_name(e), e->slat.walk ? " (page walk)" : "",
	       (unsigned long long)e->slat.gpa,
	       (unsigned long long)vm->vcpu.regs.rip, was, now, leaf);
}

/* Not a failure yet: the vCPU waits for reclaim (the scheduler, hv/run.c,
 * decides when nothing can free a frame); the access that needed one at
 * gpa is retried when it runs again. */
static void wait_for_frame(struct vm *vm, u64 gpa)
{
	vm->wants_frame = true;
	vm->wait_gpa = gpa;
	vm->stats.mem_waits++;
	vm->yielded = true;
}

/*
 * The guest touched a page its SLAT does not map (or maps without the
 * right): outside RAM it is stopped; inside, mm/gmem.c decides what backs
 * the page, and the answer is mapped.  A new leaf over a non-present entry
 * owes no flush: no TLB can hold a translation that did not exist.
 */
static void handle_slat_violation(struct vm *vm, struct vm_exit *e)
{
	u64 gpa = e->slat.gpa, gfn = gpa / PAGE_SIZE;
	unsigned access = (e->slat.read ? GMEM_READ : 0) |
			  (e->slat.write ? GMEM_WRITE : 0) |
			  (e->slat.exec ? GMEM_EXEC : 0) |
			  (e->slat.walk ? GMEM_WALK : 0);
	struct gmem_answer a;

	if (gpa >= vm->mem_bytes) {
		vm_stop(vm, "access to non-RAM GPA 0x%llx (%s) at RIP 0x%llx",
			(unsigned long long)gpa, access_name(e),
			(unsigned long long)vm->vcpu.regs.rip);
		return;
	}
	u64 before = vm->mem.p2m.entries[gfn];
	enum gmem_verdict v = gmem_fault(&vm->mem, gfn, access,
					 e->slat.present, &a);

	if (vm->slat_trace_left) {
		vm->slat_trace_left--;
		trace_slat_violation(vm, e, before, v, &a);
	}
	switch (v) {
	case GMEM_MAP:
		if (gmem_map(&vm->mem, gfn, &a) < 0)
			vm_stop(vm, "out of memory for %s tables at GPA 0x%llx",
				vm->mem.slat.fmt->name, (unsigned long long)gpa);
		break;
	case GMEM_NO_FRAME:
		wait_for_frame(vm, gpa);
		break;
	case GMEM_BAD_FAULT:
		vm_stop(vm, "unexpected %s permission fault at GPA 0x%llx (%s) "
			"at RIP 0x%llx: p2m says %s", vm->mem.slat.fmt->name,
			(unsigned long long)gpa, access_name(e),
			(unsigned long long)vm->vcpu.regs.rip,
			p2m_state_name(p2m_state(&vm->mem.p2m, gfn)));
		break;
	}
}

/*
 * Shadow paging: a #PF under the shadow tables.  mm/shadow.c walks the
 * guest's tables: a fault they explain is the guest's own and goes back to
 * it; otherwise the page is composed with the p2m and a shadow leaf
 * installed, and the access retried.  A guest whose tables the walker
 * cannot follow (outside its RAM, a mode it does not walk, a table that
 * maps itself writable for the write) is stopped with what and where.
 */
static void handle_page_fault(struct vm *vm, struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	const char *why = "no shadow MMU (a backend bug)";
	u32 error = 0;
	enum shadow_verdict sv = vm->shadow ? shadow_fault(vm->shadow, e->pf.va,
							   e->pf.error, &error,
							   &why)
					    : SHADOW_BAD;

	if (vm->slat_trace_left && vm->shadow) {
		vm->slat_trace_left--;
		hv_log("%s shadow: %s%s GVA 0x%llx at RIP 0x%llx: GPA 0x%llx, "
		       "%s", vm->name,
		       e->pf.error & PFERR_I	? "exec"
		       : e->pf.error & PFERR_W ? "write"
					       : "read",
		       e->pf.error & PFERR_P ? " (present)" : "",
		       (unsigned long long)e->pf.va,
		       (unsigned long long)v->regs.rip,
		       (unsigned long long)vm->shadow->fault_gpa,
		       sv == SHADOW_FIXED     ? "leaf installed"
		       : sv == SHADOW_REFLECT ? "the guest's own fault"
		       : sv == SHADOW_NO_FRAME ? "no frame: waits"
					       : why);
	}
	switch (sv) {
	case SHADOW_FIXED:
		break;
	case SHADOW_REFLECT:
		if (!backend->inject_page_fault(v, e->pf.va, error))
			vm_stop(vm, "triple fault (shutdown): a #PF at GVA 0x%llx "
				"while delivering a #DF, at RIP 0x%llx",
				(unsigned long long)e->pf.va,
				(unsigned long long)v->regs.rip);
		break;
	case SHADOW_NO_FRAME:
		wait_for_frame(vm, vm->shadow->fault_gpa);
		break;
	case SHADOW_BAD:
		vm_stop(vm, "shadow paging: %s, at GVA 0x%llx (%s%s) at RIP "
			"0x%llx, CR3 0x%llx", why, (unsigned long long)e->pf.va,
			e->pf.error & PFERR_I	? "exec"
			: e->pf.error & PFERR_W ? "write"
						: "read",
			e->pf.error & PFERR_U ? ", user" : "",
			(unsigned long long)v->regs.rip,
			(unsigned long long)v->cr3);
		break;
	}
}

/* Shadow paging: INVLPG drops the one shadow leaf (every one when the
 * backend could not tell the address); the guest's TLB is the shadow's. */
static void handle_invlpg(struct vm *vm, struct vm_exit *e)
{
	if (!vm->shadow) {
		vm_stop(vm, "INVLPG exit without shadow paging (a backend "
			"bug) at RIP 0x%llx",
			(unsigned long long)vm->vcpu.regs.rip);
		return;
	}
	if (e->pf.all)
		shadow_flush_all(vm->shadow, SHADOW_FLUSH_INVALIDATE);
	else
		shadow_invlpg(vm->shadow, e->pf.va);
	skip_insn(&vm->vcpu, e);
}

/*
 * The backends pass IA32_EFER (and VMX also FS/GS base) through;
 * IA32_APIC_BASE and the x2APIC MSRs are the virtual local APIC's
 * (hv/vintr.c, hv/vlapic.c), which refuses what the SDM says #GPs; any
 * other MSR the guest touches is refused with #GP, as on a CPU that lacks
 * it.
 * The first MSR_LOG_MAX refusals of a VM are logged one by one, the rest
 * only counted (vm_finish prints the count), so that a guest sweeping the
 * MSR space cannot flood the console.
 */
static void handle_msr(struct vm *vm, struct vm_exit *e, bool write)
{
	const char *why = NULL;
	int apic = vintr_msr(vm, e, write, &why);

	if (apic > 0)
		return;
	u64 n = ++vm->stats.msr_refused;
	if (n <= MSR_LOG_MAX)
		hv_log("%s: %s of MSR 0x%x at RIP 0x%llx%s%s: injecting #GP",
		       vm->name, write ? "WRMSR" : "RDMSR", e->msr.index,
		       (unsigned long long)vm->vcpu.regs.rip,
		       apic < 0 ? ": " : "", apic < 0 ? why : "");
	if (n == MSR_LOG_MAX + 1)
		hv_log("%s: further MSR refusals not shown (counted; the total "
		       "when the VM ends)", vm->name);
	backend->inject_exception(&vm->vcpu, VEC_GP, true, 0);
}

/*
 * XSETBV (SDM Vol. 2D XSETBV, Vol. 1 13.3): #UD without CR4.OSXSAVE, #GP
 * at CPL > 0 (the CPU checks both before the intercept, Bochs the latter
 * after it: checked here again), #GP for an XCR other than 0 and for an
 * XCR0 the CPU would refuse or memvisor does not offer (x87 must stay on,
 * AVX needs SSE, nothing outside xstate_guest_allowed()).  A valid value
 * becomes the guest's XCR0, which the backend loads before every entry.
 */
static void handle_xsetbv(struct vm *vm, struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	u32 xcr = (u32)v->regs.rcx;
	u64 val = ((v->regs.rdx & 0xffffffffull) << 32) |
		  (v->regs.rax & 0xffffffffull);
	const char *bad = NULL;

	if (!(v->cr4 & CR4_OSXSAVE_BIT)) {
		backend->inject_exception(v, VEC_UD, false, 0);
		return;
	}
	if (vm->vcpu.cpl != 0)
		bad = "CPL is not 0";
	else if (xcr != 0)
		bad = "no such XCR";
	else if (!(val & XCR0_X87))
		bad = "x87 (bit 0) must be set";
	else if ((val & XCR0_AVX) && !(val & XCR0_SSE))
		bad = "AVX (bit 2) needs SSE (bit 1)";
	else if (val & ~xstate_guest_allowed())
		bad = "components not offered";
	if (bad) {
		hv_log("%s: XSETBV XCR%u = 0x%llx at RIP 0x%llx: %s: injecting "
		       "#GP", vm->name, xcr, (unsigned long long)val,
		       (unsigned long long)v->regs.rip, bad);
		backend->inject_exception(v, VEC_GP, true, 0);
		return;
	}
	v->xcr0 = val;
	skip_insn(v, e);
}

/* Host NMIs are printed one line each, up to this many; then counted. */
#define HOST_NMI_LINES 8

static void handle_host_nmi(struct vm *vm)
{
	static u64 lines;
	u64 n = trap_nmi_count();

	if (lines < HOST_NMI_LINES)
		hv_log("host NMI during %s (taken by the hypervisor, not the "
		       "guest); %llu so far%s", vm->name, (unsigned long long)n,
		       ++lines == HOST_NMI_LINES ? "; further ones are only "
						   "counted" : "");
}

/*
 * HLT waits for an interrupt, and the only source of one is the vCPU's
 * virtual local APIC (hv/vintr.c): with RFLAGS.IF = 1 and its timer armed
 * the vCPU sleeps until the next tick; with IF = 0 (there is no NMI
 * source either), or nothing armed, nothing can ever wake it, and it is
 * stopped at once with where it halted (a guest that wants to give the
 * CPU away without a timer calls YIELD).
 */
static void handle_hlt(struct vm *vm, struct vm_exit *e)
{
	vintr_hlt(vm, e);
}

static void handle_extint(void)
{
	/* Let the pending physical interrupt be taken by our own IDT. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

void exit_handle(struct vm *vm, struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;

	vm->stats.exits[e->reason < EXIT_REASON_COUNT ? e->reason : 0]++;
	bench_exit_reason(e->reason);
	switch (e->reason) {
	case EXIT_CPUID:
		handle_cpuid(vm, e);
		break;
	case EXIT_IO:
		handle_io(vm, e);
		break;
	case EXIT_HLT:
		handle_hlt(vm, e);
		break;
	case EXIT_INTR_WINDOW:
		/* Nothing to do here: the next entry injects (vintr.c). */
		break;
	case EXIT_HYPERCALL:
		hypercall_handle(vm);
		skip_insn(v, e);
		break;
	case EXIT_SLAT_VIOLATION:
		handle_slat_violation(vm, e);
		break;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		handle_msr(vm, e, e->reason == EXIT_MSR_WRITE);
		break;
	case EXIT_VIRT_INSN:
		hv_log("%s: %s at RIP 0x%llx: injecting #UD (no nested "
		       "virtualization)", vm->name, e->insn.name,
		       (unsigned long long)v->regs.rip);
		backend->inject_exception(v, VEC_UD, false, 0);
		break;
	case EXIT_SHUTDOWN:
		vm_stop(vm, "triple fault (shutdown) at RIP 0x%llx",
			(unsigned long long)v->regs.rip);
		break;
	case EXIT_EXTINT:
		handle_extint();
		break;
	case EXIT_TIMER:
		/* The backend's own hardware timer ended the slice; our
		 * APIC timer may be pending too (Bochs does not exit on it
		 * while the guest runs with IF=0): take it. */
		handle_extint();
		break;
	case EXIT_HOST_NMI:
		/* The backend saw to it that the hypervisor's handler took
		 * the NMI; the guest resumes where it was. */
		handle_host_nmi(vm);
		break;
	case EXIT_EXCEPTION:
		/* An intercepted exception that turned out to be the
		 * guest's own business: deliver it as the CPU would have. */
		backend->inject_exception(v, e->exc.vector, e->exc.has_error,
					  e->exc.error);
		break;
	case EXIT_ENTRY_FAILED:
		vm_stop(vm, "VM entry failed (the %s backend printed why)",
			backend->name);
		break;
	case EXIT_SLAT_MISCONFIG:
		backend->dump(v);
		vm_stop(vm, "%s misconfiguration at GPA 0x%llx: a hypervisor "
			"bug", vm->mem.slat.fmt->name,
			(unsigned long long)e->slat.gpa);
		break;
	case EXIT_XSETBV:
		handle_xsetbv(vm, e);
		break;
	case EXIT_PAGE_FAULT:
		handle_page_fault(vm, e);
		break;
	case EXIT_INVLPG:
		handle_invlpg(vm, e);
		break;
	case EXIT_CANNOT_RUN:
		vm_stop(vm, "%s: %s at RIP 0x%llx", backend->name, e->stop.why,
			(unsigned long long)v->regs.rip);
		break;
	case EXIT_INVD:
		/* Throwing away dirty cache lines would lose other VMs' and
		 * our own data: write them back too, as KVM does. */
		wbinvd();
		skip_insn(v, e);
		break;
	case EXIT_CR_ACCESS:
	case EXIT_UNHANDLED:
	case EXIT_NONE:
	case EXIT_REASON_COUNT:
		backend->dump(v);
		vm_stop(vm, "unhandled exit (%s, hardware code 0x%llx) at RIP "
			"0x%llx", exit_reason_name(e->reason),
			(unsigned long long)e->raw,
			(unsigned long long)v->regs.rip);
		break;
	}
}
