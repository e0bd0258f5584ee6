// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: objects, their payload, and what they cost the pool and the user.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>

#include <linux/refpool.h>
#include "refpool.h"
#include "trace.h"

static struct kmem_cache *rp_object_cache;

/*
 * Every live object by id. Lookups by id are for debugfs only: calls reach
 * objects through handles, files, tokens and links.
 */
DEFINE_XARRAY(rp_objects);

/* Writes up to this size bounce through the stack, larger ones the heap. */
#define RP_WRITE_STACK_BOUNCE	256

int rp_objects_init(void)
{
	/* The memory goal; lock debugging makes spinlock_t larger. */
	BUILD_BUG_ON(!IS_ENABLED(CONFIG_DEBUG_SPINLOCK) &&
		     !IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) &&
		     RP_OBJECT_SLAB_SIZE > 104);
	/*
	 * SLAB_ACCOUNT: every object is charged to its creator's memcg.
	 * Only the inline payload is ever copied to or from user memory:
	 * hardened usercopy refuses the rest of the struct.
	 */
	rp_object_cache =
		kmem_cache_create_usercopy("refpool_object",
					   RP_OBJECT_SLAB_SIZE, 0,
					   SLAB_ACCOUNT | SLAB_TYPESAFE_BY_RCU,
					   offsetof(struct rp_object, inline_data),
					   RP_INLINE_MAX, NULL);
	return rp_object_cache ? 0 : -ENOMEM;
}

void rp_objects_exit(void)
{
	/* kmem_cache_destroy() waits for RCU itself (SLAB_TYPESAFE_BY_RCU). */
	kmem_cache_destroy(rp_object_cache);
}

/*
 * Reserve room for one object of @size bytes under the pool's limits, then
 * under the user's, in the order the contract gives its errors. One lock
 * checks and moves the counters together, so a refused call never shows in
 * them, not even for a moment.
 */
static int rp_charge(struct rp_user *user, u64 size)
{
	int ret = 0;

	spin_lock(&rp_pool.charge_lock);
	if (atomic64_read(&rp_pool.objects) + 1 > rp_limit_objects() ||
	    atomic64_read(&rp_pool.bytes) + size > rp_limit_bytes())
		ret = -ENOSPC;
	else if (atomic64_read(&user->bytes) + size > rp_limit_user_bytes())
		ret = -EDQUOT;
	if (!ret) {
		atomic64_inc(&rp_pool.objects);
		atomic64_add(size, &rp_pool.bytes);
		atomic64_add(size, &user->bytes);
	}
	spin_unlock(&rp_pool.charge_lock);
	return ret;
}

static void rp_uncharge(struct rp_user *user, u64 size)
{
	spin_lock(&rp_pool.charge_lock);
	atomic64_sub(size, &user->bytes);
	atomic64_sub(size, &rp_pool.bytes);
	atomic64_dec(&rp_pool.objects);
	spin_unlock(&rp_pool.charge_lock);
}

/* No reference and no call is left: return the memory. */
static void rp_object_release(struct rp_object *obj)
{
	struct rp_container *links = obj->links;

	rp_payload_free(obj);
	if (links) {
		/* Lookups under RCU may still touch it: see struct rp_object. */
		WRITE_ONCE(obj->links, NULL);
		kvfree_rcu(links, rcu);
	}
	rp_user_put(obj->user);
	kmem_cache_free(rp_object_cache, obj);
}

/**
 * rp_object_use - take a reference for a call, unless the memory is going
 * @obj: an object found under RCU
 *
 * Return: false when the object is being released.
 */
bool rp_object_use(struct rp_object *obj)
{
	return refcount_inc_not_zero(&obj->active);
}

/**
 * rp_object_unuse - a call is done with an object it used
 * @obj: the object
 */
void rp_object_unuse(struct rp_object *obj)
{
	if (refcount_dec_and_test(&obj->active))
		rp_object_release(obj);
}

/*
 * The last reference is gone: leave the pool's counters and tables now.
 * Return true if the object has links left to drop, in which case the
 * caller drops them and then the call reference.
 */
