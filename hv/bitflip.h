/*
 * bitflip.h - selftest=bitflip:VM:MS (hv/bitflip.c).
 */
#ifndef HV_BITFLIP_H
#define HV_BITFLIP_H

#include "config.h"
#include "vm.h"

/* Between two slices of vm: flips the bit once its time has come. */
void bitflip_maybe(struct vm *vm, const struct hv_config *cfg);

/* At vm's end: what the flip did (or that it never came). */
void bitflip_report(const struct vm *vm, const struct hv_config *cfg);

#endif
