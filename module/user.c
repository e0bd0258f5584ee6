// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: users, and what they are charged.
 *
 * One struct rp_user per kuid that holds anything in the pool, found in an
 * rhashtable under RCU. What the user holds (sessions, objects, tokens,
 * pins, watches) holds a reference; the entry leaves the table with its
 * last one. Every entry is also on a list, which only debugfs's walk of
 * the objects reads (rp_user_next()), and each holds its user's objects.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/rhashtable.h>
#include <linux/slab.h>

#include "refpool.h"

static struct rhashtable rp_users;
static LIST_HEAD(rp_users_list);
static DEFINE_SPINLOCK(rp_users_list_lock);

static const struct rhashtable_params rp_user_params = {
	.key_len = sizeof(kuid_t),
	.key_offset = offsetof(struct rp_user, uid),
	.head_offset = offsetof(struct rp_user, node),
	.automatic_shrinking = true,
};

int rp_users_init(void)
{
	return rhashtable_init(&rp_users, &rp_user_params);
}

void rp_users_exit(void)
{
	rhashtable_destroy(&rp_users);
}

/**
 * rp_user_get - find or make the entry of a user, with a reference
 * @uid: the user
 *
 * Return: the entry, or NULL when memory ran out.
 */
struct rp_user *rp_user_get(kuid_t uid)
{
	struct rp_user *user, *old;

	rcu_read_lock();
	user = rhashtable_lookup(&rp_users, &uid, rp_user_params);
	if (user && refcount_inc_not_zero(&user->refs)) {
		rcu_read_unlock();
		return user;
	}
	rcu_read_unlock();

	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user)
		return NULL;
	user->uid = uid;
	refcount_set(&user->refs, 1);
	spin_lock_init(&user->object_list_lock);
	INIT_LIST_HEAD(&user->object_list);

	/*
	 * Another session of the same uid may have inserted its entry since,
	 * or a dying entry may still be in the table: take a live one, or
	 * wait for the dying one to leave and insert ours.
	 */
	for (;;) {
		rcu_read_lock();
		old = rhashtable_lookup_get_insert_fast(&rp_users, &user->node,
							rp_user_params);
		if (!old) {
			rcu_read_unlock();
			spin_lock(&rp_users_list_lock);
			list_add_tail(&user->list, &rp_users_list);
			spin_unlock(&rp_users_list_lock);
			return user;
		}
		if (IS_ERR(old)) {
			rcu_read_unlock();
			kfree(user);
			return NULL;
		}
		if (refcount_inc_not_zero(&old->refs)) {
			rcu_read_unlock();
			kfree(user);
			return old;
		}
		rcu_read_unlock();
		cond_resched();
	}
}

/**
 * rp_user_hold - take one more reference to a user's entry
 * @user: an entry the caller holds a reference to
 */
void rp_user_hold(struct rp_user *user)
{
	refcount_inc(&user->refs);
}

/**
 * rp_user_put - drop a reference to a user's entry
 * @user: the entry
 */
void rp_user_put(struct rp_user *user)
{
	if (!refcount_dec_and_test(&user->refs))
		return;
	WARN_ON(atomic64_read(&user->bytes) || atomic64_read(&user->objects) ||
		atomic64_read(&user->pins) || !list_empty(&user->object_list));
	rhashtable_remove_fast(&rp_users, &user->node, rp_user_params);
	spin_lock(&rp_users_list_lock);
	list_del(&user->list);
	spin_unlock(&rp_users_list_lock);
	kfree_rcu(user, rcu);
}

/**
 * rp_user_next - the user after another on the list of users
 * @user: an entry the caller holds a reference to, or NULL for the first
 *
 * For debugfs's walk: the caller still holds, and drops, @user's
 * reference. Entries whose last reference is gone are skipped.
 *
 * Return: the next live entry with a reference, or NULL after the last.
 */
struct rp_user *rp_user_next(struct rp_user *user)
{
	struct rp_user *next = list_prepare_entry(user, &rp_users_list, list);

	spin_lock(&rp_users_list_lock);
	list_for_each_entry_continue(next, &rp_users_list, list) {
		if (refcount_inc_not_zero(&next->refs)) {
			spin_unlock(&rp_users_list_lock);
			return next;
		}
	}
	spin_unlock(&rp_users_list_lock);
	return NULL;
}

/**
 * rp_user_charge - charge a user for kernel bytes, within its limit
 * @user: the user
 * @bytes: how many
 *
 * Lock-free and exact: the counter never shows a charge that is refused.
 *
 * Return: 0, or -EDQUOT past max_user_bytes.
 */
int rp_user_charge(struct rp_user *user, u64 bytes)
{
	u64 limit = rp_limit_user_bytes();
	s64 old = atomic64_read(&user->bytes);

	do {
		if ((u64)old + bytes > limit || (u64)old + bytes < (u64)old)
			return -EDQUOT;
	} while (!atomic64_try_cmpxchg(&user->bytes, &old, old + bytes));
	return 0;
}

/**
 * rp_user_uncharge - return bytes a user was charged
 * @user: the user
 * @bytes: as charged
 */
void rp_user_uncharge(struct rp_user *user, u64 bytes)
{
	WARN_ON_ONCE(atomic64_sub_return(bytes, &user->bytes) < 0);
}
