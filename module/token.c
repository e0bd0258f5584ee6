// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: tokens, the 128-bit names an unrelated process can look up.
 *
 * A token is random (get_random_bytes()), so it cannot be guessed the way
 * DRM's FLINK names can, and weak: it names an object without keeping it
 * alive, and leaves the table when the object dies. Lookup is confined to
 * the IPC namespace of the process that published it, like SysV IPC keys:
 * the token holds a counted reference to that namespace (as an open
 * /proc/PID/ns/ipc would), so no later namespace can reuse its memory and
 * number and match. An object has at most one token per namespace, so
 * publishing twice from the same namespace returns the same token. The
 * publisher pays for the token, and the namespace it keeps, until the
 * object dies.
 *
 * A token may also be *pinned*: then it owns one strong reference, until
 * REFPOOL_IOC_UNPIN drops it. That is how a shell script shares an object
 * (refpoolctl publish/put): no process holds it in between. Pins are the
 * one way an object outlives every process, so they are explicit and
 * owned: only the object's owner (or CAP_SYS_ADMIN) may pin it - nobody
 * can keep another user's object, and its charges, alive past that user's
 * processes - and only the pin's user (or CAP_SYS_ADMIN) may unpin it,
 * from any namespace; the pin is charged to its user, who can list its
 * pins. All pins go when the module unloads.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/capability.h>
#include <linux/ipc_namespace.h>
#include <linux/list.h>
#include <linux/nsproxy.h>
#include <linux/proc_ns.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include <linux/refpool.h>
#include "refpool.h"

/**
 * struct rp_token - one token of one object
 * @node: in the token table, keyed by @key
 * @key: the token's bytes
 * @obj: the object; valid while the token is in the table, which it
 *       leaves when the object dies
 * @id: the object's id: under RCU, @obj's memory may hold another object
 * @ns: the publisher's IPC namespace, a counted reference
 * @user: who made it, and pays for it
 * @next: the object's next token, under the object's lock
 * @pin: the pin that owns a reference through this token, or NULL; under
 *       rp_pins_lock
 * @rcu: frees the token after lookups under RCU are done with it
 */
struct rp_token {
	struct rhash_head node;
	u8 key[RP_TOKEN_SIZE];
	struct rp_object *obj;
	u64 id;
	struct ipc_namespace *ns;
	struct rp_user *user;
	struct rp_token *next;
	struct rp_pin *pin;
	struct rcu_head rcu;
};

/**
 * struct rp_pin - a strong reference a user keeps through a token
 * @node: in rp_pins, oldest first, under rp_pins_lock
 * @tok: the token, which cannot die while pinned
 * @user: the pin's owner, who pays for it
 */
struct rp_pin {
	struct list_head node;
	struct rp_token *tok;
	struct rp_user *user;
};

static struct rhashtable rp_tokens;
static LIST_HEAD(rp_pins);
/* Guards rp_pins and every token's @pin; nests inside obj->lock. */
static DEFINE_SPINLOCK(rp_pins_lock);

static const struct rhashtable_params rp_token_params = {
	.key_len = RP_TOKEN_SIZE,
	.key_offset = offsetof(struct rp_token, key),
	.head_offset = offsetof(struct rp_token, node),
	.automatic_shrinking = true,
};

/* A token and its share of the table's buckets; a pin is on a list. */
#define RP_TOKEN_COST	(kmalloc_size_roundup(sizeof(struct rp_token)) + \
			 RP_BUCKET_SHARE)
#define RP_PIN_COST	kmalloc_size_roundup(sizeof(struct rp_pin))

int rp_tokens_init(void)
{
	return rhashtable_init(&rp_tokens, &rp_token_params);
}

void rp_tokens_exit(void)
{
	rhashtable_destroy(&rp_tokens);
}

static struct ipc_namespace *rp_ns_get(void)
{
	return get_ipc_ns(current->nsproxy->ipc_ns);
}

/* put_ipc_ns() is not exported; the namespace's own operations are. */
static void rp_ns_put(struct ipc_namespace *ns)
{
	if (IS_ENABLED(CONFIG_IPC_NS))
		ns->ns.ops->put(&ns->ns);
}

static bool rp_token_ns_match(const struct rp_token *tok)
{
	return tok->ns == current->nsproxy->ipc_ns;
}

/* The object's token for the caller's namespace, under the object's lock. */
static struct rp_token *rp_token_find(struct rp_object *obj)
{
	struct rp_token *tok;

