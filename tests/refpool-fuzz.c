// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz: a model-checked stress and fuzz test of /dev/refpool.
 *
 *   refpool-fuzz [--seed N] [--ops N] [--procs P] [--threads T]
 *                [--seconds S] [--kill-ms MS] [--no-kill] [--long]
 *                [--no-lib-probes] [--quiet] [--weight OPERATION=N]...
 *
 * Defaults: the bounded run, 4 processes x 3 threads for 60 s, a kill every
 * 2.5 s on average (about 60 s under TCG); --long is 30 minutes with 6 x 4
 * (make stress). --ops N stops after N operations in all.
 *
 * P worker processes (fork) of T threads each issue random valid and invalid
 * calls - every call of librefpool, and raw ioctls for what the library
 * cannot express - and check every answer against a userspace model. The
 * parent SIGKILLs a random worker every --kill-ms (on average) and starts it
 * again. At the end every worker lets go of everything, the parent drops
 * what killed workers left behind (their pins; the sockets holding their
 * handles in flight), runs rp_gc(), and the pool's objects, bytes and
 * interned counts must be back where they were before the run. The pool's
 * counters are global: run it alone.
 *
 * Exit status: 0 when no answer differed from the model and the pool came
 * back to its baseline; 1 on any mismatch; 2 on bad usage; 4 (kselftest's
 * SKIP) when /dev/refpool cannot be opened.
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
 *    nobody changes their slots. The sharer records id, size, slots, flags
 *    and a hash of the contents in a registry in shared memory before it
 *    shares; whoever receives the object checks it against that record.
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
 *
 * Handles of one session are shared by the threads of a process, so a
 * "handle not held" test must know no other thread is making a handle with
 * that number: calls that make or drop handles hold a process-wide rwlock
 * for reading, tests of stale handles and session_handles hold it for
 * writing.
 *
 * Before the workers start, a few library calls are probed in a child
 * process each with bad output pointers: SPEC.md says "a bad pointer yields
 * -EFAULT, never a crash in the library" (--no-lib-probes skips this).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/refpool.h>
#include <refpool.h>

#define KSFT_SKIP 4

/* ------------------------------------------------------------------------ */
/* Options                                                                    */

static struct {
	uint64_t seed;
	uint64_t ops;		/* 0: no limit */
	int procs;
	int threads;
	double seconds;
	int kill_ms;		/* 0: no kills */
	int lib_probes;
	int quiet;
} opt = {
	.procs = 4,
	.threads = 3,
	.seconds = 60,
	.kill_ms = 2500,
	.lib_probes = 1,
};

#define MAX_PROCS	32
#define MAX_THREADS	16

/* ------------------------------------------------------------------------ */
/* Random numbers: xoshiro256**, seeded with splitmix64                       */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd64(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* 0 .. n-1; n > 0 */
static uint64_t rnd(struct rng *r, uint64_t n)
{
	return n ? rnd64(r) % n : 0;
}

static void rnd_fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = rnd64(r);

		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		uint64_t v = rnd64(r);

		memcpy(p + i, &v, len - i);
	}
}

static uint64_t fnv(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                 */

enum op {
	OP_CREATE, OP_CREATE_BAD, OP_CREATE_FROM, OP_CREATE_FROM_BAD,
	OP_INTERN_UNIQ, OP_INTERN_COMMON, OP_INTERN_BAD,
	OP_DUP, OP_PUT, OP_INFO, OP_READ, OP_READ_BAD, OP_WRITE, OP_WRITE_BAD,
	OP_SEAL, OP_MAP, OP_MAP_WRITE, OP_MAP_READ, OP_UNMAP, OP_MPROTECT,
	OP_EXPORT, OP_IMPORT, OP_CLOSE_FD, OP_IMPORT_BAD,
	OP_SEND_SELF, OP_RECV_SELF, OP_SEND_RING, OP_RECV_RING, OP_SOCK_ERR,
	OP_PUBLISH, OP_LOOKUP, OP_POST_BOARD, OP_LOOKUP_BOARD, OP_LOOKUP_BAD,
	OP_PIN, OP_UNPIN, OP_LINK, OP_LINK_BAD, OP_GET_LINK, OP_GC, OP_STATS,
	OP_STALE, OP_RAW, OP_VERIFY, OP_BATCH, OP_BATCH_BAD,
	NOPS
};

static const char *const op_name[NOPS] = {
	"create", "create(bad)", "create_from", "create_from(bad)",
	"intern(unique)", "intern(common)", "intern(bad)",
	"dup", "put", "info", "read", "read(bad)", "write", "write(bad)",
	"seal", "map", "map:write", "map:read", "unmap", "mprotect",
	"export", "import", "close(fd)", "import(bad)",
	"send(self)", "recv(self)", "send(ring)", "recv(ring)", "send/recv(err)",
	"publish", "lookup", "publish(board)", "lookup(board)", "lookup(bad)",
	"pin", "unpin", "link", "link(bad)", "get_link", "gc", "stats",
	"stale handle", "raw ioctl", "verify", "batch", "batch(bad)",
};

static unsigned op_weight[NOPS] = {
	[OP_CREATE] = 60, [OP_CREATE_BAD] = 12, [OP_CREATE_FROM] = 40,
	[OP_CREATE_FROM_BAD] = 10, [OP_INTERN_UNIQ] = 20,
	[OP_INTERN_COMMON] = 15, [OP_INTERN_BAD] = 6,
	[OP_DUP] = 30, [OP_PUT] = 90, [OP_INFO] = 30, [OP_READ] = 40,
	[OP_READ_BAD] = 10, [OP_WRITE] = 40, [OP_WRITE_BAD] = 10,
	[OP_SEAL] = 10, [OP_MAP] = 15, [OP_MAP_WRITE] = 20, [OP_MAP_READ] = 10,
	[OP_UNMAP] = 15, [OP_MPROTECT] = 3,
	[OP_EXPORT] = 12, [OP_IMPORT] = 10, [OP_CLOSE_FD] = 14,
	[OP_IMPORT_BAD] = 5,
	[OP_SEND_SELF] = 8, [OP_RECV_SELF] = 8, [OP_SEND_RING] = 8,
	[OP_RECV_RING] = 10, [OP_SOCK_ERR] = 3,
	[OP_PUBLISH] = 10, [OP_LOOKUP] = 12, [OP_POST_BOARD] = 5,
	[OP_LOOKUP_BOARD] = 10, [OP_LOOKUP_BAD] = 4,
	[OP_PIN] = 5, [OP_UNPIN] = 5, [OP_LINK] = 60, [OP_LINK_BAD] = 8,
	[OP_GET_LINK] = 25, [OP_GC] = 3, [OP_STATS] = 4,
	[OP_STALE] = 8, [OP_RAW] = 15, [OP_VERIFY] = 4, [OP_BATCH] = 15,
	[OP_BATCH_BAD] = 4,
};

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
};

struct shm {
	_Atomic int stop;
	_Atomic uint64_t ops;
	_Atomic uint64_t mismatches;
	_Atomic uint64_t printed;
	_Atomic uint64_t op_count[NOPS];
	_Atomic uint64_t op_mismatch[NOPS];
	_Atomic uint64_t op_einval_like[NOPS];	/* refused as the model said */
	_Atomic uint64_t op_printed[NOPS];
	uint64_t max_object_size;
	uint32_t max_slots;
	int inbox[MAX_PROCS][2];	/* [0]: receive end, [1]: send end */
	struct reg_entry reg[REG_SIZE];
	struct worker_slot w[MAX_PROCS];
};

static struct shm *shm;

static void reg_put(uint64_t id, uint64_t size, uint32_t nslots, uint32_t flags,
		    uint64_t hash, const uint64_t *slot_id, bool more)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) >> (64 - REG_BITS);
	unsigned k;

	for (k = 0; k < 256; k++) {
		struct reg_entry *e = &shm->reg[(h + k) & (REG_SIZE - 1)];
		uint64_t cur = atomic_load(&e->id);

		if (cur == id)
			return;
		if (cur != 0)
			continue;
		if (!atomic_compare_exchange_strong(&e->id, &cur, id)) {
			if (cur == id)
				return;
			continue;
		}
		e->size = size;
		e->nslots = nslots;
		e->flags = flags;
		e->hash = hash;
		e->more_slots = more;
		memcpy(e->slot_id, slot_id, sizeof(e->slot_id));
		atomic_store(&e->ready, 1);
		return;
	}
}

static const struct reg_entry *reg_get(uint64_t id)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) >> (64 - REG_BITS);
	unsigned k;

	for (k = 0; k < 256; k++) {
		struct reg_entry *e = &shm->reg[(h + k) & (REG_SIZE - 1)];
		uint64_t cur = atomic_load(&e->id);

		if (cur == 0)
			return NULL;
		if (cur == id)
			return atomic_load(&e->ready) ? e : NULL;
	}
	return NULL;
}

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

/* One worker process. */
struct proc {
	int w, inc;
	struct rp_pool *p;
	pthread_rwlock_t hlock;
	_Atomic uint8_t *held;		/* handle numbers held, < HELD_MAX */
	_Atomic long nheld;
	int devnull;
	uint8_t *guard;			/* PROT_NONE page, after rw_page */
	uint8_t *rw_page;		/* a page followed by the guard */
	uint8_t *ro_page;		/* PROT_READ, zeroes */
	uint8_t *ro_arg;		/* PROT_READ, for one raw test at a time */
};

#define HELD_MAX	(1u << 16)

static struct proc P;

/* ------------------------------------------------------------------------ */
/* Reporting                                                                  */

static void report(struct tctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct tctx *c, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	int n, i;

	c->mism++;
	atomic_fetch_add(&shm->mismatches, 1);
	atomic_fetch_add(&shm->op_mismatch[c->cur_op], 1);
	/* the first few of each kind, 40 in all */
	if (atomic_fetch_add(&shm->op_printed[c->cur_op], 1) >= 4 ||
	    atomic_fetch_add(&shm->printed, 1) >= 40)
		return;
	n = snprintf(msg, sizeof(msg), "MISMATCH worker %d.%d thread %d op #%" PRIu64 " %s: ",
		     c->w, c->inc, c->t, c->opno, op_name[c->cur_op]);
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	n += snprintf(msg + n, sizeof(msg) - n, "\n  recent ops of this thread (op a b c -> ret):\n");
	for (i = 0; i < NRECENT && n < (int)sizeof(msg) - 200; i++) {
		struct recent *r = &c->rec[(c->opno + 1 + i) % NRECENT];

		if (!r->opno)
			continue;
		n += snprintf(msg + n, sizeof(msg) - n, "    #%" PRIu64 " %s %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " -> %" PRId64 "\n",
			      r->opno, op_name[r->op], r->a, r->b, r->c, r->ret);
	}
	if (write(2, msg, strlen(msg)) < 0)
		return;
}

static void note(struct tctx *c, uint64_t a, uint64_t b, uint64_t cc, int64_t ret)
{
	struct recent *r = &c->rec[c->opno % NRECENT];

	r->opno = c->opno;
	r->op = c->cur_op;
	r->a = a;
	r->b = b;
	r->c = cc;
	r->ret = ret;
}

static const char *en(long e)
{
	static __thread char bufs[4][64];
	static __thread int next;
	char *b = bufs[next++ & 3];

	if (e >= 0) {
		snprintf(b, 64, "%ld", e);
		return b;
	}
	snprintf(b, 64, "-%s", strerrorname_np(-e) ? strerrorname_np(-e) : "?");
	return b;
}

/* The call returned @got; the model says @want (a count or -errno). */
static bool expect(struct tctx *c, const char *what, int64_t got, int64_t want)
{
	if (got == want) {
		if (want < 0)
			atomic_fetch_add(&shm->op_einval_like[c->cur_op], 1);
		return true;
	}
	report(c, "%s: got %s, model says %s", what, en(got), en(want));
	return false;
}

static bool expect2(struct tctx *c, const char *what, int64_t got, int64_t w1,
		    int64_t w2)
{
	if (got == w1 || got == w2)
		return true;
	report(c, "%s: got %s, model says %s or %s", what, en(got), en(w1), en(w2));
	return false;
}

/* ------------------------------------------------------------------------ */
/* Handle bookkeeping of the process                                          */

static void hlock_r(void)
{
	pthread_rwlock_rdlock(&P.hlock);
}

static void hlock_w(void)
{
	pthread_rwlock_wrlock(&P.hlock);
}

static void hunlock(void)
{
	pthread_rwlock_unlock(&P.hlock);
}

static void held_add(struct tctx *c, rp_handle_t h)
{
	if (h == 0) {
		report(c, "a call returned handle 0");
		return;
	}
	/*
	 * A count, not a flag: another thread's put of the same number may
	 * not have been recorded yet. Only read with the lock held for writing.
	 */
	if (h < HELD_MAX)
		atomic_fetch_add(&P.held[h], 1);
	atomic_fetch_add(&P.nheld, 1);
}

static void held_del(rp_handle_t h)
{
	if (h < HELD_MAX)
		atomic_fetch_sub(&P.held[h], 1);
	atomic_fetch_sub(&P.nheld, 1);
}

/* ------------------------------------------------------------------------ */
/* Model helpers                                                              */

static int nholds(const struct mobj *o)
{
	return o->nh + o->nfd + o->nmap + o->nflight + o->npin;
}

static int wmaps(const struct mobj *o)
{
	int i, n = 0;

	for (i = 0; i < o->nmap; i++)
		n += o->map[i].rw;
	return n;
}

static int idx_of_id(struct tctx *c, uint64_t id)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state != ST_FREE && c->o[i].id == id)
			return i;
	return -1;
}

static int nfree(struct tctx *c)
{
	int i, n = 0;

	for (i = 0; i < MAXOBJ; i++)
		n += c->o[i].state == ST_FREE;
	return n;
}

static void seen_id(struct tctx *c, uint64_t id)
{
	if (id > c->max_id)
		c->max_id = id;
}

/* A new model object for @id (size/nslots known), linked into slots that name it. */
static int obj_new(struct tctx *c, uint64_t id, uint64_t size, uint32_t nslots,
		   uint32_t flags, bool shared)
{
	struct mobj *o;
	int i, j;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_FREE)
			break;
	if (i == MAXOBJ)
		return -1;
	o = &c->o[i];
	memset(o, 0, sizeof(*o));
	o->state = ST_LIVE;
	o->shared = shared;
	o->id = id;
	o->size = size;
	o->nslots = nslots;
	o->flags = flags;
	o->ukey = -1;
	o->data = calloc(1, size ? size : 1);
	o->slot = malloc(sizeof(*o->slot) * (nslots ? nslots : 1));
	o->slot_id = calloc(nslots ? nslots : 1, sizeof(*o->slot_id));
	if (!o->data || !o->slot || !o->slot_id) {
		fprintf(stderr, "refpool-fuzz: out of memory\n");
		_exit(1);
	}
	for (j = 0; j < (int)nslots; j++)
		o->slot[j] = SLOT_EMPTY;
	seen_id(c, id);
	/* Slots of other model objects that name this id now point here. */
	for (j = 0; j < MAXOBJ; j++) {
		struct mobj *q = &c->o[j];
		uint32_t s;

		if (q->state == ST_FREE || j == i)
			continue;
		for (s = 0; s < q->nslots; s++)
			if (q->slot[s] == SLOT_OTHER && q->slot_id[s] == id)
				q->slot[s] = i;
	}
	return i;
}

static void dead_token(struct tctx *c, const rp_token_t *t)
{
	c->dead[c->dead_next] = *t;
	c->dead_next = (c->dead_next + 1) % NDEADTOK;
	if (c->ndead < NDEADTOK)
		c->ndead++;
}

/* Drop a model object: @dead says the object is known to be gone. */
static void obj_drop(struct tctx *c, int i, bool dead)
{
	struct mobj *o = &c->o[i];
	int j, k;

	if (dead && !o->shared) {
		for (k = 0; k < o->ntok; k++)
			dead_token(c, &o->tok[k]);
	}
	for (j = 0; j < NUKEYS; j++)
		if (c->ukey_obj[j] == i) {
			c->ukey_obj[j] = -1;
			/* a shared one may live on in other processes */
			c->ukey_unknown[j] = !dead || o->shared;
		}
	for (j = 0; j < MAXOBJ; j++) {
		struct mobj *q = &c->o[j];
		uint32_t s;

		if (q->state == ST_FREE)
			continue;
		for (s = 0; s < q->nslots; s++)
			if (q->slot[s] == i)
				q->slot[s] = SLOT_OTHER;
	}
	free(o->data);
	free(o->slot);
	free(o->slot_id);
	memset(o, 0, sizeof(*o));
	o->state = ST_FREE;
}

