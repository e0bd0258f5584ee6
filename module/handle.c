// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the handle table of a session.
 *
 * Handles are indices of an allocating xarray, from 1 (0 is never valid),
 * each entry owning one strong reference to an object. A call that makes a
 * handle and then fails to tell the caller its number (a fault copying it
 * out) takes it back, so a refused call leaves no handle behind.
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
again:
	obj = xa_load(&s->handles, handle);
	if (obj && !refcount_inc_not_zero(&obj->active))
		goto again;
	/* The memory may hold another object by now: see struct rp_object. */
	if (obj && unlikely(xa_load(&s->handles, handle) != obj)) {
		rcu_read_unlock();
		rp_object_unuse(obj);
		rcu_read_lock();
		goto again;
	}
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
again:
	obj = xa_load(&s->handles, handle);
	if (obj && !rp_object_get_unless_dead(obj))
		goto again;
	/* The memory may hold another object by now: see struct rp_object. */
	if (obj && unlikely(xa_load(&s->handles, handle) != obj)) {
		rcu_read_unlock();
		rp_object_put(obj);
		rcu_read_lock();
		goto again;
	}
	rcu_read_unlock();
	return obj;
}

/**
 * rp_handle_remove - take a handle out of the table
 * @s: the session
 * @handle: the handle
 *
 * Return: the object, with the reference the handle owned; NULL if none.
 */
struct rp_object *rp_handle_remove(struct rp_session *s, u32 handle)
{
	struct rp_object *obj;

	/*
	 * Never erase index 0: in an XA_FLAGS_ALLOC1 array that marks 0 free,
	 * and the next xa_alloc() could then hand out handle 0.
	 */
	if (!handle)
		return NULL;
	obj = xa_erase(&s->handles, handle);
	if (obj)
		atomic64_dec(&s->nhandles);
	return obj;
}

/**
 * rp_handle_add - give an object a new handle
 * @s: the session
 * @obj: the object; the caller's reference passes to the handle
 * @handle: out: the handle
 *
 * Return: 0, -ENOMEM, or -ENOSPC when the 32-bit space is full; on error
 * the reference is still the caller's.
 */
int rp_handle_add(struct rp_session *s, struct rp_object *obj, u32 *handle)
{
	/* never 0, even if index 0 were ever marked free (see above) */
	int ret = xa_alloc(&s->handles, handle, obj, XA_LIMIT(1, U32_MAX),
			   GFP_KERNEL);

	if (ret)
		return ret == -EBUSY ? -ENOSPC : ret;
	atomic64_inc(&s->nhandles);
	return 0;
}

/**
 * rp_handle_cancel - take back a handle the caller could not be told about
 * @s: the session
 * @handle: a handle from rp_handle_add()
 * @obj: its object
 *
 * Another thread of the session may have used the handle meanwhile (it
 * could guess the number): whatever it did stays done, and if it put the
 * handle there is nothing left to take back.
 */
void rp_handle_cancel(struct rp_session *s, u32 handle, struct rp_object *obj)
{
	if (xa_cmpxchg(&s->handles, handle, obj, NULL, 0) != obj)
		return;
	atomic64_dec(&s->nhandles);
	rp_object_put(obj);
}
