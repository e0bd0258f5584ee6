// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the cycle collector.
 *
 * Reference counting frees an object when its last reference goes, but a
 * cycle of links keeps itself alive. As CPython does, the collector tracks
 * only objects with slots ("containers"), in two generations, and finds
 * garbage by trial deletion: a container's count minus the links from
 * other scanned containers is what holds it from outside; containers held
 * from outside are roots, and whatever is not reachable from a root
 * through links is a candidate.
 *
 * It runs while every session goes on: no lock is held for longer than one
 * object. What makes that safe is a write barrier. Every change to the
 * count or the slots of a container first sets its TOUCHED bit, inside an
 * RCU read-side section that covers the change (rp_gc_touch()). A
 * collection clears the bits of the set it scans, waits for a grace period
 * (so every change it may have missed is complete before it reads
 * anything), and scans. Then it *dooms* the candidates, looks once for
 * those touched since the scan began, and keeps them and everything they
 * link to; the rest is garbage, and its slots are emptied.
 *
 * Why that never frees a reachable object. Take a candidate g that was
 * never touched since the scan began. If it is reachable when doomed, from
 * a reference E through r -> ... -> g, then either nothing on the path was
 * touched - counts and links held still for the whole scan, so r's count
 * minus the links into it counted E, r was a root and the scan reached g
 * - or the last touched node on it was kept, and the keeping follows the
 * path to g. After the doom, a new reference to a doomed candidate can
 * only come from two places, as every other way needs a reference to it
 * already: a token lookup (tokens are weak) and GET_LINK from a kept
 * parent. Both touch, then look for the doom, while the collector dooms,
 * then looks for touches, with full barriers between: if the caller
 * missed the doom, the collector sees its touch and keeps the object; if
 * not, the caller waits (killably) until the object is kept or freed. So
 * one look suffices, and a collection costs a fixed number of passes over
 * the scanned set however many callers race with it.
 *
 * Automatic collections: the young generation (containers made since the
 * last collection) after gc_threshold link operations, the whole heap when
 * the old generation has grown by a quarter since the last full one, as
 * CPython does, so that building a large live structure stays linear; and
 * a full collection at most gc_full_interval seconds after a container
 * lost a reference without dying, so that old garbage goes too without any
 * call (a cycle of old objects dropped once leaves no link operations
 * behind to start one). gc_threshold 0 turns both off.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "refpool.h"
#include "trace.h"

/* Its writes go through rp_gc_threshold_set(), below. */
static unsigned int gc_threshold = 700;

static unsigned int gc_full_interval = 5;
module_param(gc_full_interval, uint, 0644);
MODULE_PARM_DESC(gc_full_interval, "Most seconds between a container losing a reference and a full collection (default 5)");

static struct {
	struct mutex mutex;		/* one collection at a time */
	spinlock_t list_lock;		/* every list of containers */
	struct list_head young;
	struct list_head old;
	unsigned long nold;		/* under list_lock */
	unsigned long old_pending;	/* moved to old since the last full */
	atomic_t link_ops;
	bool running;
	bool live;			/* under mutex: works may be queued */
	struct work_struct work;	/* automatic, young or full */
	unsigned long full_pending;	/* bit 0: full_work is queued */
	struct delayed_work full_work;	/* the time bound on old garbage */
} rp_gc = {
	/* Ready before init: a parameter write may come first. */
	.mutex = __MUTEX_INITIALIZER(rp_gc.mutex),
};

/**
 * rp_gc_track - start tracking a new container
 * @obj: the object, with slots
 */
void rp_gc_track(struct rp_object *obj)
{
	spin_lock(&rp_gc.list_lock);
	list_add_tail(&obj->container->gc_node, &rp_gc.young);
	spin_unlock(&rp_gc.list_lock);
}

/**
 * rp_gc_untrack - stop tracking a dying container
 * @obj: the object, with slots
 *
 * The collector moves a container between its lists only while it has the
 * UNREACHABLE bit, tested under the list lock: clearing it here keeps the
 * collector away from a container that is off its lists and about to go on
 * a list of the dying.
 */
