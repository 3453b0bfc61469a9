/*
 * string.c - memory and string primitives for the freestanding hypervisor.
 * gcc may emit calls to memcpy/memset/memmove/memcmp for struct copies even
 * with -ffreestanding, so these must exist.  Guest pages are zeroed and
 * copied 4 KiB at a time on every population, so the bulk of each runs as
 * one string instruction over quadwords (REP STOSQ/MOVSQ: a few hundred
 * cycles per page instead of a 4096-iteration byte loop), and memcmp
 * compares eight bytes per step.  The direction flag is clear (SysV ABI).
 */
#include "string.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsq\n\t"
			 "mov %3, %%rcx\n\t"
			 "rep movsb"
			 : "+D"(d), "+S"(src), "=&c"(n)
			 : "r"(n & 7), "2"(n >> 3)
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards, bytes. */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	u64 pattern = 0x0101010101010101ull * (u8)c;

	__asm__ volatile("rep stosq\n\t"
			 "mov %3, %%rcx\n\t"
			 "rep stosb"
			 : "+D"(d), "=&c"(n)
			 : "a"(pattern), "r"(n & 7), "1"(n >> 3)
			 : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n >= 8; n -= 8, x += 8, y += 8) {
		u64 p, q;
		__builtin_memcpy(&p, x, 8);
		__builtin_memcpy(&q, y, 8);
		if (p != q)
			break;	/* the bytes below say which is smaller */
	}
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			return 0;
	}
	return 0;
}
