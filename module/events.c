// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: lifecycle events - weak watches on objects, and on the collector.
 *
 * A session watches an object for REFPOOL_EV_FREED and REFPOOL_EV_SEALED,
 * as Python's weakref.finalize does within a process; the events queue on
 * the session, whose fd polls POLLIN while any are queued, and
 * REFPOOL_IOC_READ_EVENTS takes them. A watch is weak: it holds no
 * reference, and objects do not grow for it.
 *
 * The structure. One struct rp_watch per event a watch waits for (a watch
 * of FREED | SEALED is two): 64 bytes, charged to the watcher's user with
 * a share of the table's buckets. It is found in three ways:
 *
 * - By object, in one global rhashtable keyed by the object's id, or'ed
 *   with RP_WATCH_SEALED_KEY for a SEALED watch. The table holds one watch
 *   per key, the oldest, its *primary*; the others of the key hang on the
 *   primary's @ring, a list with no head. So an object watched by thousands
 *   costs the table one entry, adding or dropping any watch is O(1) (the
 *   primary leaving hands its place to the next with
 *   rhashtable_replace_fast()), and firing them all is one lookup and a
 *   walk. An object that ever had a FREED watch has RP_STATE_WATCHED, one
 *   that had a SEALED watch RP_STATE_SEAL_WATCHED; only those pay a lookup
 *   at death (of the keys they had) and at seal (of the SEALED key).
 * - By session: armed watches on the session's @watches list, which its
 *   release empties; subscriptions to the collector on its @gc_subs and on
 *   the global rp_gc_subs.
 * - Once fired, the watch *is* the event: it moves to the session's
 *   @queue, and READ_EVENTS frees it. Nothing is allocated when an object
 *   dies or is sealed, so firing cannot fail, and a session with 10^5
 *   watches pays for no queue beyond them. A collection's event is the
 *   one allocation at firing time (charged then; if that fails, it is
 *   dropped as a full queue drops it).
 *
 * A full queue (max_session_events) drops what fires and sets @overflow:
 * READ_EVENTS then returns one REFPOOL_EV_OVERFLOW after the last queued
 * event, and nothing is queued until the reader has taken it - one
 * OVERFLOW per stretch of dropped events, always last, so the order of
 * what is read is the order of firing.
 *
 * Locking. The watches of one object are guarded by one of
 * RP_WATCH_LOCKS hashed spinlocks, chosen by its id: adding a watch,
 * firing, and a release dropping one all hold it, so each watch fires at
 * most once and never after its session let go of it. Adding a watch
 * reads the object's state (DEAD, SEALED) and sets the WATCHED bits under
 * obj->lock inside it; death and seal change that state under obj->lock
 * first, then take the id's lock to fire. So a watch either sees the
 * death or seal and fires at once, or is in the table before the firing
 * looks. Firing touches the watcher's session only under the session's
 * lock, wake-up included: a release that finds its lists empty under that
 * lock knows nothing will touch the session again. Watches are freed after
 * an RCU grace period, as lookups in the table walk other keys' entries.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/bitops.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/wait_bit.h>

#include <linux/refpool.h>
#include "refpool.h"

static unsigned int max_session_events = 4096;
module_param(max_session_events, uint, 0644);
MODULE_PARM_DESC(max_session_events, "Most events queued on one session; then one overflow event (default 4096)");

/* Ids count from 1 and never reach it: SEALED watches have keys of their own. */
#define RP_WATCH_SEALED_KEY	BIT_ULL(63)

/* Hashed locks of the watches of an object; 256 keep contention rare. */
#define RP_WATCH_LOCK_BITS	8

/* Events copied out per pass of READ_EVENTS, on the stack. */
#define RP_READ_BATCH		8

/**
 * struct rp_watch - one event a session waits for, and then that event
 * @node: the primary of its key: in rp_watches
 * @ring: an armed object watch: the other watches of its key, under the
 *        key's lock (a list without a head: the primary is one of them)
 * @gc_node: a subscription to the collector: in rp_gc_subs
 * @fired: once queued: the REFPOOL_EV_* bit it delivers
 * @key: an object watch: the object's id, | RP_WATCH_SEALED_KEY for a
 *       SEALED one; a subscription: 0; a collection's event: how many
 *       objects it freed. Never changes: lookups under RCU compare it.
 * @cookie: the watcher's
 * @s: the watching session, which it is charged to
 * @link: on the session's @watches, @gc_subs or @queue, under its lock
 * @rcu: frees it, once it is on no list
 */