static bool rp_object_die(struct rp_object *obj)
{
	trace_refpool_free(obj);
	spin_lock(&obj->lock);
	obj->flags |= RP_OBJ_DEAD;
	spin_unlock(&obj->lock);
	xa_erase(&rp_objects, obj->id);
	rp_tokens_drop(obj);
	if (obj->flags & REFPOOL_OBJ_INTERNED)
		rp_intern_drop(obj);
	if (obj->links)
		rp_gc_untrack(obj);
	rp_uncharge(obj->user, obj->size);
	if (obj->links)
		return true;
	rp_object_unuse(obj);
	return false;
}

/*
 * Drop the links of dead objects, and of the objects that die of it, with
 * a list rather than recursion: a chain of a million objects must not
 * overflow the kernel stack. Each dead container on @dying still holds its
 * call reference, so its memory stays while its slots are emptied.
 */
static unsigned long rp_object_drop_links(struct list_head *dying,
					  bool by_collector)
{
	unsigned long deaths = 0;
	bool collected = false;
	struct rp_container *c;
	u32 i;

	while ((c = list_first_entry_or_null(dying, struct rp_container,
					     gc_node))) {
		list_del_init(&c->gc_node);
		for (i = 0; i < c->obj->nslots; i++) {
			struct rp_object *child;
			bool dead;

			/* The collector may be emptying the same slots. */
			spin_lock(&c->obj->lock);
			child = c->slots[i];
			c->slots[i] = NULL;
			spin_unlock(&c->obj->lock);
			if (!child)
				continue;
			/*
			 * A collection under way found what this death makes
			 * garbage and frees some of it: it will be gone before
			 * we return, as counters must be (see below).
			 */
			if (child->links &&
			    test_bit(RP_GC_DOOMED, &child->links->gc_flags))
				collected = true;
			rcu_read_lock();
			rp_gc_touch(child);
			dead = refcount_dec_and_test(&child->refs);
			rcu_read_unlock();
			if (dead) {
				deaths++;
				if (rp_object_die(child))
					list_add(&child->links->gc_node, dying);
			}
		}
		rp_object_unuse(c->obj);
		cond_resched();
	}
	if (collected && !by_collector)
		rp_gc_wait_idle();
	return deaths;
}

static unsigned long __rp_object_put(struct rp_object *obj, bool by_collector)
{
	LIST_HEAD(dying);
	bool dead;

	rcu_read_lock();
	rp_gc_touch(obj);
	dead = refcount_dec_and_test(&obj->refs);
	rcu_read_unlock();
	if (!dead)
		return 0;
	if (!rp_object_die(obj))
		return 1;
	list_add(&obj->links->gc_node, &dying);
	return 1 + rp_object_drop_links(&dying, by_collector);
}

/**
 * rp_object_put_count - drop a strong reference, for the collector
 * @obj: the object
 *
 * As rp_object_put(), but never waits for a collection: it is the one.
 *
 * Return: the number of objects that died.
 */
unsigned long rp_object_put_count(struct rp_object *obj)
{
	return __rp_object_put(obj, true);
}

/**
 * rp_object_put - drop a strong reference; the object dies with the last
 * @obj: the object
 *
 * The object dies with its last reference, its links are dropped, and so
 * on down what only it held; the pool's counters drop before this returns.
 */
void rp_object_put(struct rp_object *obj)
{
	__rp_object_put(obj, false);
}

/**
 * rp_object_get - take one more strong reference to an object
 * @obj: an object the caller holds a strong reference to
 */
void rp_object_get(struct rp_object *obj)
{
	rcu_read_lock();
	rp_gc_touch(obj);
	refcount_inc(&obj->refs);
	rcu_read_unlock();
}

/**
 * rp_object_get_unless_dead - take a strong reference, unless it is gone
 * @obj: an object the caller uses, or found under RCU
 *
 * Return: false when the object has died.
 */
bool rp_object_get_unless_dead(struct rp_object *obj)
{
	bool ok;

	rcu_read_lock();
	rp_gc_touch(obj);
	ok = refcount_inc_not_zero(&obj->refs);
	rcu_read_unlock();
	return ok;
}

/**
 * rp_object_create - make an object with one reference
 * @user: who pays for it
 * @size: payload bytes
 * @nslots: reference slots
 * @flags: REFPOOL_CREATE_* flags, and REFPOOL_OBJ_INTERNED from intern.c
 * @uinit: user pointer to @size bytes of contents, or NULL
 * @kinit: kernel pointer to @size bytes of contents, or NULL; if neither
 *         is given, the payload is zeroes
 *
 * Return: the object, or an ERR_PTR: -EINVAL, -EFBIG, -ENOSPC, -EDQUOT,
 * -ENOMEM, -EFAULT. On error nothing has changed.
 */
