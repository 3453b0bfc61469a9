/*
 * virt_insn.c - which virtualization instruction a guest ran, from its
 * bytes (opcode maps: Intel SDM Vol. 2, Appendix A; AMD APM Vol. 3,
 * Appendix A).  Every VMX and SVM instruction is 0F-escaped:
 *
 *   0F 01 /ModRM     VMCALL C1, VMLAUNCH C2, VMRESUME C3, VMXOFF C4,
 *                    VMFUNC D4, VMRUN D8, VMMCALL D9, VMLOAD DA, VMSAVE DB,
 *                    STGI DC, CLGI DD, SKINIT DE, INVLPGA DF
 *   0F C7 /6, /7     group 9 with a memory operand: VMPTRLD, 66: VMCLEAR,
 *                    F3: VMXON; /7 without prefix: VMPTRST
 *   0F 78, 0F 79     VMREAD, VMWRITE
 *   66 0F 38 80/81   INVEPT, INVVPID
 *
 * The hypercalls are taken only unprefixed, as the guest ABI issues them,
 * so that their length is known.
 */
#include "virt_insn.h"
#include "../../hv/vmmem.h"

#define MODRM_MOD(m) ((m) >> 6)
#define MODRM_REG(m) (((m) >> 3) & 7)

/* The name of the 0F 01 /ModRM instruction, or NULL. */
static const char *op_0f01(u8 modrm)
{
	switch (modrm) {
	case 0xc2: return "VMLAUNCH";
	case 0xc3: return "VMRESUME";
	case 0xc4: return "VMXOFF";
	case 0xd4: return "VMFUNC";
	case 0xd8: return "VMRUN";
	case 0xda: return "VMLOAD";
	case 0xdb: return "VMSAVE";
	case 0xdc: return "STGI";
	case 0xdd: return "CLGI";
	case 0xde: return "SKINIT";
	case 0xdf: return "INVLPGA";
	}
	return NULL;
}

static const char *decode_name(const u8 *b, size_t n)
{
	size_t i = 0;
	bool p66 = false, pf3 = false;

	for (; i < 2 && i < n && (b[i] == 0x66 || b[i] == 0xf3); i++)
		b[i] == 0x66 ? (p66 = true) : (pf3 = true);
	if (n < i + 2 || b[i] != 0x0f)
		return NULL;
	u8 op = b[i + 1];
	if (op == 0x78)
		return "VMREAD";
	if (op == 0x79)
		return "VMWRITE";
	if (n < i + 3)
		return NULL;
	u8 modrm = b[i + 2];
	if (op == 0x01)
		return op_0f01(modrm);
	if (op == 0xc7 && MODRM_MOD(modrm) != 3) {
		if (MODRM_REG(modrm) == 6)
			return pf3 ? "VMXON" : p66 ? "VMCLEAR" : "VMPTRLD";
		if (MODRM_REG(modrm) == 7 && !p66 && !pf3)
			return "VMPTRST";
		return NULL;
	}
	if (op == 0x38 && p66 && (modrm == 0x80 || modrm == 0x81))
		return modrm == 0x80 ? "INVEPT" : "INVVPID";
	return NULL;
}

bool virt_insn_decode(const u8 *b, size_t n, struct vm_exit *e)
{
	if (n >= HYPERCALL_INSN_LEN && b[0] == 0x0f && b[1] == 0x01 &&
	    (b[2] == 0xc1 || b[2] == 0xd9)) {
		e->reason = EXIT_HYPERCALL;
		e->insn_len = HYPERCALL_INSN_LEN;
		return true;
	}
	const char *name = decode_name(b, n);
	if (!name)
		return false;
	e->reason = EXIT_VIRT_INSN;
	e->insn.name = name;
	return true;
}

bool virt_insn_at_ud(struct vcpu *v, struct vm_exit *e)
{
	u8 b[VIRT_INSN_MAX_BYTES];
	size_t n = sizeof(b);

	/* As many bytes as are mapped: an instruction may end just before a
	 * page the guest has not mapped. */
	while (n && guest_read_insn(v, b, n) < 0)
		n--;
	return virt_insn_decode(b, n, e);
}
