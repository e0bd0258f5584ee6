// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, batches: rp_batch() run op by op against the model, and
 * refused batches.
 */
#include <sys/mman.h>

#include "fuzz.h"

/*
 * rp_batch(): dups, puts and seals of our own handles, and invalid ops. The
 * uapi says the ops run "as if each were its own command", so the model
 * runs them one after the other on a table of handle numbers, with the
 * numbers the kernel's dups actually returned, and expects each result.
 * With the handle lock held for writing, ops may also name a number an
 * earlier op of the batch put, or the number an earlier dup will take (the
 * lowest free one, as the module allocates; whatever the kernel picks, the
 * expectation follows the number it picked).
 */
#define BATCH_MAX_OPS	72
#define TBL_FREE	(-1)
#define TBL_OTHER	(-2)	/* another thread's handle */

struct btable {
	rp_handle_t num[MAXOBJ * MAXH + 2 * BATCH_MAX_OPS];
	int obj[MAXOBJ * MAXH + 2 * BATCH_MAX_OPS];
	int n;
};

static int tbl_get(const struct btable *t, rp_handle_t h)
{
	int k;

	for (k = 0; k < t->n; k++)
		if (t->num[k] == h)
			return t->obj[k];
	if (h && h < HELD_MAX && atomic_load(&P.held[h]))
		return TBL_OTHER;
	return TBL_FREE;
}

static void tbl_set(struct btable *t, rp_handle_t h, int obj)
{
	int k;

	for (k = 0; k < t->n; k++)
		if (t->num[k] == h) {
			t->obj[k] = obj;
			return;
		}
	t->num[t->n] = h;
	t->obj[t->n++] = obj;
}

static void tbl_init(struct tctx *c, struct btable *t)
{
	int i, k;

	t->n = 0;
	for (i = 0; i < MAXOBJ; i++)
		for (k = 0; k < c->o[i].nh && c->o[i].state != ST_FREE; k++)
			tbl_set(t, c->o[i].h[k], i);
}

/* The lowest number free in the table (the handle lock held for writing). */
static rp_handle_t tbl_lowest_free(const struct btable *t)
{
	rp_handle_t h;

	for (h = 1; h < HELD_MAX; h++)
		if (tbl_get(t, h) == TBL_FREE)
			return h;
	return 0;
}

/* What a seal of object @i must return (L2 for shared objects). */
static int64_t seal_want(struct tctx *c, int i, bool *lenient)
{
	*lenient = false;
	if (wmaps(&c->o[i]))
		return -EBUSY;
	*lenient = c->o[i].shared;
	return 0;
}

