/*
 * test_guest_load.c - hv/guest_load.c, the multiboot v1 loader.
 *
 * guest_load() writes guest memory through vm_write_phys(), which
 * tests/fake_vmmem.c implements over a host byte array (recording which
 * bytes were written and which pages populated, refusing writes outside
 * vm->mem_bytes, and failing once a page budget is spent).  The images are
 * built in memory: ELF32 and ELF64 executables with a multiboot header,
 * a.out-kludge images, and the real build/guest.elf when it has been
 * built.  Every byte of file content is a position-dependent pattern, so
 * a byte loaded from the wrong offset shows.
 *
 * Checked on success: the file bytes of each segment land at its address,
 * nothing else is written (bss, other segment types, the file outside the
 * a.out load range) except the multiboot info, which holds flags bits
 * 0/2/6, mem_lower/mem_upper, the three-entry memory map and "NAME ARGS";
 * RIP = entry, EAX = 0x2BADB002, EBX = 0x7000.  On failure: -1, the exact
 * message, and the vCPU registers untouched.
 */
#include <stdlib.h>

#include "../hv/guest_load.h"
#include "../boot/elf.h"
#include "unit.h"

/* tests/fake_vmmem.c */
extern u8 *fake_ram, *fake_written, *fake_populated;
extern u64 fake_ram_bytes, fake_pages_populated, fake_page_budget;
extern u64 fake_write_calls, fake_write_failures;
void fake_vmmem_reset(u64 mem_bytes, u64 page_budget);

#define MB_MAGIC 0x1badb002u
#define MBI 0x7000ull
#define NO_BUDGET (~0ull)

/* --- building images ----------------------------------------------------- */

struct img {
	u8 *b;
	u64 size;
};

static u8 pattern(u64 off)
{
	return (u8)(off * 131 + (off >> 9) + 7);
}

static struct img img_new(u64 size)
{
	struct img im = { malloc(size ? size : 1), size };
	for (u64 i = 0; i < size; i++)
		im.b[i] = pattern(i);
	return im;
}

static void put16(struct img *im, u64 off, u16 v)
{
	memcpy(im->b + off, &v, 2);
}

static void put32(struct img *im, u64 off, u32 v)
{
	memcpy(im->b + off, &v, 4);
}

/* A multiboot header (magic, flags, checksum) at off. */
static void put_mb(struct img *im, u64 off, u32 flags)
{
	put32(im, off, MB_MAGIC);
	put32(im, off + 4, flags);
	put32(im, off + 8, -(MB_MAGIC + flags));
}

struct seg {
	u32 type;
	u64 off, paddr, filesz, memsz;
};

#define NO_MB 1	/* mb_off: no multiboot header */

struct elf_opts {
	int bits;		/* 32 or 64 */
	u64 size;
	const struct seg *segs;
	int nsegs;
	u64 entry;
	u64 mb_off;		/* 0: 0x200 */
	u32 mb_flags;		/* MB_DEFAULT_FLAGS if 0 */
	u16 machine;		/* 0: EM_386 / EM_X86_64 */
	u16 phentsize;		/* 0: the right one */
	u64 phoff;		/* 0: right after the ELF header */
	u8 class;		/* 0: from bits */
};

#define MB_DEFAULT_FLAGS 0x3u	/* page-align modules | memory info */

static struct img make_elf(const struct elf_opts *o)
{
	struct img im = img_new(o->size);
	bool is64 = o->bits == 64;
	u64 phoff = o->phoff ? o->phoff : is64 ? 64 : 52;

	memset(im.b, 0, is64 ? 64 : 52);
	memcpy(im.b, ELFMAG, 4);
	im.b[4] = o->class ? o->class : is64 ? ELFCLASS64 : ELFCLASS32;
	im.b[5] = ELFDATA2LSB;
	im.b[6] = EV_CURRENT;
	if (is64) {
		struct elf64_ehdr e = {
			.e_type = ET_EXEC,
			.e_machine = o->machine ? o->machine : EM_X86_64,
			.e_version = EV_CURRENT,
			.e_entry = o->entry,
			.e_phoff = phoff,
			.e_ehsize = 64,
			.e_phentsize = o->phentsize ? o->phentsize
						    : sizeof(struct elf64_phdr),
			.e_phnum = (u16)o->nsegs,
		};
		memcpy(e.e_ident, im.b, EI_NIDENT);
		memcpy(im.b, &e, sizeof(e));
		for (int i = 0; i < o->nsegs; i++) {
			const struct seg *s = &o->segs[i];
			struct elf64_phdr p = {
				.p_type = s->type, .p_flags = PF_R | PF_W,
				.p_offset = s->off, .p_vaddr = s->paddr,
				.p_paddr = s->paddr, .p_filesz = s->filesz,
				.p_memsz = s->memsz, .p_align = PAGE_SIZE,
			};
			if (phoff <= o->size &&
			    (i + 1) * sizeof(p) <= o->size - phoff)
				memcpy(im.b + phoff + i * sizeof(p), &p,
				       sizeof(p));
		}
	} else {
		put16(&im, 16, ET_EXEC);
		put16(&im, 18, o->machine ? o->machine : EM_386);
		put32(&im, 20, EV_CURRENT);
		put32(&im, 24, (u32)o->entry);
		put32(&im, 28, (u32)phoff);
		put16(&im, 40, 52);
		put16(&im, 42, o->phentsize ? o->phentsize : 32);
		put16(&im, 44, (u16)o->nsegs);
		for (int i = 0; i < o->nsegs; i++) {
			const struct seg *s = &o->segs[i];
			u64 at = phoff + i * 32;
			if (at + 32 > o->size)
				continue;
			put32(&im, at, s->type);
			put32(&im, at + 4, (u32)s->off);
			put32(&im, at + 8, (u32)s->paddr);
			put32(&im, at + 12, (u32)s->paddr);
			put32(&im, at + 16, (u32)s->filesz);
			put32(&im, at + 20, (u32)s->memsz);
			put32(&im, at + 24, PF_R | PF_X);
			put32(&im, at + 28, PAGE_SIZE);
		}
	}
	if (o->mb_off != NO_MB)
		put_mb(&im, o->mb_off ? o->mb_off : 0x200,
		       o->mb_flags ? o->mb_flags : MB_DEFAULT_FLAGS);
	return im;
}

