// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: interning - equal values share one object.
 *
 * rp_intern(bytes) returns the one live interned object with exactly those
 * bytes, creating it if there is none, as Python shares the object of 4 in
 * `a = 4; b = 4`. Interned objects are sealed, so sharing them is safe.
 *
 * Interning is per user: the processes of one user share interned values,
 * and another user interning the same bytes gets an object of its own. A
 * table shared by all users would tell anyone whether a value exists
 * anywhere (the "it existed" answer), which is an oracle for another
 * user's secrets ("PIN=4721" found in a few thousand tries).
 *
 * The table maps a keyed hash of the user and the bytes (siphash, its key
 * drawn at load, so no user can aim many values at one bucket) to the
 * objects with that hash; the user and the bytes are compared before one
 * is shared. An object leaves the table when it dies.
 *
 * A hit - the common case, the point of interning - takes no lock: the
 * table is read under RCU, the object found is first pinned with a strong
 * reference (refcount_inc_not_zero, so a dying one is passed over) and only
 * then compared, so its bytes cannot go while they are read; they cannot
 * change either, as interned objects are sealed. Objects come from a
 * SLAB_TYPESAFE_BY_RCU cache, so the one pinned may have been freed and
 * reused since the entry was read: it counts only if the entry still names
 * it once the reference is held (an entry lets go of its object before the
 * object can be freed). Entries are freed after a grace period for the
 * same readers.
 *
 * Everything else - a miss, an insert, a removal - is under one mutex:
 * "many processes interning the same bytes at once get one object" stays
 * plain, as the slow path looks again before it inserts.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/refpool.h>
#include "refpool.h"
#include "trace.h"

/* Values up to this size bounce through the stack. */
#define RP_INTERN_STACK	256

/**
 * struct rp_intern_entry - one interned object in the table
 * @node: in the table, keyed by @hash
 * @hash: the keyed hash of the object's user and bytes
 * @obj: the object
 * @user: its user, which the object holds
 * @rcu: frees it once lock-free lookups are done with it
 */
struct rp_intern_entry {
	struct rhlist_head node;
	u64 hash;
	struct rp_object *obj;
	struct rp_user *user;
	struct rcu_head rcu;
};

static struct rhltable rp_interned;
static siphash_key_t rp_intern_key;
static DEFINE_MUTEX(rp_intern_lock);

static const struct rhashtable_params rp_intern_params = {
	.key_len = sizeof(u64),
	.key_offset = offsetof(struct rp_intern_entry, hash),
	.head_offset = offsetof(struct rp_intern_entry, node),
	.automatic_shrinking = true,
};

int rp_intern_init(void)
{
	/* object.c charges an interned object for its entry. */
	BUILD_BUG_ON(sizeof(struct rp_intern_entry) > 64);
	get_random_bytes(&rp_intern_key, sizeof(rp_intern_key));
	return rhltable_init(&rp_interned, &rp_intern_params);
}

void rp_intern_exit(void)
{
	rhltable_destroy(&rp_interned);
}

/* Where a user's hashes start: its uid, then the value's length. */
static u64 rp_intern_seed(struct rp_user *user, u64 len)
{
	return siphash_2u64(__kuid_val(user->uid), len, &rp_intern_key);
}

/*
 * A value of up to RP_INLINE_MAX bytes (most interned values: numbers,
 * short strings) hashes in one call, with the user and the length: the
 * chain below makes three. Values of one length all hash one way.
 */
static u64 rp_intern_hash_small(struct rp_user *user, const void *buf, u64 len)
{
	u64 w[2] = {};

	BUILD_BUG_ON(sizeof(w) < RP_INLINE_MAX);
	if (len)
		memcpy(w, buf, len);
	return siphash_4u64(__kuid_val(user->uid), len, w[0], w[1],
			    &rp_intern_key);
}

/*
 * The hash of a user's value: the seed, then each run of bytes up to a
 * page boundary of the value, chained. Runs are cut the same way wherever
 * the bytes live, so a value in pages and the same value in a buffer hash
 * alike.
 */
static u64 rp_intern_hash(struct rp_user *user, const void *buf, u64 len)
{
	u64 off, n, hash;

	if (len <= RP_INLINE_MAX)
		return rp_intern_hash_small(user, buf, len);
	hash = rp_intern_seed(user, len);

	for (off = 0; off < len; off += n) {
		n = min_t(u64, PAGE_SIZE - offset_in_page(off), len - off);
		hash = siphash_2u64(hash, siphash(buf + off, n, &rp_intern_key),
				    &rp_intern_key);
	}
	return hash;
}