	lockdep_assert_held(&obj->lock);
	for (tok = obj->tokens; tok; tok = tok->next)
		if (rp_token_ns_match(tok))
			return tok;
	return NULL;
}

/* A new token for @obj, in the table but on no object's list yet. */
static struct rp_token *rp_token_new(struct rp_user *user,
				     struct rp_object *obj)
{
	struct rp_token *tok;
	int ret;

	ret = rp_user_charge(user, RP_TOKEN_COST);
	if (ret)
		return ERR_PTR(ret);
	tok = kzalloc(sizeof(*tok), GFP_KERNEL_ACCOUNT);
	if (!tok) {
		rp_user_uncharge(user, RP_TOKEN_COST);
		return ERR_PTR(-ENOMEM);
	}
	tok->obj = obj;
	tok->id = obj->id;
	rp_user_hold(user);
	tok->user = user;
	tok->ns = rp_ns_get();
	/* 128 random bits collide never in practice; retry if they do. */
	do {
		get_random_bytes(tok->key, sizeof(tok->key));
		ret = rhashtable_lookup_insert_fast(&rp_tokens, &tok->node,
						    rp_token_params);
	} while (ret == -EEXIST);
	if (ret) {
		rp_ns_put(tok->ns);
		rp_user_uncharge(user, RP_TOKEN_COST);
		rp_user_put(user);
		kfree(tok);
		return ERR_PTR(-ENOMEM);
	}
	return tok;
}

static void rp_token_free(struct rp_token *tok)
{
	rhashtable_remove_fast(&rp_tokens, &tok->node, rp_token_params);
	rp_ns_put(tok->ns);
	rp_user_uncharge(tok->user, RP_TOKEN_COST);
	rp_user_put(tok->user);
	kfree_rcu(tok, rcu);
}

static bool rp_may_pin(struct rp_user *user, struct rp_object *obj)
{
	return obj->user == user || capable(CAP_SYS_ADMIN);
}

static struct rp_pin *rp_pin_new(struct rp_user *user)
{
	struct rp_pin *pin;

	if (rp_user_charge(user, RP_PIN_COST))
		return ERR_PTR(-EDQUOT);
	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin) {
		rp_user_uncharge(user, RP_PIN_COST);
		return ERR_PTR(-ENOMEM);
	}
	rp_user_hold(user);
	pin->user = user;
	return pin;
}

static void rp_pin_free(struct rp_pin *pin)
{
	rp_user_uncharge(pin->user, RP_PIN_COST);
	rp_user_put(pin->user);
	kfree(pin);
}

/*
 * The object's token for the caller's namespace, its key copied to @key
 * under the object's lock: once the lock is dropped the token may go with
 * the object (when the caller holds no strong reference). Made if there is
 * none, and then given to the caller's @ukey before anyone else can see it
 * on the object, so that a refused call leaves no token behind.
 */
static struct rp_token *rp_token_get(struct rp_session *s,
				     struct rp_object *obj,
				     u8 key[RP_TOKEN_SIZE], void __user *ukey)
{
	struct rp_token *tok, *new;

	spin_lock(&obj->lock);
	tok = rp_token_find(obj);
	if (tok)
		memcpy(key, tok->key, RP_TOKEN_SIZE);
	spin_unlock(&obj->lock);
	if (tok)
		return copy_to_user(ukey, key, RP_TOKEN_SIZE) ?
		       ERR_PTR(-EFAULT) : tok;

	new = rp_token_new(s->user, obj);
	if (IS_ERR(new))
		return new;
	if (copy_to_user(ukey, new->key, RP_TOKEN_SIZE)) {
		rp_token_free(new);
		return ERR_PTR(-EFAULT);
	}
	spin_lock(&obj->lock);
	/* Another thread may have published for this namespace meanwhile. */
	tok = rp_token_find(obj);
	if (!tok) {
		new->next = obj->tokens;
		obj->tokens = new;
		tok = new;
		new = NULL;
	}
	memcpy(key, tok->key, RP_TOKEN_SIZE);
	spin_unlock(&obj->lock);
	if (!new)
		return tok;
	rp_token_free(new);
	return copy_to_user(ukey, key, RP_TOKEN_SIZE) ? ERR_PTR(-EFAULT) : tok;
}

/**
 * rp_token_publish - the object's token for the caller's IPC namespace
 * @s: the calling session, whose user pays for what is made
 * @obj: the object, with a strong reference the caller holds
 * @pin: make the token own a strong reference, if it does not yet
 * @ukey: where the caller wants the token
 * @pinned: out: the caller's strong reference went to a new pin
 *
 * The token is written to @ukey before the pin is made, so nothing has
 * to be taken back if it cannot be. Pinning a pinned token changes
 * nothing.
 *
 * Return: 0; -EPERM pin of another user's object; -EDQUOT, -ENOMEM,
 * -EFAULT.
 */
