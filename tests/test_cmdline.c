/*
 * test_cmdline.c - hv/cmdline.c (the lexer: blanks, quotes, key=value,
 * numbers, sizes) and hv/config.c (what vm= and selftest= mean).
 *
 * Every syntax error and every bad value must be refused with a message that
 * names the offending text: a typo on the command line must never be
 * silently ignored.
 */
#include "../hv/cmdline.h"
#include "../hv/config.h"
#include "unit.h"

/* kv's key and value as C strings, for CHECK_STR. */
static char key_s[128], val_s[512];
static void kv_strings(const struct cmdline_kv *kv)
{
	snprintf(key_s, sizeof(key_s), "%.*s", (int)kv->key_len, kv->key);
	snprintf(val_s, sizeof(val_s), "%.*s", (int)kv->val_len, kv->val);
}

/* --- cmdline_next ------------------------------------------------------ */

/* An empty or all-blank line has no pairs, and *pos stops at the NUL. */
TEST(cmdline_empty_and_blank)
{
	struct cmdline_kv kv;
	char err[64] = "";
	const char *line = "", *pos = line;
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 0);
	CHECK(pos == line);

	line = " \t\r\n  ";
	pos = line;
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 0);
	CHECK(pos == line + 6);
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 0);	/* stays */
	CHECK_STR(err, "");
}

/* Pairs are split at any run of blanks; each call returns the next. */
TEST(cmdline_splits_pairs)
{
	struct cmdline_kv kv;
	char err[64];
	const char *line = "  a=1 \t bb=two\nc=3\r\n", *pos = line;

	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "a");
	CHECK_STR(val_s, "1");
	CHECK(kv.key == line + 2);
	CHECK(pos == line + 5);
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "bb");
	CHECK_STR(val_s, "two");
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "c");
	CHECK_STR(val_s, "3");
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 0);
}

/* Keys are [A-Za-z0-9_.-]+; the value is everything after the first '='. */
TEST(cmdline_key_chars_and_value)
{
	struct cmdline_kv kv;
	char err[64];
	const char *pos = "Key_1-x.Y=v=w,z";
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "Key_1-x.Y");
	CHECK_STR(val_s, "v=w,z");
	CHECK_EQ(kv.key_len, 9);
	CHECK_EQ(kv.val_len, 5);
}

/* Quotes keep blanks inside one value; the quotes stay in the value. */
TEST(cmdline_quotes)
{
	struct cmdline_kv kv;
	char err[64];
	const char *pos = "vm=g.elf,args=\"work=touch  seed=7\" x=\"\" y=a\"b c\"d";

	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "vm");
	CHECK_STR(val_s, "g.elf,args=\"work=touch  seed=7\"");
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "x");
	CHECK_STR(val_s, "\"\"");
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(val_s, "a\"b c\"d");
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 0);
}

/* Malformed tokens: the message quotes the whole token. */
TEST(cmdline_syntax_errors)
{
	struct cmdline_kv kv;
	char err[128];
	const char *pos;

	pos = "novalue";
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK_STR(err, "expected key=value, got 'novalue'");

	pos = "=value";
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK_STR(err, "expected key=value, got '=value'");

	pos = "a/b=1";	/* '/' is not a key character */
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK_STR(err, "expected key=value, got 'a/b=1'");

	pos = "\"vm\"=x";	/* keys cannot be quoted */
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK_STR(err, "expected key=value, got '\"vm\"=x'");

	pos = "  mem=";
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK_STR(err, "empty value for key 'mem'");

	pos = "vm=a,args=\"x y";
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK_STR(err, "unterminated quote in 'vm=a,args=\"x y'");
	CHECK_EQ(*pos, 0);
}

/* After an error *pos is past the bad token, so the caller could go on. */
TEST(cmdline_error_advances)
{
	struct cmdline_kv kv;
	char err[64];
	const char *line = "bad ok=1", *pos = line;
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), -1);
	CHECK(pos == line + 3);
	CHECK_EQ(cmdline_next(&pos, &kv, err, sizeof(err)), 1);
	kv_strings(&kv);
	CHECK_STR(key_s, "ok");
}

/* A short error buffer is truncated and terminated, never overrun. */
TEST(cmdline_error_truncated)
{
	struct cmdline_kv kv;
	char err[16];
	const char *pos = "this-token-is-far-too-long-for-the-buffer";
	memset(err, '#', sizeof(err));
	CHECK_EQ(cmdline_next(&pos, &kv, err, 8), -1);
	CHECK_STR(err, "expecte");
	CHECK_EQ(err[8], '#');
}

/* --- numbers ----------------------------------------------------------- */

static int u64_of(const char *s, u64 *v)
{
	*v = 0xabababab;
	return parse_u64(s, strlen(s), v);
}

/* parse_u64: decimal and 0x hex up to 2^64-1; anything else is refused
 * and *out is left alone. */
