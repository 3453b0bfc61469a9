/*
 * loader.c - memvisor's UEFI loader (a GNU-EFI application: BOOTX64.EFI).
 *
 * The boot volume (the FAT ESP the build makes) holds:
 *
 *   \EFI\BOOT\BOOTX64.EFI   this program
 *   \hv.elf                 the hypervisor, identity-linked at a physical address
 *   \hv.cfg                 the hypervisor command line ('#' starts a comment)
 *   \modules\*              guest images, each becoming a module named by its file
 *
 * Steps: read everything from the volume we were started from, check hv.elf
 * (boot/elf_check.c), claim the exact physical pages its PT_LOAD segments ask
 * for and copy them there, fill a struct boot_info, exit boot services and
 * jump to the ELF entry with the boot_info address in RDI.  UEFI's own page
 * tables identity-map all memory, so the jump needs no mode switch; the
 * hypervisor installs its own GDT, IDT and page tables at once.
 *
 * Every failure before ExitBootServices() prints one line on the console
 * (OVMF mirrors it on the serial port) and returns an error status to the
 * firmware.  After ExitBootServices() there is no console and no way back,
 * so the little that can fail there is reported on COM1 directly.
 */
#include <efi.h>
#include <efilib.h>

#include "../boot_info.h"
#include "../elf_check.h"
#include "../memmap.h"
#include "../../hv/fmt.h"

#define HV_PATH L"\\hv.elf"
#define CFG_PATH L"\\hv.cfg"
#define MODULES_DIR L"\\modules"
#define LOADER_NAME "memvisor UEFI loader (GNU-EFI)"

/* Modules and boot_info stay below 4 GiB so any early mapping reaches them. */
#define LOW_LIMIT 0xffffffffull
/* ExitBootServices() fails while the map key is stale; how often to retry. */
#define EBS_RETRIES 8

/* 16550 UART at COM1, for messages after ExitBootServices(). */
#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20

static struct boot_info *bi;
static struct elf_plan plan;
static char msg[256];

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void serial_puts(const char *s)
{
	for (; *s; s++) {
		for (int spin = 0; spin < 100000; spin++)
			if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
				break;
		outb(COM1, (u8)*s);
	}
}

static void say(const char *fmt, ...) __printf(1, 2);

/* One line on the UEFI console (which OVMF also copies to the serial port). */
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	Print(L"%a\n", msg);	/* Print() turns \n into CR LF */
}

static EFI_STATUS fail(EFI_STATUS st, const char *fmt, ...) __printf(2, 3);

/* Reports a failure before ExitBootServices() and returns st to the caller. */
static EFI_STATUS fail(EFI_STATUS st, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	say("[boot] error: %s", why);
	say("HV RESULT: FAIL loader: %s", why);
	return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
}

static const char *status_name(EFI_STATUS st)
{
	static CHAR16 wide[64];
	static char narrow[64];

	StatusToString(wide, st);
	for (int i = 0; i < 63 && wide[i]; i++) {
		narrow[i] = (char)wide[i];
		narrow[i + 1] = 0;
	}
	return narrow;
}

static void to_ascii(char *dst, size_t cap, const CHAR16 *src)
{
	size_t i = 0;
	for (; i + 1 < cap && src[i]; i++)
		dst[i] = src[i] < 0x80 ? (char)src[i] : '?';
	dst[i] = 0;
}

/* Reads a whole file; the buffer comes from pool or, if pages, from pages. */
static EFI_STATUS read_file(EFI_FILE_HANDLE dir, CHAR16 *path, bool pages,
			    void **buf, u64 *size)
{
	EFI_FILE_HANDLE f;
	EFI_STATUS st;

	st = uefi_call_wrapper(dir->Open, 5, dir, &f, path, EFI_FILE_MODE_READ,
			       0);
	if (EFI_ERROR(st))
		return st;
	EFI_FILE_INFO *info = LibFileInfo(f);
	if (!info) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_DEVICE_ERROR;
	}
	UINTN n = info->FileSize;
	FreePool(info);

	if (pages) {
		EFI_PHYSICAL_ADDRESS pa = LOW_LIMIT;
		st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
				       EfiLoaderData,
				       EFI_SIZE_TO_PAGES(n ? n : 1), &pa);
		*buf = (void *)(UINTN)pa;
	} else {
		*buf = AllocatePool(n ? n : 1);
		st = *buf ? EFI_SUCCESS : EFI_OUT_OF_RESOURCES;
	}
	if (!EFI_ERROR(st))
		st = uefi_call_wrapper(f->Read, 3, f, &n, *buf);
	uefi_call_wrapper(f->Close, 1, f);
	*size = n;
	return st;
}

