/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refpool: internal definitions shared by the module's files.
 *
 * Lock ordering (outermost first; a lock may be taken with the locks above
 * it on its branch held, never the other way round):
 *
 *   rp_gc.mutex                   (gc.c) one collection at a time
 *     obj->lock                   a container's slots, while walked
 *       rp_gc.list_lock           (gc.c) the collector's lists
 *     rp_gc_subs_lock             (events.c) subscriptions to the collector
 *       s->ev.lock                a session's watches and events (spinlock)
 *   rp_sessions_lock              (main.c) the list of sessions; alone
 *   s->walk_lock                  (main.c) a debugfs walk of a session's
 *                                 handles vs its release; nothing inside
 *   rp_intern_lock                (intern.c) intern inserts and removals;
 *                                 never inside obj->lock
 *   rp_watch_lock(id)             (events.c) the watches of one object, one
 *                                 of 256 hashed spinlocks; death and seal
 *                                 take it after dropping obj->lock
 *     obj->lock                   adding a watch reads DEAD and SEALED
 *     s->ev.lock                  firing queues on the watcher's session
 *       s->ev.wait's lock         the wake-up, inside: see events.c
 *   s->ev.read_lock               (events.c) one reader of a session's
 *                                 events (mutex); then s->ev.lock
 *   dma_buf->resv, dma_buf->lock  (dma-buf core) may be held around a
 *                                 dma-buf op of ours (map, vmap...)
 *     rp_dmabuf.lock              (dmabuf.c) a dma-buf's DMA mappings
 *     obj->lock                   (taken alone in the ops, not nested)
 *   obj->lock                     seal, state, writers, writable mappings,
 *                                 tokens, slots (spinlock)
 *     rp_pins_lock                (token.c) the pins (spinlock)
 *   rp_counters.charge_lock       (stats.c) the pool's counters (spinlock);
 *                                 nothing inside
 *   user->object_list_lock        a user's list of objects (spinlock):
 *                                 creation, death, debugfs's walk;
 *                                 nothing inside
 *   rp_users_list_lock            (user.c) the list of users (spinlock);
 *                                 nothing inside
 *
 * Every other structure is lock-free for readers (RCU): the handle tables,
 * the token and intern tables, the user table. A spinlock is never held
 * across anything that sleeps; the collector drops obj->lock between
 * containers, so no lock is held for longer than one object. An object
 * dies (rp_object_die()) with none of these held.
 *
 * Copyright (C) 2026 The refpool authors
 */
#ifndef _REFPOOL_H
#define _REFPOOL_H

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rhashtable-types.h>
#include <linux/sched.h>
#include <linux/refcount.h>
#include <linux/sizes.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>

#include "hooks.h"

/* No payload is ever larger than this, whatever max_object_size says. */
#define RP_OBJECT_SIZE_CAP	((u64)SZ_1G)

/* limits.c: module parameters, writable by root, read at every use. */
u64 rp_limit_objects(void);
u64 rp_limit_bytes(void);
u64 rp_limit_object_size(void);
u32 rp_limit_slots(void);
u64 rp_limit_user_bytes(void);
u64 rp_limit_user_objects(void);
void rp_limits_init(void);

/**
 * struct rp_user - what one user (an effective kuid) holds in the pool
 * @node: in the users' hash table, keyed by @uid
 * @uid: the user
 * @refs: one for each session, object, token, pin and watch of this user
 * @bytes: every kernel byte charged to this user (see rp_user_charge())
 * @objects: live objects charged to this user
 * @pins: pins this user holds
 * @list: in the list of every user, for debugfs's walk (user.c)
 * @object_list_lock: guards @object_list
 * @object_list: this user's live objects, from creation to death, and the
 *           cursors of debugfs walks (debugfs.c); nothing else walks it
 * @rcu: frees the entry after lookups under RCU are done with it
 *
 * A user pays for what it causes: the payload and slab object of what it
 * creates, the pages of what it maps, its sessions and their handle
 * entries, its tokens, pins, watches and queued events. Limits are checked
 * and counters moved with cmpxchg loops, so a refused charge never shows.
 */
struct rp_user {
	struct rhash_head node;
	kuid_t uid;
	refcount_t refs;
	atomic64_t bytes;
	atomic64_t objects;
	atomic64_t pins;
	struct list_head list;
	spinlock_t object_list_lock;	/* @object_list */
	struct list_head object_list;
	struct rcu_head rcu;
};