/* Links into @i from model objects in state @st (or any state if st < 0). */
static int in_links(struct tctx *c, int i, int st)
{
	int j, n = 0;

	for (j = 0; j < MAXOBJ; j++) {
		struct mobj *q = &c->o[j];
		uint32_t s;

		if (q->state == ST_FREE || (st >= 0 && q->state != st))
			continue;
		for (s = 0; s < q->nslots; s++)
			n += q->slot[s] == i;
	}
	return n;
}

static void mark_from(struct tctx *c, int i)
{
	struct mobj *o = &c->o[i];
	uint32_t s;

	if (o->mark)
		return;
	o->mark = 1;
	for (s = 0; s < o->nslots; s++)
		if (o->slot[s] >= 0)
			mark_from(c, o->slot[s]);
}

/*
 * After references went: exclusive objects with no reference left die
 * (their links go with them, and so on); the ones no hold reaches are
 * garbage (limbo); shared objects nothing of ours reaches are forgotten.
 */
static void settle(struct tctx *c)
{
	bool again = true;
	int i;

	while (again) {
		again = false;
		for (i = 0; i < MAXOBJ; i++) {
			struct mobj *o = &c->o[i];

			if (o->state == ST_FREE || nholds(o) || in_links(c, i, -1))
				continue;
			obj_drop(c, i, true);
			again = true;
		}
	}
	for (i = 0; i < MAXOBJ; i++)
		c->o[i].mark = 0;
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state != ST_FREE && nholds(&c->o[i]))
			mark_from(c, i);
	for (i = 0; i < MAXOBJ; i++) {
		struct mobj *o = &c->o[i];

		if (o->state == ST_FREE)
			continue;
		if (o->mark)
			o->state = ST_LIVE;
		else if (o->shared)
			obj_drop(c, i, false);	/* only our garbage links to it */
		else
			o->state = ST_LIMBO;
	}
}

/* The object @i is seen gone (a garbage object): so is whatever links to it. */
static void observed_gone(struct tctx *c, int i)
{
	int j;
	bool again = true;

	c->o[i].mark = 2;
	while (again) {
		again = false;
		for (j = 0; j < MAXOBJ; j++) {
			struct mobj *q = &c->o[j];
			uint32_t s;

			if (q->state != ST_LIMBO || q->mark == 2)
				continue;
			for (s = 0; s < q->nslots; s++)
				if (q->slot[s] >= 0 && c->o[q->slot[s]].mark == 2) {
					q->mark = 2;
					again = true;
					break;
				}
		}
	}
	for (j = 0; j < MAXOBJ; j++)
		if (c->o[j].state == ST_LIMBO && c->o[j].mark == 2)
			obj_drop(c, j, true);
	settle(c);
}

/* Own rp_gc() returned: every garbage object of ours is gone. */
static void gc_done(struct tctx *c)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIMBO)
			obj_drop(c, i, true);
	settle(c);
}

/*
 * The range of refs the model allows: exact for an exclusive object but
 * for links from garbage (L3), a lower bound for a shared one (L1).
 */
static void refs_range(struct tctx *c, int i, uint64_t *lo, uint64_t *hi)
{
	struct mobj *o = &c->o[i];

	*lo = nholds(o) + in_links(c, i, ST_LIVE);
	*hi = o->shared ? UINT64_MAX : *lo + in_links(c, i, ST_LIMBO);
}

static int pick(struct tctx *c, bool (*ok)(const struct mobj *o))
{
	int cand[MAXOBJ], n = 0, i;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE && ok(&c->o[i]))
			cand[n++] = i;
	return n ? cand[rnd(&c->r, n)] : -1;
}

static bool has_h(const struct mobj *o)
{
	return o->nh > 0;
}

static bool has_h_room(const struct mobj *o)
{
	return o->nh > 0 && o->nh < MAXH;
}

static rp_handle_t any_h(struct tctx *c, const struct mobj *o)
{
	return o->h[rnd(&c->r, o->nh)];
}

static void add_h(struct tctx *c, int i, rp_handle_t h)
{
	struct mobj *o = &c->o[i];

	o->h[o->nh++] = h;
	(void)c;
}

/* Remove handle @h from the model object (not from the kernel). */
static void del_h(struct mobj *o, rp_handle_t h)
{
	int k;

	for (k = 0; k < o->nh; k++)
		if (o->h[k] == h) {
			o->h[k] = o->h[--o->nh];
			return;
		}
}

/* Put a handle in the kernel and the model. Caller holds no lock. */
static void put_handle(struct tctx *c, int i, rp_handle_t h)
{
	int ret;

	hlock_r();
	ret = rp_put(c->p, h);
	if (ret == 0)
		held_del(h);
	hunlock();
	expect(c, "rp_put", ret, 0);
	/* refused or not, the model lets go of it: nothing may loop on it */
	del_h(&c->o[i], h);
	if (ret == 0) {
		if (c->nput < 8)
			c->put_h[c->nput++] = h;
		else
			c->put_h[rnd(&c->r, 8)] = h;
	}
	settle(c);
}

/* Put a handle the model does not keep. */
static void put_raw(struct tctx *c, rp_handle_t h)
{
	int ret;

	hlock_r();
	ret = rp_put(c->p, h);
	if (ret == 0)
		held_del(h);
	hunlock();
	expect(c, "rp_put", ret, 0);
}

/* Registry record of a (now shared) object. */
static void reg_obj(struct tctx *c, int i)
{
	struct mobj *o = &c->o[i];
	uint64_t sid[REG_SLOTS] = { 0 };
	bool more = false;
	uint32_t s;

	for (s = 0; s < o->nslots; s++) {
		uint64_t v = 0;

		if (o->slot[s] >= 0)
			v = c->o[o->slot[s]].id;
		else if (o->slot[s] == SLOT_OTHER)
			v = o->slot_id[s];
		else if (o->slot[s] == SLOT_UNKNOWN)
			more = true;
		if (s < REG_SLOTS)
			sid[s] = v;
		else if (v)
			more = true;
	}
	if (o->nslots > REG_SLOTS && o->slot[0] == SLOT_UNKNOWN)
		more = true;
	reg_put(o->id, o->size, o->nslots, o->flags, fnv(o->data, o->size), sid, more);
}

/* Make @i and everything it reaches shared, recording each in the registry. */
static void share(struct tctx *c, int i)
{
	struct mobj *o = &c->o[i];
	uint32_t s;

	if (o->shared)
		return;
	o->shared = 1;
	o->data_known = 1;
	for (s = 0; s < o->nslots; s++)
		if (o->slot[s] >= 0)
			share(c, o->slot[s]);
	reg_obj(c, i);
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                     */

/*
 * Check rp_info() of handle @h against model object @i; @what names the
 * occasion. Returns false if the object is not what the model says.
 */
static bool check_info(struct tctx *c, int i, rp_handle_t h, const char *what)
{
	struct mobj *o = &c->o[i];
	struct rp_info info;
	uint64_t lo, hi;
	bool ok = true;
	int ret;

	ret = rp_info(c->p, h, &info);
	if (!expect(c, what, ret, 0))
		return false;
	if (info.id != o->id || info.size != o->size || info.nslots != o->nslots) {
		report(c, "%s: handle %u: id %" PRIu64 " size %" PRIu64 " nslots %u, model says id %" PRIu64 " size %" PRIu64 " nslots %u",
		       what, h, info.id, info.size, info.nslots, o->id, o->size, o->nslots);
		return false;
	}
	if (o->shared) {
		if ((info.flags & o->flags) != o->flags || (info.flags & ~(uint32_t)RP_SEALED) != (o->flags & ~(uint32_t)RP_SEALED)) {
			report(c, "%s: shared id %" PRIu64 ": flags %#x, model knows %#x", what, o->id, info.flags, o->flags);
			ok = false;
		}
		o->flags |= info.flags & RP_SEALED;
	} else if (info.flags != o->flags) {
		report(c, "%s: id %" PRIu64 ": flags %#x, model says %#x", what, o->id, info.flags, o->flags);
		ok = false;
	}
	refs_range(c, i, &lo, &hi);
	if (info.refs < lo || info.refs > hi) {
		char links[600] = "";
		int j, n = 0;
		uint32_t s;

		for (j = 0; j < MAXOBJ && n < (int)sizeof(links) - 40; j++) {
			if (c->o[j].state == ST_FREE)
				continue;
			for (s = 0; s < c->o[j].nslots; s++)
				if (c->o[j].slot[s] == i)
					n += snprintf(links + n, sizeof(links) - n, " %" PRIu64 "%s[%u]",
						      c->o[j].id, c->o[j].state == ST_LIMBO ? "(garbage)" : "", s);
		}
		if (hi == UINT64_MAX)
			report(c, "%s: shared id %" PRIu64 ": refs %" PRIu64 ", this thread alone holds %" PRIu64,
			       what, o->id, info.refs, lo);
		else
			report(c, "%s: id %" PRIu64 ": refs %" PRIu64 ", model says %" PRIu64 "%s (handles %d fds %d maps %d in-flight %d pins %d; links from:%s)",
			       what, o->id, info.refs, lo, hi != lo ? " or more, up to the garbage's links" : "",
			       o->nh, o->nfd, o->nmap, o->nflight, o->npin, links);
		ok = false;
	}
	return ok;
}

/* Read [off, off+len) and compare with the model. */
static bool check_bytes(struct tctx *c, int i, rp_handle_t h, uint64_t off,
			uint64_t len, const char *what)
{
	struct mobj *o = &c->o[i];
	int64_t want, got;

	want = off >= o->size ? 0 : (int64_t)(len < o->size - off ? len : o->size - off);
	got = rp_read(c->p, h, off, c->buf, len);
	if (!expect(c, what, got, want))
		return false;
	if ((o->shared && !o->data_known) || got <= 0)
		return true;
	if (memcmp(c->buf, o->data + off, got)) {
		uint64_t k;

		for (k = 0; k < (uint64_t)got && c->buf[k] == o->data[off + k]; k++)
			;
		report(c, "%s: id %" PRIu64 "%s size %" PRIu64 ": byte %" PRIu64 " is %#x, model says %#x",
		       what, o->id, o->shared ? " (shared)" : "", o->size, off + k,
		       c->buf[k], o->data[off + k]);
		return false;
	}
	return true;
}

/* Check a slot with rp_get_link(); the new handle is put again. */
static void check_slot(struct tctx *c, int i, uint32_t s)
{
	struct mobj *o = &c->o[i];
	rp_handle_t h = any_h(c, o), out = 0;
	struct rp_info info;
	int ret;

	hlock_r();
	ret = rp_get_link(c->p, h, s, &out);
	if (ret == 0)
		held_add(c, out);
	hunlock();
	if (o->slot[s] == SLOT_EMPTY) {
		expect(c, "rp_get_link(empty slot)", ret, -ENOENT);
	} else if (o->slot[s] == SLOT_UNKNOWN) {
		if (ret != 0 && ret != -ENOENT)
			expect(c, "rp_get_link(unrecorded slot)", ret, 0);
	} else {
		expect(c, "rp_get_link", ret, 0);
	}
	if (ret != 0)
		return;
	ret = rp_info(c->p, out, &info);
	expect(c, "rp_info(linked child)", ret, 0);
	if (ret == 0 && o->slot[s] != SLOT_UNKNOWN) {
		uint64_t want = o->slot[s] >= 0 ? c->o[o->slot[s]].id : o->slot_id[s];

		if (info.id != want)
			report(c, "rp_get_link(id %" PRIu64 ", slot %u): child id %" PRIu64 ", model says %" PRIu64,
			       o->id, s, info.id, want);
	}
	hlock_r();
	ret = rp_put(c->p, out);
	if (ret == 0)
		held_del(out);
	hunlock();
	expect(c, "rp_put(linked child)", ret, 0);
}

static void verify_obj(struct tctx *c, int i, bool deep)
{
	struct mobj *o = &c->o[i];
	rp_handle_t h;
	uint32_t s;

	if (o->state != ST_LIVE || !o->nh)
		return;
	h = any_h(c, o);
	if (!check_info(c, i, h, "rp_info"))
		return;
	if (deep) {
		check_bytes(c, i, h, 0, o->size, "rp_read(whole)");
		for (s = 0; s < o->nslots && s < 12; s++)
			check_slot(c, i, s);
	}
}

static void verify_all(struct tctx *c, bool deep)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		verify_obj(c, i, deep);
}

/*
 * An object this thread received from elsewhere (or found again): check it
 * against the registry or the model, and add handle @h to the model.
 */
static void adopt(struct tctx *c, rp_handle_t h, uint64_t expect_id, const char *what)
{
	const struct reg_entry *e;
	struct rp_info info;
	int i, ret;
	uint32_t s;

	ret = rp_info(c->p, h, &info);
	if (!expect(c, what, ret, 0) || (expect_id && info.id != expect_id)) {
		if (ret == 0)
			report(c, "%s: got id %" PRIu64 ", token was published for id %" PRIu64, what, info.id, expect_id);
		goto put;
	}
	i = idx_of_id(c, info.id);
	if (i >= 0) {
		if (c->o[i].nh >= MAXH || c->o[i].state != ST_LIVE) {
			if (c->o[i].state == ST_LIMBO)
				report(c, "%s: id %" PRIu64 " is garbage in the model, yet reached", what, info.id);
			goto put;
		}
		add_h(c, i, h);
		check_info(c, i, h, what);
		check_bytes(c, i, h, 0, c->o[i].size, what);
		return;
	}
	if (info.size > MAX_MAP_SIZE * 2ull || info.nslots > 4096)
		goto put;
	i = obj_new(c, info.id, info.size, info.nslots, info.flags, true);
	if (i < 0)
		goto put;
	add_h(c, i, h);
	ret = rp_read(c->p, h, 0, c->o[i].data, info.size);
	if (!expect(c, what, ret, (int64_t)info.size))
		goto drop;
	c->o[i].data_known = 1;
	e = reg_get(info.id);
	if (!e) {
		/* L5: no record; it must at least stay as it is now */
		for (s = 0; s < info.nslots; s++)
			c->o[i].slot[s] = SLOT_UNKNOWN;
		return;
	}
	if (e->size != info.size || e->nslots != info.nslots ||
	    (info.flags & e->flags) != e->flags ||
	    (info.flags & RP_INTERNED) != (e->flags & RP_INTERNED)) {
		report(c, "%s: id %" PRIu64 ": size %" PRIu64 " nslots %u flags %#x; the sharer recorded size %" PRIu64 " nslots %u flags %#x",
		       what, info.id, info.size, info.nslots, info.flags, e->size, e->nslots, e->flags);
		goto drop;
	}
	if (fnv(c->o[i].data, info.size) != e->hash) {
		report(c, "%s: id %" PRIu64 " size %" PRIu64 ": contents differ from what the sharer recorded",
		       what, info.id, info.size);
		goto drop;
	}
	for (s = 0; s < info.nslots; s++) {
		if (s >= REG_SLOTS) {
			c->o[i].slot[s] = e->more_slots ? SLOT_UNKNOWN : SLOT_EMPTY;
		} else if (e->slot_id[s]) {
			int k = idx_of_id(c, e->slot_id[s]);

			c->o[i].slot_id[s] = e->slot_id[s];
			c->o[i].slot[s] = k >= 0 && k != i ? k : SLOT_OTHER;
			if (e->slot_id[s] == info.id)
				c->o[i].slot[s] = i;
		}
	}
	return;
drop:
	/* The model cannot follow it: forget it (its handle goes). */
	del_h(&c->o[i], h);
	obj_drop(c, i, false);
put:
	hlock_r();
	if (rp_put(c->p, h) == 0)
		held_del(h);
	hunlock();
	settle(c);
}

/* ------------------------------------------------------------------------ */
/* Argument generators                                                        */