struct rp_watch {
	struct rhash_head node;
	union {
		struct list_head ring;
		struct list_head gc_node;
		u32 fired;
	};
	u64 key;
	u64 cookie;
	struct rp_session *s;
	union {
		struct list_head link;
		struct rcu_head rcu;
	};
};

static struct rhashtable rp_watches;
static spinlock_t rp_watch_locks[1 << RP_WATCH_LOCK_BITS];

static const struct rhashtable_params rp_watch_params = {
	.key_len = sizeof(u64),
	.key_offset = offsetof(struct rp_watch, key),
	.head_offset = offsetof(struct rp_watch, node),
	.automatic_shrinking = true,
};

/* Subscriptions to the collector; nests inside rp_gc.mutex. */
static LIST_HEAD(rp_gc_subs);
static DEFINE_MUTEX(rp_gc_subs_lock);

static struct kmem_cache *rp_watch_cache;
static u64 rp_watch_cost;

int rp_events_init(void)
{
	unsigned int i;
	int ret;

	/* The memory goal: one watch in one cache line. */
	BUILD_BUG_ON(IS_ENABLED(CONFIG_64BIT) && sizeof(struct rp_watch) > 64);
	for (i = 0; i < ARRAY_SIZE(rp_watch_locks); i++)
		spin_lock_init(&rp_watch_locks[i]);
	rp_watch_cache = KMEM_CACHE(rp_watch, SLAB_ACCOUNT);
	if (!rp_watch_cache)
		return -ENOMEM;
	rp_watch_cost = kmem_cache_size(rp_watch_cache) + RP_BUCKET_SHARE;
	ret = rhashtable_init(&rp_watches, &rp_watch_params);
	if (ret)
		kmem_cache_destroy(rp_watch_cache);
	return ret;
}

/* No session is left, so no watch either. */
void rp_events_exit(void)
{
	WARN_ON(atomic_read(&rp_watches.nelems));
	rhashtable_destroy(&rp_watches);
	/* Watches freed after a grace period (rp_watch_free()) first. */
	rcu_barrier();
	kmem_cache_destroy(rp_watch_cache);
}

static spinlock_t *rp_watch_lock(u64 id)
{
	return &rp_watch_locks[hash_64(id, RP_WATCH_LOCK_BITS)];
}

static struct rp_watch *rp_watch_alloc(struct rp_session *s, u64 key,
				       u64 cookie)
{
	struct rp_watch *w = kmem_cache_alloc(rp_watch_cache,
					      GFP_KERNEL_ACCOUNT);

	if (!w)
		return NULL;
	w->key = key;
	w->cookie = cookie;
	w->s = s;
	INIT_LIST_HEAD(&w->ring);
	return w;
}

/*
 * Not kfree_rcu(): its batches are not waited for by rcu_barrier(), and
 * the cache must be empty when the module goes.
 */
static void rp_watch_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(rp_watch_cache, container_of(rcu, struct rp_watch, rcu));
}

/* @w is on no list any more; called under its session's lock or in a call. */
static void rp_watch_free(struct rp_session *s, struct rp_watch *w)
{
	rp_user_uncharge(s->user, rp_watch_cost);
	call_rcu(&w->rcu, rp_watch_free_rcu);
}

/*
 * Most events have nobody polling for them at that moment: skip the
 * wait queue's lock then. The barrier in wq_has_sleeper() pairs with the
 * one after poll_wait() in rp_events_poll().
 */
static void rp_events_wake(struct rp_session_events *ev)
{
	if (wq_has_sleeper(&ev->wait))
		wake_up_interruptible_poll(&ev->wait, EPOLLIN | EPOLLRDNORM);
}

/*
 * Queue @w as an event of its session, or drop it there when the queue is
 * full or overflowing. @armed: it was on the session's @watches. @event 0
 * drops it as it is: a SEALED watch of an object that died unsealed.
 * Everything that touches the session happens under its lock (see the
 * top of the file).
 */
