/*
 * test_regex.c - hv/regex.c through regex_compile() and regex_match():
 * the dialect of regex.h, every refusal with its reason, and the bound on
 * matching time (patterns that backtrack exponentially elsewhere).
 */
#include "../hv/regex.h"
#include "unit.h"

#include <time.h>

static struct regex re;
static const char *why;

static int compile(const char *pat)
{
	why = "<none>";
	return regex_compile(&re, pat, strlen(pat), &why);
}

/* pat compiles, and matches line or not. */
static bool m(const char *pat, const char *line)
{
	if (compile(pat) < 0) {
		printf("  '%s' refused: %s\n", pat, why);
		return false;
	}
	return regex_match(&re, line, strlen(line));
}

TEST(regex_literals_search_anywhere)
{
	CHECK(m("Errors: 0", "Using: Core #0 | Pass:  0        Errors: 0"));
	CHECK(m("abc", "abc"));
	CHECK(m("abc", "xxabcxx"));
	CHECK(!m("abc", "ab"));
	CHECK(!m("abc", "abxc"));
	CHECK(!m("abc", ""));
	CHECK(m("a b", "x a b y"));
	CHECK(m("Abc", "Abc") && !m("Abc", "abc"));	/* case matters */
	CHECK_STR(re.src, "Abc");
}

TEST(regex_any_and_classes)
{
	CHECK(m("a.c", "abc") && m("a.c", "a-c") && !m("a.c", "ac"));
	CHECK(m("[abc]x", "bx") && !m("[abc]x", "dx"));
	CHECK(m("#[0-9]", "test #7") && !m("#[0-9]", "test #x"));
	CHECK(m("[a-cx-z]", "y") && !m("[a-cx-z]", "m"));
	CHECK(m("[^0-9]", "12a") && !m("[^0-9]", "123"));
	CHECK(m("[]a]", "]") && m("[]a]", "a"));	/* ']' first: literal */
	CHECK(m("[a-]", "-") && m("[-a]", "-") && !m("[a-]", "b"));
	CHECK(m("[\\]]", "]") && m("[\\-x]", "-"));
	CHECK(m("[.]", ".") && !m("[.]", "a"));	/* '.' in a class: itself */
	CHECK(m("Errors: [1-9]", "Errors: 3") && !m("Errors: [1-9]", "Errors: 0"));
}

TEST(regex_escapes)
{
	CHECK(m("\\[Address", "#0  [Address test"));
	CHECK(m("a\\.b", "a.b") && !m("a\\.b", "axb"));
	CHECK(m("\\\\", "back\\slash"));
	CHECK(m("\\*", "*") && !m("\\*", "a"));
	CHECK(m("\\d\\d", "x42") && !m("\\d\\d", "x4y"));
	CHECK(m("a\\sb", "a b") && m("a\\sb", "a\tb") && !m("a\\sb", "a_b"));
	CHECK(m("^\\w+$", "ab_9") && !m("^\\w+$", "ab-9"));
	CHECK(m("\\^\\$", "^$"));
}

TEST(regex_repetition)
{
	CHECK(m("ab*c", "ac") && m("ab*c", "abbbc") && !m("ab*c", "adc"));
	CHECK(m("ab+c", "abc") && m("ab+c", "abbbc") && !m("ab+c", "ac"));
	CHECK(m("ab?c", "ac") && m("ab?c", "abc") && !m("ab?c", "abbc"));
	CHECK(m("^a*$", "") && m("^a*$", "aaa") && !m("^a*$", "aab"));
	CHECK(m("Pass: +[1-9]", "Pass:  1") && !m("Pass: +[1-9]", "Pass:  0"));
	CHECK(m("x.*y", "x and then y") && !m("x.*y", "y then x"));
	CHECK(m("[0-9]+%", "  25% ####"));
}

TEST(regex_anchors)
{
	CHECK(m("^abc", "abcd") && !m("^abc", "xabc"));
	CHECK(m("abc$", "xabc") && !m("abc$", "abcx"));
	CHECK(m("^abc$", "abc") && !m("^abc$", "abc "));
	CHECK(m("^$", "") && !m("^$", "a"));
	CHECK(m("^", "anything") && m("$", ""));
	CHECK(m("^GUEST RESULT: PASS$", "GUEST RESULT: PASS"));
}

TEST(regex_alternation)
{
	CHECK(m("cat|dog", "a dog") && m("cat|dog", "cat") &&
	      !m("cat|dog", "cow"));
	CHECK(m("^a$|^b$", "b") && !m("^a$|^b$", "ab"));
	CHECK(m("x|^y", "zx") && !m("x|^y", "zy"));
	CHECK(m("a|b|c|d|e|f|g|h", "h"));
}

