/*
 * work_hostile_core.c - hostile actions against the hypervisor core's CPU
 * side: halting with nothing to wake the vCPU, hypercalls from ring 3, the
 * width of IN, a sweep of the MSR space, hypercall buffers and gfns in the
 * memory map's reserved hole, and a fixed computation for the scheduler's
 * fairness check.
 *
 *   hlt-cli         CLI; HLT: memvisor must stop the VM (nothing can ever
 *                   wake it)
 *   hlt-sti         STI; HLT: the same, as long as memvisor has no virtual
 *                   interrupt source (docs/guest-abi.md, "HLT")
 *   hcall-user      VERSION and BALLOON_INFLATE from ring 3: -EPERM, and
 *                   nothing changed
 *   in32            IN EAX zero-extends into RAX 63:32; IN AL/AX keep the
 *                   rest of RAX
 *   msr-sweep       RDMSR of MSRs 0..0xfff: each one #GP but the virtual
 *                   APIC's readable ones (IA32_APIC_BASE; the x2APIC
 *                   registers while x2APIC mode is on), which must read
 *   hcall-reserved  BALLOON_* with count 0; MEMSTAT buffers, gfns and gfn
 *                   arrays in the reserved legacy hole
 *   compute         a fixed computation with no exits at all, then exit 0
 *   pc-devices      memtest86+'s TSC calibration against PIT counter 2
 *                   (gate through 0x61, mode 0, 59659 clocks = 50 ms, poll
 *                   OUT2): under memvisor it must agree with CPUID leaf
 *                   0x40000010's TSC kHz within 1%; the CMOS date and
 *                   memory size bytes; PCI mechanism #1 reads back and
 *                   finds no device
 *   kbc-reset       i8042 command FEh (pulse reset): memvisor must stop the
 *                   VM; returning from the OUT is a failure
 *
 * The faults these actions expect (#GP from RDMSR) and the way back from
 * ring 3 (INT 0x81) go through gates installed here for the length of the
 * action, with their own small assembly stubs below, so nothing else in
 * the guest's trap handling changes.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "hv.h"
#include "trap.h"
#include "vm.h"

#define PAGE UINT64_C(4096)
/* Two pages in the scratch window for ring 3: code, then stack. */
#define USER_CODE_VA (SCRATCH_BASE + (UINT64_C(3) << 30))
#define USER_STACK_VA (USER_CODE_VA + 2 * PAGE)
#define VEC_USER_RETURN 0x81	/* INT from ring 3 back to the action */

#define LEGACY_HOLE_START UINT64_C(0xA0000) /* reserved in memvisor's map */
#define LEGACY_HOLE_END UINT64_C(0x100000)

#define MSR_SWEEP_FIRST 0x0u
#define MSR_SWEEP_COUNT 0x1000u

#define COMPUTE_ROUNDS (UINT64_C(1) << 23)

/*
 * The assembly half.
 *
 * core_rdmsr(msr, &value): 0 with the value, or 1 if RDMSR raised #GP.
 * core_gp_skip is the #GP gate during msr-sweep: a #GP at core_rdmsr's
 * RDMSR resumes at its fixup; any other #GP goes on to the guest's usual
 * stub (trap_stubs[13]), which reports it.
 *
 * core_enter_user(use_vmmcall, gfn_array_gpa, user_rip, user_rsp, out)
 * saves the callee-saved registers, IRETQs to ring 3 at user_rip, and
 * returns when the ring-3 code executes INT 0x81 (core_user_return, a
 * DPL-3 gate): out[0], out[1] = what VERSION and BALLOON_INFLATE(array,
 * 1) returned in ring 3, out[2] = the CS ring 3 ran on.  The ring-3 code,
 * core_user_code..core_user_code_end, is position-independent: it is
 * copied into a user page.
 */
