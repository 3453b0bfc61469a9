/*
 * guest_load.c - Multiboot v1 loading (Multiboot Specification 0.6.96).
 *
 * The image must carry a multiboot header: a 4-byte aligned magic
 * 0x1BADB002 within its first 8 KiB, then flags and a checksum that makes
 * the three sum to 0.  With flags bit 16 (the "a.out kludge") the header's
 * own address fields say what to load where; otherwise the image must be
 * ELF (32- or 64-bit) and its PT_LOAD segments are loaded at p_paddr.  As
 * in QEMU, only "page-align modules" (bit 0) and "memory info" (bit 1) are
 * accepted among the required-feature bits.
 *
 * Guest-physical layout this loader produces:
 *
 *   0x0000_0000  RAM ........................ (usable)
 *   0x0000_7000  multiboot info, memory map, command line (one page)
 *   0x000a_0000  legacy hole, reported reserved (still RAM to the p2m)
 *   0x0010_0000  the image, usually (wherever its headers say)
 *   mem          end of RAM
 *
 * Pages the loader writes are populated here (counted as "loaded"); they
 * are not mapped in the SLAT until the guest first touches them, so every
 * first touch of every page shows up as one SLAT violation.  bss and all
 * other RAM stay unpopulated: demand-zero.
 */
#include "guest_load.h"
#include "load.h"
#include "fmt.h"
#include "string.h"
#include "vmmem.h"
#include "../boot/elf.h"

#define MB_HEADER_MAGIC 0x1badb002
#define MB_BOOT_MAGIC 0x2badb002	/* EAX at entry */
#define MB_SEARCH_LIMIT 8192
#define MB_HEADER_BASIC 12	/* magic, flags, checksum */
#define MB_FLAG_PAGE_ALIGN (1u << 0)
#define MB_FLAG_MEMORY_INFO (1u << 1)
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_REQUIRED_MASK 0xffffu

/* struct multiboot_info flags (spec 3.3). */
#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MMAP (1u << 6)

#define MBI_GPA 0x7000ull
/* Multiboot leaves the selectors undefined (spec 3.2) and GDTR unusable
 * until the OS loads its own; these are the ones QEMU's loader uses. */
#define MB_CODE_SEL 0x08
#define MB_DATA_SEL 0x10

struct mb_header {
	u32 magic, flags, checksum;
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
} __packed;

struct mb_mmap_entry {
	u32 size;	/* of the rest of the entry: 20 */
	u64 base_addr, length;
	u32 type;
} __packed;

struct elf32_ehdr {
	u8 e_ident[16];
	u16 e_type, e_machine;
	u32 e_version, e_entry, e_phoff, e_shoff, e_flags;
	u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
	u32 p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags,
		p_align;
};

int load_fail(struct load_ctx *c, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fmt_snprintf(c->err, c->errlen, "%s: %s", c->name, why);
	return -1;
}

int load_bytes(struct load_ctx *c, u64 gpa, u64 off, u64 filesz, u64 memsz,
	       u64 low_start, u64 low_end, const char *low_what)
{
	if (filesz > memsz)
		return load_fail(c, "segment at 0x%llx: file size 0x%llx > "
				 "memory size 0x%llx", (unsigned long long)gpa,
				 (unsigned long long)filesz,
				 (unsigned long long)memsz);
	if (off > c->size || filesz > c->size - off)
		return load_fail(c, "segment at 0x%llx: bytes 0x%llx+0x%llx "
				 "beyond end of file", (unsigned long long)gpa,
				 (unsigned long long)off,
				 (unsigned long long)filesz);
	if (gpa + memsz < gpa || gpa + memsz > c->vm->mem_bytes)
		return load_fail(c, "segment 0x%llx-0x%llx does not fit in "
				 "%llu MiB of guest RAM",
				 (unsigned long long)gpa,
				 (unsigned long long)(gpa + memsz),
				 (unsigned long long)(c->vm->mem_bytes / MiB));
	if (gpa < low_end && gpa + memsz > low_start)
		return load_fail(c, "segment 0x%llx-0x%llx overlaps the %s at "
				 "0x%llx", (unsigned long long)gpa,
				 (unsigned long long)(gpa + memsz), low_what,
				 (unsigned long long)low_start);
	if (vm_write_phys(c->vm, gpa, c->image + off, filesz) < 0)
		return load_fail(c, "out of memory loading 0x%llx bytes at "
				 "0x%llx", (unsigned long long)filesz,
				 (unsigned long long)gpa);
	return 0;
}

