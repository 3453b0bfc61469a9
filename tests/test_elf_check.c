/*
 * test_elf_check.c - boot/elf_check.c, the loader's validation of hv.elf.
 *
 * Every test starts from one valid ELF64 image built in memory (3 PT_LOAD
 * segments and a PT_NOTE), breaks one thing and checks that elf_check_hv
 * refuses it with a message that names the problem.  The valid image must
 * pass and fill the plan exactly.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../boot/elf.h"
#include "../boot/elf_check.h"
#include "unit.h"

#define IMG_SIZE 0x5000ull
#define PT_NOTE 4
#define TEXT 0x200000ull	/* R+X, 1 page */
#define RODATA 0x201000ull	/* R,   1 page, 0x800 in the file */
#define DATA 0x202000ull	/* RW,  5 pages, 0x100 in the file (bss) */
#define ENTRY (TEXT + 0x40)

static u64 img_store[IMG_SIZE / 8 + 1];	/* 8-byte aligned, +1 for tests */
static u8 *const img = (u8 *)img_store;
#define EH ((struct elf64_ehdr *)img)
#define PH ((struct elf64_phdr *)(img + 64))

/*
 * A normalized map: usable RAM below 640K, a reserved hole, usable RAM up to
 * 128 MiB, one reserved page, then usable RAM up to 256 MiB.
 */
static const struct boot_mem_range ram[] = {
	{ 0x0, 0x9f000, BOOT_MEM_USABLE, 0 },
	{ 0x9f000, 0x61000, BOOT_MEM_RESERVED, 0 },
	{ 0x100000, 0x7f00000, BOOT_MEM_USABLE, 0 },
	{ 0x8000000, 0x1000, BOOT_MEM_RESERVED, 0 },
	{ 0x8001000, 0x7fff000, BOOT_MEM_USABLE, 0 },
};

static struct elf64_phdr load(u32 flags, u64 off, u64 paddr, u64 filesz,
			      u64 memsz)
{
	return (struct elf64_phdr){ .p_type = PT_LOAD, .p_flags = flags,
				    .p_offset = off, .p_vaddr = paddr,
				    .p_paddr = paddr, .p_filesz = filesz,
				    .p_memsz = memsz, .p_align = PAGE_SIZE };
}

/* The valid image: text, rodata, a note, data+bss. */
static void build(void)
{
	memset(img_store, 0, sizeof(img_store));
	memcpy(EH->e_ident, ELFMAG, 4);
	EH->e_ident[4] = ELFCLASS64;
	EH->e_ident[5] = ELFDATA2LSB;
	EH->e_ident[6] = EV_CURRENT;
	EH->e_type = ET_EXEC;
	EH->e_machine = EM_X86_64;
	EH->e_version = EV_CURRENT;
	EH->e_entry = ENTRY;
	EH->e_phoff = 64;
	EH->e_ehsize = sizeof(struct elf64_ehdr);
	EH->e_phentsize = sizeof(struct elf64_phdr);
	EH->e_phnum = 4;
	PH[0] = load(PF_R | PF_X, 0x1000, TEXT, 0x1000, 0x1000);
	PH[1] = load(PF_R, 0x2000, RODATA, 0x800, 0x1000);
	PH[2] = (struct elf64_phdr){ .p_type = PT_NOTE, .p_flags = PF_R,
				     .p_offset = 0x2800, .p_filesz = 0x20,
				     .p_memsz = 0x20, .p_align = 4 };
	PH[3] = load(PF_R | PF_W, 0x3000, DATA, 0x100, 0x5000);
	memset(img + 0x1000, 0x90, 0x1000);	/* "code" */
}

static struct elf_plan plan;
static char err[256];

/* Runs the check on the image with the ram map; returns its result. */
static int check_size(u64 size)
{
	memset(&plan, 0x5a, sizeof(plan));
	strcpy(err, "<untouched>");
	return elf_check_hv(img, size, ram, ARRAY_SIZE(ram), &plan, err,
			    sizeof(err));
}
static int check(void)
{
	return check_size(IMG_SIZE);
}

