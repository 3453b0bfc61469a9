/*
 * cmdline.h - splitting the hypervisor command line into key=value pairs
 * (pure logic, host-tested by tests/test_cmdline.c).
 *
 * Syntax: pairs separated by blanks; a value runs to the next blank outside
 * double quotes, so   vm=guest.elf,args="work=touch seed=7"   is one pair.
 */
#ifndef HV_CMDLINE_H
#define HV_CMDLINE_H

#include "types.h"

struct cmdline_kv {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};

/*
 * Reads the next pair at *pos and advances *pos past it.  Returns 1 for a
 * pair, 0 at the end, -1 for a syntax error (described in err).
 */
int cmdline_next(const char **pos, struct cmdline_kv *kv, char *err,
		 size_t errlen);

/* "4096", "0x1000", "64K", "32M", "1G" (binary units). 0 ok, -1 bad. */
int parse_size(const char *s, size_t len, u64 *out);
/* Decimal or 0x-hexadecimal, no suffix.  0 ok, -1 bad or overflow. */
int parse_u64(const char *s, size_t len, u64 *out);

/* True if s[0..len) equals the C string word. */
bool token_is(const char *s, size_t len, const char *word);

#endif