static uint64_t rand_size(struct tctx *c)
{
	uint64_t k = rnd(&c->r, 100);

	if (k < 30)
		return rnd(&c->r, 90);
	if (k < 55)
		return 90 + rnd(&c->r, 4096 - 90);
	if (k < 70)
		return 4096 * (1 + rnd(&c->r, 3));
	if (k < 92)
		return 4097 + rnd(&c->r, 3 * 4096);
	if (k < 99)
		return rnd(&c->r, 256 * 1024);
	return MAX_MAP_SIZE - rnd(&c->r, 4096);
}

static uint32_t rand_nslots(struct tctx *c)
{
	uint64_t k = rnd(&c->r, 100);

	if (k < 45)
		return 0;
	if (k < 88)
		return 1 + rnd(&c->r, 6);
	if (k < 99)
		return 7 + rnd(&c->r, 60);
	return shm->max_slots;
}

/* A slot index, mostly low ones. */
static uint32_t rand_slot(struct tctx *c, uint32_t nslots)
{
	if (!nslots)
		return 0;
	if (nslots > 12 && rnd(&c->r, 8))
		return rnd(&c->r, 12);
	return rnd(&c->r, nslots);
}

/* An offset for a read: inside, at the end, past it, near 2^64. */
static uint64_t rand_off(struct tctx *c, uint64_t size)
{
	switch (rnd(&c->r, 10)) {
	case 0:
		return size;
	case 1:
		return size + 1 + rnd(&c->r, 100);
	case 2:
		return UINT64_MAX - rnd(&c->r, 4096);
	case 3:
		return (1ULL << 63) + rnd(&c->r, 4096);
	case 4:
		return 0;
	default:
		return size ? rnd(&c->r, size) : 0;
	}
}

static uint64_t rand_len(struct tctx *c, uint64_t size, uint64_t off)
{
	uint64_t room = off < size ? size - off : 0;

	switch (rnd(&c->r, 10)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - rnd(&c->r, 4096);
	case 2:
		return room + 1 + rnd(&c->r, 4096);
	case 3:
		return room;
	default:
		return room ? 1 + rnd(&c->r, room) : rnd(&c->r, 16);
	}
}

/* A pointer the kernel cannot read or write, and a short description. */
static const void *bad_ptr(struct tctx *c, uint64_t len, const char **what)
{
	switch (rnd(&c->r, 5)) {
	case 0:
		*what = "unmapped page";
		return P.guard;
	case 1:
		*what = "kernel address";
		return (void *)0xffff888000100000ULL;
	case 2:
		*what = "non-canonical address";
		return (void *)0x8000000000000000ULL;
	case 3:
		*what = "address 16";
		return (void *)16;
	default:
		/* The last bytes of a page, the rest in the guard page. */
		*what = "straddles into an unmapped page";
		if (len < 2)
			return P.guard;
		return P.guard - (len < 4096 ? len / 2 : 2048);
	}
}

/* How many bytes from @ptr on the kernel can access (bad_ptr()'s pointers). */
static uint64_t valid_bytes(const void *ptr)
{
	const uint8_t *p = ptr;

	if (p >= P.rw_page && p < P.guard)
		return P.guard - p;
	return 0;
}

/* Unique values: nobody else interns them. */
static uint64_t ukey_value(struct tctx *c, int k, uint8_t *buf)
{
	uint64_t len = 24 + (uint64_t)k * 37 % 400, i;
	struct rng r;

	if (k == NUKEYS - 1)
		len = 5000;
	rng_seed(&r, opt.seed ^ ((uint64_t)c->w << 48) ^ ((uint64_t)c->inc << 32) ^
		 ((uint64_t)c->t << 16) ^ (uint64_t)k);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd64(&r);
	snprintf((char *)buf, 24, "U%d.%d.%d.%d:", c->w, c->inc, c->t, k);
	return len;
}

/* Values every process interns. */
#define NCOMMON 6
static uint64_t common_value(int k, uint8_t *buf)
{
	static const uint64_t lens[NCOMMON] = { 0, 1, 2, 100, 300, 4100 };
	uint64_t i;

	for (i = 0; i < lens[k]; i++)
		buf[i] = (uint8_t)(i * 7 + k);
	if (k == 1)
		buf[0] = '4';
	return lens[k];
}

/* ------------------------------------------------------------------------ */
/* The operations                                                             */

/* A new handle @h from a create-like call: add the object to the model. */
static int new_exclusive(struct tctx *c, rp_handle_t h, uint64_t size, uint32_t nslots,
			 uint32_t flags, const void *data, const char *what)
{
	struct rp_info info;
	int i, ret;

	ret = rp_info(c->p, h, &info);
	if (!expect(c, what, ret, 0))
		return -1;
	if (info.id <= c->max_id)
		report(c, "%s: new object has id %" PRIu64 ", not above %" PRIu64 " already seen",
		       what, info.id, c->max_id);
	i = obj_new(c, info.id, size, nslots, flags, false);
	if (i < 0)
		return -1;
	if (data)
		memcpy(c->o[i].data, data, size);
	add_h(c, i, h);
	check_info(c, i, h, what);
	if (rnd(&c->r, 4) == 0 || size <= 256)
		check_bytes(c, i, h, 0, size, what);
	return i;
}

static void op_create(struct tctx *c)
{
	uint64_t size = rand_size(c);
	uint32_t nslots = rand_nslots(c);
	uint32_t flags = rnd(&c->r, 8) == 0 ? RP_SEALED : 0;
	rp_handle_t h = 0;
	int ret;

	if (nfree(c) < 4)
		return;
	hlock_r();
	ret = rp_create(c->p, size, nslots, flags, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, size, nslots, flags, ret);
	if (!expect(c, "rp_create", ret, 0))
		return;
	if (new_exclusive(c, h, size, nslots, flags, NULL, "rp_create") < 0)
		put_raw(c, h);
}

static int raw(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : ret;
}

static int session_handles(struct tctx *c)
{
	struct rp_stats st;
	int ret = rp_stats(c->p, &st);

	expect(c, "rp_stats", ret, 0);
	return ret ? -1 : (int)st.session_handles;
}

static void op_create_bad(struct tctx *c)
{
	uint64_t size = rand_size(c);
	uint32_t nslots = rand_nslots(c), flags = 0;
	int want, ret, before = 0, k = rnd(&c->r, 5);
	bool strict = rnd(&c->r, 8) == 0;
	rp_handle_t h = 0;

	switch (k) {
	case 0:
		flags = 1u << (1 + rnd(&c->r, 31));
		want = -EINVAL;
		break;
	case 1:
		size = shm->max_object_size + 1 + rnd(&c->r, 3) * rnd64(&c->r) % (UINT64_MAX - shm->max_object_size - 1);
		want = -EFBIG;
		break;
	case 2:
		nslots = shm->max_slots + 1 + (uint32_t)rnd(&c->r, UINT32_MAX - shm->max_slots);
		want = -EFBIG;
		break;
	case 3: {
		struct refpool_create a = { .size = size, .nslots = nslots, .pad = 1 + (uint32_t)rnd(&c->r, 100) };

		if (strict) {
			hlock_w();
			before = session_handles(c);
		}
		ret = raw(rp_fd(c->p), REFPOOL_IOC_CREATE, &a);
		goto check;
	}
	default:
		flags = RP_INTERNED | (rnd(&c->r, 2) ? RP_SEALED : 0);
		want = -EINVAL;
		break;
	}
	if (strict) {
		hlock_w();
		before = session_handles(c);
	} else {
		hlock_r();
	}
	ret = rp_create(c->p, size, nslots, flags, &h);
	if (!strict)
		hunlock();
	note(c, size, nslots, flags, ret);
	expect(c, "rp_create(invalid)", ret, want);
	if (strict) {
		if (session_handles(c) != before)
			report(c, "refused rp_create changed session_handles");
		hunlock();
	}
	return;
check:
	note(c, size, nslots, 0, ret);
	expect(c, "CREATE with nonzero pad", ret, -EINVAL);
	if (strict) {
		if (session_handles(c) != before)
			report(c, "refused CREATE changed session_handles");
		hunlock();
	}
}

static void op_create_from(struct tctx *c)
{
	uint64_t len = rand_size(c);
	uint32_t flags = rnd(&c->r, 6) == 0 ? RP_SEALED : 0;
	rp_handle_t h = 0;
	int ret;

	if (nfree(c) < 4)
		return;
	rnd_fill(&c->r, c->buf2, len);
	hlock_r();
	ret = rp_create_from(c->p, c->buf2, len, flags, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, len, flags, 0, ret);
	if (!expect(c, "rp_create_from", ret, 0))
		return;
	if (new_exclusive(c, h, len, 0, flags, c->buf2, "rp_create_from") < 0)
		put_raw(c, h);
}

static void op_create_from_bad(struct tctx *c)
{
	uint64_t len = 1 + rand_size(c);
	const char *what = "NULL";
	const void *ptr = NULL;
	rp_handle_t h = 0;
	int ret, want = -EFAULT, before = 0;
	bool strict = rnd(&c->r, 6) == 0;

	switch (rnd(&c->r, 6)) {
	case 0:
		break;
	case 1:
		len = shm->max_object_size + 1 + rnd(&c->r, 1u << 30);
		ptr = c->buf2;
		what = "too long";
		want = -EFBIG;
		break;
	default:
		ptr = bad_ptr(c, len, &what);
		break;
	}
	if (strict) {
		hlock_w();
		before = session_handles(c);
	} else {
		hlock_r();
	}
	ret = rp_create_from(c->p, ptr, len, 0, &h);
	if (ret == 0)
		held_add(c, h);
	if (!strict)
		hunlock();
	note(c, (uintptr_t)ptr, len, 0, ret);
	if (want == -EFBIG)
		expect2(c, "rp_create_from(length over the limit)", ret, -EFBIG, -EFAULT); /* L7 */
	else if (!expect(c, what, ret, want) && ret == 0)
		report(c, "rp_create_from(%s) made handle %u", what, h);
	if (strict) {
		if (session_handles(c) != before + (ret == 0))
			report(c, "refused rp_create_from(%s) changed session_handles", what);
		hunlock();
	}
	if (ret == 0) {
		hlock_r();
		if (rp_put(c->p, h) == 0)
			held_del(h);
		hunlock();
	}
}

static void op_intern_uniq(struct tctx *c)
{
	int k = rnd(&c->r, NUKEYS), i = c->ukey_obj[k], ret, j;
	uint64_t len = ukey_value(c, k, c->buf2);
	struct rp_info info;
	rp_handle_t h = 0;

	if (nfree(c) < 4 || (i >= 0 && c->o[i].nh >= MAXH))
		return;
	hlock_r();
	ret = rp_intern(c->p, c->buf2, len, &h);
	if (ret >= 0)
		held_add(c, h);
	hunlock();
	note(c, k, len, i >= 0 ? c->o[i].id : 0, ret);
	if (ret < 0) {
		expect(c, "rp_intern(unique value)", ret, 0);
		return;
	}
	if (rp_info(c->p, h, &info) != 0) {
		report(c, "rp_info of an interned handle failed");
		return;
	}
	if (i < 0 && (j = idx_of_id(c, info.id)) >= 0) {
		/* given away, forgotten, then reached again another way */
		if (!c->o[j].shared || c->o[j].state != ST_LIVE || !c->ukey_unknown[k] ||
		    info.id != c->ukey_last[k] || ret != 1)
			report(c, "rp_intern(unique value %d) returned id %" PRIu64 " (%s), model object %s",
			       k, info.id, ret ? "existed" : "created",
			       c->o[j].shared ? "shared" : "exclusive");
		c->o[j].ukey = k;
		c->ukey_obj[k] = j;
		c->ukey_unknown[k] = false;
		if (c->o[j].nh >= MAXH || c->o[j].state != ST_LIVE) {
			put_raw(c, h);
			return;
		}
		add_h(c, j, h);
		check_info(c, j, h, "rp_intern");
		return;
	}
	if (i >= 0 && c->o[i].state == ST_LIVE) {
		expect(c, "rp_intern(value held)", ret, 1);
		if (info.id != c->o[i].id)
			report(c, "rp_intern(value held as id %" PRIu64 ") returned id %" PRIu64, c->o[i].id, info.id);
		add_h(c, i, h);
		check_info(c, i, h, "rp_intern");
		return;
	}
	if (i >= 0 && c->o[i].state == ST_LIMBO) {
		/* L3: garbage holds it - existed (alive again) or created */
		if (ret == 1 && info.id == c->o[i].id) {
			add_h(c, i, h);
			settle(c);
			check_info(c, i, h, "rp_intern(of garbage)");
			return;
		}
		if (ret == 1) {
			report(c, "rp_intern: existed, but id %" PRIu64 " is not %" PRIu64, info.id, c->o[i].id);
			return;
		}
		observed_gone(c, i);
	} else if (c->ukey_unknown[k]) {
		/* we gave it away, then forgot it: others may still hold it */
		if (ret == 1) {
			if (info.id != c->ukey_last[k])
				report(c, "rp_intern: existed as id %" PRIu64 ", the value was id %" PRIu64,
				       info.id, c->ukey_last[k]);
			j = obj_new(c, info.id, len, 0, RP_SEALED | RP_INTERNED, true);
			if (j < 0) {
				put_raw(c, h);
				return;
			}
			memcpy(c->o[j].data, c->buf2, len);
			c->o[j].data_known = 1;
			c->o[j].ukey = k;
			c->ukey_obj[k] = j;
			add_h(c, j, h);
			check_info(c, j, h, "rp_intern(value given away)");
			return;
		}
	} else {
		expect(c, "rp_intern(value nobody holds)", ret, 0);
	}
	c->ukey_unknown[k] = false;
	if (info.id <= c->ukey_last[k] || info.id <= c->max_id)
		report(c, "rp_intern created id %" PRIu64 ", not above %" PRIu64, info.id,
		       c->max_id > c->ukey_last[k] ? c->max_id : c->ukey_last[k]);
	j = obj_new(c, info.id, len, 0, RP_SEALED | RP_INTERNED, false);
	if (j < 0) {
		put_raw(c, h);
		return;
	}
	memcpy(c->o[j].data, c->buf2, len);
	c->o[j].ukey = k;
	c->ukey_obj[k] = j;
	c->ukey_last[k] = info.id;
	add_h(c, j, h);
	check_info(c, j, h, "rp_intern");
	check_bytes(c, j, h, 0, len, "rp_intern");
}

static void op_intern_common(struct tctx *c)
{
	int k = rnd(&c->r, NCOMMON), i, ret;
	uint64_t len = common_value(k, c->buf2);
	struct rp_info info;
	rp_handle_t h = 0;

	if (nfree(c) < 4)
		return;
	hlock_r();
	ret = rp_intern(c->p, c->buf2, len, &h);
	if (ret >= 0)
		held_add(c, h);
	hunlock();
	note(c, k, len, 0, ret);
	if (ret < 0) {
		expect(c, "rp_intern(common value)", ret, 0);
		return;
	}
	if (ret > 1)
		report(c, "rp_intern returned %d", ret);
	if (rp_info(c->p, h, &info) != 0) {
		report(c, "rp_info of an interned handle failed");
		return;
	}
	i = idx_of_id(c, info.id);
	if (i < 0) {
		/* if we hold the value, the kernel must have found it (L4) */
		int j;

		for (j = 0; j < MAXOBJ; j++) {
			struct mobj *o = &c->o[j];

			if (o->state == ST_LIVE && (o->flags & RP_INTERNED) &&
			    o->size == len && !memcmp(o->data, c->buf2, len))
				report(c, "rp_intern(common value %d) gave id %" PRIu64 " while this thread holds id %" PRIu64,
				       k, info.id, o->id);
		}
		i = obj_new(c, info.id, len, 0, RP_SEALED | RP_INTERNED, true);
		if (i < 0) {
			put_raw(c, h);
			return;
		}
		memcpy(c->o[i].data, c->buf2, len);
		c->o[i].data_known = 1;
	} else if (c->o[i].state == ST_LIVE) {
		expect(c, "rp_intern(common value held)", ret, 1);
		if (c->o[i].nh >= MAXH) {
			put_raw(c, h);
			return;
		}
	} else {
		put_raw(c, h);
		return;
	}
	add_h(c, i, h);
	settle(c);
	check_info(c, i, h, "rp_intern(common)");
	check_bytes(c, i, h, 0, len, "rp_intern(common)");
}

