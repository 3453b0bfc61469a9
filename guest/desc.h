/* desc.h - the guest's own GDT, TSS and IDT. */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

/* Loads the final GDT (with a TSS for the #DF stack) and the IDT. */
void desc_init(void);

/* Loads an IDT with limit 0: the next exception becomes a triple fault. */
__attribute__((noreturn)) void desc_triple_fault(void);

#endif
