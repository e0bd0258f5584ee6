// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: objects - lifetime, cost, writes, seals and mapping state.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>

#include <linux/refpool.h>
#include "refpool.h"
#include "trace.h"

static struct kmem_cache *rp_object_cache;

/* Writes up to this size bounce through the stack, larger ones the heap. */
#define RP_WRITE_STACK_BOUNCE	256

/* What the intern table spends on an interned object: intern.c's entry. */
#define RP_INTERN_ENTRY_COST	(64 + RP_BUCKET_SHARE)

int rp_objects_init(void)
{
	/*
	 * The memory goal: with SLUB's free pointer after it, 128 bytes, 32
	 * to a page. Lock debugging makes spinlock_t larger.
	 */
	BUILD_BUG_ON(!IS_ENABLED(CONFIG_DEBUG_SPINLOCK) &&
		     !IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) &&
		     RP_OBJECT_SLAB_SIZE > 120);
	/* A slab payload's buffer pointer lives in the inline bytes. */
	BUILD_BUG_ON(sizeof(void *) > RP_INLINE_MAX);

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

/* kvzalloc()'s size for @n bytes: a slab size, or whole pages. */
static u64 rp_kv_cost(u64 n)
{
	return n <= KMALLOC_MAX_CACHE_SIZE ? kmalloc_size_roundup(n) :
					     PAGE_ALIGN(n);
}

/**
 * rp_object_cost - the kernel bytes an object costs its owner
 * @size: payload bytes
 * @nslots: reference slots
 * @flags: REFPOOL_OBJ_INTERNED adds the intern table's entry
 *
 * The slab object, the payload as it is allocated (not as asked for) and
 * the slot container. Pages a mapping adds are its mapper's
 * (rp_payload_pages_cost()).
 *
 * Return: bytes.
 */
u64 rp_object_cost(u64 size, u32 nslots, u32 flags)
{
	u64 cost = kmem_cache_size(rp_object_cache) + rp_payload_cost(size);

	if (nslots)
		cost += rp_kv_cost(struct_size((struct rp_container *)NULL,
					       slots, nslots));
	if (flags & REFPOOL_OBJ_INTERNED)
		cost += RP_INTERN_ENTRY_COST;
	return cost;
}

/*
 * Reserve room for one object under the pool's limits, then under its
 * user's, in the order the contract gives its errors (-ENOSPC before
 * -EDQUOT). The pool's counters move under one lock with the checks, the
 * user's bytes with a cmpxchg, so a refused call never shows in them.
 */
static int rp_charge(struct rp_user *user, u64 size, u64 cost)
{
	int ret = 0;

	spin_lock(&rp_counters.charge_lock);
	if (atomic64_read(&rp_counters.objects) + 1 > rp_limit_objects() ||
	    atomic64_read(&rp_counters.bytes) + size > rp_limit_bytes())
		ret = -ENOSPC;
	else if (atomic64_read(&user->objects) + 1 > rp_limit_user_objects())
		ret = -EDQUOT;
	else
		ret = rp_user_charge(user, cost);
	if (!ret) {
		atomic64_inc(&rp_counters.objects);
		atomic64_add(size, &rp_counters.bytes);
		atomic64_inc(&user->objects);
	}
	spin_unlock(&rp_counters.charge_lock);
	return ret;
}

static void rp_uncharge(struct rp_user *user, u64 size, u64 cost)
{
	spin_lock(&rp_counters.charge_lock);
	atomic64_dec(&user->objects);
	atomic64_sub(size, &rp_counters.bytes);
	atomic64_dec(&rp_counters.objects);
	spin_unlock(&rp_counters.charge_lock);
	rp_user_uncharge(user, cost);
}

