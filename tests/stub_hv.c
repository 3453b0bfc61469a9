/*
 * stub_hv.c - the machine under the real hypervisor core, on the host.
 *
 * tests/test_gmem.c compiles hv/exit.c, hv/hypercall.c, hv/vmmem.c,
 * hv/hvmem.c, the mm/ files and arch/x86/svm/npt.c unchanged.  They assume an
 * identity map (hv_ptr(pa) == (void *)pa), so "physical memory" here is a
 * host region mapped at a fixed address, STUB_PHYS_BASE, and mm/frame.c is
 * given a boot memory map whose one usable range is that region: every
 * physical address the code computes is also a valid host pointer.  The
 * address lies in ASan's low application memory (below 0x7fff8000 on
 * x86-64), so the sanitizers leave it alone.
 *
 * What talks to hardware is replaced: the console (hv/console.c) writes
 * into a buffer the tests search (stub_log_has), panic() and hv_fail()
 * (hv/finish.c) record their message and jump back to the test that armed
 * stub_panic_jmp (or abort), and the backend (hv/backend.h) is a table of
 * recorders: flush_slat counts per VM and calls stub_on_flush (the model
 * TLB's hook), inject_exception records the last exception.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stub_hv.h"
#include "../arch/x86/lapic.h"
#include "../arch/x86/svm/npt.h"
#include "../hv/console.h"
#include "../hv/exit.h"
#include "../hv/fmt.h"
#include "../hv/hvmem.h"
#include "../hv/vmmem.h"

struct frame_allocator frames;	/* hv/main.c's, which is not compiled */
/* arch/x86/lapic.c's calibration (not compiled): a 1 GHz TSC. */
u64 tsc_per_us = 1000;
u64 tsc_khz = 1000000;

/* --- physical memory -------------------------------------------------------- */

static struct boot_mem_range phys_map[1];
u64 stub_frames_free_at_start;

void stub_phys_init(u64 pool_bytes)
{
	static bool mapped;

	if (!mapped) {
		void *p = mmap((void *)STUB_PHYS_BASE, STUB_PHYS_BYTES,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS |
				       MAP_FIXED_NOREPLACE,
			       -1, 0);
		if (p != (void *)STUB_PHYS_BASE) {
			fprintf(stderr, "stub_hv: cannot map 0x%llx (+%llu MiB): "
				"got %p\n", (unsigned long long)STUB_PHYS_BASE,
				(unsigned long long)(STUB_PHYS_BYTES / MiB), p);
			abort();
		}
		mapped = true;
	}
	/* Frames hold whatever the previous test left: the code under test
	 * must zero what it relies on (hv_frames_alloc, populate). */
	memset((void *)STUB_PHYS_BASE, 0xa5, STUB_PHYS_BYTES);
	phys_map[0] = (struct boot_mem_range){ STUB_PHYS_BASE, STUB_PHYS_BYTES,
					       BOOT_MEM_USABLE, 0 };
	u64 bytes = frame_bitmap_bytes(phys_map, 1);
	u64 bm = frame_bitmap_place(phys_map, 1, bytes);
	if (!bm)
		abort();
	frame_init(&frames, phys_map, 1, (u64 *)bm, bm, bytes);

	char err[160];
	/* The previous test's sharing lived in memory just wiped. */
	memset(&guest_share, 0, sizeof(guest_share));
	/* So did its swapping: off until stub_swap_init(). */
	memset(&guest_swap, 0, sizeof(guest_swap));
	/* And the reclaim policy: no VMs, every threshold 0 until
	 * stub_reclaim_init(). */
	memset(&guest_reclaim, 0, sizeof(guest_reclaim));
	if (guest_pool_init(pool_bytes, err, sizeof(err)) < 0) {
		fprintf(stderr, "stub_hv: %s\n", err);
		abort();
	}
	stub_frames_free_at_start = frames.st.free;
	backend = &stub_backend;
	memset(stub_flushes, 0, sizeof(stub_flushes));
	stub_injected = 0;
	stub_on_flush = NULL;
	stub_log_clear();
}

void stub_share_init(bool on)
{
	char err[160];

	if (guest_share_init(on, err, sizeof(err)) < 0) {
		fprintf(stderr, "stub_hv: %s\n", err);
		abort();
	}
	stub_frames_free_at_start = frames.st.free;
}

void stub_reclaim_init(unsigned high, unsigned soft, unsigned hard,
		       unsigned low, unsigned idle_tax, unsigned balloon_max)
{
	const unsigned pct[4] = { high, soft, hard, low };

	guest_reclaim_init(pct, idle_tax, balloon_max);
}

void stub_swap_init(u64 bytes, u64 low_pct, u64 high_pct)
{
	char err[160];

	if (guest_swap_init(bytes, low_pct, high_pct, err, sizeof(err)) < 0) {
		fprintf(stderr, "stub_hv: %s\n", err);
		abort();
	}
	stub_frames_free_at_start = frames.st.free;
}

/* --- the console ------------------------------------------------------------ */

static char log_buf[1 << 16];
static size_t log_len;

void stub_log_clear(void)
{
	log_len = 0;
	log_buf[0] = 0;
}

bool stub_log_has(const char *s)
{
	return strstr(log_buf, s) != NULL;
}

const char *stub_log(void)
{
	return log_buf;
}

static void log_append(const char *s)
{
	size_t n = strlen(s);

	if (getenv("STUB_HV_ECHO"))
		fputs(s, stdout);
	if (log_len + n >= sizeof(log_buf))
		log_len = 0;	/* keep the newest lines */
	memcpy(log_buf + log_len, s, n + 1);
	log_len += n;
}

