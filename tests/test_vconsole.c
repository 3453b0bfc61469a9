/*
 * test_vconsole.c - hv/vconsole.c: plain lines exactly as before, an ANSI
 * screen (memtest86+'s serial output) turned into lines, hostile escape
 * sequences, and the expect/forbid watches.  The emit function here
 * prints "[vm0] text" as the hypervisor does.
 */
#include "../hv/vconsole.h"
#include "unit.h"

#include <stdlib.h>

#define MAX_LINES 64

static char out[MAX_LINES][VCONSOLE_LINE + 8];
static int nout;

static void emit(void *ctx, const char *text, size_t len)
{
	CHECK(ctx == out);
	CHECK(len < VCONSOLE_LINE);
	if (nout < MAX_LINES)
		snprintf(out[nout], sizeof(out[0]), "[vm0] %.*s", (int)len,
			 text);
	nout++;
}

static struct vconsole con;

static void reset(void)
{
	nout = 0;
	vconsole_init(&con, emit, out);
}

static void put(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		vconsole_put(&con, (u8)s[i]);
}

static void puts_(const char *s)
{
	put(s, strlen(s));
}

/* The test guest's plain lines come out exactly as the old line buffer
 * printed them. */
TEST(vconsole_plain_lines)
{
	reset();
	puts_("[guest] hello\nGUEST RESULT: PASS\n\nx\r\n\ta\tb\n");
	CHECK_EQ(nout, 5);
	CHECK_STR(out[0], "[vm0] [guest] hello");
	CHECK_STR(out[1], "[vm0] GUEST RESULT: PASS");
	CHECK_STR(out[2], "[vm0] ");		/* an empty line still shows */
	CHECK_STR(out[3], "[vm0] x");		/* '\r' dropped */
	CHECK_STR(out[4], "[vm0] \ta\tb");	/* tabs kept */
	CHECK_EQ(con.lines, 5);
	CHECK_EQ(con.len, 0);
}

TEST(vconsole_trailing_blanks_and_controls)
{
	reset();
	puts_("  lead kept, trail trimmed \t \n");
	puts_("a\x07\x08\x01" "b\x7f" "c\n");
	CHECK_EQ(nout, 2);
	CHECK_STR(out[0], "[vm0]   lead kept, trail trimmed");
	CHECK_STR(out[1], "[vm0] abc");
}

/* A line longer than the buffer leaves in pieces of 255 bytes, each a line
 * of its own (with the prefix); pieces keep their blanks. */
TEST(vconsole_long_line_in_pieces)
{
	char line[601];
	reset();
	memset(line, 'x', 600);
	line[254] = ' ';	/* the first piece ends in a blank: kept */
	line[600] = '\n';
	put(line, 601);
	CHECK_EQ(nout, 3);
	CHECK_EQ(strlen(out[0]), 6 + 255);
	CHECK_EQ(out[0][6 + 254], ' ');
	CHECK_EQ(strlen(out[1]), 6 + 255);
	CHECK_EQ(strlen(out[2]), 6 + 90);

	reset();	/* exactly 255 bytes and '\n': one line, as before */
	put(line + 300, 255);
	puts_("\n");
	CHECK_EQ(nout, 1);
	CHECK_EQ(strlen(out[0]), 6 + 255);
	reset();	/* 256: 255 and 1 */
	put(line + 300, 256);
	puts_("\n");
	CHECK_EQ(nout, 2);
	CHECK_STR(out[1], "[vm0] x");
}

/*
 * The start of memtest86+ 6.10's serial screen (natively under QEMU, ESC
 * as \x1b): its header, a status row, the blank rows of its scroll area,
 * then its first progress updates, which redraw fields at column 35.
 */
