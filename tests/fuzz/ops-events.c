// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, lifecycle events: watch (by handle, by token, bad), the
 * collector's subscription, and reading the session's events.
 *
 * The threads of a worker share its session, so they share its event
 * queue: the watches the process made are in one table (by cookie, under
 * one lock, which reads of the queue hold too, so no event is ever between
 * the kernel and the table while someone checks). Every event read must be
 * one a watch of this process asked for - its cookie known, its id the
 * watch's, its bit in the watch's mask and never delivered before - or an
 * OVERFLOW (id 0, cookie 0), or a collection's (the subscription's
 * cookie). Only exclusive objects are watched: when the model learns that
 * one died (obj_drop()), its FREED must have been queued before the call
 * that freed it returned - the queue is drained and the watch must have
 * fired, unless an OVERFLOW came since it was made. A watch of an object
 * the model stops tracking (shared, forgotten) is dropped from the table;
 * the events of dropped watches are accepted (L10) by their cookie's
 * sequence number being at most the last one dropped.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#define WATCH_N		512
#define COOKIE_TAG	(0xe7ULL << 56)	/* over a sequence number */
#define COOKIE_TAG_MASK	(0xffULL << 56)

struct fwatch {
	uint64_t cookie;	/* 0: a free entry */
	uint64_t id;
	uint32_t mask, fired;
	uint64_t overflows;	/* W.overflows when it was made */
};

static struct {
	pthread_mutex_t lock;
	struct fwatch w[WATCH_N];
	uint64_t seq;		/* the last cookie's sequence number */
	uint64_t dropped_upto;	/* L10: events of dropped watches up to here */
	uint64_t overflows;	/* OVERFLOW events read */
	uint64_t gc_cookie;	/* the collector subscription's, or 0 */
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct fwatch *find(uint64_t cookie)
{
	int k;

	for (k = 0; k < WATCH_N; k++)
		if (W.w[k].cookie == cookie)
			return &W.w[k];
	return NULL;
}

/* Check one event against the table; under W.lock. */
static void check_event(struct tctx *c, const struct rp_event *e)
{
	struct fwatch *f;

	if (e->reserved)
		report(c, "event: reserved %u", e->reserved);
	switch (e->events) {
	case RP_EV_OVERFLOW:
		if (e->id || e->cookie)
			report(c, "OVERFLOW event: id %" PRIu64 " cookie %#" PRIx64, e->id, e->cookie);
		W.overflows++;
		return;
	case RP_EV_GC:
		if (!W.gc_cookie || e->cookie != W.gc_cookie)
			report(c, "GC event: cookie %#" PRIx64 ", subscribed with %#" PRIx64,
			       e->cookie, W.gc_cookie);
		return;
	case RP_EV_FREED:
	case RP_EV_SEALED:
		break;
	default:
		report(c, "event: bits %#x", e->events);
		return;
	}
	f = find(e->cookie);
	if (!f) {
		/* L10 */
		if ((e->cookie & COOKIE_TAG_MASK) == COOKIE_TAG &&
		    (e->cookie & ~COOKIE_TAG_MASK) <= W.dropped_upto)
			return;
		report(c, "event %#x id %" PRIu64 ": cookie %#" PRIx64 " of no watch (last %" PRIu64 ")",
		       e->events, e->id, e->cookie, W.seq);
		return;
	}
	if (e->id != f->id)
		report(c, "event %#x: id %" PRIu64 ", the watch is of %" PRIu64, e->events, e->id, f->id);
	if (!(f->mask & e->events))
		report(c, "event %#x id %" PRIu64 ": the watch asked for %#x", e->events, e->id, f->mask);
	if (f->fired & e->events)
		report(c, "event %#x id %" PRIu64 ": delivered twice", e->events, e->id);
	f->fired |= e->events;
	/* Nothing comes after FREED. */
	if (f->fired == f->mask || (e->events & RP_EV_FREED))
		memset(f, 0, sizeof(*f));
}

/* Read everything queued; under W.lock. Bounded: others keep firing. */
static void drain(struct tctx *c, const char *what)
{
	struct rp_event ev[32];
	int n, k, rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		n = rp_read_events(c->p, ev, 32, 0);
		note(c, n, 0, 0, n);
		if (n < 0) {
			expect(c, what, n, 0);
			return;
		}
		for (k = 0; k < n; k++)
			check_event(c, &ev[k]);
		if (n < 32)
			return;
	}
}

/*
 * @n events' room at the end of a page of this thread's own, the rest of
 * the array in an unmapped page: nobody else writes there meanwhile.
 */
static const struct rp_event *straddle(int n)
{
	static __thread uint8_t *pages;
	long pg = sysconf(_SC_PAGESIZE);

	if (!pages) {
		pages = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pages == MAP_FAILED || mprotect(pages + pg, pg, PROT_NONE)) {
			pages = NULL;
			return NULL;
		}
	}
	return (const struct rp_event *)(pages + pg) - n;
}

