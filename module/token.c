// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: tokens, the 128-bit names an unrelated process can look up.
 *
 * A token is random (get_random_bytes()), so it cannot be guessed the way
 * DRM's FLINK names can, and weak: it names an object without keeping it
 * alive, and leaves the table when the object dies. Lookup is confined to
 * the IPC namespace of the process that published it, like SysV IPC keys.
 * An object has at most one token per namespace, so publishing twice from
 * the same namespace returns the same token.
 *
 * A token may also be *pinned*: then it owns one strong reference, until
 * REFPOOL_IOC_UNPIN drops it. That is how a shell script shares an object
 * (refpoolctl publish/put): no process holds it in between. Pins are the
 * one way an object outlives every process, so they are explicit, charged
 * to their user like any object, and all dropped when the module unloads.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ipc_namespace.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "refpool.h"

/**
 * struct rp_token - one token of one object
 * @node: in the token table, keyed by @key
 * @key: the token's bytes
 * @obj: the object; valid while the token is in the table, which it
 *       leaves when the object dies
 * @id: the object's id: under RCU, @obj's memory may hold another object
 * @ns: the publisher's IPC namespace, compared and never dereferenced
 * @ns_inum: the namespace's inode number, compared too
 * @ns_file: the publisher's /proc/self/ns/ipc, which keeps the namespace
 *           alive as long as the token, so that no new namespace can reuse
 *           its memory and number and match; NULL where procfs is not
 *           mounted (then @ns and @ns_inum may, rarely, match a newer one).
 *           A module cannot take the reference directly: put_ipc_ns() is
 *           not exported.
 * @next: the object's next token, under the object's lock
 * @pin: in rp_pins while pinned; the pin owns a reference to @obj
 * @pinned: the token owns a strong reference, under rp_pins_lock
 * @rcu: frees the token after lookups under RCU are done with it
 */
struct rp_token {
	struct rhash_head node;
	u8 key[RP_TOKEN_SIZE];
	struct rp_object *obj;
	u64 id;
	const struct ipc_namespace *ns;
	unsigned int ns_inum;
	struct file *ns_file;
	struct rp_token *next;
	struct list_head pin;
	bool pinned;
	struct rcu_head rcu;
};

static struct rhashtable rp_tokens;
static LIST_HEAD(rp_pins);
static DEFINE_MUTEX(rp_pins_lock);

static const struct rhashtable_params rp_token_params = {
	.key_len = RP_TOKEN_SIZE,
	.key_offset = offsetof(struct rp_token, key),
	.head_offset = offsetof(struct rp_token, node),
	.automatic_shrinking = true,
};

int rp_tokens_init(void)
{
	return rhashtable_init(&rp_tokens, &rp_token_params);
}

/**
 * rp_tokens_unpin_all - drop every pin, at unload
 *
 * No session is left: this frees what only pins held.
 */
void rp_tokens_unpin_all(void)
{
	struct rp_token *tok;

	for (;;) {
		mutex_lock(&rp_pins_lock);
		tok = list_first_entry_or_null(&rp_pins, struct rp_token, pin);
		if (tok) {
			list_del(&tok->pin);
			tok->pinned = false;
		}
		mutex_unlock(&rp_pins_lock);
		if (!tok)
			break;
		rp_object_put(tok->obj);
	}
}

void rp_tokens_exit(void)
{
	rhashtable_destroy(&rp_tokens);
}

static bool rp_token_ns_match(const struct rp_token *tok)
{
	const struct ipc_namespace *ns = current->nsproxy->ipc_ns;

	return tok->ns == ns && tok->ns_inum == ns->ns.inum;
}

/* The object's token for the caller's namespace, under the object's lock. */
static struct rp_token *rp_token_find(struct rp_object *obj)
{
	struct rp_token *tok;

	for (tok = obj->tokens; tok; tok = tok->next)
		if (rp_token_ns_match(tok))
			return tok;
	return NULL;
}

static struct rp_token *rp_token_new(struct rp_object *obj)
{
	const struct ipc_namespace *ns = current->nsproxy->ipc_ns;
	struct rp_token *tok;
	int ret;

	tok = kzalloc(sizeof(*tok), GFP_KERNEL_ACCOUNT);
	if (!tok)
		return ERR_PTR(-ENOMEM);
	tok->obj = obj;
	tok->id = obj->id;
	tok->ns = ns;
	tok->ns_inum = ns->ns.inum;
	tok->ns_file = filp_open("/proc/self/ns/ipc", O_RDONLY, 0);
	if (IS_ERR(tok->ns_file) ||
	    file_inode(tok->ns_file)->i_ino != ns->ns.inum) {
		if (!IS_ERR(tok->ns_file))
			fput(tok->ns_file);
		tok->ns_file = NULL;
	}
	INIT_LIST_HEAD(&tok->pin);
	/* 128 random bits collide never in practice; retry if they do. */
	do {
		get_random_bytes(tok->key, sizeof(tok->key));
		ret = rhashtable_lookup_insert_fast(&rp_tokens, &tok->node,
						    rp_token_params);
	} while (ret == -EEXIST);
	if (ret) {
		if (tok->ns_file)
			fput(tok->ns_file);
		kfree(tok);
		return ERR_PTR(ret);
	}
	return tok;
}