static void rp_watch_fire(struct rp_watch *w, u32 event, bool armed)
{
	struct rp_session *s = w->s;
	struct rp_session_events *ev = &s->ev;

	spin_lock(&ev->lock);
	if (armed) {
		list_del(&w->link);
		WRITE_ONCE(ev->nwatches, ev->nwatches - 1);
	}
	if (!event) {
		rp_watch_free(s, w);
	} else if (ev->overflow ||
		   ev->nqueued >= READ_ONCE(max_session_events)) {
		rp_watch_free(s, w);
		if (!ev->overflow) {
			WRITE_ONCE(ev->overflow, true);
			rp_events_wake(ev);
		}
	} else {
		w->fired = event;
		list_add_tail(&w->link, &ev->queue);
		WRITE_ONCE(ev->nqueued, ev->nqueued + 1);
		rp_events_wake(ev);
	}
	spin_unlock(&ev->lock);
}

/* An event was lost before it was made: as a full queue drops it. */
static void rp_events_lost(struct rp_session *s)
{
	struct rp_session_events *ev = &s->ev;

	spin_lock(&ev->lock);
	if (!ev->overflow) {
		WRITE_ONCE(ev->overflow, true);
		rp_events_wake(ev);
	}
	spin_unlock(&ev->lock);
}

/*
 * Add @w to the table under its key's lock: as the primary if it is the
 * first of its key, else on the primary's ring.
 */
static int rp_watch_insert(struct rp_watch *w)
{
	struct rp_watch *p;

	p = rhashtable_lookup_fast(&rp_watches, &w->key, rp_watch_params);
	if (p) {
		list_add_tail(&w->ring, &p->ring);
		return 0;
	}
	/* -ENOMEM, or -E2BIG / -EBUSY when the table cannot grow. */
	return rhashtable_insert_fast(&rp_watches, &w->node, rp_watch_params) ?
	       -ENOMEM : 0;
}

/* Take an armed @w out of the table, under its key's lock. */
static void rp_watch_detach(struct rp_watch *w)
{
	struct rp_watch *p, *next;

	p = rhashtable_lookup_fast(&rp_watches, &w->key, rp_watch_params);
	if (p == w && list_empty(&w->ring)) {
		WARN_ON(rhashtable_remove_fast(&rp_watches, &w->node,
					       rp_watch_params));
	} else if (p == w) {
		/* The next oldest takes its place. */
		next = list_first_entry(&w->ring, struct rp_watch, ring);
		WARN_ON(rhashtable_replace_fast(&rp_watches, &w->node,
						&next->node, rp_watch_params));
	}
	list_del(&w->ring);
}

/*
 * Take every watch of @key out of the table and fire @event (0: drop
 * them), oldest first. Under the key's lock.
 */
static void rp_watch_fire_key(u64 key, u32 event)
{
	struct rp_watch *p, *w, *tmp;
	LIST_HEAD(others);

	p = rhashtable_lookup_fast(&rp_watches, &key, rp_watch_params);
	if (!p)
		return;
	WARN_ON(rhashtable_remove_fast(&rp_watches, &p->node, rp_watch_params));
	/* The ring gets a head in place of the primary. */
	list_add(&others, &p->ring);
	list_del(&p->ring);
	rp_watch_fire(p, event, true);
	list_for_each_entry_safe(w, tmp, &others, ring) {
		list_del(&w->ring);
		rp_watch_fire(w, event, true);
	}
}

/**
 * rp_events_freed - a watched object died: fire its watches
 * @id: its id
 * @watched: its RP_STATE_WATCHED and RP_STATE_SEAL_WATCHED bits: which
 *           keys to look up
 *
 * Called by its death, before the call that freed it returns; its SEALED
 * watches go unfired.
 */
void rp_events_freed(u64 id, u32 watched)
{
	spinlock_t *lock = rp_watch_lock(id);

	spin_lock(lock);
	if (watched & RP_STATE_WATCHED)
		rp_watch_fire_key(id, REFPOOL_EV_FREED);
	if (watched & RP_STATE_SEAL_WATCHED)
		rp_watch_fire_key(id | RP_WATCH_SEALED_KEY, 0);
	spin_unlock(lock);
}

/**
 * rp_events_sealed - an object with RP_STATE_SEAL_WATCHED was sealed
 * @id: its id
 *
 * Called once the seal is final: no write is still under way.
 */
void rp_events_sealed(u64 id)
{
	spinlock_t *lock = rp_watch_lock(id);

	spin_lock(lock);
	rp_watch_fire_key(id | RP_WATCH_SEALED_KEY, REFPOOL_EV_SEALED);
	spin_unlock(lock);
}

