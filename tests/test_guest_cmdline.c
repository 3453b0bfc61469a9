/*
 * test_guest_cmdline.c - the guest command-line parser (guest/cmdline.c).
 */
#include "cmdline.h"
#include "unit.h"

#define MIB (1024ull * 1024)

TEST(cmdline_defaults)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("", &c), 0);
	CHECK_EQ(c.nwork, 2);
	CHECK_EQ(c.work[0], WORK_TOUCH);
	CHECK_EQ(c.work[1], WORK_VERIFY);
	CHECK_EQ(c.seed, 1);
	CHECK_EQ(c.touch_bytes, 4 * MIB);
	CHECK_EQ(c.cow_pages, c.dup_pages / 2);
	CHECK_EQ(c.hostile, HOSTILE_NONE);
}

TEST(cmdline_skips_the_image_path)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("build/guest.elf work=pt seed=9", &c), 0);
	CHECK_EQ(c.nwork, 1);
	CHECK_EQ(c.work[0], WORK_PT);
	CHECK_EQ(c.seed, 9);
}

TEST(cmdline_full_example)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("  work=touch,dup,cow,verify touch=16M dup=64 "
			       "cow=8 seed=0x2a corrupt=1\t",
			       &c),
		 0);
	CHECK_EQ(c.nwork, 4);
	CHECK_EQ(c.work[2], WORK_COW);
	CHECK_EQ(c.touch_bytes, 16 * MIB);
	CHECK_EQ(c.dup_pages, 64);
	CHECK_EQ(c.cow_pages, 8);
	CHECK_EQ(c.seed, 42);
	CHECK_EQ(c.corrupt, 1);
}

TEST(cmdline_sizes)
{
	uint64_t v;
	CHECK_EQ(cmdline_parse_number("4K", 2, 1, &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(cmdline_parse_number("3m", 2, 1, &v), 0);
	CHECK_EQ(v, 3 * MIB);
	CHECK_EQ(cmdline_parse_number("1G", 2, 1, &v), 0);
	CHECK_EQ(v, 1024 * MIB);
	CHECK_EQ(cmdline_parse_number("0x1000", 6, 1, &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(cmdline_parse_number("4K", 2, 0, &v), -1);
	CHECK_EQ(cmdline_parse_number("K", 1, 1, &v), -1);
	CHECK_EQ(cmdline_parse_number("12x", 3, 1, &v), -1);
	CHECK_EQ(cmdline_parse_number("99999999999999999999", 20, 0, &v), -1);
	CHECK_EQ(cmdline_parse_number("17179869184G", 12, 1, &v), -1);
}

TEST(cmdline_errors_name_the_word)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("work=touch bogus=1", &c), -1);
	CHECK_STR(c.error, "unknown key 'bogus'");
	CHECK_EQ(cmdline_parse("work=touch,frob", &c), -1);
	CHECK_STR(c.error, "unknown workload 'frob' in work=");
	CHECK_EQ(cmdline_parse("work=touch,touch", &c), -1);
	CHECK_STR(c.error, "workload 'touch' listed twice");
	CHECK_EQ(cmdline_parse("seed=1 seed=2", &c), -1);
	CHECK_STR(c.error, "key 'seed' given twice");
	CHECK_EQ(cmdline_parse("touch=4M verbose", &c), -1);
	CHECK_STR(c.error, "word 'verbose' is not key=value");
	CHECK_EQ(cmdline_parse("touch=", &c), -1);
	CHECK_STR(c.error, "no value in 'touch='");
	CHECK_EQ(cmdline_parse("hostile=explode", &c), -1);
	CHECK_STR(c.error, "unknown hostile action 'explode'");
}

TEST(cmdline_value_checks)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("touch=1000", &c), -1);
	CHECK_STR(c.error, "touch=1000 is not a multiple of 4K");
	CHECK_EQ(cmdline_parse("touch=lots", &c), -1);
	CHECK_STR(c.error, "bad number 'lots' for touch=");
	CHECK_EQ(cmdline_parse("dup=0", &c), -1);
	CHECK_STR(c.error, "dup=0 out of range [1, 1048576]");
	CHECK_EQ(cmdline_parse("corrupt=2", &c), -1);
	CHECK_EQ(cmdline_parse("touch=32G", &c), -1);
}