int guest_memory_map(u64 mem, struct guest_range *map)
{
	int n = 0;

	map[n++] = (struct guest_range){ 0, MIN(mem, LEGACY_HOLE_START),
					 E820_RAM };
	if (mem > LEGACY_HOLE_START)
		map[n++] = (struct guest_range){
			LEGACY_HOLE_START, LEGACY_HOLE_END - LEGACY_HOLE_START,
			E820_RESERVED };
	if (mem > LEGACY_HOLE_END)
		map[n++] = (struct guest_range){
			LEGACY_HOLE_END, mem - LEGACY_HOLE_END, E820_RAM };
	return n;
}

static int load_segment(struct load_ctx *c, u64 gpa, u64 off, u64 filesz,
			u64 memsz)
{
	return load_bytes(c, gpa, off, filesz, memsz, MBI_GPA,
			  MBI_GPA + PAGE_SIZE, "multiboot info page");
}

static int load_aout_kludge(struct load_ctx *c, const struct mb_header *h,
			    u64 header_off, u64 *entry)
{
	/* header_addr corresponds to header_off in the file (spec 3.1.5). */
	if (h->load_addr > h->header_addr ||
	    h->header_addr - h->load_addr > header_off)
		return load_fail(c, "a.out kludge: load_addr 0x%x / header_addr "
			    "0x%x inconsistent", h->load_addr, h->header_addr);
	u64 off = header_off - (h->header_addr - h->load_addr);
	u64 end = h->load_end_addr ? h->load_end_addr
				   : h->load_addr + (c->size - off);
	u64 bss_end = h->bss_end_addr ? h->bss_end_addr : end;
	if (end < h->load_addr || bss_end < end)
		return load_fail(c, "a.out kludge: bad load_end 0x%llx / bss_end "
			    "0x%llx", (unsigned long long)end,
			    (unsigned long long)bss_end);
	*entry = h->entry_addr;
	return load_segment(c, h->load_addr, off, end - h->load_addr,
			    bss_end - h->load_addr);
}

/* Program header i of either ELF class, widened to the 64-bit layout. */
static struct elf64_phdr read_phdr(const struct load_ctx *c, bool is64,
				   u64 phoff, int i)
{
	struct elf64_phdr p;

	if (is64) {
		memcpy(&p, c->image + phoff + i * sizeof(p), sizeof(p));
	} else {
		struct elf32_phdr q;
		memcpy(&q, c->image + phoff + i * sizeof(q), sizeof(q));
		p = (struct elf64_phdr){ .p_type = q.p_type,
					 .p_offset = q.p_offset,
					 .p_paddr = q.p_paddr,
					 .p_filesz = q.p_filesz,
					 .p_memsz = q.p_memsz };
	}
	return p;
}

static int load_elf(struct load_ctx *c, u64 *entry)
{
	const struct elf32_ehdr *e32 = (const void *)c->image;
	const struct elf64_ehdr *e64 = (const void *)c->image;
	u64 phoff, phentsize;
	int phnum, loaded = 0;
	bool is64;

	if (c->size < sizeof(*e64) || memcmp(c->image, ELFMAG, 4))
		return load_fail(c, "neither ELF nor an a.out-kludge multiboot "
			    "header (flags bit 16)");
	if (c->image[4] == ELFCLASS32) {
		if (e32->e_machine != EM_386 || e32->e_phentsize !=
			    sizeof(struct elf32_phdr))
			return load_fail(c, "ELF32 machine %u / phentsize %u: not "
				    "an i386 executable", e32->e_machine,
				    e32->e_phentsize);
		is64 = false;
		phoff = e32->e_phoff;
		phnum = e32->e_phnum;
		phentsize = sizeof(struct elf32_phdr);
		*entry = e32->e_entry;
	} else if (c->image[4] == ELFCLASS64) {
		if (e64->e_machine != EM_X86_64 || e64->e_phentsize !=
			    sizeof(struct elf64_phdr))
			return load_fail(c, "ELF64 machine %u / phentsize %u: not "
				    "an x86-64 executable", e64->e_machine,
				    e64->e_phentsize);
		is64 = true;
		phoff = e64->e_phoff;
		phnum = e64->e_phnum;
		phentsize = sizeof(struct elf64_phdr);
		*entry = e64->e_entry;
	} else {
		return load_fail(c, "ELF class %u is neither 32- nor 64-bit",
			    c->image[4]);
	}
	if (phoff > c->size || (u64)phnum * phentsize > c->size - phoff)
		return load_fail(c, "program headers beyond end of file");

	for (int i = 0; i < phnum; i++) {
		struct elf64_phdr p = read_phdr(c, is64, phoff, i);
		if (p.p_type != PT_LOAD || !p.p_memsz)
			continue;
		if (load_segment(c, p.p_paddr, p.p_offset, p.p_filesz,
				 p.p_memsz) < 0)
			return -1;
		loaded++;
	}
	if (!loaded)
		return load_fail(c, "no PT_LOAD segments");
	return 0;
}

