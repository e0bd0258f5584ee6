// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, operations on links and the collector: link, get_link, gc.
 */
#include "fuzz.h"

static bool link_parent(const struct mobj *o)
{
	return o->nh > 0 && !o->shared && o->nslots > 0;
}

void op_link(struct tctx *c)
{
	int i = pick(c, link_parent), j = -1, ret, old;
	rp_handle_t ch = 0;
	struct mobj *o;
	uint32_t s;

	if (i < 0)
		return;
	o = &c->o[i];
	s = rand_slot(c, o->nslots);
	if (rnd(&c->r, 6)) {
		j = rnd(&c->r, 3) == 0 ? i : pick(c, has_h);
		if (j < 0)
			return;
		ch = any_h(c, &c->o[j]);
	}
	ret = rp_link(c->p, any_h(c, o), s, ch);
	note(c, o->id, s, j >= 0 ? c->o[j].id : 0, ret);
	if (o->flags & RP_SEALED) {
		expect(c, "rp_link(sealed parent)", ret, -EPERM);
		return;
	}
	if (!expect(c, "rp_link", ret, 0))
		return;
	old = o->slot[s];
	o->slot[s] = j >= 0 ? j : SLOT_EMPTY;
	o->slot_id[s] = j >= 0 ? c->o[j].id : 0;
	(void)old;
	settle(c);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info(parent) after rp_link");
	if (j >= 0 && c->o[j].state == ST_LIVE && c->o[j].nh)
		check_info(c, j, any_h(c, &c->o[j]), "rp_info(child) after rp_link");
}

void op_link_bad(struct tctx *c)
{
	int i = pick(c, has_h), ret, k = rnd(&c->r, 4);
	rp_handle_t ph;
	struct mobj *o;
	uint32_t s;

	if (i < 0)
		return;
	o = &c->o[i];
	ph = any_h(c, o);
	switch (k) {
	case 0:	/* past the last slot */
		s = o->nslots + (uint32_t)rnd(&c->r, 3);
		if (rnd(&c->r, 2))
			s = UINT32_MAX - (uint32_t)rnd(&c->r, 3);
		if (s < o->nslots)
			return;
		ret = rp_link(c->p, ph, s, rnd(&c->r, 2) ? ph : 0);
		note(c, o->id, s, 0, ret);
		expect(c, "rp_link(slot past the last)", ret, -ERANGE);
		if (rnd(&c->r, 2)) {
			rp_handle_t out = 0;

			hlock_r();
			ret = rp_get_link(c->p, ph, s, &out);
			if (ret == 0)
				held_add(c, out);
			hunlock();
			expect(c, "rp_get_link(slot past the last)", ret, -ERANGE);
		}
		break;
	case 1: {	/* a child handle nobody holds: 2^31 and up are never made here */
		rp_handle_t bad = 0x80000000u + (uint32_t)rnd(&c->r, 0x7fffffff);

		if (!o->nslots || o->shared)
			return;
		ret = rp_link(c->p, ph, rand_slot(c, o->nslots), bad);
		note(c, o->id, bad, 0, ret);
		expect(c, "rp_link(bad child handle)", ret, -EBADF);
		break;
	}
	case 2: {	/* bad parent */
		rp_handle_t bad = rnd(&c->r, 2) ? 0 : 0x80000000u + (uint32_t)rnd(&c->r, 1000);

		ret = rp_link(c->p, bad, 0, ph);
		note(c, bad, 0, 0, ret);
		expect(c, "rp_link(bad parent handle)", ret, -EBADF);
		break;
	}
	default: {	/* flags */
		struct refpool_link a = { .parent = ph, .slot = 0, .child = 0,
					  .flags = 1u << rnd(&c->r, 32) };

		ret = raw(rp_fd(c->p), REFPOOL_IOC_LINK, &a);
		note(c, o->id, a.flags, 0, ret);
		expect(c, "LINK with flags", ret, -EINVAL);
		break;
	}
	}
	check_info(c, i, ph, "rp_info after a refused rp_link");
}

static bool getlinkable(const struct mobj *o)
{
	return o->nh > 0 && o->nslots > 0;
}

void op_get_link(struct tctx *c)
{
	int i = pick(c, getlinkable), ret, j;
	rp_handle_t h = 0;
	struct mobj *o;
	uint32_t s;

	if (i < 0)
		return;
	o = &c->o[i];
	s = rand_slot(c, o->nslots);
	if (rnd(&c->r, 2) || o->slot[s] < 0 || c->o[o->slot[s]].nh >= MAXH) {
		note(c, o->id, s, 0, 0);
		if (o->slot[s] != SLOT_OTHER && o->slot[s] != SLOT_UNKNOWN)
			check_slot(c, i, s);
		else if (nfree(c) >= 4) {
			/* a child not in the model: adopt it */
			hlock_r();
			ret = rp_get_link(c->p, any_h(c, o), s, &h);
			if (ret == 0)
				held_add(c, h);
			hunlock();
			if (ret == -ENOENT && o->slot[s] == SLOT_UNKNOWN)
				return;
			if (expect(c, "rp_get_link", ret, 0))
				adopt(c, h, o->slot[s] == SLOT_OTHER ? o->slot_id[s] : 0, "rp_get_link");
		}
		return;
	}
	j = o->slot[s];
	hlock_r();
	ret = rp_get_link(c->p, any_h(c, o), s, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, o->id, s, c->o[j].id, ret);
	if (!expect(c, "rp_get_link", ret, 0))
		return;
	add_h(c, j, h);
	check_info(c, j, h, "rp_info(child from rp_get_link)");
}

void op_gc(struct tctx *c)
{
	uint64_t collected = 0;
	int ret;

	ret = rp_gc(c->p, &collected);
	note(c, collected, 0, 0, ret);
	if (!expect(c, "rp_gc", ret, 0))
		return;
	gc_done(c);
	if (rnd(&c->r, 2))
		verify_all(c, false);
}