static const char memtest[] =
	"\x1b[2J\x1b[?25l\x1b[1;1H\x1b[7m      Memtest86+ v6.10      \x1b[0m"
	"| QEMU Virtual CPU version 2.5+                     "
	"\x1b[2;1HCLK/Temp: 2767MHz           | Pass   %              "
	"                            "
	"\x1b[7;1H-----------------------------------------------------------"
	"---------------------"
	"\x1b[9;1HUsing:                                    | Pass:  0        "
	"Errors: 0           "
	"\x1b[11;1H                                                          "
	"                      "
	"\x1b[12;1H                                                          "
	"                      "
	"\x1b[25;1H\x1b[7m <ESC> Exit  <F1> Configuration  <Space> Scroll Lock"
	"            6.10.unknown.x64"
	"\x1b[2;35H\x1b[0m  0%                                          "
	"\x1b[3;35H 25% ##########                               "
	"\x1b[4;35H #0  [Address test, walking ones, no cache]   "
	"\x1b[5;35Hing: 0KB - 4MB [4MB of 15.4MB]    "
	"\x1b[9;1HUsing: Core #0                            | Pass:  0        "
	"Errors: 0           "
	"\x1b[2;35H";

TEST(vconsole_memtest_screen)
{
	static const char *const want[] = {
		"[vm0]       Memtest86+ v6.10      | QEMU Virtual CPU version "
		"2.5+",
		"[vm0] CLK/Temp: 2767MHz           | Pass   %",
		"[vm0] -----------------------------------------------------"
		"---------------------------",
		"[vm0] Using:                                    | Pass:  0    "
		"    Errors: 0",
		/* the blank rows 11 and 12 emit nothing */
		"[vm0]  <ESC> Exit  <F1> Configuration  <Space> Scroll Lock"
		"            6.10.unknown.x64",
		"[vm0]   0%",
		"[vm0]  25% ##########",
		/* memtest draws " #0  [..." at column 35: leading blanks
		 * are kept (only trailing ones are trimmed), so two blanks
		 * follow the prefix */
		"[vm0]  #0  [Address test, walking ones, no cache]",
		"[vm0] ing: 0KB - 4MB [4MB of 15.4MB]",
		"[vm0] Using: Core #0                            | Pass:  0    "
		"    Errors: 0",
	};
	struct regex errors0, pass1, test0;
	const char *why;

	reset();
	CHECK_EQ(regex_compile(&errors0, "Errors: 0", 9, &why), 0);
	CHECK_EQ(regex_compile(&pass1, "Pass: +1 ", 9, &why), 0);
	CHECK_EQ(regex_compile(&test0, "#0  \\[Address", 13, &why), 0);
	CHECK_EQ(vconsole_watch(&con, &errors0, false), 0);
	CHECK_EQ(vconsole_watch(&con, &pass1, false), 0);
	CHECK_EQ(vconsole_watch(&con, &test0, false), 0);
	put(memtest, sizeof(memtest) - 1);
	CHECK_EQ(nout, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < nout && i < (int)(sizeof(want) / sizeof(want[0]));
	     i++)
		CHECK_STR(out[i], want[i]);
	CHECK_EQ(con.watch[0].first_line, 4);
	CHECK_EQ(con.watch[1].first_line, 0);	/* never */
	CHECK_EQ(con.watch[2].first_line, 8);
	CHECK_EQ(con.len, 0);		/* the last cursor move left nothing */
	CHECK_EQ(con.csi_dropped, 0);
}

/* ESC and one byte are dropped; so are SGR, erase-line, cursor hiding;
 * a byte that cannot be in a CSI sequence ends it and counts. */