/* An a.out-kludge image: flags bit 16 and the five address fields. */
struct aout_opts {
	u64 size;
	u64 hdr_off;
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
	u32 extra_flags;
};

static struct img make_aout(const struct aout_opts *o)
{
	struct img im = img_new(o->size);
	put_mb(&im, o->hdr_off, 0x10000 | MB_DEFAULT_FLAGS | o->extra_flags);
	put32(&im, o->hdr_off + 12, o->header_addr);
	put32(&im, o->hdr_off + 16, o->load_addr);
	put32(&im, o->hdr_off + 20, o->load_end_addr);
	put32(&im, o->hdr_off + 24, o->bss_end_addr);
	put32(&im, o->hdr_off + 28, o->entry_addr);
	return im;
}

/* --- loading and checking ------------------------------------------------ */

static struct vm vm;
static char err[256];
static u64 budget = NO_BUDGET;	/* for the next load() */

static int load(u64 mem, const struct img *im, const char *name,
		const char *cmdline)
{
	memset(&vm, 0, sizeof(vm));
	vm.mem_bytes = mem;
	vm.npages = mem / PAGE_SIZE;
	vm.state = VM_LOADING;
	fake_vmmem_reset(mem, budget);
	budget = NO_BUDGET;
	memset(err, 0, sizeof(err));
	return guest_load(&vm, im->b, im->size, name, cmdline, err,
			  sizeof(err));
}

static u32 rd32(u64 gpa)
{
	u32 v;
	memcpy(&v, fake_ram + gpa, 4);
	return v;
}

static u64 rd64(u64 gpa)
{
	u64 v;
	memcpy(&v, fake_ram + gpa, 8);
	return v;
}

/* The entry state of a successful load. */
static void check_regs_at(int line, u64 entry)
{
	const struct guest_regs *r = &vm.vcpu.regs;
	struct guest_regs want = { .rip = entry, .rax = 0x2badb002,
				   .rbx = 0x7000, .rflags = 0x2 };
	if (memcmp(r, &want, sizeof(want)) != 0 || vm.vcpu.boot.entry != entry) {
		printf("  %s:%d: regs rip 0x%llx rax 0x%llx rbx 0x%llx rflags "
		       "0x%llx (others zero: %d), boot.entry 0x%llx; want "
		       "entry 0x%llx\n", __FILE__, line,
		       (unsigned long long)r->rip, (unsigned long long)r->rax,
		       (unsigned long long)r->rbx,
		       (unsigned long long)r->rflags,
		       r->rcx == 0 && r->rdx == 0 && r->rsp == 0,
		       (unsigned long long)vm.vcpu.boot.entry,
		       (unsigned long long)entry);
		unit_failed_checks++;
	}
}
#define CHECK_REGS(entry) check_regs_at(__LINE__, (entry))

/*
 * The multiboot info page at 0x7000 for a VM of mem bytes with command
 * line want_cmdline.  Returns the end of what should have been written
 * (the command line's NUL + 1), for check_written().
 */
static u64 check_mbi_at(int line, u64 mem, const char *want_cmdline)
{
	int before = unit_failed_checks;
	u64 lower = MIN(mem, 0xa0000ull) / 1024;
	u64 upper = mem > 0x100000 ? (mem - 0x100000) / 1024 : 0;

	CHECK_EQ(rd32(MBI + 0), (1u << 0) | (1u << 2) | (1u << 6));
	CHECK_EQ(rd32(MBI + 4), lower);
	CHECK_EQ(rd32(MBI + 8), upper);
	CHECK_EQ(rd32(MBI + 12), 0);		/* boot_device (flag 1 off) */
	CHECK_EQ(rd32(MBI + 20), 0);		/* mods_count */
	CHECK_EQ(rd32(MBI + 24), 0);		/* mods_addr */

	/* The memory map: size-prefixed 24-byte entries. */
	struct {
		u64 base, len;
		u32 type;
	} want[3];
	int n = 0;
	want[n++] = (typeof(want[0])){ 0, MIN(mem, 0xa0000ull), 1 };
	if (mem > 0xa0000)
		want[n++] = (typeof(want[0])){ 0xa0000, 0x60000, 2 };
	if (mem > 0x100000)
		want[n++] = (typeof(want[0])){ 0x100000, mem - 0x100000, 1 };
	u32 mmap_len = rd32(MBI + 44), mmap_addr = rd32(MBI + 48);
	CHECK_EQ(mmap_len, n * 24);
	CHECK(mmap_addr >= MBI + 52 && mmap_addr + mmap_len <= MBI + PAGE_SIZE);
	if (mmap_addr >= MBI && mmap_addr + 72 <= MBI + PAGE_SIZE)
		for (int i = 0; i < n; i++) {
			u64 at = mmap_addr + 24ull * i;
			CHECK_EQ(rd32(at), 20);
			CHECK_EQ(rd64(at + 4), want[i].base);
			CHECK_EQ(rd64(at + 12), want[i].len);
			CHECK_EQ(rd32(at + 20), want[i].type);
		}

	/* The command line, inside the page, after the map. */
	u32 cl = rd32(MBI + 16);
	u64 end = MBI;
	CHECK(cl >= mmap_addr + mmap_len && cl < MBI + PAGE_SIZE);
	if (cl >= MBI && cl < MBI + PAGE_SIZE) {
		u64 max = MBI + PAGE_SIZE - cl;
		u64 len = strnlen((const char *)fake_ram + cl, max);
		CHECK(len < max);
		if (len < max)
			CHECK_STR((const char *)fake_ram + cl, want_cmdline);
		end = cl + len + 1;
	}
	if (unit_failed_checks != before)
		printf("  %s:%d: (multiboot info for mem 0x%llx)\n", __FILE__,
		       line, (unsigned long long)mem);
	return end;
}
#define CHECK_MBI(mem, cmdline) check_mbi_at(__LINE__, (mem), (cmdline))