/* Every refusal, with the reason the config line will print. */
TEST(regex_refused)
{
	static const struct { const char *pat, *why; } bad[] = {
		{ "", "empty pattern" },
		{ "[abc", "unclosed [" },
		{ "[", "unclosed [" },
		{ "[]", "unclosed [" },
		{ "[a\\", "unclosed [" },
		{ "[z-a]", "bad range in [...]: its end is below its start" },
		{ "*a", "'*', '+' or '?' with nothing to repeat" },
		{ "a**", "'*', '+' or '?' with nothing to repeat" },
		{ "a+?", "'*', '+' or '?' with nothing to repeat" },
		{ "^*", "'*', '+' or '?' with nothing to repeat" },
		{ "a|+", "'*', '+' or '?' with nothing to repeat" },
		{ "a^b", "'^' not at the start of an alternative (write \\^ "
			 "for the byte)" },
		{ "^^a", "'^' not at the start of an alternative (write \\^ "
			 "for the byte)" },
		{ "a$b", "'$' not at the end of an alternative (write \\$ for "
			 "the byte)" },
		{ "a$$", "'$' not at the end of an alternative (write \\$ for "
			 "the byte)" },
		{ "a|", "empty alternative" },
		{ "|a", "empty alternative" },
		{ "a||b", "empty alternative" },
		{ "(a*)*b", "groups ( ) are not supported" },
		{ "a)", "groups ( ) are not supported" },
		{ "a{3}", "counted repetition { } is not supported" },
		{ "a\\", "a '\\' at the end" },
		{ "\\q", "unknown escape (known: \\d \\s \\w, or \\ before a "
			 "punctuation byte)" },
		{ "a|b|c|d|e|f|g|h|i", "more than 8 alternatives" },
		{ "[a][b][c][d][e][f][g][h][i]",
		  "more than 8 classes ([...], \\d, \\s, \\w)" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = compile(bad[i].pat);
		if (r != -1 || strcmp(why, bad[i].why))
			printf("  pattern '%s'\n", bad[i].pat);
		CHECK_EQ(r, -1);
		CHECK_STR(why, bad[i].why);
	}
	char big[200];
	memset(big, 'a', sizeof(big));
	CHECK_EQ(regex_compile(&re, big, 127, &why), -1);	/* 127 atoms */
	CHECK_STR(why, "more than 63 atoms");
	CHECK_EQ(regex_compile(&re, big, 63, &why), 0);
	CHECK_EQ(regex_compile(&re, big, 128, &why), -1);
	CHECK_STR(why, "longer than 127 bytes");
	/* x+ takes two atoms: 32 of them are 64. */
	char plus[65];
	for (int i = 0; i < 64; i += 2)
		plus[i] = 'a', plus[i + 1] = '+';
	CHECK_EQ(regex_compile(&re, plus, 62, &why), 0);
	CHECK_EQ(regex_compile(&re, plus, 64, &why), -1);
	CHECK_STR(why, "more than 63 atoms");
}

/* 63 atoms use the top bit of the state set: still right. */
TEST(regex_longest_pattern)
{
	char pat[64], line[80];
	memset(pat, 'b', 63);
	pat[62] = 'c';
	memset(line, 'b', sizeof(line));
	CHECK_EQ(regex_compile(&re, pat, 63, &why), 0);
	CHECK(!regex_match(&re, line, sizeof(line)));
	line[70] = 'c';
	CHECK(regex_match(&re, line, sizeof(line)));
	line[69] = 'x';
	CHECK(!regex_match(&re, line, sizeof(line)));
}

/*
 * Hostile lines: a backtracking matcher takes exponential (or high
 * polynomial) time on these; the NFA takes line x atoms steps.  10^4
 * matches of each must end within seconds even under the sanitizers.
 */
TEST(regex_bounded_time)
{
	char line[256];
	memset(line, 'a', sizeof(line));
	clock_t t0 = clock();
	static const char *const pats[] = {
		"a*a*a*a*a*b", "^a*a*a*a*a*a*a*a*a*a*b$|a*a*a*a*a*a*a*a*c",
		".*.*.*.*.*.*.*.*.*.*.*.*b", "a?a?a?a?a?a?a?a?a?a?a?a?aaaaaaaaaaaab",
		"(a*)*b",
	};
	for (unsigned p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
		if (compile(pats[p]) < 0) {	/* groups: refused, fine */
			CHECK_STR(why, "groups ( ) are not supported");
			continue;
		}
		for (int i = 0; i < 10000; i++)
			CHECK(!regex_match(&re, line, sizeof(line)));
	}
	CHECK(m("a*a*a*a*a*b", "aaaaab"));
	double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (s >= 10)
		printf("  %.1f s for 40000 hostile matches\n", s);
	CHECK(s < 10);
}
