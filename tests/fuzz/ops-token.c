// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, operations on tokens and pins: publish, lookup (own,
 * another worker's, bad), pin, unpin.
 */
#include "fuzz.h"

static bool same_tok(const rp_token_t *a, const rp_token_t *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void add_tok(struct mobj *o, const rp_token_t *t)
{
	int k;

	for (k = 0; k < o->ntok; k++)
		if (same_tok(&o->tok[k], t))
			return;
	if (o->ntok < MAXTOK)
		o->tok[o->ntok++] = *t;
	else
		o->tok[MAXTOK - 1] = *t;
}

void op_publish(struct tctx *c)
{
	int i = pick(c, has_h), ret;
	rp_token_t t;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	ret = rp_publish(c->p, any_h(c, o), &t);
	note(c, o->id, o->ntok, 0, ret);
	if (!expect(c, "rp_publish", ret, 0))
		return;
	add_tok(o, &t);
}

/* Look up token @t that the model says names @i (or a dead object, i < 0). */
void lookup_tok(struct tctx *c, int i, const rp_token_t *t, const char *what)
{
	rp_handle_t h = 0;
	struct rp_info info;
	int ret;

	hlock_r();
	ret = rp_lookup(c->p, t, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, i >= 0 ? c->o[i].id : 0, i >= 0 ? c->o[i].state : -1, h, ret);
	if (i < 0) {
		expect(c, what, ret, -ENOENT);
		if (ret == 0) {
			if (rp_info(c->p, h, &info) == 0)
				report(c, "%s: a token of a dead object found id %" PRIu64, what, info.id);
			hlock_r();
			if (rp_put(c->p, h) == 0)
				held_del(h);
			hunlock();
		}
		return;
	}
	if (c->o[i].state == ST_LIMBO) {
		/* L3: collected already, or alive again */
		if (ret == -ENOENT) {
			observed_gone(c, i);
			return;
		}
		if (!expect(c, what, ret, 0))
			return;
		if (rp_info(c->p, h, &info) || info.id != c->o[i].id) {
			report(c, "%s: token of garbage id %" PRIu64 " found id %" PRIu64, what, c->o[i].id, info.id);
			return;
		}
		add_h(c, i, h);
		settle(c);
		check_info(c, i, h, what);
		return;
	}
	if (!expect(c, what, ret, 0))
		return;
	if (c->o[i].nh >= MAXH) {
		if (rp_info(c->p, h, &info) == 0 && info.id != c->o[i].id)
			report(c, "%s: found id %" PRIu64 ", token names id %" PRIu64, what, info.id, c->o[i].id);
		put_raw(c, h);
		return;
	}
	add_h(c, i, h);
	check_info(c, i, h, what);
}

static bool has_tok(const struct mobj *o)
{
	return o->ntok > 0;
}

static bool has_tok_any(const struct mobj *o)
{
	return o->ntok > 0 && !o->shared;
}

void op_lookup(struct tctx *c)
{
	int i, k, cand[MAXOBJ], n = 0;

	if (c->ndead && rnd(&c->r, 4) == 0) {
		lookup_tok(c, -1, &c->dead[rnd(&c->r, c->ndead)], "rp_lookup(token of a dead object)");
		return;
	}
	/* live or garbage objects with tokens */
	for (k = 0; k < MAXOBJ; k++)
		if (c->o[k].state != ST_FREE && has_tok(&c->o[k]) &&
		    (c->o[k].state == ST_LIVE || has_tok_any(&c->o[k])))
			cand[n++] = k;
	if (!n)
		return;
	i = cand[rnd(&c->r, n)];
	if (c->o[i].state == ST_LIVE && c->o[i].nh >= MAXH)
		return;
	lookup_tok(c, i, &c->o[i].tok[rnd(&c->r, c->o[i].ntok)],
		   c->o[i].state == ST_LIMBO ? "rp_lookup(token of garbage)" : "rp_lookup");
}

void op_post_board(struct tctx *c)
{
	struct worker_slot *ws = &shm->w[c->w];
	struct board_entry *b;
	int i = pick(c, has_h), ret;
	uint64_t seq;
	rp_token_t t;

	if (i < 0 || opt.procs < 2)
		return;
	share(c, i);
	ret = rp_publish(c->p, any_h(c, &c->o[i]), &t);
	note(c, c->o[i].id, 0, 0, ret);
	if (!expect(c, "rp_publish(for the board)", ret, 0))
		return;
	add_tok(&c->o[i], &t);
	b = &ws->board[atomic_fetch_add(&ws->board_next, 1) % BOARD_N];
	seq = atomic_load(&b->seq);
	if (seq & 1)
		return;		/* another thread is writing it */
	if (!atomic_compare_exchange_strong(&b->seq, &seq, seq + 1))
		return;
	b->id = c->o[i].id;
	b->tok = t;
	atomic_store(&b->seq, seq + 2);
}

void op_lookup_board(struct tctx *c)
{
	struct board_entry *b;
	rp_handle_t h = 0;
	uint64_t s1, id;
	rp_token_t t;
	int ret;

	if (opt.procs < 2 || nfree(c) < 4)
		return;
	b = &shm->w[rnd(&c->r, opt.procs)].board[rnd(&c->r, BOARD_N)];
	s1 = atomic_load(&b->seq);
	if (!s1 || (s1 & 1))
		return;
	id = b->id;
	t = b->tok;
	if (atomic_load(&b->seq) != s1)
		return;
	hlock_r();
	ret = rp_lookup(c->p, &t, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, id, 0, h, ret);
	if (ret == -ENOENT)	/* L5 */
		return;
	if (!expect(c, "rp_lookup(token from the board)", ret, 0))
		return;
	adopt(c, h, id, "rp_lookup(token from the board)");
}

void op_lookup_bad(struct tctx *c)
{
	rp_token_t t;
	rp_handle_t h = 0;
	int ret;

	rnd_fill(&c->r, &t, sizeof(t));
	if (rnd(&c->r, 2)) {
		hlock_r();
		ret = rp_lookup(c->p, &t, &h);
		if (ret == 0)
			held_add(c, h);
		hunlock();
		note(c, 0, 0, 0, ret);
		expect(c, "rp_lookup(random token)", ret, -ENOENT);
	} else {
		ret = rp_unpin(c->p, &t);
		note(c, 1, 0, 0, ret);
		expect(c, "rp_unpin(random token)", ret, -ENOENT);
	}
}

/* Record a token a pin may use, before pinning: a kill cannot lose it. */
static void record_pin(struct tctx *c, const rp_token_t *t)
{
	struct worker_slot *ws = &shm->w[c->w];
	uint64_t k = atomic_fetch_add(&ws->npins, 1);

	if (k < PIN_N)
		ws->pins[k] = *t;
}

/*
 * Pins only on exclusive objects: a token is one per object (and IPC
 * namespace) and so is its pin, whoever asked for it.
 */
static bool pinnable(const struct mobj *o)
{
	return o->nh > 0 && !o->shared;
}

void op_pin(struct tctx *c)
{
	int i = pick(c, pinnable), ret, k;
	rp_token_t t, t2;
	struct mobj *o;
	bool had = false;

	if (i < 0)
		return;
	o = &c->o[i];
	if (atomic_load(&shm->w[c->w].npins) >= PIN_N - 2)
		return;
	ret = rp_publish(c->p, any_h(c, o), &t);
	if (!expect(c, "rp_publish(before pinning)", ret, 0))
		return;
	add_tok(o, &t);
	record_pin(c, &t);
	ret = rp_pin(c->p, any_h(c, o), &t2);
	note(c, o->id, o->npin, 0, ret);
	if (!expect(c, "rp_pin", ret, 0))
		return;
	if (!same_tok(&t, &t2)) {
		/* the contract allows another token; the module gives the same */
		record_pin(c, &t2);
		add_tok(o, &t2);
	}
	for (k = 0; k < o->npin; k++)
		had |= same_tok(&o->pin[k], &t2);
	if (!had) {
		if (o->npin >= MAXPIN) {
			/* too many for the model: undo */
			ret = rp_unpin(c->p, &t2);
			expect(c, "rp_unpin", ret, 0);
		} else {
			o->pin[o->npin++] = t2;
		}
	}
	check_info(c, i, any_h(c, o), "rp_info after rp_pin");
}

static bool has_pin(const struct mobj *o)
{
	return o->npin > 0;
}

void op_unpin(struct tctx *c)
{
	int i = pick(c, has_pin), k, ret;
	rp_token_t t;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	k = rnd(&c->r, o->npin);
	t = o->pin[k];
	ret = rp_unpin(c->p, &t);
	note(c, o->id, o->npin, 0, ret);
	if (!expect(c, "rp_unpin", ret, 0))
		return;
	o->pin[k] = o->pin[--o->npin];
	ret = rp_unpin(c->p, &t);
	expect(c, "rp_unpin(twice)", ret, -ENOENT);
	settle(c);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info after rp_unpin");
}

/* A shared object another user created: only its creator's user may pin it. */
static bool others_obj(const struct mobj *o)
{
	return o->nh > 0 && o->shared && o->owner != UID_UNKNOWN && o->owner != P.uid;
}

void op_pin_other(struct tctx *c)
{
	int i = pick(c, others_obj), ret;
	rp_token_t t;

	if (i < 0)
		return;
	ret = rp_pin(c->p, any_h(c, &c->o[i]), &t);
	note(c, c->o[i].id, c->o[i].owner, P.uid, ret);
	if (!expect(c, "rp_pin(another user's object)", ret, -EPERM))
		if (ret == 0)
			expect(c, "rp_unpin(a pin that should not be)", rp_unpin(c->p, &t), 0);
	check_info(c, i, any_h(c, &c->o[i]), "rp_info after a refused rp_pin");
}

/* Another user's pin: -EPERM (or -ENOENT once it is gone), never 0. */
void op_unpin_other(struct tctx *c)
{
	int w2 = (int)rnd(&c->r, opt.procs);
	const struct worker_slot *ws = &shm->w[w2];
	uint64_t n = atomic_load(&ws->npins);
	rp_token_t t;
	int ret;

	if (ws->uid == P.uid || n == 0)
		return;
	t = ws->pins[rnd(&c->r, n < PIN_N ? n : PIN_N)];
	ret = rp_unpin(c->p, &t);
	note(c, w2, ws->uid, P.uid, ret);
	if (ret != -ENOENT)
		expect(c, "rp_unpin(another user's pin)", ret, -EPERM);
}