/*
 * Exactly the bytes in want[] ([gpa, gpa+len) ranges) were written, with
 * the image bytes from the given file offsets, and exactly their pages were
 * populated.  A range with off == NO_OFF is checked for being written only
 * (the multiboot info).
 */
#define NO_OFF (~0ull)
struct wr {
	u64 gpa, len, off;
};

static void check_written_at(int line, const struct img *im,
			     const struct wr *want, int n)
{
	u64 mem = fake_ram_bytes;
	u8 *exp = calloc(mem + 1, 1);
	u8 *pages = calloc(mem / PAGE_SIZE + 1, 1);
	u64 bad_bytes = 0, bad_written = 0, bad_pages = 0, first = ~0ull;

	for (int i = 0; i < n; i++) {
		for (u64 k = 0; k < want[i].len; k++) {
			u64 g = want[i].gpa + k;
			exp[g] = 1;
			pages[g / PAGE_SIZE] = 1;
			if (want[i].off != NO_OFF &&
			    fake_ram[g] != im->b[want[i].off + k]) {
				bad_bytes++;
				first = MIN(first, g);
			}
		}
	}
	for (u64 g = 0; g < mem; g++)
		if (exp[g] != fake_written[g]) {
			bad_written++;
			first = MIN(first, g);
		}
	u64 npop = 0;
	for (u64 p = 0; p < mem / PAGE_SIZE; p++) {
		npop += pages[p];
		bad_pages += pages[p] != fake_populated[p];
	}
	if (bad_bytes || bad_written || bad_pages ||
	    npop != fake_pages_populated) {
		printf("  %s:%d: %llu wrong bytes, %llu bytes written or not "
		       "against expectation (first at 0x%llx), %llu pages "
		       "populated wrongly, %llu populated, want %llu\n",
		       __FILE__, line, (unsigned long long)bad_bytes,
		       (unsigned long long)bad_written,
		       (unsigned long long)first,
		       (unsigned long long)bad_pages,
		       (unsigned long long)fake_pages_populated,
		       (unsigned long long)npop);
		unit_failed_checks++;
	}
	free(exp);
	free(pages);
}
#define CHECK_WRITTEN(im, ...)                                              \
	do {                                                                \
		const struct wr w_[] = { __VA_ARGS__ };                     \
		check_written_at(__LINE__, (im), w_, ARRAY_SIZE(w_));       \
	} while (0)

/* A failed load: -1, the message (after "name: "), registers untouched. */
static void check_fail_at(int line, int rc, const char *want)
{
	static const struct guest_regs zero;
	if (rc != -1 || strcmp(err, want) != 0 ||
	    memcmp(&vm.vcpu.regs, &zero, sizeof(zero)) != 0 ||
	    vm.vcpu.boot.entry != 0) {
		printf("  %s:%d: rc %d, err \"%s\"\n  %*s want -1, \"%s\", "
		       "registers untouched\n", __FILE__, line, rc, err,
		       (int)strlen(__FILE__), "", want);
		unit_failed_checks++;
	}
}
#define CHECK_FAIL(rc, ...)                                                 \
	do {                                                                \
		char want_[256];                                            \
		snprintf(want_, sizeof(want_), __VA_ARGS__);                \
		check_fail_at(__LINE__, (rc), want_);                       \
	} while (0)

#define MEM (8 * MiB)

/* --- successful loads ---------------------------------------------------- */

/* ELF32: PT_LOAD segments at p_paddr (one unaligned, crossing a page),
 * bss left alone, other segment types and empty ones skipped. */
TEST(load_elf32_segments)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x1800, 0x1800 },	/* text */
		{ PT_LOAD, 0x3000, 0x102000, 0x234, 0x3000 },	/* data+bss */
		{ 4 /* PT_NOTE */, 0x4000, 0x200000, 0x100, 0x100 },
		{ PT_LOAD, 0x4000, 0x300000, 0, 0 },		/* empty */
		{ PT_LOAD, 0x5000, 0x123ff7, 0x800, 0x1000 },	/* unaligned */
		{ PT_LOAD, 0x5800, 0x1000, 0x10, 0x10 },	/* low memory */
	};
	struct elf_opts o = { .bits = 32, .size = 0x6000, .segs = segs,
			      .nsegs = 6, .entry = 0x100010 };
	struct img im = make_elf(&o);
	int rc = load(MEM, &im, "kernel", "a=1 b");
	CHECK_EQ(rc, 0);
	CHECK_STR(err, "");
	CHECK_REGS(0x100010);
	u64 end = CHECK_MBI(MEM, "kernel a=1 b");
	CHECK_WRITTEN(&im, { 0x100000, 0x1800, 0x1000 },
		      { 0x102000, 0x234, 0x3000 },
		      { 0x123ff7, 0x800, 0x5000 }, { 0x1000, 0x10, 0x5800 },
		      { MBI, end - MBI, NO_OFF });
	CHECK_EQ(fake_write_failures, 0);
	CHECK_EQ(fake_write_calls, 4 + 1);	/* four segments + the info */
	free(im.b);
}

