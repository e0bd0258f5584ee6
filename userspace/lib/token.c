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
	int ret;

	if (!tok || !out)
		return -EFAULT;
	memset(&args, 0, sizeof(args));
	memcpy(args.token, tok->bytes, sizeof(args.token));
	ret = rp_token_call(p, REFPOOL_IOC_LOOKUP, &args);
	if (ret < 0)
		return ret;
	*out = args.handle;
	return 0;
}

RP_EXPORT int rp_unpin(struct rp_pool *p, const rp_token_t *tok)
{
	struct refpool_token_arg args;

	if (!tok)
		return -EFAULT;
	memset(&args, 0, sizeof(args));
	memcpy(args.token, tok->bytes, sizeof(args.token));
	return rp_token_call(p, REFPOOL_IOC_UNPIN, &args);
}

RP_EXPORT int rp_token_to_str(const rp_token_t *tok, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	if (!tok || !out)
		return -EFAULT;
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[tok->bytes[i] >> 4];
		out[2 * i + 1] = hex[tok->bytes[i] & 0xf];
	}
	out[32] = '\0';
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

RP_EXPORT int rp_token_from_str(const char *s, rp_token_t *tok)
{
	rp_token_t t;
	int i;

	if (!s || !tok)
		return -EFAULT;
	for (i = 0; i < 16; i++) {
		int hi, lo;

		/* A NUL before 32 digits stops here: hi < 0. */
		hi = rp_hex_digit(s[2 * i]);
		lo = hi < 0 ? -1 : rp_hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		t.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	if (s[32] != '\0')
		return -EINVAL;
	*tok = t;
	return 0;
}
