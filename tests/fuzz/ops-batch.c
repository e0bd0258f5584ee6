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
 * earlier op of the batch put: it must be -EBADF, since a put number is
 * never handed out again (so the model never predicts which number a dup
 * gets; it checks that the number is new to the session, in held_add()).
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
	if (h && held_by_process(h))
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
	struct btable plan, plan0, sim, act;
	bool out_in[BATCH_MAX_OPS];
	bool wlock = rnd(&c->r, 4) == 0, lenient;
	int n, k, ret, i, nh[MAXOBJ];
	rp_handle_t h;

	n = 1 + rnd(&c->r, rnd(&c->r, 4) ? 12 : BATCH_MAX_OPS);
	memset(ops, 0, sizeof(ops));
	if (wlock)
		hlock_w();
	else
		hlock_r();
	/* choose the ops on a planning table of handle numbers */
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
		/* a number of the plan: ours now, or (write lock) put by this batch */
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
			ops[k].op = RP_OP_DUP;
			nh[i]++;
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
	tbl_init(c, &plan0);
	tbl_init(c, &sim);
	tbl_init(c, &act);
	for (k = 0; k < n; k++) {
		int si = tbl_get(&sim, ops[k].handle), ai = tbl_get(&act, ops[k].handle);
		bool known = ops[k].op >= RP_OP_DUP && ops[k].op <= RP_OP_SEAL, was_put;
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
		was_put = si == TBL_FREE && tbl_get(&plan0, ops[k].handle) >= 0;
		snprintf(what, sizeof(what), "rp_batch%s op %d of %d (%s of handle %u%s)",
			 wlock ? " (handle lock held for writing)" : "", k, n,
			 ops[k].op == RP_OP_DUP ? "dup" : ops[k].op == RP_OP_PUT ? "put" :
			 ops[k].op == RP_OP_SEAL ? "seal" : "unknown op", ops[k].handle,
			 was_put ? ", put by an earlier op of the batch" : "");
		if (!(lenient && ops[k].result == -EBUSY))
			expect(c, what, ops[k].result, want);
		if (ops[k].result && ops[k].out)
			report(c, "%s: failed, yet out is %u", what, ops[k].out);
		/* the simulation goes on as the model says, the model as the kernel did */
		if (want == 0 && ops[k].op == RP_OP_DUP && ops[k].result == 0)
			tbl_set(&sim, ops[k].out, si);
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

/*
 * Fill @ops with @n ops on exclusive object @i that would each change
 * something - dups, a put of one of its handles, a seal - so that a refused
 * batch that ran any of them shows (issue 17: a refused batch had already
 * put and sealed).
 */
static void fill_changing_ops(struct tctx *c, struct rp_op *ops, int n, int i)
{
	const struct mobj *o = &c->o[i];
	int q;

	memset(ops, 0, sizeof(*ops) * n);
	for (q = 0; q < n; q++) {
		uint64_t kind = rnd(&c->r, 6);

		ops[q].handle = any_h(c, o);
		ops[q].op = kind < 4 ? RP_OP_DUP : kind < 5 ? RP_OP_PUT : RP_OP_SEAL;
	}
}

/* After a refused batch on object @i: the session and the object are as before. */
static void check_unchanged(struct tctx *c, int i, int before, const char *what)
{
	int now = session_handles(c);

	if (now != before)
		report(c, "%s: refused, yet session_handles went from %d to %d", what, before, now);
	check_info(c, i, any_h(c, &c->o[i]), what);
}

static bool excl_h(const struct mobj *o)
{
	return o->nh > 0 && !o->shared && o->nmap == 0;
}

void op_batch_bad(struct tctx *c)
{
	int i = pick(c, excl_h), ret, before, k = rnd(&c->r, 6);
	struct rp_op one = { .op = RP_OP_SEAL, .handle = 0 };
	struct refpool_batch a = { .ops = (uintptr_t)&one, .count = 1,
				   .op_size = REFPOOL_OP_SIZE_VER0 };

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
	case 2:
		switch (rnd(&c->r, 3)) {
		case 0:
			a.flags = 1u << rnd(&c->r, 32);
			break;
		case 1:
			a.pad = 1 + (uint32_t)rnd(&c->r, 1000);
			break;
		default:	/* only the published op sizes */
			do
				a.op_size = (uint32_t)rnd(&c->r, 80);
			while (a.op_size == REFPOOL_OP_SIZE_VER0 || a.op_size == REFPOOL_OP_SIZE_VER1);
			break;
		}
		ret = raw(rp_fd(c->p), REFPOOL_IOC_BATCH, &a);
		note(c, 2, a.flags, a.op_size, ret);
		expect(c, "BATCH with flags, pad or an unpublished op_size", ret, -EINVAL);
		break;
	case 3: {
		/* an array the kernel cannot read or write, from op m on */
		const char *what = "unreadable ops";
		const void *ptr = bad_ptr(c, 64 * sizeof(struct rp_op), &what);
		int n = 1 + rnd(&c->r, 64);
		uint64_t room = valid_bytes(ptr) / sizeof(struct rp_op);

		if (i < 0 || room == 0 || room >= (uint64_t)n) {
			/*
			 * Readable and writable to its end, the array is not
			 * bad: it would run whatever an earlier call left in
			 * the page (the ops below), without the handle lock.
			 */
			if (room >= (uint64_t)n)
				break;
			ret = rp_batch(c->p, (struct rp_op *)ptr, n);
			note(c, 3, n, 0, ret);
			expect(c, "rp_batch(unreadable ops)", ret, -EFAULT);
			break;
		}
		/* ops 0 .. room-1 readable and valid, the rest in the guard page */
		hlock_w();
		before = session_handles(c);
		ptr = P.guard - room * sizeof(struct rp_op);
		fill_changing_ops(c, (struct rp_op *)ptr, (int)room, i);
		ret = rp_batch(c->p, (struct rp_op *)ptr, n);
		note(c, 3, n, room, ret);
		expect(c, "rp_batch(ops past the first few unmapped)", ret, -EFAULT);
		check_unchanged(c, i, before, "rp_info after a batch refused for its unmapped tail");
		hunlock();
		break;
	}
	default: {
		/* read-only ops: the kernel cannot deliver results, so nothing runs */
		struct rp_op *ro = (void *)P.ro_arg;
		int n = 1 + rnd(&c->r, 8);

		if (i < 0)
			return;
		hlock_w();
		before = session_handles(c);
		mprotect(P.ro_arg, 4096, PROT_READ | PROT_WRITE);
		fill_changing_ops(c, ro, n, i);
		mprotect(P.ro_arg, 4096, PROT_READ);
		ret = rp_batch(c->p, ro, n);
		note(c, 4, n, c->o[i].id, ret);
		expect(c, "rp_batch(read-only ops)", ret, -EFAULT);
		check_unchanged(c, i, before, "rp_info after a batch refused for read-only ops");
		hunlock();
		break;
	}
	}
}