/* ELF64: the same with 64-bit headers (as built by x86_64 toolchains for
 * a 32-bit entry point). */
TEST(load_elf64_segments)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x200000, 0x2000, 0x2000 },
		{ PT_LOAD, 0x3000, 0x203000, 0x10, 0x5000 },
		{ PT_LOAD, 0x3800, 0x8000, 0x800, 0x800 },	/* just above MBI */
		{ 0x6474e551 /* PT_GNU_STACK */, 0, 0, 0, 0 },
	};
	struct elf_opts o = { .bits = 64, .size = 0x4000, .segs = segs,
			      .nsegs = 4, .entry = 0x200000, .mb_off = 0x1000 };
	struct img im = make_elf(&o);
	/* The header lies inside the first segment: it is loaded too. */
	int rc = load(MEM, &im, "k64", "");
	CHECK_EQ(rc, 0);
	CHECK_STR(err, "");
	CHECK_REGS(0x200000);
	u64 end = CHECK_MBI(MEM, "k64");	/* no args: no trailing space */
	CHECK_WRITTEN(&im, { 0x200000, 0x2000, 0x1000 },
		      { 0x203000, 0x10, 0x3000 }, { 0x8000, 0x800, 0x3800 },
		      { MBI, end - MBI, NO_OFF });
	CHECK_EQ(rd32(0x200000), MB_MAGIC);
	free(im.b);
}

/* a.out kludge: the header's address fields decide; file bytes
 * [load_addr - header_addr + header_off, + load_end - load_addr) are
 * loaded, bss is not written, the rest of the file is ignored. */
TEST(load_aout_kludge)
{
	struct aout_opts o = {
		.size = 0x5000, .hdr_off = 0x20, .header_addr = 0x400020,
		.load_addr = 0x400000, .load_end_addr = 0x403000,
		.bss_end_addr = 0x406000, .entry_addr = 0x400100,
	};
	struct img im = make_aout(&o);
	CHECK_EQ(load(MEM, &im, "aout", "x"), 0);
	CHECK_STR(err, "");
	CHECK_REGS(0x400100);
	u64 end = CHECK_MBI(MEM, "aout x");
	CHECK_WRITTEN(&im, { 0x400000, 0x3000, 0 }, { MBI, end - MBI, NO_OFF });
	free(im.b);

	/* Header deeper in the file than in memory: the file prefix before
	 * the load start is skipped.  load_end_addr 0: up to the end of the
	 * file; bss_end_addr 0: no bss. */
	struct aout_opts o2 = {
		.size = 0x3000, .hdr_off = 0x1000, .header_addr = 0x300020,
		.load_addr = 0x300000, .entry_addr = 0x300040,
	};
	im = make_aout(&o2);
	CHECK_EQ(load(MEM, &im, "aout2", ""), 0);
	CHECK_REGS(0x300040);
	end = CHECK_MBI(MEM, "aout2");
	CHECK_WRITTEN(&im, { 0x300000, 0x3000 - 0xfe0, 0xfe0 },
		      { MBI, end - MBI, NO_OFF });
	free(im.b);

	/* Nothing but bss after the header's own page. */
	struct aout_opts o3 = {
		.size = 0x1000, .hdr_off = 0x0, .header_addr = 0x500000,
		.load_addr = 0x500000, .load_end_addr = 0x500000,
		.bss_end_addr = 0x520000, .entry_addr = 0x500000,
	};
	im = make_aout(&o3);
	CHECK_EQ(load(MEM, &im, "bss", ""), 0);
	end = CHECK_MBI(MEM, "bss");
	CHECK_WRITTEN(&im, { MBI, end - MBI, NO_OFF });
	free(im.b);
}

/* An ELF file whose header asks for the a.out kludge is loaded by the
 * header's fields, not by its program headers. */
TEST(load_aout_kludge_wins_over_elf)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x1000, 0x1000 },
	};
	struct elf_opts o = { .bits = 32, .size = 0x3000, .segs = segs,
			      .nsegs = 1, .entry = 0x100000, .mb_off = NO_MB };
	struct img im = make_elf(&o);
	put_mb(&im, 0x100, 0x10000);
	put32(&im, 0x10c, 0x600100);	/* header_addr */
	put32(&im, 0x110, 0x600000);	/* load_addr: file offset 0 */
	put32(&im, 0x114, 0x602000);	/* load_end_addr */
	put32(&im, 0x118, 0x602000);	/* bss_end_addr */
	put32(&im, 0x11c, 0x600200);	/* entry_addr */
	CHECK_EQ(load(MEM, &im, "both", ""), 0);
	CHECK_REGS(0x600200);
	u64 end = CHECK_MBI(MEM, "both");
	CHECK_WRITTEN(&im, { 0x600000, 0x2000, 0 }, { MBI, end - MBI, NO_OFF });
	free(im.b);
}

/* The memory map and mem_lower/mem_upper for RAM sizes around the legacy
 * hole. */
