/*
 * ksyms.c - address to "function+offset".
 *
 * Layout of the generated table (section .ksyms, see scripts/gen-ksyms.sh):
 *   ksyms_count             u64
 *   ksyms_addrs[count]      u64, sorted ascending
 *   ksyms_name_offs[count]  u32, offsets into ksyms_names
 *   ksyms_names             NUL-terminated strings
 * plus ksyms_text_end, the end of the last function.
 */
#include "ksyms.h"

extern const u64 ksyms_count;
extern const u64 ksyms_addrs[];
extern const u32 ksyms_name_offs[];
extern const char ksyms_names[];
extern const u8 _text_start[], _text_end[];

const char *ksym_lookup(u64 addr, u64 *offset)
{
	u64 lo = 0, hi = ksyms_count;

	if (addr < (u64)_text_start || addr >= (u64)_text_end || hi == 0)
		return NULL;
	while (hi - lo > 1) {	/* last entry with address <= addr */
		u64 mid = (lo + hi) / 2;
		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksyms_addrs[lo] > addr)
		return NULL;
	*offset = addr - ksyms_addrs[lo];
	return ksyms_names + ksyms_name_offs[lo];
}
