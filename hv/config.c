/*
 * config.c - the meaning of each command-line key.
 *
 * Each key has a parse function in the table below; config_parse() walks the
 * pairs from hv/cmdline.c and hands each to its parser.  A key that is not in
 * the table is an error that names it and lists the known ones.
 */
#include "config.h"
#include "cmdline.h"
#include "fmt.h"

struct config_key {
	const char *name;
	bool repeatable;	/* may appear more than once (vm=) */
	int (*parse)(struct hv_config *cfg, const char *val, size_t len,
		     char *err, size_t errlen);
};

static const char *const selftest_names[] = {
	[SELFTEST_NONE] = "none",
	[SELFTEST_NULL] = "null-read",
	[SELFTEST_WRITE_TEXT] = "write-text",
	[SELFTEST_EXEC_DATA] = "exec-data",
	[SELFTEST_STACK_GUARD] = "stack-guard",
	[SELFTEST_UD] = "ud",
	[SELFTEST_PANIC] = "panic",
	[SELFTEST_ENTRY_FAILURE] = "entry-failure",
	[SELFTEST_BAD_CONTROL] = "bad-control",
	[SELFTEST_HOST_NMI] = "host-nmi",
	[SELFTEST_BITFLIP] = "bitflip",
};

/* selftest=bitflip:VM:MS (VM is a VM number; checked against the VMs
 * declared once they all are, in run.c). */
static int parse_bitflip(struct hv_config *cfg, const char *val, size_t len,
			 char *err, size_t errlen)
{
	size_t i = 0, j;
	u64 vm;

	while (i < len && val[i] != ':')
		i++;
	j = i + 1;
	while (j < len && val[j] != ':')
		j++;
	if (i >= len || j >= len || parse_u64(val + i + 1, j - i - 1, &vm) < 0 ||
	    vm >= CONFIG_MAX_VMS ||
	    parse_u64(val + j + 1, len - j - 1, &cfg->bitflip_ms) < 0 ||
	    cfg->bitflip_ms > 86400000) {
		fmt_snprintf(err, errlen,
			     "selftest: bad '%.*s' (want bitflip:VM:MS, VM "
			     "0-%d, MS 0-86400000)", (int)len, val,
			     CONFIG_MAX_VMS - 1);
		return -1;
	}
	cfg->selftest = SELFTEST_BITFLIP;
	cfg->bitflip_vm = (unsigned)vm;
	return 0;
}

const char *selftest_name(enum selftest t)
{
	return (unsigned)t < ARRAY_SIZE(selftest_names) ? selftest_names[t]
							 : "?";
}

static int parse_selftest(struct hv_config *cfg, const char *val, size_t len,
			  char *err, size_t errlen)
{
	if (len >= 7 && token_is(val, 7, "bitflip"))
		return parse_bitflip(cfg, val, len, err, errlen);
	for (unsigned i = 0; i < ARRAY_SIZE(selftest_names); i++) {
		if (token_is(val, len, selftest_names[i])) {
			cfg->selftest = (enum selftest)i;
			return 0;
		}
	}
	fmt_snprintf(err, errlen,
		     "selftest: unknown test '%.*s' (known: none null-read "
		     "write-text exec-data stack-guard ud panic "
		     "entry-failure bad-control host-nmi bitflip:VM:MS)",
		     (int)len, val);
	return -1;
}

/* Copies s[0..len) into dst[cap]; -1 if it does not fit. */
static int copy_str(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		return -1;
	for (size_t i = 0; i < len; i++)
		dst[i] = s[i];
	dst[len] = 0;
	return 0;
}

/* Length of the next comma-separated item, skipping commas inside quotes. */
static size_t item_len(const char *s, size_t len)
{
	bool quoted = false;
	size_t i = 0;
	for (; i < len && (quoted || s[i] != ','); i++)
		if (s[i] == '"')
			quoted = !quoted;
	return i;
}

/* Drops the double quotes around a value, if it has both. */
static void unquote(const char **s, size_t *len)
{
	if (*len >= 2 && (*s)[0] == '"' && (*s)[*len - 1] == '"') {
		(*s)++;
		*len -= 2;
	}
}

/* expect_console="RE" or forbid_console="RE": compiled now, so a bad
 * pattern ends the run before any VM starts. */