void rp_gc_untrack(struct rp_object *obj)
{
	struct rp_container *c = obj->container;

	spin_lock(&rp_gc.list_lock);
	clear_bit(RP_GC_UNREACHABLE, &c->gc_flags);
	clear_bit(RP_GC_SCANNED, &c->gc_flags);
	list_del_init(&c->gc_node);
	if (c->old)
		rp_gc.nold--;
	spin_unlock(&rp_gc.list_lock);
}

/**
 * struct rp_gc_step - what one walk over a list of containers does
 * @route: under the list lock, once the container has moved to the walk's
 *         destination: move it elsewhere, change its state; return whether
 *         to visit it. NULL: visit every container.
 * @visit: with no lock held and the container in use; or NULL
 */
struct rp_gc_step {
	bool (*route)(struct rp_container *c, void *arg);
	void (*visit)(struct rp_container *c, void *arg);
};

/*
 * Take the containers of @from one at a time to @to, as @step says. A
 * container still on a list is not dead yet, so a call reference keeps its
 * memory while it is visited; one that dies meanwhile leaves the list by
 * itself (rp_gc_untrack()). The list may grow while it is walked: the walk
 * ends when it is empty.
 */
static void rp_gc_walk(struct list_head *from, struct list_head *to,
		       const struct rp_gc_step *step, void *arg)
{
	struct rp_container *c;
	bool visit;

	for (;;) {
		spin_lock(&rp_gc.list_lock);
		c = list_first_entry_or_null(from, struct rp_container, gc_node);
		if (c) {
			list_move_tail(&c->gc_node, to);
			visit = step->route ? step->route(c, arg) : true;
			visit = visit && step->visit;
			if (visit)
				rp_object_use(c->obj);
		}
		spin_unlock(&rp_gc.list_lock);
		if (!c)
			break;
		if (visit) {
			step->visit(c, arg);
			rp_object_unuse(c->obj);
		}
		cond_resched();
	}
}

/* What to do with each scanned child of a container. */
typedef void (*rp_gc_child_fn)(struct rp_container *child, void *arg);

/* A child that is a container of this collection, or NULL. */
static struct rp_container *rp_gc_scanned(struct rp_object *child)
{
	if (!child || !child->container ||
	    !test_bit(RP_GC_SCANNED, &child->container->gc_flags))
		return NULL;
	return child->container;
}

/*
 * Call @fn on each scanned child of @c, under @c's lock and the list lock:
 * its slots hold still, and so do the lists.
 */
static void rp_gc_children(struct rp_container *c, rp_gc_child_fn fn,
			   void *arg)
{
	struct rp_container *child;
	u32 i;

	spin_lock(&c->obj->lock);
	for (i = 0; i < c->obj->nslots; i++) {
		child = rp_gc_scanned(c->slots[i]);
		if (!child)
			continue;
		spin_lock(&rp_gc.list_lock);
		fn(child, arg);
		spin_unlock(&rp_gc.list_lock);
	}
	spin_unlock(&c->obj->lock);
}

/* --- the scan --------------------------------------------------------------- */

static void rp_gc_begin(struct rp_container *c, void *arg)
{
	unsigned long *scanned = arg;

	++*scanned;
	clear_bit(RP_GC_TOUCHED, &c->gc_flags);
	clear_bit(RP_GC_DOOMED, &c->gc_flags);
	clear_bit(RP_GC_UNREACHABLE, &c->gc_flags);
	set_bit(RP_GC_SCANNED, &c->gc_flags);
}

static void rp_gc_count_refs(struct rp_container *c, void *arg)
{
	c->gc_refs = refcount_read(&c->obj->refs);
}

static void rp_gc_unref(struct rp_container *child, void *arg)
{
	child->gc_refs--;
}

static void rp_gc_subtract_links(struct rp_container *c, void *arg)
{
	rp_gc_children(c, rp_gc_unref, NULL);
}

/*
 * CPython's move_unreachable(), one walk: a container with outside
 * references is reachable, and so is every scanned child it links to (a
 * child already set aside as a candidate goes back to be walked). One with
 * none is set aside, for now.
 */
struct rp_gc_reach {
	struct list_head *scan;
	struct list_head *unreachable;
};