/* The multiboot info page: struct, memory map, command line. */
static int write_boot_info(struct load_ctx *c, const char *cmdline)
{
	struct {
		struct mb_info info;
		struct mb_mmap_entry mmap[GUEST_MAP_MAX];
		char cmdline[PAGE_SIZE - sizeof(struct mb_info) -
			     GUEST_MAP_MAX * sizeof(struct mb_mmap_entry)];
	} __packed page;
	u64 mem = c->vm->mem_bytes;
	struct guest_range map[GUEST_MAP_MAX];
	int n = guest_memory_map(mem, map);

	memset(&page, 0, sizeof(page));
	for (int i = 0; i < n; i++)
		page.mmap[i] = (struct mb_mmap_entry){
			sizeof(page.mmap[i]) - sizeof(page.mmap[i].size),
			map[i].base, map[i].length, map[i].type };

	/* Like QEMU: the first word is the image's name, then the args. */
	int len = fmt_snprintf(page.cmdline, sizeof(page.cmdline), "%s%s%s",
			       c->name, cmdline[0] ? " " : "", cmdline);
	if (len >= (int)sizeof(page.cmdline))
		return load_fail(c, "guest command line longer than %u bytes",
			    (unsigned)sizeof(page.cmdline) - 1);

	page.info.flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP;
	page.info.mem_lower = MIN(mem, LEGACY_HOLE_START) / KiB;
	page.info.mem_upper = mem > LEGACY_HOLE_END
				      ? (u32)((mem - LEGACY_HOLE_END) / KiB)
				      : 0;
	page.info.cmdline = (u32)(MBI_GPA + offsetof(typeof(page), cmdline));
	page.info.mmap_addr = (u32)(MBI_GPA + offsetof(typeof(page), mmap));
	page.info.mmap_length = n * sizeof(struct mb_mmap_entry);
	if (vm_write_phys(c->vm, MBI_GPA, &page,
			  offsetof(typeof(page), cmdline) + len + 1) < 0)
		return load_fail(c, "out of memory writing the multiboot info");
	return 0;
}

int guest_load(struct vm *vm, const void *image, u64 size, const char *name,
	       const char *cmdline, char *err, size_t errlen)
{
	struct load_ctx c = { vm, image, size, name, err, errlen };
	const struct mb_header *h = NULL;
	u64 header_off = 0, entry = 0;

	/* The 12 bytes of magic, flags and checksum must lie in the first
	 * 8 KiB (spec 3.1.1); the a.out-kludge fields that follow only have
	 * to be in the file. */
	for (u64 off = 0; off + MB_HEADER_BASIC <= MIN(size, MB_SEARCH_LIMIT);
	     off += 4) {
		const struct mb_header *cand = (const void *)(c.image + off);
		if (cand->magic == MB_HEADER_MAGIC &&
		    cand->magic + cand->flags + cand->checksum == 0) {
			if ((cand->flags & MB_FLAG_AOUT_KLUDGE) &&
			    off + sizeof(*cand) > size)
				return load_fail(&c, "a.out-kludge multiboot header "
					    "at 0x%llx runs past the end of the "
					    "file", (unsigned long long)off);
			h = cand;
			header_off = off;
			break;
		}
	}
	if (!h && linux_boot_sector(c.image, size))
		return linux_boot_load(&c, cmdline);
	if (!h)
		return load_fail(&c, "no multiboot header (magic 0x%x with a valid "
			    "checksum) in the first %u bytes, nor a Linux boot "
			    "sector", MB_HEADER_MAGIC, MB_SEARCH_LIMIT);
	u32 unsupported = h->flags & MB_REQUIRED_MASK &
			  ~(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO);
	if (unsupported)
		return load_fail(&c, "multiboot header requires features 0x%x "
			    "this loader does not provide", unsupported);

	int r = h->flags & MB_FLAG_AOUT_KLUDGE
			? load_aout_kludge(&c, h, header_off, &entry)
			: load_elf(&c, &entry);
	if (r < 0)
		return -1;
	if (entry >= vm->mem_bytes)
		return load_fail(&c, "entry point 0x%llx is outside guest RAM",
			    (unsigned long long)entry);
	if (write_boot_info(&c, cmdline) < 0)
		return -1;

	vm->vcpu.boot = (struct vcpu_boot){
		.entry = entry, .code_sel = MB_CODE_SEL, .data_sel = MB_DATA_SEL,
	};
	vm->vcpu.regs = (struct guest_regs){
		.rip = entry, .rax = MB_BOOT_MAGIC, .rbx = MBI_GPA,
		.rflags = 0x2,	/* bit 1 is always set; IF off */
	};
	return 0;
}
