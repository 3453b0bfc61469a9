/* unit_main.c - runs every TEST() linked into this binary, in file order. */
#include "unit.h"

int unit_failed_checks;
static struct unit_test *head, **tail = &head;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int main(void)
{
	int passed = 0, failed = 0;

	for (struct unit_test *t = head; t; t = t->next) {
		int before = unit_failed_checks;
		t->fn();
		int ok = unit_failed_checks == before;
		printf("%s: %s:%s\n", ok ? "PASS" : "FAIL", basename_of(t->file),
		       t->name);
		ok ? passed++ : failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