/* The check must fail and err must contain `want`. */
static void expect_fail_at(int line, int rc, const char *want)
{
	if (rc != -1 || !strstr(err, want)) {
		printf("  %s:%d: rc %d, err \"%s\", want -1 and \"%s\"\n",
		       __FILE__, line, rc, err, want);
		unit_failed_checks++;
	}
}
#define EXPECT_FAIL(rc, want) expect_fail_at(__LINE__, rc, want)

/* The valid image passes and the plan lists exactly its PT_LOADs. */
TEST(elf_valid_image_fills_plan)
{
	build();
	CHECK_EQ(check(), 0);
	CHECK_STR(err, "<untouched>");	/* no message on success */
	CHECK_EQ(plan.entry, ENTRY);
	CHECK_EQ(plan.count, 3);
	CHECK_EQ(plan.lo, TEXT);
	CHECK_EQ(plan.hi, DATA + 0x5000);

	CHECK_EQ(plan.seg[0].paddr, TEXT);
	CHECK_EQ(plan.seg[0].memsz, 0x1000);
	CHECK_EQ(plan.seg[0].filesz, 0x1000);
	CHECK_EQ(plan.seg[0].offset, 0x1000);
	CHECK_EQ(plan.seg[0].flags, PF_R | PF_X);

	CHECK_EQ(plan.seg[1].paddr, RODATA);
	CHECK_EQ(plan.seg[1].filesz, 0x800);
	CHECK_EQ(plan.seg[1].offset, 0x2000);
	CHECK_EQ(plan.seg[1].flags, PF_R);

	CHECK_EQ(plan.seg[2].paddr, DATA);	/* the note is skipped */
	CHECK_EQ(plan.seg[2].memsz, 0x5000);
	CHECK_EQ(plan.seg[2].filesz, 0x100);
	CHECK_EQ(plan.seg[2].offset, 0x3000);
	CHECK_EQ(plan.seg[2].flags, PF_R | PF_W);
}

/* Segment order in the file does not matter; lo/hi are the extremes. */
TEST(elf_valid_unsorted_segments_and_boundaries)
{
	build();
	struct elf64_phdr t = PH[0];
	PH[0] = PH[3];
	PH[3] = t;
	CHECK_EQ(check(), 0);
	CHECK_EQ(plan.lo, TEXT);
	CHECK_EQ(plan.hi, DATA + 0x5000);
	CHECK_EQ(plan.seg[0].paddr, DATA);

	/* The entry may be the last byte of the executable segment. */
	build();
	EH->e_entry = TEXT + 0xfff;
	CHECK_EQ(check(), 0);

	/* The entry may be in any executable segment, e.g. the last one. */
	build();
	PH[3].p_flags |= PF_X;
	EH->e_entry = DATA + 0x4000;	/* in its bss part even */
	CHECK_EQ(check(), 0);
	CHECK_EQ(plan.entry, DATA + 0x4000);

	/* A segment whose bytes end exactly at the end of the file. */
	build();
	PH[3].p_offset = IMG_SIZE - 0x100;
	CHECK_EQ(check(), 0);

	/* A segment ending exactly where usable RAM ends (memsz not a page
	 * multiple: its last page is still inside). */
	build();
	PH[3] = load(PF_R | PF_W, 0x3000, 0x7ffe000, 0x100, 0x1800);
	CHECK_EQ(check(), 0);
	CHECK_EQ(plan.hi, 0x7fff800);
}

/* PT_LOADs with memsz 0 are ignored entirely, garbage fields and all. */
TEST(elf_empty_load_segments_ignored)
{
	build();
	PH[2] = load(0, ~0ull, 0x123, ~0ull, 0);
	PH[2].p_vaddr = 0x456;
	CHECK_EQ(check(), 0);
	CHECK_EQ(plan.count, 3);
}

/* ELF_MAX_SEGMENTS PT_LOADs pass; one more is refused. */
TEST(elf_too_many_segments)
{
	struct elf64_phdr *ph = (struct elf64_phdr *)(img + 0x4000);

	build();
	EH->e_phoff = 0x4000;
	EH->e_phnum = ELF_MAX_SEGMENTS;
	for (int i = 0; i < ELF_MAX_SEGMENTS + 1; i++)
		ph[i] = load(PF_R | PF_X, 0x1000, TEXT + (u64)i * PAGE_SIZE,
			     0x100, 0x1000);
	CHECK_EQ(check(), 0);
	CHECK_EQ(plan.count, ELF_MAX_SEGMENTS);
	CHECK_EQ(plan.hi, TEXT + ELF_MAX_SEGMENTS * PAGE_SIZE);

	EH->e_phnum = ELF_MAX_SEGMENTS + 1;
	EXPECT_FAIL(check(), "more than 8 PT_LOAD segments");
}

