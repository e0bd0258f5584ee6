// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the handle table of a session.
 *
 * Handles are indices of an allocating xarray, from 1 (0 is never valid),
 * each entry owning one strong reference to an object. A handle is made in
 * two steps, as DRM and fd tables do: reserve the number, tell the caller,
 * then publish the object; so a call that fails after reserving (say, on
 * copying the number out) leaves no handle behind and nothing to unwind.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/sched.h>
#include <linux/xarray.h>

#include "refpool.h"

void rp_handles_init(struct rp_session *s)
{
	xa_init_flags(&s->handles, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	atomic64_set(&s->nhandles, 0);
}

/* The session is gone: no call can race with this. */
void rp_handles_release(struct rp_session *s)
{
	struct rp_object *obj;
	unsigned long index;

	xa_for_each(&s->handles, index, obj) {
		xa_erase(&s->handles, index);
		rp_object_put(obj);
		cond_resched();
	}
	xa_destroy(&s->handles);
	atomic64_set(&s->nhandles, 0);
}

/**
 * rp_handle_use - look up a handle for the length of a call
 * @s: the session
 * @handle: the handle
 *
 * Runs under RCU only. The object may die while the call uses it (a racing
 * put of its last handle): the call then acts on it as if it had come just
 * before that put. Release with rp_object_unuse().
 *
 * Return: the object, or NULL for a bad handle.
 */
struct rp_object *rp_handle_use(struct rp_session *s, u32 handle)
{
	struct rp_object *obj;

	rcu_read_lock();
	obj = xa_load(&s->handles, handle);
	if (obj && !refcount_inc_not_zero(&obj->active))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}

/**
 * rp_handle_get - look up a handle and take a reference to its object
 * @s: the session
 * @handle: the handle
 *
 * Runs under RCU only: the entry's reference may be dropped by a racing
 * put, in which case the object is already dying and the handle is gone.
 *
 * Return: the object with a new reference, or NULL for a bad handle.
 */
struct rp_object *rp_handle_get(struct rp_session *s, u32 handle)
{
	struct rp_object *obj;

	rcu_read_lock();
	obj = xa_load(&s->handles, handle);
	if (obj && !rp_object_get_unless_dead(obj))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}

/**
 * rp_handle_remove - take a handle out of the table
 * @s: the session
 * @handle: the handle
 *
 * A handle still reserved by a call under way is not removed.
 *
 * Return: the object, with the reference the handle owned; NULL if none.
 */
struct rp_object *rp_handle_remove(struct rp_session *s, u32 handle)
{
	struct rp_object *obj;

	xa_lock(&s->handles);
	obj = xa_load(&s->handles, handle);
	if (obj)
		__xa_erase(&s->handles, handle);
	xa_unlock(&s->handles);
	if (obj)
		atomic64_dec(&s->nhandles);
	return obj;
}

/**
 * rp_handle_reserve - reserve a handle number
 * @s: the session
 * @handle: out: the number
 *
 * Return: 0, -ENOMEM, or -ENOSPC when the 32-bit space is full.
 */
int rp_handle_reserve(struct rp_session *s, u32 *handle)
{
	int ret = xa_alloc(&s->handles, handle, NULL, xa_limit_32b, GFP_KERNEL);

	return ret == -EBUSY ? -ENOSPC : ret;
}

/**
 * rp_handle_publish - make a reserved handle own a reference to an object
 * @s: the session
 * @handle: a number from rp_handle_reserve()
 * @obj: the object; the caller's reference passes to the handle
 */
void rp_handle_publish(struct rp_session *s, u32 handle, struct rp_object *obj)
{
	/* The slot exists already: storing into it allocates nothing. */
	WARN_ON(xa_is_err(xa_store(&s->handles, handle, obj, GFP_KERNEL)));
	atomic64_inc(&s->nhandles);
}

/**
 * rp_handle_cancel - give back a reserved, unpublished handle number
 * @s: the session
 * @handle: a number from rp_handle_reserve()
 */
void rp_handle_cancel(struct rp_session *s, u32 handle)
{
	xa_release(&s->handles, handle);
}
