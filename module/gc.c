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
 * through links is garbage.
 *
 * It runs while every session goes on: no lock is held for longer than one
 * object. What makes that safe is a write barrier. Every change to the
 * count or the slots of a container first sets its TOUCHED bit, inside an
 * RCU read-side section that covers the change (rp_gc_touch()). A
 * collection clears the bits of the set it scans, waits for a grace period
 * (so every change it may have missed is complete before it reads
 * anything), scans, and at the end keeps every candidate that was touched
 * meanwhile, and whatever such a candidate links to.
 *
 * Why that never frees a reachable object: take a candidate g, never
 * touched during the collection, reachable at the end from a reference E
 * through a path r -> ... -> g. If nothing on the path was touched, counts
 * and links there held still for the whole scan: r's count minus the
 * links into it (any change of which would have touched r) is its outside
 * references, E among them, so r was a root and the scan followed the path
 * to g. If something on it was touched, the last touched node was kept, and
 * from there the links held still and the keeping reached g. Once garbage,
 * always garbage - no handle, file or link can reach it - but for tokens,
 * which are weak: token lookups announce themselves the same way and wait
 * while their object is judged (RP_GC_DOOMED); the two sides order their
 * flag and check with full barriers, so one of them always sees the other.
 *
 * Automatic collections scan the young generation (containers made since
 * the last collection), and the whole heap only when the old generation
 * has grown by a quarter since the last full collection, as CPython does,
 * so building a large live structure stays linear.
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

static unsigned int gc_threshold = 700;
module_param(gc_threshold, uint, 0644);
MODULE_PARM_DESC(gc_threshold, "Link operations between automatic collections; 0: never (default 700)");

/* gc_flags bits only the collector uses, besides those in refpool.h. */
enum {
	RP_GC_UNREACHABLE = RP_GC_DOOMED + 1,	/* in the candidates' list */
};

static struct {
	struct mutex mutex;		/* one collection at a time */
	spinlock_t list_lock;		/* every list of containers */
	struct list_head young;
	struct list_head old;
	unsigned long nold;		/* under list_lock */
	unsigned long old_pending;	/* moved to old since the last full */
	atomic_t link_ops;
	bool running;
	struct work_struct work;
} rp_gc;

/**
 * rp_gc_track - start tracking a new container
 * @obj: the object, with slots
 */
void rp_gc_track(struct rp_object *obj)
{
	spin_lock(&rp_gc.list_lock);
	list_add_tail(&obj->links->gc_node, &rp_gc.young);
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
	struct rp_container *c = obj->links;

	spin_lock(&rp_gc.list_lock);
	clear_bit(RP_GC_UNREACHABLE, &c->gc_flags);
	clear_bit(RP_GC_SCANNED, &c->gc_flags);
	list_del_init(&c->gc_node);
	if (c->old)
		rp_gc.nold--;
	spin_unlock(&rp_gc.list_lock);
}

/*
 * Move the containers of @from to @to one at a time, calling @fn on each
 * with no lock held. A container still on a list is not dead yet, so a
 * call reference keeps its memory while @fn runs; one that dies meanwhile
 * leaves the list by itself (rp_gc_untrack()).
 */
static void rp_gc_walk(struct list_head *from, struct list_head *to,
		       void (*fn)(struct rp_container *c, void *arg), void *arg)
{
	struct rp_container *c;

	for (;;) {
		spin_lock(&rp_gc.list_lock);
		c = list_first_entry_or_null(from, struct rp_container, gc_node);
		if (c) {
			list_move_tail(&c->gc_node, to);
			rp_object_use(c->obj);
		}
		spin_unlock(&rp_gc.list_lock);
		if (!c)
			break;
		fn(c, arg);
		rp_object_unuse(c->obj);
		cond_resched();
	}
}

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

/* A child that is a container of this collection, or NULL. */
static struct rp_container *rp_gc_scanned(struct rp_object *child)
{
	if (!child || !child->links ||
	    !test_bit(RP_GC_SCANNED, &child->links->gc_flags))
		return NULL;
	return child->links;
}

static void rp_gc_subtract_links(struct rp_container *c, void *arg)
{
	struct rp_container *child;
	u32 i;

	spin_lock(&c->obj->lock);
	for (i = 0; i < c->obj->nslots; i++) {
		child = rp_gc_scanned(c->slots[i]);
		if (child)
			child->gc_refs--;
	}
	spin_unlock(&c->obj->lock);
}

/*
 * CPython's move_unreachable(): one pass over @scan. A container with
 * outside references is reachable, and so is every scanned child it links
 * to: a child already set aside as a candidate goes back to be scanned. A
 * container with none is set aside in @unreachable, for now.
 */
static void rp_gc_move_unreachable(struct list_head *scan,
				   struct list_head *reached,
				   struct list_head *unreachable)
{
	struct rp_container *c, *child;
	u32 i;