/* Shorter than an ELF header: refused before any field is read. */
TEST(elf_file_too_small)
{
	build();
	EXPECT_FAIL(check_size(63), "file too small (63 bytes)");
	EXPECT_FAIL(check_size(0), "file too small (0 bytes)");
	CHECK_EQ(plan.count, 0);
	/* A bare header: the program headers it announces are cut off. */
	EXPECT_FAIL(check_size(sizeof(struct elf64_ehdr)),
		    "program headers (offset 0x40, 4 entries) beyond end");
}

/* Any wrong magic byte is reported with the bytes seen. */
TEST(elf_bad_magic)
{
	for (int i = 0; i < 4; i++) {
		build();
		img[i] ^= 0x20;
		EXPECT_FAIL(check(), "bad ELF magic");
	}
	build();
	img[3] = 'G';
	CHECK_EQ(check(), -1);
	CHECK_STR(err, "bad ELF magic 7f 45 4c 47 (want 7f 45 4c 46)");
	memset(img, 0, 4);
	EXPECT_FAIL(check(), "bad ELF magic 00 00 00 00");
}

/* Class, data encoding, type, machine and phentsize must be exact. */
TEST(elf_header_fields)
{
	build();
	EH->e_ident[4] = ELFCLASS32;
	EXPECT_FAIL(check(), "ELF class 1, want 2 (64-bit)");
	EH->e_ident[4] = 0;
	EXPECT_FAIL(check(), "ELF class 0");

	build();
	EH->e_ident[5] = 2;	/* big-endian */
	EXPECT_FAIL(check(), "ELF data encoding 2, want 1 (LSB)");

	build();
	EH->e_type = 3;	/* ET_DYN: a PIE */
	EXPECT_FAIL(check(), "ELF type 3, want 2 (executable)");
	EH->e_type = 1;	/* ET_REL */
	EXPECT_FAIL(check(), "ELF type 1");

	build();
	EH->e_machine = EM_386;
	EXPECT_FAIL(check(), "ELF machine 3, want 62 (x86-64)");
	EH->e_machine = 183;	/* aarch64 */
	EXPECT_FAIL(check(), "ELF machine 183");

	build();
	EH->e_phentsize = 32;	/* ELF32's */
	EXPECT_FAIL(check(), "program header size 32, want 56");
	EH->e_phentsize = 0;
	EXPECT_FAIL(check(), "program header size 0, want 56");
}

/* The program header table must lie inside the file, overflow included. */
TEST(elf_phdrs_beyond_file)
{
	build();
	EH->e_phoff = IMG_SIZE - 4 * sizeof(struct elf64_phdr) + 8;
	EXPECT_FAIL(check(), "program headers (offset 0x4f28, 4 entries) "
			     "beyond end of file");

	build();
	EH->e_phoff = IMG_SIZE + 0x1000;
	EXPECT_FAIL(check(), "beyond end of file");

	build();
	EH->e_phoff = ~0ull - 0x37;	/* phoff + 4*56 wraps */
	EXPECT_FAIL(check(), "beyond end of file");

	build();
	EH->e_phnum = 0xffff;
	EXPECT_FAIL(check(), "65535 entries) beyond end of file");

	/* Ending exactly at the end of the file is fine. */
	build();
	u64 at = IMG_SIZE - 4 * sizeof(struct elf64_phdr);
	memmove(img + at, PH, 4 * sizeof(struct elf64_phdr));
	EH->e_phoff = at;
	CHECK_EQ(check(), 0);
	CHECK_EQ(plan.count, 3);
}

/* A segment cannot have more bytes in the file than in memory. */
TEST(elf_filesz_greater_than_memsz)
{
	build();
	PH[1].p_filesz = 0x1001;
	EXPECT_FAIL(check(), "segment 1: file size 0x1001 > memory size 0x1000");
}

