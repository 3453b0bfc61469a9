/*
 * modrm.c - memory operands from ModRM and SIB (modrm.h; SDM Vol. 2A
 * Tables 2-2 and 2-3 for 32-bit addressing, 2.2.1 for REX and RIP-relative
 * addressing in 64-bit mode).
 */
#include "modrm.h"
#include "../../hv/backend.h"

static bool legacy_prefix(u8 b, int *seg, bool *addr_override)
{
	switch (b) {
	case 0x26: *seg = X86_SEG_ES; return true;
	case 0x2e: *seg = X86_SEG_CS; return true;
	case 0x36: *seg = X86_SEG_SS; return true;
	case 0x3e: *seg = X86_SEG_DS; return true;
	case 0x64: *seg = X86_SEG_FS; return true;
	case 0x65: *seg = X86_SEG_GS; return true;
	case 0x67: *addr_override = true; return true;
	case 0x66: case 0xf0: case 0xf2: case 0xf3: return true;
	}
	return false;
}

/* The ModRM byte at b[i] (mod != 3) and what follows it, into m. */
static bool decode_mem(const u8 *b, size_t n, size_t i, bool mode64, u8 rex,
		       struct modrm_mem *m)
{
	u8 mod = b[i] >> 6, rm = b[i] & 7;

	i++;
	m->base = MODRM_NO_REG;
	m->index = MODRM_NO_REG;
	m->scale = 1;
	if (rm == 4) {			/* a SIB byte follows */
		if (i >= n)
			return false;
		u8 sib = b[i++];
		u8 idx = (u8)(((sib >> 3) & 7) | (rex & 0x2 ? 8 : 0));
		m->scale = (u8)(1u << (sib >> 6));
		if (idx != 4)		/* 4 without REX.X: no index */
			m->index = idx;
		if ((sib & 7) == 5 && mod == 0)
			mod = 2 | 0x80;	/* disp32, no base */
		else
			m->base = (sib & 7) | (rex & 0x1 ? 8 : 0);
	} else if (rm == 5 && mod == 0) {
		m->base = mode64 ? MODRM_RIP : MODRM_NO_REG;
		mod = 2 | 0x80;		/* disp32 */
	} else {
		m->base = rm | (rex & 0x1 ? 8 : 0);
	}
	size_t dlen = (mod & 3) == 1 ? 1 : (mod & 3) == 2 ? 4 : 0;
	if (i + dlen > n)
		return false;
	if (dlen == 1)
		m->disp = (s8)b[i];
	else if (dlen == 4)
		m->disp = (s32)((u32)b[i] | (u32)b[i + 1] << 8 |
				(u32)b[i + 2] << 16 | (u32)b[i + 3] << 24);
	else
		m->disp = 0;
	m->len = (u8)(i + dlen);
	if (m->seg < 0)
		m->seg = m->base == 4 || m->base == 5 ? X86_SEG_SS : X86_SEG_DS;
	return true;
}

bool modrm_decode_invlpg(const u8 *b, size_t n, bool mode64, bool cs_d,
			 struct modrm_mem *m)
{
	size_t i = 0;
	u8 rex = 0;
	bool a16 = false;

	*m = (struct modrm_mem){ .seg = -1 };
	for (; i < n && i < 14 && legacy_prefix(b[i], &m->seg, &a16); i++)
		;
	if (mode64 && i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	m->addr_size = mode64 ? (a16 ? 4 : 8) : cs_d != a16 ? 4 : 2;
	if (m->addr_size == 2 || i + 3 > n || b[i] != 0x0f ||
	    b[i + 1] != 0x01 || (b[i + 2] >> 6) == 3 ||
	    ((b[i + 2] >> 3) & 7) != 7)
		return false;
	return decode_mem(b, n, i + 2, mode64, rex, m) && m->len <= 15;
}

u64 modrm_offset(const struct modrm_mem *m, const u64 gpr[16], u64 rip)
{
	u64 off = (u64)m->disp;

	if (m->base == MODRM_RIP)
		off += rip + m->len;
	else if (m->base >= 0)
		off += gpr[m->base];
	if (m->index >= 0)
		off += gpr[m->index] * m->scale;
	return m->addr_size == 8 ? off : (u32)off;
}
