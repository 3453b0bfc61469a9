/*
 * vm.h - virtual machines and their vCPUs, as the core sees them.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include "backend.h"
#include "vconsole.h"
#include "vlapic.h"
#include "dev/ports.h"
#include "../mm/gmem.h"
#include "../mm/shadow.h"

#define VM_MAX 8
#define VM_NAME_MAX 8

/* Guest general registers, in the order the backends' entry stubs save
 * them (the stubs rely on these offsets). */
struct guest_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rip, rsp, rflags;
};

/*
 * The state a vCPU starts in, for either boot protocol the loaders speak
 * (hv/guest_load.c, hv/linux_boot.c): 32-bit protected mode, paging off,
 * flat 4 GiB code and data segments with the selectors below, interrupts
 * off; the general registers (regs) are the loader's.  A zero gdt_limit
 * means GDTR is left unusable (multiboot: the OS loads its own); the Linux
 * protocol wants a GDT holding its selectors.  Backends build the segment
 * registers and CR0 (PE | ET, plus whatever their fixed bits force, hidden
 * from the guest through shadows) from this.
 */
struct vcpu_boot {
	u64 entry;
	u16 code_sel, data_sel;
	u32 gdt_base;
	u16 gdt_limit;
};

enum vm_state {
	VM_LOADING,	/* being built: memory writes count as "loaded" */
	VM_RUNNING,
	VM_DONE,	/* ended through the exit port */
	VM_STOPPED,	/* stopped by the hypervisor: fault, bad access, ... */
	VM_RUNTIME_UP,	/* ended by the hypervisor when its runtime= of guest
			   time was used up: a normal end, as status 0 */
};

struct vcpu {
	struct vm *vm;
	struct guest_regs regs;
	u64 cr0, cr3, cr4, efer;	/* guest view, updated at each exit */
	u64 xcr0;			/* the guest's XCR0 (arch/x86/xstate.c) */
	u64 xsave_pa;			/* its x87/SSE/AVX registers while
					   another vCPU runs */
	u8 cpl;				/* privilege level at the exit (SS.DPL) */
	struct vcpu_boot boot;
	void *hw;			/* the backend's per-vCPU state */
};

/* The VM's counters; those of its memory are in mem.st (mm/gmem.h). */
struct vm_stats {
	u64 exits[EXIT_REASON_COUNT];
	u64 slat_drops;		/* SLAT subtrees thrown away (slat_drop=) */
	u64 io_other;		/* I/O to ports nobody emulates */
	u64 hypercalls;
	u64 hypercalls_refused;	/* from CPL > 0: -EPERM */
	u64 msr_refused;	/* RDMSR/WRMSR answered with #GP */
	u64 late_ticks;		/* timer ticks that fired as a slice ended,
				   taken so the next slice starts clean */
	u64 slices;		/* times the scheduler picked this vCPU */
	u64 preemptions;	/* slices ended by the timer */
	u64 mem_waits;		/* times it blocked on memory */
	u64 mem_wait_us;	/* ... and for how long in all */
	u64 held;		/* rounds it was held (below low) */
	u64 irq_injected;	/* virtual interrupts delivered (vintr.c) */
	u64 hlt_sleeps;		/* HLTs that slept until a timer tick */
	u64 pit_stretches;	/* slices stretched to a PIT countdown's end
				   (hv/run.c run_slice()) */
};

struct vm {
	int id;
	char name[VM_NAME_MAX];		/* "vm0" */
	char image[32];			/* the module it boots (vm=NAME,...),
					   for the GDB helpers' symbols */
	u64 mem_bytes;
	u64 npages;
	unsigned share_group;		/* vm=...,share_group= */
	unsigned shares;		/* vm=...,shares= (mm/reclaim.c) */
	bool shadow_paging;		/* vm=...,paging=shadow: run without
					   EPT/NPT (set before vmmem_init) */
	struct gmem mem;		/* p2m, SLAT, frames: mm/gmem.c */
	struct shadow *shadow;		/* its shadow MMU (mm/shadow.c), or
					   NULL: the SLAT is the CPU's */
	struct vcpu vcpu;
	enum vm_state state;
	bool yielded;			/* HLT or YIELD: end the slice */
	bool wants_frame;		/* blocked: its fault found no frame;
					   it runs again when one is free */
	u64 blocked_since;		/* TSC when it blocked */
	u64 wait_gpa;			/* the access that waits */
	struct vlapic vlapic;		/* its virtual local APIC (vlapic.c) */
	u64 sleep_until;		/* HLT: not run before this TSC time
					   (0: not asleep; hv/vintr.c) */
	bool halted;			/* RIP is on that HLT */
	bool stretched;			/* its last slice was stretched */
	u8 halt_len;			/* its length */
	u64 last_progress;		/* TSC of the last exit that was not
					   just the timer (the watchdog) */
	u64 first_entry_tsc;		/* TSC at its first VM entry: guest
					   time starts (0: not entered yet) */
	u64 runtime_s;			/* vm=...,runtime= (0: none) */
	u64 slat_trace_left;		/* SLAT violations still to be logged
					   (slat_trace=) */
	u64 runtime_end_tsc;		/* ... when it is used up (0: none) */
	int exit_status;		/* from the exit port */
	bool finished;			/* reported and torn down */
	bool as_expected;		/* the verdict, once finished */
	char stop_reason[160];
	struct vm_stats stats;
	/* COM1 as the guest sees it: its output as lines (hv/vconsole.c)
	 * and the UART registers (hv/exit.c uart_io). */
	struct vconsole con;
	u8 uart_lcr, uart_ier, uart_mcr, uart_scr;
	struct pc_devices dev;		/* PIT, RTC, i8042, PCI: hv/dev/ */
};

/*
 * The VM whose slice is under way, or NULL between slices (hv/run.c).
 * The GDB helpers (scripts/gdb/memvisor.py) read it to tell which VM the
 * CPU was running when it stopped outside the hypervisor's code.
 */
extern struct vm *volatile vm_on_cpu;

#endif