TEST(vconsole_other_escapes)
{
	reset();
	puts_("a\x1b" "7b\x1b[1;31mc\x1b[0m\x1b[K\x1b[?25ld\n");
	puts_("e\x1b[1\nf\n");		/* '\n' inside a sequence */
	puts_("g\x1b[3\x1b[1mh\n");	/* ESC inside a sequence */
	puts_("i\x1b[5;5fj\x1b[2Jk");	/* 'f' and 'J' end lines */
	CHECK_EQ(nout, 6);
	CHECK_STR(out[0], "[vm0] abcd");
	CHECK_STR(out[1], "[vm0] e");
	CHECK_STR(out[2], "[vm0] f");
	CHECK_STR(out[3], "[vm0] gh");
	CHECK_STR(out[4], "[vm0] i");
	CHECK_STR(out[5], "[vm0] j");
	puts_("\x1b[H");		/* k ends too */
	CHECK_EQ(nout, 7);
	CHECK_STR(out[6], "[vm0] k");
}

/* ESC [ then thousands of parameter bytes: nothing grows, the sequence is
 * dropped whole (its final byte does not end the line), and what follows
 * is text again. */
TEST(vconsole_endless_sequence)
{
	reset();
	puts_("abc\x1b[");
	for (int i = 0; i < 100000; i++)
		vconsole_put(&con, i % 2 ? ';' : '1');
	CHECK_EQ(con.csi_len, VCONSOLE_CSI_MAX + 1);
	CHECK_EQ(con.len, 3);
	puts_("Hdef\n");
	CHECK_EQ(nout, 1);
	CHECK_STR(out[0], "[vm0] abcdef");
	CHECK_EQ(con.csi_dropped, 1);
	/* at the cap exactly, a sequence still counts */
	puts_("x\x1b[");
	for (int i = 0; i < VCONSOLE_CSI_MAX; i++)
		vconsole_put(&con, '1');
	puts_("Hy\n");
	CHECK_EQ(nout, 3);
	CHECK_STR(out[1], "[vm0] x");
	CHECK_STR(out[2], "[vm0] y");
	CHECK_EQ(con.csi_dropped, 1);
}

/* The last line without its newline leaves at the end; a blank one does
 * not. */
TEST(vconsole_flush_at_end)
{
	reset();
	puts_("done\ntail");
	vconsole_flush(&con);
	CHECK_EQ(nout, 2);
	CHECK_STR(out[1], "[vm0] tail");
	puts_("   ");
	vconsole_flush(&con);
	vconsole_flush(&con);
	CHECK_EQ(nout, 2);
	puts_("\x1b");		/* an escape cut by the end is forgotten */
	vconsole_flush(&con);
	puts_("[zz\n");
	CHECK_EQ(nout, 3);
	CHECK_STR(out[2], "[vm0] [zz");
}

/* Expect and forbid watches: the first matching line's number, and for a
 * forbid the line itself; at most VCONSOLE_WATCH_MAX. */
TEST(vconsole_watches)
{
	struct regex ok, bad, never;
	const char *why;

	reset();
	CHECK_EQ(regex_compile(&ok, "^pass [0-9]+$", 13, &why), 0);
	CHECK_EQ(regex_compile(&bad, "Errors: [1-9]", 13, &why), 0);
	CHECK_EQ(regex_compile(&never, "#10 ", 4, &why), 0);
	CHECK_EQ(vconsole_watch(&con, &ok, false), 0);
	CHECK_EQ(vconsole_watch(&con, &bad, true), 0);
	CHECK_EQ(vconsole_watch(&con, &never, false), 0);
	puts_("start\npass 1\nErrors: 0\nErrors: 3 (first)\npass 2\n"
	      "Errors: 7\n");
	CHECK_EQ(con.watch[0].first_line, 2);
	CHECK_EQ(con.watch[1].first_line, 4);
	CHECK_STR(con.watch[1].text, "Errors: 3 (first)");
	CHECK_EQ(con.watch[2].first_line, 0);
	CHECK_STR(con.watch[0].text, "");	/* expects keep no text */
	for (int i = 3; i < VCONSOLE_WATCH_MAX; i++)
		CHECK_EQ(vconsole_watch(&con, &never, false), 0);
	CHECK_EQ(vconsole_watch(&con, &never, false), -1);
}