int rp_token_publish(struct rp_session *s, struct rp_object *obj, bool pin,
		     void __user *ukey, bool *pinned)
{
	struct rp_pin *newpin = NULL;
	u8 key[RP_TOKEN_SIZE];
	struct rp_token *tok;

	*pinned = false;
	rp_hook(RP_HOOK_PUBLISH);
	if (pin) {
		if (!rp_may_pin(s->user, obj))
			return -EPERM;
		newpin = rp_pin_new(s->user);
		if (IS_ERR(newpin))
			return PTR_ERR(newpin);
	}
	tok = rp_token_get(s, obj, key, ukey);
	if (IS_ERR(tok)) {
		if (newpin)
			rp_pin_free(newpin);
		return PTR_ERR(tok);
	}
	if (!newpin)
		return 0;

	/* The caller's reference keeps the object, and so @tok, alive. */
	spin_lock(&obj->lock);
	spin_lock(&rp_pins_lock);
	if (!tok->pin) {
		newpin->tok = tok;
		tok->pin = newpin;
		list_add_tail(&newpin->node, &rp_pins);
		atomic64_inc(&newpin->user->pins);
		newpin = NULL;
		*pinned = true;
	}
	spin_unlock(&rp_pins_lock);
	spin_unlock(&obj->lock);
	if (newpin)
		rp_pin_free(newpin);
	return 0;
}

/**
 * rp_token_lookup - the live object a token names, with a new reference
 * @key: the token
 *
 * Return: the object, or an ERR_PTR: -ENOENT unknown token, object gone,
 * or a token of another IPC namespace; -EINTR killed while waiting for
 * the collector to judge the object.
 */
struct rp_object *rp_token_lookup(const u8 key[RP_TOKEN_SIZE])
{
	struct rp_container *c;
	struct rp_object *obj;
	struct rp_token *tok;
	int ret;
	u64 id;

retry:
	rcu_read_lock();
	tok = rhashtable_lookup(&rp_tokens, key, rp_token_params);
	if (!tok || !rp_token_ns_match(tok)) {
		rcu_read_unlock();
		return ERR_PTR(-ENOENT);
	}
	obj = READ_ONCE(tok->obj);
	id = tok->id;
	/* Under RCU: the test build spins here, never sleeps. */
	rp_hook_spin(RP_HOOK_LOOKUP);
	/*
	 * A token is the one way to reach an object that nothing reaches
	 * any more: announce the new reference to the collector, and do not
	 * take it from an object the collector has judged garbage (see
	 * gc.c). A dying object is still in the table until it is released.
	 */
	rp_gc_touch(obj);
	c = READ_ONCE(obj->container);
	if (c && test_bit(RP_GC_DOOMED, &c->gc_flags)) {
		if (!rp_object_use(obj)) {
			rcu_read_unlock();
			return ERR_PTR(-ENOENT);
		}
		rcu_read_unlock();
		/* Its memory may hold another object by now. */
		if (!rp_object_is(obj, id)) {
			rp_object_unuse(obj);
			return ERR_PTR(-ENOENT);
		}
		/* In use, the object keeps its container. */
		ret = rp_gc_wait_doomed(obj->container);
		rp_object_unuse(obj);
		if (ret)
			return ERR_PTR(ret);
		goto retry;
	}
	if (!refcount_inc_not_zero(&obj->refs)) {
		rcu_read_unlock();
		return ERR_PTR(-ENOENT);
	}
	rcu_read_unlock();
	/* Its memory may hold another object by now: see struct rp_object. */
	if (unlikely(!rp_object_is(obj, id))) {
		rp_object_put(obj);
		return ERR_PTR(-ENOENT);
	}
	return obj;
}

/*
 * Take the pin off the token with this key, if @user may: under
 * rp_pins_lock, so that it happens once.
 */
static struct rp_pin *rp_pin_take(struct rp_user *user,
				  const u8 key[RP_TOKEN_SIZE], int *err)
{
	struct rp_token *tok;
	struct rp_pin *pin;

	*err = -ENOENT;
	rcu_read_lock();
	tok = rhashtable_lookup(&rp_tokens, key, rp_token_params);
	spin_lock(&rp_pins_lock);
	pin = tok ? tok->pin : NULL;
	if (pin && pin->user != user && !capable(CAP_SYS_ADMIN)) {
		*err = -EPERM;
		pin = NULL;
	}
	if (pin) {
		tok->pin = NULL;
		list_del(&pin->node);
		atomic64_dec(&pin->user->pins);
	}
	spin_unlock(&rp_pins_lock);
	rcu_read_unlock();
	return pin;
}

