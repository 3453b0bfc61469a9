/*
 * ports.c - which device a port belongs to, for every port but COM1 and
 * the exit port (hv/exit.c keeps those):
 *
 *   0x40-0x43    i8254.c     PIT counters 0-2, Control Word Register
 *   0x61         i8254.c     NMI Status and Control (GATE2, OUT2)
 *   0x60, 0x64   i8042.c     keyboard controller: nothing pending;
 *                            a reset pulse stops the VM
 *   0x70, 0x71   mc146818.c  RTC and CMOS RAM
 *   0x80         here        POST code: writes taken, reads all ones
 *   0xCF8-0xCFF  pci_cfg.c   mechanism #1, no device; 0xCF9 reset
 *                            control: RST_CPU stops the VM
 *
 * The devices are one byte wide (but CONFIG_ADDRESS and CONFIG_DATA): a
 * word or doubleword access is split into bytes at consecutive ports, as
 * the ISA bus does, and a byte that falls on no device reads 0xFF.
 *
 * Anything else is "nothing attached": reads all ones (the bus floats
 * high), writes are dropped, and each access is counted in
 * vm->stats.io_other.  The first access to each such port is logged once,
 * with its direction, size and RIP, for the first PORTS_LOG_MAX distinct
 * ports of a VM; then one line says that further ones are not logged.  A
 * guest hammering unknown ports costs the hypervisor a counter and a
 * 16-entry scan per access, and no memory.
 */
#include "ports.h"
#include "../console.h"
#include "../exit.h"
#include "../vm.h"

#define PORT_POST 0x80
#define RESET_CF9 "RST_CPU in the reset control register"

void pc_devices_reset(struct pc_devices *d, u64 ram_bytes, u64 now,
		      u64 tsc_khz)
{
	*d = (struct pc_devices){ .unknown_logged = 0 };
	i8254_reset(&d->pit, now, tsc_khz);
	mc146818_reset(&d->rtc, ram_bytes, now, tsc_khz);
	i8042_reset(&d->kbc);
	pci_cfg_reset(&d->pci);
}

static bool byte_device(u16 port)
{
	switch (port) {
	case PIT_PORT_COUNTER0 ... PIT_PORT_CONTROL:
	case PORT_NMI_SC:
	case KBC_PORT_DATA:
	case KBC_PORT_STATUS:
	case RTC_PORT_INDEX:
	case RTC_PORT_DATA:
	case PORT_POST:
	case PCI_PORT_RESET_CONTROL:
		return true;
	default:
		return false;
	}
}

static u8 byte_in(struct pc_devices *d, u16 port, u64 now)
{
	switch (port) {
	case PIT_PORT_COUNTER0 ... PIT_PORT_CONTROL:
		return i8254_read(&d->pit, port, now);
	case PORT_NMI_SC:
		return i8254_nmi_sc_read(&d->pit, now);
	case KBC_PORT_DATA:
	case KBC_PORT_STATUS:
		return i8042_read(&d->kbc, port);
	case RTC_PORT_INDEX:
	case RTC_PORT_DATA:
		return mc146818_read(&d->rtc, port, now);
	case PCI_PORT_RESET_CONTROL:
		return (u8)pci_cfg_read(&d->pci, port, 1);
	default:
		return 0xff;	/* 0x80, or no device in a wider access */
	}
}

/* NULL, or what asked for a reset. */
static const char *byte_out(struct pc_devices *d, u16 port, u8 val, u64 now)
{
	switch (port) {
	case PIT_PORT_COUNTER0 ... PIT_PORT_CONTROL:
		i8254_write(&d->pit, port, val, now);
		break;
	case PORT_NMI_SC:
		i8254_nmi_sc_write(&d->pit, val, now);
		break;
	case KBC_PORT_DATA:
	case KBC_PORT_STATUS:
		if (i8042_write(&d->kbc, port, val))
			return "the i8042 keyboard controller's reset line";
		break;
	case RTC_PORT_INDEX:
	case RTC_PORT_DATA:
		mc146818_write(&d->rtc, port, val, now);
		break;
	case PCI_PORT_RESET_CONTROL:
		if (pci_cfg_write(&d->pci, port, 1, val))
			return RESET_CF9;
		break;
	}
	return NULL;	/* 0x80 (POST code) or nothing: dropped */
}

static void reset_requested(struct vm *vm, const char *what, u16 port,
			    u32 val)
{
	vm_stop(vm, "guest reset through %s (0x%x to port 0x%x) at RIP "
		"0x%llx: memvisor does not reboot a VM", what, val, port,
		(unsigned long long)vm->vcpu.regs.rip);
}

static void unknown_port(struct vm *vm, u16 port, u8 size, bool in)
{
	struct pc_devices *d = &vm->dev;

	vm->stats.io_other++;
	for (unsigned i = 0; i < d->unknown_logged; i++)
		if (d->unknown_ports[i] == port)
			return;
	if (d->unknown_logged == PORTS_LOG_MAX) {
		if (!d->unknown_more_said)
			hv_log("%s: %s port 0x%x: %d ports with nothing attached "
			       "logged; further ones are not logged (all are "
			       "counted)", vm->name, in ? "in from" : "out to",
			       port, PORTS_LOG_MAX);
		d->unknown_more_said = true;
		return;
	}
	d->unknown_ports[d->unknown_logged++] = port;
	hv_log("%s: %s port 0x%x (%u byte%s) at RIP 0x%llx: nothing attached "
	       "there; %s (logged once per port)", vm->name,
	       in ? "in from" : "out to", port, size, size == 1 ? "" : "s",
	       (unsigned long long)vm->vcpu.regs.rip,
	       in ? "reads return all ones" : "writes are dropped");
}

u32 pc_dev_io(struct vm *vm, u16 port, u8 size, bool in, u32 val, u64 now)
{
	struct pc_devices *d = &vm->dev;
	bool any = false;
	u32 r = 0;

	if (pci_cfg_claims(port, size)) {
		if (in)
			return pci_cfg_read(&d->pci, port, size);
		if (pci_cfg_write(&d->pci, port, size, val))
			reset_requested(vm, RESET_CF9, port, val);
		return 0;
	}
	for (u8 i = 0; i < size; i++)
		any |= byte_device((u16)(port + i));
	if (!any) {
		unknown_port(vm, port, size, in);
		return 0xffffffffu;	/* nothing there: the bus floats high */
	}
	for (u8 i = 0; i < size && vm->state == VM_RUNNING; i++) {
		u16 p = (u16)(port + i);
		if (in) {
			r |= (u32)byte_in(d, p, now) << (8 * i);
			continue;
		}
		const char *what = byte_out(d, p, (u8)(val >> (8 * i)), now);
		if (what)
			reset_requested(vm, what, p, (u8)(val >> (8 * i)));
	}
	return r;
}