int rp_users_init(void);
void rp_users_exit(void);
struct rp_user *rp_user_get(kuid_t uid);
void rp_user_hold(struct rp_user *user);
void rp_user_put(struct rp_user *user);
int rp_user_charge(struct rp_user *user, u64 bytes);
void rp_user_uncharge(struct rp_user *user, u64 bytes);
struct rp_user *rp_user_next(struct rp_user *user);

/* Internal object state, in rp_object.state: never in the uapi's flags. */
#define RP_STATE_DEAD		BIT(0)	/* @refs reached zero */
#define RP_STATE_IN_TABLE	BIT(1)	/* in its user's intern table */
#define RP_STATE_PROMOTING	BIT(2)	/* the payload is moving into pages */
#define RP_STATE_MAPPED		BIT(3)	/* its pages were mapped at least once */
#define RP_STATE_WATCHED	BIT(4)	/* had a FREED watch: death looks them up */
#define RP_STATE_SEAL_WATCHED	BIT(5)	/* had a SEALED watch: seal, death look */

/**
 * struct rp_object - one object of the pool
 * @refs: strong references: handles, exported files (and so mappings),
 *        pins, links, dma-bufs; the object dies when they are gone
 * @active: one for being alive, plus one for each call using the object
 *          right now; its memory goes when they are gone
 * @lock: guards @flags' REFPOOL_OBJ_SEALED, @state, @writers, @wmaps,
 *        @tokens and the slots of @container
 * @flags: REFPOOL_OBJ_* state flags, as INFO reports them
 * @state: RP_STATE_* bits
 * @writers: write() calls copying into the payload right now
 * @wmaps: mappings and dma-buf users that may write, which forbid sealing
 * @nslots: number of reference slots
 * @id: unique for the life of the module, never reused
 * @size: payload size in bytes
 * @user: the owner: its creator's user, who pays for it
 * @pages_user: who paid for @pages when they were made by mapping a small
 *              object (its mapper), or NULL
 * @tokens: the tokens naming this object, under @lock
 * @container: the reference slots and collector state, or NULL when
 *             @nslots is 0
 * @pages: the payload when it is in pages, or NULL
 * @user_node: in @user's list of objects, from creation to death
 * @inline_data: a payload of up to RP_INLINE_MAX bytes; for a larger one
 *               below a page, the pointer to its kmalloc() buffer
 *
 * Two counts, so that rp_info().refs is exact while calls run: an object
 * *dies* when @refs drops to zero - it leaves the pool's counters, its
 * tokens and links go - and is *released* when @active drops to zero too,
 * after the last call using it returns.
 *
 * The slab cache is SLAB_TYPESAFE_BY_RCU: token lookups find an object
 * under RCU, take @refs with refcount_inc_not_zero() and only then check
 * that it is still the one they looked for (its @id), since its memory may
 * have been reused meanwhile. So a new object publishes its identity
 * before its count: every field is set, then @refs with release ordering;
 * readers re-check @id with acquire ordering after the increment. Freeing
 * costs no RCU callback per object. Under RCU, @container is NULL or a live
 * container (freed with kvfree_rcu()), so rp_gc_touch() on a stale object
 * marks at worst another container, which only makes a collection keep it.
 */
struct rp_object {
	refcount_t refs;
	refcount_t active;
	spinlock_t lock;	/* seal, state, writers, mappings, tokens, slots */
	u32 flags;
	u32 state;
	u32 writers;
	u32 wmaps;
	u32 nslots;
	u64 id;
	u64 size;
	struct rp_user *user;
	struct rp_user *pages_user;
	struct rp_token *tokens;
	struct rp_container *container;
	struct page **pages;
	struct list_head user_node;
	u8 inline_data[];
};

/* Bits of rp_container.gc_flags: see gc.c. */
enum {
	RP_GC_TOUCHED,		/* its refs or slots changed since the scan began */
	RP_GC_SCANNED,		/* in the set the collection under way scans */
	RP_GC_DOOMED,		/* judged garbage: new references must wait */
	RP_GC_UNREACHABLE,	/* in the candidates' list (under the list lock) */
};