static void op_intern_bad(struct tctx *c)
{
	uint64_t len = 1 + rnd(&c->r, 6000);
	const char *what = "bad buffer";
	const void *ptr;
	rp_handle_t h = 0;
	int ret;

	if (rnd(&c->r, 3) == 0) {
		len = shm->max_object_size + 1 + rnd64(&c->r) % (1ULL << 40);
		hlock_r();
		ret = rp_intern(c->p, c->buf2, len, &h);
		if (ret >= 0)
			held_add(c, h);
		hunlock();
		note(c, len, 0, 0, ret);
		expect2(c, "rp_intern(length over the limit)", ret, -EFBIG, -EFAULT); /* L7 */
		return;
	}
	ptr = bad_ptr(c, len, &what);
	hlock_r();
	ret = rp_intern(c->p, ptr, len, &h);
	if (ret >= 0)
		held_add(c, h);
	hunlock();
	note(c, (uintptr_t)ptr, len, 0, ret);
	expect(c, what, ret, -EFAULT);
}

static void op_dup(struct tctx *c)
{
	int i = pick(c, has_h_room), ret;
	rp_handle_t h, out = 0;

	if (i < 0)
		return;
	h = any_h(c, &c->o[i]);
	hlock_r();
	ret = rp_dup(c->p, h, &out);
	if (ret == 0)
		held_add(c, out);
	hunlock();
	note(c, h, c->o[i].id, out, ret);
	if (!expect(c, "rp_dup", ret, 0))
		return;
	if (out == h)
		report(c, "rp_dup(%u) returned the same handle", h);
	add_h(c, i, out);
	check_info(c, i, out, "rp_info after rp_dup");
}

static void op_put(struct tctx *c)
{
	int i = pick(c, has_h);
	rp_handle_t h;

	if (i < 0)
		return;
	h = any_h(c, &c->o[i]);
	note(c, h, c->o[i].id, 0, 0);
	put_handle(c, i, h);
}

static void op_info(struct tctx *c)
{
	int i = pick(c, has_h);

	if (i < 0)
		return;
	note(c, c->o[i].id, 0, 0, 0);
	verify_obj(c, i, false);
}

static void op_read(struct tctx *c)
{
	int i = pick(c, has_h);
	uint64_t off, len;

	if (i < 0)
		return;
	off = rand_off(c, c->o[i].size);
	len = rand_len(c, c->o[i].size, off);
	note(c, c->o[i].id, off, len, 0);
	check_bytes(c, i, any_h(c, &c->o[i]), off, len, "rp_read");
}

static void op_read_bad(struct tctx *c)
{
	int i = pick(c, has_h);
	uint64_t off, len;
	const char *what;
	const void *ptr;
	int64_t ret, want;

	if (i < 0)
		return;
	off = rand_off(c, c->o[i].size);
	len = rand_len(c, c->o[i].size, off);
	ptr = bad_ptr(c, len, &what);
	if (rnd(&c->r, 4) == 0)
		ptr = P.ro_page, what = "read-only page";
	ret = rp_read(c->p, any_h(c, &c->o[i]), off, (void *)ptr, len);
	note(c, c->o[i].id, off, len, ret);
	want = off >= c->o[i].size ? 0 : (int64_t)(len < c->o[i].size - off ? len : c->o[i].size - off);
	if ((uint64_t)want > valid_bytes(ptr))
		want = -EFAULT;
	expect(c, what, ret, want);
}

static bool writable_excl(const struct mobj *o)
{
	return o->nh > 0 && !o->shared;
}

static void op_write(struct tctx *c)
{
	int i = pick(c, has_h);
	struct mobj *o;
	uint64_t off, len;
	int64_t ret, want;
	bool in_range;

	if (i < 0)
		return;
	o = &c->o[i];
	if (rnd(&c->r, 6) == 0) {
		off = rand_off(c, o->size);
		len = rand_len(c, o->size, off);
	} else {
		off = o->size ? rnd(&c->r, o->size + 1) : 0;
		len = rnd(&c->r, o->size - off + 1);
	}
	in_range = off <= o->size && len <= o->size - off;
	if (!in_range) {
		/* nothing is written: any bytes */
		ret = rp_write(c->p, any_h(c, o), off, c->buf2, len);
		note(c, o->id, off, len, ret);
		expect(c, "rp_write(out of range)", ret, -ERANGE);
		return;
	}
	if (o->shared) {
		/* identical bytes only (L2) */
		memcpy(c->buf2, o->data + off, len);
		ret = rp_write(c->p, any_h(c, o), off, c->buf2, len);
		note(c, o->id, off, len, ret);
		if (o->flags & RP_SEALED)
			expect(c, "rp_write(sealed shared)", ret, -EPERM);
		else if (ret == -EPERM)
			o->flags |= RP_SEALED;
		else
			expect(c, "rp_write(shared, same bytes)", ret, (int64_t)len);
		return;
	}
	rnd_fill(&c->r, c->buf2, len);
	ret = rp_write(c->p, any_h(c, o), off, c->buf2, len);
	note(c, o->id, off, len, ret);
	want = (o->flags & RP_SEALED) ? -EPERM : (int64_t)len;
	if (expect(c, "rp_write", ret, want) && ret > 0)
		memcpy(o->data + off, c->buf2, len);
	if (rnd(&c->r, 3) == 0)
		check_bytes(c, i, any_h(c, o), off > 8 ? off - 8 : 0, len + 16, "rp_read after rp_write");
}

static void op_write_bad(struct tctx *c)
{
	int i = pick(c, writable_excl);
	struct mobj *o;
	uint64_t off, len;
	const char *what;
	const void *ptr;
	int64_t ret, want;

	if (i < 0)
		return;
	o = &c->o[i];
	off = o->size ? rnd(&c->r, o->size + 1) : 0;
	len = rnd(&c->r, o->size - off + 1);
	ptr = bad_ptr(c, len, &what);
	ret = rp_write(c->p, any_h(c, o), off, ptr, len);
	note(c, o->id, off, len, ret);
	if (o->flags & RP_SEALED)
		want = -EPERM;
	else
		want = len > valid_bytes(ptr) ? -EFAULT : (int64_t)len;
	if (expect(c, what, ret, want) && ret > 0)
		memcpy(o->data + off, ptr, len);
	/* a refused write changes nothing */
	check_bytes(c, i, any_h(c, o), off, len, "rp_read after a refused rp_write");
}

static void op_seal(struct tctx *c)
{
	int i = pick(c, has_h), ret;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	ret = rp_seal(c->p, any_h(c, o));
	note(c, o->id, wmaps(o), o->shared, ret);
	if (wmaps(o)) {
		expect(c, "rp_seal(writable mapping)", ret, -EBUSY);
	} else if (o->shared) {
		expect2(c, "rp_seal(shared)", ret, 0, -EBUSY);	/* L2 */
	} else {
		expect(c, "rp_seal", ret, 0);
	}
	if (ret == 0)
		o->flags |= RP_SEALED;
}

static bool mappable(const struct mobj *o)
{
	return o->nh > 0 && o->nmap < MAXM && o->size <= MAX_MAP_SIZE;
}

static void op_map(struct tctx *c)
{
	int i = pick(c, mappable), ret, prot;
	struct rp_info info;
	struct mapping *m;
	struct mobj *o;
	void *addr = NULL;
	rp_handle_t h;
	uint64_t k = rnd(&c->r, 12);

	if (i < 0)
		return;
	o = &c->o[i];
	prot = k < 5 ? PROT_READ : k < 11 ? PROT_READ | PROT_WRITE :
	       (int[]){ PROT_WRITE, PROT_EXEC | PROT_READ, PROT_NONE, 8 }[rnd(&c->r, 4)];
	h = any_h(c, o);
	/* the mapping is as long as the kernel says: never touch past it */
	if (rp_info(c->p, h, &info) == 0 && info.size != o->size) {
		check_info(c, i, h, "rp_info before rp_map");
		return;
	}
	ret = rp_map(c->p, h, prot, &addr);
	note(c, o->id, prot, o->size, ret);
	if (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE)) {
		expect(c, "rp_map(bad prot)", ret, -EINVAL);
		return;
	}
	if (!o->size) {
		expect(c, "rp_map(empty object)", ret, -EINVAL);
		return;
	}
	if (prot & PROT_WRITE) {
		if (o->flags & RP_SEALED) {
			expect(c, "rp_map(sealed, writable)", ret, -EPERM);
			return;
		}
		if (o->shared && ret == -EPERM) {	/* L2 */
			o->flags |= RP_SEALED;
			return;
		}
	}
	if (!expect(c, "rp_map", ret, 0))
		return;
	m = &o->map[o->nmap++];
	m->addr = addr;
	m->len = (o->size + 4095) & ~(size_t)4095;
	m->rw = !!(prot & PROT_WRITE);
	m->npages = m->len / 4096;
	m->mapped = malloc(m->npages);
	memset(m->mapped, 1, m->npages);
	m->left = m->npages;
	if ((!o->shared || o->data_known) && memcmp(addr, o->data, o->size))
		report(c, "rp_map: id %" PRIu64 " mapping differs from the model", o->id);
	check_info(c, i, any_h(c, o), "rp_info after rp_map");
}

static bool has_map(const struct mobj *o)
{
	return o->nmap > 0;
}

static void op_map_write(struct tctx *c)
{
	int i = pick(c, has_map), n, k;
	struct mapping *m;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	m = &o->map[rnd(&c->r, o->nmap)];
	if (!m->rw || !o->size)
		return;
	n = 1 + rnd(&c->r, 8);
	for (k = 0; k < n; k++) {
		uint64_t off = rnd(&c->r, o->size);
		uint64_t len = 1 + rnd(&c->r, o->size - off < 300 ? o->size - off : 300);
		uint64_t p;

		/* only pages still mapped */
		for (p = off / 4096; p <= (off + len - 1) / 4096; p++)
			if (!m->mapped[p])
				break;
		if (p <= (off + len - 1) / 4096)
			continue;
		if (o->shared) {
			memcpy(m->addr + off, o->data + off, len);	/* same bytes */
		} else {
			rnd_fill(&c->r, m->addr + off, len);
			memcpy(o->data + off, m->addr + off, len);
		}
		note(c, o->id, off, len, 0);
	}
	if (o->nh && rnd(&c->r, 2))
		check_bytes(c, i, any_h(c, o), 0, o->size, "rp_read after writing through a mapping");
}

static void op_map_read(struct tctx *c)
{
	int i = pick(c, has_map);
	struct mapping *m;
	struct mobj *o;
	uint32_t p;

	if (i < 0)
		return;
	o = &c->o[i];
	m = &o->map[rnd(&c->r, o->nmap)];
	note(c, o->id, (uintptr_t)m->addr, m->left, 0);
	if (o->shared && !o->data_known)
		return;
	for (p = 0; p < m->npages; p++) {
		uint64_t off = (uint64_t)p * 4096;
		uint64_t len = o->size - off < 4096 ? o->size - off : 4096;

		if (m->mapped[p] && memcmp(m->addr + off, o->data + off, len)) {
			report(c, "mapping of id %" PRIu64 " page %u differs from the model", o->id, p);
			return;
		}
		/* the tail of the last page past the size reads as zeroes */
		if (m->mapped[p] && len < 4096) {
			uint64_t z;

			for (z = len; z < 4096; z++)
				if (m->addr[off + z] && !m->rw) {
					report(c, "mapping of id %" PRIu64 ": byte %" PRIu64 " past the end is %#x",
					       o->id, off + z, m->addr[off + z]);
					return;
				}
		}
	}
}

static void drop_map(struct tctx *c, int i, int k)
{
	struct mobj *o = &c->o[i];

	free(o->map[k].mapped);
	o->map[k] = o->map[--o->nmap];
	settle(c);
}

static void op_unmap(struct tctx *c)
{
	int i = pick(c, has_map), k, ret;
	struct mapping *m;
	struct mobj *o;
	uint32_t p, first = 0, n = 0, k2;

	if (i < 0)
		return;
	o = &c->o[i];
	k = rnd(&c->r, o->nmap);
	m = &o->map[k];
	if (m->left == m->npages && (m->npages < 2 || rnd(&c->r, 2))) {
		ret = rp_unmap(m->addr, o->size);
		note(c, o->id, (uintptr_t)m->addr, o->size, ret);
		expect(c, "rp_unmap", ret, 0);
		drop_map(c, i, k);
		if (o->state == ST_LIVE && o->nh && rnd(&c->r, 2))
			check_info(c, i, any_h(c, o), "rp_info after rp_unmap");
		return;
	}
	/* one run of mapped pages */
	p = rnd(&c->r, m->npages);
	while (p < m->npages && !m->mapped[p])
		p++;
	if (p == m->npages)
		for (p = 0; !m->mapped[p]; p++)
			;
	first = p;
	k2 = 1 + rnd(&c->r, 2);
	while (p < m->npages && m->mapped[p] && n < k2) {
		n++;
		p++;
	}
	ret = rp_unmap(m->addr + (size_t)first * 4096, (uint64_t)n * 4096);
	note(c, o->id, first, n, ret);
	expect(c, "rp_unmap(part)", ret, 0);
	memset(m->mapped + first, 0, n);
	m->left -= n;
	if (!m->left)
		drop_map(c, i, k);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info after a partial rp_unmap");
}

static void op_mprotect(struct tctx *c)
{
	int i = pick(c, has_map), k, ret;
	struct mapping *m;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	for (k = 0; k < o->nmap; k++)
		if (!o->map[k].rw && o->map[k].left == o->map[k].npages)
			break;
	if (k == o->nmap)
		return;
	m = &o->map[k];
	ret = mprotect(m->addr, m->len, PROT_READ | PROT_WRITE) ? -errno : 0;
	note(c, o->id, (uintptr_t)m->addr, m->len, ret);
	expect(c, "mprotect(read-only mapping, PROT_WRITE)", ret, -EACCES);
}

static bool exportable(const struct mobj *o)
{
	return o->nh > 0 && o->nfd < MAXF;
}

static void op_export(struct tctx *c)
{
	int i = pick(c, exportable), fd = -1, ret, fl;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	ret = rp_export(c->p, any_h(c, o), &fd);
	note(c, o->id, fd, 0, ret);
	if (!expect(c, "rp_export", ret, 0))
		return;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || !(fl & FD_CLOEXEC))
		report(c, "rp_export: fd %d is not close-on-exec", fd);
	o->fd[o->nfd++] = fd;
	check_info(c, i, any_h(c, o), "rp_info after rp_export");
}

static bool has_fd(const struct mobj *o)
{
	return o->nfd > 0;
}

static void op_import(struct tctx *c)
{
	int i = pick(c, has_fd), ret;
	rp_handle_t h = 0;
	struct mobj *o;
	int fd;

	if (i < 0 || c->o[i].nh >= MAXH)
		return;
	o = &c->o[i];
	fd = o->fd[rnd(&c->r, o->nfd)];
	hlock_r();
	ret = rp_import(c->p, fd, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, o->id, fd, h, ret);
	if (!expect(c, "rp_import", ret, 0))
		return;
	add_h(c, i, h);
	check_info(c, i, h, "rp_info after rp_import");
}

static void op_close_fd(struct tctx *c)
{
	int i = pick(c, has_fd), k, ret;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	k = rnd(&c->r, o->nfd);
	ret = close(o->fd[k]) ? -errno : 0;
	note(c, o->id, o->fd[k], 0, ret);
	expect(c, "close(exported fd)", ret, 0);
	o->fd[k] = o->fd[--o->nfd];
	settle(c);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info after closing an exported fd");
}

static void op_import_bad(struct tctx *c)
{
	rp_handle_t h = 0;
	int fd, want, ret, k = rnd(&c->r, 4);

	switch (k) {
	case 0:
		fd = -1 - (int)rnd(&c->r, 1000);
		want = -EBADF;
		break;
	case 1:
		fd = (1 << 20) + (int)rnd(&c->r, 1 << 20);	/* above any RLIMIT_NOFILE here */
		want = -EBADF;
		break;
	case 2:
		fd = P.devnull;
		want = -EINVAL;
		break;
	default:
		fd = rp_fd(c->p);	/* the session itself is not an object */
		want = -EINVAL;
		break;
	}
	hlock_r();
	ret = rp_import(c->p, fd, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, fd, 0, 0, ret);
	expect(c, "rp_import(not an object fd)", ret, want);
}