TEST(load_memory_map_sizes)
{
	static const u64 sizes[] = {
		0x90000, 0xa0000, 0xa1000, 0xc0000, 0x100000, 0x101000,
		8 * MiB, 64 * MiB + 0x3000, 2 * GiB,
	};
	/* Loads 0x100 bytes at 0x10000 (below every size). */
	struct aout_opts o = {
		.size = 0x2000, .hdr_off = 0x40, .header_addr = 0x10040,
		.load_addr = 0x10000, .load_end_addr = 0x10100,
		.bss_end_addr = 0x10200, .entry_addr = 0x10000,
	};
	struct img im = make_aout(&o);
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		CHECK_EQ(load(sizes[i], &im, "m", "mem"), 0);
		CHECK_STR(err, "");
		CHECK_REGS(0x10000);
		u64 end = CHECK_MBI(sizes[i], "m mem");
		if (sizes[i] <= 8 * MiB)
			CHECK_WRITTEN(&im, { 0x10000, 0x100, 0 },
				      { MBI, end - MBI, NO_OFF });
	}
	free(im.b);
}

/* The command line is "NAME ARGS" and may be 3971 bytes (the rest of the
 * info page), not one more. */
TEST(load_command_line_limit)
{
	struct aout_opts o = {
		.size = 0x1000, .hdr_off = 0, .header_addr = 0x100000,
		.load_addr = 0x100000, .entry_addr = 0x100000,
	};
	struct img im = make_aout(&o);
	static char args[5000], want[5010];
	/* "nm " + args: 3971 in all. */
	memset(args, 'a', 3971 - 3);
	args[3971 - 3] = 0;
	args[0] = 'A';
	args[3971 - 4] = 'Z';
	CHECK_EQ(load(MEM, &im, "nm", args), 0);
	snprintf(want, sizeof(want), "nm %s", args);
	u64 end = CHECK_MBI(MEM, want);
	CHECK_EQ(end, MBI + PAGE_SIZE);	/* the NUL is the page's last byte */
	CHECK_WRITTEN(&im, { 0x100000, 0x1000, 0 }, { MBI, PAGE_SIZE, NO_OFF });

	/* One more byte. */
	args[3971 - 3] = 'b';
	args[3971 - 2] = 0;
	int rc = load(MEM, &im, "nm", args);
	CHECK_FAIL(rc, "nm: guest command line longer than 3971 bytes");
	CHECK_EQ(fake_written[MBI], 0);	/* nothing of the info written */

	/* A long name counts too. */
	memset(args, 'n', 3971);
	args[3971] = 0;
	CHECK_EQ(load(MEM, &im, args, ""), 0);
	CHECK_MBI(MEM, args);
	args[3972 - 1] = 'n';
	args[3972] = 0;
	rc = load(MEM, &im, "x", args);
	CHECK_FAIL(rc, "x: guest command line longer than 3971 bytes");
	free(im.b);
}

/* The header search: 4-byte aligned, checksum verified, within 8 KiB;
 * a bad candidate does not stop the search. */
TEST(load_header_search)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x3000, 0x100000, 0x100, 0x100 },
	};
	struct elf_opts o = { .bits = 32, .size = 0x4000, .segs = segs,
			      .nsegs = 1, .entry = 0x100000, .mb_off = NO_MB };
	struct img im = make_elf(&o);

	/* The last offset where the whole 32-byte header fits. */
	put_mb(&im, 8192 - 32, 0);
	CHECK_EQ(load(MEM, &im, "k", ""), 0);
	free(im.b);

	/* At 8 KiB: too far. */
	im = make_elf(&o);
	put_mb(&im, 8192, 0);
	int rc = load(MEM, &im, "k", "");
	CHECK_FAIL(rc, "k: no multiboot header (magic 0x1badb002 with a valid "
		       "checksum) in the first 8192 bytes, nor a Linux boot "
		       "sector");
	free(im.b);

	/* Misaligned: not found. */
	im = make_elf(&o);
	put_mb(&im, 0x202, 0);
	rc = load(MEM, &im, "k", "");
	CHECK_FAIL(rc, "k: no multiboot header (magic 0x1badb002 with a valid "
		       "checksum) in the first 8192 bytes, nor a Linux boot "
		       "sector");
	free(im.b);

	/* A bad checksum is no header; a later good one is used. */
	im = make_elf(&o);
	put_mb(&im, 0x200, 0x4);		/* would be refused (video) */
	put32(&im, 0x208, 0x12345678);		/* bad checksum */
	rc = load(MEM, &im, "k", "");
	CHECK_FAIL(rc, "k: no multiboot header (magic 0x1badb002 with a valid "
		       "checksum) in the first 8192 bytes, nor a Linux boot "
		       "sector");
	put_mb(&im, 0x400, 0);
	CHECK_EQ(load(MEM, &im, "k", ""), 0);
	CHECK_STR(err, "");
	free(im.b);

	/* An image holding only the 12 basic header bytes: the header is
	 * found (spec 3.1.1 needs no more without bit 16), and then there is
	 * nothing to load. */
	struct img tiny = img_new(16);
	put_mb(&tiny, 0, 0);
	rc = load(MEM, &tiny, "t", "");
	CHECK_FAIL(rc, "t: neither ELF nor an a.out-kludge multiboot header "
		       "(flags bit 16)");
	/* With bit 16 the kludge fields must be in the file too. */
	put_mb(&tiny, 0, 1u << 16);
	rc = load(MEM, &tiny, "t", "");
	CHECK_FAIL(rc, "t: a.out-kludge multiboot header at 0x0 runs past the "
		       "end of the file");
	free(tiny.b);
	struct img empty = { NULL, 0 };
	rc = load(MEM, &empty, "e", "");
	CHECK_FAIL(rc, "e: no multiboot header (magic 0x1badb002 with a valid "
		       "checksum) in the first 8192 bytes, nor a Linux boot "
		       "sector");
}

/* Required features other than bits 0 and 1 are refused; optional bits
 * 17-31 are ignored. */
