/* gdt.h - the hypervisor's GDT and TSS. */
#ifndef ARCH_X86_GDT_H
#define ARCH_X86_GDT_H

#include "../../hv/types.h"

#define GDT_CODE64 0x08
#define GDT_DATA 0x10
#define GDT_TSS 0x18

/* Interrupt stack table slots (1-based, as the IDT gate's IST field). */
#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3

void gdt_init(void);

#endif
