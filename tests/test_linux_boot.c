/*
 * test_linux_boot.c - hv/linux_boot.c, the Linux x86 boot protocol,
 * through guest_load() (which picks the loader by the image's header).
 *
 * Images are built in memory: a boot sector and setup sectors with the
 * setup header at 0x1F1, then a protected-mode kernel whose bytes are a
 * position-dependent pattern, so a byte loaded from the wrong offset
 * shows.  tests/fake_vmmem.c stands in for guest RAM.  Checked on success:
 * the kernel lands at its load address and nothing else is written but the
 * GDT, the zero page and the command line; the zero page holds the image's
 * setup header with the loader's fields filled in, the three-entry E820
 * map and VGA text screen_info; the vCPU starts at code32_start with
 * ESI = the zero page, CS 0x10 and DS 0x18 in a GDT that holds them.  On
 * failure: -1 and the exact message.  The real memtest86+ image from
 * Debian is loaded too, when it is installed.
 */
#include <stdlib.h>

#include "../hv/guest_load.h"
#include "unit.h"

extern u8 *fake_ram, *fake_written;
extern u64 fake_write_failures;
void fake_vmmem_reset(u64 mem_bytes, u64 page_budget);

#define NO_BUDGET (~0ull)
#define ZP 0x7000ull
#define CMDLINE 0x8000ull
#define GDT 0x6000ull

struct bz {
	u8 *b;
	u64 size;
	unsigned setup_sects;
};

static u8 pattern(u64 off)
{
	return (u8)(off * 37 + (off >> 8) + 3);
}

static void put8(struct bz *z, u64 off, u8 v) { z->b[off] = v; }
static void put16(struct bz *z, u64 off, u16 v) { memcpy(z->b + off, &v, 2); }
static void put32(struct bz *z, u64 off, u32 v) { memcpy(z->b + off, &v, 4); }
static void put64(struct bz *z, u64 off, u64 v) { memcpy(z->b + off, &v, 8); }

/* A protocol-2.12 bzImage: 2 setup sectors, a kernel of kernel_size
 * bytes, loaded high, not relocatable, code32_start 1 MiB. */
static struct bz make_bz(u64 kernel_size)
{
	struct bz z = { NULL, (2 + 1) * 512 + kernel_size, 2 };
	z.b = malloc(z.size);
	for (u64 i = 0; i < z.size; i++)
		z.b[i] = pattern(i);
	memset(z.b + 0x1f1, 0, 0x270 - 0x1f1);
	put8(&z, 0x1f1, (u8)z.setup_sects);
	put16(&z, 0x1fe, 0xaa55);
	put8(&z, 0x200, 0xeb);			/* jmp over the header */
	put8(&z, 0x201, 0x6a);			/* header ends at 0x26c */
	put32(&z, 0x202, 0x53726448);		/* "HdrS" */
	put16(&z, 0x206, 0x020c);
	put8(&z, 0x211, 0x81);			/* LOADED_HIGH | CAN_USE_HEAP */
	put32(&z, 0x214, 0x100000);
	put32(&z, 0x228, 0xdeadbeef);		/* cmd_line_ptr: ours */
	put32(&z, 0x230, 0x1000);
	put32(&z, 0x238, 255);			/* cmdline_size */
	put64(&z, 0x258, 0x100000);
	put32(&z, 0x260, (u32)kernel_size + 0x8000);	/* init_size */
	return z;
}

static struct vm vm;
static char err[256];

static int load(u64 mem, const struct bz *z, const char *cmdline)
{
	memset(&vm, 0, sizeof(vm));
	vm.mem_bytes = mem;
	vm.npages = mem / PAGE_SIZE;
	vm.state = VM_LOADING;
	fake_vmmem_reset(mem, NO_BUDGET);
	memset(err, 0, sizeof(err));
	return guest_load(&vm, z->b, z->size, "bz", cmdline, err,
			  sizeof(err));
}

static u32 ram32(u64 gpa)
{
	u32 v;
	memcpy(&v, fake_ram + gpa, 4);
	return v;
}

static u64 ram64(u64 gpa)
{
	u64 v;
	memcpy(&v, fake_ram + gpa, 8);
	return v;
}

/* Bytes written outside [a, b) and the boot data pages. */
static u64 written_elsewhere(u64 mem, u64 a, u64 b)
{
	u64 n = 0;
	for (u64 i = 0; i < mem; i++)
		if (fake_written[i] && !(i >= a && i < b) &&
		    !(i >= GDT && i < CMDLINE + PAGE_SIZE))
			n++;
	return n;
}

