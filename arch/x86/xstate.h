/*
 * xstate.h - the guest's extended processor state (x87, SSE, AVX) and its
 * XCR0, kept apart from the host's and from every other guest's.
 *
 * Shared by both backends: XCR0 and the register file are the same on
 * Intel and AMD, and neither VMX nor SVM switches them on entry or exit.
 */
#ifndef ARCH_X86_XSTATE_H
#define ARCH_X86_XSTATE_H

#include "../../hv/types.h"

struct vcpu;

/* XCR0 state components (SDM Vol. 1 13.1). */
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

#define CR4_OSXSAVE_BIT (1ull << 18)	/* SDM Vol. 3A 2.5 */
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_OSXSAVE (1u << 27)

/* Turns on what the guests' state needs in the host (CR4.OSFXSR, and
 * CR4.OSXSAVE where the CPU has XSAVE) and sizes the save areas.  Called
 * once, before any vCPU exists. */
void xstate_init(void);

/* The XCR0 bits a guest may set: what the CPU supports (CPUID.(0Dh,0)
 * EDX:EAX) of x87, SSE and AVX; 0 if the CPU has no XSAVE. */
u64 xstate_guest_allowed(void);
/* Bytes of an XSAVE area for the components in xcr0 (standard format). */
u32 xstate_size(u64 xcr0);

/* A vCPU's save area (the power-up state) and its XCR0 = x87; 0 or -1. */
int xstate_vcpu_init(struct vcpu *v);
void xstate_vcpu_destroy(struct vcpu *v);

/* Right before entering v: its XCR0, and its registers if another vCPU's
 * are on the CPU (saved into that one's area first).  Interrupts off. */
void xstate_enter(struct vcpu *v);
/* Right after the exit: an XCR0 the guest changed without an exit is
 * taken as its own, then the host's XCR0 is back. */
void xstate_exit(struct vcpu *v);

#endif