static bool rp_gc_route_reach(struct rp_container *c, void *arg)
{
	struct rp_gc_reach *r = arg;

	if (c->gc_refs > 0)
		return true;
	list_move_tail(&c->gc_node, r->unreachable);
	set_bit(RP_GC_UNREACHABLE, &c->gc_flags);
	return false;
}

static void rp_gc_reach_child(struct rp_container *child, void *arg)
{
	struct rp_gc_reach *r = arg;

	if (test_and_clear_bit(RP_GC_UNREACHABLE, &child->gc_flags))
		list_move_tail(&child->gc_node, r->scan);
	if (child->gc_refs <= 0)
		child->gc_refs = 1;
}

static void rp_gc_visit_reach(struct rp_container *c, void *arg)
{
	rp_gc_children(c, rp_gc_reach_child, arg);
}

/* --- settling the candidates -------------------------------------------------- */

static void rp_gc_doom(struct rp_container *c, void *arg)
{
	set_bit(RP_GC_DOOMED, &c->gc_flags);
}

/* A candidate touched since the scan began goes to be kept. */
static bool rp_gc_route_touched(struct rp_container *c, void *arg)
{
	struct list_head *keep = arg;

	/* Pairs with the barrier after the flag in rp_gc_touch(). */
	smp_mb();
	if (test_bit(RP_GC_TOUCHED, &c->gc_flags) &&
	    test_and_clear_bit(RP_GC_UNREACHABLE, &c->gc_flags))
		list_move_tail(&c->gc_node, keep);
	return false;
}

/* A kept candidate lives: so does every candidate it links to now. */
static bool rp_gc_route_keep(struct rp_container *c, void *arg)
{
	clear_bit(RP_GC_DOOMED, &c->gc_flags);
	/* Callers waiting for the judgement of this one may go on. */
	wake_up_var(&rp_gc.running);
	return true;
}

static void rp_gc_keep_child(struct rp_container *child, void *arg)
{
	struct list_head *keep = arg;

	if (test_and_clear_bit(RP_GC_UNREACHABLE, &child->gc_flags))
		list_move_tail(&child->gc_node, keep);
}

static void rp_gc_visit_keep(struct rp_container *c, void *arg)
{
	rp_gc_children(c, rp_gc_keep_child, arg);
}

/*
 * Settle the candidates (see the top of the file): doom them all, look
 * once for touches, keep what was touched and what it links to. What is
 * left on @unreachable is garbage.
 */
static void rp_gc_settle(struct list_head *unreachable, struct list_head *kept)
{
	static const struct rp_gc_step doom = { .visit = rp_gc_doom };
	static const struct rp_gc_step touched = {
		.route = rp_gc_route_touched,
	};
	static const struct rp_gc_step keep = {
		.route = rp_gc_route_keep,
		.visit = rp_gc_visit_keep,
	};
	LIST_HEAD(queue);
	LIST_HEAD(next);

	rp_gc_walk(unreachable, &next, &doom, NULL);
	/* The dooms are visible before the touches are read. */
	smp_mb();
	rp_hook(RP_HOOK_GC_SETTLE);
	rp_gc_walk(&next, unreachable, &touched, &queue);
	rp_gc_walk(&queue, kept, &keep, &queue);
}

/* --- after the judgement ------------------------------------------------------ */

/* Survivors join the old generation: they have aged. */
static bool rp_gc_route_old(struct rp_container *c, void *arg)
{
	clear_bit(RP_GC_SCANNED, &c->gc_flags);
	clear_bit(RP_GC_DOOMED, &c->gc_flags);
	clear_bit(RP_GC_UNREACHABLE, &c->gc_flags);
	if (!c->old) {
		c->old = true;
		rp_gc.nold++;
		rp_gc.old_pending++;
	}
	return false;
}

static void rp_gc_age(struct list_head *survivors)
{
	static const struct rp_gc_step step = { .route = rp_gc_route_old };

	rp_gc_walk(survivors, &rp_gc.old, &step, NULL);
}

/* Empty a garbage container's slots; the cycle dies of it. */
static void rp_gc_visit_free(struct rp_container *c, void *arg)
{
	unsigned long *deaths = arg;
	struct rp_object *child;
	u32 i;

	for (i = 0; i < c->obj->nslots; i++) {
		spin_lock(&c->obj->lock);
		child = c->slots[i];
		c->slots[i] = NULL;
		spin_unlock(&c->obj->lock);
		if (child)
			*deaths += rp_object_put_count(child);
	}
}

