/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refpool-fuzz: what every file of tests/fuzz/ shares - the options, the
 * shared memory between the parent and the workers, the model of one thread
 * and the helpers that keep and check it. main.c says how to run it; ops.c
 * is the table of operations (add one there and in the ops-*.c file of its
 * concern).
 *
 * THE MODEL. Every thread keeps a model of the objects it can reach: id,
 * size, slots (which child each slot holds), flags, contents, and every
 * reference it holds (handles, exported fds, mappings, handles in flight in
 * its own socket, pins). Objects are of two kinds:
 *
 *  - exclusive: only this thread can reach them (made by it, never given
 *    away). Everything is exact: contents byte for byte, flags, refs (from
 *    the model's own count of handles, fds, mappings, pins, in-flight files
 *    and links), the errno of every refused call, that a token of an object
 *    the model says is dead gives -ENOENT, that rp_intern of a value only
 *    this thread uses says "created" or "existed" as the model says.
 *
 *  - shared: handed to another process (over a socket, or a token on the
 *    board) or obtained from one, and the whole subgraph reachable from
 *    such an object. Shared objects are frozen by convention: nobody writes
 *    bytes that differ from what they were when first shared (writes of the
 *    identical bytes are allowed, through rp_write() and mappings), and
 *    nobody changes their slots. The sharer records id, size, slots, flags,
 *    the creator's uid and a hash of the contents in a registry in shared
 *    memory before it shares; whoever receives the object checks it
 *    against that record.
 *
 * HANDLE NUMBERS are never predicted: SPEC §1 says a put number is not
 * handed out again until the session has allocated 2^31 others, so every
 * new handle (create, dup, intern, import, receive, lookup, get_link, a
 * batch's dups) must be a number the session never handed out before,
 * checked in held_add() against every number the process has seen.
 *
 * TWO USERS. Run as root, the workers alternate between two uids (1000 and
 * 1001 unless --uids): they share objects over sockets and tokens as any
 * two local users may, and the model checks what SPEC §1 keeps apart -
 * rp_intern() never answers with an object another user's rp_intern()
 * created ("existed" or not: no existence oracle), only an object's
 * creator's user may pin it, another user's pin cannot be unpinned
 * (-EPERM). Halfway through the run the quota phase (quota.c) stops the
 * workers, lowers max_user_bytes and then max_user_objects to a little
 * above what either user holds, and checks that one user filling its quota
 * is refused with -EDQUOT while the other still creates.
 *
 * LENIENCIES, each forced by concurrency the model cannot see:
 *
 *  L1 refs of a shared object: only a lower bound (the references this
 *     thread holds); other processes hold more.
 *  L2 SEALED of a shared object: anyone may seal it, so it may appear; once
 *     seen it must stay. rp_seal() of a shared object may be -EBUSY (another
 *     process's writable mapping) unless this thread holds one (then it must
 *     be -EBUSY); an identical-bytes write or a writable map of it may be
 *     -EPERM unless it is known sealed (then it must be -EPERM).
 *  L3 garbage ("limbo"): an exclusive object no handle of the thread reaches
 *     but a cycle keeps alive is freed by whichever collection comes first
 *     (automatic ones, other processes' rp_gc()). Until this thread's own
 *     rp_gc() returns, the refs of an object such garbage links to are a
 *     range, a token of a garbage object may give -ENOENT or the object (it
 *     is then alive again, with what it links to), and rp_intern() of a value
 *     held only by garbage may say "existed" or "created". After the
 *     thread's own rp_gc() all of it must be gone: exact again.
 *  L4 rp_intern() of a value every process uses: "existed" or "created"
 *     (unless this thread holds it: then "existed", same id).
 *  L5 sockets shared between processes: rp_send() may be -EAGAIN or
 *     -ETOOMANYREFS (a full queue), rp_recv() -EAGAIN (empty); tokens on
 *     the board may be -ENOENT (the object died); a registry record may be
 *     missing (the sharer was killed while writing it, or the registry is
 *     full): then the receiver only checks that the object stays the same.
 *  L6 pool-wide counters move with every process: during the run only lower
 *     bounds are checked (this thread's live objects); session_handles is
 *     exact, taken with the process's handle lock held for writing.
 *  L7 -EFBIG vs -EFAULT for a too-large rp_intern()/rp_create_from() length
 *     with a short buffer: both argument checks, the contract orders neither.
 *     Likewise any of several argument errors that apply at once.
 *  L8 the end: a file in flight in a socket of a killed worker is released
 *     by a deferred fput(), so the pool comes back to its baseline within
 *     a few seconds, not at once: the parent polls (rp_gc() and rp_stats())
 *     for up to 20 s.
 *  L9 a batch whose array another thread makes read-only or unmaps while it
 *     runs (batch(race)) may be refused (-EFAULT: then nothing ran, no
 *     result was written) or run (every result delivered); which one
 *     depends on who came first. Never a part of it.
 *  L10 events: only watches of exclusive objects are checked for
 *     completeness (FREED queued before the freeing call returned); a
 *     watch whose object the model stops tracking leaves the table, and a
 *     later event of it is accepted by its cookie alone. An OVERFLOW
 *     excuses every watch made before it (ops-events.c).
 *
 * Handles of one session are shared by the threads of a process, so a
 * "handle not held" test must know no other thread is making a handle with
 * that number: calls that make or drop handles hold a process-wide rwlock
 * for reading, tests of stale handles and session_handles hold it for
 * writing.
 *
 * Before the workers start, a few library calls are probed in a child
 * process each with bad result pointers: SPEC.md §2 says the library hands
 * them to the kernel untouched, which answers -EFAULT (--no-lib-probes
 * skips this).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef REFPOOL_FUZZ_H
#define REFPOOL_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/refpool.h>
#include <refpool.h>

#include "../common.h"

/* ------------------------------------------------------------------------ */
/* Options (main.c)                                                           */

struct fuzz_opt {
	uint64_t seed;
	uint64_t ops;		/* 0: no limit */
	int procs;
	int threads;
	double seconds;
	int kill_ms;		/* 0: no kills */
	int lib_probes;
	int quiet;
	uint32_t uid[2];	/* worker w runs as uid[w % nuids] */
	int nuids;		/* 0: workers keep the parent's uid */
	int quota;		/* the quota phase (see main.c) */
};

extern struct fuzz_opt opt;

#define MAX_PROCS	32
#define MAX_THREADS	16

/* ------------------------------------------------------------------------ */
/* The operations (ops.c)                                                     */

struct tctx;
struct rng;

/* One kind of call the threads make, chosen with probability weight/total. */
struct op {
	const char *name;	/* for reports and --weight NAME=N */
	unsigned weight;
	void (*fn)(struct tctx *c);
};

/* Room for the per-operation counters in shared memory. */
#define MAX_OPS		64

extern struct op fuzz_ops[];
extern const unsigned fuzz_nops;

int op_index(const char *name);
int op_pick(struct rng *r);

/* ------------------------------------------------------------------------ */
/* Random numbers (rng.c)                                                     */

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rnd64(struct rng *r);
uint64_t rnd(struct rng *r, uint64_t n);
void rnd_fill(struct rng *r, void *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Shared memory: counters, the registry of shared objects, the token board,  */
/* the pins (so that the parent can drop those of killed workers)            */

#define REG_BITS	16
#define REG_SIZE	(1u << REG_BITS)
#define REG_SLOTS	8

/* What a sharer knew of an object when it shared it. Written once. */
struct reg_entry {
	_Atomic uint64_t id;		/* claimed with a compare-and-swap */
	_Atomic uint32_t ready;		/* the rest is written */
	uint32_t nslots;
	uint64_t size;
	uint32_t flags;
	uint32_t more_slots;		/* slots >= REG_SLOTS may be linked */
	uint32_t owner;			/* the creator's uid, or UID_UNKNOWN */
	uint32_t pad;
	uint64_t hash;
	uint64_t slot_id[REG_SLOTS];	/* child ids, 0: empty */
};

#define BOARD_N		128
struct board_entry {
	_Atomic uint64_t seq;		/* odd while being written */
	uint64_t id;
	rp_token_t tok;
};

#define PIN_N		2048

struct worker_slot {
	_Atomic uint64_t npins;
	rp_token_t pins[PIN_N];
	_Atomic uint64_t board_next;
	struct board_entry board[BOARD_N];
	_Atomic int pid;
	_Atomic int incarnation;
	uint32_t uid;			/* the worker's uid */
};

/*
 * The user that created each interned object the workers saw created:
 * interning is per user, so no other user's rp_intern() may return it.
 */
#define IOWN_BITS	15
#define IOWN_SIZE	(1u << IOWN_BITS)
struct intern_owner {
	_Atomic uint64_t id;		/* claimed with a compare-and-swap */
	_Atomic uint32_t uid;		/* the creator's uid + 1; 0 until written */
};

#define UID_UNKNOWN	UINT32_MAX

struct shm {
	_Atomic int stop;
	_Atomic uint64_t ops;
	_Atomic uint64_t mismatches;
	_Atomic uint64_t printed;
	_Atomic uint64_t op_count[MAX_OPS];
	_Atomic uint64_t op_mismatch[MAX_OPS];
	_Atomic uint64_t op_einval_like[MAX_OPS];	/* refused as the model said */
	_Atomic uint64_t op_printed[MAX_OPS];
	uint64_t max_object_size;
	uint32_t max_slots;
	int inbox[MAX_PROCS][2];	/* [0]: receive end, [1]: send end */
	_Atomic uint64_t race_refused;	/* batch(race): refused (-EFAULT) */
	_Atomic uint64_t race_ran;	/* batch(race): ran to the end */
	_Atomic int pause;		/* the parent asks every thread to wait */
	_Atomic int paused;		/* threads waiting */
	struct intern_owner iown[IOWN_SIZE];
	struct reg_entry reg[REG_SIZE];
	struct worker_slot w[MAX_PROCS];
};

extern struct shm *shm;

/* ------------------------------------------------------------------------ */
/* The model of one thread                                                    */

#define MAXOBJ		48
#define MAXH		4
#define MAXF		2
#define MAXM		2
#define MAXTOK		2
#define MAXPIN		2
#define NUKEYS		24
#define NDEADTOK	32
#define NRECENT		16
#define MAX_MAP_SIZE	(1u << 20)
#define BUF_SIZE	((1u << 20) + 65536)

enum { ST_FREE, ST_LIVE, ST_LIMBO };

/* Slot contents: a model index >= 0, or one of these. */
#define SLOT_EMPTY	(-1)
#define SLOT_OTHER	(-2)	/* an object not in the model; slot_id says which */
#define SLOT_UNKNOWN	(-3)	/* a shared object's slot the registry did not record */

struct mapping {
	uint8_t *addr;
	size_t len;		/* rounded to pages */
	int rw;
	uint32_t npages;
	uint8_t *mapped;	/* per page */
	uint32_t left;		/* pages still mapped */
};

struct mobj {
	int state;
	int shared;
	int data_known;		/* shared objects: contents are in data */
	uint64_t id, size;
	uint32_t nslots, flags;
	uint8_t *data;
	int nh;
	rp_handle_t h[MAXH];
	int nfd;
	int fd[MAXF];
	int nmap;
	struct mapping map[MAXM];
	int nflight;		/* in the thread's own socket */
	int npin;
	rp_token_t pin[MAXPIN];
	int ntok;
	rp_token_t tok[MAXTOK];
	int32_t *slot;
	uint64_t *slot_id;
	int ukey;		/* unique interned value, or -1 */
	uint32_t owner;		/* the creator's uid, or UID_UNKNOWN */
	int mark;
};

struct recent {
	uint64_t opno;
	int op;
	uint64_t a, b, c;
	int64_t ret;
};

struct proc;

struct tctx {
	struct proc *pr;
	int w, inc, t;
	struct rng r;
	struct rp_pool *p;
	uint64_t opno;
	struct mobj o[MAXOBJ];
	uint64_t max_id;	/* highest id this thread has seen */
	/* unique interned values: the model object, the last id */
	int ukey_obj[NUKEYS];
	uint64_t ukey_last[NUKEYS];
	bool ukey_unknown[NUKEYS];	/* shared, then forgotten: others may hold it */
	/* tokens of objects the model knows are dead */
	rp_token_t dead[NDEADTOK];
	int ndead, dead_next;
	/* handles this thread put, for stale handle tests */
	rp_handle_t put_h[8];
	int nput;
	/* the thread's own socket: FIFO of model indexes in flight */
	int selfsock[2];
	int flight[4];
	int nflight;
	uint8_t *buf, *buf2;
	struct recent rec[NRECENT];
	int cur_op;
	uint64_t mism;
};

/*
 * The handle numbers a session handed out, each with how many times it is
 * held (0: put). SPEC: a number is not handed out again until the session
 * has allocated 2^31 others, so a number seen once is never new again.
 */
struct handle_set {
	pthread_mutex_t lock;
	uint32_t *num;		/* open addressing; 0: empty */
	uint32_t *count;
	size_t cap, n;
};

/* One worker process. */
struct proc {
	int w, inc;
	struct rp_pool *p;
	pthread_rwlock_t hlock;
	struct handle_set handles;	/* every number the session handed out */
	_Atomic long nheld;
	int devnull;
	uint8_t *guard;			/* PROT_NONE page, after rw_page */
	uint8_t *rw_page;		/* a page followed by the guard */
	uint8_t *ro_page;		/* PROT_READ, zeroes */
	uint8_t *ro_arg;		/* PROT_READ, for one raw test at a time */
	uint32_t uid;			/* this worker's */
};


extern struct proc P;

/* How many values every process interns (common_value()) */
#define NCOMMON 6

/* ------------------------------------------------------------------------ */
/* Helpers, by the file that defines them                                     */

/* rng.c */
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rnd64(struct rng *r);
uint64_t rnd(struct rng *r, uint64_t n);
void rnd_fill(struct rng *r, void *buf, size_t len);

/* report.c */
void report(struct tctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void note(struct tctx *c, uint64_t a, uint64_t b, uint64_t cc, int64_t ret);
bool expect(struct tctx *c, const char *what, int64_t got, int64_t want);
bool expect2(struct tctx *c, const char *what, int64_t got, int64_t w1,
	     int64_t w2);

/* model.c */
const struct reg_entry *reg_get(uint64_t id);
void hlock_r(void);
void hlock_w(void);
void hunlock(void);
void held_add(struct tctx *c, rp_handle_t h);
void held_del(rp_handle_t h);
bool held_by_process(rp_handle_t h);
void handle_set_init(struct handle_set *s);
int wmaps(const struct mobj *o);
int idx_of_id(struct tctx *c, uint64_t id);
int nfree(struct tctx *c);
int obj_new(struct tctx *c, uint64_t id, uint64_t size, uint32_t nslots,
	    uint32_t flags, bool shared);
void obj_drop(struct tctx *c, int i, bool dead);
void settle(struct tctx *c);
void observed_gone(struct tctx *c, int i);
void gc_done(struct tctx *c);
void refs_range(struct tctx *c, int i, uint64_t *lo, uint64_t *hi);
int pick(struct tctx *c, bool (*ok)(const struct mobj *o));
bool has_h(const struct mobj *o);
bool has_h_room(const struct mobj *o);
rp_handle_t any_h(struct tctx *c, const struct mobj *o);
void add_h(struct tctx *c, int i, rp_handle_t h);
void del_h(struct mobj *o, rp_handle_t h);
void put_handle(struct tctx *c, int i, rp_handle_t h);
void put_raw(struct tctx *c, rp_handle_t h);
void share(struct tctx *c, int i);
void intern_owner_check(struct tctx *c, uint64_t id, bool created, const char *what);

/* check.c */
bool check_info(struct tctx *c, int i, rp_handle_t h, const char *what);
bool check_bytes(struct tctx *c, int i, rp_handle_t h, uint64_t off,
		 uint64_t len, const char *what);
void check_slot(struct tctx *c, int i, uint32_t s);
void verify_obj(struct tctx *c, int i, bool deep);
void verify_all(struct tctx *c, bool deep);
void adopt(struct tctx *c, rp_handle_t h, uint64_t expect_id, const char *what);

/* args.c */
uint64_t rand_size(struct tctx *c);
uint32_t rand_nslots(struct tctx *c);
uint32_t rand_slot(struct tctx *c, uint32_t nslots);
uint64_t rand_off(struct tctx *c, uint64_t size);
uint64_t rand_len(struct tctx *c, uint64_t size, uint64_t off);
const void *bad_ptr(struct tctx *c, uint64_t len, const char **what);
uint64_t valid_bytes(const void *ptr);
uint64_t ukey_value(struct tctx *c, int k, uint8_t *buf);
uint64_t common_value(int k, uint8_t *buf);

/* ops-object.c */
int session_handles(struct tctx *c);

/* ops-map.c */
void drop_map(struct tctx *c, int i, int k);

/* ops-token.c */
void lookup_tok(struct tctx *c, int i, const rp_token_t *t, const char *what);

/* ops-events.c */
void events_forget(struct tctx *c, uint64_t id, bool dead);

/* worker.c */
void worker(int w, int inc);

/* quota.c */
int quota_phase(void);

/* probes.c */
extern const unsigned n_lib_probes;
int lib_probes(void);

/* ------------------------------------------------------------------------ */
/* The operations, by concern: ops-object.c, ops-map.c, ops-fd.c,             */
/* ops-token.c, ops-link.c, ops-raw.c, ops-batch.c, ops-events.c              */

void op_create(struct tctx *c);
void op_create_bad(struct tctx *c);
void op_create_from(struct tctx *c);
void op_create_from_bad(struct tctx *c);
void op_intern_uniq(struct tctx *c);
void op_intern_common(struct tctx *c);
void op_intern_bad(struct tctx *c);
void op_dup(struct tctx *c);
void op_put(struct tctx *c);
void op_info(struct tctx *c);
void op_read(struct tctx *c);
void op_read_bad(struct tctx *c);
void op_write(struct tctx *c);
void op_write_bad(struct tctx *c);
void op_seal(struct tctx *c);
void op_stats(struct tctx *c);
void op_stale(struct tctx *c);
void op_verify(struct tctx *c);
void op_map(struct tctx *c);
void op_map_write(struct tctx *c);
void op_map_read(struct tctx *c);
void op_unmap(struct tctx *c);
void op_mprotect(struct tctx *c);
void op_export(struct tctx *c);
void op_import(struct tctx *c);
void op_close_fd(struct tctx *c);
void op_import_bad(struct tctx *c);
void op_send_self(struct tctx *c);
void op_recv_self(struct tctx *c);
void op_send_ring(struct tctx *c);
void op_recv_ring(struct tctx *c);
void op_sock_err(struct tctx *c);
void op_publish(struct tctx *c);
void op_lookup(struct tctx *c);
void op_post_board(struct tctx *c);
void op_lookup_board(struct tctx *c);
void op_lookup_bad(struct tctx *c);
void op_pin(struct tctx *c);
void op_unpin(struct tctx *c);
void op_link(struct tctx *c);
void op_link_bad(struct tctx *c);
void op_get_link(struct tctx *c);
void op_gc(struct tctx *c);
void op_raw(struct tctx *c);
void op_batch(struct tctx *c);
void op_batch_bad(struct tctx *c);
void op_batch_race(struct tctx *c);
void op_pin_other(struct tctx *c);
void op_unpin_other(struct tctx *c);
void op_stale_race(struct tctx *c);
void op_watch(struct tctx *c);
void op_watch_token(struct tctx *c);
void op_watch_gc(struct tctx *c);
void op_watch_bad(struct tctx *c);
void op_read_events(struct tctx *c);
void op_dmabuf(struct tctx *c);

#endif /* REFPOOL_FUZZ_H */
