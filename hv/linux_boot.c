/*
 * linux_boot.c - the Linux x86 boot protocol (Linux
 * Documentation/arch/x86/boot.rst), the second guest image format beside
 * multiboot v1: how memtest86+ and Linux's own bzImage are booted.
 *
 * A bzImage starts with the real-mode boot sector and setup code, whose
 * "setup header" at 0x1F1 describes the kernel: boot_flag 0xAA55 at 0x1FE,
 * the magic "HdrS" at 0x202, the protocol version at 0x206.  After
 * (setup_sects + 1) * 512 bytes comes the protected-mode kernel.  A BIOS
 * boot loader runs the setup code in real mode; memvisor, like a loader
 * that uses the 32-bit boot protocol, skips it: it fills the zero page
 * (struct boot_params) itself and jumps to code32_start in 32-bit
 * protected mode.
 *
 * The 32-bit entry, not the 64-bit one at code32_start + 0x200, because
 * it is the state every memvisor guest starts in already (paging off, no
 * page tables of the hypervisor's in the guest's RAM: the backends build
 * exactly this state for multiboot), and because the 64-bit entry would
 * make the loader own identity page tables inside guest RAM that the
 * guest then tests or overwrites.  Protocol 2.02 is the oldest accepted:
 * it is the first with cmd_line_ptr and a documented 32-bit entry.
 *
 * Entry state (boot.rst, "32-bit Boot Protocol"): a GDT with flat 4 GiB
 * segments at __BOOT_CS (0x10, execute/read) and __BOOT_DS (0x18,
 * read/write); CS = __BOOT_CS, DS = ES = SS = __BOOT_DS; interrupts off;
 * ESI = the zero page; EBP = EDI = EBX = 0.
 *
 * Guest-physical layout this loader produces:
 *
 *   0x0000_6000  GDT (one page)
 *   0x0000_7000  zero page: struct boot_params (E820 map, setup header)
 *   0x0000_8000  command line (one page)
 *   0x000a_0000  legacy hole, reported reserved (still RAM to the p2m)
 *   0x0010_0000  the protected-mode kernel (code32_start; a relocatable
 *                kernel at its kernel_alignment)
 *   mem          end of RAM
 *
 * The E820 map is the one the multiboot guest gets (guest_memory_map()).
 * screen_info says "VGA colour text, 80x25", so a kernel that draws on
 * the screen writes the text buffer at 0xB8000, which is RAM here.
 */
#include "load.h"
#include "fmt.h"
#include "string.h"
#include "vmmem.h"

/* Offsets in the image and in struct boot_params (boot.rst, "The real-mode
 * kernel header"; Linux arch/x86/include/uapi/asm/bootparam.h). */
#define BP_SCREEN_INFO 0x000
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1		/* the setup header, in both */
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 0x1000

#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200		/* its second byte bounds the header */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_END_MIN 0x264	/* everything read here lies below */

#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC 0x53726448	/* "HdrS" */
#define PROTO(major, minor) ((major) << 8 | (minor))
#define PROTO_MIN PROTO(2, 2)
#define LOADED_HIGH (1u << 0)	/* loadflags: kernel at 0x100000 */
#define CAN_USE_HEAP (1u << 7)	/* loadflags: heap_end_ptr valid */
#define TYPE_OF_LOADER_UNDEFINED 0xff
#define CMDLINE_SIZE_OLD 255	/* before protocol 2.06 */
#define KERNEL_LOAD_DEFAULT 0x100000ull

/* screen_info (Linux include/uapi/linux/screen_info.h). */
#define SI_ORIG_VIDEO_MODE 0x06
#define SI_ORIG_VIDEO_COLS 0x07
#define SI_ORIG_VIDEO_LINES 0x0e
#define SI_ORIG_VIDEO_ISVGA 0x0f
#define SI_ORIG_VIDEO_POINTS 0x10
#define VIDEO_TYPE_VGAC 0x22	/* VGA colour text */

#define GDT_GPA 0x6000ull
#define ZERO_PAGE_GPA 0x7000ull
#define CMDLINE_GPA 0x8000ull
#define BOOT_DATA_END 0x9000ull
#define BOOT_CS 0x10
#define BOOT_DS 0x18
/* Flat 4 GiB descriptors: base 0, limit 0xFFFFF pages, G, D/B, present,
 * DPL 0; type 0xA (execute/read) and 0x2 (read/write). */