static uint64_t new_cookie(void)
{
	return COOKIE_TAG | ++W.seq;
}

static bool exclusive_h(const struct mobj *o)
{
	return o->nh > 0 && !o->shared;
}

static bool exclusive_tok(const struct mobj *o)
{
	return o->nh > 0 && !o->shared && o->ntok > 0;
}

static uint32_t rand_mask(struct tctx *c)
{
	static const uint32_t masks[] = {
		RP_EV_FREED, RP_EV_SEALED, RP_EV_FREED | RP_EV_SEALED,
	};

	return masks[rnd(&c->r, ARRAY_SIZE(masks))];
}

/* Watch exclusive object @i for @mask, by handle or by its token. */
static void watch_obj(struct tctx *c, int i, bool by_token)
{
	struct mobj *o = &c->o[i];
	uint32_t mask = rand_mask(c);
	struct fwatch *f;
	uint64_t cookie;
	int ret;

	pthread_mutex_lock(&W.lock);
	f = find(0);
	if (!f) {
		pthread_mutex_unlock(&W.lock);
		return;
	}
	cookie = new_cookie();
	if (by_token)
		ret = rp_watch_token(c->p, &o->tok[rnd(&c->r, o->ntok)], mask, cookie);
	else
		ret = rp_watch(c->p, any_h(c, o), mask, cookie);
	note(c, o->id, mask, by_token, ret);
	if (expect(c, by_token ? "rp_watch_token" : "rp_watch", ret, 0)) {
		*f = (struct fwatch){ .cookie = cookie, .id = o->id, .mask = mask,
				      .overflows = W.overflows };
		/* A sealed object's SEALED was queued before the call returned. */
		if ((mask & RP_EV_SEALED) && (o->flags & RP_SEALED)) {
			drain(c, "rp_read_events(after a watch of a sealed object)");
			if (f->cookie == cookie && !(f->fired & RP_EV_SEALED) &&
			    W.overflows == f->overflows)
				report(c, "rp_watch of sealed id %" PRIu64 ": no SEALED event", o->id);
		}
	}
	pthread_mutex_unlock(&W.lock);
}

void op_watch(struct tctx *c)
{
	int i = pick(c, exclusive_h);

	if (i >= 0)
		watch_obj(c, i, false);
}

void op_watch_token(struct tctx *c)
{
	uint64_t cookie;
	int i, ret;

	if (c->ndead && rnd(&c->r, 3) == 0) {
		pthread_mutex_lock(&W.lock);
		cookie = new_cookie();
		pthread_mutex_unlock(&W.lock);
		ret = rp_watch_token(c->p, &c->dead[rnd(&c->r, c->ndead)],
				     RP_EV_FREED, cookie);
		note(c, 0, 0, 0, ret);
		expect(c, "rp_watch_token(token of a dead object)", ret, -ENOENT);
		return;
	}
	i = pick(c, exclusive_tok);
	if (i >= 0)
		watch_obj(c, i, true);
}

/* The session subscribes to the collector once. */
void op_watch_gc(struct tctx *c)
{
	uint64_t cookie;
	int ret;

	pthread_mutex_lock(&W.lock);
	if (!W.gc_cookie) {
		cookie = new_cookie();
		ret = rp_watch(c->p, 0, RP_EV_GC, cookie);
		note(c, cookie, 0, 0, ret);
		if (expect(c, "rp_watch(RP_EV_GC)", ret, 0))
			W.gc_cookie = cookie;
	}
	pthread_mutex_unlock(&W.lock);
}

/* Arguments the contract refuses, each with otherwise valid input. */
void op_watch_bad(struct tctx *c)
{
	int i = pick(c, has_h), ret;
	struct refpool_watch w = { .events = RP_EV_FREED, .cookie = 1 };
	const char *what, *bad;
	rp_handle_t h = i >= 0 ? any_h(c, &c->o[i]) : 0;
	rp_token_t tok;

	memset(&tok, 0x5a, sizeof(tok));
	switch (rnd(&c->r, 8)) {
	case 0:
		ret = rp_watch(c->p, h, 0, 1);
		what = "rp_watch(no event)";
		break;
	case 1:
		ret = rp_watch(c->p, h, RP_EV_FREED | (1U << (3 + rnd(&c->r, 28))), 1);
		what = "rp_watch(a reserved bit)";
		break;
	case 2:
		ret = rp_watch(c->p, h, RP_EV_OVERFLOW, 1);
		what = "rp_watch(RP_EV_OVERFLOW)";
		break;
	case 3:
		ret = h ? rp_watch(c->p, h, RP_EV_GC, 1) : rp_watch(c->p, 0, RP_EV_GC | RP_EV_SEALED, 1);
		what = "rp_watch(RP_EV_GC with an object)";
		break;
	case 4:
		w.handle = h ? h : 1;
		w.token_ptr = (uintptr_t)&tok;
		ret = raw(rp_fd(c->p), REFPOOL_IOC_WATCH, &w);
		what = "WATCH(handle and token)";
		break;
	case 5:
		w.handle = h;
		if (rnd(&c->r, 2))
			w.flags = 1u << rnd(&c->r, 32);
		else
			w.pad = 1u << rnd(&c->r, 32);
		ret = raw(rp_fd(c->p), REFPOOL_IOC_WATCH, &w);
		what = "WATCH(flags or pad)";
		break;
	case 6:
		ret = rp_watch_token(c->p, &tok, RP_EV_FREED, 1);
		note(c, 0, 0, 0, ret);
		expect(c, "rp_watch_token(unknown token)", ret, -ENOENT);
		return;
	default:
		ret = rp_watch_token(c->p, bad_ptr(c, sizeof(tok), &bad), RP_EV_FREED, 1);
		note(c, 0, 0, 0, ret);
		expect(c, "rp_watch_token(bad token pointer)", ret, -EFAULT);
		return;
	}
	note(c, h, 0, 0, ret);
	expect(c, what, ret, -EINVAL);
}