static bool sendable(const struct mobj *o)
{
	return o->nh > 0;
}

static void op_send_self(struct tctx *c)
{
	int i = pick(c, sendable), ret;
	struct mobj *o;

	if (i < 0 || c->nflight >= 4)
		return;
	o = &c->o[i];
	ret = rp_send(c->selfsock[1], c->p, any_h(c, o));
	note(c, o->id, c->nflight, 0, ret);
	if (!expect(c, "rp_send(own socket)", ret, 0))
		return;
	c->flight[c->nflight++] = i;
	o->nflight++;
	check_info(c, i, any_h(c, o), "rp_info after rp_send");
}

static void op_recv_self(struct tctx *c)
{
	rp_handle_t h = 0;
	int i, ret;

	hlock_r();
	ret = rp_recv(c->selfsock[0], c->p, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, c->nflight, h, 0, ret);
	if (!c->nflight) {
		expect(c, "rp_recv(own socket, empty)", ret, -EAGAIN);
		return;
	}
	if (!expect(c, "rp_recv(own socket)", ret, 0))
		return;
	i = c->flight[0];
	memmove(c->flight, c->flight + 1, sizeof(c->flight[0]) * --c->nflight);
	c->o[i].nflight--;
	if (c->o[i].nh >= MAXH) {
		struct rp_info info;

		if (rp_info(c->p, h, &info) == 0 && info.id != c->o[i].id)
			report(c, "rp_recv: id %" PRIu64 ", sent id %" PRIu64, info.id, c->o[i].id);
		put_raw(c, h);
		return;
	}
	add_h(c, i, h);
	check_info(c, i, h, "rp_recv(own socket)");
	if (rnd(&c->r, 3) == 0)
		check_bytes(c, i, h, 0, c->o[i].size, "rp_read after rp_recv");
}

static void op_send_ring(struct tctx *c)
{
	int i = pick(c, sendable), ret, to;
	struct mobj *o;

	if (i < 0 || opt.procs < 2)
		return;
	o = &c->o[i];
	if (o->size > 65536 && rnd(&c->r, 4))
		return;
	to = (c->w + 1 + rnd(&c->r, opt.procs - 1)) % opt.procs;
	share(c, i);
	ret = rp_send(shm->inbox[to][1], c->p, any_h(c, o));
	note(c, o->id, to, 0, ret);
	if (ret != 0 && ret != -EAGAIN && ret != -ETOOMANYREFS)	/* L5 */
		expect(c, "rp_send(to another worker)", ret, 0);
}

static void op_recv_ring(struct tctx *c)
{
	rp_handle_t h = 0;
	int ret;

	if (nfree(c) < 4)
		return;
	hlock_r();
	ret = rp_recv(shm->inbox[c->w][0], c->p, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, h, 0, 0, ret);
	if (ret == -EAGAIN)	/* L5 */
		return;
	if (!expect(c, "rp_recv(from another worker)", ret, 0))
		return;
	adopt(c, h, 0, "rp_recv(from another worker)");
}

