// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, argument generators: sizes, offsets, slots, bad pointers,
 * interned values.
 */
#include "fuzz.h"

uint64_t rand_size(struct tctx *c)
{
	uint64_t k = rnd(&c->r, 100);

	if (k < 30)
		return rnd(&c->r, 90);
	if (k < 55)
		return 90 + rnd(&c->r, 4096 - 90);
	if (k < 70)
		return 4096 * (1 + rnd(&c->r, 3));
	if (k < 92)
		return 4097 + rnd(&c->r, 3 * 4096);
	if (k < 99)
		return rnd(&c->r, 256 * 1024);
	return MAX_MAP_SIZE - rnd(&c->r, 4096);
}

uint32_t rand_nslots(struct tctx *c)
{
	uint64_t k = rnd(&c->r, 100);

	if (k < 45)
		return 0;
	if (k < 88)
		return 1 + rnd(&c->r, 6);
	if (k < 99)
		return 7 + rnd(&c->r, 60);
	return shm->max_slots;
}

/* A slot index, mostly low ones. */
uint32_t rand_slot(struct tctx *c, uint32_t nslots)
{
	if (!nslots)
		return 0;
	if (nslots > 12 && rnd(&c->r, 8))
		return rnd(&c->r, 12);
	return rnd(&c->r, nslots);
}

/* An offset for a read: inside, at the end, past it, near 2^64. */
uint64_t rand_off(struct tctx *c, uint64_t size)
{
	switch (rnd(&c->r, 10)) {
	case 0:
		return size;
	case 1:
		return size + 1 + rnd(&c->r, 100);
	case 2:
		return UINT64_MAX - rnd(&c->r, 4096);
	case 3:
		return (1ULL << 63) + rnd(&c->r, 4096);
	case 4:
		return 0;
	default:
		return size ? rnd(&c->r, size) : 0;
	}
}

uint64_t rand_len(struct tctx *c, uint64_t size, uint64_t off)
{
	uint64_t room = off < size ? size - off : 0;

	switch (rnd(&c->r, 10)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - rnd(&c->r, 4096);
	case 2:
		return room + 1 + rnd(&c->r, 4096);
	case 3:
		return room;
	default:
		return room ? 1 + rnd(&c->r, room) : rnd(&c->r, 16);
	}
}

/* A pointer the kernel cannot read or write, and a short description. */
const void *bad_ptr(struct tctx *c, uint64_t len, const char **what)
{
	switch (rnd(&c->r, 5)) {
	case 0:
		*what = "unmapped page";
		return P.guard;
	case 1:
		*what = "kernel address";
		return (void *)0xffff888000100000ULL;
	case 2:
		*what = "non-canonical address";
		return (void *)0x8000000000000000ULL;
	case 3:
		*what = "address 16";
		return (void *)16;
	default:
		/* The last bytes of a page, the rest in the guard page. */
		*what = "straddles into an unmapped page";
		if (len < 2)
			return P.guard;
		return P.guard - (len < 4096 ? len / 2 : 2048);
	}
}

/* How many bytes from @ptr on the kernel can access (bad_ptr()'s pointers). */
uint64_t valid_bytes(const void *ptr)
{
	const uint8_t *p = ptr;

	if (p >= P.rw_page && p < P.guard)
		return P.guard - p;
	return 0;
}

/* Unique values: nobody else interns them. */
uint64_t ukey_value(struct tctx *c, int k, uint8_t *buf)
{
	uint64_t len = 24 + (uint64_t)k * 37 % 400, i;
	struct rng r;

	if (k == NUKEYS - 1)
		len = 5000;
	rng_seed(&r, opt.seed ^ ((uint64_t)c->w << 48) ^ ((uint64_t)c->inc << 32) ^
		 ((uint64_t)c->t << 16) ^ (uint64_t)k);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd64(&r);
	snprintf((char *)buf, 24, "U%d.%d.%d.%d:", c->w, c->inc, c->t, k);
	return len;
}

/* Values every process interns. */
uint64_t common_value(int k, uint8_t *buf)
{
	static const uint64_t lens[NCOMMON] = { 0, 1, 2, 100, 300, 4100 };
	uint64_t i;

	for (i = 0; i < lens[k]; i++)
		buf[i] = (uint8_t)(i * 7 + k);
	if (k == 1)
		buf[0] = '4';
	return lens[k];
}