/*
 * hv.cfg -> one command line: line breaks become spaces, '#' comments and
 * surrounding blanks are dropped.  Inside double quotes (a guest's args=,
 * a console pattern) '#' is a byte and blanks are kept as they are.
 */
static EFI_STATUS load_cmdline(EFI_FILE_HANDLE root)
{
	char *text;
	u64 size, o = 0;
	bool comment = false, quoted = false;

	EFI_STATUS st = read_file(root, CFG_PATH, false, (void **)&text, &size);
	if (st == EFI_NOT_FOUND) {
		say("[boot] no hv.cfg on the boot volume: empty command line");
		return EFI_SUCCESS;
	}
	if (EFI_ERROR(st))
		return fail(st, "cannot read hv.cfg: %s", status_name(st));

	for (u64 i = 0; i < size; i++) {
		char c = text[i];
		if (c == '\n' || c == '\r') {
			comment = false;
			c = ' ';
		} else if (comment) {
			continue;
		} else if (c == '#' && !quoted) {
			comment = true;
			continue;
		} else if (c == '"') {
			quoted = !quoted;
		}
		if (c == ' ' && !quoted && (o == 0 || bi->cmdline[o - 1] == ' '))
			continue;
		if (c < ' ' && c != '\t')
			return fail(EFI_LOAD_ERROR,
				    "hv.cfg: control character 0x%02x at byte %llu",
				    (u8)c, (unsigned long long)i);
		if (o + 1 >= BOOT_CMDLINE_MAX)
			return fail(EFI_BUFFER_TOO_SMALL,
				    "hv.cfg: command line longer than %d bytes",
				    BOOT_CMDLINE_MAX - 1);
		bi->cmdline[o++] = c;
	}
	while (o > 0 && bi->cmdline[o - 1] == ' ')
		o--;
	bi->cmdline[o] = 0;
	FreePool(text);
	return EFI_SUCCESS;
}

/* Every regular file in \modules becomes a module, named by its file name. */
static EFI_STATUS load_modules(EFI_FILE_HANDLE root)
{
	EFI_FILE_HANDLE dir;
	EFI_STATUS st;
	UINT8 entry[SIZE_OF_EFI_FILE_INFO + 256 * sizeof(CHAR16)];

	st = uefi_call_wrapper(root->Open, 5, root, &dir, MODULES_DIR,
			       EFI_FILE_MODE_READ, 0);
	if (st == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(st))
		return fail(st, "cannot open \\modules: %s", status_name(st));

	for (;;) {
		UINTN n = sizeof(entry);
		EFI_FILE_INFO *info = (EFI_FILE_INFO *)entry;

		st = uefi_call_wrapper(dir->Read, 3, dir, &n, entry);
		if (EFI_ERROR(st))
			return fail(st, "cannot list \\modules: %s",
				    status_name(st));
		if (n == 0)
			break;
		if (info->Attribute & EFI_FILE_DIRECTORY)
			continue;
		if (bi->module_count == BOOT_MODULES_MAX)
			return fail(EFI_OUT_OF_RESOURCES,
				    "more than %d files in \\modules",
				    BOOT_MODULES_MAX);

		struct boot_module *m = &bi->modules[bi->module_count];
		void *buf;
		to_ascii(m->name, sizeof(m->name), info->FileName);
		st = read_file(dir, info->FileName, true, &buf, &m->size);
		if (EFI_ERROR(st))
			return fail(st, "cannot read module %s: %s", m->name,
				    status_name(st));
		m->base = (u64)(UINTN)buf;
		bi->module_count++;
		say("[boot] module %s: %llu bytes at 0x%llx", m->name,
		    (unsigned long long)m->size, (unsigned long long)m->base);
	}
	uefi_call_wrapper(dir->Close, 1, dir);
	return EFI_SUCCESS;
}