/* The same hash, of an object's payload wherever it lives. */
static u64 rp_intern_hash_object(struct rp_object *obj)
{
	u64 off, n, hash;

	/* The first chunk runs to a page boundary: all of a small value. */
	if (obj->size <= RP_INLINE_MAX)
		return rp_intern_hash_small(obj->user, obj->size ?
					    rp_payload_chunk(obj, 0, &n) : NULL,
					    obj->size);
	hash = rp_intern_seed(obj->user, obj->size);

	for (off = 0; off < obj->size; off += n) {
		const void *chunk = rp_payload_chunk(obj, off, &n);

		n = min_t(u64, n, PAGE_SIZE - offset_in_page(off));
		hash = siphash_2u64(hash, siphash(chunk, n, &rp_intern_key),
				    &rp_intern_key);
	}
	return hash;
}

static bool rp_intern_equal(struct rp_object *obj, const void *buf, u64 len)
{
	u64 off, n;

	if (obj->size != len)
		return false;
	for (off = 0; off < len; off += n) {
		const void *chunk = rp_payload_chunk(obj, off, &n);

		if (memcmp(chunk, buf + off, n))
			return false;
	}
	return true;
}

/*
 * The lock-free hit: the first object in the table with this hash, if it
 * is alive and has these bytes, with a new reference; else NULL, and the
 * caller takes the slow path (a second object with the same 64-bit keyed
 * hash is for the slow path to find).
 *
 * The object read from the entry may have died, been freed and been reused
 * for another object since (SLAB_TYPESAFE_BY_RCU), so a reference taken on
 * it proves nothing until the entry is read again: rp_intern_drop() clears
 * @entry->obj before the object can be freed, so if the entry still names
 * it after the reference was taken, it is the interned object, and alive.
 * No collector write barrier (rp_gc_touch()) is needed: interned objects
 * have no slots, and a reference taken and dropped on a reused object with
 * slots can only make a collection under way keep it, never free it.
 */
static struct rp_object *rp_intern_find_fast(struct rp_user *user, u64 hash,
					     const void *buf, u64 len)
{
	struct rp_intern_entry *entry;
	struct rhlist_head *list;
	struct rp_object *obj = NULL;
	bool stale = false;

	rcu_read_lock();
	list = rhltable_lookup(&rp_interned, &hash, rp_intern_params);
	if (list) {
		entry = container_of(list, struct rp_intern_entry, node);
		obj = entry->user == user ? READ_ONCE(entry->obj) : NULL;
		if (obj && !refcount_inc_not_zero(&obj->refs)) {
			obj = NULL;
		} else if (obj) {
			/* pairs with the barrier in rp_intern_drop() */
			smp_mb__after_atomic();
			stale = READ_ONCE(entry->obj) != obj;
		}
	}
	rcu_read_unlock();
	if (!obj)
		return NULL;
	/* pinned: its sealed bytes stay while they are compared */
	if (!stale && rp_intern_equal(obj, buf, len))
		return obj;
	rp_object_put(obj);
	return NULL;
}

/* The live interned object with these bytes, with a new reference. */
static struct rp_object *rp_intern_find(struct rp_user *user, u64 hash,
					const void *buf, u64 len)
{
	struct rp_intern_entry *entry;
	struct rhlist_head *list, *pos;

	struct rp_object *obj = NULL;

	lockdep_assert_held(&rp_intern_lock);
	rcu_read_lock();
	list = rhltable_lookup(&rp_interned, &hash, rp_intern_params);
	rhl_for_each_entry_rcu(entry, pos, list, node) {
		/* A dying object waits for our lock to leave the table. */
		if (entry->user == user &&
		    rp_intern_equal(entry->obj, buf, len) &&
		    rp_object_get_unless_dead(entry->obj)) {
			obj = entry->obj;
			break;
		}
	}
	rcu_read_unlock();
	return obj;
}