/* What adding a watch does with it, given the object's state. */
enum rp_watch_fate {
	RP_WATCH_ARM,		/* into the table: it waits */
	RP_WATCH_NOW,		/* it happened: queued at once */
	RP_WATCH_NEVER,		/* SEALED of an object that died unsealed */
};

static enum rp_watch_fate rp_watch_fate(const struct rp_watch *w, bool dead,
					bool sealed)
{
	if (w->key & RP_WATCH_SEALED_KEY)
		return sealed ? RP_WATCH_NOW : dead ? RP_WATCH_NEVER :
						      RP_WATCH_ARM;
	return dead ? RP_WATCH_NOW : RP_WATCH_ARM;
}

/**
 * rp_events_watch - watch an object for a session
 * @s: the watching session, which pays
 * @obj: the object, which the caller uses (dead or alive)
 * @events: REFPOOL_EV_FREED and/or REFPOOL_EV_SEALED, checked
 * @cookie: the watcher's, returned in each event
 *
 * An event that has happened already - the object is sealed, or died
 * while the caller used it - is queued at once; a SEALED watch of an
 * object that died unsealed has nothing left to wait for.
 *
 * Return: 0, -EDQUOT or -ENOMEM; on error nothing has changed.
 */
int rp_events_watch(struct rp_session *s, struct rp_object *obj, u32 events,
		    u64 cookie)
{
	u64 cost = hweight32(events) * rp_watch_cost;
	spinlock_t *lock = rp_watch_lock(obj->id);
	enum rp_watch_fate fate[2];
	struct rp_watch *w[2];
	unsigned int n = 0, i;
	bool dead, sealed;
	int ret;

	ret = rp_user_charge(s->user, cost);
	if (ret)
		return ret;
	/* SEALED first: when both fire at once, that is their order. */
	if (events & REFPOOL_EV_SEALED)
		w[n++] = rp_watch_alloc(s, obj->id | RP_WATCH_SEALED_KEY, cookie);
	if (events & REFPOOL_EV_FREED)
		w[n++] = rp_watch_alloc(s, obj->id, cookie);
	ret = -ENOMEM;
	for (i = 0; i < n; i++)
		if (!w[i])
			goto err_free;

	spin_lock(lock);
	spin_lock(&obj->lock);
	dead = obj->state & RP_STATE_DEAD;
	sealed = obj->flags & REFPOOL_OBJ_SEALED;
	if (!dead && (events & REFPOOL_EV_FREED))
		obj->state |= RP_STATE_WATCHED;
	if (!dead && !sealed && (events & REFPOOL_EV_SEALED))
		obj->state |= RP_STATE_SEAL_WATCHED;
	spin_unlock(&obj->lock);
	for (i = 0; i < n; i++) {
		fate[i] = rp_watch_fate(w[i], dead, sealed);
		if (fate[i] != RP_WATCH_ARM)
			continue;
		ret = rp_watch_insert(w[i]);
		if (ret)
			goto err_detach;
	}
	/* All in: now the session's, and firing may take them. */
	spin_lock(&s->ev.lock);
	for (i = 0; i < n; i++) {
		if (fate[i] != RP_WATCH_ARM)
			continue;
		list_add_tail(&w[i]->link, &s->ev.watches);
		WRITE_ONCE(s->ev.nwatches, s->ev.nwatches + 1);
	}
	spin_unlock(&s->ev.lock);
	spin_unlock(lock);

	/* A seal is final once the writes that passed its check are done. */
	if (sealed)
		wait_var_event(&obj->writers, !READ_ONCE(obj->writers));
	for (i = 0; i < n; i++) {
		if (fate[i] == RP_WATCH_ARM)
			continue;
		rp_watch_fire(w[i], fate[i] == RP_WATCH_NEVER ? 0 :
				    w[i]->key & RP_WATCH_SEALED_KEY ?
				    REFPOOL_EV_SEALED : REFPOOL_EV_FREED,
			      false);
	}
	return 0;

err_detach:
	while (i--)
		if (fate[i] == RP_WATCH_ARM)
			rp_watch_detach(w[i]);
	spin_unlock(lock);
err_free:
	/* Lookups may still be walking those that were in the table. */
	for (i = 0; i < n; i++)
		if (w[i])
			call_rcu(&w[i]->rcu, rp_watch_free_rcu);
	rp_user_uncharge(s->user, cost);
	return ret;
}

/**
 * rp_events_watch_gc - subscribe a session to the collector
 * @s: the session, which pays
 * @cookie: returned in each of its events
 *
 * Return: 0, -EDQUOT or -ENOMEM.
 */
