/*
 * trap.c - the IDT and what happens when the hypervisor itself faults.
 *
 * Any exception in the hypervisor is a bug, so the default handler is a
 * post-mortem: vector and name, error code (decoded for #PF), RIP, CR0/2/3/4,
 * every general register and a frame-pointer backtrace with symbol names,
 * then "HV RESULT: FAIL".  Vectors a later subsystem wants (the timer, say)
 * are routed with trap_set_handler().  An NMI is not an error: it is
 * counted and returned from (trap_nmi_count()).
 *
 * The backtrace only follows frame pointers that lie inside the hypervisor's
 * stacks, so a corrupt RBP ends the walk instead of faulting in the handler.
 */
#include "trap.h"
#include "cpu.h"
#include "gdt.h"
#include "../../hv/console.h"
#include "../../hv/finish.h"
#include "../../hv/ksyms.h"

#define IDT_GATE_INTERRUPT 0xe		/* 64-bit interrupt gate, IF cleared */
#define IDT_GATE_PRESENT (1u << 7)
#define BACKTRACE_MAX 24

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I (1u << 4)

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __packed;

extern const u64 isr_table[256];
extern u8 nmi_latch[];
int nmi_latch_take(void (*send)(void));
extern u8 hv_stacks_start[], hv_stacks_end[];
extern u8 hv_guard_boot[], hv_guard_df[], hv_guard_nmi[], hv_guard_mc[];

static struct idt_gate idt[256] __aligned(16);
static trap_handler_t handlers[256];
static volatile u64 nmi_count;

static const char *const vector_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD error", "#VE virtualization exception",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

static void set_gate(int vec, u64 handler, u8 ist)
{
	idt[vec] = (struct idt_gate){
		.offset_lo = handler & 0xffff,
		.selector = GDT_CODE64,
		.ist = ist,
		.type_attr = IDT_GATE_PRESENT | IDT_GATE_INTERRUPT,
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_hi = handler >> 32,
	};
}

/* The NMI gate's handler.  It only counts: an NMI may interrupt anything,
 * a half-printed console line too, so the lines about it are printed
 * later, by whoever sees the count move (hv/exit.c, hv/run.c). */
static void host_nmi(struct trap_frame *f)
{
	(void)f;
	nmi_count++;
}

void trap_init(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed ptr = { sizeof(idt) - 1, (u64)idt };

	for (int v = 0; v < 256; v++)
		set_gate(v, isr_table[v], 0);
	set_gate(VEC_DF, isr_table[VEC_DF], IST_DF);
	set_gate(VEC_NMI, isr_table[VEC_NMI], IST_NMI);
	set_gate(VEC_MC, isr_table[VEC_MC], IST_MC);
	handlers[VEC_NMI] = host_nmi;
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

u64 trap_nmi_count(void)
{
	return nmi_count;
}

bool trap_block_nmis(void (*send)(void))
{
	set_gate(VEC_NMI, (u64)nmi_latch, IST_NMI);
	bool taken = nmi_latch_take(send);
	set_gate(VEC_NMI, isr_table[VEC_NMI], IST_NMI);
	if (taken)
		nmi_count++;	/* the latched NMI was a host NMI too */
	return taken;
}

void trap_set_handler(u8 vector, trap_handler_t fn)
{
	handlers[vector] = fn;
}

static void print_symbol(u64 addr)
{
	u64 off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		kprintf("%s+0x%llx", name, (unsigned long long)off);
	else
		kprintf("?");
}

static bool in_guard(u64 p)
{
	const u8 *guards[] = { hv_guard_boot, hv_guard_df, hv_guard_nmi,
			       hv_guard_mc };
	for (unsigned i = 0; i < ARRAY_SIZE(guards); i++)
		if (p >= (u64)guards[i] && p < (u64)guards[i] + PAGE_SIZE)
			return true;
	return false;
}

/* True if a frame record [p, p+16) can be read without faulting. */
static bool on_hv_stack(u64 p)
{
	return p >= (u64)hv_stacks_start && p + 16 <= (u64)hv_stacks_end &&
	       !(p & 7) && !in_guard(p) && !in_guard(p + 8);
}

void backtrace_print(u64 pc, u64 rbp)
{
	int depth = 0;

	kprintf("[hv] backtrace:\n");
	if (pc) {
		kprintf("[hv]   #0 0x%016llx ", (unsigned long long)pc);
		print_symbol(pc);
		kprintf("\n");
		depth++;
	}
	for (; depth < BACKTRACE_MAX && on_hv_stack(rbp); depth++) {
		const u64 *frame = (const u64 *)rbp;
		u64 ret = frame[1];

		if (!ret)
			break;
		kprintf("[hv]   #%d 0x%016llx ", depth, (unsigned long long)ret);
		print_symbol(ret);
		kprintf("\n");
		if (frame[0] <= rbp)	/* frames must move up the stack */
			break;
		rbp = frame[0];
	}
}

static void report(const struct trap_frame *f)
{
	const char *name = f->vector < 32 ? vector_names[f->vector]
					  : "unexpected interrupt";

	kprintf("[hv] EXCEPTION vector %llu (%s), error code 0x%llx",
		(unsigned long long)f->vector, name,
		(unsigned long long)f->error);
	if (f->vector == VEC_PF)
		kprintf(" [%s %s %s%s%s]", f->error & PF_P ? "protection" : "not-present",
			f->error & PF_W ? "write" : "read",
			f->error & PF_U ? "user" : "supervisor",
			f->error & PF_I ? " instruction-fetch" : "",
			f->error & PF_RSVD ? " reserved-bit" : "");
	kprintf("\n[hv] RIP 0x%016llx ", (unsigned long long)f->rip);
	print_symbol(f->rip);
	kprintf("  CS 0x%llx  RFLAGS 0x%llx  RSP 0x%016llx  SS 0x%llx\n",
		(unsigned long long)f->cs, (unsigned long long)f->rflags,
		(unsigned long long)f->rsp, (unsigned long long)f->ss);
	kprintf("[hv] CR0 0x%016llx  CR2 0x%016llx  CR3 0x%016llx  CR4 0x%016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	kprintf("[hv] RAX 0x%016llx  RBX 0x%016llx  RCX 0x%016llx  RDX 0x%016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx);
	kprintf("[hv] RSI 0x%016llx  RDI 0x%016llx  RBP 0x%016llx  R8  0x%016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->r8);
	kprintf("[hv] R9  0x%016llx  R10 0x%016llx  R11 0x%016llx  R12 0x%016llx\n",
		(unsigned long long)f->r9, (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("[hv] R13 0x%016llx  R14 0x%016llx  R15 0x%016llx\n",
		(unsigned long long)f->r13, (unsigned long long)f->r14,
		(unsigned long long)f->r15);
	backtrace_print(f->rip, f->rbp);
}

void trap_dispatch(struct trap_frame *f)
{
	static int depth;

	if (f->vector < 256 && handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (depth++) {	/* faulted while reporting: say the least we can */
		kprintf("[hv] nested exception %llu at RIP 0x%llx while reporting\n",
			(unsigned long long)f->vector,
			(unsigned long long)f->rip);
		hv_fail("nested exception in the exception handler");
	}
	report(f);
	u64 off;
	const char *fn = ksym_lookup(f->rip, &off);
	hv_fail("exception %s at RIP 0x%llx (%s)",
		f->vector < 32 ? vector_names[f->vector] : "interrupt",
		(unsigned long long)f->rip, fn ? fn : "not hypervisor code");
}