__asm__(".pushsection .text\n"
	".globl core_rdmsr\n"
	"core_rdmsr:\n"
	"	movl %edi, %ecx\n"
	"core_rdmsr_insn:\n"
	"	rdmsr\n"
	"	shlq $32, %rdx\n"
	"	movl %eax, %eax\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, (%rsi)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"core_rdmsr_fixup:\n"
	"	movl $1, %eax\n"
	"	ret\n"
	"\n"
	".globl core_gp_skip\n"
	"core_gp_skip:\n"		/* error code, RIP, CS, RFLAGS, RSP, SS */
	"	pushq %rax\n"
	"	leaq core_rdmsr_insn(%rip), %rax\n"
	"	cmpq %rax, 16(%rsp)\n"
	"	jne 1f\n"
	"	leaq core_rdmsr_fixup(%rip), %rax\n"
	"	movq %rax, 16(%rsp)\n"
	"	popq %rax\n"
	"	addq $8, %rsp\n"
	"	iretq\n"
	"1:	popq %rax\n"
	"	jmp *trap_stubs+8*13(%rip)\n"
	"\n"
	".globl core_enter_user, core_user_return\n"
	"core_enter_user:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	pushq %r8\n"
	"	movq %rsp, core_saved_rsp(%rip)\n"
	"	movq %rdi, %r12\n"
	"	movq %rsi, %r14\n"
	"	pushq $0x33\n"			/* SS = USER_DS */
	"	pushq %rcx\n"			/* RSP */
	"	pushfq\n"
	"	andq $~0x200, (%rsp)\n"		/* RFLAGS, IF=0 */
	"	pushq $0x2b\n"			/* CS = USER_CS */
	"	pushq %rdx\n"			/* RIP */
	"	iretq\n"
	"core_user_return:\n"
	"	movq core_saved_rsp(%rip), %rsp\n"
	"	movl $0x10, %eax\n"		/* KERNEL_DS: IRET to ring 3 */
	"	movl %eax, %ss\n"		/* nulled DS and ES */
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	popq %r8\n"
	"	movq %r13, 0(%r8)\n"
	"	movq %r15, 8(%r8)\n"
	"	movq %rdi, 16(%r8)\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n"
	"\n"
	/* Ring 3: r12 = use VMMCALL, r14 = gpa of the gfn array. */
	".globl core_user_code, core_user_code_end\n"
	"core_user_code:\n"
	"	xorl %eax, %eax\n"		/* VERSION */
	"	testq %r12, %r12\n"
	"	jnz 1f\n"
	"	vmcall\n"
	"	jmp 2f\n"
	"1:	vmmcall\n"
	"2:	movq %rax, %r13\n"
	"	movl $1, %eax\n"		/* BALLOON_INFLATE(r14, 1) */
	"	movq %r14, %rbx\n"
	"	movl $1, %ecx\n"
	"	testq %r12, %r12\n"
	"	jnz 3f\n"
	"	vmcall\n"
	"	jmp 4f\n"
	"3:	vmmcall\n"
	"4:	movq %rax, %r15\n"
	"	movq %cs, %rdi\n"
	"	int $0x81\n"
	"	ud2\n"				/* never resumed */
	"core_user_code_end:\n"
	".popsection\n");

int core_rdmsr(uint32_t msr, uint64_t *value);
void core_gp_skip(void);
void core_enter_user(uint64_t use_vmmcall, uint64_t gfn_array_gpa,
		     uint64_t user_rip, uint64_t user_rsp, uint64_t out[3]);
void core_user_return(void);
extern const char core_user_code[], core_user_code_end[];

uint64_t core_saved_rsp;
/* The ring-0 stack of INT 0x81 from ring 3 (TSS.RSP0); its frame is
 * dropped at once (core_user_return goes back to the saved RSP). */
static uint8_t ring0_stack[1024] __attribute__((aligned(16)));
static uint64_t gfn_list[2];
static uint64_t memstat_buf[MEMSTAT_COUNT];


static int needs_memvisor(struct work_ctx *c, const char *why)
{
	return hv_present() ? 0
			    : work_skip(cmdline_hostile_name(c->cfg->hostile),
					why);
}

