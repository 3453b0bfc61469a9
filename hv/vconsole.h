/*
 * vconsole.h - a guest's COM1 output, as lines.
 *
 * The bytes a guest writes to its UART's transmit register (hv/exit.c
 * uart_io) come here one at a time; whole lines leave through the emit
 * function (the hypervisor prints each as "[vmN] text") after being
 * checked against the VM's expect_console= and forbid_console= patterns.
 *
 * Plain text passes as it always did: a line ends at '\n' (and is emitted
 * even if empty), '\r' is dropped, a line longer than the buffer leaves in
 * pieces of VCONSOLE_LINE - 1 bytes.  A guest that draws a screen with
 * ANSI escapes (memtest86+ on a serial console) is turned into lines too:
 *
 *   ESC [ params final   a CSI sequence (params and intermediates 0x20-
 *                        0x3F, final byte 0x40-0x7E) is never printed;
 *                        a cursor position (final 'H' or 'f') or an erase
 *                        of the display ('J') ends the current line, which
 *                        is emitted only if it has a non-blank byte; every
 *                        other CSI sequence (SGR 'm', "?25l", 'K', ...) is
 *                        dropped with no effect
 *   ESC [ (longer)       a sequence with more than VCONSOLE_CSI_MAX
 *                        parameter bytes is dropped whole: the rest of its
 *                        parameter bytes and its final byte have no effect,
 *                        and nothing grows however long it goes on
 *   ESC x                any other escape: ESC and the one byte after it
 *                        are dropped
 *   control bytes        dropped, except '\n' and '\t'; a byte that is
 *                        neither a parameter nor a final byte inside a CSI
 *                        sequence ends the sequence and counts as itself
 *
 * Trailing blanks (' ', '\t') of a line that ends are trimmed; the pieces
 * of an over-long line are emitted as they are.
 */
#ifndef HV_VCONSOLE_H
#define HV_VCONSOLE_H

#include "regex.h"
#include "types.h"

#define VCONSOLE_LINE 256	/* the line buffer; pieces of 255 bytes */
#define VCONSOLE_CSI_MAX 32	/* parameter bytes of a CSI sequence kept */
#define VCONSOLE_WATCH_MAX 8	/* 4 expect_console= + 4 forbid_console= */

typedef void vconsole_emit_fn(void *ctx, const char *text, size_t len);

/* A pattern every emitted line is matched against. */
struct vconsole_watch {
	const struct regex *re;
	bool forbid;			/* forbid_console= (else expect_) */
	u64 first_line;			/* line number of its first match,
					   counted from 1; 0: none yet */
	char text[VCONSOLE_LINE];	/* forbid: that line */
};

struct vconsole {
	char line[VCONSOLE_LINE];
	u32 len;
	u8 esc;				/* where in an escape sequence */
	u32 csi_len;			/* its parameter bytes so far (capped) */
	u64 lines;			/* lines emitted */
	u64 csi_dropped;		/* over-long CSI sequences dropped */
	int nwatch;
	struct vconsole_watch watch[VCONSOLE_WATCH_MAX];
	vconsole_emit_fn *emit;
	void *ctx;
};

void vconsole_init(struct vconsole *c, vconsole_emit_fn *emit, void *ctx);
/* Matches every line from now on against re; -1 if there are too many. */
int vconsole_watch(struct vconsole *c, const struct regex *re, bool forbid);
/* One byte the guest wrote to its transmit register. */
void vconsole_put(struct vconsole *c, u8 ch);
/* The guest has ended: a last line without its newline leaves too. */
void vconsole_flush(struct vconsole *c);

#endif