static int parse_console_re(struct vm_decl *vm, int id, bool forbid,
			    const char *re, size_t len, char *err,
			    size_t errlen)
{
	const char *key = forbid ? "forbid_console" : "expect_console";
	int *n = forbid ? &vm->n_forbid_console : &vm->n_expect_console;
	struct regex *slot = forbid ? vm->forbid_console : vm->expect_console;
	const char *why;

	unquote(&re, &len);
	if (*n == CONFIG_CONSOLE_RE_MAX) {
		fmt_snprintf(err, errlen, "vm%d: more than %d %s patterns", id,
			     CONFIG_CONSOLE_RE_MAX, key);
		return -1;
	}
	if (regex_compile(&slot[*n], re, len, &why) < 0) {
		fmt_snprintf(err, errlen, "vm%d: bad %s regex '%.*s': %s", id,
			     key, (int)len, re, why);
		return -1;
	}
	(*n)++;
	return 0;
}

static int parse_vm(struct hv_config *cfg, const char *val, size_t len,
		    char *err, size_t errlen)
{
	if (cfg->vm_count == CONFIG_MAX_VMS) {
		fmt_snprintf(err, errlen, "vm: too many VMs (at most %d)",
			     CONFIG_MAX_VMS);
		return -1;
	}
	struct vm_decl *vm = &cfg->vms[cfg->vm_count];
	size_t n = item_len(val, len);

	*vm = (struct vm_decl){ .mem = CONFIG_DEFAULT_VM_MEM };
	if (n == 0 || copy_str(vm->module, sizeof(vm->module), val, n) < 0) {
		fmt_snprintf(err, errlen,
			     "vm%d: bad module name '%.*s' (1 to %d characters)",
			     cfg->vm_count, (int)n, val, CONFIG_NAME_MAX - 1);
		return -1;
	}
	bool have_mem = false, have_args = false, have_expect = false,
	     have_group = false, have_shares = false, have_runtime = false,
	     have_paging = false;

	for (size_t i = n; i < len;) {
		const char *it = val + i + 1;	/* skip the comma */
		size_t m = item_len(it, len - i - 1);
		i += m + 1;

		bool is_mem = m > 4 && token_is(it, 4, "mem=");
		bool is_args = m >= 5 && token_is(it, 5, "args=");
		bool is_expect = m > 7 && token_is(it, 7, "expect=");
		bool is_group = m > 12 && token_is(it, 12, "share_group=");
		bool is_shares = m > 7 && token_is(it, 7, "shares=");
		bool is_runtime = m > 8 && token_is(it, 8, "runtime=");
		bool is_paging = m >= 7 && token_is(it, 7, "paging=");
		bool is_econ = m >= 15 && token_is(it, 15, "expect_console=");
		bool is_fcon = m >= 15 && token_is(it, 15, "forbid_console=");
		const char *twice = is_mem && have_mem ? "mem"
				    : is_args && have_args ? "args"
				    : is_expect && have_expect ? "expect"
				    : is_group && have_group ? "share_group"
				    : is_shares && have_shares ? "shares"
				    : is_runtime && have_runtime ? "runtime"
				    : is_paging && have_paging	 ? "paging"
								 : NULL;
		if (twice) {
			fmt_snprintf(err, errlen, "vm%d: '%s' given twice",
				     cfg->vm_count, twice);
			return -1;
		}
		have_mem |= is_mem;
		have_args |= is_args;
		have_expect |= is_expect;
		have_group |= is_group;
		have_shares |= is_shares;
		have_runtime |= is_runtime;
		have_paging |= is_paging;
		if (is_econ || is_fcon) {
			if (parse_console_re(vm, cfg->vm_count, is_fcon,
					     it + 15, m - 15, err, errlen) < 0)
				return -1;
		} else if (is_paging) {
			if (token_is(it + 7, m - 7, "shadow")) {
				vm->shadow_paging = true;
			} else if (!token_is(it + 7, m - 7, "slat")) {
				fmt_snprintf(err, errlen,
					     "vm%d: unknown paging '%.*s' (want "
					     "slat or shadow)", cfg->vm_count,
					     (int)(m - 7), it + 7);
				return -1;
			}
		} else if (is_runtime) {
			if (parse_u64(it + 8, m - 8, &vm->runtime_s) < 0 ||
			    vm->runtime_s == 0 ||
			    vm->runtime_s > CONFIG_RUNTIME_MAX_S) {
				fmt_snprintf(err, errlen,
					     "vm%d: bad runtime '%.*s' (want "
					     "1-%d seconds of guest time)",
					     cfg->vm_count, (int)(m - 8), it + 8,
					     CONFIG_RUNTIME_MAX_S);
				return -1;
			}
		} else if (is_shares) {
			u64 shares;
			if (parse_u64(it + 7, m - 7, &shares) < 0 ||
			    shares == 0 || shares > SHARES_MAX) {
				fmt_snprintf(err, errlen,
					     "vm%d: bad shares '%.*s' (want "
					     "1-%u)", cfg->vm_count,
					     (int)(m - 7), it + 7, SHARES_MAX);
				return -1;
			}
			vm->shares = (unsigned)shares;
		} else if (is_group) {
			u64 group;
			if (parse_u64(it + 12, m - 12, &group) < 0 ||
			    group > 255) {
				fmt_snprintf(err, errlen,
					     "vm%d: bad share_group '%.*s' (want "
					     "0-255)", cfg->vm_count,
					     (int)(m - 12), it + 12);
				return -1;
			}
			vm->share_group = (unsigned)group;
		} else if (is_mem) {
			if (parse_size(it + 4, m - 4, &vm->mem) < 0 ||
			    vm->mem == 0) {
				fmt_snprintf(err, errlen,
					     "vm%d: bad RAM size '%.*s' (want "
					     "e.g. 32M)",
					     cfg->vm_count, (int)(m - 4), it + 4);
				return -1;
			}
		} else if (is_args) {
			const char *a = it + 5;
			size_t alen = m - 5;
			unquote(&a, &alen);
			if (copy_str(vm->args, sizeof(vm->args), a, alen) < 0) {
				fmt_snprintf(err, errlen,
					     "vm%d: args longer than %d bytes",
					     cfg->vm_count, CONFIG_ARGS_MAX - 1);
				return -1;
			}
		} else if (is_expect) {
			u64 status;
			if (token_is(it + 7, m - 7, "stopped")) {
				vm->expect = EXPECT_STOPPED;
			} else if (parse_u64(it + 7, m - 7, &status) == 0 &&
				   status <= 255) {
				vm->expect = EXPECT_STATUS;
				vm->expect_status = (int)status;
			} else {
				fmt_snprintf(err, errlen,
					     "vm%d: bad expect '%.*s' (want an "
					     "exit status 0-255 or 'stopped')",
					     cfg->vm_count, (int)(m - 7), it + 7);
				return -1;
			}
		} else {
			fmt_snprintf(err, errlen,
				     "vm%d: unknown option '%.*s' (known: "
				     "mem=SIZE, args=\"...\", expect=N|stopped, "
				     "share_group=N, shares=N, runtime=S, "
				     "paging=slat|shadow, "
				     "expect_console=\"RE\", "
				     "forbid_console=\"RE\")",
				     cfg->vm_count, (int)m, it);
			return -1;
		}
	}
	cfg->vm_count++;
	return 0;
}