int rp_events_watch_gc(struct rp_session *s, u64 cookie)
{
	struct rp_watch *w;
	int ret;

	ret = rp_user_charge(s->user, rp_watch_cost);
	if (ret)
		return ret;
	w = rp_watch_alloc(s, 0, cookie);
	if (!w) {
		rp_user_uncharge(s->user, rp_watch_cost);
		return -ENOMEM;
	}
	mutex_lock(&rp_gc_subs_lock);
	list_add_tail(&w->gc_node, &rp_gc_subs);
	spin_lock(&s->ev.lock);
	list_add_tail(&w->link, &s->ev.gc_subs);
	WRITE_ONCE(s->ev.nwatches, s->ev.nwatches + 1);
	spin_unlock(&s->ev.lock);
	mutex_unlock(&rp_gc_subs_lock);
	return 0;
}

/**
 * rp_events_gc - a collection finished: tell its subscribers
 * @collected: how many objects it freed
 *
 * Each subscription's event is made (and charged) now; one that cannot
 * be is lost as a full queue loses it, with an OVERFLOW.
 */
void rp_events_gc(u64 collected)
{
	struct rp_watch *sub, *w;
	struct rp_session *s;

	mutex_lock(&rp_gc_subs_lock);
	list_for_each_entry(sub, &rp_gc_subs, gc_node) {
		s = sub->s;
		w = NULL;
		if (!READ_ONCE(s->ev.overflow) &&
		    !rp_user_charge(s->user, rp_watch_cost)) {
			w = rp_watch_alloc(s, collected, sub->cookie);
			if (!w)
				rp_user_uncharge(s->user, rp_watch_cost);
		}
		if (w)
			rp_watch_fire(w, REFPOOL_EV_GC, false);
		else
			rp_events_lost(s);
	}
	mutex_unlock(&rp_gc_subs_lock);
}

/* Fill the uapi's event from a queued watch. */
static void rp_event_fill(struct refpool_event *e, const struct rp_watch *w)
{
	e->cookie = w->cookie;
	e->id = w->fired == REFPOOL_EV_GC ? w->key :
					   w->key & ~RP_WATCH_SEALED_KEY;
	e->events = w->fired;
	e->reserved = 0;
}

/* One event to the caller's array, whose entries are @esize bytes. */
static int rp_event_copy_out(u64 uptr, u32 esize, const struct refpool_event *e)
{
	void __user *dst = u64_to_user_ptr(uptr);

	if (copy_to_user(dst, e, sizeof(*e)))
		return -EFAULT;
	if (esize > sizeof(*e) && clear_user(dst + sizeof(*e), esize - sizeof(*e)))
		return -EFAULT;
	return 0;
}

/**
 * rp_events_read - take queued events, oldest first, never waiting
 * @s: the session
 * @uptr: user pointer to @max entries of @esize bytes
 * @max: 1 .. REFPOOL_READ_EVENTS_MAX, checked
 * @esize: the caller's struct refpool_event size, checked
 *
 * An event is taken only once it is written: one that cannot be stays
 * queued, and so does every event after it. Readers of one session take
 * turns, so what one copied out is what it takes.
 *
 * Return: how many were taken; -EFAULT if the first could not be written;
 * -EINTR when killed while another reader held the queue.
 */
long rp_events_read(struct rp_session *s, u64 uptr, u32 max, u32 esize)
{
	struct rp_session_events *ev = &s->ev;
	struct refpool_event kev[RP_READ_BATCH];
	struct rp_watch *taken[RP_READ_BATCH];
	u32 n = 0, k, want, written, i;
	struct rp_watch *w;
	long ret = 0;

	if (mutex_lock_killable(&ev->read_lock))
		return -EINTR;
	while (n < max) {
		want = min_t(u32, max - n, RP_READ_BATCH);
		k = 0;
		spin_lock(&ev->lock);
		list_for_each_entry(w, &ev->queue, link) {
			if (k == want)
				break;
			rp_event_fill(&kev[k], w);
			taken[k++] = w;
		}
		/* The queue ends here: an overflow is its last event. */
		if (k < want && ev->overflow) {
			kev[k] = (struct refpool_event) {
				.events = REFPOOL_EV_OVERFLOW,
			};
			taken[k++] = NULL;
		}
		spin_unlock(&ev->lock);
		if (!k)
			break;

		for (written = 0; written < k; written++)
			if (rp_event_copy_out(uptr + (u64)(n + written) * esize,
					      esize, &kev[written]))
				break;

		/* Only readers take from the queue: these are still first. */
		spin_lock(&ev->lock);
		for (i = 0; i < written; i++) {
			if (!taken[i]) {
				WRITE_ONCE(ev->overflow, false);
				continue;
			}
			list_del(&taken[i]->link);
			WRITE_ONCE(ev->nqueued, ev->nqueued - 1);
			rp_watch_free(s, taken[i]);
		}
		spin_unlock(&ev->lock);
		n += written;
		if (written < k) {
			if (!n)
				ret = -EFAULT;
			break;
		}
	}
	mutex_unlock(&ev->read_lock);
	return ret ? ret : n;
}