static struct rp_object *rp_intern_insert(struct rp_user *user, u64 hash,
					  const void *buf, u64 len)
{
	struct rp_intern_entry *entry;
	struct rp_object *obj;
	int ret;

	obj = rp_object_create(user, len, 0,
			       REFPOOL_OBJ_SEALED | REFPOOL_OBJ_INTERNED,
			       NULL, buf);
	if (IS_ERR(obj))
		return obj;
	ret = -ENOMEM;
	entry = kzalloc(sizeof(*entry), GFP_KERNEL_ACCOUNT);
	if (!entry)
		goto err_put;
	entry->hash = hash;
	entry->obj = obj;
	entry->user = user;
	ret = rhltable_insert(&rp_interned, &entry->node, rp_intern_params);
	if (ret)
		goto err_free;
	spin_lock(&obj->lock);
	obj->state |= RP_STATE_IN_TABLE;
	spin_unlock(&obj->lock);
	atomic64_inc(&rp_counters.interned);
	return obj;

err_free:
	kfree(entry);
err_put:
	/* Not in the table: its death does not take the lock we hold. */
	rp_object_put(obj);
	return ERR_PTR(ret);
}

/**
 * rp_intern - the one interned object of a user with these bytes
 * @user: whose table, and who pays if it has to be created
 * @data: user pointer to the bytes
 * @len: how many
 * @existed: out: true if it was there already
 *
 * Return: the object with a new reference, or an ERR_PTR: -EFBIG, -EFAULT,
 * -ENOSPC, -EDQUOT, -ENOMEM.
 */
struct rp_object *rp_intern(struct rp_user *user, const void __user *data,
			    u64 len, bool *existed)
{
	u8 stack_buf[RP_INTERN_STACK];
	void *buf = stack_buf;
	struct rp_object *obj;
	u64 hash;

	if (len > rp_limit_object_size())
		return ERR_PTR(-EFBIG);
	if (len > sizeof(stack_buf)) {
		buf = kvmalloc(len, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!buf)
			return ERR_PTR(-ENOMEM);
	}
	obj = ERR_PTR(-EFAULT);
	if (copy_from_user(buf, data, len))
		goto out;
	hash = rp_intern_hash(user, buf, len);

	obj = rp_intern_find_fast(user, hash, buf, len);
	*existed = obj;
	if (!obj) {
		mutex_lock(&rp_intern_lock);
		obj = rp_intern_find(user, hash, buf, len);
		*existed = obj;
		if (!obj)
			obj = rp_intern_insert(user, hash, buf, len);
		mutex_unlock(&rp_intern_lock);
	}
	if (!IS_ERR(obj))
		trace_refpool_intern(obj, *existed);
out:
	if (buf != stack_buf)
		kvfree(buf);
	return obj;
}

/**
 * rp_intern_count_hit - count a hit, once the caller has its handle
 * @len: the value's size
 */
void rp_intern_count_hit(u64 len)
{
	atomic64_inc(&rp_counters.intern_hits);
	atomic64_add(len, &rp_counters.intern_bytes_saved);
}

/**
 * rp_intern_drop - take a dying interned object out of the table
 * @obj: the object
 */
void rp_intern_drop(struct rp_object *obj)
{
	struct rp_intern_entry *entry, *found = NULL;
	struct rhlist_head *list, *pos;
	u64 hash;

	if (!(READ_ONCE(obj->state) & RP_STATE_IN_TABLE))
		return;
	/*
	 * The object keeps no pointer to its entry (that would cost every
	 * object 8 bytes): hash its bytes again to find it.
	 */
	hash = rp_intern_hash_object(obj);
	mutex_lock(&rp_intern_lock);
	rcu_read_lock();
	list = rhltable_lookup(&rp_interned, &hash, rp_intern_params);
	rhl_for_each_entry_rcu(entry, pos, list, node) {
		if (entry->obj == obj) {
			found = entry;
			break;
		}
	}
	rcu_read_unlock();
	if (!WARN_ON_ONCE(!found)) {
		rhltable_remove(&rp_interned, &found->node, rp_intern_params);
		/* a lock-free lookup that pinned @obj meanwhile lets go */
		WRITE_ONCE(found->obj, NULL);
		/*
		 * Before the object can be freed and reused, which follows
		 * this death: pairs with rp_intern_find_fast()'s barrier.
		 */
		smp_mb();
	}
	mutex_unlock(&rp_intern_lock);
	atomic64_dec(&rp_counters.interned);
	/* lock-free lookups may still be reading it */
	if (found)
		kfree_rcu(found, rcu);
}
