// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: links, the strong references objects hold to each other.
 *
 * A link lives in one of the parent's slots and owns one reference to the
 * child. Slots change under the parent's lock; the references they drop
 * are put outside it. Every change is announced to the collector first
 * (rp_gc_touch()), and counts towards the next automatic collection.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/rcupdate.h>
#include <linux/spinlock.h>

#include <linux/refpool.h>
#include "refpool.h"

/**
 * rp_link_set - point a slot at a child, or empty it
 * @parent: the parent, in use by the caller
 * @slot: the slot
 * @child: the child, whose strong reference passes to the slot; or NULL
 *
 * Return: 0; -ERANGE slot past the last; -EPERM sealed parent; -EBADF the
 * parent died meanwhile. On error the child's reference is dropped.
 */
int rp_link_set(struct rp_object *parent, u32 slot, struct rp_object *child)
{
	struct rp_object *old;
	int ret = 0;

	if (slot >= parent->nslots) {
		ret = -ERANGE;
		goto out;
	}

	spin_lock(&parent->lock);
	if (parent->flags & REFPOOL_OBJ_SEALED)
		ret = -EPERM;
	else if (parent->state & RP_STATE_DEAD)
		ret = -EBADF;
	if (!ret) {
		rcu_read_lock();
		rp_gc_touch(parent);
		old = parent->container->slots[slot];
		parent->container->slots[slot] = child;
		rcu_read_unlock();
		child = old;
	}
	spin_unlock(&parent->lock);
	if (!ret)
		rp_gc_link_op();
out:
	/* The replaced link, or the child refused. */
	if (child)
		rp_object_put(child);
	return ret;
}

/**
 * rp_link_get - the child in a slot, with a new strong reference
 * @parent: the parent, with a strong reference the caller holds (so that
 *          it stays reachable, and the child through it, while this runs)
 * @slot: the slot
 *
 * A child the collector has judged garbage while the parent was not (the
 * parent was reached through a token meanwhile) is being kept again at
 * this moment: wait for that, rather than take a reference the
 * collection would not see (see gc.c).
 *
 * Return: the child, or an ERR_PTR: -ERANGE slot past the last, -ENOENT
 * empty slot, -EINTR killed while waiting.
 */
struct rp_object *rp_link_get(struct rp_object *parent, u32 slot)
{
	struct rp_container *doomed;
	struct rp_object *child;
	int ret;

	if (slot >= parent->nslots)
		return ERR_PTR(-ERANGE);
	rp_hook(RP_HOOK_GET_LINK);
	for (;;) {
		spin_lock(&parent->lock);
		child = parent->container->slots[slot];
		doomed = NULL;
		if (child) {
			/*
			 * Touch, then look: the collector dooms, then looks
			 * for touches, so one of us sees the other.
			 */
			rcu_read_lock();
			rp_gc_touch(child);
			if (child->container &&
			    test_bit(RP_GC_DOOMED, &child->container->gc_flags)) {
				doomed = child->container;
				/* The slot's reference keeps it alive. */
				rp_object_use(child);
			} else {
				refcount_inc(&child->refs);
			}
			rcu_read_unlock();
		}
		spin_unlock(&parent->lock);
		if (!doomed)
			return child ? child : ERR_PTR(-ENOENT);
		ret = rp_gc_wait_doomed(doomed);
		rp_object_unuse(child);
		if (ret)
			return ERR_PTR(ret);
	}
}
