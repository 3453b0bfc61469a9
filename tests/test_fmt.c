/*
 * test_fmt.c - hv/fmt.c, the hypervisor's vsnprintf.
 *
 * Where C defines the result, fmt_vsnprintf must produce byte for byte what
 * the host's vsnprintf produces (SAME() compares both, output and return
 * value).  The rest pins down fmt.c's own promises: truncation always
 * NUL-terminates and still returns the full length, size 0 writes nothing,
 * NULL strings print "(null)", unknown conversions are copied verbatim.
 */
#include <limits.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../hv/fmt.h"
#include "unit.h"

/* Prints buf[0..n) with NULs and control bytes escaped. */
static void print_escaped(const char *buf, int n)
{
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

/*
 * Formats with fmt_vsnprintf and with the host's vsnprintf and checks that
 * the returned lengths and the produced bytes (including embedded NULs and
 * the terminator) are identical.
 */
static void same_at(int line, const char *fmt, ...) __printf(2, 3);
static void same_at(int line, const char *fmt, ...)
{
	char ours[512], libc[512];
	va_list ap, aq;

	memset(ours, 'A', sizeof(ours));
	memset(libc, 'B', sizeof(libc));
	va_start(ap, fmt);
	va_copy(aq, ap);
	int r1 = fmt_vsnprintf(ours, sizeof(ours), fmt, ap);
	int r2 = vsnprintf(libc, sizeof(libc), fmt, aq);
	va_end(aq);
	va_end(ap);

	int cmp = r2 < 0 || r2 >= (int)sizeof(libc) ? 0 : r2 + 1;
	if (r1 != r2 || memcmp(ours, libc, (size_t)cmp) != 0) {
		printf("  %s:%d: format \"", __FILE__, line);
		print_escaped(fmt, (int)strlen(fmt));
		printf("\": ours \"");
		print_escaped(ours, r1 > 0 && r1 < 512 ? r1 : 0);
		printf("\" (%d), libc \"", r1);
		print_escaped(libc, r2 > 0 && r2 < 512 ? r2 : 0);
		printf("\" (%d)\n", r2);
		unit_failed_checks++;
	}
}
#define SAME(...) same_at(__LINE__, __VA_ARGS__)

/*
 * For well-defined formats gcc nevertheless warns about (an ignored '0' or
 * ' ' flag, an empty format): the behaviour is exactly what is under test.
 */
#define SAME_QUIET(...)                                                     \
	do {                                                                \
		_Pragma("GCC diagnostic push")                              \
		_Pragma("GCC diagnostic ignored \"-Wformat\"")              \
		_Pragma("GCC diagnostic ignored \"-Wformat-zero-length\"")  \
		same_at(__LINE__, __VA_ARGS__);                             \
		_Pragma("GCC diagnostic pop")                               \
	} while (0)


/* fmt_snprintf into a big buffer; returns the buffer (static, per call). */
static char fmt_buf[512];
static int fmt_ret;
static const char *F(const char *fmt, ...) __printf(1, 2);
static const char *F(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_ret = fmt_vsnprintf(fmt_buf, sizeof(fmt_buf), fmt, ap);
	va_end(ap);
	return fmt_buf;
}

/* Plain text and %% pass through; the return value is the length. */
TEST(fmt_plain_text_and_percent)
{
	CHECK_STR(F("hello, world"), "hello, world");
	CHECK_EQ(fmt_ret, 12);
	CHECK_STR(F("%s", ""), "");
	CHECK_EQ(fmt_ret, 0);
	CHECK_STR(F("100%%"), "100%");
	CHECK_EQ(fmt_ret, 4);
	CHECK_STR(F("%%%d%%", 7), "%7%");
	CHECK_EQ(fmt_ret, 3);
	SAME("a%%b%%%%c");
	SAME_QUIET("");
}

/* Signed decimal: sign, flags, width, precision, like C. */
TEST(fmt_signed_decimal_matches_libc)
{
	SAME("%d", 0);
	SAME("%d", 42);
	SAME("%d", -42);
	SAME("%i", 12345);
	SAME("%d", INT_MAX);
	SAME("%d", INT_MIN);
	SAME("%5d|", 42);
	SAME("%-5d|", 42);
	SAME("%05d", 42);
	SAME("%05d", -42);
	SAME("%+d %+d %+d", 5, -5, 0);
	SAME("% d % d % d", 5, -5, 0);
	SAME_QUIET("%+ d", 5);	/* '+' beats ' ' */
	SAME_QUIET("%-05d|", -7);	/* '-' beats '0' */
	SAME("%.3d", 7);
	SAME("%.3d", -7);
	SAME("%8.3d|", -7);
	SAME("%-8.3d|", 7);
	SAME_QUIET("%08.3d|", 7);	/* '0' ignored with a precision */
	SAME("%.0d|", 0);	/* zero with precision 0: no digits */
	SAME("%5.0d|", 0);
	SAME("%+.0d|", 0);
	SAME("% .0d|", 0);
	SAME("%.0d|", 3);
	SAME("%2d|", 12345);	/* width never truncates */
	SAME("%.1d|", 12345);
	SAME("%020d|", INT_MIN);
	SAME("%+020d|", INT_MAX);
}

/* Unsigned, hex (both cases), octal, with flags, '#', width, precision. */
TEST(fmt_unsigned_hex_octal_match_libc)
{
	SAME("%u", 0u);
	SAME("%u", UINT_MAX);
	SAME("%x %X", 0xdeadbeefu, 0xdeadbeefu);
	SAME("%o", 8u);
	SAME("%o", 0u);
	SAME("%o", UINT_MAX);
	SAME("%#x %#X", 0xabcu, 0xabcu);
	SAME("%#x|", 0u);	/* no 0x for zero */
	SAME("%#X|", 0u);
	SAME("%#.0x|", 0u);
	SAME("%#o", 8u);
	SAME("%#.0o|", 0u);
	SAME("%#010x|", 0xffu);	/* zeros go after the prefix */
	SAME("%#-10x|", 0xffu);
	SAME("%#10x|", 0xffu);
	SAME("%#.6x|", 0xffu);
	SAME("%#12.6x|", 0xffu);
	SAME("%08x|", 0x1234u);
	SAME("%-8X|", 0x1234u);
	SAME("%.8x|", 0x1234u);
	SAME("%.0x|", 0u);
	SAME("%.0o|", 0u);
	SAME("%.0u|", 0u);
	SAME("%10.4o|", 8u);
	SAME("%#10o|", 8u);
	SAME("%-#10o|", 8u);
}

/* Length modifiers read the right argument type and truncate hh/h. */
TEST(fmt_length_modifiers_match_libc)
{
	SAME("%hhd", 200);	/* (signed char)200 == -56 */
	SAME("%hhd", -128);
	SAME("%hhu", 0x1ff);
	SAME("%hhx", 0xabcd);
	SAME("%hd", 70000);
	SAME("%hd", -32768);
	SAME("%hu", -1);
	SAME("%hx", 0x12345);
	SAME("%ho", 0x10008);
	SAME("%ld", LONG_MIN);
	SAME("%ld", LONG_MAX);
	SAME("%lu", ULONG_MAX);
	SAME("%lx", 0x123456789abcdef0ul);
	SAME("%lld", LLONG_MIN);
	SAME("%lli", LLONG_MAX);
	SAME("%llu", ULLONG_MAX);
	SAME("%llx", ULLONG_MAX);
	SAME("%llX", 0xfedcba9876543210ull);
	SAME("%llo", ULLONG_MAX);
	SAME("%#llo", ULLONG_MAX);
	SAME("%zu", (size_t)SIZE_MAX);
	SAME("%zx", (size_t)0x1000);
	SAME("%zd", (ssize_t)-1);
	SAME("%jd", (intmax_t)INT64_MIN);
	SAME("%ju", (uintmax_t)UINT64_MAX);
	SAME("%td", (ptrdiff_t)-12345);
	/* An int argument followed by a 64-bit one: each reads its own slot. */
	SAME("%d %lld %hhd %llu %d", -1, LLONG_MIN, 65, ULLONG_MAX, 99);
}

/* INT64_MIN has no positive counterpart; the magnitude must still be right. */
TEST(fmt_int64_min)
{
	CHECK_STR(F("%lld", (long long)INT64_MIN), "-9223372036854775808");
	CHECK_EQ(fmt_ret, 20);
	CHECK_STR(F("%ld", (long)INT64_MIN), "-9223372036854775808");
	CHECK_STR(F("%25lld|", (long long)INT64_MIN),
		  "     -9223372036854775808|");
	CHECK_STR(F("%025lld|", (long long)INT64_MIN),
		  "-000009223372036854775808|");
	CHECK_STR(F("%llx", (unsigned long long)INT64_MIN),
		  "8000000000000000");
	SAME("%+lld", (long long)INT64_MIN);
	SAME("%-25lld|", (long long)INT64_MIN);
}

/* '*' takes width and precision from the arguments; negative width means
 * left-justify, negative precision means "no precision". */
TEST(fmt_star_width_and_precision)
{
	CHECK_STR(F("%*d|", 6, 42), "    42|");
	CHECK_STR(F("%*d|", -6, 42), "42    |");
	CHECK_STR(F("%.*d|", 4, 42), "0042|");
	CHECK_STR(F("%*.*d|", 7, 4, -42), "  -0042|");
	CHECK_STR(F("%.*s|", 3, "abcdef"), "abc|");
	CHECK_STR(F("%.*s|", -1, "abcdef"), "abcdef|");
	CHECK_STR(F("%0*d|", 5, 3), "00003|");
	SAME("%*d|", 6, 42);
	SAME("%*d|", -6, 42);
	SAME("%-*d|", -6, 42);
	SAME("%.*d|", -3, 42);
	SAME_QUIET("%0*.*x|", 10, -1, 0xabu);
	SAME("%*s|%-*s|", 5, "ab", 5, "cd");
	SAME("%*.*s|", -8, 2, "xyz");
	SAME("%*c|", 4, 'q');
}

/* Strings: width, precision (never reads beyond it), left-justification. */
TEST(fmt_strings_match_libc)
{
	SAME("%s", "hello");
	SAME("[%10s]", "hello");
	SAME("[%-10s]", "hello");
	SAME("[%.2s]", "hello");
	SAME("[%.0s]", "hello");
	SAME("[%10.2s]", "hello");
	SAME("[%-10.7s]", "hello");
	SAME("[%3s]", "hello");
	SAME("%s,%s,%s", "a", "", "c");
	/* A precision shorter than the string stops the read inside it. */
	static const char unterminated[3] = { 'x', 'y', 'z' };
	CHECK_STR(F("%.2s|", unterminated), "xy|");
}

/*
 * C11 7.21.6.1p8: with a precision, %s needs no NUL within that many bytes.
 * Regression: put_string() used to test s[n] before n < precision, so
 * "%.3s" of a 3-byte unterminated array read a 4th byte (ASan global-
 * buffer-overflow).  Run in a child so such an abort stays contained.
 */
static void precision_bounds_read(void)
{
	static const char unterminated[3] = { 'x', 'y', 'z' };
	CHECK_STR(F("%.3s|", unterminated), "xyz|");
}

TEST(fmt_precision_bounds_string_read)
{
	CHECK(unit_run_isolated(precision_bounds_read));
}

/* A NULL string prints "(null)", also under a width. */
TEST(fmt_null_string)
{
	const char *volatile null = NULL;	/* hidden from -Wformat */
	CHECK_STR(F("%s", null), "(null)");
	CHECK_EQ(fmt_ret, 6);
	CHECK_STR(F("[%8s]", null), "[  (null)]");
	CHECK_STR(F("[%-8s]", null), "[(null)  ]");
}

/* %c: characters, width, and an embedded NUL that still counts. */
TEST(fmt_chars)
{
	SAME("%c", 'a');
	SAME("[%3c]", 'b');
	SAME("[%-3c]", 'c');
	SAME("%c%c%c", 'x', 'y', 'z');
	CHECK_STR(F("[%c]", 0x141), "[A]");	/* converted to unsigned char */

	char buf[8];
	memset(buf, '#', sizeof(buf));
	CHECK_EQ(fmt_snprintf(buf, sizeof(buf), "%c|%c", 0, 'x'), 3);
	CHECK(memcmp(buf, "\0|x\0", 4) == 0);
	CHECK_EQ(buf[4], '#');
}

/* %p prints 0x and lower-case hex digits of the pointer value. */
TEST(fmt_pointers)
{
	CHECK_STR(F("%p", (void *)0xdeadbeefull), "0xdeadbeef");
	CHECK_STR(F("%p", (void *)0xffff800000001000ull), "0xffff800000001000");
	CHECK_STR(F("[%14p]", (void *)0x1234), "[        0x1234]");
	CHECK_STR(F("[%-14p]", (void *)0x1234), "[0x1234        ]");
	SAME("%p", (void *)0x1234);
	SAME("%p %p", (void *)1, (void *)0x7fffffffffffull);
	/* NULL: fmt.c prints "0x0" (glibc prints "(nil)"; C leaves it open). */
	CHECK_STR(F("%p", (void *)0), "0x0");
}

/*
 * Truncation: for every buffer size the output is the prefix of the full
 * output, NUL-terminated at min(len, size-1), no byte at or beyond size is
 * written, and the return value is always the full length.
 */
TEST(fmt_truncation_every_size)
{
	const char *full = "id=-42 name=guest.elf addr=0x200000";
	int len = (int)strlen(full);

	for (size_t size = 0; size <= (size_t)len + 3; size++) {
		char buf[64];
		memset(buf, '#', sizeof(buf));
		int r = fmt_snprintf(buf, size, "id=%d name=%s addr=%#x", -42,
				     "guest.elf", 0x200000u);
		CHECK_EQ(r, len);
		if (size == 0) {
			CHECK_EQ(buf[0], '#');
			continue;
		}
		size_t keep = (size_t)len < size - 1 ? (size_t)len : size - 1;
		CHECK(memcmp(buf, full, keep) == 0);
		CHECK_EQ(buf[keep], 0);
		bool untouched = true;	/* nothing written at or past size */
		for (size_t i = size; i < sizeof(buf); i++)
			untouched &= buf[i] == '#';
		CHECK(untouched);
	}
}

/* Size 0 writes nothing (buf may be NULL) but still measures the output. */
TEST(fmt_size_zero_measures)
{
	CHECK_EQ(fmt_snprintf(NULL, 0, "%s-%d", "abc", 12345), 9);
	CHECK_EQ(fmt_snprintf(NULL, 0, "%s", ""), 0);
	CHECK_EQ(fmt_snprintf(NULL, 0, "%100d", 1), 100);
	char c = '#';
	CHECK_EQ(fmt_snprintf(&c, 0, "xyz"), 3);
	CHECK_EQ(c, '#');
	/* Size 1: only the terminator fits. */
	CHECK_EQ(fmt_snprintf(&c, 1, "xyz"), 3);
	CHECK_EQ(c, 0);
	/* Long padded output into a small buffer: measured, not written. */
	char small[4];
	CHECK_EQ(fmt_snprintf(small, sizeof(small), "%-300s|", "x"), 301);
	CHECK_STR(small, "x  ");
}

/* fmt_vsnprintf consumes a caller's va_list, one argument per conversion. */
static int through_va_list(char *buf, size_t size, const char *fmt, ...)
	__printf(3, 4);
static int through_va_list(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

TEST(fmt_vsnprintf_va_list)
{
	char buf[64];
	CHECK_EQ(through_va_list(buf, sizeof(buf), "%s=%llx/%c/%d", "cr3",
				 0x1000ull, 'k', -1),
		 13);
	CHECK_STR(buf, "cr3=1000/k/-1");
}

/*
 * Inputs C does not define (or glibc answers differently): fmt.c's own rules.
 * An unknown conversion is copied verbatim with its flags, width and length
 * modifier and consumes no argument (but a '*' width already did); a '%' at
 * the very end of the format is dropped without reading past the NUL.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
TEST(fmt_unknown_conversion_verbatim)
{
	CHECK_STR(F("%q"), "%q");
	CHECK_EQ(fmt_ret, 2);
	CHECK_STR(F("a%-08.3lqb"), "a%-08.3lqb");
	CHECK_STR(F("%q %d", 5), "%q 5");	/* %q took no argument */
	CHECK_STR(F("%*q %d", 3, 7), "%*q 7");	/* '*' took the 3 */
	CHECK_STR(F("%hhy%llw"), "%hhy%llw");
	CHECK_STR(F("%f", 1.0), "%f");		/* no floating point */
	CHECK_STR(F("100%"), "100");
	CHECK_EQ(fmt_ret, 3);
	CHECK_STR(F("x%-5"), "x");
	CHECK_STR(F("x%ll"), "x");
}

/*
 * C11 7.21.6.1p6: '#' with o "increases the precision, if and only if
 * necessary, to force the first digit of the result to be a zero".
 * Regression: fmt.c used to always prepend a "0" ("00" for 0, "0010" for
 * %#.3o of 8).
 */
TEST(fmt_alt_octal_adds_zero_only_if_needed)
{
	SAME("%#o", 0u);	/* "0" */
	SAME("%#.3o", 8u);	/* "010" */
	SAME("%#5o|", 0u);	/* "    0|" */
	SAME("%#.5o|", 0777u);	/* "00777|" */
}

/*
 * C11 7.21.6.1p6: '+' and ' ' apply to signed conversions only.
 * Regression: fmt.c used to print "+5" for %+u and " 5" for "% x".
 */
TEST(fmt_plus_space_ignored_for_unsigned)
{
	SAME("%+u", 5u);
	SAME("% u", 5u);
	SAME("%+x", 0xffu);
	SAME("% X", 0xffu);
	SAME("%+o", 8u);
	SAME("%+#x", 0xffu);
}

/*
 * %c of a NUL character is padded like any other character ("%3c" of 0 is
 * "  \0", 3 bytes).  Regression: fmt.c used to ignore the width for NUL.
 */
TEST(fmt_nul_char_is_padded)
{
	SAME("[%3c]", 0);
	SAME("[%-3c]", 0);
}
#pragma GCC diagnostic pop

/* --- randomized comparison against the host's vsnprintf ---------------- */

static u64 rng_state = 0x9e3779b97f4a7c15ull;
static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

enum argk { K_INT, K_UINT, K_LONG, K_ULONG, K_LL, K_ULL, K_SIZE, K_SSIZE,
	    K_STR, K_CHAR };

#define DISPATCH(T, v)                                                      \
	do {                                                                \
		if (nstar == 0)                                             \
			same_at(line, f, (T)(v));                           \
		else if (nstar == 1)                                        \
			same_at(line, f, s1, (T)(v));                       \
		else                                                        \
			same_at(line, f, s1, s2, (T)(v));                   \
	} while (0)

static void compare_one(int line, const char *f, int nstar, int s1, int s2,
			enum argk k, u64 v, const char *str)
{
	switch (k) {
	case K_INT: DISPATCH(int, v); break;
	case K_UINT: DISPATCH(unsigned int, v); break;
	case K_LONG: DISPATCH(long, v); break;
	case K_ULONG: DISPATCH(unsigned long, v); break;
	case K_LL: DISPATCH(long long, v); break;
	case K_ULL: DISPATCH(unsigned long long, v); break;
	case K_SIZE: DISPATCH(size_t, v); break;
	case K_SSIZE: DISPATCH(ssize_t, v); break;
	case K_STR: DISPATCH(const char *, str); break;
	case K_CHAR: DISPATCH(int, v); break;
	}
}

/*
 * 5000 random conversions (fixed seed) with random flags, widths,
 * precisions ('*' included, negative too), length modifiers and values of
 * every magnitude must match vsnprintf exactly.  Combinations C leaves
 * undefined ('#' with d/i/u/s/c, '0' or '+' with s/c) are not generated.
 */
TEST(fmt_random_matches_libc)
{
	static const char *const strs[] = { "", "a", "hello", "memvisor hv",
					    "0123456789abcdefghij" };
	static const char convs[] = "diuxXoscdiuxX";

	for (int iter = 0; iter < 5000; iter++) {
		char f[64];
		int p = 0, nstar = 0, s1 = 0, s2 = 0, *star[2] = { &s1, &s2 };
		char conv = convs[rnd() % (sizeof(convs) - 1)];
		bool is_signed = conv == 'd' || conv == 'i';
		bool is_int = conv != 's' && conv != 'c';
		const char *flags = is_signed ? "-0+ " :
				    is_int && conv != 'u' ? "-0+ #" :
				    is_int ? "-0+ " : "-";

		f[p++] = '%';
		for (const char *fl = flags; *fl; fl++)
			if (rnd() % 3 == 0)
				f[p++] = *fl;
		switch (rnd() % 4) {
		case 0: break;
		case 1: p += sprintf(f + p, "%d", 1 + (int)(rnd() % 25)); break;
		case 2: p += sprintf(f + p, "%d", 1 + (int)(rnd() % 4)); break;
		case 3:
			f[p++] = '*';
			*star[nstar++] = (int)(rnd() % 51) - 25;
			break;
		}
		if (conv != 'c') {
			switch (rnd() % 5) {
			case 0: case 1: break;
			case 2: f[p++] = '.'; break;
			case 3:
				p += sprintf(f + p, ".%d", (int)(rnd() % 22));
				break;
			case 4:
				f[p++] = '.';
				f[p++] = '*';
				*star[nstar++] = (int)(rnd() % 30) - 5;
				break;
			}
		}

		enum argk k = K_INT;
		if (is_int) {
			static const char *const lens[] = { "", "hh", "h", "l",
							    "ll", "z" };
			int li = (int)(rnd() % 6);
			p += sprintf(f + p, "%s", lens[li]);
			if (li <= 2)
				k = is_signed ? K_INT : K_UINT;
			else if (li == 3)
				k = is_signed ? K_LONG : K_ULONG;
			else if (li == 4)
				k = is_signed ? K_LL : K_ULL;
			else
				k = is_signed ? K_SSIZE : K_SIZE;
		} else {
			k = conv == 's' ? K_STR : K_CHAR;
		}
		f[p++] = conv;
		f[p++] = '|';
		f[p] = 0;

		u64 v = rnd() >> (rnd() % 64);
		if (rnd() % 8 == 0)
			v = rnd() % 3;		/* 0, 1, 2: edge digits */
		if (is_signed && rnd() % 2)
			v = -v;
		if (k == K_CHAR)
			v = 0x20 + rnd() % 0x5f;
		compare_one(__LINE__, f, nstar, s1, s2, k, v,
			    strs[rnd() % ARRAY_SIZE(strs)]);
	}
}