#define GDT_CODE32 0x00cf9a000000ffffull
#define GDT_DATA32 0x00cf92000000ffffull

struct e820_entry {
	u64 addr, size;
	u32 type;
} __packed;

static u8 rd8(const u8 *b, unsigned off)
{
	return b[off];
}

static u16 rd16(const u8 *b, unsigned off)
{
	u16 v;
	memcpy(&v, b + off, sizeof(v));
	return v;
}

static u32 rd32(const u8 *b, unsigned off)
{
	u32 v;
	memcpy(&v, b + off, sizeof(v));
	return v;
}

static u64 rd64(const u8 *b, unsigned off)
{
	u64 v;
	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void wr32(u8 *b, unsigned off, u32 v)
{
	memcpy(b + off, &v, sizeof(v));
}

bool linux_boot_sector(const u8 *image, u64 size)
{
	return size >= HDR_BOOT_FLAG + 2 && rd16(image, HDR_BOOT_FLAG) ==
						    BOOT_FLAG;
}

/* Where the protected-mode kernel goes: code32_start for a kernel that
 * cannot move, else the preferred address (2.10+) or 1 MiB, rounded up to
 * its kernel_alignment (2.05+).  0 if the alignment is not a power of two. */
static u64 kernel_address(const u8 *h, u16 version)
{
	if (version < PROTO(2, 5) || !rd8(h, HDR_RELOCATABLE))
		return rd32(h, HDR_CODE32_START);
	u64 align = rd32(h, HDR_KERNEL_ALIGNMENT);
	u64 want = version >= PROTO(2, 10) ? rd64(h, HDR_PREF_ADDRESS)
					   : KERNEL_LOAD_DEFAULT;
	if (!align || (align & (align - 1)))
		return 0;
	want = MAX(want, KERNEL_LOAD_DEFAULT);
	return (want + align - 1) & ~(align - 1);
}

static int write_gdt(struct load_ctx *c)
{
	u64 gdt[4] = { 0, 0, GDT_CODE32, GDT_DATA32 };

	if (vm_write_phys(c->vm, GDT_GPA, gdt, sizeof(gdt)) < 0)
		return load_fail(c, "out of memory writing the GDT");
	c->vm->vcpu.boot.gdt_base = GDT_GPA;
	c->vm->vcpu.boot.gdt_limit = sizeof(gdt) - 1;
	return 0;
}

/* The zero page: the image's setup header, filled in as a boot loader
 * must (boot.rst, "Details of Header Fields": "write" and "modify"
 * fields), the E820 map and screen_info. */
static int write_zero_page(struct load_ctx *c, u64 hdr_end, u64 load,
			   u64 cmdline_len)
{
	static u8 bp[BP_SIZE];	/* one VM is loaded at a time */
	struct guest_range map[GUEST_MAP_MAX];
	int n = guest_memory_map(c->vm->mem_bytes, map);

	memset(bp, 0, sizeof(bp));
	memcpy(bp + BP_HDR, c->image + BP_HDR, hdr_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;
	/* No real-mode setup runs, so there is no real-mode heap. */
	bp[HDR_LOADFLAGS] &= (u8)~CAN_USE_HEAP;
	wr32(bp, HDR_CODE32_START, (u32)load);
	wr32(bp, HDR_RAMDISK_IMAGE, 0);
	wr32(bp, HDR_RAMDISK_SIZE, 0);
	wr32(bp, HDR_CMD_LINE_PTR, cmdline_len ? (u32)CMDLINE_GPA : 0);

	bp[SI_ORIG_VIDEO_MODE] = 3;
	bp[SI_ORIG_VIDEO_COLS] = 80;
	bp[SI_ORIG_VIDEO_LINES] = 25;
	bp[SI_ORIG_VIDEO_ISVGA] = VIDEO_TYPE_VGAC;
	bp[SI_ORIG_VIDEO_POINTS] = 16;

	bp[BP_E820_ENTRIES] = (u8)n;
	for (int i = 0; i < n; i++) {
		struct e820_entry e = { map[i].base, map[i].length,
					map[i].type };
		memcpy(bp + BP_E820_TABLE + i * sizeof(e), &e, sizeof(e));
	}
	if (vm_write_phys(c->vm, ZERO_PAGE_GPA, bp, sizeof(bp)) < 0)
		return load_fail(c, "out of memory writing the zero page");
	return 0;
}

int linux_boot_load(struct load_ctx *c, const char *cmdline)
{
	const u8 *h = c->image;

	if (c->size < HDR_END_MIN || rd32(h, HDR_MAGIC) != HDRS_MAGIC)
		return load_fail(c, "Linux boot sector without the \"HdrS\" "
				 "setup header at 0x%x (a boot protocol "
				 "before 2.00, or not a bzImage)", HDR_MAGIC);
	u16 version = rd16(h, HDR_VERSION);
	if (version < PROTO_MIN)
		return load_fail(c, "Linux boot protocol %u.%02u is too old "
				 "(at least %u.%02u: the 32-bit entry and "
				 "cmd_line_ptr)", version >> 8, version & 0xff,
				 PROTO_MIN >> 8, PROTO_MIN & 0xff);
	if (!(rd8(h, HDR_LOADFLAGS) & LOADED_HIGH))
		return load_fail(c, "a zImage (loadflags LOADED_HIGH clear: "
				 "loaded below 1 MiB) is not supported");
	u64 hdr_end = HDR_JUMP + 2 + rd8(h, HDR_JUMP + 1);
	if (hdr_end < HDR_END_MIN)
		hdr_end = HDR_END_MIN;
	if (hdr_end > c->size || hdr_end > BP_E820_TABLE)
		return load_fail(c, "setup header ends at 0x%llx, beyond %s",
				 (unsigned long long)hdr_end,
				 hdr_end > c->size ? "the end of the file"
						   : "its place in boot_params");

	unsigned setup_sects = rd8(h, HDR_SETUP_SECTS);
	u64 kernel_off = (u64)((setup_sects ? setup_sects : 4) + 1) * 512;
	if (kernel_off >= c->size)
		return load_fail(c, "setup code (%llu bytes) fills the whole "
				 "file: no protected-mode kernel",
				 (unsigned long long)kernel_off);
	u64 kernel_size = c->size - kernel_off;
	u64 load = kernel_address(h, version);
	if (!load)
		return load_fail(c, "kernel_alignment 0x%x is not a power of "
				 "two", rd32(h, HDR_KERNEL_ALIGNMENT));
	if (load < LEGACY_HOLE_END)
		return load_fail(c, "kernel address 0x%llx is below 1 MiB",
				 (unsigned long long)load);
	/* init_size (2.10+): the memory the kernel needs from its load
	 * address on, to decompress and set itself up. */
	u64 need = kernel_size;
	if (version >= PROTO(2, 10))
		need = MAX(need, (u64)rd32(h, HDR_INIT_SIZE));
	if (load + need > c->vm->mem_bytes)
		return load_fail(c, "the kernel needs 0x%llx-0x%llx (init_size "
				 "0x%llx) but the VM has %llu MiB of RAM",
				 (unsigned long long)load,
				 (unsigned long long)(load + need),
				 (unsigned long long)need,
				 (unsigned long long)(c->vm->mem_bytes / MiB));

	u64 cmdline_max = version >= PROTO(2, 6) ? rd32(h, HDR_CMDLINE_SIZE)
						 : CMDLINE_SIZE_OLD;
	u64 cmdline_len = strlen(cmdline);
	cmdline_max = MIN(cmdline_max, (u64)PAGE_SIZE - 1);
	if (cmdline_len > cmdline_max)
		return load_fail(c, "guest command line is %llu bytes; this "
				 "kernel takes at most %llu",
				 (unsigned long long)cmdline_len,
				 (unsigned long long)cmdline_max);

	if (load_bytes(c, load, kernel_off, kernel_size, need, GDT_GPA,
		       BOOT_DATA_END, "boot data") < 0)
		return -1;
	if (write_gdt(c) < 0 || write_zero_page(c, hdr_end, load,
						 cmdline_len) < 0)
		return -1;
	if (cmdline_len && vm_write_phys(c->vm, CMDLINE_GPA, cmdline,
					 cmdline_len + 1) < 0)
		return load_fail(c, "out of memory writing the command line");

	struct vcpu *v = &c->vm->vcpu;
	v->boot.entry = load;
	v->boot.code_sel = BOOT_CS;
	v->boot.data_sel = BOOT_DS;
	v->regs = (struct guest_regs){
		.rip = load, .rsi = ZERO_PAGE_GPA,
		.rflags = 0x2,	/* bit 1 is always set; IF off */
	};
	return 0;
}