TEST(load_required_flags)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
	};
	struct elf_opts o = { .bits = 32, .size = 0x2000, .segs = segs,
			      .nsegs = 1, .entry = 0x100000 };
	o.mb_flags = 0x4;	/* video mode */
	struct img im = make_elf(&o);
	int rc = load(MEM, &im, "v", "");
	CHECK_FAIL(rc, "v: multiboot header requires features 0x4 this loader "
		       "does not provide");
	CHECK_EQ(fake_write_calls, 0);
	free(im.b);

	o.mb_flags = 0x8007;
	im = make_elf(&o);
	rc = load(MEM, &im, "v", "");
	CHECK_FAIL(rc, "v: multiboot header requires features 0x8004 this "
		       "loader does not provide");
	free(im.b);

	o.mb_flags = 0x80020003;	/* optional bits: fine */
	im = make_elf(&o);
	CHECK_EQ(load(MEM, &im, "v", ""), 0);
	free(im.b);
}

/* --- failures ------------------------------------------------------------ */

/* Loads a one-segment ELF32 (file bytes at 0x1000) and expects a failure. */
static int load_seg(int bits, u64 paddr, u64 off, u64 filesz, u64 memsz,
		    u64 size)
{
	const struct seg s = { PT_LOAD, off, paddr, filesz, memsz };
	struct elf_opts o = { .bits = bits, .size = size, .segs = &s,
			      .nsegs = 1, .entry = 0x100000 };
	struct img im = make_elf(&o);
	int rc = load(MEM, &im, "s", "");
	free(im.b);
	return rc;
}

TEST(fail_segment_beyond_ram)
{
	/* Ends exactly at the end of RAM: fine (its bss is not written). */
	CHECK_EQ(load_seg(32, MEM - 0x1000, 0x1000, 0x10, 0x1000, 0x2000), 0);
	int rc = load_seg(32, MEM - 0x1000, 0x1000, 0x10, 0x1001, 0x2000);
	CHECK_FAIL(rc, "s: segment 0x7ff000-0x800001 does not fit in 8 MiB of "
		       "guest RAM");
	rc = load_seg(32, 0xfffff000, 0x1000, 0x10, 0x1000, 0x2000);
	CHECK_FAIL(rc, "s: segment 0xfffff000-0x100000000 does not fit in 8 "
		       "MiB of guest RAM");
	CHECK_EQ(fake_write_calls, 0);
	/* ELF64: an address that wraps around. */
	rc = load_seg(64, 0xfffffffffffff000ull, 0x1000, 0x10, 0x2000, 0x2000);
	CHECK_FAIL(rc, "s: segment 0xfffffffffffff000-0x1000 does not fit in 8 "
		       "MiB of guest RAM");
	rc = load_seg(64, 0x100000000ull, 0x1000, 0x10, 0x10, 0x2000);
	CHECK_FAIL(rc, "s: segment 0x100000000-0x100000010 does not fit in 8 "
		       "MiB of guest RAM");
	CHECK_EQ(fake_write_calls, 0);
}

TEST(fail_segment_overlaps_boot_info)
{
	int rc = load_seg(32, 0x6800, 0x1000, 0x100, 0x801, 0x2000);
	CHECK_FAIL(rc, "s: segment 0x6800-0x7001 overlaps the multiboot info "
		       "page at 0x7000");
	rc = load_seg(32, 0x7fff, 0x1000, 0x1, 0x1, 0x2000);
	CHECK_FAIL(rc, "s: segment 0x7fff-0x8000 overlaps the multiboot info "
		       "page at 0x7000");
	rc = load_seg(32, 0x6000, 0x1000, 0x1000, 0x3000, 0x2000); /* bss */
	CHECK_FAIL(rc, "s: segment 0x6000-0x9000 overlaps the multiboot info "
		       "page at 0x7000");
	rc = load_seg(64, 0x7000, 0x1000, 0x10, 0x10, 0x2000);
	CHECK_FAIL(rc, "s: segment 0x7000-0x7010 overlaps the multiboot info "
		       "page at 0x7000");
	CHECK_EQ(fake_write_calls, 0);
	/* Right below and right above: fine. */
	CHECK_EQ(load_seg(32, 0x6000, 0x1000, 0x1000, 0x1000, 0x2000), 0);
	CHECK_EQ(load_seg(32, 0x8000, 0x1000, 0x1000, 0x1000, 0x2000), 0);
}

TEST(fail_filesz_beyond_memsz_or_file)
{
	int rc = load_seg(32, 0x100000, 0x1000, 0x200, 0x100, 0x2000);
	CHECK_FAIL(rc, "s: segment at 0x100000: file size 0x200 > memory size "
		       "0x100");
	rc = load_seg(64, 0x100000, 0x1000, 0x200, 0x100, 0x2000);
	CHECK_FAIL(rc, "s: segment at 0x100000: file size 0x200 > memory size "
		       "0x100");
	/* Exactly to the end of the file: fine; one byte more: not. */
	CHECK_EQ(load_seg(32, 0x100000, 0x1000, 0x1000, 0x1000, 0x2000), 0);
	rc = load_seg(32, 0x100000, 0x1000, 0x1001, 0x2000, 0x2000);
	CHECK_FAIL(rc, "s: segment at 0x100000: bytes 0x1000+0x1001 beyond end "
		       "of file");
	rc = load_seg(32, 0x100000, 0x2001, 0, 0x100, 0x2000);
	CHECK_FAIL(rc, "s: segment at 0x100000: bytes 0x2001+0x0 beyond end of "
		       "file");
	rc = load_seg(64, 0x100000, 0xffffffffffffff00ull, 0x200, 0x200, 0x2000);
	CHECK_FAIL(rc, "s: segment at 0x100000: bytes 0xffffffffffffff00+0x200 "
		       "beyond end of file");
	rc = load_seg(64, 0x100000, 0x1000, 0xfffffffffffff000ull,
		      0xfffffffffffff000ull, 0x2000);
	CHECK_FAIL(rc, "s: segment at 0x100000: bytes 0x1000+0xfffffffffffff000 "
		       "beyond end of file");
	CHECK_EQ(fake_write_calls, 0);
}

