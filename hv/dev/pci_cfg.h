/*
 * pci_cfg.h - PCI configuration mechanism #1 with no device behind it,
 * and the reset control register at 0xCF9 (hv/dev/pci_cfg.c).
 */
#ifndef HV_DEV_PCI_CFG_H
#define HV_DEV_PCI_CFG_H

#include "../types.h"

#define PCI_PORT_CONFIG_ADDRESS 0xcf8	/* 32 bits, 0xCF8-0xCFB */
#define PCI_PORT_RESET_CONTROL 0xcf9	/* 8 bits */
#define PCI_PORT_CONFIG_DATA 0xcfc	/* 0xCFC-0xCFF */

struct pci_cfg {
	u32 config_address;
	u8 reset_control;
};

void pci_cfg_reset(struct pci_cfg *p);
/* True if the 0xCF8-0xCFF access of `size` bytes at `port` is one this
 * file answers (the others are ordinary I/O cycles to nothing). */
bool pci_cfg_claims(u16 port, u8 size);
u32 pci_cfg_read(struct pci_cfg *p, u16 port, u8 size);
/* True if the write asks for a reset (0xCF9 bit 2). */
bool pci_cfg_write(struct pci_cfg *p, u16 port, u8 size, u32 val);

#endif
