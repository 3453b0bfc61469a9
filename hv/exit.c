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
#include "console.h"
#include "fmt.h"
#include "hypercall.h"
#include "string.h"
#include "vmmem.h"
#include "../arch/x86/cpu.h"
#include "hvmem.h"
#include "../arch/x86/trap.h"

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

/* The hypervisor's CPUID leaves (guest ABI, docs/guest-abi.md). */
#define CPUID_HV_BASE 0x40000000
#define CPUID_HV_MAX 0x40000001
#define CPUID1_ECX_HYPERVISOR (1u << 31)

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
	[EXIT_ENTRY_FAILED] = "entry-failed",
	[EXIT_UNHANDLED] = "unhandled",
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

static void handle_cpuid(struct vm *vm, struct vm_exit *e)
{
	struct guest_regs *r = &vm->vcpu.regs;
	u32 leaf = (u32)r->rax, sub = (u32)r->rcx;
	struct cpuid_regs c;

	if (leaf == CPUID_HV_BASE) {
		/* "memvisor" and four zero bytes, in EBX, ECX, EDX. */
		c = (struct cpuid_regs){ CPUID_HV_MAX, 0x766d656d, 0x726f7369,
					 0 };
	} else if (leaf > CPUID_HV_BASE && leaf <= CPUID_HV_MAX + 0xff) {
		c = (struct cpuid_regs){ 0, 0, 0, 0 };
		if (leaf == CPUID_HV_MAX)
			c.eax = HYPERCALL_ABI_VERSION;
	} else {
		c = cpuid(leaf, sub);
		backend->cpuid_adjust(leaf, sub, &c);
		if (leaf == 1)	/* guest ABI: running on a hypervisor */
			c.ecx |= CPUID1_ECX_HYPERVISOR;
	}
	r->rax = c.eax;
	r->rbx = c.ebx;
	r->rcx = c.ecx;
	r->rdx = c.edx;
	skip_insn(&vm->vcpu, e);
}

static void console_put(struct vm *vm, char ch)
{
	if (ch == '\r')
		return;
	if (ch == '\n' || vm->line_len == sizeof(vm->line) - 1) {
		kprintf("[%s] %.*s\n", vm->name, (int)vm->line_len, vm->line);
		vm->line_len = 0;
		if (ch == '\n')
			return;
	}
	vm->line[vm->line_len++] = ch;
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
				console_put(vm, (char)val);
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

static void handle_io(struct vm *vm, struct vm_exit *e)
{
	struct guest_regs *r = &vm->vcpu.regs;
	u16 port = e->io.port;
	u32 mask = e->io.size == 4 ? 0xffffffffu : (1u << (8 * e->io.size)) - 1;
	u32 val = (u32)r->rax & mask;

	if (e->io.string) {
		vm_stop(vm, "string I/O (INS/OUTS) on port 0x%x at RIP 0x%llx "
			"is not emulated", port, (unsigned long long)r->rip);
		return;
	}
	if (!e->io.in && port == EXIT_PORT) {
		vm->exit_status = (int)(val & 0xff);	/* guest ABI: low 8 bits */
		vm->state = VM_DONE;
		hv_log("%s: exit port: status %d", vm->name, vm->exit_status);
		return;
	}
	if (port >= COM1_BASE && port < COM1_BASE + 8) {
		val = uart_io(vm, port - COM1_BASE, e->io.in, val);
	} else {
		vm->stats.io_other++;
		val = 0xffffffffu;	/* nothing there: the bus floats high */
	}
	/* As any register write: IN AL/AX keep the rest of RAX, IN EAX
	 * zero-extends into bits 63:32 (SDM 3.4.1.1). */
	if (e->io.in && e->io.size == 4)
		r->rax = val;
	else if (e->io.in)
		r->rax = (r->rax & ~(u64)mask) | (val & mask);
	skip_insn(&vm->vcpu, e);
}

static const char *access_name(const struct vm_exit *e)
{
	return e->slat.exec ? "exec" : e->slat.write ? "write" : "read";
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
			  (e->slat.exec ? GMEM_EXEC : 0);
	struct gmem_answer a;

	if (gpa >= vm->mem_bytes) {
		vm_stop(vm, "access to non-RAM GPA 0x%llx (%s) at RIP 0x%llx",
			(unsigned long long)gpa, access_name(e),
			(unsigned long long)vm->vcpu.regs.rip);
		return;
	}
	switch (gmem_fault(&vm->mem, gfn, access, e->slat.present, &a)) {
	case GMEM_MAP:
		if (gmem_map(&vm->mem, gfn, &a) < 0)
			vm_stop(vm, "out of memory for %s tables at GPA 0x%llx",
				vm->mem.slat.fmt->name, (unsigned long long)gpa);
		break;
	case GMEM_NO_FRAME:
		vm_stop(vm, "out of guest memory (pool %llu frames, %llu in use) "
			"at GPA 0x%llx", (unsigned long long)guest_pool.nframes,
			(unsigned long long)pool_used(&guest_pool),
			(unsigned long long)gpa);
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
 * The backends pass IA32_EFER (and VMX also FS/GS base) through; any other
 * MSR the guest touches is refused with #GP, as on a CPU that lacks it.
 * The first MSR_LOG_MAX refusals of a VM are logged one by one, the rest
 * only counted (vm_finish prints the count), so that a guest sweeping the
 * MSR space cannot flood the console.
 */
static void handle_msr(struct vm *vm, struct vm_exit *e, bool write)
{
	u64 n = ++vm->stats.msr_refused;

	if (n <= MSR_LOG_MAX)
		hv_log("%s: %s of MSR 0x%x at RIP 0x%llx: injecting #GP",
		       vm->name, write ? "WRMSR" : "RDMSR", e->msr.index,
		       (unsigned long long)vm->vcpu.regs.rip);
	if (n == MSR_LOG_MAX + 1)
		hv_log("%s: further MSR refusals not shown (counted; the total "
		       "when the VM ends)", vm->name);
	backend->inject_exception(&vm->vcpu, VEC_GP, true, 0);
}

/*
 * HLT waits for an interrupt.  memvisor delivers none to guests yet (no
 * virtual interrupt controller or timer), so nothing can ever wake a
 * halted vCPU, whatever its RFLAGS.IF: the halt is the end of it, and it is
 * stopped at once, with where it halted (a guest that wants to give the
 * CPU away calls YIELD).  When virtual timer interrupts arrive, a HLT with
 * IF=1 and a timer armed becomes a real wait: the vCPU sleeps until its
 * next tick; with IF=0 (and no NMI source) it stays the end.
 */
static void handle_hlt(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;

	if (!(v->regs.rflags & RFLAGS_IF))
		vm_stop(vm, "HLT with interrupts disabled at RIP 0x%llx: nothing "
			"can ever wake it; stopped",
			(unsigned long long)v->regs.rip);
	else
		vm_stop(vm, "HLT at RIP 0x%llx with interrupts enabled, but no "
			"virtual interrupt source is armed: nothing can ever "
			"wake it; stopped", (unsigned long long)v->regs.rip);
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
	switch (e->reason) {
	case EXIT_CPUID:
		handle_cpuid(vm, e);
		break;
	case EXIT_IO:
		handle_io(vm, e);
		break;
	case EXIT_HLT:
		handle_hlt(vm);
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
