// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, checks of live objects against the model (info, bytes,
 * slots), and adopting an object another process shared.
 */
#include "fuzz.h"

/*
 * Check rp_info() of handle @h against model object @i; @what names the
 * occasion. Returns false if the object is not what the model says.
 */
bool check_info(struct tctx *c, int i, rp_handle_t h, const char *what)
{
	struct mobj *o = &c->o[i];
	struct rp_info info;
	uint64_t lo, hi;
	bool ok = true;
	int ret;

	ret = rp_info(c->p, h, &info);
	if (!expect(c, what, ret, 0))
		return false;
	if (info.id != o->id || info.size != o->size || info.nslots != o->nslots) {
		report(c, "%s: handle %u: id %" PRIu64 " size %" PRIu64 " nslots %u, model says id %" PRIu64 " size %" PRIu64 " nslots %u",
		       what, h, info.id, info.size, info.nslots, o->id, o->size, o->nslots);
		return false;
	}
	if (o->shared) {
		if ((info.flags & o->flags) != o->flags || (info.flags & ~(uint32_t)RP_SEALED) != (o->flags & ~(uint32_t)RP_SEALED)) {
			report(c, "%s: shared id %" PRIu64 ": flags %#x, model knows %#x", what, o->id, info.flags, o->flags);
			ok = false;
		}
		o->flags |= info.flags & RP_SEALED;
	} else if (info.flags != o->flags) {
		report(c, "%s: id %" PRIu64 ": flags %#x, model says %#x", what, o->id, info.flags, o->flags);
		ok = false;
	}
	refs_range(c, i, &lo, &hi);
	if (info.refs < lo || info.refs > hi) {
		char links[600] = "";
		int j, n = 0;
		uint32_t s;

		for (j = 0; j < MAXOBJ && n < (int)sizeof(links) - 40; j++) {
			if (c->o[j].state == ST_FREE)
				continue;
			for (s = 0; s < c->o[j].nslots; s++)
				if (c->o[j].slot[s] == i)
					n += snprintf(links + n, sizeof(links) - n, " %" PRIu64 "%s[%u]",
						      c->o[j].id, c->o[j].state == ST_LIMBO ? "(garbage)" : "", s);
		}
		if (hi == UINT64_MAX)
			report(c, "%s: shared id %" PRIu64 ": refs %" PRIu64 ", this thread alone holds %" PRIu64,
			       what, o->id, info.refs, lo);
		else
			report(c, "%s: id %" PRIu64 ": refs %" PRIu64 ", model says %" PRIu64 "%s (handles %d fds %d maps %d in-flight %d pins %d; links from:%s)",
			       what, o->id, info.refs, lo, hi != lo ? " or more, up to the garbage's links" : "",
			       o->nh, o->nfd, o->nmap, o->nflight, o->npin, links);
		ok = false;
	}
	return ok;
}

/* Read [off, off+len) and compare with the model. */
bool check_bytes(struct tctx *c, int i, rp_handle_t h, uint64_t off,
		 uint64_t len, const char *what)
{
	struct mobj *o = &c->o[i];
	int64_t want, got;

	want = off >= o->size ? 0 : (int64_t)(len < o->size - off ? len : o->size - off);
	got = rp_read(c->p, h, off, c->buf, len);
	if (!expect(c, what, got, want))
		return false;
	if ((o->shared && !o->data_known) || got <= 0)
		return true;
	if (memcmp(c->buf, o->data + off, got)) {
		uint64_t k;

		for (k = 0; k < (uint64_t)got && c->buf[k] == o->data[off + k]; k++)
			;
		report(c, "%s: id %" PRIu64 "%s size %" PRIu64 ": byte %" PRIu64 " is %#x, model says %#x",
		       what, o->id, o->shared ? " (shared)" : "", o->size, off + k,
		       c->buf[k], o->data[off + k]);
		return false;
	}
	return true;
}

/* Check a slot with rp_get_link(); the new handle is put again. */
void check_slot(struct tctx *c, int i, uint32_t s)
{
	struct mobj *o = &c->o[i];
	rp_handle_t h = any_h(c, o), out = 0;
	struct rp_info info;
	int ret;

	hlock_r();
	ret = rp_get_link(c->p, h, s, &out);
	if (ret == 0)
		held_add(c, out);
	hunlock();
	if (o->slot[s] == SLOT_EMPTY) {
		expect(c, "rp_get_link(empty slot)", ret, -ENOENT);
	} else if (o->slot[s] == SLOT_UNKNOWN) {
		if (ret != 0 && ret != -ENOENT)
			expect(c, "rp_get_link(unrecorded slot)", ret, 0);
	} else {
		expect(c, "rp_get_link", ret, 0);
	}
	if (ret != 0)
		return;
	ret = rp_info(c->p, out, &info);
	expect(c, "rp_info(linked child)", ret, 0);
	if (ret == 0 && o->slot[s] != SLOT_UNKNOWN) {
		uint64_t want = o->slot[s] >= 0 ? c->o[o->slot[s]].id : o->slot_id[s];

		if (info.id != want)
			report(c, "rp_get_link(id %" PRIu64 ", slot %u): child id %" PRIu64 ", model says %" PRIu64,
			       o->id, s, info.id, want);
	}
	hlock_r();
	ret = rp_put(c->p, out);
	if (ret == 0)
		held_del(out);
	hunlock();
	expect(c, "rp_put(linked child)", ret, 0);
}

