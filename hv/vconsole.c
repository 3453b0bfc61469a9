/*
 * vconsole.c - a guest's COM1 output, as lines (the rules are in
 * vconsole.h).  The escape parser is a three-state machine over single
 * bytes; it stores no parameters (no sequence needs them: a cursor move
 * only ends a line), so its only memory is a capped count.
 */
#include "vconsole.h"

#define ASCII_ESC 0x1b
#define ASCII_DEL 0x7f
/* ECMA-48 5.4: a control sequence is CSI, parameter bytes 0x30-0x3F,
 * intermediate bytes 0x20-0x2F, then one final byte 0x40-0x7E. */
#define CSI_PARAM_FIRST 0x20
#define CSI_PARAM_LAST 0x3f
#define CSI_FINAL_FIRST 0x40
#define CSI_FINAL_LAST 0x7e

enum { VC_TEXT, VC_ESC, VC_CSI };

void vconsole_init(struct vconsole *c, vconsole_emit_fn *emit, void *ctx)
{
	c->len = 0;
	c->esc = VC_TEXT;
	c->csi_len = 0;
	c->lines = c->csi_dropped = 0;
	c->nwatch = 0;
	c->emit = emit;
	c->ctx = ctx;
}

int vconsole_watch(struct vconsole *c, const struct regex *re, bool forbid)
{
	if (c->nwatch == VCONSOLE_WATCH_MAX)
		return -1;
	struct vconsole_watch *w = &c->watch[c->nwatch++];
	w->re = re;
	w->forbid = forbid;
	w->first_line = 0;
	w->text[0] = 0;
	return 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Emits line[0..len) as one line, matching it first, and empties the
 * buffer. */
static void emit_line(struct vconsole *c, u32 len)
{
	c->lines++;
	for (int i = 0; i < c->nwatch; i++) {
		struct vconsole_watch *w = &c->watch[i];
		if (w->first_line || !regex_match(w->re, c->line, len))
			continue;
		w->first_line = c->lines;
		if (w->forbid) {
			for (u32 k = 0; k < len; k++)
				w->text[k] = c->line[k];
			w->text[len] = 0;
		}
	}
	if (c->emit)
		c->emit(c->ctx, c->line, len);
	c->len = 0;
}

static u32 trimmed_len(const struct vconsole *c)
{
	u32 n = c->len;

	while (n && is_blank(c->line[n - 1]))
		n--;
	return n;
}

/* A line ends at '\n' (emitted even if empty) or at a cursor move or
 * erase (emitted only if something is left after trimming). */
static void end_line(struct vconsole *c, bool always)
{
	u32 n = trimmed_len(c);

	if (n || always)
		emit_line(c, n);
	c->len = 0;
}

/* The final byte of a CSI sequence of acceptable length. */
static void csi_final(struct vconsole *c, u8 ch)
{
	if (ch == 'H' || ch == 'f' || ch == 'J')
		end_line(c, false);
}

void vconsole_put(struct vconsole *c, u8 ch)
{
	if (c->esc == VC_ESC) {		/* the byte after ESC */
		c->esc = ch == '[' ? VC_CSI : VC_TEXT;
		c->csi_len = 0;
		return;
	}
	if (c->esc == VC_CSI) {
		if (ch >= CSI_PARAM_FIRST && ch <= CSI_PARAM_LAST) {
			if (c->csi_len <= VCONSOLE_CSI_MAX)
				c->csi_len++;
			return;
		}
		c->esc = VC_TEXT;
		if (ch >= CSI_FINAL_FIRST && ch <= CSI_FINAL_LAST) {
			if (c->csi_len > VCONSOLE_CSI_MAX)
				c->csi_dropped++;
			else
				csi_final(c, ch);
			return;
		}
		/* not part of a sequence: it ends it and counts as itself */
	}
	if (ch == ASCII_ESC) {
		c->esc = VC_ESC;
		return;
	}
	if (ch == '\n') {
		end_line(c, true);
		return;
	}
	if ((ch < ' ' && ch != '\t') || ch == ASCII_DEL)
		return;
	if (c->len == VCONSOLE_LINE - 1)	/* full: a piece, untrimmed */
		emit_line(c, c->len);
	c->line[c->len++] = (char)ch;
}

void vconsole_flush(struct vconsole *c)
{
	end_line(c, false);
	c->esc = VC_TEXT;
}