static int halt_forever(struct work_ctx *c, int interrupts)
{
	const char *name = cmdline_hostile_name(c->cfg->hostile);

	if (!hv_present())
		return work_skip(name, "needs memvisor: natively this HLT "
				       "never wakes (or takes an interrupt "
				       "the guest has no gate for)");
	kprintf("hostile: HLT in a loop with interrupts %s\n",
		interrupts ? "enabled (STI)" : "disabled (CLI)");
	for (int i = 0; i < 3; i++) {
		if (interrupts)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		else
			__asm__ volatile("cli; hlt" : : : "memory");
	}
	return work_fail(c, STATUS_HOSTILE, "hostile=%s was not stopped",
			 name);
}

/* The page ring 3 runs on and its stack: both user pages. */
static int map_user_pages(struct work_ctx *c, uint64_t *code_pa,
			  uint64_t *stack_pa)
{
	uint64_t len = (uint64_t)(core_user_code_end - core_user_code);

	*code_pa = vm_alloc_frame();
	*stack_pa = vm_alloc_frame();
	if (!*code_pa || !*stack_pa)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: no frame");
	uint8_t *dst = phys_to_virt(*code_pa);
	for (uint64_t i = 0; i < len; i++)
		dst[i] = (uint8_t)core_user_code[i];
	if (vm_map_page(USER_CODE_VA, *code_pa, PTE_U) < 0 ||
	    vm_map_page(USER_STACK_VA, *stack_pa, PTE_U | PTE_W | PTE_NX) < 0)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: cannot map");
	return WORK_PASS;
}

/*
 * hcall-user: a user program must not reach the hypercalls.  Ring 3 calls
 * VERSION and BALLOON_INFLATE([a page of ours filled with a pattern]);
 * both must answer -EPERM, the balloon must not grow and the page must
 * keep its bytes.  VERSION from ring 0 afterwards still answers the ABI
 * version, so the refusal was about the privilege level.
 */
static int hcall_user(struct work_ctx *c)
{
	uint64_t code_pa, stack_pa, out[3];

	if (needs_memvisor(c, "needs memvisor: a hypercall without it is #UD"))
		return WORK_SKIP;
	uint64_t pa = vm_alloc_frame();
	if (!pa || map_user_pages(c, &code_pa, &stack_pa) != WORK_PASS)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: no frame");
	struct region page = { .name = "user-gfn",
			       .base = phys_to_virt(pa),
			       .pages = 1,
			       .tag = TAG_BALLOON };
	region_fill_pages(&page, c->cfg->seed, 0, 1);
	gfn_list[0] = pa / PAGE;
	int64_t before = hostile_ballooned_now();

	desc_set_kernel_stack((uint64_t)(uintptr_t)(ring0_stack +
						    sizeof(ring0_stack)));
	desc_set_gate(VEC_USER_RETURN, (uint64_t)(uintptr_t)core_user_return,
		      3);
	kprintf("hostile: entering ring 3 at 0x%lx (CS 0x%x) to call VERSION "
		"and BALLOON_INFLATE([gfn 0x%lx])\n", USER_CODE_VA, USER_CS,
		pa / PAGE);
	core_enter_user((uint64_t)hv_info()->use_vmmcall,
			kernel_phys(gfn_list), USER_CODE_VA, USER_STACK_VA + PAGE,
			out);
	desc_reset_gate(VEC_USER_RETURN);
	kprintf("hostile: back in ring 0; ring 3 ran with CS 0x%lx (CPL %lu)\n",
		out[2], out[2] & 3);

	if ((out[2] & 3) != 3)
		return work_fail(c, STATUS_HOSTILE, "hostile: the calls did not "
				 "run in ring 3 (CS 0x%lx)", out[2]);
	if (hostile_expect_rc(c, "VERSION from ring 3", (int64_t)out[0], -HC_EPERM) ||
	    hostile_expect_rc(c, "BALLOON_INFLATE([our page], 1) from ring 3",
		      (int64_t)out[1], -HC_EPERM) ||
	    hostile_expect_rc(c, "MEMSTAT ballooned unchanged", hostile_ballooned_now(),
		      before) ||
	    work_verify(c, &page, 0, 1) < 0 ||
	    hostile_expect_rc(c, "VERSION from ring 0", hc_version(),
		      MEMVISOR_ABI_VERSION))
		return WORK_FAIL;
	kprintf("hostile: the page offered from ring 3 is intact\n");
	vm_unmap_page(USER_CODE_VA);
	vm_unmap_page(USER_STACK_VA);
	vm_free_frame(code_pa);
	vm_free_frame(stack_pa);
	vm_free_frame(pa);
	return WORK_PASS;
}