void vkprintf(const char *fmt, va_list ap)
{
	char line[512];

	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	log_append(line);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

void hv_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_append("[hv] ");
	log_append(line);
	log_append("\n");
}

/* --- how a run ends ---------------------------------------------------------- */

jmp_buf *stub_panic_jmp;
char stub_panic_msg[512];

static void __noreturn fatal(const char *kind, const char *fmt, va_list ap)
{
	vsnprintf(stub_panic_msg, sizeof(stub_panic_msg), fmt, ap);
	if (stub_panic_jmp) {
		jmp_buf *j = stub_panic_jmp;
		stub_panic_jmp = NULL;
		longjmp(*j, 1);
	}
	printf("  %s: %s\n", kind, stub_panic_msg);
	fflush(stdout);
	abort();
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fatal("panic", fmt, ap);
}

void hv_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fatal("hv_fail", fmt, ap);
}

void hv_pass(void)
{
	printf("  hv_pass called\n");
	abort();
}

/* --- the backend -------------------------------------------------------------- */

u64 stub_flushes[VM_MAX];
u64 stub_injected;
u8 stub_injected_vector;
void (*stub_on_flush)(struct vm *vm);

static void stub_flush_slat(struct vm *vm)
{
	if (vm->id >= 0 && vm->id < VM_MAX)
		stub_flushes[vm->id]++;
	if (stub_on_flush)
		stub_on_flush(vm);
}

static void stub_inject(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	(void)v;
	(void)has_error;
	(void)error;
	stub_injected++;
	stub_injected_vector = vector;
}

u64 stub_pf_va;
u32 stub_pf_error;
bool stub_pf_triple;

/* Records a reflected #PF (as a #PF injection); stub_pf_triple makes it a
 * #PF met delivering a #DF. */
static bool stub_inject_pf(struct vcpu *v, u64 va, u32 error)
{
	(void)v;
	if (stub_pf_triple)
		return false;
	stub_pf_va = va;
	stub_pf_error = error;
	stub_injected++;
	stub_injected_vector = 14;
	return true;
}

static void stub_dump(struct vcpu *v)
{
	(void)v;
}

const struct backend_ops stub_backend = {
	.name = "stub",
	.slat = &npt_format,
	.shadow_paging = true,
	.inject_exception = stub_inject,
	.inject_page_fault = stub_inject_pf,
	.flush_slat = stub_flush_slat,
	.dump = stub_dump,
};

/* --- VMs ------------------------------------------------------------------------ */

int stub_vm_create(struct vm *vm, int id, u64 mem_bytes,
		   const struct slat_format *fmt)
{
	return stub_vm_create_in(vm, id, mem_bytes, fmt, 0);
}

static int vm_create(struct vm *vm, int id, u64 mem_bytes,
		     const struct slat_format *fmt, unsigned group,
		     bool shadow)
{
	char err[160];

	memset(vm, 0, sizeof(*vm));
	vm->shadow_paging = shadow;
	vm->id = id;
	vm->share_group = group;
	snprintf(vm->name, sizeof(vm->name), "vm%d", id);
	vm->mem_bytes = mem_bytes;
	vm->npages = mem_bytes / PAGE_SIZE;
	vm->vcpu.vm = vm;
	vm->state = VM_RUNNING;
	pc_devices_reset(&vm->dev, mem_bytes, rdtsc(), tsc_khz);
	if (vmmem_init(vm, fmt, err, sizeof(err)) < 0) {
		printf("  vmmem_init: %s\n", err);
		return -1;
	}
	return 0;
}

int stub_vm_create_in(struct vm *vm, int id, u64 mem_bytes,
		      const struct slat_format *fmt, unsigned group)
{
	return vm_create(vm, id, mem_bytes, fmt, group, false);
}

int stub_vm_create_shadow(struct vm *vm, int id, u64 mem_bytes)
{
	return vm_create(vm, id, mem_bytes, &npt_format, 0, true);
}

/* arch/x86/vmx/ept_format.c reports a leaf EPT cannot express through this
 * hook; in the hypervisor it panics (arch/x86/vmx/ept.c), so here too. */
void ept_format_misuse(const char *what, u64 hpa, unsigned perms)
{
	panic("ept_format_misuse: %s for 0x%llx (perms %u)", what,
	      (unsigned long long)hpa, perms);
}

/* arch/x86/xstate.c reads the CPU's XSAVE features and sets XCR0, which a
 * host process cannot; the memory-path tests never drive XSETBV or CPUID
 * leaf 0Dh, so these only satisfy the linker: x87 and SSE, the legacy
 * area and header. */
u64 xstate_guest_allowed(void)
{
	return 0x3;
}

u32 xstate_size(u64 xcr0)
{
	(void)xcr0;
	return 512 + 64;
}

/* arch/x86/trap.c counts the host's NMIs; no host test raises one. */
u64 trap_nmi_count(void)
{
	return 0;
}

u64 *stub_leaf(struct vm *vm, u64 gfn)
{
	const struct slat_format *f = vm->mem.slat.fmt;
	u64 t = vm->mem.slat.root;

	for (int level = 4; level > 1; level--) {
		u64 e = ((u64 *)hv_ptr(t))[(gfn >> (9 * (level - 1))) & 511];
		if (!f->present(e))
			return NULL;
		t = f->address(e);
	}
	u64 *e = &((u64 *)hv_ptr(t))[gfn & 511];
	return f->present(*e) ? e : NULL;
}