TEST(parse_u64_values)
{
	u64 v;
	CHECK_EQ(u64_of("0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(u64_of("42", &v), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(u64_of("007", &v), 0);	/* leading zeros: still decimal */
	CHECK_EQ(v, 7);
	CHECK_EQ(u64_of("18446744073709551615", &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK_EQ(u64_of("0x0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(u64_of("0xdeadBEEF", &v), 0);
	CHECK_EQ(v, 0xdeadbeef);
	CHECK_EQ(u64_of("0XFF", &v), 0);
	CHECK_EQ(v, 255);
	CHECK_EQ(u64_of("0xFFFFFFFFFFFFFFFF", &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK_EQ(u64_of("0x00000000000000001", &v), 0);	/* 17 digits, = 1 */
	CHECK_EQ(v, 1);
	/* The length bounds the parse. */
	CHECK_EQ(parse_u64("123456", 3, &v), 0);
	CHECK_EQ(v, 123);
	CHECK_EQ(parse_u64("0x10zz", 4, &v), 0);
	CHECK_EQ(v, 16);
}

TEST(parse_u64_rejects)
{
	static const char *const bad[] = {
		"", "0x", "0X", "x1", "-1", "+1", " 1", "1 ", "12a", "1_000",
		"0x1g", "0xx1", "abc", "1.5",
		"18446744073709551616",		/* 2^64 */
		"99999999999999999999",
		"0x10000000000000000",		/* 2^64 */
		"0x1ffffffffffffffff",
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		u64 v;
		int rc = u64_of(bad[i], &v);
		if (rc != -1 || v != 0xabababab)
			printf("  parse_u64(\"%s\") accepted\n", bad[i]);
		CHECK_EQ(rc, -1);
		CHECK_EQ(v, 0xabababab);
	}
	u64 v = 5;
	CHECK_EQ(parse_u64("12", 0, &v), -1);	/* empty by length */
	CHECK_EQ(v, 5);
}

static int size_of(const char *s, u64 *v)
{
	*v = 0xabababab;
	return parse_size(s, strlen(s), v);
}

/* parse_size: plain numbers, K/M/G binary suffixes in either case, hex
 * without a suffix. */
TEST(parse_size_values)
{
	u64 v;
	CHECK_EQ(size_of("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(size_of("0x1000", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(size_of("64K", &v), 0);
	CHECK_EQ(v, 64 * KiB);
	CHECK_EQ(size_of("64k", &v), 0);
	CHECK_EQ(v, 64 * KiB);
	CHECK_EQ(size_of("32M", &v), 0);
	CHECK_EQ(v, 32 * MiB);
	CHECK_EQ(size_of("32m", &v), 0);
	CHECK_EQ(v, 32 * MiB);
	CHECK_EQ(size_of("1G", &v), 0);
	CHECK_EQ(v, GiB);
	CHECK_EQ(size_of("3g", &v), 0);
	CHECK_EQ(v, 3 * GiB);
	CHECK_EQ(size_of("0K", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(size_of("17179869183G", &v), 0);	/* 2^64 - 1 GiB */
	CHECK_EQ(v, UINT64_MAX - GiB + 1);
	CHECK_EQ(size_of("18014398509481983K", &v), 0);	/* 2^64 - 1 KiB */
	CHECK_EQ(v, UINT64_MAX - KiB + 1);
	CHECK_EQ(size_of("18446744073709551615", &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	/* The length bounds the parse: "16M" of "16Mxyz". */
	CHECK_EQ(parse_size("16Mxyz", 3, &v), 0);
	CHECK_EQ(v, 16 * MiB);
}

TEST(parse_size_rejects)
{
	static const char *const bad[] = {
		"", "K", "M", "g", "0x10M", "0x1k", "0XG", "4T", "4KB", "4KK",
		"1.5G", "-1M", " 1M", "1M ", "M1", "0x", "ten",
		"17179869184G",		/* 2^64 */
		"18014398509481984K",	/* 2^64 */
		"17592186044416M",	/* 2^64 */
		"18446744073709551616",
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		u64 v;
		int rc = size_of(bad[i], &v);
		if (rc != -1 || v != 0xabababab)
			printf("  parse_size(\"%s\") accepted: 0x%llx\n", bad[i],
			       (unsigned long long)v);
		CHECK_EQ(rc, -1);
		CHECK_EQ(v, 0xabababab);
	}
}

/* token_is compares a counted string with a C string, exactly. */
TEST(token_is_exact)
{
	CHECK(token_is("vm", 2, "vm"));
	CHECK(token_is("vm=x", 2, "vm"));
	CHECK(!token_is("vm", 1, "vm"));	/* prefix of the word */
	CHECK(!token_is("vmx", 3, "vm"));	/* word is a prefix */
	CHECK(!token_is("VM", 2, "vm"));	/* case matters */
	CHECK(!token_is("vn", 2, "vm"));
	CHECK(token_is("", 0, ""));
	CHECK(!token_is("", 0, "vm"));
	CHECK(!token_is("x", 1, ""));
	CHECK(token_is("selftest", 8, "selftest"));
}

/* --- config_parse ------------------------------------------------------ */

static struct hv_config cfg;
static char err[512];

static int parse(const char *line)
{
	memset(&cfg, 0x5a, sizeof(cfg));
	strcpy(err, "<untouched>");
	return config_parse(&cfg, line, err, sizeof(err));
}

/* An empty command line: no VMs, no selftest. */
TEST(config_empty)
{
	CHECK_EQ(parse(""), 0);
	CHECK_EQ(cfg.vm_count, 0);
	CHECK_EQ(cfg.selftest, SELFTEST_NONE);
	CHECK_EQ(parse("  \t\n"), 0);
	CHECK_EQ(cfg.vm_count, 0);
	CHECK_STR(err, "<untouched>");
}

/* vm=MODULE alone: default memory, empty args. */
TEST(config_vm_module_only)
{
	CHECK_EQ(parse("vm=guest.elf"), 0);
	CHECK_EQ(cfg.vm_count, 1);
	CHECK_STR(cfg.vms[0].module, "guest.elf");
	CHECK_EQ(cfg.vms[0].mem, CONFIG_DEFAULT_VM_MEM);
	CHECK_EQ(cfg.vms[0].mem, 32 * MiB);
	CHECK_STR(cfg.vms[0].args, "");
	CHECK_EQ(cfg.selftest, SELFTEST_NONE);
}

/* mem= in every accepted spelling. */
TEST(config_vm_mem)
{
	CHECK_EQ(parse("vm=a,mem=64M"), 0);
	CHECK_EQ(cfg.vms[0].mem, 64 * MiB);
	CHECK_EQ(parse("vm=a,mem=1g"), 0);
	CHECK_EQ(cfg.vms[0].mem, GiB);
	CHECK_EQ(parse("vm=a,mem=0x100000"), 0);
	CHECK_EQ(cfg.vms[0].mem, MiB);
	CHECK_EQ(parse("vm=a,mem=4096"), 0);
	CHECK_EQ(cfg.vms[0].mem, 4096);
	CHECK_STR(cfg.vms[0].module, "a");
}

/* args="..." keeps blanks and commas and drops the surrounding quotes;
 * options may come in any order. */
TEST(config_vm_args)
{
	CHECK_EQ(parse("vm=g.elf,args=\"work=touch,dup seed=7\",mem=16M"), 0);
	CHECK_EQ(cfg.vm_count, 1);
	CHECK_STR(cfg.vms[0].module, "g.elf");
	CHECK_STR(cfg.vms[0].args, "work=touch,dup seed=7");
	CHECK_EQ(cfg.vms[0].mem, 16 * MiB);

	CHECK_EQ(parse("vm=g.elf,mem=8M,args=\"  a  ,, b \""), 0);
	CHECK_STR(cfg.vms[0].args, "  a  ,, b ");
	CHECK_EQ(cfg.vms[0].mem, 8 * MiB);

	CHECK_EQ(parse("vm=g.elf,args=plain"), 0);	/* quotes optional */
	CHECK_STR(cfg.vms[0].args, "plain");
	CHECK_EQ(parse("vm=g.elf,args=\"\""), 0);
	CHECK_STR(cfg.vms[0].args, "");
}

/* Several VMs, each with its own settings and defaults, plus a selftest. */
TEST(config_several_vms)
{
	CHECK_EQ(parse("vm=one.elf,mem=64M selftest=ud\n"
		       "vm=two.elf,args=\"seed=2\"  vm=three.elf,mem=128K"),
		 0);
	CHECK_EQ(cfg.vm_count, 3);
	CHECK_STR(cfg.vms[0].module, "one.elf");
	CHECK_EQ(cfg.vms[0].mem, 64 * MiB);
	CHECK_STR(cfg.vms[0].args, "");
	CHECK_STR(cfg.vms[1].module, "two.elf");
	CHECK_EQ(cfg.vms[1].mem, CONFIG_DEFAULT_VM_MEM);
	CHECK_STR(cfg.vms[1].args, "seed=2");
	CHECK_STR(cfg.vms[2].module, "three.elf");
	CHECK_EQ(cfg.vms[2].mem, 128 * KiB);
	CHECK_EQ(cfg.selftest, SELFTEST_UD);
}

/* An unknown vm option names the option and the VM's index. */
TEST(config_vm_unknown_option)
{
	CHECK_EQ(parse("vm=a,cpus=2"), -1);
	CHECK_STR(err, "vm0: unknown option 'cpus=2' (known: mem=SIZE, "
		       "args=\"...\", expect=N|stopped, share_group=N, shares=N, "
		       "runtime=S, paging=slat|shadow, expect_console=\"RE\", "
		       "forbid_console=\"RE\")");
	CHECK_EQ(parse("vm=a vm=b,memory=1M"), -1);
	CHECK_STR(err, "vm1: unknown option 'memory=1M' (known: mem=SIZE, "
		       "args=\"...\", expect=N|stopped, share_group=N, shares=N, "
		       "runtime=S, paging=slat|shadow, expect_console=\"RE\", "
		       "forbid_console=\"RE\")");
	CHECK_EQ(parse("vm=a,Mem=1M"), -1);	/* case matters */
	CHECK(strstr(err, "unknown option 'Mem=1M'") != NULL);
	CHECK_EQ(parse("vm=a,"), -1);	/* trailing comma: empty option */
	CHECK(strstr(err, "vm0: unknown option ''") != NULL);
	CHECK_EQ(parse("vm=a,,mem=1M"), -1);
	CHECK_EQ(parse("vm=a,mem="), -1);
}

/* Bad RAM sizes: zero, garbage, hex with a suffix, overflow. */
TEST(config_vm_bad_mem)
{
	CHECK_EQ(parse("vm=a,mem=0"), -1);
	CHECK_STR(err, "vm0: bad RAM size '0' (want e.g. 32M)");
	CHECK_EQ(parse("vm=a,mem=0K"), -1);
	CHECK_STR(err, "vm0: bad RAM size '0K' (want e.g. 32M)");
	CHECK_EQ(parse("vm=a,mem=lots"), -1);
	CHECK_STR(err, "vm0: bad RAM size 'lots' (want e.g. 32M)");
	CHECK_EQ(parse("vm=a,mem=0x10M"), -1);
	CHECK_STR(err, "vm0: bad RAM size '0x10M' (want e.g. 32M)");
	CHECK_EQ(parse("vm=a,mem=99999999999G"), -1);
	CHECK(strstr(err, "bad RAM size '99999999999G'") != NULL);
	CHECK_EQ(parse("vm=a vm=b,mem=32MB"), -1);
	CHECK_STR(err, "vm1: bad RAM size '32MB' (want e.g. 32M)");
}

/* At most CONFIG_MAX_VMS VMs: the 9th is refused. */
TEST(config_too_many_vms)
{
	char line[256] = "";
	for (int i = 0; i < CONFIG_MAX_VMS; i++)
		sprintf(line + strlen(line), "vm=g%d.elf ", i);
	CHECK_EQ(parse(line), 0);
	CHECK_EQ(cfg.vm_count, CONFIG_MAX_VMS);
	CHECK_STR(cfg.vms[7].module, "g7.elf");

	strcat(line, "vm=g8.elf");
	CHECK_EQ(parse(line), -1);
	CHECK_STR(err, "vm: too many VMs (at most 8)");
	CHECK_EQ(cfg.vm_count, CONFIG_MAX_VMS);
}

/* Module names: 1 to CONFIG_NAME_MAX-1 characters. */
TEST(config_module_name_length)
{
	char line[256], name[80];
	memset(name, 'm', 63);
	name[63] = 0;
	snprintf(line, sizeof(line), "vm=%s,mem=1M", name);
	CHECK_EQ(parse(line), 0);
	CHECK_STR(cfg.vms[0].module, name);

	memset(name, 'm', 64);
	name[64] = 0;
	snprintf(line, sizeof(line), "vm=%s,mem=1M", name);
	CHECK_EQ(parse(line), -1);
	char want[160];
	snprintf(want, sizeof(want),
		 "vm0: bad module name '%s' (1 to 63 characters)", name);
	CHECK_STR(err, want);

	CHECK_EQ(parse("vm=,mem=1M"), -1);
	CHECK_STR(err, "vm0: bad module name '' (1 to 63 characters)");
}

/* Guest args: at most CONFIG_ARGS_MAX-1 bytes (between the quotes). */
TEST(config_args_length)
{
	char line[600], args[300];
	memset(args, 'a', 255);
	args[255] = 0;
	args[100] = ' ';
	snprintf(line, sizeof(line), "vm=g.elf,args=\"%s\"", args);
	CHECK_EQ(parse(line), 0);
	CHECK_STR(cfg.vms[0].args, args);
	CHECK_EQ(strlen(cfg.vms[0].args), 255);

	memset(args, 'a', 256);
	args[256] = 0;
	snprintf(line, sizeof(line), "vm=g.elf,args=\"%s\"", args);
	CHECK_EQ(parse(line), -1);
	CHECK_STR(err, "vm0: args longer than 255 bytes");
}

/* selftest= accepts exactly the documented names. */
TEST(config_selftest_names)
{
	static const struct {
		const char *name;
		enum selftest t;
	} names[] = {
		{ "none", SELFTEST_NONE },
		{ "null-read", SELFTEST_NULL },
		{ "write-text", SELFTEST_WRITE_TEXT },
		{ "exec-data", SELFTEST_EXEC_DATA },
		{ "stack-guard", SELFTEST_STACK_GUARD },
		{ "ud", SELFTEST_UD },
		{ "panic", SELFTEST_PANIC },
		{ "entry-failure", SELFTEST_ENTRY_FAILURE },
		{ "bad-control", SELFTEST_BAD_CONTROL },
		{ "host-nmi", SELFTEST_HOST_NMI },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
		char line[64];
		snprintf(line, sizeof(line), "selftest=%s", names[i].name);
		CHECK_EQ(parse(line), 0);
		CHECK_EQ(cfg.selftest, names[i].t);
		CHECK_STR(selftest_name(names[i].t), names[i].name);
	}
	CHECK_STR(selftest_name(SELFTEST_BITFLIP), "bitflip");
	CHECK_STR(selftest_name((enum selftest)(SELFTEST_BITFLIP + 1)), "?");
	CHECK_STR(selftest_name((enum selftest)-1), "?");

	CHECK_EQ(parse("selftest=boom"), -1);
	CHECK_STR(err, "selftest: unknown test 'boom' (known: none null-read "
		       "write-text exec-data stack-guard ud panic "
		       "entry-failure bad-control host-nmi bitflip:VM:MS)");
	CHECK_EQ(parse("selftest=pani"), -1);	/* no prefix matching */
	CHECK_EQ(parse("selftest=panic2"), -1);
	CHECK_EQ(parse("selftest=UD"), -1);
}

/* selftest=bitflip:VM:MS names a declared VM and a guest time. */
TEST(selftest_bitflip)
{
	CHECK_EQ(parse("vm=a vm=b selftest=bitflip:1:4500"), 0);
	CHECK_EQ(cfg.selftest, SELFTEST_BITFLIP);
	CHECK_EQ(cfg.bitflip_vm, 1);
	CHECK_EQ(cfg.bitflip_ms, 4500);
	CHECK_EQ(parse("selftest=bitflip:0:0 vm=a"), 0);	/* any order */
	CHECK_EQ(cfg.bitflip_ms, 0);

	CHECK_EQ(parse("vm=a selftest=bitflip:1:10"), -1);
	CHECK_STR(err, "selftest: bitflip names vm1, but 1 VM is declared");
	CHECK_EQ(parse("selftest=bitflip:0:10"), -1);
	CHECK_STR(err, "selftest: bitflip names vm0, but 0 VMs are declared");
	const char *bad[] = { "bitflip", "bitflip:", "bitflip:0", "bitflip:0:",
			      "bitflip::5", "bitflip:8:5", "bitflip:x:5",
			      "bitflip:0:5:6", "bitflip:0:86400001",
			      "bitflip:0:-1" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		char line[64], want[160];
		snprintf(line, sizeof(line), "vm=a selftest=%s", bad[i]);
		CHECK_EQ(parse(line), -1);
		snprintf(want, sizeof(want), "selftest: bad '%s' (want "
			 "bitflip:VM:MS, VM 0-7, MS 0-86400000)", bad[i]);
		CHECK_STR(err, want);
	}
}

/* Unknown keys are named, with the list of known ones. */
TEST(config_unknown_key)
{
	CHECK_EQ(parse("foo=1"), -1);
	CHECK_STR(err, "unknown key 'foo' (known: vm pool slice stat_interval watchdog slat_drop slat_trace swap swap_low mem_states idle_tax balloon_max share share_scan share_oracle shadow_rmap selftest)");
	CHECK_EQ(parse("vm=a.elf VM=b.elf"), -1);
	CHECK_STR(err, "unknown key 'VM' (known: vm pool slice stat_interval watchdog slat_drop slat_trace swap swap_low mem_states idle_tax balloon_max share share_scan share_oracle shadow_rmap selftest)");
	CHECK_EQ(parse("vms=a"), -1);
	CHECK_STR(err, "unknown key 'vms' (known: vm pool slice stat_interval watchdog slat_drop slat_trace swap swap_low mem_states idle_tax balloon_max share share_scan share_oracle shadow_rmap selftest)");

	/* Truncated into a small buffer: terminated, nothing past errlen. */
	char small[32];
	memset(small, '#', sizeof(small));
	CHECK_EQ(config_parse(&cfg, "foo=1", small, 20), -1);
	CHECK_STR(small, "unknown key 'foo' (");
	CHECK_EQ(small[20], '#');
	memset(small, '#', sizeof(small));
	CHECK_EQ(config_parse(&cfg, "foo=1", small, 30), -1);
	CHECK_STR(small, "unknown key 'foo' (known: vm ");
	CHECK_EQ(small[30], '#');
}

/* Lexical errors reach the caller unchanged. */
TEST(config_syntax_errors)
{
	CHECK_EQ(parse("vm"), -1);
	CHECK_STR(err, "expected key=value, got 'vm'");
	CHECK_EQ(parse("vm=a selftest="), -1);
	CHECK_STR(err, "empty value for key 'selftest'");
	CHECK_EQ(parse("vm=a,args=\"oops"), -1);
	CHECK_STR(err, "unterminated quote in 'vm=a,args=\"oops'");
}

/*
 * config.h: "duplicate single-use keys are errors that name the key".
 * Regression: a second selftest= used to silently overwrite the first.
 */
TEST(config_duplicate_selftest_is_error)
{
	CHECK_EQ(parse("selftest=ud selftest=panic"), -1);
	CHECK(strstr(err, "selftest") != NULL);
}

/* A vm= option given twice is an error naming it, not "last one wins". */
TEST(config_vm_option_twice_is_error)
{
	struct hv_config cfg;
	char err[160];

	CHECK_EQ(config_parse(&cfg, "vm=g.elf,mem=16M,mem=32M", err, sizeof(err)), -1);
	CHECK_STR(err, "vm0: 'mem' given twice");
	CHECK_EQ(config_parse(&cfg, "vm=g.elf,args=\"a\",args=\"b\"", err, sizeof(err)), -1);
	CHECK_STR(err, "vm0: 'args' given twice");
}

/* token_is never reads past the end of word, even if s holds a NUL. */
TEST(token_is_stops_at_word_end)
{
	const char s[] = { 'v', 'm', 0, 'x' };
	CHECK(!token_is(s, 4, "vm"));
	CHECK(token_is(s, 2, "vm"));
}

/* expect= takes an exit status 0-255 or "stopped", once per VM. */
TEST(config_vm_expect)
{
	struct hv_config cfg;
	char err[160];

	CHECK_EQ(config_parse(&cfg, "vm=a vm=b,expect=3 vm=c,expect=stopped",
			      err, sizeof(err)), 0);
	CHECK_EQ(cfg.vms[0].expect, EXPECT_STATUS);
	CHECK_EQ(cfg.vms[0].expect_status, 0);
	CHECK_EQ(cfg.vms[1].expect, EXPECT_STATUS);
	CHECK_EQ(cfg.vms[1].expect_status, 3);
	CHECK_EQ(cfg.vms[2].expect, EXPECT_STOPPED);
	CHECK_EQ(config_parse(&cfg, "vm=a,expect=256", err, sizeof(err)), -1);
	CHECK_STR(err, "vm0: bad expect '256' (want an exit status 0-255 or "
		       "'stopped')");
	CHECK_EQ(config_parse(&cfg, "vm=a,expect=stop", err, sizeof(err)), -1);
	CHECK_EQ(config_parse(&cfg, "vm=a,expect=1,expect=2", err, sizeof(err)),
		 -1);
	CHECK_STR(err, "vm0: 'expect' given twice");
}

/* slat_trace=: off by default, a count, and a bad count named. */
TEST(config_slat_trace)
{
	struct hv_config cfg;
	char err[160];

	CHECK_EQ(config_parse(&cfg, "vm=a", err, sizeof(err)), 0);
	CHECK_EQ(cfg.slat_trace, 0);
	CHECK_EQ(config_parse(&cfg, "slat_trace=40 vm=a", err, sizeof(err)), 0);
	CHECK_EQ(cfg.slat_trace, 40);
	CHECK_EQ(config_parse(&cfg, "slat_trace=-1", err, sizeof(err)), -1);
	CHECK_STR(err, "slat_trace: '-1' is not a number from 0 to 1000000");
	CHECK_EQ(config_parse(&cfg, "slat_trace=1 slat_trace=2 vm=a", err,
			      sizeof(err)), -1);
}

/* Sharing's keys: defaults, values, and every bad value named with its
 * key. */
TEST(config_share_keys)
{
	struct hv_config cfg;
	char err[160];

	CHECK_EQ(config_parse(&cfg, "vm=a", err, sizeof(err)), 0);
	CHECK(cfg.share);
	CHECK_EQ(cfg.share_scan, CONFIG_DEFAULT_SHARE_SCAN);
	CHECK_EQ(cfg.share_oracle, 0);
	CHECK_EQ(cfg.vms[0].share_group, 0);
	CHECK_EQ(config_parse(&cfg, "share=off share_scan=65536 share_oracle=1 "
			      "vm=a,share_group=255 vm=b,share_group=7",
			      err, sizeof(err)), 0);
	CHECK(!cfg.share);
	CHECK_EQ(cfg.share_scan, 65536);
	CHECK_EQ(cfg.share_oracle, 1);
	CHECK_EQ(cfg.vms[0].share_group, 255);
	CHECK_EQ(cfg.vms[1].share_group, 7);

	CHECK_EQ(config_parse(&cfg, "share=maybe", err, sizeof(err)), -1);
	CHECK_STR(err, "share: 'maybe' is neither 'on' nor 'off'");
	CHECK_EQ(config_parse(&cfg, "share_scan=0", err, sizeof(err)), -1);
	CHECK_STR(err, "share_scan: '0' is not a number from 1 to 65536");
	CHECK_EQ(config_parse(&cfg, "share_scan=65537", err, sizeof(err)), -1);
	CHECK_STR(err, "share_scan: '65537' is not a number from 1 to 65536");
	CHECK_EQ(config_parse(&cfg, "share_oracle=2", err, sizeof(err)), -1);
	CHECK_STR(err, "share_oracle: '2' is not a number from 0 to 1");
	CHECK_EQ(config_parse(&cfg, "vm=a,share_group=256", err, sizeof(err)),
		 -1);
	CHECK_STR(err, "vm0: bad share_group '256' (want 0-255)");
	CHECK_EQ(config_parse(&cfg, "vm=a,share_group=x", err, sizeof(err)),
		 -1);
	CHECK_STR(err, "vm0: bad share_group 'x' (want 0-255)");
	CHECK_EQ(config_parse(&cfg, "vm=a,share_group=1,share_group=2", err,
			      sizeof(err)), -1);
	CHECK_STR(err, "vm0: 'share_group' given twice");
	CHECK_EQ(config_parse(&cfg, "shadow_rmap=off", err, sizeof(err)), 0);
	CHECK(cfg.shadow_rmap_off);
	CHECK_EQ(config_parse(&cfg, "vm=a", err, sizeof(err)), 0);
	CHECK(!cfg.shadow_rmap_off);
	CHECK_EQ(config_parse(&cfg, "shadow_rmap=no", err, sizeof(err)), -1);
	CHECK_STR(err, "shadow_rmap: 'no' is neither 'on' nor 'off'");
	CHECK_EQ(config_parse(&cfg, "share=on share=off", err, sizeof(err)), -1);
	CHECK_STR(err, "key 'share' given twice");
}

/* Swapping's keys: defaults, values, and every bad value named with its
 * key. */
TEST(config_swap_keys)
{
	struct hv_config cfg;
	char err[200];

	CHECK_EQ(config_parse(&cfg, "vm=a", err, sizeof(err)), 0);
	CHECK_EQ(cfg.swap_bytes, 0);
	CHECK_EQ(cfg.swap_low, CONFIG_DEFAULT_SWAP_LOW);
	CHECK_EQ(cfg.swap_high, CONFIG_DEFAULT_SWAP_HIGH);
	CHECK_EQ(config_parse(&cfg, "swap=16M swap_low=10:20", err,
			      sizeof(err)), 0);
	CHECK_EQ(cfg.swap_bytes, 16 * MiB);
	CHECK_EQ(cfg.swap_low, 10);
	CHECK_EQ(cfg.swap_high, 20);
	CHECK_EQ(config_parse(&cfg, "swap=0", err, sizeof(err)), 0);
	CHECK_EQ(cfg.swap_bytes, 0);

	CHECK_EQ(config_parse(&cfg, "swap=5000", err, sizeof(err)), -1);
	CHECK_STR(err, "swap: bad size '5000' (want 0 or a multiple of 4K, "
		       "e.g. 16M)");
	CHECK_EQ(config_parse(&cfg, "swap=lots", err, sizeof(err)), -1);
	CHECK_STR(err, "swap: bad size 'lots' (want 0 or a multiple of 4K, "
		       "e.g. 16M)");
	static const char *const bad_low[] = { "6:4", "0:3", "4", "4:4",
					       "4:51", "a:b", ":6", "4:" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad_low); i++) {
		char line[40];
		snprintf(line, sizeof(line), "swap_low=%s", bad_low[i]);
		CHECK_EQ(config_parse(&cfg, line, err, sizeof(err)), -1);
		CHECK(strncmp(err, "swap_low: '", 11) == 0);
	}
	CHECK_STR(err, "swap_low: '4:' is not LOW:HIGH percent of the pool "
		       "with 0 < LOW < HIGH <= 50 (e.g. 4:6)");
}

/* Ballooning's and the reclaim policy's keys: defaults, values, and every
 * bad value named with its key. */
TEST(config_reclaim_keys)
{
	struct hv_config cfg;
	char err[200];
	const char *states_err = "is not HIGH:SOFT:HARD:LOW percent of the "
				 "pool with 50 >= HIGH > SOFT > HARD > LOW > 0 "
				 "(default 6:4:2:1)";
	const char *bad_states[] = { "6:4:2", "6:4:2:1:0", "6:4:4:1", "6:4:2:0",
				     "51:4:2:1", "1:2:3:4", "6:4:2:x", "6::2:1",
				     ":6:4:2:1", "6:4:2:1:" };

	CHECK_EQ(config_parse(&cfg, "vm=a", err, sizeof(err)), 0);
	CHECK_EQ(cfg.mem_states[0], 6);
	CHECK_EQ(cfg.mem_states[1], 4);
	CHECK_EQ(cfg.mem_states[2], 2);
	CHECK_EQ(cfg.mem_states[3], 1);
	CHECK_EQ(cfg.idle_tax, 75);
	CHECK_EQ(cfg.balloon_max, 65);
	CHECK_EQ(cfg.vms[0].shares, 0);		/* SHARES_DEFAULT */

	CHECK_EQ(config_parse(&cfg, "mem_states=50:30:20:10 idle_tax=0 "
			      "balloon_max=90 vm=a,shares=1 vm=b,shares=1000000",
			      err, sizeof(err)), 0);
	CHECK_EQ(cfg.mem_states[0], 50);
	CHECK_EQ(cfg.mem_states[3], 10);
	CHECK_EQ(cfg.idle_tax, 0);
	CHECK_EQ(cfg.balloon_max, 90);
	CHECK_EQ(cfg.vms[0].shares, 1);
	CHECK_EQ(cfg.vms[1].shares, 1000000);

	for (unsigned i = 0; i < ARRAY_SIZE(bad_states); i++) {
		char line[64], want[200];
		snprintf(line, sizeof(line), "mem_states=%s", bad_states[i]);
		CHECK_EQ(config_parse(&cfg, line, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "mem_states: '%s' %s",
			 bad_states[i], states_err);
		CHECK_STR(err, want);
	}
	CHECK_EQ(config_parse(&cfg, "idle_tax=100", err, sizeof(err)), -1);
	CHECK_STR(err, "idle_tax: '100' is not a number from 0 to 99");
	CHECK_EQ(config_parse(&cfg, "idle_tax=-1", err, sizeof(err)), -1);
	CHECK_STR(err, "idle_tax: '-1' is not a number from 0 to 99");
	CHECK_EQ(config_parse(&cfg, "balloon_max=91", err, sizeof(err)), -1);
	CHECK_STR(err, "balloon_max: '91' is not a number from 0 to 90");
	CHECK_EQ(config_parse(&cfg, "vm=a,shares=0", err, sizeof(err)), -1);
	CHECK_STR(err, "vm0: bad shares '0' (want 1-1000000)");
	CHECK_EQ(config_parse(&cfg, "vm=a,shares=1000001", err, sizeof(err)),
		 -1);
	CHECK_STR(err, "vm0: bad shares '1000001' (want 1-1000000)");
	CHECK_EQ(config_parse(&cfg, "vm=a,shares=5,shares=6", err,
			      sizeof(err)), -1);
	CHECK_STR(err, "vm0: 'shares' given twice");
	CHECK_EQ(config_parse(&cfg, "idle_tax=5 idle_tax=6", err, sizeof(err)),
		 -1);
	CHECK_STR(err, "key 'idle_tax' given twice");
}

/* runtime=S: 1 to 86400 seconds of guest time, once per VM; default none. */
TEST(config_vm_runtime)
{
	CHECK_EQ(parse("vm=a vm=b,runtime=30 vm=c,runtime=1 vm=d,runtime=86400"
		       " vm=e,runtime=0x10"), 0);
	CHECK_EQ(cfg.vms[0].runtime_s, 0);
	CHECK_EQ(cfg.vms[1].runtime_s, 30);
	CHECK_EQ(cfg.vms[2].runtime_s, 1);
	CHECK_EQ(cfg.vms[3].runtime_s, 86400);
	CHECK_EQ(cfg.vms[4].runtime_s, 16);
	CHECK_EQ(parse("vm=a,runtime=0"), -1);
	CHECK_STR(err, "vm0: bad runtime '0' (want 1-86400 seconds of guest "
		       "time)");
	CHECK_EQ(parse("vm=a vm=b,runtime=86401"), -1);
	CHECK_STR(err, "vm1: bad runtime '86401' (want 1-86400 seconds of "
		       "guest time)");
	CHECK_EQ(parse("vm=a,runtime=30s"), -1);
	CHECK_STR(err, "vm0: bad runtime '30s' (want 1-86400 seconds of guest "
		       "time)");
	CHECK_EQ(parse("vm=a,runtime=99999999999999999999999"), -1);
	CHECK(strstr(err, "vm0: bad runtime '9999") != NULL);
	CHECK_EQ(parse("vm=a,runtime=3,mem=4M,runtime=3"), -1);
	CHECK_STR(err, "vm0: 'runtime' given twice");
	CHECK_EQ(parse("vm=a,runtime="), -1);	/* empty: not the option */
	CHECK(strstr(err, "vm0: unknown option 'runtime='") != NULL);
}

/* paging=slat|shadow, once per VM; default slat.  An unknown value ends
 * the run with one line naming it. */
TEST(config_vm_paging)
{
	CHECK_EQ(parse("vm=a vm=b,paging=shadow vm=c,paging=slat"), 0);
	CHECK(!cfg.vms[0].shadow_paging);
	CHECK(cfg.vms[1].shadow_paging);
	CHECK(!cfg.vms[2].shadow_paging);
	CHECK_EQ(parse("vm=a vm=b,paging=ept"), -1);
	CHECK_STR(err, "vm1: unknown paging 'ept' (want slat or shadow)");
	CHECK_EQ(parse("vm=a,paging="), -1);
	CHECK_STR(err, "vm0: unknown paging '' (want slat or shadow)");
	CHECK_EQ(parse("vm=a,paging=Shadow"), -1);	/* case matters */
	CHECK_EQ(parse("vm=a,paging=shadow,paging=shadow"), -1);
	CHECK_STR(err, "vm0: 'paging' given twice");
}

/* expect_console= and forbid_console=: compiled at parse time, quotes
 * dropped, commas and blanks inside quotes kept, up to 4 of each. */
TEST(config_vm_console_patterns)
{
	CHECK_EQ(parse("vm=a,expect_console=\"Errors: 0\",mem=8M,"
		       "forbid_console=\"Errors: [1-9]\",expect_console="
		       "\"Pass: +1,\",expect_console=^GUEST"), 0);
	CHECK_EQ(cfg.vm_count, 1);
	CHECK_EQ(cfg.vms[0].mem, 8 * MiB);
	CHECK_EQ(cfg.vms[0].n_expect_console, 3);
	CHECK_EQ(cfg.vms[0].n_forbid_console, 1);
	CHECK_STR(cfg.vms[0].expect_console[0].src, "Errors: 0");
	CHECK_STR(cfg.vms[0].expect_console[1].src, "Pass: +1,");
	CHECK_STR(cfg.vms[0].expect_console[2].src, "^GUEST");
	CHECK_STR(cfg.vms[0].forbid_console[0].src, "Errors: [1-9]");
	CHECK(regex_match(&cfg.vms[0].expect_console[1], "x Pass:  1, y", 13));
	CHECK(regex_match(&cfg.vms[0].forbid_console[0], "Errors: 3", 9));
	CHECK(!regex_match(&cfg.vms[0].forbid_console[0], "Errors: 0", 9));
	CHECK_EQ(cfg.vms[0].runtime_s, 0);

	/* a second VM has its own, and none by default */
	CHECK_EQ(parse("vm=a,forbid_console=x vm=b"), 0);
	CHECK_EQ(cfg.vms[1].n_expect_console, 0);
	CHECK_EQ(cfg.vms[1].n_forbid_console, 0);

	/* a bad pattern names the VM, the key, the pattern and why */
	CHECK_EQ(parse("vm=a vm=b,expect_console=\"[abc\""), -1);
	CHECK_STR(err, "vm1: bad expect_console regex '[abc': unclosed [");
	CHECK_EQ(parse("vm=a,forbid_console=\"(a*)*b\""), -1);
	CHECK_STR(err, "vm0: bad forbid_console regex '(a*)*b': groups ( ) "
		       "are not supported");
	CHECK_EQ(parse("vm=a,expect_console=\"\""), -1);
	CHECK_STR(err, "vm0: bad expect_console regex '': empty pattern");
	CHECK_EQ(parse("vm=a,expect_console="), -1);
	CHECK_STR(err, "vm0: bad expect_console regex '': empty pattern");
	CHECK_EQ(parse("vm=a,forbid_console=*x"), -1);
	CHECK_STR(err, "vm0: bad forbid_console regex '*x': '*', '+' or '?' "
		       "with nothing to repeat");

	/* at most 4 of each */
	CHECK_EQ(parse("vm=a,expect_console=1,expect_console=2,"
		       "expect_console=3,expect_console=4,forbid_console=5,"
		       "forbid_console=6,forbid_console=7,forbid_console=8"), 0);
	CHECK_EQ(cfg.vms[0].n_expect_console, 4);
	CHECK_EQ(cfg.vms[0].n_forbid_console, 4);
	CHECK_EQ(parse("vm=a,expect_console=1,expect_console=2,"
		       "expect_console=3,expect_console=4,expect_console=5"), -1);
	CHECK_STR(err, "vm0: more than 4 expect_console patterns");
	CHECK_EQ(parse("vm=a,forbid_console=1,forbid_console=2,"
		       "forbid_console=3,forbid_console=4,forbid_console=5"), -1);
	CHECK_STR(err, "vm0: more than 4 forbid_console patterns");
}

/* The whole line through the lexer: a quoted pattern with blanks and
 * commas is one value. */
TEST(config_vm_console_quoted_on_the_line)
{
	CHECK_EQ(parse("slice=2000 vm=guest.elf,args=\"work=ticks ticks=5\","
		       "runtime=3,expect_console=\"ticks: [0-9]+ ticks, by\" "
		       "watchdog=5"), 0);
	CHECK_EQ(cfg.vm_count, 1);
	CHECK_STR(cfg.vms[0].args, "work=ticks ticks=5");
	CHECK_EQ(cfg.vms[0].runtime_s, 3);
	CHECK_STR(cfg.vms[0].expect_console[0].src, "ticks: [0-9]+ ticks, by");
	CHECK_EQ(cfg.watchdog_s, 5);
	CHECK_EQ(parse("vm=a,expect_console=\"open"), -1);
	CHECK(strstr(err, "unterminated quote") != NULL);
}
