/*
 * fake_vmmem.c - a host stand-in for hv/vmmem.c's vm_write_phys(), for
 * tests that run code which populates guest memory (tests/test_guest_load.c).
 *
 * Guest RAM is a host byte array of vm->mem_bytes bytes, with a parallel
 * array recording which bytes were ever written and a per-page flag
 * recording which pages were populated.  Like the real one, a write that
 * is not entirely inside RAM fails with -1 and writes nothing; a page
 * budget simulates running out of frames (also all-or-nothing here, so a
 * failed write never leaves part of itself behind).  Every call is logged.
 *
 * The test sets things up with fake_vmmem_reset() and reads the fake_*
 * variables directly; they are declared again in the test.
 */
#include <stdlib.h>
#include <string.h>

#include "../hv/vmmem.h"

u8 *fake_ram;		/* vm->mem_bytes bytes of guest RAM */
u8 *fake_written;	/* 1 where a byte was written */
u8 *fake_populated;	/* 1 per populated page */
u64 fake_ram_bytes;
u64 fake_pages_populated;
u64 fake_page_budget;	/* populations allowed; ~0: unlimited */
u64 fake_write_calls, fake_write_failures;

struct fake_write {
	u64 gpa, len;
	int result;
};
struct fake_write fake_log[64];
u64 fake_nlog;

void fake_vmmem_reset(u64 mem_bytes, u64 page_budget);

void fake_vmmem_reset(u64 mem_bytes, u64 page_budget)
{
	free(fake_ram);
	free(fake_written);
	free(fake_populated);
	fake_ram = calloc(mem_bytes + 1, 1);
	fake_written = calloc(mem_bytes + 1, 1);
	fake_populated = calloc(mem_bytes / PAGE_SIZE + 1, 1);
	fake_ram_bytes = mem_bytes;
	fake_pages_populated = 0;
	fake_page_budget = page_budget;
	fake_write_calls = fake_write_failures = 0;
	fake_nlog = 0;
}

static int logged(u64 gpa, u64 len, int result)
{
	if (fake_nlog < sizeof(fake_log) / sizeof(fake_log[0]))
		fake_log[fake_nlog++] = (struct fake_write){ gpa, len, result };
	if (result < 0)
		fake_write_failures++;
	return result;
}

int vm_write_phys(struct vm *vm, u64 gpa, const void *src, u64 len)
{
	fake_write_calls++;
	if (vm->mem_bytes != fake_ram_bytes)
		abort();	/* the test forgot fake_vmmem_reset() */
	if (!vm_in_ram(vm, gpa, len))
		return logged(gpa, len, -1);
	if (!len)
		return logged(gpa, len, 0);
	u64 first = gpa / PAGE_SIZE, last = (gpa + len - 1) / PAGE_SIZE;
	u64 fresh = 0;
	for (u64 p = first; p <= last; p++)
		fresh += !fake_populated[p];
	if (fake_page_budget != ~0ull &&
	    fake_pages_populated + fresh > fake_page_budget)
		return logged(gpa, len, -1);
	for (u64 p = first; p <= last; p++)
		fake_populated[p] = 1;
	fake_pages_populated += fresh;
	memcpy(fake_ram + gpa, src, len);
	memset(fake_written + gpa, 1, len);
	return logged(gpa, len, 0);
}