void op_batch(struct tctx *c)
{
	struct rp_op ops[BATCH_MAX_OPS];
	struct btable plan, sim, act;
	bool out_in[BATCH_MAX_OPS];
	rp_handle_t made[BATCH_MAX_OPS];
	int nmade = 0;
	bool wlock = rnd(&c->r, 4) == 0, lenient;
	int n, k, ret, i, nh[MAXOBJ];
	rp_handle_t h;

	n = 1 + rnd(&c->r, rnd(&c->r, 4) ? 12 : BATCH_MAX_OPS);
	memset(ops, 0, sizeof(ops));
	if (wlock)
		hlock_w();
	else
		hlock_r();
	/* choose the ops on a planning table (predicting dup numbers) */
	tbl_init(c, &plan);
	for (i = 0; i < MAXOBJ; i++)
		nh[i] = c->o[i].nh;
	for (k = 0; k < n; k++) {
		uint64_t kind = rnd(&c->r, 20);
		int cand[MAXOBJ * MAXH + 2 * BATCH_MAX_OPS], nc = 0, q;

		if (kind >= 17) {
			switch (rnd(&c->r, 3)) {
			case 0:
				ops[k].op = rnd(&c->r, 2) ? 0 : 4 + (uint32_t)rnd(&c->r, 1000);
				break;
			case 1:
				ops[k].op = RP_OP_DUP + (uint32_t)rnd(&c->r, 3);
				ops[k].out = 1 + (uint32_t)rnd(&c->r, 100);
				break;
			default:
				ops[k].op = RP_OP_DUP + (uint32_t)rnd(&c->r, 3);
				ops[k].handle = rnd(&c->r, 3) ? 0x80000000u + (uint32_t)rnd(&c->r, 1u << 30) : 0;
				continue;
			}
			i = pick(c, has_h);
			ops[k].handle = i >= 0 ? any_h(c, &c->o[i]) : 1;
			continue;
		}
		/* a number of the plan: ours now, or (write lock) put or taken by this batch */
		for (q = 0; q < plan.n; q++) {
			bool at_start = false;
			int i2 = plan.obj[q];

			if (i2 >= 0)
				for (int r2 = 0; r2 < c->o[i2].nh; r2++)
					at_start |= c->o[i2].h[r2] == plan.num[q];
			if (wlock || (i2 >= 0 && at_start))
				cand[nc++] = q;
		}
		if (!nc) {
			ops[k].op = RP_OP_SEAL;
			ops[k].handle = 0;
			continue;
		}
		q = cand[rnd(&c->r, nc)];
		h = plan.num[q];
		i = plan.obj[q];
		ops[k].handle = h;
		if (i < 0 || kind < 5) {
			ops[k].op = RP_OP_SEAL;
		} else if (kind < 11 && nh[i] < MAXH + 4) {
			rp_handle_t out = wlock ? tbl_lowest_free(&plan) : 0;

			ops[k].op = RP_OP_DUP;
			nh[i]++;
			if (out)
				tbl_set(&plan, out, i);
		} else {
			ops[k].op = RP_OP_PUT;
			nh[i]--;
			tbl_set(&plan, h, TBL_FREE);
		}
	}
	for (k = 0; k < n; k++)
		out_in[k] = ops[k].out != 0;
	ret = rp_batch(c->p, ops, n);
	note(c, n, wlock, 0, ret);
	if (!expect(c, wlock ? "rp_batch (handle lock held for writing)" : "rp_batch", ret, 0)) {
		hunlock();
		return;
	}
	/* expected results: one op after the other, with the kernel's dup numbers */
	tbl_init(c, &sim);
	tbl_init(c, &act);
	for (k = 0; k < n; k++) {
		int si = tbl_get(&sim, ops[k].handle), ai = tbl_get(&act, ops[k].handle);
		bool known = ops[k].op >= RP_OP_DUP && ops[k].op <= RP_OP_SEAL, by_dup = false;
		int64_t want;
		char what[160];

		lenient = false;
		if (!known || out_in[k])
			want = -EINVAL;
		else if (si == TBL_OTHER)
			want = ops[k].result;	/* never chosen; would be another thread's */
		else if (si == TBL_FREE)
			want = -EBADF;
		else if (ops[k].op == RP_OP_SEAL)
			want = seal_want(c, si, &lenient);
		else
			want = 0;
		for (int q = 0; q < nmade; q++)
			by_dup |= made[q] == ops[k].handle;
		snprintf(what, sizeof(what), "rp_batch%s op %d of %d (%s of handle %u%s)",
			 wlock ? " (handle lock held for writing)" : "", k, n,
			 ops[k].op == RP_OP_DUP ? "dup" : ops[k].op == RP_OP_PUT ? "put" :
			 ops[k].op == RP_OP_SEAL ? "seal" : "unknown op", ops[k].handle,
			 by_dup ? ", the number an earlier dup of the batch returned" : "");
		if (!(lenient && ops[k].result == -EBUSY))
			expect(c, what, ops[k].result, want);
		if (ops[k].result && ops[k].out)
			report(c, "%s: failed, yet out is %u", what, ops[k].out);
		/* the simulation goes on as the model says, the model as the kernel did */
		if (want == 0 && ops[k].op == RP_OP_DUP) {
			rp_handle_t out = ops[k].result == 0 ? ops[k].out : tbl_lowest_free(&sim);

			tbl_set(&sim, out, si);
			made[nmade++] = out;
		}
		if (want == 0 && ops[k].op == RP_OP_PUT)
			tbl_set(&sim, ops[k].handle, TBL_FREE);
		if (ops[k].result)
			continue;
		if (ai < 0) {
			report(c, "%s succeeded on a number the model says is not held", what);
			continue;
		}
		if (ops[k].op == RP_OP_DUP) {
			if (!ops[k].out || tbl_get(&act, ops[k].out) >= 0)
				report(c, "%s: new handle %u is already held", what, ops[k].out);
			tbl_set(&act, ops[k].out, ai);
		} else if (ops[k].op == RP_OP_PUT) {
			tbl_set(&act, ops[k].handle, TBL_FREE);
		} else if (ops[k].op == RP_OP_SEAL) {
			c->o[ai].flags |= RP_SEALED;
		}
	}
	for (k = 0; k < n; k++) {
		if (ops[k].op == RP_OP_DUP && ops[k].result == 0)
			held_add(c, ops[k].out);
		if (ops[k].op == RP_OP_PUT && ops[k].result == 0)
			held_del(ops[k].handle);
	}
	hunlock();
	/* the model's handles are now what the kernel did */
	for (i = 0; i < MAXOBJ; i++)
		c->o[i].nh = 0;
	for (k = 0; k < act.n; k++) {
		i = act.obj[k];
		if (i < 0)
			continue;
		if (c->o[i].nh < MAXH)
			c->o[i].h[c->o[i].nh++] = act.num[k];
		else
			put_raw(c, act.num[k]);
	}
	settle(c);
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE && c->o[i].nh && rnd(&c->r, 3) == 0)
			check_info(c, i, any_h(c, &c->o[i]), "rp_info after rp_batch");
}