/* A plain number in [min, max] into *dst. */
static int parse_number(const char *key, u64 *dst, u64 min, u64 max,
			const char *val, size_t len, char *err, size_t errlen)
{
	u64 v;

	if (parse_u64(val, len, &v) < 0 || v < min || v > max) {
		fmt_snprintf(err, errlen, "%s: '%.*s' is not a number from %llu "
			     "to %llu", key, (int)len, val,
			     (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*dst = v;
	return 0;
}

static int parse_slice(struct hv_config *cfg, const char *val, size_t len,
		       char *err, size_t errlen)
{
	return parse_number("slice", &cfg->slice_us, 100, 10000000, val, len,
			    err, errlen);
}

static int parse_stat_interval(struct hv_config *cfg, const char *val,
			       size_t len, char *err, size_t errlen)
{
	return parse_number("stat_interval", &cfg->stat_interval_ms, 0,
			    3600000, val, len, err, errlen);
}

static int parse_pool(struct hv_config *cfg, const char *val, size_t len,
		      char *err, size_t errlen)
{
	if (parse_size(val, len, &cfg->pool_bytes) < 0 ||
	    cfg->pool_bytes < PAGE_SIZE || cfg->pool_bytes % PAGE_SIZE) {
		fmt_snprintf(err, errlen, "pool: bad size '%.*s' (want a "
			     "multiple of 4K, e.g. 48M)", (int)len, val);
		return -1;
	}
	return 0;
}

static int parse_watchdog(struct hv_config *cfg, const char *val, size_t len,
			  char *err, size_t errlen)
{
	return parse_number("watchdog", &cfg->watchdog_s, 0, 3600, val, len,
			    err, errlen);
}

static int parse_slat_drop(struct hv_config *cfg, const char *val,
			   size_t len, char *err, size_t errlen)
{
	return parse_number("slat_drop", &cfg->slat_drop, 0, 1000000, val, len,
			    err, errlen);
}

static int parse_slat_trace(struct hv_config *cfg, const char *val,
			    size_t len, char *err, size_t errlen)
{
	return parse_number("slat_trace", &cfg->slat_trace, 0, 1000000, val,
			    len, err, errlen);
}

static int parse_swap(struct hv_config *cfg, const char *val, size_t len,
		      char *err, size_t errlen)
{
	if (parse_size(val, len, &cfg->swap_bytes) < 0 ||
	    cfg->swap_bytes % PAGE_SIZE) {
		fmt_snprintf(err, errlen, "swap: bad size '%.*s' (want 0 or a "
			     "multiple of 4K, e.g. 16M)", (int)len, val);
		return -1;
	}
	return 0;
}

static int parse_swap_low(struct hv_config *cfg, const char *val,
			  size_t len, char *err, size_t errlen)
{
	size_t colon = 0;
	u64 low, high;

	while (colon < len && val[colon] != ':')
		colon++;
	if (colon == len || parse_u64(val, colon, &low) < 0 ||
	    parse_u64(val + colon + 1, len - colon - 1, &high) < 0 ||
	    low == 0 || low >= high || high > 50) {
		fmt_snprintf(err, errlen, "swap_low: '%.*s' is not LOW:HIGH "
			     "percent of the pool with 0 < LOW < HIGH <= 50 "
			     "(e.g. 4:6)", (int)len, val);
		return -1;
	}
	cfg->swap_low = low;
	cfg->swap_high = high;
	return 0;
}

/* mem_states=HIGH:SOFT:HARD:LOW, percent of the pool. */
static int parse_mem_states(struct hv_config *cfg, const char *val,
			    size_t len, char *err, size_t errlen)
{
	u64 pct[4];
	size_t at = 0;
	int n = 0;
	bool ok = true;

	/* Exactly four numbers, three colons. */
	while (ok && at <= len) {
		size_t end = at;
		while (end < len && val[end] != ':')
			end++;
		ok = n < 4 && parse_u64(val + at, end - at, &pct[n]) == 0;
		n++;
		at = end + 1;
	}
	if (!ok || n != 4 || pct[0] > 50 || pct[0] <= pct[1] ||
	    pct[1] <= pct[2] || pct[2] <= pct[3] || pct[3] == 0) {
		fmt_snprintf(err, errlen, "mem_states: '%.*s' is not "
			     "HIGH:SOFT:HARD:LOW percent of the pool with 50 >= "
			     "HIGH > SOFT > HARD > LOW > 0 (default %u:%u:%u:%u)",
			     (int)len, val, MEM_STATES_DEFAULT_HIGH,
			     MEM_STATES_DEFAULT_SOFT, MEM_STATES_DEFAULT_HARD,
			     MEM_STATES_DEFAULT_LOW);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		cfg->mem_states[i] = (unsigned)pct[i];
	return 0;
}

static int parse_idle_tax(struct hv_config *cfg, const char *val,
			  size_t len, char *err, size_t errlen)
{
	return parse_number("idle_tax", &cfg->idle_tax, 0, IDLE_TAX_MAX, val,
			    len, err, errlen);
}

static int parse_balloon_max(struct hv_config *cfg, const char *val,
			     size_t len, char *err, size_t errlen)
{
	return parse_number("balloon_max", &cfg->balloon_max, 0,
			    BALLOON_MAX_MAX, val, len, err, errlen);
}

static int parse_share(struct hv_config *cfg, const char *val, size_t len,
		       char *err, size_t errlen)
{
	if (token_is(val, len, "on") || token_is(val, len, "off")) {
		cfg->share = token_is(val, len, "on");
		return 0;
	}
	fmt_snprintf(err, errlen, "share: '%.*s' is neither 'on' nor 'off'",
		     (int)len, val);
	return -1;
}

static int parse_shadow_rmap(struct hv_config *cfg, const char *val,
			     size_t len, char *err, size_t errlen)
{
	if (token_is(val, len, "on") || token_is(val, len, "off")) {
		cfg->shadow_rmap_off = token_is(val, len, "off");
		return 0;
	}
	fmt_snprintf(err, errlen, "shadow_rmap: '%.*s' is neither 'on' nor "
		     "'off'", (int)len, val);
	return -1;
}

static int parse_share_scan(struct hv_config *cfg, const char *val,
			    size_t len, char *err, size_t errlen)
{
	return parse_number("share_scan", &cfg->share_scan, 1, 65536, val, len,
			    err, errlen);
}

static int parse_share_oracle(struct hv_config *cfg, const char *val,
			      size_t len, char *err, size_t errlen)
{
	return parse_number("share_oracle", &cfg->share_oracle, 0, 1, val, len,
			    err, errlen);
}

static const struct config_key keys[] = {
	{ "vm", true, parse_vm },
	{ "pool", false, parse_pool },
	{ "slice", false, parse_slice },
	{ "stat_interval", false, parse_stat_interval },
	{ "watchdog", false, parse_watchdog },
	{ "slat_drop", false, parse_slat_drop },
	{ "slat_trace", false, parse_slat_trace },
	{ "swap", false, parse_swap },
	{ "swap_low", false, parse_swap_low },
	{ "mem_states", false, parse_mem_states },
	{ "idle_tax", false, parse_idle_tax },
	{ "balloon_max", false, parse_balloon_max },
	{ "share", false, parse_share },
	{ "share_scan", false, parse_share_scan },
	{ "share_oracle", false, parse_share_oracle },
	{ "shadow_rmap", false, parse_shadow_rmap },
	{ "selftest", false, parse_selftest },
};

int config_parse(struct hv_config *cfg, const char *cmdline, char *err,
		 size_t errlen)
{
	const char *pos = cmdline;
	struct cmdline_kv kv;
	bool seen[ARRAY_SIZE(keys)] = { false };
	int r;

	*cfg = (struct hv_config){ .selftest = SELFTEST_NONE,
				   .slice_us = CONFIG_DEFAULT_SLICE_US,
				   .stat_interval_ms = CONFIG_DEFAULT_STAT_MS,
				   .watchdog_s = CONFIG_DEFAULT_WATCHDOG_S,
				   .swap_low = CONFIG_DEFAULT_SWAP_LOW,
				   .swap_high = CONFIG_DEFAULT_SWAP_HIGH,
				   .mem_states = { MEM_STATES_DEFAULT_HIGH,
						   MEM_STATES_DEFAULT_SOFT,
						   MEM_STATES_DEFAULT_HARD,
						   MEM_STATES_DEFAULT_LOW },
				   .idle_tax = IDLE_TAX_DEFAULT,
				   .balloon_max = BALLOON_MAX_DEFAULT,
				   .share = true,
				   .share_scan = CONFIG_DEFAULT_SHARE_SCAN };
	while ((r = cmdline_next(&pos, &kv, err, errlen)) > 0) {
		const struct config_key *key = NULL;
		for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
			if (token_is(kv.key, kv.key_len, keys[i].name))
				key = &keys[i];
		if (!key) {
			int o = fmt_snprintf(err, errlen,
					     "unknown key '%.*s' (known:",
					     (int)kv.key_len, kv.key);
			for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
				if ((size_t)o < errlen)
					o += fmt_snprintf(err + o, errlen - o,
							  " %s", keys[i].name);
			if ((size_t)o < errlen)
				fmt_snprintf(err + o, errlen - o, ")");
			return -1;
		}
		if (seen[key - keys] && !key->repeatable) {
			fmt_snprintf(err, errlen, "key '%s' given twice",
				     key->name);
			return -1;
		}
		seen[key - keys] = true;
		if (key->parse(cfg, kv.val, kv.val_len, err, errlen) < 0)
			return -1;
	}
	if (r == 0 && cfg->selftest == SELFTEST_BITFLIP &&
	    cfg->bitflip_vm >= (unsigned)cfg->vm_count) {
		fmt_snprintf(err, errlen, "selftest: bitflip names vm%u, but "
			     "%d VM%s declared", cfg->bitflip_vm,
			     cfg->vm_count, cfg->vm_count == 1 ? " is" : "s are");
		return -1;
	}
	return r;
}
