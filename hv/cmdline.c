/*
 * cmdline.c - the lexical layer of the command line: blanks, quotes,
 * key=value, numbers and sizes.  What the keys mean is hv/config.c's job.
 */
#include "cmdline.h"
#include "fmt.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool token_is(const char *s, size_t len, const char *word)
{
	size_t i = 0;
	for (; i < len; i++)
		if (!word[i] || word[i] != s[i])
			return false;
	return word[i] == 0;
}

int cmdline_next(const char **pos, struct cmdline_kv *kv, char *err,
		 size_t errlen)
{
	const char *p = *pos;

	while (is_blank(*p))
		p++;
	if (!*p) {
		*pos = p;
		return 0;
	}

	const char *tok = p;
	bool quoted = false;
	while (*p && (quoted || !is_blank(*p))) {
		if (*p == '"')
			quoted = !quoted;
		p++;
	}
	size_t tok_len = (size_t)(p - tok);
	*pos = p;

	if (quoted) {
		fmt_snprintf(err, errlen, "unterminated quote in '%.*s'",
			     (int)tok_len, tok);
		return -1;
	}
	size_t k = 0;
	while (k < tok_len && is_key_char(tok[k]))
		k++;
	if (k == 0 || k == tok_len || tok[k] != '=') {
		fmt_snprintf(err, errlen, "expected key=value, got '%.*s'",
			     (int)tok_len, tok);
		return -1;
	}
	if (k + 1 == tok_len) {
		fmt_snprintf(err, errlen, "empty value for key '%.*s'", (int)k,
			     tok);
		return -1;
	}
	*kv = (struct cmdline_kv){ .key = tok, .key_len = k,
				   .val = tok + k + 1,
				   .val_len = tok_len - k - 1 };
	return 1;
}

int parse_u64(const char *s, size_t len, u64 *out)
{
	u64 v = 0, base = 10;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char c = s[i];
		u64 d;
		if (c >= '0' && c <= '9')
			d = (u64)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (u64)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (u64)(c - 'A' + 10);
		else
			return -1;
		if (v > (~0ull - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, size_t len, u64 *out)
{
	u64 unit = 1, v;

	if (len == 0)
		return -1;
	switch (s[len - 1]) {
	case 'k': case 'K': unit = KiB; break;
	case 'm': case 'M': unit = MiB; break;
	case 'g': case 'G': unit = GiB; break;
	}
	if (unit != 1 && !(len > 2 && (s[1] == 'x' || s[1] == 'X')))
		len--;
	else
		unit = 1;
	if (parse_u64(s, len, &v) < 0 || v > ~0ull / unit)
		return -1;
	*out = v * unit;
	return 0;
}