static unsigned long rp_gc_free(struct list_head *garbage)
{
	static const struct rp_gc_step step = { .visit = rp_gc_visit_free };
	unsigned long deaths = 0;
	LIST_HEAD(freeing);

	rp_gc_walk(garbage, &freeing, &step, &deaths);
	/*
	 * Garbage that still lives is held by the slot of an object that
	 * died during the collection, whose links are being dropped right
	 * now by whoever killed it: it dies with that. Track it till then.
	 */
	rp_gc_age(&freeing);
	return deaths;
}

/* One collection of the young generation, or of the whole heap. */
static unsigned long rp_gc_collect(bool full)
{
	static const struct rp_gc_step begin = { .visit = rp_gc_begin };
	static const struct rp_gc_step count = { .visit = rp_gc_count_refs };
	static const struct rp_gc_step subtract = {
		.visit = rp_gc_subtract_links,
	};
	static const struct rp_gc_step reach = {
		.route = rp_gc_route_reach,
		.visit = rp_gc_visit_reach,
	};
	LIST_HEAD(scan);
	LIST_HEAD(counted);
	LIST_HEAD(reached);
	LIST_HEAD(unreachable);
	LIST_HEAD(kept);
	struct rp_gc_reach r = { .scan = &counted, .unreachable = &unreachable };
	ktime_t start = ktime_get();
	unsigned long deaths, scanned = 0;
	u64 ns;

	lockdep_assert_held(&rp_gc.mutex);
	WRITE_ONCE(rp_gc.running, true);
	atomic_set(&rp_gc.link_ops, 0);
	if (full)
		clear_bit(0, &rp_gc.full_pending);

	spin_lock(&rp_gc.list_lock);
	list_splice_init(&rp_gc.young, &scan);
	if (full) {
		list_splice_init(&rp_gc.old, &scan);
		rp_gc.old_pending = 0;
	}
	spin_unlock(&rp_gc.list_lock);

	rp_gc_walk(&scan, &counted, &begin, &scanned);
	/* Every change made before the bits were cleared is complete now. */
	synchronize_rcu();
	rp_gc_walk(&counted, &scan, &count, NULL);
	rp_gc_walk(&scan, &counted, &subtract, NULL);
	rp_gc_walk(&counted, &reached, &reach, &r);
	rp_gc_settle(&unreachable, &kept);

	rp_gc_age(&reached);
	rp_gc_age(&kept);
	deaths = rp_gc_free(&unreachable);

	WRITE_ONCE(rp_gc.running, false);
	wake_up_var(&rp_gc.running);
	ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	atomic64_inc(&rp_counters.gc_runs);
	atomic64_add(deaths, &rp_counters.gc_collected);
	atomic64_add(ns, &rp_counters.gc_time_ns);
	trace_refpool_gc(full, scanned, deaths, ns);
	rp_events_gc(deaths);
	return deaths;
}

/**
 * rp_gc_collect_full - collect the whole heap, starting after the call
 * @collected: out: how many objects died of it
 *
 * Return: 0, or -EINTR when killed while waiting for a collection under way.
 */
int rp_gc_collect_full(u64 *collected)
{
	if (mutex_lock_killable(&rp_gc.mutex))
		return -EINTR;
	*collected = rp_gc_collect(true);
	mutex_unlock(&rp_gc.mutex);
	return 0;
}

/* Automatic collection: young, or everything when old grew by a quarter. */
static void rp_gc_work(struct work_struct *work)
{
	bool full;

	mutex_lock(&rp_gc.mutex);
	spin_lock(&rp_gc.list_lock);
	full = rp_gc.old_pending > rp_gc.nold / 4;
	spin_unlock(&rp_gc.list_lock);
	rp_gc_collect(full);
	mutex_unlock(&rp_gc.mutex);
}

/*
 * The time bound: a full collection, a while after garbage may have formed
 * - unless automatic collection was turned off meanwhile.
 */
