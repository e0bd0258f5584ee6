// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: tokens - publish, look up, pin, and their text form.
 */
#include <string.h>

#include "internal.h"

static int rp_token_call(struct rp_pool *p, unsigned long cmd,
			 struct refpool_token_arg *args)
{
	if (!p)
		return -EINVAL;
	return rp_ioctl(p, cmd, args);
}

static int rp_publish_flags(struct rp_pool *p, rp_handle_t h, uint32_t flags,
			    rp_token_t *tok)
{
	struct refpool_token_arg args;
	int ret;

	if (!tok)
		return -EFAULT;
	if (!p)
		return -EINVAL;
	/* Before the ioctl: a pin must not be made and then lost. */
	ret = rp_probe_out(tok, sizeof(*tok));
	if (ret < 0)
		return ret;
	memset(&args, 0, sizeof(args));
	args.handle = h;
	args.flags = flags;
	ret = rp_token_call(p, REFPOOL_IOC_PUBLISH, &args);
	if (ret < 0)
		return ret;
	memcpy(tok->bytes, args.token, sizeof(tok->bytes));
	return 0;
}

RP_EXPORT int rp_publish(struct rp_pool *p, rp_handle_t h, rp_token_t *tok)
{
	return rp_publish_flags(p, h, 0, tok);
}

RP_EXPORT int rp_pin(struct rp_pool *p, rp_handle_t h, rp_token_t *tok)
{
	return rp_publish_flags(p, h, REFPOOL_PUBLISH_PIN, tok);
}

RP_EXPORT int rp_lookup(struct rp_pool *p, const rp_token_t *tok,
			rp_handle_t *out)
{
	struct refpool_token_arg args;
	__u64 result_ptr;
	int ret;

	if (!tok || !out)
		return -EFAULT;
	if (!p)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	ret = rp_copy_in(args.token, tok->bytes, sizeof(args.token));
	if (ret < 0)
		return ret;
	ret = rp_out_arg(p, out, sizeof(*out), &result_ptr);
	if (ret < 0)
		return ret;
	args.result_ptr = result_ptr;
	ret = rp_token_call(p, REFPOOL_IOC_LOOKUP, &args);
	if (ret < 0)
		return ret;
	if (!result_ptr)
		*out = args.handle;
	return 0;
}

RP_EXPORT int rp_unpin(struct rp_pool *p, const rp_token_t *tok)
{
	struct refpool_token_arg args;
	int ret;

	if (!tok)
		return -EFAULT;
	if (!p)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	ret = rp_copy_in(args.token, tok->bytes, sizeof(args.token));
	if (ret < 0)
		return ret;
	return rp_token_call(p, REFPOOL_IOC_UNPIN, &args);
}

/* 32 hex digits and a NUL. */
#define RP_TOKEN_STR_LEN	33

RP_EXPORT int rp_token_to_str(const rp_token_t *tok, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	char text[RP_TOKEN_STR_LEN];
	rp_token_t t;
	int i, ret;

	if (!tok || !out)
		return -EFAULT;
	/* The input first: a bad tok leaves out as it was. */
	ret = rp_copy_in(&t, tok, sizeof(t));
	if (ret < 0)
		return ret;
	ret = rp_probe_out(out, RP_TOKEN_STR_LEN);
	if (ret < 0)
		return ret;
	for (i = 0; i < 16; i++) {
		text[2 * i] = hex[t.bytes[i] >> 4];
		text[2 * i + 1] = hex[t.bytes[i] & 0xf];
	}
	text[32] = '\0';
	memcpy(out, text, sizeof(text));
	return 0;
}

static int rp_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The digit at s[i] of the n bytes read of a string, -EINVAL if it is not
 * one (the NUL included), -EFAULT if the string ran into unreadable memory
 * before it.
 */
static int rp_str_digit(const char *s, ssize_t n, int i)
{
	int d;

	if (i >= n)
		return -EFAULT;
	d = rp_hex_digit(s[i]);
	return d < 0 ? -EINVAL : d;
}

RP_EXPORT int rp_token_from_str(const char *s, rp_token_t *tok)
{
	char text[RP_TOKEN_STR_LEN];
	rp_token_t t;
	ssize_t n;
	int i, ret;

	if (!s || !tok)
		return -EFAULT;
	/*
	 * s may end (NUL) just before unreadable memory: n is what could be
	 * read, and only a byte the parse needs beyond it is -EFAULT.
	 */
	n = rp_copy_in_str(text, s, sizeof(text));
	if (n < 0)
		return (int)n;
	for (i = 0; i < 16; i++) {
		int hi, lo;

		/* A NUL before 32 digits stops here: -EINVAL. */
		hi = rp_str_digit(text, n, 2 * i);
		if (hi < 0)
			return hi;
		lo = rp_str_digit(text, n, 2 * i + 1);
		if (lo < 0)
			return lo;
		t.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	if (n < RP_TOKEN_STR_LEN)
		return -EFAULT;
	if (text[32] != '\0')
		return -EINVAL;
	/* Only now: a string refused leaves *tok as it was. */
	ret = rp_probe_out(tok, sizeof(*tok));
	if (ret < 0)
		return ret;
	*tok = t;
	return 0;
}