static void check_loaded(const struct bz *z, u64 mem, u64 load_at,
			 const char *cmdline)
{
	u64 koff = (z->setup_sects + 1) * 512, ksize = z->size - koff;

	CHECK_STR(err, "");
	CHECK(memcmp(fake_ram + load_at, z->b + koff, ksize) == 0);
	CHECK_EQ(written_elsewhere(mem, load_at, load_at + ksize), 0);

	/* The zero page: the setup header copied, the loader's fields. */
	CHECK(memcmp(fake_ram + ZP + 0x1f1, z->b + 0x1f1, 0x210 - 0x1f1) == 0);
	CHECK_EQ(ram32(ZP + 0x202), 0x53726448);
	CHECK_EQ(fake_ram[ZP + 0x210], 0xff);		/* type_of_loader */
	CHECK_EQ(fake_ram[ZP + 0x211], 0x01);		/* heap bit cleared */
	CHECK_EQ(ram32(ZP + 0x214), load_at);		/* code32_start */
	CHECK_EQ(ram32(ZP + 0x218), 0);			/* no ramdisk */
	CHECK_EQ(ram32(ZP + 0x228), cmdline[0] ? CMDLINE : 0);
	CHECK(memcmp(fake_ram + ZP + 0x230, z->b + 0x230, 0x26c - 0x230) == 0);
	CHECK_EQ(fake_ram[ZP + 0x26c], 0);		/* past the header */
	if (cmdline[0])
		CHECK_STR((char *)fake_ram + CMDLINE, cmdline);

	/* E820: conventional memory, the hole, RAM above 1 MiB. */
	CHECK_EQ(fake_ram[ZP + 0x1e8], 3);
	const u64 want[3][3] = { { 0, 0xa0000, 1 },
				 { 0xa0000, 0x60000, 2 },
				 { 0x100000, mem - 0x100000, 1 } };
	for (int i = 0; i < 3; i++) {
		u64 e = ZP + 0x2d0 + i * 20;
		CHECK_EQ(ram64(e), want[i][0]);
		CHECK_EQ(ram64(e + 8), want[i][1]);
		CHECK_EQ(ram32(e + 16), want[i][2]);
	}
	CHECK_EQ(ram64(ZP + 0x2d0 + 3 * 20), 0);
	/* screen_info: VGA colour text, 80x25. */
	CHECK_EQ(fake_ram[ZP + 0x06], 3);
	CHECK_EQ(fake_ram[ZP + 0x07], 80);
	CHECK_EQ(fake_ram[ZP + 0x0e], 25);
	CHECK_EQ(fake_ram[ZP + 0x0f], 0x22);

	/* The GDT and the 32-bit entry state. */
	CHECK_EQ(ram64(GDT + 0x10), 0x00cf9a000000ffffull);
	CHECK_EQ(ram64(GDT + 0x18), 0x00cf92000000ffffull);
	CHECK_EQ(vm.vcpu.boot.gdt_base, GDT);
	CHECK_EQ(vm.vcpu.boot.gdt_limit, 0x1f);
	CHECK_EQ(vm.vcpu.boot.code_sel, 0x10);
	CHECK_EQ(vm.vcpu.boot.data_sel, 0x18);
	CHECK_EQ(vm.vcpu.boot.entry, load_at);
	struct guest_regs r = { .rip = load_at, .rsi = ZP, .rflags = 2 };
	CHECK(memcmp(&vm.vcpu.regs, &r, sizeof(r)) == 0);
	CHECK_EQ(fake_write_failures, 0);
}

TEST(linux_load_bzimage)
{
	struct bz z = make_bz(0x5123);
	CHECK_EQ(load(16 * MiB, &z, "console=ttyS0,115200 nopause"), 0);
	check_loaded(&z, 16 * MiB, 0x100000, "console=ttyS0,115200 nopause");

	/* No command line: cmd_line_ptr 0, nothing at 0x8000. */
	CHECK_EQ(load(16 * MiB, &z, ""), 0);
	check_loaded(&z, 16 * MiB, 0x100000, "");
	CHECK_EQ(fake_written[CMDLINE], 0);

	/* setup_sects 0 means 4. */
	free(z.b);
	z = make_bz(0x3000);
	struct bz big = { malloc(z.size + 2 * 512), z.size + 2 * 512, 4 };
	memcpy(big.b, z.b, 3 * 512);
	memset(big.b + 3 * 512, 0x5a, 2 * 512);
	memcpy(big.b + 5 * 512, z.b + 3 * 512, z.size - 3 * 512);
	big.b[0x1f1] = 0;
	CHECK_EQ(load(16 * MiB, &big, "x"), 0);
	check_loaded(&big, 16 * MiB, 0x100000, "x");
	free(big.b);
	free(z.b);
}

/* A relocatable kernel (2.05+) goes to pref_address rounded up to its
 * kernel_alignment; a non-power-of-two alignment is refused. */
TEST(linux_load_relocatable)
{
	struct bz z = make_bz(0x2000);
	put8(&z, 0x234, 1);
	put32(&z, 0x230, 0x200000);
	put64(&z, 0x258, 0x1000000 + 1);
	CHECK_EQ(load(32 * MiB, &z, "a"), 0);
	check_loaded(&z, 32 * MiB, 0x1200000, "a");

	put64(&z, 0x258, 0);			/* below 1 MiB: 1 MiB, aligned */
	CHECK_EQ(load(32 * MiB, &z, "a"), 0);
	check_loaded(&z, 32 * MiB, 0x200000, "a");

	put32(&z, 0x230, 0x3000);
	CHECK_EQ(load(32 * MiB, &z, "a"), -1);
	CHECK_STR(err, "bz: kernel_alignment 0x3000 is not a power of two");
	free(z.b);
}