/**
 * rp_token_unpin - drop the strong reference a pinned token owns
 * @user: the caller's user
 * @key: the token
 *
 * From any IPC namespace: a pin is its user's, wherever it was made.
 *
 * Return: 0; -ENOENT unknown or not pinned; -EPERM another user's pin.
 */
int rp_token_unpin(struct rp_user *user, const u8 key[RP_TOKEN_SIZE])
{
	struct rp_object *obj;
	struct rp_pin *pin;
	int err;

	pin = rp_pin_take(user, key, &err);
	if (!pin)
		return err;
	/* Pinned, the token and its object were alive until now. */
	obj = pin->tok->obj;
	rp_pin_free(pin);
	rp_object_put(obj);
	return 0;
}

/*
 * Up to @max of @user's pins into @out, oldest first; return how many the
 * user holds.
 */
static u32 rp_pins_collect(struct rp_user *user, struct refpool_pin_info *out,
			   u32 max)
{
	struct rp_pin *pin;
	u32 n = 0;

	spin_lock(&rp_pins_lock);
	list_for_each_entry(pin, &rp_pins, node) {
		if (pin->user != user)
			continue;
		if (n < max) {
			memcpy(out[n].token, pin->tok->key, RP_TOKEN_SIZE);
			out[n].id = pin->tok->id;
			out[n].size = pin->tok->obj->size;
		}
		n++;
	}
	spin_unlock(&rp_pins_lock);
	return n;
}

/**
 * rp_tokens_list_pins - the calling user's pins (REFPOOL_IOC_PINS)
 * @user: the user
 * @uptr: user pointer to @count entries of @entry_size bytes
 * @count: room for so many
 * @entry_size: the caller's struct refpool_pin_info size, checked
 *
 * Return: how many pins the user holds; -ENOMEM, -EFAULT.
 */
int rp_tokens_list_pins(struct rp_user *user, u64 uptr, u32 count,
			u32 entry_size)
{
	struct refpool_pin_info *buf = NULL;
	u8 __user *dst = u64_to_user_ptr(uptr);
	u32 i, n, max;
	int ret = 0;

	/* The user's own pins are few (each is charged): size by them. */
	max = min_t(u64, count, atomic64_read(&user->pins));
	if (max) {
		buf = kvcalloc(max, sizeof(*buf), GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -ENOMEM;
	}
	n = rp_pins_collect(user, buf, max);
	for (i = 0; i < min(n, max) && !ret; i++) {
		u8 __user *at = dst + (u64)i * entry_size;

		if (copy_to_user(at, &buf[i], sizeof(buf[i])) ||
		    (entry_size > sizeof(buf[i]) &&
		     clear_user(at + sizeof(buf[i]),
				entry_size - sizeof(buf[i]))))
			ret = -EFAULT;
	}
	kvfree(buf);
	return ret ? ret : min_t(u32, n, INT_MAX);
}

/**
 * rp_tokens_unpin_all - drop every pin, at unload
 *
 * No session is left: this frees what only pins held.
 */
void rp_tokens_unpin_all(void)
{
	struct rp_object *obj;
	struct rp_pin *pin;

	for (;;) {
		spin_lock(&rp_pins_lock);
		pin = list_first_entry_or_null(&rp_pins, struct rp_pin, node);
		if (pin) {
			list_del(&pin->node);
			pin->tok->pin = NULL;
			atomic64_dec(&pin->user->pins);
		}
		spin_unlock(&rp_pins_lock);
		if (!pin)
			break;
		obj = pin->tok->obj;
		rp_pin_free(pin);
		rp_object_put(obj);
	}
}

/**
 * rp_tokens_drop - remove a dying object's tokens from the table
 * @obj: the object, whose last reference is gone (so none is pinned)
 */
void rp_tokens_drop(struct rp_object *obj)
{
	struct rp_token *tok, *next;

	/* RP_STATE_DEAD is set: no token is added after this. */
	spin_lock(&obj->lock);
	tok = obj->tokens;
	obj->tokens = NULL;
	spin_unlock(&obj->lock);
	for (; tok; tok = next) {
		next = tok->next;
		rp_token_free(tok);
	}
}