void op_batch_bad(struct tctx *c)
{
	int i = pick(c, has_h), ret, before, k = rnd(&c->r, 5);
	struct rp_op one = { .op = RP_OP_SEAL, .handle = 0 };

	switch (k) {
	case 0:
		ret = rp_batch(c->p, &one, 0);
		note(c, 0, 0, 0, ret);
		expect(c, "rp_batch(count 0)", ret, -EINVAL);
		break;
	case 1:
		ret = rp_batch(c->p, &one, 4097 + (uint32_t)rnd(&c->r, 1u << 31));
		note(c, 1, 0, 0, ret);
		expect(c, "rp_batch(count over 4096)", ret, -EINVAL);
		break;
	case 2: {
		struct refpool_batch a = { .ops = (uintptr_t)&one, .count = 1,
					   .flags = 1u << rnd(&c->r, 32) };

		ret = raw(rp_fd(c->p), REFPOOL_IOC_BATCH, &a);
		note(c, 2, a.flags, 0, ret);
		expect(c, "BATCH with flags", ret, -EINVAL);
		break;
	}
	case 3: {
		const char *what;

		const void *ptr = bad_ptr(c, 64 * 16, &what);

		if (valid_bytes(ptr))	/* a straddling array would be run in part */
			ptr = P.guard;
		ret = rp_batch(c->p, (struct rp_op *)ptr, 1 + rnd(&c->r, 64));
		note(c, 3, 0, 0, ret);
		expect(c, "rp_batch(unreadable ops)", ret, -EFAULT);
		break;
	}
	default: {
		/* read-only ops: the dups are undone, nothing changes */
		struct rp_op *ro = (void *)P.ro_arg;
		int n = 1 + rnd(&c->r, 8), q;

		if (i < 0)
			return;
		hlock_w();
		before = session_handles(c);
		mprotect(P.ro_arg, 4096, PROT_READ | PROT_WRITE);
		memset(P.ro_arg, 0, 4096);
		for (q = 0; q < n; q++) {
			ro[q].op = RP_OP_DUP;
			ro[q].handle = any_h(c, &c->o[i]);
		}
		mprotect(P.ro_arg, 4096, PROT_READ);
		ret = rp_batch(c->p, ro, n);
		note(c, 4, n, c->o[i].id, ret);
		expect(c, "rp_batch(read-only ops: dups)", ret, -EFAULT);
		if (session_handles(c) != before)
			report(c, "rp_batch with read-only ops left handles: %d, was %d",
			       session_handles(c), before);
		hunlock();
		check_info(c, i, any_h(c, &c->o[i]), "rp_info after rp_batch failed to write back");
		break;
	}
	}
}

typedef void (*op_fn)(struct tctx *c);
