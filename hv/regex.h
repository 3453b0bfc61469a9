/*
 * regex.h - a small, bounded regular-expression matcher for the lines of a
 * guest's console (vm=...,expect_console= and forbid_console=).
 *
 * The dialect (a subset of POSIX ERE, no groups):
 *
 *   c        a literal byte (anything not listed below)
 *   .        any byte
 *   [abc] [a-z0-9] [^...]   a class, with ranges; ']' first is literal,
 *            '-' first or last is literal, '\' escapes one byte inside
 *   \d \s \w a digit, a blank (space or tab), a word byte [A-Za-z0-9_]
 *   \c       the byte c itself, for any other non-alphanumeric c (\. \[ \\)
 *   x* x+ x? zero or more, one or more, zero or one of the atom before
 *   ^ $      the start / end of the line; only first / last in an
 *            alternative (elsewhere escape them)
 *   a|b      alternatives, at the top level only
 *
 * '(' ')' '{' '}' are refused (no groups, no counted repetition), so a
 * pattern written for a fuller dialect fails at parse time instead of
 * meaning something else.  A match may start anywhere in the line, as
 * grep's does.
 *
 * Matching is a Thompson NFA simulation: a set of positions in the atom
 * sequence, advanced once per byte of the line.  It costs at most
 * (line length + 1) x (atoms) steps whatever the pattern and the line,
 * so a hostile guest line cannot make it backtrack.
 */
#ifndef HV_REGEX_H
#define HV_REGEX_H

#include "types.h"

#define REGEX_SRC_MAX 128	/* the pattern's text, NUL included */
#define REGEX_ATOMS_MAX 63	/* x+ takes two; + 1 accept state: 64 bits */
#define REGEX_CLASSES_MAX 8	/* [...], \d, \s, \w */
#define REGEX_ALTS_MAX 8

enum regex_quant { RX_ONE, RX_STAR, RX_OPT };
enum regex_kind { RX_BYTE, RX_ANY, RX_CLASS };

struct regex_atom {
	u8 kind;	/* enum regex_kind */
	u8 quant;	/* enum regex_quant */
	u8 arg;		/* the byte, or the class's index */
};

struct regex_alt {
	u8 first, end;		/* atoms [first, end) */
	bool bol, eol;		/* anchored by ^ / $ */
};

struct regex {
	char src[REGEX_SRC_MAX];
	u8 natoms, nclasses, nalts;
	struct regex_atom atom[REGEX_ATOMS_MAX];
	struct regex_alt alt[REGEX_ALTS_MAX];
	u8 cls[REGEX_CLASSES_MAX][32];	/* 256-bit byte sets */
};

/*
 * Compiles pat[0..len) into re.  0, or -1 with *why set to a short reason
 * ("unclosed [", "nothing to repeat before '*'", ...).
 */
int regex_compile(struct regex *re, const char *pat, size_t len,
		  const char **why);

/* True if re matches somewhere in s[0..len). */
bool regex_match(const struct regex *re, const char *s, size_t len);

#endif
