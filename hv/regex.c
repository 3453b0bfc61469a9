/*
 * regex.c - the console matcher's compiler and its NFA simulation
 * (the dialect is in regex.h).
 *
 * A compiled pattern is a list of alternatives, each a sequence of atoms
 * (a byte, any byte, or a class), each atom once, optional (x?) or
 * repeated (x*); x+ is compiled as x x*.  With no groups, the NFA of an
 * alternative of n atoms has the states 0..n: state k waits for atom k,
 * state n accepts.  Its only epsilon moves are k -> k+1 past an optional
 * or repeated atom, so one ascending pass closes a set of states, and a
 * set fits one u64 (n <= REGEX_ATOMS_MAX = 63).
 */
#include "regex.h"

static bool cls_has(const u8 *set, u8 c)
{
	return set[c >> 3] & (1u << (c & 7));
}

static void cls_add(u8 *set, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi; c++)
		set[c >> 3] |= (u8)(1u << (c & 7));
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A new class, all bytes clear; NULL if the pattern has too many. */
static u8 *new_class(struct regex *re, const char **why)
{
	if (re->nclasses == REGEX_CLASSES_MAX) {
		*why = "more than 8 classes ([...], \\d, \\s, \\w)";
		return NULL;
	}
	u8 *set = re->cls[re->nclasses++];
	for (int i = 0; i < 32; i++)
		set[i] = 0;
	return set;
}

static int add_atom(struct regex *re, u8 kind, u8 arg, const char **why)
{
	if (re->natoms == REGEX_ATOMS_MAX) {
		*why = "more than 63 atoms";
		return -1;
	}
	re->atom[re->natoms++] = (struct regex_atom){ kind, RX_ONE, arg };
	return 0;
}

/* One byte of a class at pat[*i], '\' escaping the next; -1 at the end. */
static int class_byte(const char *pat, size_t len, size_t *i)
{
	if (*i < len && pat[*i] == '\\')
		(*i)++;
	if (*i >= len)
		return -1;
	return (u8)pat[(*i)++];
}

/* '[' at pat[*i]: the class up to its ']', as a new class atom. */
static int parse_class(struct regex *re, const char *pat, size_t len,
		       size_t *i, const char **why)
{
	bool neg = false;
	u8 *set;

	(*i)++;
	if (*i < len && pat[*i] == '^') {
		neg = true;
		(*i)++;
	}
	if (!(set = new_class(re, why)))
		return -1;
	for (bool first = true;; first = false) {
		if (*i >= len) {
			*why = "unclosed [";
			return -1;
		}
		if (pat[*i] == ']' && !first) {
			(*i)++;
			break;
		}
		int lo = class_byte(pat, len, i), hi = lo;
		if (lo >= 0 && *i + 1 < len && pat[*i] == '-' &&
		    pat[*i + 1] != ']') {
			(*i)++;
			hi = class_byte(pat, len, i);
		}
		if (lo < 0 || hi < 0) {
			*why = "unclosed [";
			return -1;
		}
		if (hi < lo) {
			*why = "bad range in [...]: its end is below its start";
			return -1;
		}
		cls_add(set, (unsigned)lo, (unsigned)hi);
	}
	if (neg)
		for (int b = 0; b < 32; b++)
			set[b] = (u8)~set[b];
	return add_atom(re, RX_CLASS, (u8)(re->nclasses - 1), why);
}

/* \d \s \w as classes, \c for a punctuation byte c as itself. */
static int parse_escape(struct regex *re, char c, const char **why)
{
	u8 *set;

	if (!is_alnum(c))
		return add_atom(re, RX_BYTE, (u8)c, why);
	if (c != 'd' && c != 's' && c != 'w') {
		*why = "unknown escape (known: \\d \\s \\w, or \\ before a "
		       "punctuation byte)";
		return -1;
	}
	if (!(set = new_class(re, why)))
		return -1;
	if (c == 'd' || c == 'w')
		cls_add(set, '0', '9');
	if (c == 'w') {
		cls_add(set, 'a', 'z');
		cls_add(set, 'A', 'Z');
		cls_add(set, '_', '_');
	}
	if (c == 's') {
		cls_add(set, ' ', ' ');
		cls_add(set, '\t', '\t');
	}
	return add_atom(re, RX_CLASS, (u8)(re->nclasses - 1), why);
}

/* A quantifier after the last atom (which must be a fresh one). */
static int quantify(struct regex *re, char q, bool can_repeat,
		    const char **why)
{
	if (!can_repeat) {
		*why = "'*', '+' or '?' with nothing to repeat";
		return -1;
	}
	struct regex_atom *a = &re->atom[re->natoms - 1];
	if (q == '*')
		a->quant = RX_STAR;
	else if (q == '?')
		a->quant = RX_OPT;
	else if (add_atom(re, a->kind, a->arg, why) < 0)	/* x+ = x x* */
		return -1;
	else
		re->atom[re->natoms - 1].quant = RX_STAR;
	return 0;
}

