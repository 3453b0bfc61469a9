/* unit_main.c - runs every TEST() linked into this binary, in file order. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

int unit_failed_checks;
static struct unit_test *head, **tail = &head;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

int unit_run_isolated(void (*fn)(void))
{
	int fds[2];

	if (pipe(fds) != 0)
		return 0;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		fflush(stdout);
		_exit(unit_failed_checks ? 3 : 0);
	}
	close(fds[1]);
	char log[16384];
	size_t got = 0;
	ssize_t r;
	while ((r = read(fds[0], log + got, sizeof(log) - 1 - got)) > 0)
		got += (size_t)r;
	close(fds[0]);
	log[got] = 0;
	int st;
	waitpid(pid, &st, 0);
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok)
		for (char *line = strtok(log, "\n"); line;
		     line = strtok(NULL, "\n"))
			if (strstr(line, "ERROR:") || strstr(line, "runtime error") ||
			    strstr(line, "    #0 ") || strstr(line, "    #1 "))
				printf("  child: %s\n", line);
	return ok;
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