void op_read_events(struct tctx *c)
{
	struct refpool_read_events r = { 0 };
	struct rp_event ev[4];
	const char *bad;
	int ret, k;

	pthread_mutex_lock(&W.lock);
	switch (rnd(&c->r, 6)) {
	case 0: {
		/*
		 * A bad array: -EFAULT when anything is queued, else 0; or,
		 * when its start is writable, as many as fit there, which
		 * are checked.
		 */
		const struct rp_event *got;
		int fit = 0;

		if (rnd(&c->r, 2)) {
			got = bad_ptr(c, 1, &bad);	/* nothing of it valid */
		} else {
			fit = (int)rnd(&c->r, 3);
			got = straddle(fit);
			bad = "straddles into an unmapped page";
			if (!got)
				break;
		}
		r.events_ptr = (uintptr_t)got;
		r.max = 4;
		r.event_size = sizeof(ev[0]);
		ret = raw(rp_fd(c->p), REFPOOL_IOC_READ_EVENTS, &r);
		note(c, fit, 0, 0, ret);
		if (ret > fit)
			report(c, "READ_EVENTS(%s): took %d events, %d fit", bad, ret, fit);
		else if (ret <= 0)
			expect2(c, "READ_EVENTS(bad array)", ret, 0, -EFAULT);
		for (k = 0; k < ret && k < fit; k++)
			check_event(c, &got[k]);
		break;
	}
	case 1:
		r.events_ptr = (uintptr_t)ev;
		r.max = rnd(&c->r, 2) ? 0 : REFPOOL_READ_EVENTS_MAX + 1 + rnd(&c->r, 100);
		r.event_size = sizeof(ev[0]);
		if (rnd(&c->r, 2)) {
			r.max = 1;
			r.event_size = rnd(&c->r, 2) ? 8 * rnd(&c->r, 3) : 25 + rnd(&c->r, 7);
		}
		ret = raw(rp_fd(c->p), REFPOOL_IOC_READ_EVENTS, &r);
		note(c, r.max, r.event_size, 0, ret);
		expect(c, "READ_EVENTS(max or event_size)", ret, -EINVAL);
		break;
	default:
		drain(c, "rp_read_events");
		break;
	}
	pthread_mutex_unlock(&W.lock);
}

/*
 * The model let go of @id: it died (@dead, an exclusive object: its FREED
 * was queued before the call that freed it returned) or is no longer
 * tracked. Either way its watches leave the table.
 */
void events_forget(struct tctx *c, uint64_t id, bool dead)
{
	uint64_t top = 0;
	int k;

	pthread_mutex_lock(&W.lock);
	for (k = 0; k < WATCH_N; k++)
		if (W.w[k].cookie && W.w[k].id == id)
			break;
	if (k == WATCH_N) {
		pthread_mutex_unlock(&W.lock);
		return;
	}
	if (dead)
		drain(c, "rp_read_events(after a death)");
	for (k = 0; k < WATCH_N; k++) {
		struct fwatch *f = &W.w[k];

		if (!f->cookie || f->id != id)
			continue;
		if (dead && (f->mask & RP_EV_FREED) && !(f->fired & RP_EV_FREED) &&
		    W.overflows == f->overflows)
			report(c, "id %" PRIu64 " died, but its watch %#" PRIx64 " has no FREED event",
			       id, f->cookie);
		if (!dead && (f->cookie & ~COOKIE_TAG_MASK) > top)
			top = f->cookie & ~COOKIE_TAG_MASK;
		memset(f, 0, sizeof(*f));
	}
	if (top > W.dropped_upto)
		W.dropped_upto = top;
	pthread_mutex_unlock(&W.lock);
}