static void op_sock_err(struct tctx *c)
{
	int sv[2], ret, i = pick(c, has_h);
	rp_handle_t h = 0;
	char byte = 'x';

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	switch (rnd(&c->r, 4)) {
	case 0:
		if (i < 0)
			break;
		/* closed peer: -EPIPE, and no SIGPIPE (it would kill us) */
		close(sv[1]);
		sv[1] = -1;
		ret = rp_send(sv[0], c->p, any_h(c, &c->o[i]));
		note(c, c->o[i].id, 0, 0, ret);
		expect(c, "rp_send(closed peer)", ret, -EPIPE);
		check_info(c, i, any_h(c, &c->o[i]), "rp_info after a failed rp_send");
		break;
	case 1:
		close(sv[1]);
		sv[1] = -1;
		hlock_r();
		ret = rp_recv(sv[0], c->p, &h);
		if (ret == 0)
			held_add(c, h);
		hunlock();
		note(c, 1, 0, 0, ret);
		expect(c, "rp_recv(closed peer)", ret, -EPIPE);
		break;
	case 2:
		if (write(sv[1], &byte, 1) != 1)
			break;
		hlock_r();
		ret = rp_recv(sv[0], c->p, &h);
		if (ret == 0)
			held_add(c, h);
		hunlock();
		note(c, 2, 0, 0, ret);
		expect(c, "rp_recv(message without an fd)", ret, -EBADMSG);
		break;
	default:
		if (i < 0)
			break;
		ret = rp_send(P.devnull, c->p, any_h(c, &c->o[i]));
		note(c, c->o[i].id, 3, 0, ret);
		expect(c, "rp_send(not a socket)", ret, -ENOTSOCK);
		check_info(c, i, any_h(c, &c->o[i]), "rp_info after a failed rp_send");
		break;
	}
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

static bool same_tok(const rp_token_t *a, const rp_token_t *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void add_tok(struct mobj *o, const rp_token_t *t)
{
	int k;

	for (k = 0; k < o->ntok; k++)
		if (same_tok(&o->tok[k], t))
			return;
	if (o->ntok < MAXTOK)
		o->tok[o->ntok++] = *t;
	else
		o->tok[MAXTOK - 1] = *t;
}

static void op_publish(struct tctx *c)
{
	int i = pick(c, has_h), ret;
	rp_token_t t;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	ret = rp_publish(c->p, any_h(c, o), &t);
	note(c, o->id, o->ntok, 0, ret);
	if (!expect(c, "rp_publish", ret, 0))
		return;
	add_tok(o, &t);
}

/* Look up token @t that the model says names @i (or a dead object, i < 0). */
static void lookup_tok(struct tctx *c, int i, const rp_token_t *t, const char *what)
{
	rp_handle_t h = 0;
	struct rp_info info;
	int ret;

	hlock_r();
	ret = rp_lookup(c->p, t, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, i >= 0 ? c->o[i].id : 0, i >= 0 ? c->o[i].state : -1, h, ret);
	if (i < 0) {
		expect(c, what, ret, -ENOENT);
		if (ret == 0) {
			if (rp_info(c->p, h, &info) == 0)
				report(c, "%s: a token of a dead object found id %" PRIu64, what, info.id);
			hlock_r();
			if (rp_put(c->p, h) == 0)
				held_del(h);
			hunlock();
		}
		return;
	}
	if (c->o[i].state == ST_LIMBO) {
		/* L3: collected already, or alive again */
		if (ret == -ENOENT) {
			observed_gone(c, i);
			return;
		}
		if (!expect(c, what, ret, 0))
			return;
		if (rp_info(c->p, h, &info) || info.id != c->o[i].id) {
			report(c, "%s: token of garbage id %" PRIu64 " found id %" PRIu64, what, c->o[i].id, info.id);
			return;
		}
		add_h(c, i, h);
		settle(c);
		check_info(c, i, h, what);
		return;
	}
	if (!expect(c, what, ret, 0))
		return;
	if (c->o[i].nh >= MAXH) {
		if (rp_info(c->p, h, &info) == 0 && info.id != c->o[i].id)
			report(c, "%s: found id %" PRIu64 ", token names id %" PRIu64, what, info.id, c->o[i].id);
		put_raw(c, h);
		return;
	}
	add_h(c, i, h);
	check_info(c, i, h, what);
}

static bool has_tok(const struct mobj *o)
{
	return o->ntok > 0;
}

static bool has_tok_any(const struct mobj *o)
{
	return o->ntok > 0 && !o->shared;
}

static void op_lookup(struct tctx *c)
{
	int i, k, cand[MAXOBJ], n = 0;

	if (c->ndead && rnd(&c->r, 4) == 0) {
		lookup_tok(c, -1, &c->dead[rnd(&c->r, c->ndead)], "rp_lookup(token of a dead object)");
		return;
	}
	/* live or garbage objects with tokens */
	for (k = 0; k < MAXOBJ; k++)
		if (c->o[k].state != ST_FREE && has_tok(&c->o[k]) &&
		    (c->o[k].state == ST_LIVE || has_tok_any(&c->o[k])))
			cand[n++] = k;
	if (!n)
		return;
	i = cand[rnd(&c->r, n)];
	if (c->o[i].state == ST_LIVE && c->o[i].nh >= MAXH)
		return;
	lookup_tok(c, i, &c->o[i].tok[rnd(&c->r, c->o[i].ntok)],
		   c->o[i].state == ST_LIMBO ? "rp_lookup(token of garbage)" : "rp_lookup");
}

static void op_post_board(struct tctx *c)
{
	struct worker_slot *ws = &shm->w[c->w];
	struct board_entry *b;
	int i = pick(c, has_h), ret;
	uint64_t seq;
	rp_token_t t;

	if (i < 0 || opt.procs < 2)
		return;
	share(c, i);
	ret = rp_publish(c->p, any_h(c, &c->o[i]), &t);
	note(c, c->o[i].id, 0, 0, ret);
	if (!expect(c, "rp_publish(for the board)", ret, 0))
		return;
	add_tok(&c->o[i], &t);
	b = &ws->board[atomic_fetch_add(&ws->board_next, 1) % BOARD_N];
	seq = atomic_load(&b->seq);
	if (seq & 1)
		return;		/* another thread is writing it */
	if (!atomic_compare_exchange_strong(&b->seq, &seq, seq + 1))
		return;
	b->id = c->o[i].id;
	b->tok = t;
	atomic_store(&b->seq, seq + 2);
}

static void op_lookup_board(struct tctx *c)
{
	struct board_entry *b;
	rp_handle_t h = 0;
	uint64_t s1, id;
	rp_token_t t;
	int ret;

	if (opt.procs < 2 || nfree(c) < 4)
		return;
	b = &shm->w[rnd(&c->r, opt.procs)].board[rnd(&c->r, BOARD_N)];
	s1 = atomic_load(&b->seq);
	if (!s1 || (s1 & 1))
		return;
	id = b->id;
	t = b->tok;
	if (atomic_load(&b->seq) != s1)
		return;
	hlock_r();
	ret = rp_lookup(c->p, &t, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, id, 0, h, ret);
	if (ret == -ENOENT)	/* L5 */
		return;
	if (!expect(c, "rp_lookup(token from the board)", ret, 0))
		return;
	adopt(c, h, id, "rp_lookup(token from the board)");
}

static void op_lookup_bad(struct tctx *c)
{
	rp_token_t t;
	rp_handle_t h = 0;
	int ret;

	rnd_fill(&c->r, &t, sizeof(t));
	if (rnd(&c->r, 2)) {
		hlock_r();
		ret = rp_lookup(c->p, &t, &h);
		if (ret == 0)
			held_add(c, h);
		hunlock();
		note(c, 0, 0, 0, ret);
		expect(c, "rp_lookup(random token)", ret, -ENOENT);
	} else {
		ret = rp_unpin(c->p, &t);
		note(c, 1, 0, 0, ret);
		expect(c, "rp_unpin(random token)", ret, -ENOENT);
	}
}

/* Record a token a pin may use, before pinning: a kill cannot lose it. */
static void record_pin(struct tctx *c, const rp_token_t *t)
{
	struct worker_slot *ws = &shm->w[c->w];
	uint64_t k = atomic_fetch_add(&ws->npins, 1);

	if (k < PIN_N)
		ws->pins[k] = *t;
}

/*
 * Pins only on exclusive objects: a token is one per object (and IPC
 * namespace) and so is its pin, whoever asked for it.
 */
static bool pinnable(const struct mobj *o)
{
	return o->nh > 0 && !o->shared;
}

static void op_pin(struct tctx *c)
{
	int i = pick(c, pinnable), ret, k;
	rp_token_t t, t2;
	struct mobj *o;
	bool had = false;

	if (i < 0)
		return;
	o = &c->o[i];
	if (atomic_load(&shm->w[c->w].npins) >= PIN_N - 2)
		return;
	ret = rp_publish(c->p, any_h(c, o), &t);
	if (!expect(c, "rp_publish(before pinning)", ret, 0))
		return;
	add_tok(o, &t);
	record_pin(c, &t);
	ret = rp_pin(c->p, any_h(c, o), &t2);
	note(c, o->id, o->npin, 0, ret);
	if (!expect(c, "rp_pin", ret, 0))
		return;
	if (!same_tok(&t, &t2)) {
		/* the contract allows another token; the module gives the same */
		record_pin(c, &t2);
		add_tok(o, &t2);
	}
	for (k = 0; k < o->npin; k++)
		had |= same_tok(&o->pin[k], &t2);
	if (!had) {
		if (o->npin >= MAXPIN) {
			/* too many for the model: undo */
			ret = rp_unpin(c->p, &t2);
			expect(c, "rp_unpin", ret, 0);
		} else {
			o->pin[o->npin++] = t2;
		}
	}
	check_info(c, i, any_h(c, o), "rp_info after rp_pin");
}

static bool has_pin(const struct mobj *o)
{
	return o->npin > 0;
}

static void op_unpin(struct tctx *c)
{
	int i = pick(c, has_pin), k, ret;
	rp_token_t t;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	k = rnd(&c->r, o->npin);
	t = o->pin[k];
	ret = rp_unpin(c->p, &t);
	note(c, o->id, o->npin, 0, ret);
	if (!expect(c, "rp_unpin", ret, 0))
		return;
	o->pin[k] = o->pin[--o->npin];
	ret = rp_unpin(c->p, &t);
	expect(c, "rp_unpin(twice)", ret, -ENOENT);
	settle(c);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info after rp_unpin");
}

static bool link_parent(const struct mobj *o)
{
	return o->nh > 0 && !o->shared && o->nslots > 0;
}

static void op_link(struct tctx *c)
{
	int i = pick(c, link_parent), j = -1, ret, old;
	rp_handle_t ch = 0;
	struct mobj *o;
	uint32_t s;

	if (i < 0)
		return;
	o = &c->o[i];
	s = rand_slot(c, o->nslots);
	if (rnd(&c->r, 6)) {
		j = rnd(&c->r, 3) == 0 ? i : pick(c, has_h);
		if (j < 0)
			return;
		ch = any_h(c, &c->o[j]);
	}
	ret = rp_link(c->p, any_h(c, o), s, ch);
	note(c, o->id, s, j >= 0 ? c->o[j].id : 0, ret);
	if (o->flags & RP_SEALED) {
		expect(c, "rp_link(sealed parent)", ret, -EPERM);
		return;
	}
	if (!expect(c, "rp_link", ret, 0))
		return;
	old = o->slot[s];
	o->slot[s] = j >= 0 ? j : SLOT_EMPTY;
	o->slot_id[s] = j >= 0 ? c->o[j].id : 0;
	(void)old;
	settle(c);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info(parent) after rp_link");
	if (j >= 0 && c->o[j].state == ST_LIVE && c->o[j].nh)
		check_info(c, j, any_h(c, &c->o[j]), "rp_info(child) after rp_link");
}

static void op_link_bad(struct tctx *c)
{
	int i = pick(c, has_h), ret, k = rnd(&c->r, 4);
	rp_handle_t ph;
	struct mobj *o;
	uint32_t s;

	if (i < 0)
		return;
	o = &c->o[i];
	ph = any_h(c, o);
	switch (k) {
	case 0:	/* past the last slot */
		s = o->nslots + (uint32_t)rnd(&c->r, 3);
		if (rnd(&c->r, 2))
			s = UINT32_MAX - (uint32_t)rnd(&c->r, 3);
		if (s < o->nslots)
			return;
		ret = rp_link(c->p, ph, s, rnd(&c->r, 2) ? ph : 0);
		note(c, o->id, s, 0, ret);
		expect(c, "rp_link(slot past the last)", ret, -ERANGE);
		if (rnd(&c->r, 2)) {
			rp_handle_t out = 0;

			hlock_r();
			ret = rp_get_link(c->p, ph, s, &out);
			if (ret == 0)
				held_add(c, out);
			hunlock();
			expect(c, "rp_get_link(slot past the last)", ret, -ERANGE);
		}
		break;
	case 1: {	/* a child handle nobody holds: 2^31 and up are never made here */
		rp_handle_t bad = 0x80000000u + (uint32_t)rnd(&c->r, 0x7fffffff);

		if (!o->nslots || o->shared)
			return;
		ret = rp_link(c->p, ph, rand_slot(c, o->nslots), bad);
		note(c, o->id, bad, 0, ret);
		expect(c, "rp_link(bad child handle)", ret, -EBADF);
		break;
	}
	case 2: {	/* bad parent */
		rp_handle_t bad = rnd(&c->r, 2) ? 0 : 0x80000000u + (uint32_t)rnd(&c->r, 1000);

		ret = rp_link(c->p, bad, 0, ph);
		note(c, bad, 0, 0, ret);
		expect(c, "rp_link(bad parent handle)", ret, -EBADF);
		break;
	}
	default: {	/* flags */
		struct refpool_link a = { .parent = ph, .slot = 0, .child = 0,
					  .flags = 1u << rnd(&c->r, 32) };

		ret = raw(rp_fd(c->p), REFPOOL_IOC_LINK, &a);
		note(c, o->id, a.flags, 0, ret);
		expect(c, "LINK with flags", ret, -EINVAL);
		break;
	}
	}
	check_info(c, i, ph, "rp_info after a refused rp_link");
}

static bool getlinkable(const struct mobj *o)
{
	return o->nh > 0 && o->nslots > 0;
}

static void op_get_link(struct tctx *c)
{
	int i = pick(c, getlinkable), ret, j;
	rp_handle_t h = 0;
	struct mobj *o;
	uint32_t s;

	if (i < 0)
		return;
	o = &c->o[i];
	s = rand_slot(c, o->nslots);
	if (rnd(&c->r, 2) || o->slot[s] < 0 || c->o[o->slot[s]].nh >= MAXH) {
		note(c, o->id, s, 0, 0);
		if (o->slot[s] != SLOT_OTHER && o->slot[s] != SLOT_UNKNOWN)
			check_slot(c, i, s);
		else if (nfree(c) >= 4) {
			/* a child not in the model: adopt it */
			hlock_r();
			ret = rp_get_link(c->p, any_h(c, o), s, &h);
			if (ret == 0)
				held_add(c, h);
			hunlock();
			if (ret == -ENOENT && o->slot[s] == SLOT_UNKNOWN)
				return;
			if (expect(c, "rp_get_link", ret, 0))
				adopt(c, h, o->slot[s] == SLOT_OTHER ? o->slot_id[s] : 0, "rp_get_link");
		}
		return;
	}
	j = o->slot[s];
	hlock_r();
	ret = rp_get_link(c->p, any_h(c, o), s, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, o->id, s, c->o[j].id, ret);
	if (!expect(c, "rp_get_link", ret, 0))
		return;
	add_h(c, j, h);
	check_info(c, j, h, "rp_info(child from rp_get_link)");
}

static void op_gc(struct tctx *c)
{
	uint64_t collected = 0;
	int ret;

	ret = rp_gc(c->p, &collected);
	note(c, collected, 0, 0, ret);
	if (!expect(c, "rp_gc", ret, 0))
		return;
	gc_done(c);
	if (rnd(&c->r, 2))
		verify_all(c, false);
}

static void op_stats(struct tctx *c)
{
	uint64_t objs = 0, bytes = 0;
	struct rp_stats st = { 0 };
	long nheld;
	int ret, i;

	hlock_w();
	ret = rp_stats(c->p, &st);
	nheld = atomic_load(&P.nheld);
	hunlock();
	note(c, st.objects, st.bytes, st.session_handles, ret);
	if (!expect(c, "rp_stats", ret, 0))
		return;
	if (st.session_handles != (uint64_t)nheld)
		report(c, "rp_stats: session_handles %" PRIu64 ", the process holds %ld",
		       st.session_handles, nheld);
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE) {
			objs++;
			bytes += c->o[i].size;
		}
	/* L6: lower bounds only */
	if (st.objects < objs || st.bytes < bytes)
		report(c, "rp_stats: %" PRIu64 " objects, %" PRIu64 " bytes; this thread alone holds %" PRIu64 " objects, %" PRIu64 " bytes",
		       st.objects, st.bytes, objs, bytes);
	if (st.max_object_size != shm->max_object_size || st.max_slots != shm->max_slots ||
	    st.bytes > st.max_bytes || st.objects > st.max_objects || st.user_bytes > st.max_user_bytes)
		report(c, "rp_stats: limits changed or exceeded: objects %" PRIu64 "/%" PRIu64 " bytes %" PRIu64 "/%" PRIu64 " user %" PRIu64 "/%" PRIu64,
		       st.objects, st.max_objects, st.bytes, st.max_bytes, st.user_bytes, st.max_user_bytes);
	/* a bad pointer: the kernel writes it, so -EFAULT */
	ret = rp_stats(c->p, (struct rp_stats *)(void *)P.guard);
	expect(c, "rp_stats(unmapped buffer)", ret, -EFAULT);
	ret = rp_stats(c->p, (struct rp_stats *)(void *)P.ro_page);
	expect(c, "rp_stats(read-only buffer)", ret, -EFAULT);
}

/* A handle number no thread of this process holds: every call is -EBADF. */
static void op_stale(struct tctx *c)
{
	rp_handle_t h, out = 0;
	struct rp_info info;
	int ret = 0, k = rnd(&c->r, 10), fd = -1;
	rp_token_t t;
	uint8_t b[8];

	hlock_w();
	if (c->nput && rnd(&c->r, 2))
		h = c->put_h[rnd(&c->r, c->nput)];
	else if (rnd(&c->r, 3) == 0)
		h = 0;
	else if (rnd(&c->r, 2))
		h = 1 + (rp_handle_t)rnd(&c->r, 64);
	else
		h = 0x80000000u + (rp_handle_t)rnd(&c->r, 0x7fffffff);
	if (h && h < HELD_MAX && atomic_load(&P.held[h])) {
		hunlock();
		return;
	}
	switch (k) {
	case 0: ret = rp_info(c->p, h, &info); break;
	case 1: ret = rp_dup(c->p, h, &out); break;
	case 2: ret = rp_put(c->p, h); break;
	case 3: ret = (int)rp_read(c->p, h, 0, b, sizeof(b)); break;
	case 4: ret = (int)rp_write(c->p, h, 0, b, 1); break;
	case 5: ret = rp_seal(c->p, h); break;
	case 6: ret = rp_export(c->p, h, &fd); break;
	case 7: ret = rp_publish(c->p, h, &t); break;
	case 8: ret = rp_get_link(c->p, h, 0, &out); break;
	default: ret = rp_link(c->p, h, 0, 0); break;
	}
	hunlock();
	note(c, h, k, 0, ret);
	if (!expect(c, "a call on a handle this session does not hold", ret, -EBADF)) {
		if (ret == 0 && fd >= 0)
			close(fd);
	}
}

/* Raw ioctls: what the library cannot express. */
static void op_raw(struct tctx *c)
{
	int fd = rp_fd(c->p), i = pick(c, has_h), ret, k = rnd(&c->r, 22);
	rp_handle_t h = i >= 0 ? any_h(c, &c->o[i]) : 0x80000001u;
	uint8_t big[256];

	memset(big, 0, sizeof(big));
	switch (k) {
	case 0:
		ret = raw(fd, _IOWR(REFPOOL_IOC_MAGIC, 0x12 + rnd(&c->r, 0xed), struct refpool_info), big);
		expect(c, "unknown command number", ret, -ENOTTY);
		break;
	case 1:
		ret = raw(fd, _IOWR(REFPOOL_IOC_MAGIC + 1, 4, struct refpool_info), big);
		expect(c, "another magic", ret, -ENOTTY);
		break;
	case 2:
		ret = raw(fd, _IOW(REFPOOL_IOC_MAGIC, 4, struct refpool_info), big);
		expect(c, "INFO with the wrong direction", ret, -ENOTTY);
		break;
	case 3:
		ret = raw(fd, _IOC(_IOC_READ | _IOC_WRITE, REFPOOL_IOC_MAGIC, 4, 8 + rnd(&c->r, 32)), big);
		expect(c, "INFO shorter than its first version", ret, -EINVAL);
		break;
	case 4: {	/* a newer, longer struct: zero tail accepted, nonzero refused */
		struct refpool_info *a = (void *)big;
		unsigned size = 48 + 8 * rnd(&c->r, 20);
		bool tail = rnd(&c->r, 2);

		if (i < 0)
			return;
		a->handle = h;
		if (tail)
			big[size - 1 - rnd(&c->r, size - 40)] = 0xa5;
		ret = raw(fd, _IOC(_IOC_READ | _IOC_WRITE, REFPOOL_IOC_MAGIC, 4, size), big);
		if (tail) {
			expect(c, "INFO with a nonzero tail", ret, -E2BIG);
		} else if (expect(c, "INFO with a zero tail", ret, 0)) {
			unsigned z;

			if (a->id != c->o[i].id || a->size != c->o[i].size)
				report(c, "INFO with a zero tail: id %llu size %llu, model says %" PRIu64 " %" PRIu64,
				       (unsigned long long)a->id, (unsigned long long)a->size, c->o[i].id, c->o[i].size);
			for (z = 40; z < size; z++)
				if (big[z])
					report(c, "INFO with a zero tail: byte %u of the tail is %#x", z, big[z]);
		}
		break;
	}
	case 5:
		ret = raw(fd, REFPOOL_IOC_INFO, NULL);
		expect(c, "INFO with a NULL argument", ret, -EFAULT);
		break;
	case 6: {
		struct refpool_info a = { .handle = h, .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_INFO, &a);
		expect2(c, "INFO with nonzero pad", ret, -EINVAL, i < 0 ? -EBADF : -EINVAL);
		break;
	}
	case 7: {
		struct refpool_handle_arg a = { .handle = h, .flags = 1 + rnd(&c->r, 100) };

		hlock_r();
		ret = raw(fd, REFPOOL_IOC_DUP, &a);
		if (ret == 0)
			held_add(c, a.out);
		hunlock();
		expect(c, "DUP with flags", ret, -EINVAL);
		break;
	}
	case 8: {
		struct refpool_handle_arg a = { .handle = h, .out = 1 + rnd(&c->r, 100) };

		hlock_r();
		ret = raw(fd, REFPOOL_IOC_PUT, &a);
		if (ret == 0 && i >= 0) {
			held_del(h);
			del_h(&c->o[i], h);
		}
		hunlock();
		expect(c, "PUT with nonzero out", ret, -EINVAL);
		if (ret == 0)
			settle(c);
		break;
	}
	case 9: {
		struct refpool_handle_arg a = { .handle = h, .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_SEAL, &a);
		expect(c, "SEAL with nonzero pad", ret, -EINVAL);
		break;
	}
	case 10: {
		struct refpool_rw a = { .handle = h, .flags = 1u << rnd(&c->r, 32), .len = 1,
					.buf = (uintptr_t)big };

		ret = raw(fd, rnd(&c->r, 2) ? REFPOOL_IOC_READ : REFPOOL_IOC_WRITE, &a);
		expect(c, "READ/WRITE with flags", ret, -EINVAL);
		break;
	}
	case 11: {
		struct refpool_fd_arg a = { .handle = h, .flags = 1 };

		ret = raw(fd, REFPOOL_IOC_EXPORT, &a);
		if (ret == 0)
			close(a.fd);
		expect(c, "EXPORT with flags", ret, -EINVAL);
		break;
	}
	case 12: {
		struct refpool_fd_arg a = { .fd = P.devnull, .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_IMPORT, &a);
		expect(c, "IMPORT with nonzero pad", ret, -EINVAL);
		break;
	}
	case 13: {
		struct refpool_token_arg a = { .handle = h, .flags = 2u << rnd(&c->r, 31) };

		ret = raw(fd, REFPOOL_IOC_PUBLISH, &a);
		expect(c, "PUBLISH with an unknown flag", ret, -EINVAL);
		break;
	}
	case 14: {
		struct refpool_token_arg a = { .flags = 1 };

		ret = raw(fd, REFPOOL_IOC_LOOKUP, &a);
		expect(c, "LOOKUP with flags", ret, -EINVAL);
		break;
	}
	case 15: {
		struct refpool_token_arg a = { .handle = 1 + rnd(&c->r, 100) };

		ret = raw(fd, REFPOOL_IOC_UNPIN, &a);
		expect(c, "UNPIN with nonzero handle", ret, -EINVAL);
		break;
	}
	case 16: {
		struct refpool_intern a = { .data = (uintptr_t)big, .len = 4, .flags = 1 };

		ret = raw(fd, REFPOOL_IOC_INTERN, &a);
		expect(c, "INTERN with flags", ret, -EINVAL);
		break;
	}
	case 17: {
		struct refpool_link a = { .parent = h, .child = 1 };

		ret = raw(fd, REFPOOL_IOC_GET_LINK, &a);
		expect(c, "GET_LINK with nonzero child", ret, -EINVAL);
		break;
	}
	case 18: {
		struct refpool_gc a = { .flags = rnd(&c->r, 2), .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_GC, &a);
		expect(c, "GC with flags or pad", ret, -EINVAL);
		break;
	}
	case 19: {
		struct refpool_version v;

		memset(&v, 0xff, sizeof(v));
		ret = raw(fd, REFPOOL_IOC_VERSION, &v);
		if (expect(c, "VERSION", ret, 0) && (v.major != REFPOOL_ABI_MAJOR ||
		    (v.features & 7) != 7))
			report(c, "VERSION: major %u features %#llx", v.major, (unsigned long long)v.features);
		break;
	}
	case 20: {
		/* results written back on success only: a read-only argument */
		struct refpool_create *a = (void *)P.ro_page;
		int before;

		hlock_w();
		before = session_handles(c);
		ret = raw(fd, REFPOOL_IOC_CREATE, a);	/* ro_page holds zeroes */
		expect(c, "CREATE with a read-only argument", ret, -EFAULT);
		if (session_handles(c) != before)
			report(c, "CREATE that failed to write back left a handle");
		hunlock();
		break;
	}
	default: {
		/* DUP with a read-only argument: no handle, refs unchanged */
		struct refpool_handle_arg *a = (void *)P.ro_arg;

		if (i < 0 || c->o[i].shared)
			return;
		hlock_w();
		mprotect(P.ro_arg, 4096, PROT_READ | PROT_WRITE);
		memset(P.ro_arg, 0, 4096);
		a->handle = h;
		mprotect(P.ro_arg, 4096, PROT_READ);
		ret = raw(fd, REFPOOL_IOC_DUP, a);
		hunlock();
		expect(c, "DUP with a read-only argument", ret, -EFAULT);
		check_info(c, i, h, "rp_info after DUP failed to write back");
		break;
	}
	}
	note(c, k, h, 0, 0);
}

static void op_verify(struct tctx *c)
{
	note(c, 0, 0, 0, 0);
	verify_all(c, rnd(&c->r, 2));
}

/*
 * rp_batch(): dups, puts and seals of our own handles, and invalid ops. The
 * uapi says the ops run "as if each were its own command", so the model
 * runs them one after the other on a table of handle numbers, with the
 * numbers the kernel's dups actually returned, and expects each result.
 * With the handle lock held for writing, ops may also name a number an
 * earlier op of the batch put, or the number an earlier dup will take (the
 * lowest free one, as the module allocates; whatever the kernel picks, the
 * expectation follows the number it picked).
 */
#define BATCH_MAX_OPS	72
#define TBL_FREE	(-1)
#define TBL_OTHER	(-2)	/* another thread's handle */

struct btable {
	rp_handle_t num[MAXOBJ * MAXH + 2 * BATCH_MAX_OPS];
	int obj[MAXOBJ * MAXH + 2 * BATCH_MAX_OPS];
	int n;
};

static int tbl_get(const struct btable *t, rp_handle_t h)
{
	int k;

	for (k = 0; k < t->n; k++)
		if (t->num[k] == h)
			return t->obj[k];
	if (h && h < HELD_MAX && atomic_load(&P.held[h]))
		return TBL_OTHER;
	return TBL_FREE;
}

static void tbl_set(struct btable *t, rp_handle_t h, int obj)
{
	int k;

	for (k = 0; k < t->n; k++)
		if (t->num[k] == h) {
			t->obj[k] = obj;
			return;
		}
	t->num[t->n] = h;
	t->obj[t->n++] = obj;
}

static void tbl_init(struct tctx *c, struct btable *t)
{
	int i, k;

	t->n = 0;
	for (i = 0; i < MAXOBJ; i++)
		for (k = 0; k < c->o[i].nh && c->o[i].state != ST_FREE; k++)
			tbl_set(t, c->o[i].h[k], i);
}

/* The lowest number free in the table (the handle lock held for writing). */
static rp_handle_t tbl_lowest_free(const struct btable *t)
{
	rp_handle_t h;

	for (h = 1; h < HELD_MAX; h++)
		if (tbl_get(t, h) == TBL_FREE)
			return h;
	return 0;
}

/* What a seal of object @i must return (L2 for shared objects). */
static int64_t seal_want(struct tctx *c, int i, bool *lenient)
{
	*lenient = false;
	if (wmaps(&c->o[i]))
		return -EBUSY;
	*lenient = c->o[i].shared;
	return 0;
}

static void op_batch(struct tctx *c)
{
	struct rp_op ops[BATCH_MAX_OPS];
	struct btable plan, sim, act;
	bool out_in[BATCH_MAX_OPS];
	rp_handle_t made[BATCH_MAX_OPS];
	int nmade = 0;
	bool wlock = rnd(&c->r, 4) == 0, lenient;
	int n, k, ret, i, nh[MAXOBJ];
	rp_handle_t h;

	n = 1 + rnd(&c->r, rnd(&c->r, 4) ? 12 : BATCH_MAX_OPS);
	memset(ops, 0, sizeof(ops));
	if (wlock)
		hlock_w();
	else
		hlock_r();
	/* choose the ops on a planning table (predicting dup numbers) */
	tbl_init(c, &plan);
	for (i = 0; i < MAXOBJ; i++)
		nh[i] = c->o[i].nh;
	for (k = 0; k < n; k++) {
		uint64_t kind = rnd(&c->r, 20);
		int cand[MAXOBJ * MAXH + 2 * BATCH_MAX_OPS], nc = 0, q;

		if (kind >= 17) {
			switch (rnd(&c->r, 3)) {
			case 0:
				ops[k].op = rnd(&c->r, 2) ? 0 : 4 + (uint32_t)rnd(&c->r, 1000);
				break;
			case 1:
				ops[k].op = RP_OP_DUP + (uint32_t)rnd(&c->r, 3);
				ops[k].out = 1 + (uint32_t)rnd(&c->r, 100);
				break;
			default:
				ops[k].op = RP_OP_DUP + (uint32_t)rnd(&c->r, 3);
				ops[k].handle = rnd(&c->r, 3) ? 0x80000000u + (uint32_t)rnd(&c->r, 1u << 30) : 0;
				continue;
			}
			i = pick(c, has_h);
			ops[k].handle = i >= 0 ? any_h(c, &c->o[i]) : 1;
			continue;
		}
		/* a number of the plan: ours now, or (write lock) put or taken by this batch */
		for (q = 0; q < plan.n; q++) {
			bool at_start = false;
			int i2 = plan.obj[q];

			if (i2 >= 0)
				for (int r2 = 0; r2 < c->o[i2].nh; r2++)
					at_start |= c->o[i2].h[r2] == plan.num[q];
			if (wlock || (i2 >= 0 && at_start))
				cand[nc++] = q;
		}
		if (!nc) {
			ops[k].op = RP_OP_SEAL;
			ops[k].handle = 0;
			continue;
		}
		q = cand[rnd(&c->r, nc)];
		h = plan.num[q];
		i = plan.obj[q];
		ops[k].handle = h;
		if (i < 0 || kind < 5) {
			ops[k].op = RP_OP_SEAL;
		} else if (kind < 11 && nh[i] < MAXH + 4) {
			rp_handle_t out = wlock ? tbl_lowest_free(&plan) : 0;

			ops[k].op = RP_OP_DUP;
			nh[i]++;
			if (out)
				tbl_set(&plan, out, i);
		} else {
			ops[k].op = RP_OP_PUT;
			nh[i]--;
			tbl_set(&plan, h, TBL_FREE);
		}
	}
	for (k = 0; k < n; k++)
		out_in[k] = ops[k].out != 0;
	ret = rp_batch(c->p, ops, n);
	note(c, n, wlock, 0, ret);
	if (!expect(c, wlock ? "rp_batch (handle lock held for writing)" : "rp_batch", ret, 0)) {
		hunlock();
		return;
	}
	/* expected results: one op after the other, with the kernel's dup numbers */
	tbl_init(c, &sim);
	tbl_init(c, &act);
	for (k = 0; k < n; k++) {
		int si = tbl_get(&sim, ops[k].handle), ai = tbl_get(&act, ops[k].handle);
		bool known = ops[k].op >= RP_OP_DUP && ops[k].op <= RP_OP_SEAL, by_dup = false;
		int64_t want;
		char what[160];

		lenient = false;
		if (!known || out_in[k])
			want = -EINVAL;
		else if (si == TBL_OTHER)
			want = ops[k].result;	/* never chosen; would be another thread's */
		else if (si == TBL_FREE)
			want = -EBADF;
		else if (ops[k].op == RP_OP_SEAL)
			want = seal_want(c, si, &lenient);
		else
			want = 0;
		for (int q = 0; q < nmade; q++)
			by_dup |= made[q] == ops[k].handle;
		snprintf(what, sizeof(what), "rp_batch%s op %d of %d (%s of handle %u%s)",
			 wlock ? " (handle lock held for writing)" : "", k, n,
			 ops[k].op == RP_OP_DUP ? "dup" : ops[k].op == RP_OP_PUT ? "put" :
			 ops[k].op == RP_OP_SEAL ? "seal" : "unknown op", ops[k].handle,
			 by_dup ? ", the number an earlier dup of the batch returned" : "");
		if (!(lenient && ops[k].result == -EBUSY))
			expect(c, what, ops[k].result, want);
		if (ops[k].result && ops[k].out)
			report(c, "%s: failed, yet out is %u", what, ops[k].out);
		/* the simulation goes on as the model says, the model as the kernel did */
		if (want == 0 && ops[k].op == RP_OP_DUP) {
			rp_handle_t out = ops[k].result == 0 ? ops[k].out : tbl_lowest_free(&sim);

			tbl_set(&sim, out, si);
			made[nmade++] = out;
		}
		if (want == 0 && ops[k].op == RP_OP_PUT)
			tbl_set(&sim, ops[k].handle, TBL_FREE);
		if (ops[k].result)
			continue;
		if (ai < 0) {
			report(c, "%s succeeded on a number the model says is not held", what);
			continue;
		}
		if (ops[k].op == RP_OP_DUP) {
			if (!ops[k].out || tbl_get(&act, ops[k].out) >= 0)
				report(c, "%s: new handle %u is already held", what, ops[k].out);
			tbl_set(&act, ops[k].out, ai);
		} else if (ops[k].op == RP_OP_PUT) {
			tbl_set(&act, ops[k].handle, TBL_FREE);
		} else if (ops[k].op == RP_OP_SEAL) {
			c->o[ai].flags |= RP_SEALED;
		}
	}
	for (k = 0; k < n; k++) {
		if (ops[k].op == RP_OP_DUP && ops[k].result == 0)
			held_add(c, ops[k].out);
		if (ops[k].op == RP_OP_PUT && ops[k].result == 0)
			held_del(ops[k].handle);
	}
	hunlock();
	/* the model's handles are now what the kernel did */
	for (i = 0; i < MAXOBJ; i++)
		c->o[i].nh = 0;
	for (k = 0; k < act.n; k++) {
		i = act.obj[k];
		if (i < 0)
			continue;
		if (c->o[i].nh < MAXH)
			c->o[i].h[c->o[i].nh++] = act.num[k];
		else
			put_raw(c, act.num[k]);
	}
	settle(c);
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE && c->o[i].nh && rnd(&c->r, 3) == 0)
			check_info(c, i, any_h(c, &c->o[i]), "rp_info after rp_batch");
}

