/*
 * main.c - the hypervisor from its first C instruction to the result line.
 *
 * hv_main() runs on the boot stack, interrupts off, on whatever identity
 * map the loader left.  Order matters:
 *   1. copy boot_info into our own .bss (the loader's copy lives in memory
 *      that becomes allocatable), start the serial console;
 *   2. our own GDT/TSS and IDT, so any fault from here on is reported;
 *   3. our own page tables, then the frame allocator (not before: the
 *      loader's page tables sit in memory the allocator hands out);
 *   4. the command line, CPU features, modules;
 *   5. whatever the command line asks for, then the result line.
 */
#include "config.h"
#include "console.h"
#include "finish.h"
#include "fmt.h"
#include "run.h"
#include "string.h"
#include "../boot/boot_info.h"
#include "../boot/memmap.h"
#include "../arch/x86/cpufeat.h"
#include "../arch/x86/gdt.h"
#include "../arch/x86/paging.h"
#include "../arch/x86/trap.h"
#include "../arch/x86/xstate.h"
#include "../mm/frame.h"

#define HV_VERSION "0.1"
/* Free RAM the hypervisor needs for itself (tables, control structures,
 * metadata). */
#define HV_MIN_FREE (16 * MiB)

void __noreturn hv_main(const struct boot_info *loader_bi);

static struct boot_info boot;
static struct hv_config config;
struct frame_allocator frames;

static void print_memory_map(void)
{
	u64 usable = memmap_total(boot.mmap, (int)boot.mmap_count,
				  BOOT_MEM_USABLE);

	hv_log("memory map: %u ranges, %llu MiB usable", boot.mmap_count,
	       (unsigned long long)(usable / MiB));
	for (u32 i = 0; i < boot.mmap_count; i++) {
		const struct boot_mem_range *r = &boot.mmap[i];
		kprintf("[hv]   0x%012llx-0x%012llx %-9s %8llu KiB\n",
			(unsigned long long)r->base,
			(unsigned long long)(r->base + r->length - 1),
			memmap_type_name(r->type),
			(unsigned long long)(r->length / KiB));
	}
}

static void init_frames(void)
{
	int n = (int)boot.mmap_count;
	u64 bytes = frame_bitmap_bytes(boot.mmap, n);
	u64 pa = frame_bitmap_place(boot.mmap, n, bytes);

	if (!pa)
		hv_fail("not enough RAM for the hypervisor: no room for a "
			"%llu KiB frame bitmap",
			(unsigned long long)(bytes / KiB));
	frame_init(&frames, boot.mmap, n, (u64 *)pa, pa, bytes);
	hv_log("frames: %llu free (%llu MiB), bitmap %llu KiB at 0x%llx",
	       (unsigned long long)frames.st.free,
	       (unsigned long long)(frames.st.free * PAGE_SIZE / MiB),
	       (unsigned long long)(bytes / KiB), (unsigned long long)pa);
	if (frames.st.free * PAGE_SIZE < HV_MIN_FREE)
		hv_fail("not enough RAM for the hypervisor: %llu KiB free, "
			"need at least %llu KiB",
			(unsigned long long)(frames.st.free * PAGE_SIZE / KiB),
			(unsigned long long)(HV_MIN_FREE / KiB));
}

static void check_modules(void)
{
	char names[256];
	int o = 0;

	for (u32 i = 0; i < boot.module_count; i++) {
		const struct boot_module *m = &boot.modules[i];
		hv_log("module %s: %llu bytes at 0x%llx", m->name,
		       (unsigned long long)m->size,
		       (unsigned long long)m->base);
		if (o < (int)sizeof(names))
			o += fmt_snprintf(names + o, sizeof(names) - o, "%s%s",
					  i ? ", " : "", m->name);
	}
	if (!boot.module_count)
		fmt_snprintf(names, sizeof(names), "none");
	for (int i = 0; i < config.vm_count; i++)
		if (!boot_find_module(&boot, config.vms[i].module))
			hv_fail("vm%d: module '%s' not found (modules: %s)", i,
				config.vms[i].module, names);
}