/* A segment's file bytes must be inside the file, without wrapping. */
TEST(elf_segment_bytes_beyond_file)
{
	build();
	PH[3].p_offset = IMG_SIZE - 0x80;
	EXPECT_FAIL(check(), "segment 3: bytes 0x4f80+0x100 beyond end of file "
			     "(20480 bytes)");

	build();
	PH[0].p_offset = 0xffffffffffffff00ull;	/* offset + size wraps */
	EXPECT_FAIL(check(), "segment 0: bytes 0xffffffffffffff00+0x1000 beyond "
			     "end of file");

	build();
	PH[3].p_offset = 0x10;
	PH[3].p_filesz = ~0ull - 0x8;	/* with memsz ~0: only size is bad */
	PH[3].p_memsz = ~0ull;
	EXPECT_FAIL(check(), "segment 3: bytes 0x10+");
}

/* paddr must be page-aligned and paddr + memsz must not wrap. */
TEST(elf_bad_physical_address)
{
	build();
	PH[1].p_paddr = PH[1].p_vaddr = RODATA + 0x800;
	EXPECT_FAIL(check(), "segment 1: bad physical address 0x201800 "
			     "(size 0x1000)");

	build();
	PH[3].p_paddr = PH[3].p_vaddr = 0xfffffffffffff000ull;	/* + 0x5000 */
	EXPECT_FAIL(check(), "segment 3: bad physical address "
			     "0xfffffffffffff000 (size 0x5000)");

	build();	/* paddr + memsz == 2^64 exactly */
	PH[0].p_paddr = PH[0].p_vaddr = 0xfffffffffffff000ull;
	EXPECT_FAIL(check(), "segment 0: bad physical address");
}

/* hv.elf must be identity-linked: vaddr == paddr. */
TEST(elf_vaddr_must_equal_paddr)
{
	build();
	PH[0].p_vaddr = 0xffffffff80200000ull;
	EXPECT_FAIL(check(), "segment 0: virtual 0xffffffff80200000 != physical "
			     "0x200000 (hv.elf must be identity-linked)");
}

/* Every page a segment touches must be in one usable range. */
TEST(elf_segment_outside_usable_ram)
{
	build();	/* entirely in the reserved hole below 1 MiB */
	PH[3].p_paddr = PH[3].p_vaddr = 0x9f000;
	EXPECT_FAIL(check(), "segment 3: 0x9f000-0xa4000 is not inside usable "
			     "RAM");

	build();	/* beyond the end of RAM */
	PH[3].p_paddr = PH[3].p_vaddr = 0x40000000;
	EXPECT_FAIL(check(), "segment 3: 0x40000000-0x40005000 is not inside");

	build();	/* starts in RAM, runs into the reserved page */
	PH[3].p_paddr = PH[3].p_vaddr = 0x7ffe000;
	EXPECT_FAIL(check(), "segment 3: 0x7ffe000-0x8003000 is not inside");

	build();	/* spans both usable ranges around the reserved page */
	PH[3].p_paddr = PH[3].p_vaddr = 0x7ffc000;
	PH[3].p_memsz = 0x10000;
	EXPECT_FAIL(check(), "is not inside usable RAM");

	build();	/* only the rounded-up tail page is outside */
	PH[3] = load(PF_R | PF_W, 0x3000, 0x7fff000, 0x100, 0x1001);
	EXPECT_FAIL(check(), "segment 3: 0x7fff000-0x8000001 is not inside");

	build();	/* no usable RAM at all */
	memset(&plan, 0, sizeof(plan));
	CHECK_EQ(elf_check_hv(img, IMG_SIZE, ram, 0, &plan, err, sizeof(err)),
		 -1);
	CHECK(strstr(err, "segment 0: 0x200000-0x201000 is not inside usable "
			  "RAM") != NULL);
}