static int close_alt(struct regex *re, const char **why)
{
	struct regex_alt *alt = &re->alt[re->nalts - 1];

	alt->end = re->natoms;
	if (alt->end == alt->first && !alt->bol && !alt->eol) {
		*why = "empty alternative";
		return -1;
	}
	return 0;
}

int regex_compile(struct regex *re, const char *pat, size_t len,
		  const char **why)
{
	bool can_repeat = false;	/* the last token was an atom */

	if (len == 0) {
		*why = "empty pattern";
		return -1;
	}
	if (len >= REGEX_SRC_MAX) {
		*why = "longer than 127 bytes";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		re->src[i] = pat[i];
	re->src[len] = 0;
	re->natoms = re->nclasses = 0;
	re->nalts = 1;
	re->alt[0] = (struct regex_alt){ 0, 0, false, false };

	for (size_t i = 0; i < len;) {
		struct regex_alt *alt = &re->alt[re->nalts - 1];
		char c = pat[i];
		int r = 0;

		if (alt->eol && c != '|') {
			*why = "'$' not at the end of an alternative (write \\$ "
			       "for the byte)";
			return -1;
		}
		switch (c) {
		case '|':
			if (close_alt(re, why) < 0)
				return -1;
			if (re->nalts == REGEX_ALTS_MAX) {
				*why = "more than 8 alternatives";
				return -1;
			}
			re->alt[re->nalts++] = (struct regex_alt){
				re->natoms, re->natoms, false, false };
			can_repeat = false;
			i++;
			continue;
		case '^':
			if (re->natoms != alt->first || alt->bol) {
				*why = "'^' not at the start of an alternative "
				       "(write \\^ for the byte)";
				return -1;
			}
			alt->bol = true;
			can_repeat = false;
			i++;
			continue;
		case '$':
			alt->eol = true;
			can_repeat = false;
			i++;
			continue;
		case '*': case '+': case '?':
			if (quantify(re, c, can_repeat, why) < 0)
				return -1;
			can_repeat = false;
			i++;
			continue;
		case '(': case ')':
			*why = "groups ( ) are not supported";
			return -1;
		case '{': case '}':
			*why = "counted repetition { } is not supported";
			return -1;
		case '.':
			r = add_atom(re, RX_ANY, 0, why);
			i++;
			break;
		case '[':
			r = parse_class(re, pat, len, &i, why);
			break;
		case '\\':
			if (i + 1 == len) {
				*why = "a '\\' at the end";
				return -1;
			}
			r = parse_escape(re, pat[i + 1], why);
			i += 2;
			break;
		default:
			r = add_atom(re, RX_BYTE, (u8)c, why);
			i++;
			break;
		}
		if (r < 0)
			return -1;
		can_repeat = true;
	}
	return close_alt(re, why);
}

static bool atom_matches(const struct regex *re, const struct regex_atom *a,
			 u8 c)
{
	switch (a->kind) {
	case RX_BYTE: return c == a->arg;
	case RX_ANY: return true;
	default: return cls_has(re->cls[a->arg], c);
	}
}

/* Adds to set every state an epsilon move reaches: k -> k+1 past an
 * optional or repeated atom k. */
static u64 closure(const struct regex_atom *atoms, unsigned n, u64 set)
{
	for (unsigned k = 0; k < n; k++)
		if ((set >> k & 1) && atoms[k].quant != RX_ONE)
			set |= 1ull << (k + 1);
	return set;
}

static bool alt_match(const struct regex *re, const struct regex_alt *alt,
		      const char *s, size_t len)
{
	const struct regex_atom *atoms = re->atom + alt->first;
	unsigned n = alt->end - alt->first;
	u64 accept = 1ull << n;
	u64 cur = closure(atoms, n, 1);

	if (!alt->eol && (cur & accept))
		return true;
	for (size_t i = 0; i < len; i++) {
		u8 c = (u8)s[i];
		u64 next = alt->bol ? 0 : 1;	/* a match may start here */
		for (unsigned k = 0; k < n; k++) {
			if (!(cur >> k & 1) || !atom_matches(re, &atoms[k], c))
				continue;
			next |= atoms[k].quant == RX_STAR ? 1ull << k
							  : 1ull << (k + 1);
		}
		cur = closure(atoms, n, next);
		if (!alt->eol && (cur & accept))
			return true;
		if (!cur)
			return false;
	}
	return (cur & accept) != 0;
}

bool regex_match(const struct regex *re, const char *s, size_t len)
{
	for (unsigned a = 0; a < re->nalts; a++)
		if (alt_match(re, &re->alt[a], s, len))
			return true;
	return false;
}
