/*
 * trap.c - what the guest does with each exception.
 *
 * A page fault is tried, in order, as:
 *   1. a demand fault in the heap (vm.c maps a fresh zeroed frame; retry),
 *   2. an expected fault of a probe (resume at its fixup, trap.h),
 *   3. a bug: print CR2, the decoded error code, RIP, the four-level walk
 *      and the registers, then end the guest with STATUS_EXCEPTION.
 * An interrupt goes to its vector's handler (trap_set_irq).
 * Every other exception is first offered to the hook its vector may have
 * (trap_set_hook), then to the probes; otherwise it is a bug and ends the
 * guest the same way.  So does any exception raised while such a report
 * is being printed.
 */
#include "trap.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "pt.h"
#include "vm.h"

struct probe_fault last_probe_fault;

extern const uint64_t probe_table[], probe_table_end[];

static int reporting;
static trap_hook_fn hooks[32];
static irq_handler_fn irq_handlers[256];

void trap_set_irq(unsigned vector, irq_handler_fn fn)
{
	if (vector >= 32 && vector < 256)
		irq_handlers[vector] = fn;
}

void trap_set_hook(unsigned vector, trap_hook_fn fn)
{
	if (vector < 32)
		hooks[vector] = fn;
}

static const char *vector_name(uint64_t v)
{
	static const char *const names[32] = {
		"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
		"#OF overflow", "#BR bound range", "#UD invalid opcode",
		"#NM device not available", "#DF double fault",
		"coprocessor segment overrun", "#TS invalid TSS",
		"#NP segment not present", "#SS stack fault",
		"#GP general protection", "#PF page fault", "reserved 15",
		"#MF x87 error", "#AC alignment check", "#MC machine check",
		"#XM SIMD exception", "#VE virtualization exception",
		"#CP control protection", "reserved 22", "reserved 23",
		"reserved 24", "reserved 25", "reserved 26", "reserved 27",
		"#HV hypervisor injection", "#VC VMM communication",
		"#SX security exception", "reserved 31",
	};
	return v < 32 ? names[v] : "an interrupt with no handler";
}

static void print_registers(const struct trap_frame *f)
{
	kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax,
		f->rbx, f->rcx, f->rdx);
	kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx\n", f->rsi,
		f->rdi, f->rbp, f->rsp);
	kprintf("  r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx\n", f->r8,
		f->r9, f->r10, f->r11);
	kprintf("  r12=%016lx r13=%016lx r14=%016lx r15=%016lx\n", f->r12,
		f->r13, f->r14, f->r15);
	kprintf("  rip=%016lx cs=%04lx rflags=%08lx ss=%04lx\n", f->rip, f->cs,
		f->rflags, f->ss);
	kprintf("  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n", read_cr0(),
		read_cr2(), read_cr3(), read_cr4());
}

/* Resumes a faulting probe instruction at its fixup; 1 if it was one. */
static int fixup_probe(struct trap_frame *f, uint64_t cr2)
{
	for (const uint64_t *e = probe_table; e < probe_table_end; e += 2) {
		if (f->rip == e[0]) {
			last_probe_fault.addr = cr2;
			last_probe_fault.error = f->error;
			last_probe_fault.vector = f->vector;
			last_probe_fault.count++;
			f->rip = e[1];
			return 1;
		}
	}
	return 0;
}

static void enter_report(const struct trap_frame *f)
{
	if (reporting)
		guest_fail(STATUS_EXCEPTION,
			   "exception %s (vector %lu) at rip 0x%lx while "
			   "reporting an earlier one",
			   vector_name(f->vector), f->vector, f->rip);
	reporting = 1;
}

static void handle_page_fault(struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();
	char decoded[96];

	if (vm_handle_demand_fault(cr2, f->error))
		return;
	if (fixup_probe(f, cr2))
		return;

	enter_report(f);
	pt_describe_pf_error(f->error, decoded, sizeof(decoded));
	kprintf("#PF: page fault at CR2=0x%lx, RIP=0x%lx\n", cr2, f->rip);
	kprintf("  error 0x%lx: %s\n", f->error, decoded);
	kprintf("  address is in: %s\n", vm_describe_area(cr2));
	vm_print_walk(cr2);
	print_registers(f);
	guest_fail(STATUS_EXCEPTION, "page fault at 0x%lx (%s) rip 0x%lx",
		   cr2, (f->error & PF_P) ? "protection" : "not present",
		   f->rip);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector >= 32 && f->vector < 256 && irq_handlers[f->vector]) {
		irq_handlers[f->vector]();
		return;
	}
	if (f->vector < 32 && hooks[f->vector] && hooks[f->vector](f))
		return;
	if (f->vector == VEC_PF) {
		handle_page_fault(f);
		return;
	}
	/* A probe of a non-canonical address raises #GP, not #PF; other
	 * probes expect #GP or #UD from the instruction itself. */
	if (fixup_probe(f, 0))
		return;

	enter_report(f);
	kprintf("exception: %s (vector %lu), error code 0x%lx, RIP=0x%lx\n",
		vector_name(f->vector), f->vector, f->error, f->rip);
	/* The usual #DF is a #PF that could not push its frame: CR2 still
	 * names the address, often the stack guard page. */
	if (f->vector == VEC_DF)
		kprintf("  CR2=0x%lx is in: %s\n", read_cr2(),
			vm_describe_area(read_cr2()));
	print_registers(f);
	guest_fail(STATUS_EXCEPTION, "exception %s (vector %lu) at rip 0x%lx",
		   vector_name(f->vector), f->vector, f->rip);
}