/*
 * in32: an IN writes AL, AX or EAX; like any write of a 32-bit register,
 * IN EAX clears RAX bits 63:32, while IN AL and IN AX leave the rest of
 * RAX as it was (SDM Vol. 1, 3.4.1.1).  Checked on an empty port (0x220:
 * nothing there natively or under memvisor, whose bus floats high) and on
 * COM1's LSR, which always reports the transmitter empty (bits 5 and 6).
 */
#define EMPTY_PORT 0x220
#define COM1_LSR (COM1_BASE + 5)
#define RAX_PATTERN UINT64_C(0x3333333355555555)

static uint64_t in_with_rax(int size, uint16_t port)
{
	uint64_t rax = RAX_PATTERN;

	if (size == 4)
		__asm__ volatile("inl %w1, %k0" : "+a"(rax) : "Nd"(port));
	else if (size == 2)
		__asm__ volatile("inw %w1, %w0" : "+a"(rax) : "Nd"(port));
	else
		__asm__ volatile("inb %w1, %b0" : "+a"(rax) : "Nd"(port));
	return rax;
}

static int check_in(struct work_ctx *c, int size, uint16_t port,
		    uint64_t low_want, uint64_t low_mask)
{
	uint64_t rax = in_with_rax(size, port);
	uint64_t keep = size == 4 ? 0 : ~((UINT64_C(1) << (8 * size)) - 1);
	uint64_t high_want = RAX_PATTERN & keep;
	uint64_t high = size == 4 ? rax >> 32 << 32 : rax & keep;
	int ok = high == high_want && (rax & low_mask) == low_want;

	kprintf("hostile: IN %s from port 0x%x with RAX 0x%lx: RAX 0x%016lx; "
		"bits above the operand 0x%lx, expected 0x%lx%s\n",
		size == 4 ? "EAX" : size == 2 ? "AX" : "AL", port, RAX_PATTERN,
		rax, high, high_want, ok ? "" : "  <-- WRONG");
	if (!ok)
		return work_fail(c, STATUS_HOSTILE, "hostile: IN (%d bytes) from "
				 "port 0x%x left RAX 0x%lx", size, port, rax);
	return WORK_PASS;
}

static int in32(struct work_ctx *c)
{
	/* Under memvisor an empty port reads as all ones; natively that is
	 * the emulator's business, and only the width is checked. */
	uint64_t ones = hv_present() ? 0xFFFFFFFF : 0;

	if (check_in(c, 4, EMPTY_PORT, ones, ones) ||
	    /* Not natively: QEMU's 16550 asserts on a 32-bit access. */
	    (hv_present() && check_in(c, 4, COM1_LSR, 0x60, 0x60)) ||
	    check_in(c, 2, EMPTY_PORT, ones & 0xFFFF, ones & 0xFFFF) ||
	    check_in(c, 1, EMPTY_PORT, ones & 0xFF, ones & 0xFF) ||
	    check_in(c, 1, COM1_LSR, 0x60, 0x60))
		return WORK_FAIL;
	kprintf("hostile: in32: every IN wrote exactly its operand\n");
	return WORK_PASS;
}

