/*
 * elf_check.c - every check a loader makes before it copies hv.elf's
 * segments to their physical addresses.
 *
 * A loader that trusts a corrupt header writes over firmware memory or jumps
 * into garbage; both end in a triple fault with nothing printed.  So every
 * field used later is checked here, with arithmetic that cannot overflow,
 * and the first problem found is reported in one line.
 */
#include "elf_check.h"
#include "elf.h"
#include "memmap.h"
#include "../hv/fmt.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__printf(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* True if [off, off+len) lies inside a buffer of the given size. */
static bool in_file(u64 off, u64 len, u64 size)
{
	return off <= size && len <= size - off;
}

int elf_check_hv(const void *image, u64 size, const struct boot_mem_range *map,
		 int nmap, struct elf_plan *plan, char *err, size_t errlen)
{
	const struct elf64_ehdr *eh = image;
	const u8 *id = eh->e_ident;

	plan->count = 0;
	if (size < sizeof(*eh))
		return fail(err, errlen, "file too small (%llu bytes)",
			    (unsigned long long)size);
	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return fail(err, errlen,
			    "bad ELF magic %02x %02x %02x %02x (want 7f 45 4c 46)",
			    id[0], id[1], id[2], id[3]);
	if (id[4] != ELFCLASS64)
		return fail(err, errlen, "ELF class %u, want 2 (64-bit)", id[4]);
	if (id[5] != ELFDATA2LSB)
		return fail(err, errlen, "ELF data encoding %u, want 1 (LSB)",
			    id[5]);
	if (eh->e_type != ET_EXEC)
		return fail(err, errlen, "ELF type %u, want 2 (executable)",
			    eh->e_type);
	if (eh->e_machine != EM_X86_64)
		return fail(err, errlen, "ELF machine %u, want 62 (x86-64)",
			    eh->e_machine);
	if (eh->e_phentsize != sizeof(struct elf64_phdr))
		return fail(err, errlen, "program header size %u, want %u",
			    eh->e_phentsize,
			    (unsigned)sizeof(struct elf64_phdr));
	if (eh->e_phoff % 8)
		return fail(err, errlen,
			    "program headers at offset 0x%llx are not 8-byte "
			    "aligned",
			    (unsigned long long)eh->e_phoff);
	if (!in_file(eh->e_phoff, (u64)eh->e_phnum * sizeof(struct elf64_phdr),
		     size))
		return fail(err, errlen,
			    "program headers (offset 0x%llx, %u entries) "
			    "beyond end of file",
			    (unsigned long long)eh->e_phoff, eh->e_phnum);

	const struct elf64_phdr *ph =
		(const void *)((const u8 *)image + eh->e_phoff);
	bool entry_ok = false;

	plan->lo = ~0ull;
	plan->hi = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *p = &ph[i];
		u64 end = p->p_paddr + p->p_memsz;

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (plan->count == ELF_MAX_SEGMENTS)
			return fail(err, errlen, "more than %d PT_LOAD segments",
				    ELF_MAX_SEGMENTS);
		if (p->p_filesz > p->p_memsz)
			return fail(err, errlen,
				    "segment %d: file size 0x%llx > memory size "
				    "0x%llx",
				    i, (unsigned long long)p->p_filesz,
				    (unsigned long long)p->p_memsz);
		if (!in_file(p->p_offset, p->p_filesz, size))
			return fail(err, errlen,
				    "segment %d: bytes 0x%llx+0x%llx beyond end "
				    "of file (%llu bytes)",
				    i, (unsigned long long)p->p_offset,
				    (unsigned long long)p->p_filesz,
				    (unsigned long long)size);
		if (end < p->p_paddr || p->p_paddr % PAGE_SIZE ||
		    ALIGN_UP(p->p_memsz, PAGE_SIZE) < p->p_memsz)
			return fail(err, errlen,
				    "segment %d: bad physical address 0x%llx "
				    "(size 0x%llx)",
				    i, (unsigned long long)p->p_paddr,
				    (unsigned long long)p->p_memsz);
		if (p->p_vaddr != p->p_paddr)
			return fail(err, errlen,
				    "segment %d: virtual 0x%llx != physical "
				    "0x%llx (hv.elf must be identity-linked)",
				    i, (unsigned long long)p->p_vaddr,
				    (unsigned long long)p->p_paddr);
		if (!memmap_contains(map, nmap, p->p_paddr,
				     ALIGN_UP(p->p_memsz, PAGE_SIZE),
				     BOOT_MEM_USABLE))
			return fail(err, errlen,
				    "segment %d: 0x%llx-0x%llx is not inside "
				    "usable RAM",
				    i, (unsigned long long)p->p_paddr,
				    (unsigned long long)end);
		for (int j = 0; j < plan->count; j++) {
			const struct elf_segment *q = &plan->seg[j];
			if (p->p_paddr < q->paddr + q->memsz &&
			    q->paddr < end)
				return fail(err, errlen,
					    "segment %d (0x%llx-0x%llx) overlaps "
					    "segment at 0x%llx-0x%llx",
					    i, (unsigned long long)p->p_paddr,
					    (unsigned long long)end,
					    (unsigned long long)q->paddr,
					    (unsigned long long)(q->paddr +
								 q->memsz));
		}
		if ((p->p_flags & PF_X) && eh->e_entry >= p->p_paddr &&
		    eh->e_entry < end)
			entry_ok = true;
		plan->seg[plan->count++] = (struct elf_segment){
			.paddr = p->p_paddr, .memsz = p->p_memsz,
			.filesz = p->p_filesz, .offset = p->p_offset,
			.flags = p->p_flags,
		};
		plan->lo = MIN(plan->lo, p->p_paddr);
		plan->hi = MAX(plan->hi, end);
	}
	if (plan->count == 0)
		return fail(err, errlen, "no PT_LOAD segments");
	if (!entry_ok)
		return fail(err, errlen,
			    "entry point 0x%llx is not in an executable segment",
			    (unsigned long long)eh->e_entry);
	plan->entry = eh->e_entry;
	return 0;
}