TEST(cmdline_cross_key_rules)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("work=cow,dup", &c), -1);
	CHECK_STR(c.error, "workload 'cow' needs 'dup' before it in work=");
	CHECK_EQ(cmdline_parse("work=dup,cow dup=4 cow=5", &c), -1);
	CHECK_STR(c.error, "cow=5 exceeds dup=4");
	CHECK_EQ(cmdline_parse("work=dup,cow dup=1", &c), 0);
	CHECK_EQ(c.cow_pages, 1);
}

TEST(cmdline_hostile_alone_runs_no_workload)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("hostile=hcall-badgfn", &c), 0);
	CHECK_EQ(c.nwork, 0);
	CHECK_EQ(c.hostile, HOSTILE_HCALL_BADGFN);
	CHECK_STR(cmdline_hostile_name(c.hostile), "hcall-badgfn");
	CHECK_STR(cmdline_work_name(WORK_HOTCOLD), "hotcold");
}

TEST(cmdline_hostile_balloon_alias)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("hostile=balloon-alias seed=3", &c), 0);
	CHECK_EQ(c.nwork, 0);
	CHECK_EQ(c.hostile, HOSTILE_BALLOON_ALIAS);
	CHECK_STR(cmdline_hostile_name(c.hostile), "balloon-alias");
	CHECK_EQ(cmdline_parse("hostile=balloon-alia", &c), -1);
}

TEST(cmdline_share_workload_defaults)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("work=dup,settle,volatile,zero,cow,verify", &c),
		 0);
	CHECK_EQ(c.nwork, 6);
	CHECK_EQ(c.work[1], WORK_SETTLE);
	CHECK_EQ(c.work[2], WORK_VOLATILE);
	CHECK_EQ(c.work[3], WORK_ZERO);
	CHECK_EQ(c.work[4], WORK_COW);
	CHECK_EQ(c.settle_bound, CMDLINE_SETTLE_DEFAULT);
	CHECK_EQ(c.settle_shared, 0);
	CHECK_EQ(c.volatile_pages, 64);
	CHECK_EQ(c.vrounds, 32);
	CHECK_EQ(c.zero_pages, 64);
	CHECK_STR(cmdline_work_name(WORK_SETTLE), "settle");
	CHECK_STR(cmdline_work_name(WORK_VOLATILE), "volatile");
	CHECK_STR(cmdline_work_name(WORK_ZERO), "zero");
}

TEST(cmdline_share_workload_keys)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("work=settle settle=10000000 settle_shared=128 "
			       "volatile=65536 vrounds=100000 zero=0x100",
			       &c),
		 0);
	CHECK_EQ(c.settle_bound, 10000000);
	CHECK_EQ(c.settle_shared, 128);
	CHECK_EQ(c.volatile_pages, 65536);
	CHECK_EQ(c.vrounds, 100000);
	CHECK_EQ(c.zero_pages, 256);
	CHECK_EQ(cmdline_parse("settle=1 volatile=1 vrounds=1 zero=1 "
			       "settle_shared=0",
			       &c),
		 0);
	CHECK_EQ(c.settle_bound, 1);
	CHECK_EQ(c.volatile_pages, 1);
	CHECK_EQ(c.vrounds, 1);
	CHECK_EQ(c.zero_pages, 1);
}

TEST(cmdline_share_workload_ranges)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("settle=0", &c), -1);
	CHECK_STR(c.error, "settle=0 out of range [1, 10000000]");
	CHECK_EQ(cmdline_parse("settle=10000001", &c), -1);
	CHECK_STR(c.error, "settle=10000001 out of range [1, 10000000]");
	CHECK_EQ(cmdline_parse("settle_shared=0x100000001", &c), -1);
	CHECK_STR(c.error,
		  "settle_shared=0x100000001 out of range [0, 4294967296]");
	CHECK_EQ(cmdline_parse("volatile=0", &c), -1);
	CHECK_STR(c.error, "volatile=0 out of range [1, 65536]");
	CHECK_EQ(cmdline_parse("volatile=65537", &c), -1);
	CHECK_STR(c.error, "volatile=65537 out of range [1, 65536]");
	CHECK_EQ(cmdline_parse("vrounds=0", &c), -1);
	CHECK_STR(c.error, "vrounds=0 out of range [1, 100000]");
	CHECK_EQ(cmdline_parse("vrounds=100001", &c), -1);
	CHECK_EQ(cmdline_parse("zero=0", &c), -1);
	CHECK_STR(c.error, "zero=0 out of range [1, 1048576]");
	CHECK_EQ(cmdline_parse("zero=1048577", &c), -1);
	CHECK_EQ(cmdline_parse("volatile=4K", &c), -1);
	CHECK_STR(c.error, "bad number '4K' for volatile=");
	CHECK_EQ(cmdline_parse("settle=5 settle=6", &c), -1);
	CHECK_STR(c.error, "key 'settle' given twice");
	CHECK_EQ(cmdline_parse("settle_shared=1 settle_shared=1", &c), -1);
	CHECK_STR(c.error, "key 'settle_shared' given twice");
	CHECK_EQ(cmdline_parse("volatile=2 volatile=2", &c), -1);
	CHECK_STR(c.error, "key 'volatile' given twice");
	CHECK_EQ(cmdline_parse("work=zero,volatile,zero", &c), -1);
	CHECK_STR(c.error, "workload 'zero' listed twice");
	CHECK_EQ(cmdline_parse("work=settl", &c), -1);
	CHECK_STR(c.error, "unknown workload 'settl' in work=");
}

