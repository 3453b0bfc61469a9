/* run.h - creating the declared VMs, running them, and the verdict. */
#ifndef HV_RUN_H
#define HV_RUN_H

#include "config.h"
#include "../boot/boot_info.h"

const struct boot_module *boot_find_module(const struct boot_info *boot,
					  const char *name);

/* Runs every declared VM to its end; true if each ended as expected. */
bool run_vms(const struct hv_config *cfg, const struct boot_info *boot);

#endif
