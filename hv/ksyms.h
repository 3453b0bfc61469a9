/*
 * ksyms.h - the hypervisor's own function symbols, for backtraces.
 *
 * The table is generated from the first link of hv.elf (scripts/gen-ksyms.sh)
 * and linked into the second; the linker script places it after all code so
 * its size cannot move a function.
 */
#ifndef HV_KSYMS_H
#define HV_KSYMS_H

#include "types.h"

/* Name of the function containing addr and the offset into it, or NULL. */
const char *ksym_lookup(u64 addr, u64 *offset);

#endif