TEST(fail_elf_headers)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1000, 0x200000, 0x100, 0x100 },
	};
	struct elf_opts o = { .bits = 32, .size = 0x2000, .segs = segs,
			      .nsegs = 2, .entry = 0x100000 };
	struct img im;
	int rc;

	/* Program headers beyond the file: the second one cut off. */
	o.phoff = 0x2000 - 32 - 16;
	im = make_elf(&o);
	rc = load(MEM, &im, "p", "");
	CHECK_FAIL(rc, "p: program headers beyond end of file");
	CHECK_EQ(fake_write_calls, 0);	/* checked before any segment */
	free(im.b);
	o.phoff = 0x2000 - 64;		/* exactly fits */
	im = make_elf(&o);
	CHECK_EQ(load(MEM, &im, "p", ""), 0);
	free(im.b);
	o.phoff = 0xfffffff0;
	im = make_elf(&o);
	rc = load(MEM, &im, "p", "");
	CHECK_FAIL(rc, "p: program headers beyond end of file");
	free(im.b);

	o.bits = 64;
	o.phoff = 0x2000 - 56 - 16;
	im = make_elf(&o);
	rc = load(MEM, &im, "p", "");
	CHECK_FAIL(rc, "p: program headers beyond end of file");
	free(im.b);
	o.phoff = 0x2000 - 112;
	im = make_elf(&o);
	CHECK_EQ(load(MEM, &im, "p", ""), 0);
	free(im.b);
	o.phoff = 0xffffffffffffffc0ull;	/* would wrap */
	im = make_elf(&o);
	rc = load(MEM, &im, "p", "");
	CHECK_FAIL(rc, "p: program headers beyond end of file");
	free(im.b);
	o.phoff = 0;

	/* Wrong machine or phentsize. */
	o.bits = 32;
	o.machine = EM_X86_64;
	im = make_elf(&o);
	rc = load(MEM, &im, "m", "");
	CHECK_FAIL(rc, "m: ELF32 machine 62 / phentsize 32: not an i386 "
		       "executable");
	free(im.b);
	o.machine = 0;
	o.phentsize = 56;
	im = make_elf(&o);
	rc = load(MEM, &im, "m", "");
	CHECK_FAIL(rc, "m: ELF32 machine 3 / phentsize 56: not an i386 "
		       "executable");
	free(im.b);
	o.bits = 64;
	o.phentsize = 0;
	o.machine = EM_386;
	im = make_elf(&o);
	rc = load(MEM, &im, "m", "");
	CHECK_FAIL(rc, "m: ELF64 machine 3 / phentsize 56: not an x86-64 "
		       "executable");
	free(im.b);
	o.machine = 0;
	o.phentsize = 32;
	im = make_elf(&o);
	rc = load(MEM, &im, "m", "");
	CHECK_FAIL(rc, "m: ELF64 machine 62 / phentsize 32: not an x86-64 "
		       "executable");
	free(im.b);
	o.phentsize = 0;

	/* Neither class. */
	o.class = 3;
	im = make_elf(&o);
	rc = load(MEM, &im, "c", "");
	CHECK_FAIL(rc, "c: ELF class 3 is neither 32- nor 64-bit");
	free(im.b);
	o.class = 0;

	/* Not ELF at all, no kludge. */
	im = make_elf(&o);
	im.b[1] = 'e';
	rc = load(MEM, &im, "n", "");
	CHECK_FAIL(rc, "n: neither ELF nor an a.out-kludge multiboot header "
		       "(flags bit 16)");
	free(im.b);

	/* No loadable segment. */
	static const struct seg none[] = {
		{ 4, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1000, 0x100000, 0, 0 },
	};
	o.segs = none;
	for (int bits = 32; bits <= 64; bits += 32) {
		o.bits = bits;
		im = make_elf(&o);
		rc = load(MEM, &im, "z", "");
		CHECK_FAIL(rc, "z: no PT_LOAD segments");
		free(im.b);
	}
}

TEST(fail_entry_outside_ram)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
	};
	struct elf_opts o = { .bits = 32, .size = 0x2000, .segs = segs,
			      .nsegs = 1, .entry = MEM };
	struct img im = make_elf(&o);
	int rc = load(MEM, &im, "e", "");
	CHECK_FAIL(rc, "e: entry point 0x800000 is outside guest RAM");
	CHECK_EQ(fake_written[MBI], 0);	/* no boot info either */
	free(im.b);
	o.entry = MEM - 1;
	im = make_elf(&o);
	CHECK_EQ(load(MEM, &im, "e", ""), 0);
	CHECK_REGS(MEM - 1);
	free(im.b);
	o.bits = 64;
	o.entry = 0xffffffff80100000ull;	/* a higher-half address */
	im = make_elf(&o);
	rc = load(MEM, &im, "e", "");
	CHECK_FAIL(rc, "e: entry point 0xffffffff80100000 is outside guest RAM");
	free(im.b);
	/* The a.out kludge's entry_addr too. */
	struct aout_opts a = {
		.size = 0x1000, .header_addr = 0x100000, .load_addr = 0x100000,
		.entry_addr = 0x900000,
	};
	im = make_aout(&a);
	rc = load(MEM, &im, "e", "");
	CHECK_FAIL(rc, "e: entry point 0x900000 is outside guest RAM");
	free(im.b);
}

