/*
 * fmt.c - a small vsnprintf.
 *
 * Supported: flags '-' '0' '+' ' ' '#', a width and a precision (numbers or
 * '*'), the length modifiers hh h l ll z j t, and the conversions
 * d i u x X o p s c %.  Like C's snprintf it always NUL-terminates when size
 * is non-zero and returns the length the whole output would have had, so a
 * caller can detect truncation.  Unknown conversions are copied through
 * verbatim rather than guessed at.
 */
#include "fmt.h"

struct out {
	char *buf;
	size_t size;
	size_t len;	/* characters produced so far, including dropped ones */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_repeat(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int precision;	/* -1: none */
};

static void put_string(struct out *o, const char *s, const struct spec *sp)
{
	int n = 0;

	if (!s)
		s = "(null)";
	/* Test the bound first: with a precision, s need not be terminated. */
	while ((sp->precision < 0 || n < sp->precision) && s[n])
		n++;
	if (!sp->left)
		put_repeat(o, ' ', sp->width - n);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->left)
		put_repeat(o, ' ', sp->width - n);
}

/*
 * sign_ok: only the signed conversions honour '+' and ' ' (C11 7.21.6.1).
 * For "%#o" the prefix "0" is only added if the digits do not already
 * start with a zero.
 */
static void put_number(struct out *o, u64 v, bool negative, bool sign_ok,
		       unsigned base, bool upper, const char *prefix,
		       const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (sp->precision == 0 && n == 1 && tmp[0] == '0')
		n = 0;

	char sign = negative		 ? '-'
		    : sign_ok && sp->plus  ? '+'
		    : sign_ok && sp->space ? ' '
					   : 0;
	int plen = 0;

	while (prefix[plen])
		plen++;
	int zeros = sp->precision > n ? sp->precision - n : 0;
	if (base == 8 && plen && (zeros || (n && tmp[n - 1] == '0')))
		plen = 0;	/* "%#o": the leading zero is already there */
	int body = n + zeros + plen + (sign != 0);
	int pad = sp->width > body ? sp->width - body : 0;

	if (!sp->left && !(sp->zero && sp->precision < 0))
		put_repeat(o, ' ', pad);
	if (sign)
		put(o, sign);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	if (!sp->left && sp->zero && sp->precision < 0)
		put_repeat(o, '0', pad);
	put_repeat(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		put_repeat(o, ' ', pad);
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		const char *start = fmt++;
		struct spec sp = { .precision = -1 };

		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '+')
				sp.plus = true;
			else if (*fmt == ' ')
				sp.space = true;
			else if (*fmt == '#')
				sp.alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				/* -INT_MIN overflows; no width is that large */
				sp.width = sp.width == -__INT_MAX__ - 1
						   ? __INT_MAX__
						   : -sp.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = 0;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				if (sp.precision < 0)
					sp.precision = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.precision = sp.precision * 10 +
						       (*fmt++ - '0');
			}
		}

		int len = 0;	/* 0 int, 1 long, 2 long long, -1 short, -2 char */
		if (*fmt == 'h') {
			len = -1;
			if (*++fmt == 'h') {
				len = -2;
				fmt++;
			}
		} else if (*fmt == 'l') {
			len = 1;
			if (*++fmt == 'l') {
				len = 2;
				fmt++;
			}
		} else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') {
			len = 2;
			fmt++;
		}

		char conv = *fmt;
		if (!conv)
			break;
		fmt++;

		switch (conv) {
		case 'd':
		case 'i': {
			s64 v = len >= 1 ? (len == 2 ? va_arg(ap, long long)
						     : va_arg(ap, long))
					 : va_arg(ap, int);
			if (len == -1)
				v = (short)v;
			else if (len == -2)
				v = (signed char)v;
			u64 mag = v < 0 ? -(u64)v : (u64)v;
			put_number(&o, mag, v < 0, true, 10, false, "", &sp);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			u64 v = len >= 1 ? (len == 2 ? va_arg(ap, unsigned long long)
						     : va_arg(ap, unsigned long))
					 : va_arg(ap, unsigned int);
			if (len == -1)
				v = (unsigned short)v;
			else if (len == -2)
				v = (unsigned char)v;
			unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
			const char *prefix = "";
			if (sp.alt && v && base == 16)
				prefix = conv == 'X' ? "0X" : "0x";
			else if (sp.alt && base == 8)
				prefix = "0";
			put_number(&o, v, false, false, base, conv == 'X', prefix,
				   &sp);
			break;
		}
		case 'p':
			put_number(&o, (u64)(uintptr_t)va_arg(ap, void *), false,
				   false, 16, false, "0x", &sp);
			break;
		case 's':
			put_string(&o, va_arg(ap, const char *), &sp);
			break;
		case 'c':	/* padded like a string, but may be NUL */
			if (!sp.left)
				put_repeat(&o, ' ', sp.width - 1);
			put(&o, (char)va_arg(ap, int));
			if (sp.left)
				put_repeat(&o, ' ', sp.width - 1);
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			while (start < fmt)
				put(&o, *start++);
			break;
		}
	}
	if (size)
		o.buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