/* No reference and no call is left: return the memory. */
static void rp_object_release(struct rp_object *obj)
{
	struct rp_container *c = obj->container;

	if (obj->pages_user) {
		rp_user_uncharge(obj->pages_user,
				 rp_payload_pages_cost(obj->size));
		rp_user_put(obj->pages_user);
	}
	rp_payload_free(obj);
	if (c) {
		/* Lookups under RCU may still touch it: see struct rp_object. */
		WRITE_ONCE(obj->container, NULL);
		kvfree_rcu(c, rcu);
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

/**
 * rp_object_is - whether a referenced object is the one with this id
 * @obj: an object found under RCU, on which a reference was just taken
 * @id: the id it was found by
 *
 * Pairs with the release that publishes a new object's count in
 * rp_object_create(): a reference taken on a reused slab object sees the
 * new object's id.
 *
 * Return: true if it is that object.
 */
bool rp_object_is(struct rp_object *obj, u64 id)
{
	smp_acquire__after_ctrl_dep();
	return READ_ONCE(obj->id) == id;
}

/*
 * The last reference is gone: leave the pool's counters and tables now.
 * Return true if the object has links left to drop, in which case the
 * caller drops them and then the call reference.
 */
static bool rp_object_die(struct rp_object *obj)
{
	u32 watched;

	trace_refpool_free(obj);
	spin_lock(&obj->lock);
	obj->state |= RP_STATE_DEAD;
	watched = obj->state & (RP_STATE_WATCHED | RP_STATE_SEAL_WATCHED);
	spin_unlock(&obj->lock);
	spin_lock(&obj->user->object_list_lock);
	list_del(&obj->user_node);
	spin_unlock(&obj->user->object_list_lock);
	rp_tokens_drop(obj);
	if (obj->flags & REFPOOL_OBJ_INTERNED)
		rp_intern_drop(obj);
	if (obj->container)
		rp_gc_untrack(obj);
	rp_uncharge(obj->user, obj->size,
		    rp_object_cost(obj->size, obj->nslots, obj->flags));
	/* Whatever killed it: a watcher hears of it as the counters show it. */
	if (watched)
		rp_events_freed(obj->id, watched);
	if (obj->container)
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
			if (child->container &&
			    test_bit(RP_GC_DOOMED, &child->container->gc_flags))
				collected = true;
			rcu_read_lock();
			rp_gc_touch(child);
			dead = refcount_dec_and_test(&child->refs);
			rcu_read_unlock();
			if (dead) {
				deaths++;
				if (rp_object_die(child))
					list_add(&child->container->gc_node, dying);
			} else if (child->container && !by_collector) {
				rp_gc_maybe_garbage();
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
	if (!dead) {
		/* A container that lost a reference may be garbage now. */
		if (obj->container && !by_collector)
			rp_gc_maybe_garbage();
		return 0;
	}
	if (!rp_object_die(obj))
		return 1;
	list_add(&obj->container->gc_node, &dying);
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

/* What a new object's fields are, before anything can see it. */
static int rp_object_init(struct rp_object *obj, struct rp_user *user,
			  u64 size, u32 nslots, u32 flags)
{
	struct rp_container *c;

	obj->size = size;
	obj->nslots = nslots;
	obj->tokens = NULL;
	obj->pages = NULL;
	obj->pages_user = NULL;
	spin_lock_init(&obj->lock);
	obj->writers = 0;
	obj->wmaps = 0;
	obj->state = 0;
	obj->flags = flags;
	obj->user = user;
	/* A stale lookup may read it: never let it see a freed container. */
	WRITE_ONCE(obj->container, NULL);
	if (!nslots)
		return 0;
	c = kvzalloc(struct_size(c, slots, nslots),
		     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!c)
		return -ENOMEM;
	INIT_LIST_HEAD(&c->gc_node);
	c->obj = obj;
	WRITE_ONCE(obj->container, c);
	return 0;
}

/**
 * rp_object_create - make an object with one reference
 * @user: who owns it and pays for it
 * @size: payload bytes
 * @nslots: reference slots
 * @flags: REFPOOL_OBJ_* state flags to start with (SEALED, and INTERNED
 *         from intern.c); the caller has checked them
 * @uinit: user pointer to @size bytes of contents, or NULL
 * @kinit: kernel pointer to @size bytes of contents, or NULL; if neither
 *         is given, the payload is zeroes
 *
 * Nothing can reach the object before its count is published, last: every
 * failure before that frees it directly.
 *
 * Return: the object, or an ERR_PTR: -EFBIG, -ENOSPC, -EDQUOT, -ENOMEM,
 * -EFAULT. On error nothing has changed.
 */
struct rp_object *rp_object_create(struct rp_user *user, u64 size, u32 nslots,
				   u32 flags, const void __user *uinit,
				   const void *kinit)
{
	u64 cost = rp_object_cost(size, nslots, flags);
	struct rp_object *obj;
	int ret;

	if (size > rp_limit_object_size() || nslots > rp_limit_slots())
		return ERR_PTR(-EFBIG);
	ret = rp_charge(user, size, cost);
	if (ret)
		return ERR_PTR(ret);

	ret = -ENOMEM;
	obj = kmem_cache_alloc(rp_object_cache, GFP_KERNEL);
	if (!obj)
		goto err_uncharge;
	ret = rp_object_init(obj, user, size, nslots, flags);
	if (ret)
		goto err_free_obj;
	ret = rp_payload_alloc(obj, uinit, kinit);
	if (ret)
		goto err_free_payload;
	obj->id = atomic64_inc_return(&rp_counters.next_id);
	/*
	 * A stale lookup that takes @active from now on (a token's doomed
	 * object) sees the id and the fields set before it: pairs with
	 * rp_object_is().
	 */
	smp_wmb();
	refcount_set(&obj->active, 1);
	rp_user_hold(user);
	if (obj->container)
		rp_gc_track(obj);
	/*
	 * Publish: a stale token lookup that gets a reference from now on
	 * sees every field above (rp_object_is()).
	 */
	smp_wmb();
	refcount_set(&obj->refs, 1);
	/* For debugfs's walk, the only reader of the list. */
	spin_lock(&user->object_list_lock);
	list_add_tail(&obj->user_node, &user->object_list);
	spin_unlock(&user->object_list_lock);
	trace_refpool_create(obj);
	return obj;

err_free_payload:
	rp_payload_free(obj);
	if (obj->container) {
		kvfree_rcu(obj->container, rcu);
		WRITE_ONCE(obj->container, NULL);
	}
err_free_obj:
	kmem_cache_free(rp_object_cache, obj);
err_uncharge:
	rp_uncharge(user, size, cost);
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
	return READ_ONCE(obj->flags);
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
	while (obj->state & RP_STATE_PROMOTING) {
		spin_unlock(&obj->lock);
		wait_var_event(&obj->writers,
			       !(READ_ONCE(obj->state) & RP_STATE_PROMOTING));
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
 * Once this returns 0 the bytes never change again by any path. So, as
 * memfd's F_SEAL_WRITE does, it is refused while anything could still
 * write: a writable mapping or dma-buf user (@wmaps), or a page with
 * references beyond its mappings and the object's own - pages pinned for
 * I/O (O_DIRECT, vmsplice, io_uring, RDMA), which may be written through
 * at any time without a mapping. A pin cannot be told from one that only
 * reads, so any pin refuses. New pins need a writable mapping, which the
 * seal, set under the same lock, keeps from being made. It returns once
 * every write() that passed the seal check has finished.
 *
 * Return: 0 (also when already sealed), or -EBUSY.
 */
int rp_object_seal(struct rp_object *obj)
{
	bool watched;

	rp_hook(RP_HOOK_SEAL);
	spin_lock(&obj->lock);
	if (obj->flags & REFPOOL_OBJ_SEALED) {
		spin_unlock(&obj->lock);
		return 0;
	}
	if (obj->wmaps ||
	    ((obj->state & RP_STATE_MAPPED) && rp_payload_pinned(obj))) {
		spin_unlock(&obj->lock);
		return -EBUSY;
	}
	WRITE_ONCE(obj->flags, obj->flags | REFPOOL_OBJ_SEALED);
	watched = obj->state & RP_STATE_SEAL_WATCHED;
	spin_unlock(&obj->lock);
	wait_var_event(&obj->writers, !READ_ONCE(obj->writers));
	if (watched)
		rp_events_sealed(obj->id);
	return 0;
}

/**
 * rp_object_promote - move the payload into pages, for a mapping
 * @obj: the object
 * @user: the mapper, who pays for the pages: they exist for its mapping
 *
 * Writers are held off while the payload moves. Nothing to do (and
 * nothing charged) when the object has pages already.
 *
 * Return: 0, -EDQUOT or -ENOMEM.
 */
int rp_object_promote(struct rp_object *obj, struct rp_user *user)
{
	u64 cost = rp_payload_pages_cost(obj->size);
	int ret;

	/* Pairs with the release in rp_payload_promote(). */
	if (smp_load_acquire(&obj->pages))
		return 0;
	ret = rp_user_charge(user, cost);
	if (ret)
		return ret;
	spin_lock(&obj->lock);
	while ((obj->state & RP_STATE_PROMOTING) || obj->writers) {
		spin_unlock(&obj->lock);
		wait_var_event(&obj->writers,
			       !(READ_ONCE(obj->state) & RP_STATE_PROMOTING) &&
			       !READ_ONCE(obj->writers));
		spin_lock(&obj->lock);
	}
	if (obj->pages) {
		/* Another mapper was first. */
		spin_unlock(&obj->lock);
		rp_user_uncharge(user, cost);
		return 0;
	}
	obj->state |= RP_STATE_PROMOTING;
	spin_unlock(&obj->lock);

	ret = rp_payload_promote(obj);

	spin_lock(&obj->lock);
	obj->state &= ~RP_STATE_PROMOTING;
	if (!ret) {
		rp_user_hold(user);
		obj->pages_user = user;
	}
	wake_up_var(&obj->writers);
	spin_unlock(&obj->lock);
	if (ret)
		rp_user_uncharge(user, cost);
	return ret;
}

/**
 * rp_object_map - get an object ready for a new mapping
 * @obj: the object
 * @user: the mapper, who pays for the pages if the mapping makes them
 * @writable: the mapping may write
 *
 * Return: 0; -EPERM for a writable mapping of a sealed object; -EDQUOT;
 * -ENOMEM.
 */
int rp_object_map(struct rp_object *obj, struct rp_user *user, bool writable)
{
	int ret;

	spin_lock(&obj->lock);
	if (writable && (obj->flags & REFPOOL_OBJ_SEALED)) {
		spin_unlock(&obj->lock);
		return -EPERM;
	}
	if (writable)
		obj->wmaps++;
	spin_unlock(&obj->lock);
	ret = rp_object_promote(obj, user);
	if (ret) {
		rp_object_unmap(obj, writable);
		return ret;
	}
	spin_lock(&obj->lock);
	obj->state |= RP_STATE_MAPPED;
	spin_unlock(&obj->lock);
	return 0;
}

/**
 * rp_object_map_more - one more user of a mapping made by rp_object_map()
 * @obj: the object
 * @writable: it may write
 *
 * A VMA copied by fork() or split in two: the object is mapped already,
 * and a writable one was counted when first made, so sealing has been
 * refused since.
 */
void rp_object_map_more(struct rp_object *obj, bool writable)
{
	if (!writable)
		return;
	spin_lock(&obj->lock);
	obj->wmaps++;
	spin_unlock(&obj->lock);
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
	WARN_ON_ONCE(!obj->wmaps);
	obj->wmaps--;
	spin_unlock(&obj->lock);
}