/* The virtual local APIC's MSRs that RDMSR reads (guest ABI v2,
 * docs/guest-abi.md "Timer"): IA32_APIC_BASE always, the x2APIC registers
 * that are not write-only or reserved while x2APIC mode is on. */
static int apic_msr_readable(uint32_t msr, int x2apic)
{
	if (msr == 0x1b)
		return 1;
	if (!x2apic)
		return 0;
	return msr == 0x802 || msr == 0x803 || msr == 0x808 || msr == 0x80a ||
	       msr == 0x80d || msr == 0x80f ||
	       (msr >= 0x810 && msr <= 0x828) || msr == 0x830 ||
	       (msr >= 0x832 && msr <= 0x839) || msr == 0x83e;
}

/*
 * msr-sweep: RDMSR of every MSR in 0..0xfff.  memvisor refuses every MSR
 * but EFER (and on VMX the FS/GS bases, far above this range) and the
 * virtual APIC's with #GP, and must say so in its log only a few times.
 */
static int msr_sweep(struct work_ctx *c)
{
	uint64_t faults = 0, value, apic_reads = 0;
	uint32_t first_wrong = 0;
	int wrong = 0;

	if (needs_memvisor(c, "needs memvisor: emulators answer many MSRs"))
		return WORK_SKIP;
	int x2apic = (rdmsr(0x1b) & (1u << 10)) != 0;
	kprintf("hostile: RDMSR of MSRs 0x%x..0x%x, each expected to #GP but "
		"the APIC's (x2APIC mode %s)\n", MSR_SWEEP_FIRST,
		MSR_SWEEP_FIRST + MSR_SWEEP_COUNT - 1, x2apic ? "on" : "off");
	desc_set_gate(VEC_GP, (uint64_t)(uintptr_t)core_gp_skip, 0);
	for (uint32_t i = 0; i < MSR_SWEEP_COUNT; i++) {
		uint32_t msr = MSR_SWEEP_FIRST + i;
		int gp = core_rdmsr(msr, &value);
		faults += gp;
		apic_reads += !gp;
		if (gp == apic_msr_readable(msr, x2apic) && !wrong++)
			first_wrong = msr;
	}
	desc_reset_gate(VEC_GP);
	kprintf("hostile: %lu of %u RDMSRs raised #GP, the %lu others the "
		"APIC's readable ones%s\n", faults, MSR_SWEEP_COUNT, apic_reads,
		wrong ? "  <-- WRONG" : "");
	if (wrong)
		return work_fail(c, STATUS_HOSTILE, "hostile: %d MSRs answered "
				 "otherwise than documented, the first 0x%x",
				 wrong, first_wrong);
	return WORK_PASS;
}

static int64_t call_with_gfns(int inflate, uint64_t gfn_a, uint64_t gfn_b,
			      uint64_t n)
{
	gfn_list[0] = gfn_a;
	gfn_list[1] = gfn_b;
	return inflate ? hc_balloon_inflate(kernel_phys(gfn_list), n)
		       : hc_balloon_deflate(kernel_phys(gfn_list), n);
}

/*
 * hcall-reserved: what the memory map calls reserved is not RAM to the
 * hypercalls.  A MEMSTAT buffer or gfn array touching the legacy hole is
 * -EFAULT, a gfn in it -EINVAL; a buffer ending just below the hole is
 * fine.  And a count of 0 returns 0 whatever the array address.
 */