static void op_batch_bad(struct tctx *c)
{
	int i = pick(c, has_h), ret, before, k = rnd(&c->r, 5);
	struct rp_op one = { .op = RP_OP_SEAL, .handle = 0 };

	switch (k) {
	case 0:
		ret = rp_batch(c->p, &one, 0);
		note(c, 0, 0, 0, ret);
		expect(c, "rp_batch(count 0)", ret, -EINVAL);
		break;
	case 1:
		ret = rp_batch(c->p, &one, 4097 + (uint32_t)rnd(&c->r, 1u << 31));
		note(c, 1, 0, 0, ret);
		expect(c, "rp_batch(count over 4096)", ret, -EINVAL);
		break;
	case 2: {
		struct refpool_batch a = { .ops = (uintptr_t)&one, .count = 1,
					   .flags = 1u << rnd(&c->r, 32) };

		ret = raw(rp_fd(c->p), REFPOOL_IOC_BATCH, &a);
		note(c, 2, a.flags, 0, ret);
		expect(c, "BATCH with flags", ret, -EINVAL);
		break;
	}
	case 3: {
		const char *what;

		const void *ptr = bad_ptr(c, 64 * 16, &what);

		if (valid_bytes(ptr))	/* a straddling array would be run in part */
			ptr = P.guard;
		ret = rp_batch(c->p, (struct rp_op *)ptr, 1 + rnd(&c->r, 64));
		note(c, 3, 0, 0, ret);
		expect(c, "rp_batch(unreadable ops)", ret, -EFAULT);
		break;
	}
	default: {
		/* read-only ops: the dups are undone, nothing changes */
		struct rp_op *ro = (void *)P.ro_arg;
		int n = 1 + rnd(&c->r, 8), q;

		if (i < 0)
			return;
		hlock_w();
		before = session_handles(c);
		mprotect(P.ro_arg, 4096, PROT_READ | PROT_WRITE);
		memset(P.ro_arg, 0, 4096);
		for (q = 0; q < n; q++) {
			ro[q].op = RP_OP_DUP;
			ro[q].handle = any_h(c, &c->o[i]);
		}
		mprotect(P.ro_arg, 4096, PROT_READ);
		ret = rp_batch(c->p, ro, n);
		note(c, 4, n, c->o[i].id, ret);
		expect(c, "rp_batch(read-only ops: dups)", ret, -EFAULT);
		if (session_handles(c) != before)
			report(c, "rp_batch with read-only ops left handles: %d, was %d",
			       session_handles(c), before);
		hunlock();
		check_info(c, i, any_h(c, &c->o[i]), "rp_info after rp_batch failed to write back");
		break;
	}
	}
}

typedef void (*op_fn)(struct tctx *c);

static const op_fn op_fns[NOPS] = {
	op_create, op_create_bad, op_create_from, op_create_from_bad,
	op_intern_uniq, op_intern_common, op_intern_bad,
	op_dup, op_put, op_info, op_read, op_read_bad, op_write, op_write_bad,
	op_seal, op_map, op_map_write, op_map_read, op_unmap, op_mprotect,
	op_export, op_import, op_close_fd, op_import_bad,
	op_send_self, op_recv_self, op_send_ring, op_recv_ring, op_sock_err,
	op_publish, op_lookup, op_post_board, op_lookup_board, op_lookup_bad,
	op_pin, op_unpin, op_link, op_link_bad, op_get_link, op_gc, op_stats,
	op_stale, op_raw, op_verify, op_batch, op_batch_bad,
};

/* ------------------------------------------------------------------------ */
/* Threads and workers                                                        */

static unsigned weight_total;

static int pick_op(struct tctx *c)
{
	unsigned x = rnd(&c->r, weight_total), k;

	for (k = 0; k < NOPS; k++) {
		if (x < op_weight[k])
			return k;
		x -= op_weight[k];
	}
	return OP_INFO;
}

/* Let go of everything, checking as it goes. */
static void release_all(struct tctx *c)
{
	int i, k;

	c->cur_op = OP_VERIFY;
	/* what is in flight in our own socket comes back first */
	for (k = 0; c->nflight && k < 8; k++)
		op_recv_self(c);
	while (c->nflight)	/* the kernel did not give it back: forget it */
		c->o[c->flight[--c->nflight]].nflight--;
	for (i = 0; i < MAXOBJ; i++) {
		struct mobj *o = &c->o[i];

		if (o->state == ST_FREE)
			continue;
		while (o->state != ST_FREE && o->nmap) {
			k = o->nmap - 1;
			if (o->map[k].left == o->map[k].npages)
				rp_unmap(o->map[k].addr, o->size);
			else
				for (uint32_t p = 0; p < o->map[k].npages; p++)
					if (o->map[k].mapped[p])
						munmap(o->map[k].addr + (size_t)p * 4096, 4096);
			drop_map(c, i, k);
		}
		while (o->state != ST_FREE && o->nfd) {
			close(o->fd[--o->nfd]);
			settle(c);
		}
		while (o->state != ST_FREE && o->npin) {
			int ret = rp_unpin(c->p, &o->pin[o->npin - 1]);

			expect(c, "rp_unpin (at the end)", ret, 0);
			o->npin--;
			settle(c);
		}
		while (o->state != ST_FREE && o->nh)
			put_handle(c, i, o->h[o->nh - 1]);
	}
}

static void *thread_main(void *arg)
{
	struct tctx *c = arg;
	int i, k;

	for (k = 0; k < NUKEYS; k++)
		c->ukey_obj[k] = -1;
	c->buf = malloc(BUF_SIZE);
	c->buf2 = malloc(BUF_SIZE);
	if (!c->buf || !c->buf2 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, c->selfsock)) {
		fprintf(stderr, "refpool-fuzz: thread set-up failed\n");
		_exit(1);
	}
	c->p = P.p;
	while (!atomic_load(&shm->stop)) {
		uint64_t n = atomic_fetch_add(&shm->ops, 1);

		if (opt.ops && n >= opt.ops) {
			atomic_store(&shm->stop, 1);
			break;
		}
		c->opno++;
		c->cur_op = pick_op(c);
		atomic_fetch_add(&shm->op_count[c->cur_op], 1);
		op_fns[c->cur_op](c);
	}

	/* The end: everything exact, then let go, then nothing must be left. */
	c->cur_op = OP_VERIFY;
	verify_all(c, true);
	c->cur_op = OP_GC;
	op_gc(c);
	c->cur_op = OP_VERIFY;
	verify_all(c, false);
	release_all(c);
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE)
			report(c, "id %" PRIu64 " still live in the model after letting go", c->o[i].id);
	/* our own garbage goes with our rp_gc(); its tokens die */
	c->cur_op = OP_GC;
	op_gc(c);
	c->cur_op = OP_LOOKUP;
	for (i = 0; i < c->ndead; i++)
		lookup_tok(c, -1, &c->dead[i], "rp_lookup(token of a dead object, at the end)");
	close(c->selfsock[0]);
	close(c->selfsock[1]);
	free(c->buf);
	free(c->buf2);
	return NULL;
}

static void worker(int w, int inc)
{
	pthread_rwlockattr_t attr;
	pthread_t th[MAX_THREADS];
	struct tctx *ctx;
	struct rp_stats st;
	int t, ret;

	memset(&P, 0, sizeof(P));
	P.w = w;
	P.inc = inc;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&P.hlock, &attr);
	P.held = calloc(HELD_MAX, 1);
	P.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	P.rw_page = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!P.held || P.devnull < 0 || P.rw_page == MAP_FAILED) {
		fprintf(stderr, "refpool-fuzz: worker set-up failed\n");
		_exit(1);
	}
	P.guard = P.rw_page + 4096;
	P.ro_page = P.rw_page + 8192;
	P.ro_arg = P.rw_page + 12288;
	mprotect(P.guard, 4096, PROT_NONE);
	mprotect(P.ro_page, 4096, PROT_READ);
	mprotect(P.ro_arg, 4096, PROT_READ);
	ret = rp_open(&P.p);
	if (ret) {
		fprintf(stderr, "refpool-fuzz: worker %d: rp_open: %s\n", w, rp_strerror(ret));
		_exit(1);
	}
	ctx = calloc(opt.threads, sizeof(*ctx));
	for (t = 0; t < opt.threads; t++) {
		ctx[t].pr = &P;
		ctx[t].w = w;
		ctx[t].inc = inc;
		ctx[t].t = t;
		rng_seed(&ctx[t].r, opt.seed ^ ((uint64_t)w << 40) ^ ((uint64_t)inc << 20) ^ (uint64_t)t);
		if (pthread_create(&th[t], NULL, thread_main, &ctx[t])) {
			fprintf(stderr, "refpool-fuzz: pthread_create failed\n");
			_exit(1);
		}
	}
	for (t = 0; t < opt.threads; t++)
		pthread_join(th[t], NULL);
	/* every thread let go: the session holds nothing */
	ret = rp_stats(P.p, &st);
	if (ret || st.session_handles || atomic_load(&P.nheld)) {
		ctx[0].cur_op = OP_STATS;
		report(&ctx[0], "at the end: rp_stats %s, session_handles %" PRIu64 ", model %ld",
		       en(ret), st.session_handles, atomic_load(&P.nheld));
	}
	rp_close(P.p);
	_exit(0);
}