static u32 uefi_type(UINT32 t)
{
	switch (t) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_USABLE;
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
		return BOOT_MEM_FIRMWARE;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BOOT_MEM_BAD;
	default:
		return BOOT_MEM_RESERVED;
	}
}

/*
 * Converts the UEFI map into bi->mmap, marks what we loaded and normalizes.
 * Runs before ExitBootServices() (to check hv.elf against RAM) and again
 * after it, when it must not allocate; it does not.
 */
static int build_mmap(const UINT8 *map, UINTN map_size, UINTN desc_size)
{
	int n = 0;

	for (UINTN off = 0; off + desc_size <= map_size; off += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX, d->PhysicalStart,
			       d->NumberOfPages * EFI_PAGE_SIZE,
			       uefi_type(d->Type));
		if (n < 0)
			return -1;
	}
	for (int i = 0; i < plan.count && n >= 0; i++)
		n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX, plan.seg[i].paddr,
			       plan.seg[i].memsz, BOOT_MEM_HV_IMAGE);
	for (u32 i = 0; i < bi->module_count && n >= 0; i++)
		n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX, bi->modules[i].base,
			       bi->modules[i].size, BOOT_MEM_MODULE);
	if (n >= 0)
		n = memmap_add(bi->mmap, n, BOOT_MMAP_MAX, (u64)(UINTN)bi,
			       sizeof(*bi), BOOT_MEM_LOADER);
	if (n >= 0)
		n = memmap_normalize(bi->mmap, n, BOOT_MMAP_MAX);
	bi->mmap_count = n < 0 ? 0 : (u32)n;
	return n;
}

static EFI_STATUS get_map(UINT8 **map, UINTN *size, UINTN *cap, UINTN *key,
			  UINTN *desc_size)
{
	UINT32 desc_ver;

	*size = *cap;
	return uefi_call_wrapper(BS->GetMemoryMap, 5, size,
				 (EFI_MEMORY_DESCRIPTOR *)*map, key, desc_size,
				 &desc_ver);
}

/* Allocates a map buffer with room for the descriptors our own calls add. */
static EFI_STATUS alloc_map(UINT8 **map, UINTN *cap)
{
	UINTN size = 0, key, desc_size;
	UINT32 ver;
	EFI_STATUS st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL,
					  &key, &desc_size, &ver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return st;
	*cap = size + 32 * desc_size;
	*map = AllocatePool(*cap);
	return *map ? EFI_SUCCESS : EFI_OUT_OF_RESOURCES;
}

/* Checks hv.elf against the current map and copies its segments in place. */
static EFI_STATUS load_hv(const void *image, u64 size)
{
	UINT8 *map;
	UINTN map_size, cap, key, desc_size;
	char why[160];
	EFI_STATUS st;

	st = alloc_map(&map, &cap);
	if (!EFI_ERROR(st))
		st = get_map(&map, &map_size, &cap, &key, &desc_size);
	if (EFI_ERROR(st))
		return fail(st, "GetMemoryMap: %s", status_name(st));
	if (build_mmap(map, map_size, desc_size) < 0)
		return fail(EFI_BUFFER_TOO_SMALL,
			    "memory map has more than %d ranges", BOOT_MMAP_MAX);
	FreePool(map);

	if (elf_check_hv(image, size, bi->mmap, (int)bi->mmap_count, &plan, why,
			 sizeof(why)) < 0)
		return fail(EFI_LOAD_ERROR, "hv.elf: %s", why);

	for (int i = 0; i < plan.count; i++) {
		const struct elf_segment *s = &plan.seg[i];
		EFI_PHYSICAL_ADDRESS pa = s->paddr;

		st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress,
				       EfiLoaderData,
				       EFI_SIZE_TO_PAGES(s->memsz), &pa);
		if (EFI_ERROR(st))
			return fail(st,
				    "hv.elf: cannot claim 0x%llx-0x%llx for "
				    "segment %d: %s (in use by the firmware)",
				    (unsigned long long)s->paddr,
				    (unsigned long long)(s->paddr + s->memsz),
				    i, status_name(st));
		CopyMem((void *)(UINTN)s->paddr, (const UINT8 *)image + s->offset,
			s->filesz);
		SetMem((UINT8 *)(UINTN)s->paddr + s->filesz,
		       s->memsz - s->filesz, 0);
	}
	bi->hv_start = plan.lo;
	bi->hv_end = plan.hi;
	say("[boot] hv.elf: %d segments at 0x%llx-0x%llx, entry 0x%llx",
	    plan.count, (unsigned long long)plan.lo,
	    (unsigned long long)plan.hi, (unsigned long long)plan.entry);
	return EFI_SUCCESS;
}