struct rp_object *rp_object_create(struct rp_user *user, u64 size, u32 nslots,
				   u32 flags, const void __user *uinit,
				   const void *kinit)
{
	struct rp_object *obj;
	int ret;

	if (flags & ~(REFPOOL_CREATE_VALID_FLAGS | REFPOOL_OBJ_INTERNED))
		return ERR_PTR(-EINVAL);
	if (size > rp_limit_object_size() || nslots > rp_limit_slots())
		return ERR_PTR(-EFBIG);

	ret = rp_charge(user, size);
	if (ret)
		return ERR_PTR(ret);

	ret = -ENOMEM;
	obj = kmem_cache_alloc(rp_object_cache, GFP_KERNEL);
	if (!obj)
		goto err_uncharge;
	obj->size = size;
	obj->nslots = nslots;
	/* A stale lookup may read it: never let it see a freed container. */
	WRITE_ONCE(obj->links, NULL);
	obj->tokens = NULL;
	if (nslots) {
		struct rp_container *links;

		links = kvzalloc(struct_size(links, slots, nslots),
				 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!links)
			goto err_free_obj;
		INIT_LIST_HEAD(&links->gc_node);
		links->obj = obj;
		WRITE_ONCE(obj->links, links);
	}
	ret = rp_payload_alloc(obj, uinit, kinit);
	if (ret)
		goto err_free_payload;

	refcount_set(&obj->refs, 1);
	refcount_set(&obj->active, 1);
	spin_lock_init(&obj->lock);
	obj->writers = 0;
	obj->wmaps = 0;
	obj->promoting = false;
	obj->flags = flags & (REFPOOL_OBJ_SEALED | REFPOOL_OBJ_INTERNED);
	refcount_inc(&user->refs);
	obj->user = user;
	obj->id = atomic64_inc_return(&rp_pool.next_id);
	ret = xa_err(xa_store(&rp_objects, obj->id, obj, GFP_KERNEL_ACCOUNT));
	if (ret)
		goto err_user;
	if (obj->links)
		rp_gc_track(obj);
	trace_refpool_create(obj);
	return obj;

err_user:
	rp_user_put(user);
err_free_payload:
	rp_payload_free(obj);
	if (obj->links) {
		kvfree_rcu(obj->links, rcu);
		WRITE_ONCE(obj->links, NULL);
	}
err_free_obj:
	kmem_cache_free(rp_object_cache, obj);
err_uncharge:
	rp_uncharge(user, size);
	return ERR_PTR(ret);
}

/**
 * rp_object_flags - the REFPOOL_OBJ_* flags of an object
 * @obj: the object
 *
 * Return: the flags.
 */
u32 rp_object_flags(struct rp_object *obj)
{
	return READ_ONCE(obj->flags) & ~RP_OBJ_INTERNAL;
}

static bool rp_object_sealed(struct rp_object *obj)
{
	return READ_ONCE(obj->flags) & REFPOOL_OBJ_SEALED;
}

/**
 * rp_object_read - copy part of the payload to user memory
 * @obj: the object
 * @off: where to start
 * @buf: user buffer
 * @len: most bytes to copy
 *
 * Reads run beside writes, as loads from shared memory do: a read that
 * overlaps a concurrent write may see part of it.
 *
 * Return: bytes copied, 0 at or past the end; -EFAULT.
 */
ssize_t rp_object_read(struct rp_object *obj, u64 off, void __user *buf,
		       u64 len)
{
	int ret;

	if (off >= obj->size)
		return 0;
	len = min(len, obj->size - off);
	ret = rp_payload_read(obj, off, buf, len);
	return ret ? ret : len;
}

/*
 * Register a writer: refused once sealed, and held off while the payload
 * moves into pages (which must not lose the write).
 */
static int rp_object_begin_write(struct rp_object *obj)
{
	spin_lock(&obj->lock);
	while (obj->promoting) {
		spin_unlock(&obj->lock);
		wait_var_event(&obj->writers, !READ_ONCE(obj->promoting));
		spin_lock(&obj->lock);
	}
	if (obj->flags & REFPOOL_OBJ_SEALED) {
		spin_unlock(&obj->lock);
		return -EPERM;
	}
	obj->writers++;
	spin_unlock(&obj->lock);
	return 0;
}