	for (;;) {
		spin_lock(&rp_gc.list_lock);
		c = list_first_entry_or_null(scan, struct rp_container, gc_node);
		if (c) {
			if (c->gc_refs > 0) {
				list_move_tail(&c->gc_node, reached);
				rp_object_use(c->obj);
			} else {
				list_move_tail(&c->gc_node, unreachable);
				set_bit(RP_GC_UNREACHABLE, &c->gc_flags);
				c = NULL;
			}
		} else if (list_empty(scan)) {
			spin_unlock(&rp_gc.list_lock);
			break;
		}
		spin_unlock(&rp_gc.list_lock);
		if (!c)
			continue;

		spin_lock(&c->obj->lock);
		for (i = 0; i < c->obj->nslots; i++) {
			child = rp_gc_scanned(c->slots[i]);
			if (!child)
				continue;
			spin_lock(&rp_gc.list_lock);
			if (test_and_clear_bit(RP_GC_UNREACHABLE,
					       &child->gc_flags))
				list_move_tail(&child->gc_node, scan);
			if (child->gc_refs <= 0)
				child->gc_refs = 1;
			spin_unlock(&rp_gc.list_lock);
		}
		spin_unlock(&c->obj->lock);
		rp_object_unuse(c->obj);
		cond_resched();
	}
}

static void rp_gc_doom(struct rp_container *c, void *arg)
{
	set_bit(RP_GC_DOOMED, &c->gc_flags);
}

/*
 * Keep the candidates on @queue, and every candidate they link to now,
 * moving them to @kept. Return how many were kept.
 */
static unsigned long rp_gc_keep(struct list_head *queue, struct list_head *kept)
{
	struct rp_container *c, *child;
	unsigned long n = 0;
	u32 i;

	for (;;) {
		spin_lock(&rp_gc.list_lock);
		c = list_first_entry_or_null(queue, struct rp_container, gc_node);
		if (c) {
			list_move_tail(&c->gc_node, kept);
			rp_object_use(c->obj);
		}
		spin_unlock(&rp_gc.list_lock);
		if (!c)
			break;
		n++;
		clear_bit(RP_GC_DOOMED, &c->gc_flags);
		spin_lock(&c->obj->lock);
		for (i = 0; i < c->obj->nslots; i++) {
			child = rp_gc_scanned(c->slots[i]);
			if (!child)
				continue;
			spin_lock(&rp_gc.list_lock);
			if (test_and_clear_bit(RP_GC_UNREACHABLE,
					       &child->gc_flags))
				list_move_tail(&child->gc_node, queue);
			spin_unlock(&rp_gc.list_lock);
		}
		spin_unlock(&c->obj->lock);
		rp_object_unuse(c->obj);
		cond_resched();
	}
	return n;
}

struct rp_gc_touched {
	struct list_head *queue;
};

/* A candidate touched during the collection goes to be kept. */
static void rp_gc_find_touched(struct rp_container *c, void *arg)
{
	struct rp_gc_touched *t = arg;

	/* Pairs with the barrier after the flag in rp_gc_touch(). */
	smp_mb();
	if (!test_bit(RP_GC_TOUCHED, &c->gc_flags))
		return;
	spin_lock(&rp_gc.list_lock);
	if (test_and_clear_bit(RP_GC_UNREACHABLE, &c->gc_flags))
		list_move_tail(&c->gc_node, t->queue);
	spin_unlock(&rp_gc.list_lock);
}

/*
 * Settle the candidates: keep the touched ones and what they link to, and
 * look again until a whole pass finds nothing new. What is left is garbage.
 */
static void rp_gc_settle(struct list_head *unreachable, struct list_head *kept)
{
	LIST_HEAD(queue);
	LIST_HEAD(next);
	struct rp_gc_touched t = { .queue = &queue };

	rp_gc_walk(unreachable, &next, rp_gc_doom, NULL);
	spin_lock(&rp_gc.list_lock);
	list_splice_init(&next, unreachable);
	spin_unlock(&rp_gc.list_lock);
	/* The dooms are visible before the touches are read. */
	smp_mb();
	do {
		rp_gc_walk(unreachable, &next, rp_gc_find_touched, &t);
		spin_lock(&rp_gc.list_lock);
		list_splice_init(&next, unreachable);
		spin_unlock(&rp_gc.list_lock);
	} while (rp_gc_keep(&queue, kept));
}

/*
 * Survivors join the old generation, one at a time. A container on a list
 * is not released yet (it leaves the list first), so its state can be
 * changed under the list lock.
 */
