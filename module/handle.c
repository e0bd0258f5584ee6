// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the handle table of a session.
 *
 * A handle is a number, each owning one strong reference to an object.
 * Numbers are handed out cyclically over 1 .. 2^31 - 1, skipping those in
 * use, so a number that was put comes back only after the session has
 * allocated 2^31 others: a stale handle (a racing thread's, a forked
 * child's, a receiver's of the session fd) is -EBADF, never another object.
 *
 * Cyclic numbers spread a long-lived session's live handles over the whole
 * range, which an xarray (the usual table, as drm_gem.c's idr) would pay
 * for with up to a 576-byte node per handle, and an attacker can arrange
 * that. A hash table costs the same per handle however the numbers are
 * spread, so each handle can be charged exactly: its entry, and a bound on
 * its share of the bucket array (rhashtable keeps between 30 % and 75 % of
 * its buckets used, 8 bytes each).
 *
 * Lookups take no lock: an entry is found under RCU, its object's reference
 * taken, and the entry checked again. Removal claims the entry first, by
 * its number (a cmpxchg of @live: it succeeds once), then takes it out of
 * the table.
 *
 * A put handle's entry is not freed but kept by the session, up to
 * RP_HANDLE_SPARE of them, for its next handles: a dup + put then costs no
 * allocation, no memcg charge and no RCU callback, which were most of its
 * time. Each CPU keeps its own list of them (struct rp_handle_spare), so
 * that threads of one session on two CPUs do not take turns at one lock;
 * a count over all CPUs bounds them. A lookup under RCU may still hold a
 * kept entry, or find it again after its reuse (rhashtable's lookups
 * restart when an entry moved to another chain): the check after the
 * reference is that @live is still the number looked up, and numbers are
 * not handed out again, so a reused entry never passes for its old
 * number. Only the session reuses its own
 * entries; one that leaves the session is freed after a grace period, so
 * no other session's lookup can meet it. The session's open pays for the
 * entries it may keep (rp_handles_session_cost()); each handle pays for its
 * entry while it exists, as before.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/percpu.h>
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "refpool.h"

/* Handle numbers are 31 bits: never 0, never negative as an int. */
#define RP_HANDLE_MASK	0x7fffffffU

/**
 * struct rp_handle - one handle of a session
 * @node: in the session's table, keyed by @handle
 * @handle: the number, the table's key: set before the entry goes in
 * @live: @handle from the entry's insertion to its claim by a remover;
 *        0 before and after
 * @obj: the object it owns a reference to while @live
 * @next_spare: in the session's spare entries, which no grace period frees
 *
 * 32 bytes, kmalloc()'d: one that leaves its session is freed with
 * kfree_rcu_mightsleep(), which needs no rcu_head in the entry (16 bytes
 * more would make it 48 in a cache of its own). Not a cache of its own
 * with SLAB_TYPESAFE_BY_RCU either: a lookup could then meet an entry of
 * another session under a number valid there, unless the entry named its
 * session, and SLUB puts a type-stable object's free pointer after it
 * (40 bytes).
 */
struct rp_handle {
	struct rhash_head node;
	u32 handle;
	u32 live;
	struct rp_object *obj;
	struct rp_handle *next_spare;
};

/*
 * A lookup may meet a spare entry the session is giving a new number
 * (rp_handle_add()): a marked read, where rhashtable's memcmp() is not.
 */
static int rp_handle_cmp(struct rhashtable_compare_arg *arg, const void *ptr)
{
	const struct rp_handle *e = ptr;

	return READ_ONCE(e->handle) != *(const u32 *)arg->key;
}

/*
 * The fewest buckets a session's table has: room for RP_HANDLE_SPARE
 * handles coming and going (a batch of 64 dups, then 64 puts) beside 32
 * standing ones, under rhashtable's 75 % growth threshold. A table that
 * starts small grows past 3, 6, 12, 24 and 48 handles and shrinks again on
 * the way down, each step a new bucket array and a rehash (in a worker, or
 * past 100 % load inside the insert): a batched op cost 1194 ns that way,
 * 462 ns with this floor. The open pays for it (rp_handles_session_cost()).
 */
#define RP_HANDLE_MIN_BUCKETS	128

static const struct rhashtable_params rp_handle_params = {
	.min_size = RP_HANDLE_MIN_BUCKETS,
	.key_len = sizeof(u32),
	.key_offset = offsetof(struct rp_handle, handle),
	.head_offset = offsetof(struct rp_handle, node),
	.obj_cmpfn = rp_handle_cmp,
	.automatic_shrinking = true,
};

/**
 * struct rp_handle_spare - one CPU's entries of a session's put handles
 * @head: the last one kept, the first one taken
 *
 * Only the session's calls touch it, on that CPU with preemption off: no
 * lock. The session's @nspare counts the entries of all CPUs' lists.
 */
struct rp_handle_spare {
	struct rp_handle *head;
};

/* An entry as kmalloc() allocates it. */
#define RP_HANDLE_ENTRY_SIZE	kmalloc_size_roundup(sizeof(struct rp_handle))

static u64 rp_handle_cost;

/*
 * Entries are kmalloc()'d, not from a cache of ours: those that
 * kfree_rcu_mightsleep() still holds when the module goes are freed later,
 * with no code or cache of ours involved, so unloading waits for nothing.
 */
void rp_handles_init(void)
{
	BUILD_BUG_ON(sizeof(struct rp_handle) > 32);
	rp_handle_cost = RP_HANDLE_ENTRY_SIZE + RP_BUCKET_SHARE;
}

/*
 * What a session's handle table costs before its first handle, charged
 * when it opens: its first bucket array (kvzalloc()'d by rhashtable: a
 * kmalloc() below a page), the spare entries it may keep and their list
 * head on each CPU.
 */
u64 rp_handles_session_cost(void)
{
	const size_t buckets = struct_size((struct bucket_table *)NULL, buckets,
					   RP_HANDLE_MIN_BUCKETS);

	BUILD_BUG_ON(buckets > PAGE_SIZE);
	return kmalloc_size_roundup(buckets) +
	       RP_HANDLE_SPARE * RP_HANDLE_ENTRY_SIZE +
	       (u64)num_possible_cpus() * sizeof(struct rp_handle_spare);
}

int rp_session_handles_init(struct rp_session *s)
{
	int ret;

	atomic_set(&s->next_handle, 0);
	atomic_set(&s->nspare, 0);
	s->spare = alloc_percpu_gfp(struct rp_handle_spare, GFP_KERNEL_ACCOUNT);
	if (!s->spare)
		return -ENOMEM;
	ret = rhashtable_init(&s->handles, &rp_handle_params);
	if (ret) {
		free_percpu(s->spare);
		s->spare = NULL;
	}
	return ret;
}

/* An entry for a new handle: a spare one of this CPU, or a new one. */
static struct rp_handle *rp_handle_alloc(struct rp_session *s)
{
	struct rp_handle_spare *sp = get_cpu_ptr(s->spare);
	struct rp_handle *e = sp->head;

	if (e)
		sp->head = e->next_spare;
	put_cpu_ptr(s->spare);
	if (e) {
		atomic_dec(&s->nspare);
		return e;
	}
	return kmalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
}

/*
 * An entry out of the table, claimed (@live is 0): keep it for the next
 * handle on this CPU, or free it once lookups under RCU are done with it.
 * May sleep: not under rcu_read_lock().
 */
static void rp_handle_recycle(struct rp_session *s, struct rp_handle *e)
{
	struct rp_handle_spare *sp;

	if (!atomic_add_unless(&s->nspare, 1, RP_HANDLE_SPARE)) {
		kfree_rcu_mightsleep(e);
		return;
	}
	sp = get_cpu_ptr(s->spare);
	e->next_spare = sp->head;
	sp->head = e;
	put_cpu_ptr(s->spare);
}

/* The session is gone: no call can race with this. */
static void rp_handle_release(void *ptr, void *arg)
{
	struct rp_handle *e = ptr;
	struct rp_session *s = arg;

	rp_object_put(e->obj);
	rp_user_uncharge(s->user, rp_handle_cost);
	kfree(e);
	cond_resched();
}

void rp_session_handles_release(struct rp_session *s)
{
	struct rp_handle *e;
	int cpu;

	rhashtable_free_and_destroy(&s->handles, rp_handle_release, s);
	/* No call is left, and debugfs walks are over (walk_lock). */
	for_each_possible_cpu(cpu) {
		struct rp_handle_spare *sp = per_cpu_ptr(s->spare, cpu);

		while ((e = sp->head)) {
			sp->head = e->next_spare;
			kfree(e);
		}
	}
	free_percpu(s->spare);
	s->spare = NULL;
	atomic_set(&s->nspare, 0);
}

/**
 * rp_handle_get - look up a handle and take a reference to its object
 * @s: the session
 * @handle: the handle
 * @strong: take a strong reference (rp_object_put()) rather than a call's
 *          (rp_object_unuse())
 *
 * A call that only acts on the object takes a call's reference; one that
 * makes a new reference from it (dup, export, link, pin) takes a strong
 * one, so that the object stays reachable, for the collector, while the
 * new reference is made. If the handle is put meanwhile, the call acts as
 * if it had come just before.
 *
 * Return: the object, or NULL for a handle this session does not hold.
 */
struct rp_object *rp_handle_get(struct rp_session *s, u32 handle, bool strong)
{
	struct rp_object *obj;
	struct rp_handle *e;
	bool held;

	rcu_read_lock();
	e = rhashtable_lookup(&s->handles, &handle, rp_handle_params);
	if (e)
		rp_hook_spin(RP_HOOK_HANDLE);
	obj = e ? READ_ONCE(e->obj) : NULL;
	if (!obj) {
		rcu_read_unlock();
		return NULL;
	}
	/*
	 * While the entry is @handle's, it owns a reference to @obj, so
	 * @obj is alive; if it was put or reused meanwhile, @obj may be
	 * another object or dying, which the check below finds (objects
	 * are type-stable under RCU: struct rp_object).
	 */
	held = strong ? rp_object_get_unless_dead(obj) : rp_object_use(obj);
	/* The reference before the check; pairs with rp_handle_take(). */
	smp_mb__after_atomic();
	if (held && READ_ONCE(e->live) == handle && READ_ONCE(e->obj) == obj) {
		rcu_read_unlock();
		return obj;
	}
	rcu_read_unlock();
	/* The handle was put meanwhile: it is gone. */
	if (held && strong)
		rp_object_put(obj);
	else if (held)
		rp_object_unuse(obj);
	return NULL;
}

/*
 * Take @e, found for @handle, out of the table, once: a racing remover, or
 * a lookup that found the entry already reused, gets NULL. Return the
 * reference the entry owned; the entry is then the caller's, to recycle
 * once out of RCU.
 */
static struct rp_object *rp_handle_take(struct rp_session *s,
					struct rp_handle *e, u32 handle)
{
	struct rp_object *obj;

	/*
	 * The claim. A full barrier: gone before the reference goes, which
	 * pairs with rp_handle_get()'s.
	 */
	if (cmpxchg(&e->live, handle, 0) != handle)
		return NULL;
	obj = e->obj;
	/* Only the claimer removes it, and its key is still @handle. */
	WARN_ON_ONCE(rhashtable_remove_fast(&s->handles, &e->node,
					    rp_handle_params));
	rp_user_uncharge(s->user, rp_handle_cost);
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
	struct rp_object *obj = NULL;
	struct rp_handle *e;

	rcu_read_lock();
	e = rhashtable_lookup(&s->handles, &handle, rp_handle_params);
	if (e)
		obj = rp_handle_take(s, e, handle);
	rcu_read_unlock();
	if (obj)
		rp_handle_recycle(s, e);
	return obj;
}

/**
 * rp_handle_add - give an object a new handle
 * @s: the session
 * @obj: the object; the caller's reference passes to the handle
 * @handle: out: the handle
 *
 * Return: 0, -EDQUOT or -ENOMEM; on error the reference is still the
 * caller's.
 */
int rp_handle_add(struct rp_session *s, struct rp_object *obj, u32 *handle)
{
	struct rp_handle *e;
	int ret;

	ret = rp_user_charge(s->user, rp_handle_cost);
	if (ret)
		return ret;
	e = rp_handle_alloc(s);
	if (!e) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	/*
	 * A lookup of the entry's old number may still hold it: @live
	 * never becomes that number again, whatever order it sees these in.
	 * Such a lookup may also meet the entry under its new number before
	 * it is in the table (rhashtable lookups walk on from removed
	 * entries): @live stays 0 until the entry is in, so that neither a
	 * call nor a claim can take a handle that does not exist yet.
	 */
	WRITE_ONCE(e->live, 0);
	WRITE_ONCE(e->obj, obj);
	do {
		u32 n;

		/* A number still in use after a wrap is skipped. */
		do {
			n = atomic_inc_return(&s->next_handle) & RP_HANDLE_MASK;
		} while (!n);
		WRITE_ONCE(e->handle, n);
		/* Publishes the entry with a release barrier. */
		ret = rhashtable_lookup_insert_fast(&s->handles, &e->node,
						    rp_handle_params);
	} while (ret == -EEXIST);
	if (ret) {
		ret = -ENOMEM;
		goto err_free;
	}
	/* The number is the caller's only once this returns. */
	WRITE_ONCE(e->live, e->handle);
	*handle = e->handle;
	return 0;

err_free:
	rp_handle_recycle(s, e);
err_uncharge:
	rp_user_uncharge(s->user, rp_handle_cost);
	return ret;
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
	struct rp_object *taken = NULL;
	struct rp_handle *e;

	rcu_read_lock();
	e = rhashtable_lookup(&s->handles, &handle, rp_handle_params);
	/* Numbers are not reused: while @live is @handle, it is ours. */
	if (e)
		taken = rp_handle_take(s, e, handle);
	rcu_read_unlock();
	if (!taken)
		return;
	rp_handle_recycle(s, e);
	WARN_ON_ONCE(taken != obj);
	rp_object_put(taken);
}

/**
 * rp_handles_show - print a session's handles, for debugfs
 * @m: the file
 * @s: the session, which the caller holds
 */
void rp_handles_show(struct seq_file *m, struct rp_session *s)
{
	struct rhashtable_iter iter;
	struct rp_object *obj;
	struct rp_handle *e;
	u64 id;

	rhashtable_walk_enter(&s->handles, &iter);
	rhashtable_walk_start(&iter);
	while ((e = rhashtable_walk_next(&iter))) {
		u32 handle;

		if (IS_ERR(e))
			continue;	/* -EAGAIN: the table was resized */
		handle = READ_ONCE(e->live);
		/* The number before the object: pairs with the claim. */
		smp_rmb();
		obj = READ_ONCE(e->obj);
		if (!handle || !obj)
			continue;
		/*
		 * The object's memory is type-stable under RCU; its id is
		 * its own if the entry is still the handle's after the read.
		 */
		id = READ_ONCE(obj->id);
		/* The id before the check of the entry. */
		smp_rmb();
		if (READ_ONCE(e->live) != handle || READ_ONCE(e->obj) != obj)
			continue;
		seq_printf(m, "%d %s %u %llu\n", s->pid, s->comm, handle, id);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}