/**
 * struct rp_container - what an object with reference slots has besides
 * @gc_node: in a generation list (or a list of the collection under way),
 *           under rp_gc's list lock; after death, in the list of the dying
 * @obj: the object
 * @gc_refs: the collector's count of references from outside the scanned set
 * @gc_flags: RP_GC_* bits
 * @old: in the old generation, under rp_gc's list lock
 * @rcu: frees it once lookups under RCU are done (see struct rp_object)
 * @slots: the links, under the object's lock; each owns a strong reference
 *
 * Only objects with slots can be part of a cycle, so only they are tracked
 * by the collector (as CPython tracks only containers); the others pay for
 * none of this.
 */
struct rp_container {
	struct list_head gc_node;
	struct rp_object *obj;
	long gc_refs;
	unsigned long gc_flags;
	bool old;
	struct rcu_head rcu;
	struct rp_object *slots[];
};

/*
 * Every change to the strong count or the slots of an object with slots is
 * announced to a collection under way, before it is made, inside an RCU
 * read-side section that also covers the change (see gc.c).
 */
static inline void rp_gc_touch(struct rp_object *obj)
{
	struct rp_container *c = READ_ONCE(obj->container);

	if (c) {
		if (!test_bit(RP_GC_TOUCHED, &c->gc_flags))
			set_bit(RP_GC_TOUCHED, &c->gc_flags);
		/* Flag before change; pairs with rp_gc_find_touched(). */
		smp_mb__after_atomic();
	}
}

/*
 * The slab object: header plus inline payload. A payload of up to
 * RP_INLINE_MAX bytes lives in it; a larger one below a page in a kmalloc()
 * buffer whose pointer takes the inline bytes' place.
 */
#define RP_INLINE_MAX		16
#define RP_OBJECT_SLAB_SIZE	(sizeof(struct rp_object) + RP_INLINE_MAX)

/* object.c */
int rp_objects_init(void);
void rp_objects_exit(void);
struct rp_object *rp_object_create(struct rp_user *user, u64 size, u32 nslots,
				   u32 flags, const void __user *uinit,
				   const void *kinit);
void rp_object_put(struct rp_object *obj);
unsigned long rp_object_put_count(struct rp_object *obj);
bool rp_object_get_unless_dead(struct rp_object *obj);
void rp_object_get(struct rp_object *obj);
bool rp_object_use(struct rp_object *obj);
void rp_object_unuse(struct rp_object *obj);
u32 rp_object_flags(struct rp_object *obj);
bool rp_object_is(struct rp_object *obj, u64 id);
ssize_t rp_object_read(struct rp_object *obj, u64 off, void __user *buf,
		       u64 len);
ssize_t rp_object_write(struct rp_object *obj, u64 off,
			const void __user *buf, u64 len);
int rp_object_seal(struct rp_object *obj);
int rp_object_promote(struct rp_object *obj, struct rp_user *user);
int rp_object_map(struct rp_object *obj, struct rp_user *user, bool writable);
void rp_object_map_more(struct rp_object *obj, bool writable);
void rp_object_unmap(struct rp_object *obj, bool writable);
u64 rp_object_cost(u64 size, u32 nslots, u32 flags);

/* payload.c: where the bytes live. */
int rp_payload_alloc(struct rp_object *obj, const void __user *uinit,
		     const void *kinit);
const void *rp_payload_chunk(struct rp_object *obj, u64 off, u64 *len);
void rp_payload_free(struct rp_object *obj);
int rp_payload_read(struct rp_object *obj, u64 off, void __user *buf, u64 len);
void rp_payload_write(struct rp_object *obj, u64 off, const void *src, u64 len);
int rp_payload_promote(struct rp_object *obj);
struct page *rp_payload_page(struct rp_object *obj, unsigned long pgoff);
struct page **rp_payload_pages(struct rp_object *obj);
u64 rp_payload_cost(u64 size);
u64 rp_payload_pages_cost(u64 size);
bool rp_payload_pinned(struct rp_object *obj);

/* stats.c: pool-wide counters. */
struct rp_counters {
	spinlock_t charge_lock;	/* checks and moves @objects and @bytes */
	atomic64_t objects;
	atomic64_t bytes;
	atomic64_t next_id;
	atomic64_t interned;
	atomic64_t intern_hits;
	atomic64_t intern_bytes_saved;
	atomic64_t gc_runs;
	atomic64_t gc_collected;
	atomic64_t gc_time_ns;
	atomic64_t dmabufs;
};

