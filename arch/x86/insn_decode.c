/*
 * insn_decode.c - legacy prefixes and address sizes (SDM Vol. 2A 2.1.1,
 * Vol. 1 3.6.1), for backends whose exit information does not report the
 * segment or address size of a string I/O instruction.
 */
#include "insn_decode.h"
#include "../../hv/backend.h"
#include "../../hv/vmmem.h"

#define INSN_MAX_BYTES 15

void insn_scan_prefixes(const u8 *bytes, u32 len, struct insn_prefixes *p)
{
	*p = (struct insn_prefixes){ .seg = -1 };
	for (u32 i = 0; i < len; i++) {
		switch (bytes[i]) {
		case 0x26: p->seg = X86_SEG_ES; break;
		case 0x2e: p->seg = X86_SEG_CS; break;
		case 0x36: p->seg = X86_SEG_SS; break;
		case 0x3e: p->seg = X86_SEG_DS; break;
		case 0x64: p->seg = X86_SEG_FS; break;
		case 0x65: p->seg = X86_SEG_GS; break;
		case 0x67: p->addr_override = true; break;
		case 0x66: case 0xf0: case 0xf2: case 0xf3: break;
		default: return;	/* REX or the opcode */
		}
	}
}

int insn_prefixes_at_rip(struct vcpu *v, struct insn_prefixes *p)
{
	u8 bytes[INSN_MAX_BYTES];
	u32 n = 0;

	/* Byte by byte: the instruction may end just before an unmapped
	 * page, and only its prefixes are needed. */
	while (n < sizeof(bytes)) {
		u64 gpa;
		if (guest_virt_to_phys(v, v->regs.rip + n, &gpa) < 0 ||
		    vm_read_phys(v->vm, gpa, &bytes[n], 1) < 0)
			break;
		n++;
	}
	if (!n)
		return -1;
	insn_scan_prefixes(bytes, n, p);
	return 0;
}

u8 insn_addr_size(bool cs_l, bool cs_d, bool addr_override)
{
	if (cs_l)
		return addr_override ? 4 : 8;
	if (cs_d)
		return addr_override ? 2 : 4;
	return addr_override ? 4 : 2;
}