/* Deliberate faults that prove the exception path and our page tables. */
static u8 exec_data_target[16] = { 0xc3 };	/* ret, in a no-execute page */

/* Recurses until the boot stack runs into its guard page (the bound is
 * only there to keep the compiler from calling the recursion infinite). */
static u64 __attribute__((noinline)) stack_eater(volatile u64 depth)
{
	volatile u8 pad[512];

	pad[0] = (u8)depth;
	if (depth > (1ull << 40))
		return pad[0];
	return stack_eater(depth + 1) + pad[0];
}

static void __attribute__((noinline)) run_selftest(enum selftest t)
{
	volatile u64 addr = 0;
	u64 v;

	if (t == SELFTEST_NONE || t == SELFTEST_ENTRY_FAILURE ||
	    t == SELFTEST_BAD_CONTROL || t == SELFTEST_HOST_NMI ||
	    t == SELFTEST_BITFLIP)
		return;		/* those act on VMs: see run.c */
	hv_log("selftest %s: this must end in a reported fault",
	       selftest_name(t));
	switch (t) {
	case SELFTEST_NULL:
		__asm__ volatile("mov (%1), %0" : "=r"(v) : "r"(addr) : "memory");
		break;
	case SELFTEST_WRITE_TEXT:
		*(volatile u8 *)(u64)&hv_main = 0xcc;
		break;
	case SELFTEST_EXEC_DATA:
		((void (*)(void))(u64)exec_data_target)();
		break;
	case SELFTEST_STACK_GUARD:
		stack_eater(0);
		break;
	case SELFTEST_UD:
		__asm__ volatile("ud2");
		break;
	case SELFTEST_PANIC:
		panic("selftest: deliberate panic");
	case SELFTEST_ENTRY_FAILURE:
	case SELFTEST_BAD_CONTROL:
	case SELFTEST_HOST_NMI:
	case SELFTEST_BITFLIP:
		return;		/* applied to VMs once they exist (run.c) */
	case SELFTEST_NONE:
		break;
	}
	hv_fail("selftest %s did not fault", selftest_name(t));
}

void __noreturn hv_main(const struct boot_info *loader_bi)
{
	char err[256];

	console_init();
	if (loader_bi->magic != BOOT_INFO_MAGIC ||
	    loader_bi->version != BOOT_INFO_VERSION)
		hv_fail("boot_info at %p has magic 0x%llx version %u, want "
			"0x%llx version %u", (const void *)loader_bi,
			(unsigned long long)loader_bi->magic,
			loader_bi->version,
			(unsigned long long)BOOT_INFO_MAGIC, BOOT_INFO_VERSION);
	memcpy(&boot, loader_bi, sizeof(boot));
	kprintf("\n");
	hv_log("memvisor %s: bare-metal memory-virtualization hypervisor",
	       HV_VERSION);
	hv_log("loaded by %s at 0x%llx-0x%llx, command line: '%s'",
	       boot.loader_name, (unsigned long long)boot.hv_start,
	       (unsigned long long)boot.hv_end, boot.cmdline);
	if (boot.mmap_count == 0)
		hv_fail("the loader passed an empty or overflowing memory map");

	gdt_init();
	trap_init();
	paging_init(&boot);
	u32 pt_used, pt_pool;
	paging_stats(&pt_used, &pt_pool);
	hv_log("own page tables: identity map of RAM, %u of %u table pages, "
	       "NX and write-protect on", pt_used, pt_pool);

	print_memory_map();
	init_frames();

	if (config_parse(&config, boot.cmdline, err, sizeof(err)) < 0)
		hv_fail("cmdline: %s", err);

	cpufeat_detect();
	cpufeat_print();
	xstate_init();	/* before any vCPU: the VMCS takes our CR4 */
	if (boot.rsdp)
		hv_log("ACPI RSDP at 0x%llx", (unsigned long long)boot.rsdp);
	check_modules();
	run_selftest(config.selftest);

	if (!config.vm_count) {
		hv_log("no VMs declared; nothing to run");
		hv_pass();
	}
	if (!run_vms(&config, &boot))
		hv_fail("a VM did not end as expected (see above)");
	hv_pass();
}
