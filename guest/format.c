/*
 * format.c - the printf engine behind kprintf and fmt_snprintf.
 *
 * One pass over the format; each conversion becomes digits in a small local
 * buffer, then padding and the digits go to the sink.  No floating point
 * (the guest is built without SSE).
 */
#include "format.h"

#include <stdint.h>

struct fmt_spec {
	int left;      /* '-': pad on the right */
	int zero;      /* '0': pad numbers with zeros */
	int width;
	int precision; /* '.N': maximum characters of a %s; -1 if none */
	int longness;  /* 0 int, 1 long, 2 long long; size_t counts as long */
};

struct fmt_out {
	fmt_sink sink;
	void *ctx;
	int count;
};

static void put_char(struct fmt_out *out, char c)
{
	out->sink(out->ctx, c);
	out->count++;
}

static void put_padded(struct fmt_out *out, const struct fmt_spec *spec,
		       const char *prefix, const char *body, int body_len)
{
	int prefix_len = 0;
	while (prefix[prefix_len])
		prefix_len++;
	int pad = spec->width - prefix_len - body_len;
	char pad_char = (spec->zero && !spec->left) ? '0' : ' ';

	/* Zero padding goes between the sign/0x and the digits; spaces go
	 * before everything. */
	if (!spec->left && pad_char == ' ')
		for (; pad > 0; pad--)
			put_char(out, ' ');
	for (int i = 0; i < prefix_len; i++)
		put_char(out, prefix[i]);
	if (!spec->left && pad_char == '0')
		for (; pad > 0; pad--)
			put_char(out, '0');
	for (int i = 0; i < body_len; i++)
		put_char(out, body[i]);
	for (; pad > 0; pad--)
		put_char(out, ' ');
}

/* Writes v in the given base at the end of buf; returns the first digit. */
static char *render_unsigned(char *end, unsigned long long v, unsigned base,
			     int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return p;
}

static unsigned long long fetch_unsigned(va_list *ap, int longness)
{
	if (longness == 2)
		return va_arg(*ap, unsigned long long);
	if (longness == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static long long fetch_signed(va_list *ap, int longness)
{
	if (longness == 2)
		return va_arg(*ap, long long);
	if (longness == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

static const char *parse_spec(const char *f, struct fmt_spec *spec,
			      va_list *ap)
{
	*spec = (struct fmt_spec){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			spec->left = 1;
		else if (*f == '0')
			spec->zero = 1;
		else
			break;
	}
	if (*f == '*') {
		spec->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		spec->width = spec->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		spec->precision = 0;
		if (*f == '*') {
			spec->precision = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			spec->precision = spec->precision * 10 + (*f++ - '0');
	}
	while (*f == 'l') {
		spec->longness++;
		f++;
	}
	if (*f == 'z') {
		spec->longness = 1;
		f++;
	}
	if (spec->longness > 2)
		spec->longness = 2;
	return f;
}

static void convert_one(struct fmt_out *out, char conv, struct fmt_spec *spec,
			va_list *ap)
{
	char buf[24];
	char *end = buf + sizeof(buf);
	char *digits;

	switch (conv) {
	case 'c':
		buf[0] = (char)va_arg(*ap, int);
		put_padded(out, spec, "", buf, 1);
		return;
	case 's': {
		const char *s = va_arg(*ap, const char *);
		int len = 0;
		if (!s)
			s = "(null)";
		while (s[len] && (spec->precision < 0 || len < spec->precision))
			len++;
		spec->zero = 0;
		put_padded(out, spec, "", s, len);
		return;
	}
	case 'd':
	case 'i': {
		long long v = fetch_signed(ap, spec->longness);
		/* Negate in unsigned arithmetic so LLONG_MIN works. */
		unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v
					       : (unsigned long long)v;
		digits = render_unsigned(end, mag, 10, 0);
		put_padded(out, spec, v < 0 ? "-" : "", digits,
			   (int)(end - digits));
		return;
	}
	case 'u':
		digits = render_unsigned(end, fetch_unsigned(ap, spec->longness),
					 10, 0);
		put_padded(out, spec, "", digits, (int)(end - digits));
		return;
	case 'x':
	case 'X':
		digits = render_unsigned(end, fetch_unsigned(ap, spec->longness),
					 16, conv == 'X');
		put_padded(out, spec, "", digits, (int)(end - digits));
		return;
	case 'p': {
		uintptr_t v = (uintptr_t)va_arg(*ap, void *);
		struct fmt_spec p = { .zero = 1, .width = 18 };
		digits = render_unsigned(end, v, 16, 0);
		put_padded(out, &p, "0x", digits, (int)(end - digits));
		return;
	}
	default:
		/* Unknown conversion: show it, so the bug is visible. */
		put_char(out, '%');
		if (conv)
			put_char(out, conv);
		return;
	}
}

int fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap)
{
	struct fmt_out out = { sink, ctx, 0 };
	struct fmt_spec spec;
	va_list args;

	/* A copy, so helpers can take a va_list* on every ABI. */
	va_copy(args, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put_char(&out, *f);
			continue;
		}
		if (f[1] == '%') {
			put_char(&out, '%');
			f++;
			continue;
		}
		f = parse_spec(f + 1, &spec, &args);
		convert_one(&out, *f, &spec, &args);
		if (!*f)
			break;
	}
	va_end(args);
	return out.count;
}

struct buf_sink {
	char *buf;
	size_t size;
	size_t len;
};

static void buf_put(void *ctx, char c)
{
	struct buf_sink *b = ctx;
	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, size, 0 };
	int n = fmt_vformat(buf_put, &b, fmt, ap);
	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