static int hcall_reserved(struct work_ctx *c)
{
	uint64_t below = LEGACY_HOLE_START - sizeof(memstat_buf);
	uint64_t hole_gfn = LEGACY_HOLE_START / PAGE;
	uint64_t last_gfn = LEGACY_HOLE_END / PAGE - 1;
	uint64_t top = (vm_ram_top() + PAGE - 1) & ~(PAGE - 1);

	if (needs_memvisor(c, "needs memvisor: a hypercall without it is #UD"))
		return WORK_SKIP;
	uint64_t pa = vm_alloc_frame();
	if (!pa)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: no frame");
	int64_t ballooned = hostile_ballooned_now();
	if (hostile_expect_rc(c, "INFLATE(array beyond RAM, count 0)",
		      hc_balloon_inflate(top, 0), 0) ||
	    hostile_expect_rc(c, "DEFLATE(array at 2^64-8, count 0)",
		      hc_balloon_deflate(~UINT64_C(7), 0), 0) ||
	    hostile_expect_rc(c, "INFLATE(array in the hole, count 0)",
		      hc_balloon_inflate(LEGACY_HOLE_START, 0), 0) ||
	    hostile_expect_rc(c, "MEMSTAT(buffer ending at the hole)",
		      hc_memstat(below, sizeof(memstat_buf)),
		      sizeof(memstat_buf)) ||
	    hostile_expect_rc(c, "MEMSTAT(buffer at 0xa0000, in the hole)",
		      hc_memstat(LEGACY_HOLE_START, sizeof(memstat_buf)),
		      -HC_EFAULT) ||
	    hostile_expect_rc(c, "MEMSTAT(buffer straddling 0xa0000)",
		      hc_memstat(below + 8, sizeof(memstat_buf)), -HC_EFAULT) ||
	    hostile_expect_rc(c, "MEMSTAT(buffer straddling 0x100000)",
		      hc_memstat(LEGACY_HOLE_END - 8, sizeof(memstat_buf)),
		      -HC_EFAULT) ||
	    hostile_expect_rc(c, "INFLATE(array in the hole, 1)",
		      hc_balloon_inflate(LEGACY_HOLE_START + 0x800, 1),
		      -HC_EFAULT) ||
	    hostile_expect_rc(c, "INFLATE([gfn 0xa0])", call_with_gfns(1, hole_gfn, 0, 1),
		      -HC_EINVAL) ||
	    hostile_expect_rc(c, "INFLATE([gfn 0xff])", call_with_gfns(1, last_gfn, 0, 1),
		      -HC_EINVAL) ||
	    hostile_expect_rc(c, "INFLATE([good gfn, gfn 0xb8])",
		      call_with_gfns(1, pa / PAGE, 0xB8, 2), -HC_EINVAL) ||
	    hostile_expect_rc(c, "DEFLATE([gfn 0xa0])",
		      call_with_gfns(0, hole_gfn, 0, 1), -HC_EINVAL) ||
	    hostile_expect_rc(c, "MEMSTAT ballooned unchanged", hostile_ballooned_now(),
		      ballooned) ||
	    hostile_expect_rc(c, "INFLATE([good gfn])", call_with_gfns(1, pa / PAGE, 0, 1),
		      1) ||
	    hostile_expect_rc(c, "DEFLATE([good gfn])",
		      call_with_gfns(0, pa / PAGE, 0, 1), 1))
		return WORK_FAIL;
	vm_free_frame(pa);
	return WORK_PASS;
}

/* compute: the same fixed work in every VM that runs it, with no exit from
 * its start to its end, so the hypervisor's timer alone divides the CPU. */
static int compute(struct work_ctx *c)
{
	uint64_t x = c->cfg->seed | 1;

	kprintf("hostile: computing %lu xorshift rounds with no exit\n",
		COMPUTE_ROUNDS);
	for (uint64_t i = 0; i < COMPUTE_ROUNDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ volatile("" : "+r"(x));
	}
	kprintf("hostile: compute: done, result 0x%016lx\n", x);
	return WORK_PASS;
}

/* --- pc-devices, kbc-reset ------------------------------------------------- */

#define PIT_TICKS_50MS 59659	/* memtest86+ system/timers.c */

static uint8_t cmos_read(uint8_t index)
{
	outb(0x70, index);
	return inb(0x71);
}

static uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port));
}

