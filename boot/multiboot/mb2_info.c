/*
 * mb2_info.c - turns GRUB's multiboot2 information structure into the
 * struct boot_info that the UEFI loader would have built.
 *
 * Called once from mb2_entry.asm, in long mode on the early identity map
 * of the first 4 GiB, before the hypervisor proper starts.  The tags
 * (Multiboot2 spec, section 3.6) are copied out here, so nothing later
 * depends on the memory GRUB left them in.
 */
#include "../boot_info.h"
#include "../memmap.h"
#include "../../hv/fmt.h"
#include "../../hv/string.h"

/* Tag types (spec 3.6.x). */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
/* Memory map entry types (spec 3.6.8). */
#define MB2_MEM_AVAILABLE 1
#define MB2_MEM_ACPI_RECLAIMABLE 3
#define MB2_MEM_NVS 4
#define MB2_MEM_BADRAM 5

/* Where the BIOS keeps the RSDP (ACPI 6.4, 5.2.5.1). */
#define BDA_EBDA_SEGMENT 0x40e
#define BIOS_ROM_START 0xe0000
#define BIOS_ROM_END 0x100000

struct mb2_tag {
	u32 type;
	u32 size;
};

struct mb2_module {
	struct mb2_tag tag;
	u32 mod_start, mod_end;
	char string[];
};

struct mb2_mmap {
	struct mb2_tag tag;
	u32 entry_size, entry_version;
	u8 entries[];
};

struct mb2_mmap_entry {
	u64 base_addr, length;
	u32 type, reserved;
};

extern u8 _hv_start[], _hv_end[];

static struct boot_info mb2_bi;

static u32 mb2_mem_type(u32 t)
{
	switch (t) {
	case MB2_MEM_AVAILABLE: return BOOT_MEM_USABLE;
	case MB2_MEM_ACPI_RECLAIMABLE: return BOOT_MEM_ACPI_RECLAIM;
	case MB2_MEM_NVS: return BOOT_MEM_ACPI_NVS;
	case MB2_MEM_BADRAM: return BOOT_MEM_BAD;
	default: return BOOT_MEM_RESERVED;
	}
}

static void copy_string(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; i + 1 < cap && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

/*
 * GRUB does not pass a multiboot2 command line verbatim: it rebuilds it from
 * its parsed words, wrapping a word that contains blanks in double quotes
 * and putting a backslash before every ", ' and \ (grub_create_loader_cmdline
 * in GRUB 2.06).  Our grub.cfg passes the whole hypervisor command line as
 * one single-quoted word, so undoing exactly that (drop the unescaped
 * quotes, keep what follows each backslash) gives back the original.  Other
 * loaders pass the line as it is.
 */
static void copy_grub_cmdline(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	for (; *src && o + 1 < cap; src++) {
		if (*src == '"')
			continue;
		if (*src == '\\' && src[1])
			src++;
		dst[o++] = *src;
	}
	dst[o] = 0;
}

/* The module's name is the first word of its GRUB command line. */
static void module_name(char *dst, size_t cap, const char *s, u32 index)
{
	size_t i = 0;
	while (*s == ' ')
		s++;
	for (; i + 1 < cap && s[i] && s[i] != ' '; i++)
		dst[i] = s[i];
	dst[i] = 0;
	if (i == 0)
		fmt_snprintf(dst, cap, "module%u", index);
}

static u64 scan_rsdp(u64 start, u64 end)
{
	for (u64 p = start; p + 8 <= end; p += 16)
		if (!memcmp((const void *)p, "RSD PTR ", 8))
			return p;
	return 0;
}

/* A fixed low address: hidden from gcc, which assumes such pointers bogus. */
static u16 read_phys16(u64 pa)
{
	__asm__("" : "+r"(pa));
	return *(const volatile u16 *)pa;
}

static u64 find_rsdp(void)
{
	u64 ebda = (u64)read_phys16(BDA_EBDA_SEGMENT) << 4;
	u64 p = ebda ? scan_rsdp(ebda, ebda + 1024) : 0;
	return p ? p : scan_rsdp(BIOS_ROM_START, BIOS_ROM_END);
}

struct boot_info *mb2_boot_info(u64 mbi_pa)
{
	struct boot_info *bi = &mb2_bi;
	const u8 *mbi = (const u8 *)mbi_pa;
	u32 total = *(const u32 *)mbi;
	int n = 0;

	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	copy_string(bi->loader_name, sizeof(bi->loader_name), "multiboot2");

	const char *cmdline = NULL;

	for (u32 off = 8; off + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *tag = (const void *)(mbi + off);
		if (tag->type == MB2_TAG_END || tag->size < sizeof(*tag))
			break;

		switch (tag->type) {
		case MB2_TAG_CMDLINE:
			cmdline = (const char *)(tag + 1);
			break;
		case MB2_TAG_LOADER_NAME:
			fmt_snprintf(bi->loader_name, sizeof(bi->loader_name),
				     "multiboot2: %s", (const char *)(tag + 1));
			break;
		case MB2_TAG_MODULE: {
			const struct mb2_module *m = (const void *)tag;
			if (bi->module_count == BOOT_MODULES_MAX)
				break;	/* hv_main reports the overflow */
			struct boot_module *bm =
				&bi->modules[bi->module_count];
			bm->base = m->mod_start;
			bm->size = m->mod_end - m->mod_start;
			module_name(bm->name, sizeof(bm->name), m->string,
				    bi->module_count);
			bi->module_count++;
			n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX, bm->base,
				       bm->size, BOOT_MEM_MODULE);
			break;
		}
		case MB2_TAG_MMAP: {
			const struct mb2_mmap *mm = (const void *)tag;
			for (u32 e = 16; mm->entry_size &&
					 e + mm->entry_size <= tag->size;
			     e += mm->entry_size) {
				const struct mb2_mmap_entry *me =
					(const void *)((const u8 *)mm + e);
				n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX,
					       me->base_addr, me->length,
					       mb2_mem_type(me->type));
			}
			break;
		}
		}
		off += ALIGN_UP(tag->size, 8);
	}

	if (cmdline && !strncmp(bi->loader_name, "multiboot2: GRUB", 16))
		copy_grub_cmdline(bi->cmdline, sizeof(bi->cmdline), cmdline);
	else if (cmdline)
		copy_string(bi->cmdline, sizeof(bi->cmdline), cmdline);

	bi->hv_start = (u64)_hv_start;
	bi->hv_end = (u64)_hv_end;
	n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX, bi->hv_start,
		       bi->hv_end - bi->hv_start, BOOT_MEM_HV_IMAGE);
	n = memmap_normalize(bi->mmap, n, BOOT_MMAP_MAX);
	bi->mmap_count = n < 0 ? 0 : (u32)n;	/* 0: hv_main reports it */
	bi->rsdp = find_rsdp();
	return bi;
}
