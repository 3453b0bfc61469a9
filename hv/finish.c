/*
 * finish.c - the end of every run, good or bad.
 *
 * The result line is the contract with the test scripts: it is printed once,
 * it is the last thing on the console (the console is sealed after it), and
 * the emulator's exit status carries the same verdict.
 */
#include "finish.h"
#include "console.h"
#include "fmt.h"
#include "../arch/x86/platform.h"
#include "../arch/x86/trap.h"

/*
 * Codes written to QEMU's isa-debug-exit (QEMU exits with (code << 1) | 1).
 * Not 0 and 1: QEMU's own exit statuses 0 (reset, power-off) and 1 (an
 * error) must never be mistaken for a verdict, so the hypervisor's codes map
 * to the statuses 33 and 35, which nothing else produces.
 */
#define RESULT_PASS 0x10
#define RESULT_FAIL 0x11

static void __noreturn finish(bool pass, const char *reason)
{
	static bool finishing;

	if (finishing)		/* a fault while finishing: just stop */
		platform_exit(RESULT_FAIL);
	finishing = true;
	if (pass)
		kprintf("HV RESULT: PASS\n");
	else
		kprintf("HV RESULT: FAIL %s\n", reason);
	console_seal();
	platform_exit(pass ? RESULT_PASS : RESULT_FAIL);
}

void hv_pass(void)
{
	finish(true, "");
}

void hv_fail(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	finish(false, reason);
}

void panic(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	hv_log("panic: %s", reason);
	backtrace_print(0, (u64)__builtin_frame_address(0));
	finish(false, reason);
}