static u64 find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	u64 found = 0;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (!CompareGuid(&t->VendorGuid, &acpi20))
			return (u64)(UINTN)t->VendorTable;
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			found = (u64)(UINTN)t->VendorTable;
	}
	return found;
}

static void __noreturn halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/*
 * Takes the final map and exits boot services.  The map key goes stale
 * whenever the firmware allocates (a timer event may), and then
 * ExitBootServices() fails; per the UEFI spec we may then only call
 * GetMemoryMap() again, into the buffer we already have, and retry.
 */
static EFI_STATUS exit_boot_services(EFI_HANDLE image)
{
	UINT8 *map;
	UINTN map_size, cap, key, desc_size;
	EFI_STATUS st = alloc_map(&map, &cap);

	if (EFI_ERROR(st))
		return fail(st, "GetMemoryMap: %s", status_name(st));
	say("[boot] exiting boot services, jumping to hv.elf");
	for (int attempt = 0; attempt < EBS_RETRIES; attempt++) {
		st = get_map(&map, &map_size, &cap, &key, &desc_size);
		if (EFI_ERROR(st))
			break;
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (!EFI_ERROR(st))
			break;
	}
	if (EFI_ERROR(st)) {
		/* Boot services may be half gone: use the UART, not ConOut. */
		serial_puts("[boot] error: ExitBootServices failed\r\n"
			    "HV RESULT: FAIL loader: ExitBootServices failed\r\n");
		halt_forever();
	}
	if (build_mmap(map, map_size, desc_size) < 0) {
		serial_puts("[boot] error: final memory map has too many ranges\r\n"
			    "HV RESULT: FAIL loader: memory map too large\r\n");
		halt_forever();
	}
	return EFI_SUCCESS;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root;
	EFI_PHYSICAL_ADDRESS bi_pa = LOW_LIMIT;
	void *hv;
	u64 hv_size;
	EFI_STATUS st;

	InitializeLib(image, systab);
	say("[boot] %s", LOADER_NAME);

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image,
			       &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return fail(st, "no loaded-image protocol: %s", status_name(st));
	root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		return fail(EFI_NOT_FOUND, "cannot open the boot volume");

	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
			       EfiLoaderData,
			       EFI_SIZE_TO_PAGES(sizeof(struct boot_info)), &bi_pa);
	if (EFI_ERROR(st))
		return fail(st, "cannot allocate boot_info: %s",
			    status_name(st));
	bi = (struct boot_info *)(UINTN)bi_pa;
	SetMem(bi, sizeof(*bi), 0);
	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	fmt_snprintf(bi->loader_name, sizeof(bi->loader_name), "%s",
		     LOADER_NAME);

	st = read_file(root, HV_PATH, false, &hv, &hv_size);
	if (st == EFI_NOT_FOUND)
		return fail(st, "hv.elf not found on the boot volume");
	if (EFI_ERROR(st))
		return fail(st, "cannot read hv.elf: %s", status_name(st));
	st = load_cmdline(root);
	if (!EFI_ERROR(st))
		st = load_modules(root);
	if (!EFI_ERROR(st))
		st = load_hv(hv, hv_size);
	if (EFI_ERROR(st))
		return st;
	FreePool(hv);
	bi->rsdp = find_rsdp();

	st = exit_boot_services(image);
	if (EFI_ERROR(st))
		return st;

	/* The hypervisor's entry takes boot_info in RDI (System V ABI). */
	__asm__ volatile("cli\n\t"
			 "jmp *%1"
			 :
			 : "D"(bi), "r"(plan.entry)
			 : "memory");
	halt_forever();
}