static void rp_gc_promote(struct list_head *survivors)
{
	struct rp_container *c;

	for (;;) {
		spin_lock(&rp_gc.list_lock);
		c = list_first_entry_or_null(survivors, struct rp_container,
					     gc_node);
		if (c) {
			clear_bit(RP_GC_SCANNED, &c->gc_flags);
			clear_bit(RP_GC_DOOMED, &c->gc_flags);
			clear_bit(RP_GC_UNREACHABLE, &c->gc_flags);
			list_move_tail(&c->gc_node, &rp_gc.old);
			if (!c->old) {
				c->old = true;
				rp_gc.nold++;
				rp_gc.old_pending++;
			}
		}
		spin_unlock(&rp_gc.list_lock);
		if (!c)
			break;
		cond_resched();
	}
}

/* Empty a garbage container's slots; the cycle dies of it. */
static unsigned long rp_gc_free(struct list_head *garbage)
{
	LIST_HEAD(freeing);
	unsigned long deaths = 0;
	struct rp_object *child;
	struct rp_container *c;
	u32 i;

	for (;;) {
		spin_lock(&rp_gc.list_lock);
		c = list_first_entry_or_null(garbage, struct rp_container,
					     gc_node);
		if (c) {
			list_move_tail(&c->gc_node, &freeing);
			rp_object_use(c->obj);
		}
		spin_unlock(&rp_gc.list_lock);
		if (!c)
			break;
		for (i = 0; i < c->obj->nslots; i++) {
			spin_lock(&c->obj->lock);
			child = c->slots[i];
			c->slots[i] = NULL;
			spin_unlock(&c->obj->lock);
			if (child)
				deaths += rp_object_put_count(child);
		}
		rp_object_unuse(c->obj);
		cond_resched();
	}
	/*
	 * Garbage that still lives is held by the slot of an object that
	 * died during the collection, whose links are being dropped right
	 * now by whoever killed it: it dies with that. Track it till then.
	 */
	rp_gc_promote(&freeing);
	return deaths;
}

/* One collection of the young generation, or of the whole heap. */
static unsigned long rp_gc_collect(bool full)
{
	LIST_HEAD(scan);
	LIST_HEAD(counted);
	LIST_HEAD(reached);
	LIST_HEAD(unreachable);
	LIST_HEAD(kept);
	ktime_t start = ktime_get();
	unsigned long deaths, scanned = 0;
	u64 ns;

	lockdep_assert_held(&rp_gc.mutex);
	WRITE_ONCE(rp_gc.running, true);
	atomic_set(&rp_gc.link_ops, 0);

	spin_lock(&rp_gc.list_lock);
	list_splice_init(&rp_gc.young, &scan);
	if (full) {
		list_splice_init(&rp_gc.old, &scan);
		rp_gc.old_pending = 0;
	}
	spin_unlock(&rp_gc.list_lock);

	rp_gc_walk(&scan, &counted, rp_gc_begin, &scanned);
	/* Every change made before the bits were cleared is complete now. */
	synchronize_rcu();
	rp_gc_walk(&counted, &scan, rp_gc_count_refs, NULL);
	rp_gc_walk(&scan, &counted, rp_gc_subtract_links, NULL);
	rp_gc_move_unreachable(&counted, &reached, &unreachable);
	rp_gc_settle(&unreachable, &kept);

	rp_gc_promote(&reached);
	rp_gc_promote(&kept);
	deaths = rp_gc_free(&unreachable);

	WRITE_ONCE(rp_gc.running, false);
	wake_up_var(&rp_gc.running);
	ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	atomic64_inc(&rp_pool.gc_runs);
	atomic64_add(deaths, &rp_pool.gc_collected);
	atomic64_add(ns, &rp_pool.gc_time_ns);
	trace_refpool_gc(full, scanned, deaths, ns);
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
 * rp_gc_wait_idle - wait until no collection is under way
 */
void rp_gc_wait_idle(void)
{
	wait_var_event(&rp_gc.running, !READ_ONCE(rp_gc.running));
}

/**
 * rp_gc_wait_doomed - wait until a collection has judged an object
 * @obj: a container in use by the caller, found doomed
 */
void rp_gc_wait_doomed(struct rp_object *obj)
{
	wait_var_event(&rp_gc.running,
		       !READ_ONCE(rp_gc.running) ||
		       !test_bit(RP_GC_DOOMED, &obj->links->gc_flags));
}

int rp_gc_init(void)
{
	mutex_init(&rp_gc.mutex);
	spin_lock_init(&rp_gc.list_lock);
	INIT_LIST_HEAD(&rp_gc.young);
	INIT_LIST_HEAD(&rp_gc.old);
	INIT_WORK(&rp_gc.work, rp_gc_work);
	return 0;
}

/* No session or file is left: whatever remains is garbage. */
void rp_gc_exit(void)
{
	cancel_work_sync(&rp_gc.work);
	mutex_lock(&rp_gc.mutex);
	rp_gc_collect(true);
	mutex_unlock(&rp_gc.mutex);
}
