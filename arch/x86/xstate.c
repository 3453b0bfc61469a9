/*
 * xstate.c - each guest's x87/SSE/AVX registers and XCR0, its own.
 *
 * Neither VMX nor SVM switches the register file or XCR0 between guest
 * and host: whatever the guest leaves in XMM0 or XCR0 is still there when
 * the next VM runs.  The hypervisor itself never touches that state (it is
 * built -mgeneral-regs-only), so the registers can stay loaded across
 * exits and are switched only when another vCPU is about to run (lazily,
 * as KVM and Xen do): the previous owner's are saved with XSAVE (FXSAVE
 * on a CPU without it) into its area, the new one's restored.
 *
 * XCR0 is the guest's while it runs and the host's (x87 only) otherwise.
 * The guest changes it with XSETBV, which both backends intercept and the
 * core validates (hv/exit.c); XGETBV does not exit and reads the hardware
 * register, so the guest's value is loaded before every entry.  If an
 * emulator lacks the XSETBV intercept, the value the guest wrote is found
 * in XCR0 after the exit and is taken as the guest's.
 *
 * What a guest may enable: x87, SSE and AVX, where the CPU supports them
 * (SDM Vol. 1 13.2-13.3).  They fit a page in the standard format; wider
 * components (AVX-512, AMX) and supervisor state are not offered, and the
 * core's CPUID leaf 0Dh says so.
 */
#include "xstate.h"
#include "cpu.h"
#include "../../hv/finish.h"
#include "../../hv/hvmem.h"
#include "../../hv/string.h"
#include "../../hv/vm.h"

#define CPUID_XSTATE 0xd
#define CR4_OSFXSR_BIT (1ull << 9)
#define XSAVE_LEGACY_SIZE 512	/* the FXSAVE image */
#define XSAVE_HEADER_SIZE 64
/* The power-up values that are not zero (SDM Vol. 1 Table 13-1 / 8.1). */
#define FXSAVE_FCW 0
#define FXSAVE_MXCSR 24
#define FCW_INIT 0x037f
#define MXCSR_INIT 0x1f80
#define HOST_XCR0 XCR0_X87

static bool has_xsave;
static u64 allowed;
static struct vcpu *owner;	/* whose registers are on the CPU */

static inline void xsetbv(u32 xcr, u64 val)
{
	__asm__ volatile("xsetbv"
			 :
			 : "c"(xcr), "a"((u32)val), "d"((u32)(val >> 32))
			 : "memory");
}

static inline u64 xgetbv(u32 xcr)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((u64)hi << 32) | lo;
}

void xstate_init(void)
{
	struct cpuid_regs c = cpuid(1, 0);
	u64 cr4 = read_cr4() | CR4_OSFXSR_BIT;

	/* FXSAVE/XSAVE need CR0.EM = 0 and CR0.TS = 0 (#UD, #NM otherwise). */
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP);
	has_xsave = c.ecx & CPUID1_ECX_XSAVE;
	if (has_xsave) {
		struct cpuid_regs d = cpuid(CPUID_XSTATE, 0);
		u64 supported = ((u64)d.edx << 32) | d.eax;
		allowed = supported & (XCR0_X87 | XCR0_SSE | XCR0_AVX);
		if (xstate_size(allowed) > PAGE_SIZE)
			panic("xstate: %u bytes for XCR0 0x%llx do not fit a page",
			      xstate_size(allowed), (unsigned long long)allowed);
		cr4 |= CR4_OSXSAVE_BIT;
	}
	write_cr4(cr4);
	if (has_xsave)
		xsetbv(0, HOST_XCR0);
}

u64 xstate_guest_allowed(void)
{
	return allowed;
}

u32 xstate_size(u64 xcr0)
{
	u32 size = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;

	for (u32 i = 2; i < 63; i++) {
		if (!(xcr0 & (1ull << i)))
			continue;
		struct cpuid_regs c = cpuid(CPUID_XSTATE, i);
		size = MAX(size, c.ebx + c.eax);	/* offset + size */
	}
	return size;
}

int xstate_vcpu_init(struct vcpu *v)
{
	u64 pa = hv_frame_alloc();	/* zeroed: XSTATE_BV = 0, all init */
	u8 *area;

	if (!pa)
		return -1;
	area = hv_ptr(pa);
	*(u16 *)(area + FXSAVE_FCW) = FCW_INIT;
	*(u32 *)(area + FXSAVE_MXCSR) = MXCSR_INIT;
	v->xsave_pa = pa;
	v->xcr0 = XCR0_X87;	/* XCR0 at power-up */
	return 0;
}

void xstate_vcpu_destroy(struct vcpu *v)
{
	if (owner == v)
		owner = NULL;
	if (v->xsave_pa)
		hv_frames_free(v->xsave_pa, 1);
	v->xsave_pa = 0;
}

static void save(struct vcpu *v)
{
	void *area = hv_ptr(v->xsave_pa);

	if (!has_xsave) {
		__asm__ volatile("fxsave64 %0" : "=m"(*(u8(*)[512])area));
		return;
	}
	xsetbv(0, v->xcr0);	/* XSAVE saves the components XCR0 enables */
	__asm__ volatile("xsave64 %0"
			 : "=m"(*(u8(*)[PAGE_SIZE])area)
			 : "a"((u32)v->xcr0), "d"((u32)(v->xcr0 >> 32)));
}

static void restore(struct vcpu *v)
{
	void *area = hv_ptr(v->xsave_pa);

	if (!has_xsave) {
		__asm__ volatile("fxrstor64 %0" : : "m"(*(u8(*)[512])area));
		return;
	}
	xsetbv(0, v->xcr0);
	__asm__ volatile("xrstor64 %0"
			 :
			 : "m"(*(u8(*)[PAGE_SIZE])area), "a"((u32)v->xcr0),
			   "d"((u32)(v->xcr0 >> 32)));
}

void xstate_enter(struct vcpu *v)
{
	if (owner != v) {
		if (owner)
			save(owner);
		restore(v);
		owner = v;
	}
	if (has_xsave && xgetbv(0) != v->xcr0)
		xsetbv(0, v->xcr0);
}

void xstate_exit(struct vcpu *v)
{
	if (!has_xsave)
		return;
	u64 now = xgetbv(0);
	v->xcr0 = now;	/* unchanged, or set by an unintercepted XSETBV */
	if (now != HOST_XCR0)
		xsetbv(0, HOST_XCR0);
}