static void rp_token_free(struct rp_token *tok)
{
	rhashtable_remove_fast(&rp_tokens, &tok->node, rp_token_params);
	if (tok->ns_file)
		fput(tok->ns_file);
	kfree_rcu(tok, rcu);
}

/**
 * rp_token_publish - the object's token for the caller's IPC namespace
 * @obj: the object, which the caller uses
 * @pin: make the token own a strong reference, if it does not yet
 * @key: out: the token
 *
 * Return: 0, -ENOMEM, or -EBADF when the object died meanwhile.
 */
int rp_token_publish(struct rp_object *obj, bool pin, u8 key[RP_TOKEN_SIZE])
{
	struct rp_token *tok, *new = NULL;

	spin_lock(&obj->lock);
	tok = rp_token_find(obj);
	spin_unlock(&obj->lock);
	if (!tok) {
		new = rp_token_new(obj);
		if (IS_ERR(new))
			return PTR_ERR(new);
		spin_lock(&obj->lock);
		/* Another thread may have published for this namespace. */
		tok = rp_token_find(obj);
		if (!tok && !(obj->flags & RP_OBJ_DEAD)) {
			new->next = obj->tokens;
			obj->tokens = new;
			tok = new;
			new = NULL;
		}
		spin_unlock(&obj->lock);
		if (new)
			rp_token_free(new);
		/* Its last handle went while we published: it is gone. */
		if (!tok)
			return -EBADF;
	}

	if (pin) {
		mutex_lock(&rp_pins_lock);
		if (!tok->pinned) {
			if (!rp_object_get_unless_dead(obj)) {
				mutex_unlock(&rp_pins_lock);
				return -EBADF;
			}
			tok->pinned = true;
			list_add(&tok->pin, &rp_pins);
		}
		mutex_unlock(&rp_pins_lock);
	}
	memcpy(key, tok->key, RP_TOKEN_SIZE);
	return 0;
}

/**
 * rp_token_lookup - the live object a token names, with a new reference
 * @key: the token
 *
 * Return: the object, or NULL: unknown token, object gone, or a token of
 * another IPC namespace.
 */
struct rp_object *rp_token_lookup(const u8 key[RP_TOKEN_SIZE])
{
	struct rp_container *links;
	struct rp_object *obj;
	struct rp_token *tok;
	u64 id;

retry:
	rcu_read_lock();
	tok = rhashtable_lookup(&rp_tokens, key, rp_token_params);
	if (!tok || !rp_token_ns_match(tok)) {
		rcu_read_unlock();
		return NULL;
	}
	obj = tok->obj;
	id = tok->id;
	/*
	 * A token is the one way to reach an object that nothing reaches
	 * any more: announce the new reference to the collector, and do not
	 * take it from an object the collector has judged garbage (see
	 * gc.c). A dying object is still in the table until it is released.
	 */
	rp_gc_touch(obj);
	links = READ_ONCE(obj->links);
	if (links && test_bit(RP_GC_DOOMED, &links->gc_flags)) {
		if (!rp_object_use(obj)) {
			rcu_read_unlock();
			return NULL;
		}
		rcu_read_unlock();
		rp_gc_wait_doomed(obj);
		rp_object_unuse(obj);
		goto retry;
	}
	if (!refcount_inc_not_zero(&obj->refs)) {
		rcu_read_unlock();
		return NULL;
	}
	rcu_read_unlock();
	/* Its memory may hold another object by now: see struct rp_object. */
	if (unlikely(READ_ONCE(obj->id) != id)) {
		rp_object_put(obj);
		return NULL;
	}
	return obj;
}

/**
 * rp_token_unpin - drop the strong reference a pinned token owns
 * @key: the token
 *
 * Return: 0, or -ENOENT: unknown, not pinned, or another namespace's.
 */
int rp_token_unpin(const u8 key[RP_TOKEN_SIZE])
{
	struct rp_object *obj = NULL;
	struct rp_token *tok;

	mutex_lock(&rp_pins_lock);
	rcu_read_lock();
	tok = rhashtable_lookup(&rp_tokens, key, rp_token_params);
	/* While pinned, the object (and so the token) cannot die. */
	if (tok && tok->pinned && rp_token_ns_match(tok)) {
		tok->pinned = false;
		list_del_init(&tok->pin);
		obj = tok->obj;
	}
	rcu_read_unlock();
	mutex_unlock(&rp_pins_lock);
	if (!obj)
		return -ENOENT;
	rp_object_put(obj);
	return 0;
}

/**
 * rp_tokens_drop - remove a dying object's tokens from the table
 * @obj: the object, whose last reference is gone
 */
void rp_tokens_drop(struct rp_object *obj)
{
	struct rp_token *tok, *next;

	/* RP_OBJ_DEAD is set: no token is added after this. */
	spin_lock(&obj->lock);
	tok = obj->tokens;
	obj->tokens = NULL;
	spin_unlock(&obj->lock);
	for (; tok; tok = next) {
		next = tok->next;
		rp_token_free(tok);
	}
}