/**
 * rp_events_poll - the session fd's poll(): readable while events wait
 * @s: the session
 * @file: its file
 * @wait: the poll table (poll, select, epoll, io_uring)
 *
 * Return: EPOLLIN | EPOLLRDNORM while an event (overflow included) is
 * queued, else 0.
 */
__poll_t rp_events_poll(struct rp_session *s, struct file *file,
			poll_table *wait)
{
	poll_wait(file, &s->ev.wait, wait);
	/* Queued, then read the count; pairs with rp_events_wake(). */
	smp_mb();
	return READ_ONCE(s->ev.nqueued) || READ_ONCE(s->ev.overflow) ?
	       EPOLLIN | EPOLLRDNORM : 0;
}

/**
 * rp_session_events_init - a new session has no watch and no event
 * @s: the session
 */
void rp_session_events_init(struct rp_session *s)
{
	struct rp_session_events *ev = &s->ev;

	spin_lock_init(&ev->lock);
	INIT_LIST_HEAD(&ev->watches);
	INIT_LIST_HEAD(&ev->gc_subs);
	INIT_LIST_HEAD(&ev->queue);
	init_waitqueue_head(&ev->wait);
	mutex_init(&ev->read_lock);
}

/**
 * rp_session_events_release - drop a closing session's watches and events
 * @s: the session; no call of it runs any more
 *
 * Its armed watches may be firing meanwhile: each is taken under its
 * key's lock, or was fired (or dropped) and is found on the queue. Once
 * the lists are empty under the session's lock, nothing touches the
 * session again; every charge is returned before this returns.
 */
void rp_session_events_release(struct rp_session *s)
{
	struct rp_session_events *ev = &s->ev;
	struct rp_watch *w, *tmp;
	spinlock_t *lock;	/* of the key of the watch at hand */
	bool mine;

	mutex_lock(&rp_gc_subs_lock);
	spin_lock(&ev->lock);
	list_for_each_entry_safe(w, tmp, &ev->gc_subs, link) {
		list_del(&w->gc_node);
		list_del(&w->link);
		WRITE_ONCE(ev->nwatches, ev->nwatches - 1);
		rp_watch_free(s, w);
	}
	spin_unlock(&ev->lock);
	mutex_unlock(&rp_gc_subs_lock);

	for (;;) {
		/* A watch fired meanwhile may be freed: RCU keeps its key. */
		rcu_read_lock();
		spin_lock(&ev->lock);
		w = list_first_entry_or_null(&ev->watches, struct rp_watch,
					     link);
		spin_unlock(&ev->lock);
		if (!w) {
			rcu_read_unlock();
			break;
		}
		lock = rp_watch_lock(w->key & ~RP_WATCH_SEALED_KEY);
		spin_lock(lock);
		spin_lock(&ev->lock);
		/* Still armed: no firing took it while the lock was free. */
		mine = list_first_entry_or_null(&ev->watches, struct rp_watch,
						link) == w;
		if (mine) {
			rp_watch_detach(w);
			list_del(&w->link);
			WRITE_ONCE(ev->nwatches, ev->nwatches - 1);
			rp_watch_free(s, w);
		}
		spin_unlock(&ev->lock);
		spin_unlock(lock);
		rcu_read_unlock();
		cond_resched();
	}

	spin_lock(&ev->lock);
	list_for_each_entry_safe(w, tmp, &ev->queue, link) {
		list_del(&w->link);
		rp_watch_free(s, w);
	}
	WRITE_ONCE(ev->nqueued, 0);
	WRITE_ONCE(ev->overflow, false);
	spin_unlock(&ev->lock);
}
