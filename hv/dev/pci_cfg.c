/*
 * pci_cfg.c - PCI configuration mechanism #1 (PCI Local Bus Specification
 * 3.0, 3.2.2.3.2) for a machine with no PCI device, not even a host
 * bridge, and the chipset's Reset Control Register at 0xCF9.
 *
 * CONFIG_ADDRESS, 0xCF8, is a 32-bit register reached only by a doubleword
 * access: bit 31 enable, 30:24 reserved, 23:16 bus, 15:11 device, 10:8
 * function, 7:2 register, 1:0 zero.  It reads back what was written, with
 * the reserved bits 30:24 and 1:0 reading 0, as Intel's chipsets do (e.g.
 * the 82815 GMCH and ICH data sheets: "CONFIG_ADDRESS ... can be accessed
 * only as a Dword", reserved bits read 0).  QEMU (hw/pci/pci_host.c)
 * keeps all 32 bits instead; memvisor follows the chipsets.  (AMD's
 * extended register bits 27:24 exist only when its northbridge enables
 * them; this is not that northbridge.)  A byte or word access to
 * 0xCF8-0xCFB is not CONFIG_ADDRESS: the chipset passes it on as an
 * ordinary I/O cycle, which here finds nothing (ports.c: all ones) --
 * except 0xCF9, below.  That is also what configuration mechanism #2
 * (the CSE register at 0xCF8, the forward register at 0xCFA, byte
 * accesses) finds: a mechanism-#1-only chipset, so a probe for #2
 * (memtest86+'s and Linux's pci_check_type2: write 0 to 0xCF8 and 0xCFA,
 * read 0 back) fails.
 *
 * CONFIG_DATA, 0xCFC-0xCFF, any width: reads are all ones, whatever
 * CONFIG_ADDRESS says (no function answers, so vendor ID 0xFFFF: "no
 * device" to every probe, also memtest86+'s host-bridge sanity check, so it
 * decides there is no PCI); writes are dropped.
 *
 * 0xCF9, the Reset Control Register (Intel ICH "RST_CNT", PIIX "RC"), one
 * byte: bit 1 SYS_RST (hard reset) and bit 3 FULL_RST are kept and read
 * back; a write with bit 2 (RST_CPU) set starts the reset, which memvisor
 * answers by stopping the VM (ports.c).
 *
 * Not emulated: any device, configuration space itself, the enhanced
 * (memory-mapped) configuration mechanism.
 */
#include "pci_cfg.h"

#define CONFIG_ADDRESS_MASK 0x80fffffcu	/* reserved 30:24, 1:0 read 0 */
#define RST_CNT_SYS_RST 0x02
#define RST_CNT_RST_CPU 0x04
#define RST_CNT_FULL_RST 0x08

void pci_cfg_reset(struct pci_cfg *p)
{
	*p = (struct pci_cfg){ 0, 0 };
}

bool pci_cfg_claims(u16 port, u8 size)
{
	if (port == PCI_PORT_CONFIG_ADDRESS && size == 4)
		return true;
	if (port == PCI_PORT_RESET_CONTROL && size == 1)
		return true;
	return port >= PCI_PORT_CONFIG_DATA && port <= PCI_PORT_CONFIG_DATA + 3;
}

u32 pci_cfg_read(struct pci_cfg *p, u16 port, u8 size)
{
	(void)size;
	if (port == PCI_PORT_CONFIG_ADDRESS)
		return p->config_address;
	if (port == PCI_PORT_RESET_CONTROL)
		return p->reset_control;
	return 0xffffffffu;	/* CONFIG_DATA: no device answers */
}

bool pci_cfg_write(struct pci_cfg *p, u16 port, u8 size, u32 val)
{
	(void)size;
	if (port == PCI_PORT_CONFIG_ADDRESS) {
		p->config_address = val & CONFIG_ADDRESS_MASK;
	} else if (port == PCI_PORT_RESET_CONTROL) {
		p->reset_control = (u8)val & (RST_CNT_SYS_RST |
					      RST_CNT_FULL_RST);
		return val & RST_CNT_RST_CPU;
	}
	return false;
}