extern struct rp_counters rp_counters;

struct refpool_stats;
struct rp_session;
void rp_stats_fill(struct rp_session *s, struct refpool_stats *st);
struct seq_file;
void rp_stats_show(struct seq_file *m);

/**
 * struct rp_session_events - a session's watches and queued events (events.c)
 * @lock: guards the lists and counters below
 * @overflow: events were dropped: an OVERFLOW follows @queue, and nothing
 *            is queued until a reader has taken it
 * @nqueued: entries of @queue
 * @nwatches: entries of @watches and @gc_subs
 * @watches: armed watches of objects
 * @gc_subs: subscriptions to the collector (also under rp_gc_subs_lock)
 * @queue: fired watches, which are the events to read, oldest first
 * @wait: pollers of the session's fd, woken when an event is queued
 * @read_lock: one reader at a time: what it copied out is what it takes
 */
struct rp_session_events {
	spinlock_t lock;	/* the lists and counters */
	bool overflow;
	u32 nqueued;
	u64 nwatches;
	struct list_head watches;
	struct list_head gc_subs;
	struct list_head queue;
	wait_queue_head_t wait;
	struct mutex read_lock;	/* one reader */
};

struct rp_handle;	/* handle.c */
struct rp_handle_spare;	/* handle.c */

/**
 * struct rp_session - one open file description of /dev/refpool
 * @handles: handle number -> struct rp_handle, each owning one reference;
 *           its count is the session's (rp_stats_fill())
 * @next_handle: the last handle number handed out (cyclic, 31 bits)
 * @spare: per CPU, entries of put handles kept for the next handles
 *         (handle.c)
 * @nspare: how many over all CPUs, at most RP_HANDLE_SPARE
 * @user: the user that opened the session; it pays for what it does
 * @kref: the file, and debugfs readers between two reads
 * @walk_lock: held by a debugfs reader while it walks @handles, and by
 *             the file's release while it empties them
 * @released: the file is gone and @handles with it, under @walk_lock
 * @node: in rp_sessions, under rp_sessions_lock
 * @pid: the process that opened it (forks share it)
 * @comm: its name
 * @ev: its watches and events
 */
struct rp_session {
	struct rhashtable handles;
	atomic_t next_handle;
	struct rp_handle_spare __percpu *spare;
	atomic_t nspare;
	struct rp_user *user;
	struct kref kref;
	struct mutex walk_lock;	/* a debugfs walk vs the release */
	bool released;
	struct list_head node;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	struct rp_session_events ev;
};

/* main.c: every open session, for debugfs. */
extern struct list_head rp_sessions;
extern struct mutex rp_sessions_lock;
struct rp_session *rp_session_nth(loff_t n);
void rp_session_put(struct rp_session *s);

/*
 * A debugfs walk's place in a user's list of objects (debugfs.c) is an
 * object without a user, which nothing but the walk ever sees.
 */
static inline bool rp_object_is_cursor(const struct rp_object *obj)
{
	return !obj->user;
}

/*
 * A bound on an entry's share of an rhashtable's bucket array at rest.
 * Automatic shrinking keeps at least 30 % of the buckets used, and each
 * 8-byte bucket takes 16 bytes: rhashtable kvzalloc()s a power-of-two
 * array after a 64-byte header, which kmalloc's sizes (and page orders,
 * past 8 KiB) round up to the next power of two. 16 / 0.3 = 53, rounded
 * up. The array a resize replaces waits for a grace period, uncharged.
 */
#define RP_BUCKET_SHARE		64

/* debugfs.c: read-only views for root. */
void rp_debugfs_init(void);
void rp_debugfs_exit(void);
struct dentry *rp_debugfs_dir(void);

/* handle.c: a session's handles. */
/* Entries a session keeps for reuse; its open pays for them (main.c). */
#define RP_HANDLE_SPARE		64
u64 rp_handles_session_cost(void);
void rp_handles_init(void);
int rp_session_handles_init(struct rp_session *s);
void rp_session_handles_release(struct rp_session *s);
struct rp_object *rp_handle_get(struct rp_session *s, u32 handle, bool strong);
struct rp_object *rp_handle_remove(struct rp_session *s, u32 handle);
int rp_handle_add(struct rp_session *s, struct rp_object *obj, u32 *handle);
void rp_handle_cancel(struct rp_session *s, u32 handle, struct rp_object *obj);
void rp_handles_show(struct seq_file *m, struct rp_session *s);

