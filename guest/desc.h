/* desc.h - the guest's own GDT, TSS and IDT. */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

#include <stdint.h>

/* Selectors of the GDT desc_init() loads (user ones with RPL 3). */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS (0x28 | 3)
#define USER_DS (0x30 | 3)

/* Loads the final GDT (with a TSS for the #DF stack) and the IDT. */
void desc_init(void);

/* TSS.RSP0: the stack an interrupt or exception from ring 3 switches to. */
void desc_set_kernel_stack(uint64_t rsp0);
/* Points vector's gate at handler (an interrupt gate: IF cleared), which
 * INT n may reach from CPL <= dpl; desc_reset_gate() puts back what
 * desc_init() installed (the exception stub, or nothing above 31). */
void desc_set_gate(int vector, uint64_t handler, int dpl);
void desc_reset_gate(int vector);

/* Loads an IDT with limit 0: the next exception becomes a triple fault. */
__attribute__((noreturn)) void desc_triple_fault(void);

#endif