static void rp_gc_full_work(struct work_struct *work)
{
	if (!READ_ONCE(gc_threshold)) {
		clear_bit(0, &rp_gc.full_pending);
		return;
	}
	mutex_lock(&rp_gc.mutex);
	rp_gc_collect(true);
	mutex_unlock(&rp_gc.mutex);
}

/**
 * rp_gc_link_op - count a link operation towards the next collection
 */
void rp_gc_link_op(void)
{
	unsigned int threshold = READ_ONCE(gc_threshold);

	/* At or past: the threshold may have been lowered meanwhile. */
	if (threshold && atomic_inc_return(&rp_gc.link_ops) >= threshold) {
		atomic_set(&rp_gc.link_ops, 0);
		queue_work(system_unbound_wq, &rp_gc.work);
	}
}

/**
 * rp_gc_maybe_garbage - a container lost a reference and lives on
 *
 * It may be garbage now, in a cycle: make sure a full collection comes
 * within gc_full_interval seconds. Cheap when one is due already.
 */
void rp_gc_maybe_garbage(void)
{
	if (!READ_ONCE(gc_threshold) || test_bit(0, &rp_gc.full_pending) ||
	    test_and_set_bit(0, &rp_gc.full_pending))
		return;
	queue_delayed_work(system_unbound_wq, &rp_gc.full_work,
			   READ_ONCE(gc_full_interval) * HZ);
}

/*
 * Automatic collection turned back on: garbage made while it was off left
 * nothing queued (rp_gc_maybe_garbage() did nothing then), so the time
 * bound starts now. Only while the module is up: a root write may come
 * before init or after exit, when the works are not to be queued.
 */
static int rp_gc_threshold_set(const char *val, const struct kernel_param *kp)
{
	unsigned int was = READ_ONCE(gc_threshold);
	int ret = param_set_uint(val, kp);

	if (ret || was || !READ_ONCE(gc_threshold))
		return ret;
	mutex_lock(&rp_gc.mutex);
	if (rp_gc.live)
		rp_gc_maybe_garbage();
	mutex_unlock(&rp_gc.mutex);
	return 0;
}

static const struct kernel_param_ops rp_gc_threshold_ops = {
	.set = rp_gc_threshold_set,
	.get = param_get_uint,
};
module_param_cb(gc_threshold, &rp_gc_threshold_ops, &gc_threshold, 0644);
MODULE_PARM_DESC(gc_threshold, "Link operations between automatic collections; 0: no automatic collection (default 700)");

/**
 * rp_gc_wait_idle - wait until no collection is under way
 *
 * For counters that must drop before a call returns; a killed caller does
 * not wait, as its process will not read them.
 */
void rp_gc_wait_idle(void)
{
	/* The result does not matter: see above. */
	if (wait_var_event_killable(&rp_gc.running, !READ_ONCE(rp_gc.running)))
		return;
}

/**
 * rp_gc_wait_doomed - wait until a collection has judged a container
 * @c: the container of an object in use by the caller, found doomed
 *
 * Return: 0, or -EINTR when killed.
 */
int rp_gc_wait_doomed(struct rp_container *c)
{
	if (wait_var_event_killable(&rp_gc.running,
				    !READ_ONCE(rp_gc.running) ||
				    !test_bit(RP_GC_DOOMED, &c->gc_flags)))
		return -EINTR;
	return 0;
}

int rp_gc_init(void)
{
	spin_lock_init(&rp_gc.list_lock);
	INIT_LIST_HEAD(&rp_gc.young);
	INIT_LIST_HEAD(&rp_gc.old);
	INIT_WORK(&rp_gc.work, rp_gc_work);
	INIT_DELAYED_WORK(&rp_gc.full_work, rp_gc_full_work);
	mutex_lock(&rp_gc.mutex);
	rp_gc.live = true;
	mutex_unlock(&rp_gc.mutex);
	return 0;
}

/* No session or file is left: whatever remains is garbage. */
void rp_gc_exit(void)
{
	mutex_lock(&rp_gc.mutex);
	rp_gc.live = false;
	mutex_unlock(&rp_gc.mutex);
	cancel_work_sync(&rp_gc.work);
	cancel_delayed_work_sync(&rp_gc.full_work);
	mutex_lock(&rp_gc.mutex);
	rp_gc_collect(true);
	mutex_unlock(&rp_gc.mutex);
}