/*
 * The ops array made read-only or unmapped by another thread while the
 * batch runs (issue 17): either the call is -EFAULT and nothing ran, or it
 * returns the count and every op's result was delivered. The array is a
 * memfd mapped twice: the other thread takes away one mapping, the model
 * reads the results through the other.
 */
struct yank {
	void *addr;
	size_t len;
	unsigned spin;
	bool unmap;
};

static void *yank_main(void *arg)
{
	struct yank *y = arg;
	volatile unsigned k;

	for (k = 0; k < y->spin; k++)
		;
	if (y->unmap)
		munmap(y->addr, y->len);
	else
		mprotect(y->addr, y->len, PROT_READ);
	return NULL;
}

void op_batch_race(struct tctx *c)
{
	int i = pick(c, excl_h), n = 1 + rnd(&c->r, 64), before, q, fd;
	size_t len = 2 * 4096;
	struct yank y = { .len = len, .spin = (unsigned)rnd(&c->r, 200000),
			  .unmap = rnd(&c->r, 2) };
	struct refpool_batch a = { .count = n, .op_size = REFPOOL_OP_SIZE_VER0 };
	struct rp_op *ops, *view;
	pthread_t th;
	int64_t ret;

	if (i < 0 || c->o[i].nh + n > MAXH + 64)
		return;
	fd = memfd_create("refpool-fuzz-batch", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, len)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	y.addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (view == MAP_FAILED || y.addr == MAP_FAILED) {
		if (view != MAP_FAILED)
			munmap(view, len);
		if (y.addr != MAP_FAILED)
			munmap(y.addr, len);
		return;
	}
	/* the array straddles the two pages: either may be the one that goes */
	ops = (struct rp_op *)((uint8_t *)y.addr + 4096) - n / 2;
	fill_changing_ops(c, ops, n, i);
	a.ops = (uintptr_t)ops;
	hlock_w();
	before = session_handles(c);
	if (pthread_create(&th, NULL, yank_main, &y)) {
		hunlock();
		munmap(view, len);
		munmap(y.addr, len);
		return;
	}
	ret = raw(rp_fd(c->p), REFPOOL_IOC_BATCH, &a);
	pthread_join(th, NULL);
	note(c, n, y.unmap, y.spin, ret);
	ops = (struct rp_op *)((uint8_t *)view + 4096) - n / 2;
	if (ret == -EFAULT) {
		atomic_fetch_add(&shm->race_refused, 1);
		check_unchanged(c, i, before, y.unmap ? "rp_info after a batch refused: array unmapped meanwhile" :
				"rp_info after a batch refused: array made read-only meanwhile");
		for (q = 0; q < n; q++)
			if (ops[q].out || ops[q].result)
				report(c, "BATCH refused, yet op %d has out %u result %d", q,
				       ops[q].out, ops[q].result);
		hunlock();
	} else if (expect(c, "BATCH with its array taken away meanwhile", ret, n)) {
		/* it ran: every result is there; the model follows them op by op */
		int ndup = 0, nput = 0;

		atomic_fetch_add(&shm->race_ran, 1);

		for (q = 0; q < n; q++) {
			int64_t want = 0;

			/* a handle an earlier op of the array put: -EBADF */
			for (int r2 = 0; r2 < q; r2++)
				if (ops[r2].op == RP_OP_PUT && ops[r2].result == 0 &&
				    ops[r2].handle == ops[q].handle)
					want = -EBADF;
			expect(c, "BATCH result, array taken away meanwhile", ops[q].result, want);
			if (ops[q].result && ops[q].out)
				report(c, "BATCH op %d failed, yet out is %u", q, ops[q].out);
			if (ops[q].result)
				continue;
			if (ops[q].op == RP_OP_DUP) {
				held_add(c, ops[q].out);
				ndup++;
			} else if (ops[q].op == RP_OP_PUT) {
				held_del(ops[q].handle);
				del_h(&c->o[i], ops[q].handle);
				nput++;
			} else {
				c->o[i].flags |= RP_SEALED;
			}
		}
		if (session_handles(c) != before + ndup - nput)
			report(c, "BATCH that ran with its array taken away: session_handles %d, model %d",
			       session_handles(c), before + ndup - nput);
		hunlock();
		for (q = 0; q < n; q++)
			if (ops[q].op == RP_OP_DUP && ops[q].result == 0) {
				if (c->o[i].nh < MAXH)
					add_h(c, i, ops[q].out);
				else
					put_raw(c, ops[q].out);
			}
		settle(c);
		if (c->o[i].state == ST_LIVE && c->o[i].nh)
			check_info(c, i, any_h(c, &c->o[i]), "rp_info after a batch that ran");
	} else {
		hunlock();
	}
	munmap(view, len);
	if (!y.unmap)
		munmap(y.addr, len);
}