TEST(linux_refuse_bad_images)
{
	struct bz z = make_bz(0x2000);

	put32(&z, 0x202, 0x53726449);
	CHECK_EQ(load(16 * MiB, &z, ""), -1);
	CHECK_STR(err, "bz: Linux boot sector without the \"HdrS\" setup "
		       "header at 0x202 (a boot protocol before 2.00, or not "
		       "a bzImage)");
	CHECK_EQ(vm.vcpu.regs.rip, 0);
	put32(&z, 0x202, 0x53726448);

	put16(&z, 0x206, 0x0201);
	CHECK_EQ(load(16 * MiB, &z, ""), -1);
	CHECK_STR(err, "bz: Linux boot protocol 2.01 is too old (at least "
		       "2.02: the 32-bit entry and cmd_line_ptr)");
	put16(&z, 0x206, 0x020c);

	put8(&z, 0x211, 0);
	CHECK_EQ(load(16 * MiB, &z, ""), -1);
	CHECK_STR(err, "bz: a zImage (loadflags LOADED_HIGH clear: loaded "
		       "below 1 MiB) is not supported");
	put8(&z, 0x211, 1);

	/* init_size beyond RAM: 1 MiB + 0x2000 + 0x8000 > 1 MiB + 32 KiB. */
	put32(&z, 0x260, 0x400000);
	CHECK_EQ(load(4 * MiB, &z, ""), -1);
	CHECK_STR(err, "bz: the kernel needs 0x100000-0x500000 (init_size "
		       "0x400000) but the VM has 4 MiB of RAM");
	CHECK_EQ(load(8 * MiB, &z, ""), 0);
	put32(&z, 0x260, 0x8000);

	put32(&z, 0x238, 8);
	CHECK_EQ(load(16 * MiB, &z, "123456789"), -1);
	CHECK_STR(err, "bz: guest command line is 9 bytes; this kernel takes "
		       "at most 8");
	CHECK_EQ(load(16 * MiB, &z, "12345678"), 0);
	put32(&z, 0x238, 255);

	put32(&z, 0x214, 0x80000);
	CHECK_EQ(load(16 * MiB, &z, ""), -1);
	CHECK_STR(err, "bz: kernel address 0x80000 is below 1 MiB");
	put32(&z, 0x214, 0x100000);

	put8(&z, 0x201, 0x7f);			/* header past 0x2d0? no: 0x281 */
	CHECK_EQ(load(16 * MiB, &z, ""), 0);
	free(z.b);

	/* Setup sectors that fill the file; a file that ends in the header. */
	z = make_bz(0x100);
	struct bz cut = { z.b, 3 * 512, 2 };
	CHECK_EQ(load(16 * MiB, &cut, ""), -1);
	CHECK_STR(err, "bz: setup code (1536 bytes) fills the whole file: no "
		       "protected-mode kernel");
	cut.size = 0x230;
	CHECK_EQ(load(16 * MiB, &cut, ""), -1);
	CHECK_STR(err, "bz: Linux boot sector without the \"HdrS\" setup "
		       "header at 0x202 (a boot protocol before 2.00, or not "
		       "a bzImage)");
	free(z.b);

	/* Neither format. */
	struct bz none = { calloc(1, 4096), 4096, 0 };
	CHECK_EQ(load(16 * MiB, &none, ""), -1);
	CHECK_STR(err, "bz: no multiboot header (magic 0x1badb002 with a valid "
		       "checksum) in the first 8192 bytes, nor a Linux boot "
		       "sector");
	free(none.b);
}

/* Debian's memtest86+ (scripts/deps.sh installs it): a real bzImage. */
TEST(linux_load_memtest86plus)
{
	const char *path = "/boot/memtest86+x64.bin";
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("  note: %s not found (scripts/deps.sh installs "
		       "memtest86+): skipped\n", path);
		return;
	}
	struct bz z = { malloc(1 << 20), 0, 0 };
	z.size = fread(z.b, 1, 1 << 20, f);
	fclose(f);
	z.setup_sects = z.b[0x1f1] ? z.b[0x1f1] : 4;
	CHECK_EQ(load(16 * MiB, &z, "console=ttyS0,115200"), 0);
	CHECK_STR(err, "");
	u64 koff = (z.setup_sects + 1) * 512;
	u32 code32;
	memcpy(&code32, z.b + 0x214, 4);
	CHECK_EQ(vm.vcpu.regs.rip, code32);
	CHECK(memcmp(fake_ram + code32, z.b + koff, z.size - koff) == 0);
	CHECK_STR((char *)fake_ram + CMDLINE, "console=ttyS0,115200");
	/* Too little RAM for its init_size. */
	CHECK_EQ(load(1 * MiB + 64 * KiB, &z, ""), -1);
	CHECK(strstr(err, "the kernel needs 0x100000-") != NULL);
	free(z.b);
}
