/*
 * work_exits.c - the `exits` workload: exits= round trips of each cheap
 * kind, for make bench: CPUID (leaf 0), an I/O read (COM1's line status
 * register), an MSR read (IA32_APIC_BASE) and, under memvisor, the
 * VERSION hypercall (the hypervisor's bare exit) and BALLOON_TARGET.
 *
 * Each kind runs in one batch with interrupts off and is timed by the
 * TSC, which the hypervisor does not offset: under QEMU -icount or Bochs
 * the TSC counts instructions, so a batch's ticks over its count is the
 * whole round trip as the guest sees it (its own instruction, the world
 * switch, the hypervisor's handling).  memvisor's instrumented build
 * times the hypervisor's part of the same exits from the inside.
 *
 * Every answer is checked against the first one of its kind (CPUID's
 * vendor, the APIC base, the ABI version do not change): an exit handled
 * wrongly fails the workload, not only a slow one.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "hv.h"

#define COM1_LSR 0x3fd
#define LSR_THRE 0x20		/* transmitter empty: nothing is sent now */
#define MSR_IA32_APIC_BASE 0x1b

enum exit_kind { EX_CPUID, EX_IO, EX_MSR, EX_VERSION, EX_TARGET, EX_KINDS };

static const char *const kind_names[EX_KINDS] = {
	"cpuid", "io-read", "msr-read", "hc-version", "hc-balloon-target",
};

/* One round trip of the kind; its answer. */
static uint64_t one_exit(enum exit_kind k)
{
	uint32_t r[4];

	switch (k) {
	case EX_CPUID:
		cpuid(0, 0, r);
		return (uint64_t)r[1] << 32 | r[3];	/* "Genu" "ineI" */
	case EX_IO:
		return inb(COM1_LSR) & LSR_THRE;
	case EX_MSR:
		return rdmsr(MSR_IA32_APIC_BASE);
	case EX_VERSION:
		return (uint64_t)hc_version();
	case EX_TARGET:
		return hc_balloon_target() < 0;	/* a target, not an error */
	case EX_KINDS:
		break;
	}
	return 0;
}

int work_exits(struct work_ctx *c)
{
	uint64_t n = c->cfg->exits;
	int kinds = hv_present() ? EX_KINDS : EX_VERSION;

	for (int k = 0; k < kinds; k++) {
		uint64_t flags = irq_save();
		uint64_t want = one_exit((enum exit_kind)k), bad = 0;
		uint64_t t0 = rdtsc();
		for (uint64_t i = 0; i < n; i++)
			bad += one_exit((enum exit_kind)k) != want;
		uint64_t ticks = rdtsc() - t0;
		irq_restore(flags);
		if (bad)
			return work_fail(c, STATUS_VERIFY_FAILED,
					 "exits: %lu of %lu %s answers differ "
					 "from the first (0x%lx)", bad, n,
					 kind_names[k], want);
		kprintf("exits: %s x %lu: %lu TSC ticks each, the whole round "
			"trip; every answer the same\n", kind_names[k], n,
			ticks / n);
	}
	if (kinds < EX_KINDS)
		kprintf("exits: no hypervisor: hypercalls not measured\n");
	return WORK_PASS;
}