/* The object of a handle, for the length of a call (rp_object_unuse()). */
static inline struct rp_object *rp_handle_use(struct rp_session *s, u32 h)
{
	return rp_handle_get(s, h, false);
}

long rp_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* batch.c: many handle operations in one call. */
int rp_batch(struct rp_session *s, u64 uops, u32 count, u32 op_size);

/* file.c: objects as files. */
struct file *rp_file_export(struct rp_object *obj);
struct rp_object *rp_file_import(int fd);
long rp_file_map(struct rp_session *s, u32 handle, bool writable,
		 void __user *uaddr);
/* vm_private_data is the object; the vma counts as a writer if it may write. */
extern const struct vm_operations_struct rp_object_vm_ops;
bool rp_vma_writable(struct vm_area_struct *vma);

/* dmabuf.c: objects as dma-bufs, where the kernel has dma-bufs. */
#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
#define RP_FEAT_DMABUF	REFPOOL_FEAT_DMABUF
struct file *rp_dmabuf_export(struct rp_session *s, u32 handle, u32 fd_flags,
			      int *fdp);
struct rp_object *rp_dmabuf_import(int fd);
#else
#define RP_FEAT_DMABUF	0
static inline struct file *rp_dmabuf_export(struct rp_session *s, u32 handle,
					    u32 fd_flags, int *fdp)
{
	return ERR_PTR(-ENOTTY);
}

static inline struct rp_object *rp_dmabuf_import(int fd)
{
	return ERR_PTR(-EINVAL);
}
#endif

/* token.c: 128-bit names, weak unless pinned. */
#define RP_TOKEN_SIZE	16
int rp_tokens_init(void);
void rp_tokens_unpin_all(void);
void rp_tokens_exit(void);
int rp_token_publish(struct rp_session *s, struct rp_object *obj, bool pin,
		     void __user *ukey, bool *pinned);
struct rp_object *rp_token_lookup(const u8 key[RP_TOKEN_SIZE]);
int rp_token_unpin(struct rp_user *user, const u8 key[RP_TOKEN_SIZE]);
int rp_tokens_list_pins(struct rp_user *user, u64 uptr, u32 count,
			u32 entry_size);
void rp_tokens_drop(struct rp_object *obj);

/* link.c: links between objects. */
int rp_link_set(struct rp_object *parent, u32 slot, struct rp_object *child);
struct rp_object *rp_link_get(struct rp_object *parent, u32 slot);

/* gc.c: the cycle collector. */
int rp_gc_init(void);
void rp_gc_exit(void);
void rp_gc_track(struct rp_object *obj);
void rp_gc_untrack(struct rp_object *obj);
void rp_gc_link_op(void);
void rp_gc_maybe_garbage(void);
int rp_gc_collect_full(u64 *collected);
int rp_gc_wait_doomed(struct rp_container *c);
void rp_gc_wait_idle(void);

/* events.c: lifecycle events, weak watches with callbacks. */
struct file;
struct poll_table_struct;
int rp_events_init(void);
void rp_events_exit(void);
void rp_session_events_init(struct rp_session *s);
void rp_session_events_release(struct rp_session *s);
int rp_events_watch(struct rp_session *s, struct rp_object *obj, u32 events,
		    u64 cookie);
int rp_events_watch_gc(struct rp_session *s, u64 cookie);
long rp_events_read(struct rp_session *s, u64 uptr, u32 max, u32 esize);
__poll_t rp_events_poll(struct rp_session *s, struct file *file,
			struct poll_table_struct *wait);
void rp_events_freed(u64 id, u32 watched);
void rp_events_sealed(u64 id);
void rp_events_gc(u64 collected);

/* intern.c: one object per value and user. */
int rp_intern_init(void);
void rp_intern_exit(void);
struct rp_object *rp_intern(struct rp_user *user, const void __user *data,
			    u64 len, bool *existed);
void rp_intern_count_hit(u64 len);
void rp_intern_drop(struct rp_object *obj);

#endif /* _REFPOOL_H */
