/*
 * unit.h - the smallest useful host test framework.
 *
 * A test file defines tests with TEST(name) { ... } and checks with CHECK()
 * and CHECK_EQ(); tests/unit_main.c runs every registered test and prints one
 * "PASS: file:test" or "FAIL: file:test" line per test (the format
 * scripts/test-all.sh counts), then "N passed, N failed".  A failing check
 * prints the expression and the values, and the test goes on so one run shows
 * every broken check.
 */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H

#include <stdio.h>
#include <stdint.h>
#include <string.h>

struct unit_test {
	const char *file;
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
extern int unit_failed_checks;

/*
 * Runs fn in a child process, so that a sanitizer abort (an out-of-bounds
 * read, say) fails the calling test instead of killing the whole run.
 * True if the child ran to the end with all its checks passing; otherwise
 * prints the sanitizer's headline from the child's stderr.
 */
int unit_run_isolated(void (*fn)(void));

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	static struct unit_test unit_##name = { __FILE__, #name, test_##name, \
						0 };                        \
	__attribute__((constructor)) static void unit_reg_##name(void)      \
	{                                                                   \
		unit_register(&unit_##name);                                \
	}                                                                   \
	static void test_##name(void)

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			printf("  %s:%d: CHECK(%s) failed\n", __FILE__,     \
			       __LINE__, #cond);                            \
			unit_failed_checks++;                               \
		}                                                           \
	} while (0)

#define CHECK_EQ(a, b)                                                      \
	do {                                                                \
		unsigned long long _a = (unsigned long long)(a);            \
		unsigned long long _b = (unsigned long long)(b);            \
		if (_a != _b) {                                             \
			printf("  %s:%d: CHECK_EQ(%s, %s) failed: 0x%llx != " \
			       "0x%llx\n",                                  \
			       __FILE__, __LINE__, #a, #b, _a, _b);         \
			unit_failed_checks++;                               \
		}                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *_a = (a), *_b = (b);                            \
		if (strcmp(_a, _b) != 0) {                                  \
			printf("  %s:%d: CHECK_STR(%s, %s) failed: \"%s\" != " \
			       "\"%s\"\n",                                  \
			       __FILE__, __LINE__, #a, #b, _a, _b);         \
			unit_failed_checks++;                               \
		}                                                           \
	} while (0)

#endif