/* Segments must not overlap in physical memory (touching is fine). */
TEST(elf_overlapping_segments)
{
	build();	/* identical */
	PH[1].p_paddr = PH[1].p_vaddr = TEXT;
	EXPECT_FAIL(check(), "segment 1 (0x200000-0x201000) overlaps segment at "
			     "0x200000-0x201000");

	build();	/* data starts inside rodata */
	PH[3].p_paddr = PH[3].p_vaddr = RODATA;
	EXPECT_FAIL(check(), "segment 3 (0x201000-0x206000) overlaps segment at "
			     "0x201000-0x202000");

	build();	/* a later segment containing an earlier one */
	PH[3].p_paddr = PH[3].p_vaddr = 0x1ff000;
	EXPECT_FAIL(check(), "segment 3 (0x1ff000-0x204000) overlaps segment at "
			     "0x200000-0x201000");

	build();	/* the bss tail reaching into a later segment */
	PH[0].p_memsz = 0x1001;
	EXPECT_FAIL(check(), "segment 1 (0x201000-0x202000) overlaps segment at "
			     "0x200000-0x201001");
}

/* An image with nothing to load is refused. */
TEST(elf_no_load_segments)
{
	build();
	EH->e_phnum = 0;
	EXPECT_FAIL(check(), "no PT_LOAD segments");
	CHECK_STR(err, "no PT_LOAD segments");

	build();
	for (int i = 0; i < 4; i++)
		PH[i].p_type = PT_NOTE;
	EXPECT_FAIL(check(), "no PT_LOAD segments");

	build();
	for (int i = 0; i < 4; i++)
		PH[i].p_memsz = PH[i].p_filesz = 0;
	EXPECT_FAIL(check(), "no PT_LOAD segments");
}

/* The entry point must be inside a segment with PF_X. */
TEST(elf_entry_not_executable)
{
	build();
	EH->e_entry = RODATA;	/* readable, not executable */
	EXPECT_FAIL(check(), "entry point 0x201000 is not in an executable "
			     "segment");

	build();
	EH->e_entry = TEXT - 1;
	EXPECT_FAIL(check(), "entry point 0x1fffff is not in an executable");

	build();
	EH->e_entry = DATA + 0x100;	/* RW data */
	EXPECT_FAIL(check(), "entry point 0x202100");

	build();
	EH->e_entry = 0;
	EXPECT_FAIL(check(), "entry point 0x0 is not in an executable segment");

	build();	/* the text segment loses PF_X */
	PH[0].p_flags = PF_R;
	EXPECT_FAIL(check(), "entry point 0x200040 is not in an executable");
}

/* A short error buffer gets a truncated, NUL-terminated message and no
 * byte beyond errlen is written. */
TEST(elf_error_truncated_to_errlen)
{
	char small[16];
	build();
	EH->e_machine = EM_386;
	memset(small, '#', sizeof(small));
	CHECK_EQ(elf_check_hv(img, IMG_SIZE, ram, ARRAY_SIZE(ram), &plan, small,
			      10),
		 -1);
	CHECK_STR(small, "ELF machi");
	CHECK_EQ(small[10], '#');
}

/*
 * A segment at paddr 0 with p_memsz > 0xfffffffffffff000 must be refused.
 * Regression: paddr + memsz does not wrap, but ALIGN_UP(p_memsz) in the RAM
 * check did (to 0), and memmap_contains(map, n, 0, 0, ..) is true for any
 * usable range starting at 0, so a segment claiming the whole address space
 * was accepted (the loader would then zero ~16 EiB).
 */
TEST(elf_huge_memsz_at_zero)
{
	build();
	EH->e_phnum = 1;
	PH[0] = load(PF_R | PF_X, 0x1000, 0x0, 0x1000, 0xfffffffffffff001ull);
	EH->e_entry = 0x40;
	EXPECT_FAIL(check(), "segment 0: ");	/* any reason, but refused */
}


static void misaligned_phoff(void)
{
	build();
	memmove(img + 0x4001, PH, 4 * sizeof(struct elf64_phdr));
	EH->e_phoff = 0x4001;
	int rc = check();
	/* Either answer is acceptable; undefined behaviour is not. */
	CHECK(rc == 0 || (rc == -1 && strcmp(err, "<untouched>") != 0));
}

/*
 * An odd e_phoff (only a corrupt header away) must not lead to undefined
 * behaviour.  Regression: e_phoff was not checked for alignment and the
 * program headers were read through a misaligned struct elf64_phdr pointer
 * (UBSan: misaligned member access).  Run in a child so such an abort
 * stays contained.
 */
TEST(elf_misaligned_phoff_no_ub)
{
	CHECK(unit_run_isolated(misaligned_phoff));
}
