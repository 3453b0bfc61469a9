/*
 * ports.h - a VM's emulated PC devices and the dispatch of its port I/O
 * to them (hv/dev/ports.c).
 */
#ifndef HV_DEV_PORTS_H
#define HV_DEV_PORTS_H

#include "i8042.h"
#include "i8254.h"
#include "mc146818.h"
#include "pci_cfg.h"

/* Distinct ports with nothing attached that are logged per VM. */
#define PORTS_LOG_MAX 16

struct vm;

struct pc_devices {
	struct i8254 pit;
	struct mc146818 rtc;
	struct i8042 kbc;
	struct pci_cfg pci;
	u16 unknown_ports[PORTS_LOG_MAX];	/* logged once each */
	u8 unknown_logged;
	bool unknown_more_said;		/* "further ones not logged" said */
};

/* The devices as at power-on, for a VM of ram_bytes; `now` (TSC) is the
 * VM's time zero, tsc_khz the TSC's rate. */
void pc_devices_reset(struct pc_devices *d, u64 ram_bytes, u64 now,
		      u64 tsc_khz);

/*
 * One IN or OUT of `size` (1, 2, 4) bytes at `port`, at TSC time `now`,
 * for every port but COM1 and the exit port (hv/exit.c): returns what an
 * IN reads (the low `size` bytes count).  A reset request stops the VM
 * (vm_stop); an access to a port with nothing attached reads all ones,
 * is counted in vm->stats.io_other and logged once per port.
 */
u32 pc_dev_io(struct vm *vm, u16 port, u8 size, bool in, u32 val, u64 now);

#endif
