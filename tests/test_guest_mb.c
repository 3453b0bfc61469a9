/*
 * test_guest_mb.c - reading the multiboot info (guest/mb.c) out of a fake
 * guest-physical buffer laid out the way QEMU's loader lays it out.
 */
#include "mb.h"
#include "unit.h"

#define FAKE_BASE 0x9000ull
#define CMDLINE_AT 0x9100ull
#define MMAP_AT 0x9200ull

static uint8_t phys[4096];

static uint64_t offset(void)
{
	return (uint64_t)(uintptr_t)phys - FAKE_BASE;
}

static struct mb_info *info(void)
{
	return (struct mb_info *)phys;
}

static void put_entry(int i, uint64_t base, uint64_t len, uint32_t type)
{
	struct mb_mmap_entry e = { 20, base, len, type };
	memcpy(phys + (MMAP_AT - FAKE_BASE) + i * sizeof(e), &e, sizeof(e));
}

static void make_qemu_like(void)
{
	memset(phys, 0, sizeof(phys));
	info()->flags = MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MMAP;
	info()->mem_lower = 639;
	info()->mem_upper = 130944;
	info()->cmdline = CMDLINE_AT;
	strcpy((char *)phys + (CMDLINE_AT - FAKE_BASE),
	       "build/guest.elf work=touch");
	info()->mmap_addr = MMAP_AT;
	info()->mmap_length = 3 * sizeof(struct mb_mmap_entry);
	put_entry(0, 0, 0x9FC00, MB_MMAP_AVAILABLE);
	put_entry(1, 0x9FC00, 0x400, 2);
	put_entry(2, 0x100000, 0x7EE0000, MB_MMAP_AVAILABLE);
}

TEST(mb_reads_mmap_and_cmdline)
{
	struct boot_mem m;
	make_qemu_like();
	CHECK_EQ(mb_read(FAKE_BASE, offset(), &m), 0);
	CHECK_EQ(m.nregions, 3);
	CHECK_EQ(m.region[2].base, 0x100000);
	CHECK_EQ(m.region[2].length, 0x7EE0000);
	CHECK_EQ(m.region[1].type, 2);
	CHECK_STR(m.cmdline, "build/guest.elf work=touch");
	CHECK_EQ(boot_ram_top(&m), 0x7FE0000);
	CHECK(!m.from_mem_fields);
}

TEST(mb_records_loader_structures_as_reserved)
{
	struct boot_mem m;
	make_qemu_like();
	mb_read(FAKE_BASE, offset(), &m);
	CHECK_EQ(m.nreserved, 3);
	CHECK_EQ(m.reserved[0].base, FAKE_BASE);
	CHECK_EQ(m.reserved[1].base, CMDLINE_AT);
	CHECK_EQ(m.reserved[1].length, strlen("build/guest.elf work=touch") + 1);
	CHECK_EQ(m.reserved[2].base, MMAP_AT);
	CHECK_EQ(m.reserved[2].length, 72);
}

TEST(mb_falls_back_to_mem_fields)
{
	struct boot_mem m;
	make_qemu_like();
	info()->flags = MB_INFO_MEM;
	CHECK_EQ(mb_read(FAKE_BASE, offset(), &m), 0);
	CHECK(m.from_mem_fields);
	CHECK_EQ(m.nregions, 2);
	CHECK_EQ(m.region[1].base, 0x100000);
	CHECK_EQ(m.region[1].length, 130944ull * 1024);
	CHECK_STR(m.cmdline, "");
}

TEST(mb_without_memory_information_fails)
{
	struct boot_mem m;
	make_qemu_like();
	info()->flags = MB_INFO_CMDLINE;
	CHECK_EQ(mb_read(FAKE_BASE, offset(), &m), -1);
}

TEST(mb_stops_at_a_corrupt_entry_size)
{
	struct boot_mem m;
	make_qemu_like();
	/* size 0 would otherwise loop forever on the same entry */
	struct mb_mmap_entry *e =
		(struct mb_mmap_entry *)(phys + (MMAP_AT - FAKE_BASE) + 24);
	e->size = 0;
	CHECK_EQ(mb_read(FAKE_BASE, offset(), &m), 0);
	CHECK_EQ(m.nregions, 1);
}

TEST(mb_truncates_a_long_cmdline)
{
	struct boot_mem m;
	make_qemu_like();
	char *s = (char *)phys + (CMDLINE_AT - FAKE_BASE);
	memset(s, 'x', BOOT_CMDLINE_MAX + 100);
	s[BOOT_CMDLINE_MAX + 100] = '\0';
	info()->mmap_addr = 0x9000 + 4000; /* keep the mmap out of the way */
	info()->mmap_length = 0;
	info()->flags = MB_INFO_MEM | MB_INFO_CMDLINE;
	CHECK_EQ(mb_read(FAKE_BASE, offset(), &m), 0);
	CHECK(m.cmdline_truncated);
	CHECK_EQ(strlen(m.cmdline), BOOT_CMDLINE_MAX - 1);
}