/* ------------------------------------------------------------------------ */
/* Library probes: bad output pointers must give -EFAULT, not a crash        */

struct probe {
	const char *name;
	int (*fn)(struct rp_pool *p, rp_handle_t h);
};

#define BADP ((void *)16)

static int pr_create(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_create(p, 8, 0, 0, BADP); }
static int pr_create_from(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_create_from(p, "x", 1, 0, BADP); }
static int pr_intern(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_intern(p, "probe", 5, BADP); }
static int pr_dup(struct rp_pool *p, rp_handle_t h) { return rp_dup(p, h, BADP); }
static int pr_info(struct rp_pool *p, rp_handle_t h) { return rp_info(p, h, BADP); }
static int pr_read(struct rp_pool *p, rp_handle_t h) { return (int)rp_read(p, h, 0, BADP, 8); }
static int pr_write(struct rp_pool *p, rp_handle_t h) { return (int)rp_write(p, h, 0, BADP, 8); }
static int pr_stats(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_stats(p, BADP); }
static int pr_export(struct rp_pool *p, rp_handle_t h) { return rp_export(p, h, BADP); }
static int pr_map(struct rp_pool *p, rp_handle_t h) { return rp_map(p, h, PROT_READ, BADP); }
static int pr_publish(struct rp_pool *p, rp_handle_t h) { return rp_publish(p, h, BADP); }
static int pr_pin(struct rp_pool *p, rp_handle_t h) { return rp_pin(p, h, BADP); }
static int pr_lookup(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_lookup(p, BADP, (rp_handle_t *)BADP); }
static int pr_unpin(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_unpin(p, BADP); }
static int pr_get_link(struct rp_pool *p, rp_handle_t h) { return rp_get_link(p, h, 0, BADP); }
static int pr_gc(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_gc(p, BADP); }
static int pr_tok_str(struct rp_pool *p, rp_handle_t h)
{
	char *volatile out = BADP;

	(void)p;
	(void)h;
	return rp_token_to_str(BADP, out);
}

static const struct probe probes[] = {
	{ "rp_create(out=16)", pr_create },
	{ "rp_create_from(out=16)", pr_create_from },
	{ "rp_intern(out=16)", pr_intern },
	{ "rp_dup(out=16)", pr_dup },
	{ "rp_info(info=16)", pr_info },
	{ "rp_read(buf=16)", pr_read },
	{ "rp_write(buf=16)", pr_write },
	{ "rp_stats(st=16)", pr_stats },
	{ "rp_export(fd=16)", pr_export },
	{ "rp_map(addr=16)", pr_map },
	{ "rp_publish(tok=16)", pr_publish },
	{ "rp_pin(tok=16)", pr_pin },
	{ "rp_lookup(tok=16)", pr_lookup },
	{ "rp_unpin(tok=16)", pr_unpin },
	{ "rp_get_link(out=16)", pr_get_link },
	{ "rp_gc(collected=16)", pr_gc },
	{ "rp_token_to_str(16, 16)", pr_tok_str },
};

/* Each probe in a child: returns the number of probes that crashed. */
static int lib_probes(void)
{
	unsigned k;
	int bad = 0;

	for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
		int st, pfd[2];
		pid_t pid;
		int ret = 0;

		if (pipe(pfd))
			return bad;
		pid = fork();
		if (pid == 0) {
			struct rp_pool *p;
			rp_handle_t h = 0;

			close(pfd[0]);
			/* slot 0 links the object to itself: rp_get_link finds it */
			if (rp_open(&p) || rp_create(p, 8, 1, 0, &h) || rp_link(p, h, 0, h))
				_exit(3);
			ret = probes[k].fn(p, h);
			if (write(pfd[1], &ret, sizeof(ret)) != sizeof(ret))
				_exit(3);
			_exit(0);
		}
		close(pfd[1]);
		if (read(pfd[0], &ret, sizeof(ret)) != sizeof(ret))
			ret = 1;
		close(pfd[0]);
		waitpid(pid, &st, 0);
		if (WIFSIGNALED(st)) {
			printf("MISMATCH library: %s crashed with %s; SPEC.md: \"a bad pointer yields -EFAULT, never a crash in the library\"\n",
			       probes[k].name, strsignal(WTERMSIG(st)));
			bad++;
		} else if (WEXITSTATUS(st) == 0 && ret != -EFAULT) {
			printf("MISMATCH library: %s returned %s, SPEC.md says -EFAULT\n",
			       probes[k].name, en(ret));
			bad++;
		}
	}
	return bad;
}

/* ------------------------------------------------------------------------ */
/* The parent                                                                 */

static pid_t spawn(int w)
{
	int inc = atomic_fetch_add(&shm->w[w].incarnation, 1);
	pid_t pid = fork();

	if (pid < 0) {
		perror("refpool-fuzz: fork");
		exit(1);
	}
	if (pid == 0)
		worker(w, inc);
	atomic_store(&shm->w[w].pid, pid);
	return pid;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: refpool-fuzz [--seed N] [--ops N] [--procs P] [--threads T] [--seconds S]\n"
		"                    [--kill-ms MS] [--no-kill] [--long] [--no-lib-probes] [--quiet]\n"
		"                    [--weight OPERATION=N]...\n"
		"  defaults: --procs 4 --threads 3 --seconds 60 --kill-ms 2500 (bounded run);\n"
		"  --long: --seconds 1800 --procs 6 --threads 4. The pool's counters are\n"
		"  global: run it alone. Exit 0: no mismatch; 1: mismatches; 4: no device.\n");
	exit(2);
}

static bool get_stats(struct rp_stats *st)
{
	struct rp_pool *p;
	bool ok;

	if (rp_open(&p))
		return false;
	ok = rp_stats(p, st) == 0;
	rp_close(p);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, 0, 's' },
		{ "ops", required_argument, 0, 'o' },
		{ "procs", required_argument, 0, 'p' },
		{ "threads", required_argument, 0, 't' },
		{ "seconds", required_argument, 0, 'S' },
		{ "kill-ms", required_argument, 0, 'k' },
		{ "no-kill", no_argument, 0, 'K' },
		{ "long", no_argument, 0, 'L' },
		{ "no-lib-probes", no_argument, 0, 'N' },
		{ "quiet", no_argument, 0, 'q' },
		{ "weight", required_argument, 0, 'w' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	pid_t pids[MAX_PROCS];
	uint64_t kills = 0, crashes = 0, lib_bad = 0, total_mism;
	struct rp_stats base, st;
	struct rng r;
	double t0, deadline, next_kill, t_end, t_wait;
	bool seeded = false, back = false;
	struct rp_pool *p;
	int ch, w, k, ret;
	unsigned i;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': opt.seed = strtoull(optarg, NULL, 0); seeded = true; break;
		case 'o': opt.ops = strtoull(optarg, NULL, 0); break;
		case 'p': opt.procs = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'S': opt.seconds = atof(optarg); break;
		case 'k': opt.kill_ms = atoi(optarg); break;
		case 'K': opt.kill_ms = 0; break;
		case 'L': opt.seconds = 1800; opt.procs = 6; opt.threads = 4; break;
		case 'N': opt.lib_probes = 0; break;
		case 'q': opt.quiet = 1; break;
		case 'w': {
			char *eq = strrchr(optarg, '=');

			for (i = 0; eq && i < NOPS; i++)
				if (strlen(op_name[i]) == (size_t)(eq - optarg) &&
				    !strncmp(op_name[i], optarg, eq - optarg))
					break;
			if (!eq || i == NOPS) {
				fprintf(stderr, "refpool-fuzz: --weight NAME=N, NAME one of:");
				for (i = 0; i < NOPS; i++)
					fprintf(stderr, " '%s'", op_name[i]);
				fprintf(stderr, "\n");
				return 2;
			}
			op_weight[i] = atoi(eq + 1);
			break;
		}
		default: usage();
		}
	}
	if (optind != argc || opt.procs < 1 || opt.procs > MAX_PROCS ||
	    opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds <= 0)
		usage();
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt.seed = (uint64_t)ts.tv_sec * 1000003 ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < NOPS; i++)
		weight_total += op_weight[i];

	ret = rp_open(&p);
	if (ret) {
		printf("SKIP refpool-fuzz: cannot open the device: %s\n", rp_strerror(ret));
		return KSFT_SKIP;
	}
	rp_close(p);
	/* a stable baseline: what earlier users left as garbage goes first */
	if (rp_open(&p) == 0) {
		rp_gc(p, NULL);
		rp_close(p);
	}
	if (!get_stats(&base)) {
		printf("refpool-fuzz: rp_stats failed\n");
		return 1;
	}
	printf("refpool-fuzz: seed %#" PRIx64 ", %d processes x %d threads, %.0f s%s%s, kills every ~%d ms\n",
	       opt.seed, opt.procs, opt.threads, opt.seconds,
	       opt.ops ? ", ops limit " : "", opt.ops ? "set" : "", opt.kill_ms);
	printf("refpool-fuzz: baseline: %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned\n",
	       base.objects, base.bytes, base.interned);

	if (opt.lib_probes) {
		lib_bad = lib_probes();
		printf("refpool-fuzz: library bad-pointer probes: %u run, %" PRIu64 " mismatches\n",
		       (unsigned)(sizeof(probes) / sizeof(probes[0])), lib_bad);
		/* the probes' objects were garbage (linked to themselves); pins
		 * a crashed probe made stay, and count in the new baseline */
		if (rp_open(&p) == 0) {
			rp_gc(p, NULL);
			rp_close(p);
		}
		get_stats(&base);
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		perror("refpool-fuzz: mmap");
		return 1;
	}
	shm->max_object_size = base.max_object_size;
	shm->max_slots = (uint32_t)base.max_slots;
	for (w = 0; w < opt.procs; w++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv)) {
			perror("refpool-fuzz: socketpair");
			return 1;
		}
		shm->inbox[w][0] = sv[0];
		shm->inbox[w][1] = sv[1];
	}

	rng_seed(&r, opt.seed ^ 0xfeedULL);
	t0 = now_s();
	deadline = t0 + opt.seconds;
	for (w = 0; w < opt.procs; w++)
		pids[w] = spawn(w);
	next_kill = t0 + (opt.kill_ms ? (opt.kill_ms / 2 + rnd(&r, opt.kill_ms + 1)) / 1000.0 : 1e9);

	while (!atomic_load(&shm->stop) && now_s() < deadline) {
		int st2;
		pid_t pid = waitpid(-1, &st2, WNOHANG);

		if (pid > 0) {
			for (w = 0; w < opt.procs && pids[w] != pid; w++)
				;
			if (w < opt.procs) {
				if (WIFSIGNALED(st2) || WEXITSTATUS(st2)) {
					printf("MISMATCH worker %d (pid %d) died on its own: %s %d\n", w, pid,
					       WIFSIGNALED(st2) ? "signal" : "status",
					       WIFSIGNALED(st2) ? WTERMSIG(st2) : WEXITSTATUS(st2));
					crashes++;
				}
				pids[w] = atomic_load(&shm->stop) ? 0 : spawn(w);
			}
			continue;
		}
		if (now_s() >= next_kill) {
			w = rnd(&r, opt.procs);
			if (pids[w] > 0 && kill(pids[w], SIGKILL) == 0) {
				int st3;

				waitpid(pids[w], &st3, 0);
				if (!WIFSIGNALED(st3) || WTERMSIG(st3) != SIGKILL) {
					printf("MISMATCH worker %d (pid %d) died on its own before the kill: %s %d\n",
					       w, pids[w], WIFSIGNALED(st3) ? "signal" : "status",
					       WIFSIGNALED(st3) ? WTERMSIG(st3) : WEXITSTATUS(st3));
					crashes++;
				} else {
					kills++;
				}
				pids[w] = spawn(w);
			}
			next_kill = now_s() + (opt.kill_ms / 2 + rnd(&r, opt.kill_ms + 1)) / 1000.0;
		}
		usleep(20000);
	}
	atomic_store(&shm->stop, 1);
	t_end = now_s();
	/* every worker lets go and checks itself; give them time under TCG */
	for (w = 0, t_wait = now_s() + 300; w < opt.procs; w++) {
		double until = t_wait;
		int st2;

		while (pids[w] > 0) {
			pid_t pid = waitpid(pids[w], &st2, WNOHANG);

			if (pid == pids[w]) {
				if (WIFSIGNALED(st2) || WEXITSTATUS(st2)) {
					printf("MISMATCH worker %d (pid %d) ended with %s %d\n", w, pid,
					       WIFSIGNALED(st2) ? "signal" : "status",
					       WIFSIGNALED(st2) ? WTERMSIG(st2) : WEXITSTATUS(st2));
					crashes++;
				}
				pids[w] = 0;
			} else if (now_s() > until) {
				printf("MISMATCH worker %d (pid %d) did not finish within 300 s of the end: killed\n", w, pids[w]);
				crashes++;
				kill(pids[w], SIGKILL);
			} else {
				usleep(20000);
			}
		}
	}

	/* What killed workers left: handles in flight in the inboxes, pins. */
	for (w = 0; w < opt.procs; w++) {
		close(shm->inbox[w][0]);
		close(shm->inbox[w][1]);
	}
	if (rp_open(&p) == 0) {
		uint64_t unpinned = 0;

		for (w = 0; w < opt.procs; w++) {
			uint64_t n = atomic_load(&shm->w[w].npins);

			for (i = 0; i < n && i < PIN_N; i++)
				unpinned += rp_unpin(p, &shm->w[w].pins[i]) == 0;
		}
		/* L8: deferred fput() of files that were in flight */
		for (k = 0; k < 100; k++) {
			rp_gc(p, NULL);
			if (rp_stats(p, &st) == 0 && st.objects == base.objects &&
			    st.bytes == base.bytes && st.interned == base.interned) {
				back = true;
				break;
			}
			usleep(200000);
		}
		printf("refpool-fuzz: after the run: %" PRIu64 " pins of killed workers dropped; pool %s baseline after %d s: %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned (baseline %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")\n",
		       unpinned, back ? "back to" : "NOT back to", k / 5, st.objects, st.bytes,
		       st.interned, base.objects, base.bytes, base.interned);
		rp_close(p);
	}

	if (!opt.quiet) {
		printf("refpool-fuzz: %-22s %10s %10s %10s\n", "operation", "calls", "refused", "mismatch");
		for (i = 0; i < NOPS; i++)
			printf("refpool-fuzz: %-22s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", op_name[i],
			       atomic_load(&shm->op_count[i]), atomic_load(&shm->op_einval_like[i]),
			       atomic_load(&shm->op_mismatch[i]));
	}
	total_mism = atomic_load(&shm->mismatches) + crashes + lib_bad + !back;
	printf("refpool-fuzz: seed %#" PRIx64 ": %" PRIu64 " operations in %.1f s, %" PRIu64 " kills, %" PRIu64 " model mismatches (%" PRIu64 " in workers, %" PRIu64 " worker crashes, %" PRIu64 " library, %d leak)\n",
	       opt.seed, atomic_load(&shm->ops), t_end - t0, kills, total_mism,
	       atomic_load(&shm->mismatches), crashes, lib_bad, !back);
	printf("%s\n", total_mism ? "FAIL" : "PASS");
	return total_mism ? 1 : 0;
}