void verify_obj(struct tctx *c, int i, bool deep)
{
	struct mobj *o = &c->o[i];
	rp_handle_t h;
	uint32_t s;

	if (o->state != ST_LIVE || !o->nh)
		return;
	h = any_h(c, o);
	if (!check_info(c, i, h, "rp_info"))
		return;
	if (deep) {
		check_bytes(c, i, h, 0, o->size, "rp_read(whole)");
		for (s = 0; s < o->nslots && s < 12; s++)
			check_slot(c, i, s);
	}
}

void verify_all(struct tctx *c, bool deep)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		verify_obj(c, i, deep);
}

/*
 * An object this thread received from elsewhere (or found again): check it
 * against the registry or the model, and add handle @h to the model.
 */
void adopt(struct tctx *c, rp_handle_t h, uint64_t expect_id, const char *what)
{
	const struct reg_entry *e;
	struct rp_info info;
	int i, ret;
	uint32_t s;

	ret = rp_info(c->p, h, &info);
	if (!expect(c, what, ret, 0) || (expect_id && info.id != expect_id)) {
		if (ret == 0)
			report(c, "%s: got id %" PRIu64 ", token was published for id %" PRIu64, what, info.id, expect_id);
		goto put;
	}
	i = idx_of_id(c, info.id);
	if (i >= 0) {
		if (c->o[i].nh >= MAXH || c->o[i].state != ST_LIVE) {
			if (c->o[i].state == ST_LIMBO)
				report(c, "%s: id %" PRIu64 " is garbage in the model, yet reached", what, info.id);
			goto put;
		}
		add_h(c, i, h);
		check_info(c, i, h, what);
		check_bytes(c, i, h, 0, c->o[i].size, what);
		return;
	}
	if (info.size > MAX_MAP_SIZE * 2ull || info.nslots > 4096)
		goto put;
	i = obj_new(c, info.id, info.size, info.nslots, info.flags, true);
	if (i < 0)
		goto put;
	add_h(c, i, h);
	ret = rp_read(c->p, h, 0, c->o[i].data, info.size);
	if (!expect(c, what, ret, (int64_t)info.size))
		goto drop;
	c->o[i].data_known = 1;
	e = reg_get(info.id);
	if (!e) {
		/* L5: no record; it must at least stay as it is now */
		for (s = 0; s < info.nslots; s++)
			c->o[i].slot[s] = SLOT_UNKNOWN;
		return;
	}
	if (e->size != info.size || e->nslots != info.nslots ||
	    (info.flags & e->flags) != e->flags ||
	    (info.flags & RP_INTERNED) != (e->flags & RP_INTERNED)) {
		report(c, "%s: id %" PRIu64 ": size %" PRIu64 " nslots %u flags %#x; the sharer recorded size %" PRIu64 " nslots %u flags %#x",
		       what, info.id, info.size, info.nslots, info.flags, e->size, e->nslots, e->flags);
		goto drop;
	}
	if (fnv(c->o[i].data, info.size) != e->hash) {
		report(c, "%s: id %" PRIu64 " size %" PRIu64 ": contents differ from what the sharer recorded",
		       what, info.id, info.size);
		goto drop;
	}
	c->o[i].owner = e->owner;
	for (s = 0; s < info.nslots; s++) {
		if (s >= REG_SLOTS) {
			c->o[i].slot[s] = e->more_slots ? SLOT_UNKNOWN : SLOT_EMPTY;
		} else if (e->slot_id[s]) {
			int k = idx_of_id(c, e->slot_id[s]);

			c->o[i].slot_id[s] = e->slot_id[s];
			c->o[i].slot[s] = k >= 0 && k != i ? k : SLOT_OTHER;
			if (e->slot_id[s] == info.id)
				c->o[i].slot[s] = i;
		}
	}
	return;
drop:
	/* The model cannot follow it: forget it (its handle goes). */
	del_h(&c->o[i], h);
	obj_drop(c, i, false);
put:
	hlock_r();
	if (rp_put(c->p, h) == 0)
		held_del(h);
	hunlock();
	settle(c);
}
