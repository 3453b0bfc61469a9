/*
 * test_guest_format.c - the guest's printf engine (guest/format.c).
 */
#include "format.h"
#include "unit.h"

static char buf[128];

#define FMT(...) (fmt_snprintf(buf, sizeof(buf), __VA_ARGS__), buf)

TEST(format_integers)
{
	CHECK_STR(FMT("%d %i %u", -42, 7, 4000000000u), "-42 7 4000000000");
	CHECK_STR(FMT("%x %X", 0xbeefu, 0xbeefu), "beef BEEF");
	CHECK_STR(FMT("%lx", 0xffff800000000000ul), "ffff800000000000");
	CHECK_STR(FMT("%llu", 18446744073709551615ull),
		  "18446744073709551615");
	CHECK_STR(FMT("%ld", (long)(-9223372036854775807L - 1)),
		  "-9223372036854775808");
	CHECK_STR(FMT("%zu", (size_t)12), "12");
	CHECK_STR(FMT("%d", 0), "0");
}

TEST(format_width_and_flags)
{
	CHECK_STR(FMT("[%5d]", 42), "[   42]");
	CHECK_STR(FMT("[%-5d]", 42), "[42   ]");
	CHECK_STR(FMT("[%05d]", -42), "[-0042]");
	CHECK_STR(FMT("[%016lx]", 0x1000ul), "[0000000000001000]");
	CHECK_STR(FMT("[%*d]", 4, 7), "[   7]");
	CHECK_STR(FMT("[%-6s]", "ab"), "[ab    ]");
	CHECK_STR(FMT("[%3u]", 12345u), "[12345]");
}

TEST(format_strings_and_chars)
{
	CHECK_STR(FMT("%s=%c", "key", 'v'), "key=v");
	CHECK_STR(FMT("%.3s|%.*s", "abcdef", 2, "xyz"), "abc|xy");
	const char *volatile none = 0; /* hidden from the compiler's checks */
	CHECK_STR(FMT("%s", none), "(null)");
	CHECK_STR(FMT("100%%"), "100%");
	CHECK_STR(FMT("%p", (void *)0x1234), "0x0000000000001234");
}

TEST(format_truncates_and_counts)
{
	char small[6];
	CHECK_EQ(fmt_snprintf(small, sizeof(small), "%s", "abcdefgh"), 8);
	CHECK_STR(small, "abcde");
	CHECK_EQ(fmt_snprintf(small, 0, "xyz"), 3);
}