TEST(cmdline_balloon_driver_switch)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("work=touch", &c), 0);
	CHECK_EQ(c.balloon_off, 0);
	CHECK_EQ(c.balloon_pages, 64);
	CHECK_EQ(cmdline_parse("work=touch balloon=off", &c), 0);
	CHECK_EQ(c.balloon_off, 1);
	CHECK_EQ(cmdline_parse("work=touch balloon=on", &c), 0);
	CHECK_EQ(c.balloon_off, 0);
	/* The old meaning of balloon=N is refused with a pointer to the new
	 * key, not silently taken as on or off. */
	CHECK_EQ(cmdline_parse("work=balloon balloon=64", &c), -1);
	CHECK(strstr(c.error, "balloon_pages=") != NULL);
	CHECK_EQ(cmdline_parse("balloon=off balloon=on", &c), -1);
	CHECK_EQ(cmdline_parse("work=balloon balloon_pages=32768", &c), 0);
	CHECK_EQ(c.balloon_pages, CMDLINE_BALLOON_MAX);
	CHECK_EQ(cmdline_parse("work=balloon balloon_pages=32769", &c), -1);
}

TEST(cmdline_overcommit_workloads)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("work=dup,spill,grow,idle,verify", &c), 0);
	CHECK_EQ(c.nwork, 5);
	CHECK_EQ(c.work[1], WORK_SPILL);
	CHECK_EQ(c.work[2], WORK_GROW);
	CHECK_STR(cmdline_work_name(WORK_SPILL), "spill");
	CHECK_STR(cmdline_work_name(WORK_GROW), "grow");
	CHECK_EQ(c.spill_bytes, 8ull << 20);
	CHECK_EQ(c.spill_keep, 1ull << 20);
	CHECK_EQ(c.grow_bytes, 16ull << 20);
	CHECK_EQ(c.grow_step, 1ull << 20);
	CHECK_EQ(c.idle_ticks, 100);
	CHECK_EQ(c.idle_deflate, 0);
	CHECK_EQ(cmdline_parse("work=spill spill=4M spill_keep=0 grow=2M "
			       "grow_step=64K idle_ticks=7 idle_deflate=500",
			       &c), 0);
	CHECK_EQ(c.spill_bytes, 4ull << 20);
	CHECK_EQ(c.spill_keep, 0);
	CHECK_EQ(c.grow_bytes, 2ull << 20);
	CHECK_EQ(c.grow_step, 64ull << 10);
	CHECK_EQ(c.idle_ticks, 7);
	CHECK_EQ(c.idle_deflate, 500);
	CHECK_EQ(cmdline_parse("work=spill spill=1M spill_keep=2M", &c), -1);
	CHECK_STR(c.error, "spill_keep=2097152 exceeds spill=1048576");
	CHECK_EQ(cmdline_parse("work=grow grow=1M grow_step=2M", &c), -1);
	CHECK_STR(c.error, "grow_step=2097152 exceeds grow=1048576");
	CHECK_EQ(cmdline_parse("work=grow grow_step=5000", &c), -1);
	CHECK_EQ(cmdline_parse("work=idle halts=5", &c), -1);
	CHECK_STR(c.error, "unknown key 'halts'");
}

TEST(cmdline_hostile_balloon_touch)
{
	struct guest_config c;
	CHECK_EQ(cmdline_parse("hostile=balloon-touch balloon_pages=16", &c), 0);
	CHECK_EQ(c.hostile, HOSTILE_BALLOON_TOUCH);
	CHECK_STR(cmdline_hostile_name(c.hostile), "balloon-touch");
	CHECK_EQ(c.balloon_pages, 16);
}