static void rp_object_end_write(struct rp_object *obj)
{
	spin_lock(&obj->lock);
	if (!--obj->writers)
		wake_up_var(&obj->writers);
	spin_unlock(&obj->lock);
}

/**
 * rp_object_write - copy user memory into part of the payload
 * @obj: the object
 * @off: where to start
 * @buf: user buffer
 * @len: bytes to copy, all of which must fit
 *
 * The bytes are first copied into a kernel buffer, so that a fault in the
 * caller's buffer leaves the payload as it was.
 *
 * Return: @len; -ERANGE, -EPERM, -ENOMEM, -EFAULT.
 */
ssize_t rp_object_write(struct rp_object *obj, u64 off,
			const void __user *buf, u64 len)
{
	u8 stack_bounce[RP_WRITE_STACK_BOUNCE];
	void *bounce = stack_bounce;
	ssize_t ret;

	if (off > obj->size || len > obj->size - off)
		return -ERANGE;
	if (rp_object_sealed(obj))
		return -EPERM;
	if (!len)
		return 0;

	if (len > sizeof(stack_bounce)) {
		bounce = kvmalloc(len, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!bounce)
			return -ENOMEM;
	}
	ret = -EFAULT;
	if (copy_from_user(bounce, buf, len))
		goto out;

	ret = rp_object_begin_write(obj);
	if (ret)
		goto out;
	rp_payload_write(obj, off, bounce, len);
	rp_object_end_write(obj);
	ret = len;
out:
	if (bounce != stack_bounce)
		kvfree(bounce);
	return ret;
}

/**
 * rp_object_seal - make an object immutable
 * @obj: the object
 *
 * Returns once every write that passed the seal check has finished, so
 * that no write lands after a seal the caller has seen complete.
 *
 * Return: 0 (also when already sealed), or -EBUSY while a writable
 * mapping exists (memfd's rule for F_SEAL_WRITE).
 */
int rp_object_seal(struct rp_object *obj)
{
	spin_lock(&obj->lock);
	if (obj->wmaps) {
		spin_unlock(&obj->lock);
		return -EBUSY;
	}
	WRITE_ONCE(obj->flags, obj->flags | REFPOOL_OBJ_SEALED);
	spin_unlock(&obj->lock);
	wait_var_event(&obj->writers, !READ_ONCE(obj->writers));
	return 0;
}

/* Move the payload into pages, holding writers off while it moves. */
static int rp_object_promote(struct rp_object *obj)
{
	int ret;

	/* Pairs with the release in rp_payload_promote(). */
	if (smp_load_acquire(&obj->pages))
		return 0;
	spin_lock(&obj->lock);
	while (obj->promoting || obj->writers) {
		spin_unlock(&obj->lock);
		wait_var_event(&obj->writers, !READ_ONCE(obj->promoting) &&
			       !READ_ONCE(obj->writers));
		spin_lock(&obj->lock);
	}
	obj->promoting = true;
	spin_unlock(&obj->lock);

	ret = rp_payload_promote(obj);

	spin_lock(&obj->lock);
	obj->promoting = false;
	wake_up_var(&obj->writers);
	spin_unlock(&obj->lock);
	return ret;
}

/**
 * rp_object_map - get an object ready for a new mapping
 * @obj: the object
 * @writable: the mapping may write
 *
 * Return: 0; -EPERM for a writable mapping of a sealed object; -ENOMEM.
 */
int rp_object_map(struct rp_object *obj, bool writable)
{
	int ret;

	if (writable) {
		spin_lock(&obj->lock);
		if (obj->flags & REFPOOL_OBJ_SEALED) {
			spin_unlock(&obj->lock);
			return -EPERM;
		}
		obj->wmaps++;
		spin_unlock(&obj->lock);
	}
	ret = rp_object_promote(obj);
	if (ret && writable)
		rp_object_unmap(obj, true);
	return ret;
}

/**
 * rp_object_unmap - a mapping of the object is gone
 * @obj: the object
 * @writable: it was writable
 */
void rp_object_unmap(struct rp_object *obj, bool writable)
{
	if (!writable)
		return;
	spin_lock(&obj->lock);
	obj->wmaps--;
	spin_unlock(&obj->lock);
}
