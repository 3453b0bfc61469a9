/*
 * cmdline.c - parses "key=value" words into a struct guest_config.
 *
 * One table lists every numeric key with its unit and its bounds, so adding
 * a knob is one line and every knob gets the same checks.  work= and
 * hostile= take names and are handled beside the table.
 *
 * Multiboot loaders put the kernel's own path first (QEMU: "build/guest.elf
 * work=..."; GRUB the same), so a first word without '=' is skipped.
 */
#include "cmdline.h"

#include <stddef.h>

#include "format.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define PAGE 4096ull

enum value_kind {
	VAL_SIZE,  /* bytes, K/M/G suffix allowed, multiple of 4 KiB */
	VAL_COUNT, /* a plain number */
};

struct key_spec {
	const char *name;
	enum value_kind kind;
	size_t offset; /* of the uint64_t in struct guest_config */
	uint64_t min, max;
};

#define KEY(n, k, field, lo, hi) \
	{ n, k, offsetof(struct guest_config, field), lo, hi }

static const struct key_spec keys[] = {
	KEY("seed", VAL_COUNT, seed, 0, ~0ull),
	KEY("touch", VAL_SIZE, touch_bytes, PAGE, 16 * GIB),
	KEY("dup", VAL_COUNT, dup_pages, 1, 1ull << 20),
	KEY("cow", VAL_COUNT, cow_pages, 1, 1ull << 20),
	KEY("hot", VAL_SIZE, hot_bytes, PAGE, 1 * GIB),
	KEY("cold", VAL_SIZE, cold_bytes, PAGE, 16 * GIB),
	KEY("rounds", VAL_COUNT, rounds, 1, 4096),
	KEY("pt", VAL_COUNT, pt_iters, 1, 100000),
	KEY("idle", VAL_SIZE, idle_bytes, PAGE, 16 * GIB),
	KEY("idle_ticks", VAL_COUNT, idle_ticks, 1, 1000000000),
	KEY("idle_deflate", VAL_COUNT, idle_deflate, 0, 1000000000),
	KEY("balloon_pages", VAL_COUNT, balloon_pages, 1, CMDLINE_BALLOON_MAX),
	KEY("corrupt", VAL_COUNT, corrupt, 0, 1),
	KEY("settle", VAL_COUNT, settle_bound, 1, 10000000),
	KEY("settle_shared", VAL_COUNT, settle_shared, 0, 1ull << 32),
	KEY("volatile", VAL_COUNT, volatile_pages, 1, 65536),
	KEY("vrounds", VAL_COUNT, vrounds, 1, 100000),
	KEY("zero", VAL_COUNT, zero_pages, 1, 1ull << 20),
	KEY("timer", VAL_COUNT, timer_hz, 0, 10000),
	KEY("ticks", VAL_COUNT, ticks, 1, 100000),
	KEY("spill", VAL_SIZE, spill_bytes, PAGE, 16 * GIB),
	KEY("spill_keep", VAL_SIZE, spill_keep, 0, 16 * GIB),
	KEY("grow", VAL_SIZE, grow_bytes, PAGE, 16 * GIB),
	KEY("grow_step", VAL_SIZE, grow_step, PAGE, 16 * GIB),
	KEY("exits", VAL_COUNT, exits, 1, 1000000),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const work_names[WORK_COUNT] = {
	[WORK_TOUCH] = "touch", [WORK_DUP] = "dup",
	[WORK_COW] = "cow",     [WORK_HOTCOLD] = "hotcold",
	[WORK_PT] = "pt",       [WORK_IDLE] = "idle",
	[WORK_BALLOON] = "balloon", [WORK_SETTLE] = "settle",
	[WORK_VOLATILE] = "volatile", [WORK_ZERO] = "zero",
	[WORK_VERIFY] = "verify", [WORK_TICKS] = "ticks",
	[WORK_SPILL] = "spill",   [WORK_GROW] = "grow",
	[WORK_EXITS] = "exits",
};

static const char *const hostile_names[HOSTILE_COUNT] = {
	[HOSTILE_NONE] = "none",
	[HOSTILE_OOB_READ] = "oob-read",
	[HOSTILE_OOB_WRITE] = "oob-write",
	[HOSTILE_VMXON] = "vmxon",
	[HOSTILE_VMRUN] = "vmrun",
	[HOSTILE_TRIPLE] = "triple",
	[HOSTILE_HCALL_UNKNOWN] = "hcall-unknown",
	[HOSTILE_HCALL_BADADDR] = "hcall-badaddr",
	[HOSTILE_HCALL_BADGFN] = "hcall-badgfn",
	[HOSTILE_SPIN] = "spin",
	[HOSTILE_WILD] = "wild",
	[HOSTILE_EFER_SVME] = "efer-svme",
	[HOSTILE_BALLOON_ALIAS] = "balloon-alias",
	[HOSTILE_XSETBV] = "xsetbv",
	[HOSTILE_INVD] = "invd",
	[HOSTILE_OUTS] = "outs",
	[HOSTILE_INS] = "ins",
	[HOSTILE_OUTS_BAD] = "outs-bad",
	[HOSTILE_OUTS_HUGE] = "outs-huge",
	[HOSTILE_CR8] = "cr8",
	[HOSTILE_CR8_SPIN] = "cr8-spin",
	[HOSTILE_CR4_VMXE] = "cr4-vmxe",
	[HOSTILE_CR4_RESERVED] = "cr4-reserved",
	[HOSTILE_CR0_PG_OFF] = "cr0-pg-off",
	[HOSTILE_CR0_INVALID] = "cr0-invalid",
	[HOSTILE_DR7] = "dr7",
	[HOSTILE_INVLPGA] = "invlpga",
	[HOSTILE_CPUID_HIDDEN] = "cpuid-hidden",
	[HOSTILE_HCALL_OTHER_VENDOR] = "hcall-other-vendor",
	[HOSTILE_HLT_CLI] = "hlt-cli",
	[HOSTILE_HLT_STI] = "hlt-sti",
	[HOSTILE_HCALL_USER] = "hcall-user",
	[HOSTILE_IN32] = "in32",
	[HOSTILE_MSR_SWEEP] = "msr-sweep",
	[HOSTILE_HCALL_RESERVED] = "hcall-reserved",
	[HOSTILE_COMPUTE] = "compute",
	[HOSTILE_COW_STORM] = "cow-storm",
	[HOSTILE_X2APIC_BAD] = "x2apic-bad",
	[HOSTILE_BALLOON_TOUCH] = "balloon-touch",
	[HOSTILE_PC_DEVICES] = "pc-devices",
	[HOSTILE_KBC_RESET] = "kbc-reset",
	[HOSTILE_CR3_OUTSIDE] = "cr3-outside",
	[HOSTILE_PT_LOOP] = "pt-loop",
	[HOSTILE_PT_SCRIBBLE] = "pt-scribble",
};

const char *cmdline_work_name(enum work_id w)
{
	return (unsigned)w < WORK_COUNT ? work_names[w] : "?";
}

const char *cmdline_hostile_name(enum hostile_id h)
{
	return (unsigned)h < HOSTILE_COUNT ? hostile_names[h] : "?";
}

static void set_defaults(struct guest_config *cfg)
{
	*cfg = (struct guest_config){
		.seed = 1,
		.touch_bytes = 4 * MIB,
		.dup_pages = 64,
		.hot_bytes = 64 * KIB,
		.cold_bytes = 4 * MIB,
		.rounds = 8,
		.pt_iters = 32,
		.idle_bytes = 1 * MIB,
		.idle_ticks = 100,
		.balloon_pages = 64,
		.settle_bound = CMDLINE_SETTLE_DEFAULT,
		.volatile_pages = 64,
		.vrounds = 32,
		.zero_pages = 64,
		.timer_hz = CMDLINE_TIMER_DEFAULT,
		.ticks = CMDLINE_TICKS_DEFAULT,
		.spill_bytes = 8 * MIB,
		.spill_keep = 1 * MIB,
		.grow_bytes = 16 * MIB,
		.grow_step = 1 * MIB,
		.exits = 1000,
	};
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Compares the counted string s[0..len) with a C string. */
static int word_is(const char *s, int len, const char *name)
{
	int i = 0;
	for (; i < len; i++)
		if (name[i] != s[i])
			return 0;
	return name[i] == '\0';
}

static int digit_value(char c, unsigned base)
{
	int v = -1;
	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return (v >= 0 && (unsigned)v < base) ? v : -1;
}

int cmdline_parse_number(const char *s, int len, int allow_suffix,
			 uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0, mult = 1;
	int i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (allow_suffix && len > i + 1) {
		switch (s[len - 1]) {
		case 'K': case 'k': mult = KIB; len--; break;
		case 'M': case 'm': mult = MIB; len--; break;
		case 'G': case 'g': mult = GIB; len--; break;
		}
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		int d = digit_value(s[i], base);
		if (d < 0 || v > (~0ull - (uint64_t)d) / base)
			return -1;
		v = v * base + (uint64_t)d;
	}
	if (v > ~0ull / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int fail(struct guest_config *cfg, const char *fmt, const char *s,
		int len)
{
	fmt_snprintf(cfg->error, sizeof(cfg->error), fmt, len, s);
	return -1;
}

/* work=a,b,c: known names, each at most once. */
static int parse_work_list(struct guest_config *cfg, const char *s, int len)
{
	int start = 0;
	cfg->nwork = 0;
	while (start <= len) {
		int end = start;
		while (end < len && s[end] != ',')
			end++;
		int w = 0;
		while (w < WORK_COUNT && !word_is(s + start, end - start,
						  work_names[w]))
			w++;
		if (w == WORK_COUNT)
			return fail(cfg, "unknown workload '%.*s' in work=",
				    s + start, end - start);
		for (int i = 0; i < cfg->nwork; i++)
			if (cfg->work[i] == (enum work_id)w)
				return fail(cfg, "workload '%.*s' listed twice",
					    s + start, end - start);
		if (cfg->nwork == CMDLINE_MAX_WORK)
			return fail(cfg, "too many workloads in work=%.*s", s,
				    len);
		cfg->work[cfg->nwork++] = (enum work_id)w;
		start = end + 1;
	}
	return 0;
}

static int parse_hostile(struct guest_config *cfg, const char *s, int len)
{
	for (int h = HOSTILE_NONE + 1; h < HOSTILE_COUNT; h++) {
		if (word_is(s, len, hostile_names[h])) {
			cfg->hostile = (enum hostile_id)h;
			return 0;
		}
	}
	return fail(cfg, "unknown hostile action '%.*s'", s, len);
}

static int parse_keyed_value(struct guest_config *cfg,
			     const struct key_spec *k, const char *s, int len)
{
	uint64_t v;
	uint64_t *field = (uint64_t *)((char *)cfg + k->offset);

	if (cmdline_parse_number(s, len, k->kind == VAL_SIZE, &v) < 0) {
		fmt_snprintf(cfg->error, sizeof(cfg->error),
			     "bad number '%.*s' for %s=", len, s, k->name);
		return -1;
	}
	if (k->kind == VAL_SIZE && (v % PAGE)) {
		fmt_snprintf(cfg->error, sizeof(cfg->error),
			     "%s=%.*s is not a multiple of 4K", k->name, len,
			     s);
		return -1;
	}
	if (v < k->min || v > k->max) {
		fmt_snprintf(cfg->error, sizeof(cfg->error),
			     "%s=%.*s out of range [%llu, %llu]", k->name, len,
			     s, (unsigned long long)k->min,
			     (unsigned long long)k->max);
		return -1;
	}
	*field = v;
	return 0;
}

/* Bit i of *seen: key i (table index), then work=, hostile= and
 * balloon=. */
#define SEEN_WORK (1u << NKEYS)
#define SEEN_HOSTILE (1u << (NKEYS + 1))
#define SEEN_BALLOON (1u << (NKEYS + 2))
_Static_assert(NKEYS + 3 <= 32, "the seen bits no longer fit an unsigned");

/* balloon=on|off: the balloon driver (on by default). */
static int parse_balloon(struct guest_config *cfg, const char *s, int len)
{
	if (word_is(s, len, "on") || word_is(s, len, "off")) {
		cfg->balloon_off = word_is(s, len, "off");
		return 0;
	}
	return fail(cfg, "balloon=%.*s: expected on or off (the workload's "
			 "page count is balloon_pages=)", s, len);
}

static int parse_word(struct guest_config *cfg, const char *s, int len,
		      unsigned *seen)
{
	int eq = 0;
	while (eq < len && s[eq] != '=')
		eq++;
	if (eq == len)
		return fail(cfg, "word '%.*s' is not key=value", s, len);
	if (eq == len - 1)
		return fail(cfg, "no value in '%.*s'", s, len);

	const char *val = s + eq + 1;
	int vlen = len - eq - 1;
	unsigned bit;
	int rc;

	if (word_is(s, eq, "work")) {
		bit = SEEN_WORK;
		rc = parse_work_list(cfg, val, vlen);
	} else if (word_is(s, eq, "hostile")) {
		bit = SEEN_HOSTILE;
		rc = parse_hostile(cfg, val, vlen);
	} else if (word_is(s, eq, "balloon")) {
		bit = SEEN_BALLOON;
		rc = parse_balloon(cfg, val, vlen);
	} else {
		unsigned i = 0;
		while (i < NKEYS && !word_is(s, eq, keys[i].name))
			i++;
		if (i == NKEYS)
			return fail(cfg, "unknown key '%.*s'", s, eq);
		bit = 1u << i;
		rc = parse_keyed_value(cfg, &keys[i], val, vlen);
	}
	if (rc == 0 && (*seen & bit))
		return fail(cfg, "key '%.*s' given twice", s, eq);
	*seen |= bit;
	return rc;
}

static int has_work(const struct guest_config *cfg, enum work_id w,
		    int before)
{
	for (int i = 0; i < before; i++)
		if (cfg->work[i] == w)
			return 1;
	return 0;
}

/* Rules that involve more than one key. */
static int check_config(struct guest_config *cfg, unsigned seen)
{
	if (!(seen & SEEN_WORK) && cfg->hostile == HOSTILE_NONE) {
		cfg->work[0] = WORK_TOUCH;
		cfg->work[1] = WORK_VERIFY;
		cfg->nwork = 2;
	}
	if (cfg->cow_pages == 0)
		cfg->cow_pages = cfg->dup_pages > 1 ? cfg->dup_pages / 2 : 1;
	for (int i = 0; i < cfg->nwork; i++) {
		if (cfg->work[i] == WORK_COW && !has_work(cfg, WORK_DUP, i)) {
			fmt_snprintf(cfg->error, sizeof(cfg->error),
				     "workload 'cow' needs 'dup' before it "
				     "in work=");
			return -1;
		}
	}
	if (cfg->spill_keep > cfg->spill_bytes) {
		fmt_snprintf(cfg->error, sizeof(cfg->error),
			     "spill_keep=%llu exceeds spill=%llu",
			     (unsigned long long)cfg->spill_keep,
			     (unsigned long long)cfg->spill_bytes);
		return -1;
	}
	if (cfg->grow_step > cfg->grow_bytes) {
		fmt_snprintf(cfg->error, sizeof(cfg->error),
			     "grow_step=%llu exceeds grow=%llu",
			     (unsigned long long)cfg->grow_step,
			     (unsigned long long)cfg->grow_bytes);
		return -1;
	}
	if (cfg->cow_pages > cfg->dup_pages) {
		fmt_snprintf(cfg->error, sizeof(cfg->error),
			     "cow=%llu exceeds dup=%llu",
			     (unsigned long long)cfg->cow_pages,
			     (unsigned long long)cfg->dup_pages);
		return -1;
	}
	return 0;
}

int cmdline_parse(const char *line, struct guest_config *cfg)
{
	unsigned seen = 0;
	int first = 1;
	const char *p = line;

	set_defaults(cfg);
	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		int len = 0;
		while (p[len] && !is_space(p[len]))
			len++;
		int has_eq = 0;
		for (int i = 0; i < len; i++)
			has_eq |= p[i] == '=';
		if (!(first && !has_eq) && parse_word(cfg, p, len, &seen) < 0)
			return -1;
		first = 0;
		p += len;
	}
	return check_config(cfg, seen);
}
