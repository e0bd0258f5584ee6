// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: tokens - publish, look up, pin, list pins, and their text
 * form.
 */
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(rp_token_t) == REFPOOL_TOKEN_SIZE, "token size");
RP_SAME_FIELD(rp_pin_info, refpool_pin_info, token);
RP_SAME_FIELD(rp_pin_info, refpool_pin_info, id);
RP_SAME_FIELD(rp_pin_info, refpool_pin_info, size);
_Static_assert(sizeof(struct rp_pin_info) == REFPOOL_PIN_INFO_SIZE_VER0,
	       "rp_pin_info is refpool_pin_info");

static int rp_publish_flags(struct rp_pool *p, rp_handle_t h, uint32_t flags,
			    rp_token_t *tok)
{
	struct refpool_token_arg args = {
		.handle = h,
		.flags = flags,
		.token_ptr = RP_PTR(tok),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_PUBLISH, &args);
	rp_written(ret, tok, sizeof(*tok));
	return ret;
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
	struct refpool_token_arg args = {
		.token_ptr = RP_PTR(tok),
		.handle_ptr = RP_PTR(out),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_LOOKUP, &args);
	rp_written(ret, out, sizeof(*out));
	return ret;
}

RP_EXPORT int rp_unpin(struct rp_pool *p, const rp_token_t *tok)
{
	struct refpool_token_arg args = { .token_ptr = RP_PTR(tok) };

	if (!p)
		return -EINVAL;
	return rp_ioctl(p, REFPOOL_IOC_UNPIN, &args);
}

RP_EXPORT int rp_list_pins(struct rp_pool *p, struct rp_pin_info *pins,
			   uint32_t max)
{
	struct refpool_pins args = {
		.pins_ptr = RP_PTR(pins),
		.count = max,
		.entry_size = sizeof(*pins),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_PINS, &args);
	if (ret > 0)
		rp_written(ret, pins, sizeof(*pins) *
			   ((uint32_t)ret < max ? (uint32_t)ret : max));
	return ret;
}

/* 32 hex digits and a NUL. */
#define RP_TOKEN_STR_LEN	33

RP_EXPORT int rp_token_to_str(const rp_token_t *tok, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[tok->bytes[i] >> 4];
		out[2 * i + 1] = hex[tok->bytes[i] & 0xf];
	}
	out[RP_TOKEN_STR_LEN - 1] = '\0';
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

	/* Digit by digit: a NUL before the 32nd stops the parse there. */
	for (i = 0; i < 16; i++) {
		int hi = rp_hex_digit(s[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = rp_hex_digit(s[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		t.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	if (s[32] != '\0')
		return -EINVAL;
	/* Only now: a string refused leaves *tok as it was. */
	*tok = t;
	return 0;
}
