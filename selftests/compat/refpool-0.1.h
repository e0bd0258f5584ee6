/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * librefpool 0.1's public header, as released (git show
 * fb8e146:userspace/include/refpool.h), kept unchanged so that
 * refpool_compat.c is built as a program of that release was: it checks
 * that such a binary still works with the current library.
 */
/*
 * librefpool: the C library over /dev/refpool.
 *
 * Every call returns 0 (or a non-negative count) on success and a negative
 * errno on failure. Calls are thread-safe on one struct rp_pool and restart
 * by themselves when interrupted by a signal (EINTR).
 */
#ifndef REFPOOL_H
#define REFPOOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A session's name for one strong reference to an object; never 0. */
typedef uint32_t rp_handle_t;

/* An unguessable 128-bit name of an object, for rp_publish()/rp_lookup(). */
typedef struct {
	uint8_t bytes[16];
} rp_token_t;

/* Object flags: rp_info().flags, and rp_create*() flags (RP_SEALED only). */
#define RP_SEALED	(1U << 0)
#define RP_INTERNED	(1U << 1)

/* One session on the device; opaque. */
struct rp_pool;

struct rp_info {
	uint64_t id;		/* unique for the module's life, never reused */
	uint64_t size;		/* payload bytes */
	uint64_t refs;		/* handles, exported files, links, mappings */
	uint32_t nslots;	/* reference slots */
	uint32_t flags;		/* RP_SEALED, RP_INTERNED */
};

struct rp_stats {
	uint64_t objects;		/* live objects in the pool */
	uint64_t bytes;			/* payload bytes of live objects */
	uint64_t interned;		/* live interned objects */
	uint64_t intern_hits;		/* rp_intern() calls that found it */
	uint64_t gc_runs;		/* completed collections */
	uint64_t gc_collected;		/* objects freed by the collector */
	uint64_t session_handles;	/* handles held by this session */
	uint64_t max_objects;
	uint64_t max_bytes;
	uint64_t max_object_size;
	uint64_t max_slots;
	uint64_t max_user_bytes;
	uint64_t user_bytes;		/* payload bytes charged to this user */
	uint64_t intern_bytes_saved;	/* bytes interning did not allocate */
	uint64_t gc_time_ns;		/* time spent collecting */
};

/* Sessions. rp_open() uses $REFPOOL_DEVICE, else /dev/refpool. */
int rp_open(struct rp_pool **pool);
int rp_open_path(const char *path, struct rp_pool **pool);
void rp_close(struct rp_pool *pool);
int rp_fd(const struct rp_pool *pool);

/* Objects. */
int rp_create(struct rp_pool *p, uint64_t size, uint32_t nslots,
	      uint32_t flags, rp_handle_t *out);
int rp_create_from(struct rp_pool *p, const void *data, uint64_t len,
		   uint32_t flags, rp_handle_t *out);
int rp_dup(struct rp_pool *p, rp_handle_t h, rp_handle_t *out);
int rp_put(struct rp_pool *p, rp_handle_t h);
int rp_info(struct rp_pool *p, rp_handle_t h, struct rp_info *info);
int64_t rp_read(struct rp_pool *p, rp_handle_t h, uint64_t off,
		void *buf, uint64_t len);
int64_t rp_write(struct rp_pool *p, rp_handle_t h, uint64_t off,
		 const void *buf, uint64_t len);
int rp_seal(struct rp_pool *p, rp_handle_t h);

/*
 * Sharing. An exported fd (O_CLOEXEC) owns one reference until its last fd
 * and mapping are gone; rp_import() of it gives a new handle. rp_send() and
 * rp_recv() pass a handle over a UNIX socket (SCM_RIGHTS); a closed peer is
 * -EPIPE, never SIGPIPE. rp_map() maps the whole object MAP_SHARED with
 * prot PROT_READ or PROT_READ | PROT_WRITE; the mapping keeps the object
 * alive; unmap it with rp_unmap(addr, size).
 */
int rp_export(struct rp_pool *p, rp_handle_t h, int *fd);
int rp_import(struct rp_pool *p, int fd, rp_handle_t *out);
int rp_send(int unix_sock, struct rp_pool *p, rp_handle_t h);
int rp_recv(int unix_sock, struct rp_pool *p, rp_handle_t *out);
int rp_map(struct rp_pool *p, rp_handle_t h, int prot, void **addr);
int rp_unmap(void *addr, uint64_t size);

/*
 * Tokens: unguessable names, looked up from the publisher's IPC namespace.
 * A token is weak: rp_lookup() fails with -ENOENT once the object is gone.
 * rp_pin() publishes a token that owns a reference until rp_unpin(): the
 * object then outlives every process, as a shell script sharing it needs.
 */
int rp_publish(struct rp_pool *p, rp_handle_t h, rp_token_t *tok);
int rp_lookup(struct rp_pool *p, const rp_token_t *tok, rp_handle_t *out);
int rp_pin(struct rp_pool *p, rp_handle_t h, rp_token_t *tok);
int rp_unpin(struct rp_pool *p, const rp_token_t *tok);
int rp_token_to_str(const rp_token_t *tok, char out[33]);
int rp_token_from_str(const char *s, rp_token_t *tok);

/*
 * Python's memory model. rp_intern() returns the one live interned (sealed)
 * object with exactly these bytes: 1 when it existed, 0 when created.
 * rp_link() makes a parent's slot own a reference to a child (0 clears it);
 * rp_get_link() returns a new handle to a slot's child (-ENOENT if empty).
 * rp_gc() runs a full collection of unreachable cycles, started after the
 * call, and stores how many objects it freed (collected may be NULL).
 */
int rp_intern(struct rp_pool *p, const void *data, uint64_t len,
	      rp_handle_t *out);
int rp_link(struct rp_pool *p, rp_handle_t parent, uint32_t slot,
	    rp_handle_t child);
int rp_get_link(struct rp_pool *p, rp_handle_t parent, uint32_t slot,
		rp_handle_t *out);
int rp_gc(struct rp_pool *p, uint64_t *collected);

/*
 * Batches: many handle operations in one call (a syscall costs more than a
 * dup or a put). Each op runs as its own call would; its result (0 or a
 * negative errno) and, for RP_OP_DUP, the new handle are written back into
 * the array. rp_batch() returns 0 once all ran; -EINVAL for count 0 or over
 * 4096; -EFAULT for an unreadable array.
 */
#define RP_OP_DUP	1
#define RP_OP_PUT	2
#define RP_OP_SEAL	3

struct rp_op {
	uint32_t op;		/* RP_OP_* */
	rp_handle_t handle;	/* the handle it acts on */
	rp_handle_t out;	/* out: RP_OP_DUP's new handle; must be 0 */
	int32_t result;		/* out: 0 or a negative errno */
};

int rp_batch(struct rp_pool *p, struct rp_op *ops, uint32_t count);

/* Counters of the pool and of this session. */
int rp_stats(struct rp_pool *p, struct rp_stats *st);

/* A static description of a negative (or positive) errno value. */
const char *rp_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* REFPOOL_H */