TEST(fail_aout_inconsistent)
{
	struct aout_opts base = {
		.size = 0x3000, .hdr_off = 0x100, .header_addr = 0x400100,
		.load_addr = 0x400000, .load_end_addr = 0x402000,
		.bss_end_addr = 0x404000, .entry_addr = 0x400000,
	};
	struct aout_opts o;
	struct img im;
	int rc;

	o = base;
	im = make_aout(&o);
	CHECK_EQ(load(MEM, &im, "a", ""), 0);
	free(im.b);

	/* load_addr above header_addr. */
	o = base;
	o.load_addr = 0x400200;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: a.out kludge: load_addr 0x400200 / header_addr "
		       "0x400100 inconsistent");
	free(im.b);

	/* The load start would be before the start of the file. */
	o = base;
	o.load_addr = 0x3fff00;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: a.out kludge: load_addr 0x3fff00 / header_addr "
		       "0x400100 inconsistent");
	free(im.b);

	/* load_end_addr below load_addr. */
	o = base;
	o.load_end_addr = 0x3ff000;
	o.bss_end_addr = 0;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: a.out kludge: bad load_end 0x3ff000 / bss_end "
		       "0x3ff000");
	free(im.b);

	/* bss_end_addr below load_end_addr. */
	o = base;
	o.bss_end_addr = 0x401000;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: a.out kludge: bad load_end 0x402000 / bss_end "
		       "0x401000");
	free(im.b);

	/* load_end_addr beyond the end of the file. */
	o = base;
	o.load_end_addr = 0x403001;
	o.bss_end_addr = 0;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: segment at 0x400000: bytes 0x0+0x3001 beyond end of "
		       "file");
	free(im.b);

	/* Loaded over the boot info, or beyond RAM. */
	o = base;
	o.header_addr = 0x6100;
	o.load_addr = 0x6000;
	o.load_end_addr = 0x7000;
	o.bss_end_addr = 0x7800;
	o.entry_addr = 0x6000;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: segment 0x6000-0x7800 overlaps the multiboot info "
		       "page at 0x7000");
	free(im.b);
	o = base;
	o.bss_end_addr = MEM + 0x400000;
	im = make_aout(&o);
	rc = load(MEM, &im, "a", "");
	CHECK_FAIL(rc, "a: segment 0x400000-0xc00000 does not fit in 8 MiB of "
		       "guest RAM");
	free(im.b);
}

/* Running out of frames: while loading a segment, or at the boot info. */
TEST(fail_out_of_memory)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x1800, 0x1800 },	/* 2 pages */
		{ PT_LOAD, 0x3000, 0x200800, 0x1000, 0x1000 },	/* 2 pages */
	};
	struct elf_opts o = { .bits = 32, .size = 0x4000, .segs = segs,
			      .nsegs = 2, .entry = 0x100000 };
	struct img im = make_elf(&o);
	int rc;

	budget = 1;
	rc = load(MEM, &im, "o", "");
	CHECK_FAIL(rc, "o: out of memory loading 0x1800 bytes at 0x100000");
	budget = 3;
	rc = load(MEM, &im, "o", "");
	CHECK_FAIL(rc, "o: out of memory loading 0x1000 bytes at 0x200800");
	budget = 4;
	rc = load(MEM, &im, "o", "");
	CHECK_FAIL(rc, "o: out of memory writing the multiboot info");
	budget = 5;
	CHECK_EQ(load(MEM, &im, "o", ""), 0);
	CHECK_EQ(fake_pages_populated, 5);
	free(im.b);
}

/* --- the real guest ------------------------------------------------------ */

static struct img read_file(const char *path)
{
	struct img im = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return im;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	im.b = malloc(n > 0 ? (size_t)n : 1);
	if (n > 0 && fread(im.b, 1, (size_t)n, f) == (size_t)n)
		im.size = (u64)n;
	fclose(f);
	return im;
}

/* build/guest.elf (ELF32 with a multiboot header), checked against its
 * own program headers read here independently. */
TEST(load_real_guest_elf)
{
	struct img im = read_file("build/guest.elf");
	if (!im.size) {
		printf("  note: build/guest.elf not found (run `make "
		       "build/guest.elf`): skipped\n");
		free(im.b);
		return;
	}
	u32 entry, phoff;
	u16 phnum;
	memcpy(&entry, im.b + 24, 4);
	memcpy(&phoff, im.b + 28, 4);
	memcpy(&phnum, im.b + 44, 2);
	CHECK_EQ(im.b[4], ELFCLASS32);

	const u64 mem = 64 * MiB;
	CHECK_EQ(load(mem, &im, "guest", "selftest=1 n=2"), 0);
	CHECK_STR(err, "");
	CHECK_REGS(entry);
	u64 end = CHECK_MBI(mem, "guest selftest=1 n=2");

	struct wr want[17];
	int n = 0;
	for (u16 i = 0; i < phnum && n < 16; i++) {
		u32 p[8];
		memcpy(p, im.b + phoff + i * 32, sizeof(p));
		if (p[0] != PT_LOAD || !p[5])
			continue;
		/* p_paddr, p_filesz, p_offset */
		want[n++] = (struct wr){ p[3], p[4], p[1] };
		CHECK(p[3] + p[5] <= mem);
	}
	CHECK(n > 0);
	want[n++] = (struct wr){ MBI, end - MBI, NO_OFF };
	check_written_at(__LINE__, &im, want, n);
	CHECK_EQ(fake_write_failures, 0);
	free(im.b);
}