static int pc_devices(struct work_ctx *c)
{
	uint32_t r[4];
	uint64_t loops = 0;

	outb(0x80, 0x55);	/* a POST code: taken silently */
	/* memtest86+ correct_tsc(), the PIT path, with each poll bracketed
	 * by RDTSC: the count starts between `before` and `after`, and OUT2
	 * rose after the last poll that read it low began (`low`) and before
	 * the poll that read it high ended (`high`).  A slice given to
	 * another VM widens the bracket but cannot break it, while it would
	 * skew memtest's own figure (printed, not checked). */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, PIT_TICKS_50MS & 0xff);
	uint64_t before = rdtsc();
	outb(0x42, PIT_TICKS_50MS >> 8);
	uint64_t after = rdtsc(), low = after, high, t0;
	for (;;) {
		t0 = rdtsc();
		uint8_t v = inb(0x61);
		high = rdtsc();
		loops++;
		if ((v & 0x20) || loops >= 100000000)
			break;
		low = t0;
	}
	uint64_t khz = (high - after) / 50;
	kprintf("hostile: pc-devices: PIT calibration: %lu polls, TSC %lu kHz\n",
		loops, khz);
	if (hv_present()) {
		cpuid(0x40000010, 0, r);
		uint64_t d = (uint64_t)PIT_TICKS_50MS * r[0] * 1000 / 1193182;
		kprintf("hostile: pc-devices: CPUID 0x40000010 says TSC %u kHz: "
			"OUT2 due %lu TSC ticks after the count\n", r[0], d);
		if (loops < 4 || low - after >= d + d / 100 ||
		    high - before <= d - d / 100)
			return work_fail(c, STATUS_HOSTILE, "PIT: OUT2 low %lu "
					 "and high %lu ticks after the count, "
					 "due at %lu", low - after,
					 high - before, d);
	}
	kprintf("hostile: pc-devices: CMOS 20%02x-%02x-%02x, memory above "
		"16 MiB: %u x 64 KiB\n", cmos_read(0x09), cmos_read(0x08),
		cmos_read(0x07), cmos_read(0x34) | cmos_read(0x35) << 8);
	outl(0xcf8, 0x80000000);
	uint32_t addr = inl(0xcf8), id = inl(0xcfc);
	kprintf("hostile: pc-devices: PCI CONFIG_ADDRESS reads 0x%x, 00:00.0 "
		"ID 0x%x\n", addr, id);
	if (hv_present() && (addr != 0x80000000 || id != 0xffffffff))
		return work_fail(c, STATUS_HOSTILE, "PCI: CONFIG_ADDRESS 0x%x, ID 0x%x", addr,
				 id);
	return WORK_PASS;
}

static int kbc_reset(struct work_ctx *c)
{
	kprintf("hostile: kbc-reset: i8042 command 0xfe\n");
	outb(0x64, 0xfe);
	return work_fail(c, STATUS_HOSTILE, "kbc-reset: not stopped by the reset pulse");
}

static int run(struct work_ctx *c, int (*action)(struct work_ctx *))
{
	int rc = action(c);

	if (rc == WORK_PASS)
		kprintf("hostile: %s: every answer as documented\n",
			cmdline_hostile_name(c->cfg->hostile));
	return rc;
}

int work_hostile_core(struct work_ctx *c)
{
	switch (c->cfg->hostile) {
	case HOSTILE_HLT_CLI:
		return halt_forever(c, 0);
	case HOSTILE_HLT_STI:
		return halt_forever(c, 1);
	case HOSTILE_HCALL_USER:
		return run(c, hcall_user);
	case HOSTILE_IN32:
		return run(c, in32);
	case HOSTILE_MSR_SWEEP:
		return run(c, msr_sweep);
	case HOSTILE_HCALL_RESERVED:
		return run(c, hcall_reserved);
	case HOSTILE_COMPUTE:
		return compute(c);
	case HOSTILE_PC_DEVICES:
		return run(c, pc_devices);
	case HOSTILE_KBC_RESET:
		return kbc_reset(c);
	default:
		return WORK_PASS;
	}
}
