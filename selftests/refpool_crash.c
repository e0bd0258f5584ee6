// SPDX-License-Identifier: GPL-2.0
/*
 * refpool crash safety: processes holding objects through handles, live
 * mappings, exported fds and handles in flight inside UNIX sockets are
 * killed with SIGKILL, at fixed and at random points. Once they are gone
 * (and the sockets' garbage collector has run) the pool's objects and
 * bytes are back to the baseline exactly, while the objects the test
 * itself still holds keep their refs and their bytes.
 *
 * The random tests print their seed; REFPOOL_SEED=<seed> replays a run.
 */
#include "refpool_test.h"

#include <poll.h>

#define MAX_CHILDREN	8
#define N_SURV		3

/* What the workers saw that they should not have; shared with them. */
struct report {
	uint32_t ops;		/* calls made */
	uint32_t bad;		/* wrong results */
	int32_t first_bad;	/* the first: op * 1000 + errno (or 999) */
};

FIXTURE(crash) {
	struct rp_pool *p;
	pid_t pids[MAX_CHILDREN];
	int npids;
	uint64_t seed;
	struct rpt_rng rng;
	struct report *rep;	/* MAP_SHARED with the children */
	/* Objects the test holds through everything, published for all. */
	rp_handle_t surv[N_SURV];
	uint64_t surv_size[N_SURV];
	uint64_t surv_id[N_SURV];
	unsigned int surv_seed[N_SURV];
	rp_token_t surv_tok[N_SURV];
	unsigned char *surv_map;	/* survivor 0, mapped RW by the test */
	struct rp_stats base;	/* taken with the survivors alive */
};

static size_t pgsz(void)
{
	return (size_t)getpagesize();
}

FIXTURE_SETUP(crash)
{
	const char *env = getenv("REFPOOL_SEED");
	int i;

	RPT_OPEN_OR_SKIP(&self->p);
	self->seed = rpt_seed();
	rpt_rng_init(&self->rng, self->seed);
	TH_LOG("seed %llu%s", (unsigned long long)self->seed,
	       env && *env ? " (from REFPOOL_SEED)" :
	       " (set REFPOOL_SEED to replay)");
	self->rep = mmap(NULL, sizeof(*self->rep), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->rep);

	self->surv_size[0] = 3 * pgsz() + 5;
	self->surv_size[1] = 100;
	self->surv_size[2] = 16;
	for (i = 0; i < N_SURV; i++) {
		self->surv_seed[i] = 70 + i;
		ASSERT_EQ(0, rpt_create_pattern(self->p, self->surv_size[i],
						self->surv_seed[i], 0,
						&self->surv[i]));
		self->surv_id[i] = rpt_id(self->p, self->surv[i]);
		ASSERT_EQ(0, rp_publish(self->p, self->surv[i],
					&self->surv_tok[i]));
	}
	/* Survivor 0 is also mapped here, and rewritten through the map. */
	ASSERT_EQ(0, rp_map(self->p, self->surv[0], PROT_READ | PROT_WRITE,
			    (void **)&self->surv_map));
	self->surv_seed[0] = 80;
	rpt_fill(self->surv_map, self->surv_size[0], self->surv_seed[0]);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(crash)
{
	int i;

	for (i = 0; i < self->npids; i++) {
		if (self->pids[i] > 0) {
			kill(self->pids[i], SIGKILL);
			rpt_wait(self->pids[i]);
		}
	}
	if (self->p)
		rp_close(self->p);
}

/* The survivors: refs exactly what the test holds, bytes untouched. */
static void check_survivors(struct __test_metadata *_metadata,
			    FIXTURE_DATA(crash) *self, const char *when)
{
	unsigned char buf[4 * 4096 + 64];
	int i;

	for (i = 0; i < N_SURV; i++) {
		uint64_t size = self->surv_size[i];

		EXPECT_EQ(self->surv_id[i], rpt_id(self->p, self->surv[i])) {
			TH_LOG("%s: survivor %d is gone", when, i);
		}
		/* Its handle, plus the test's mapping of survivor 0. */
		EXPECT_EQ(i == 0 ? 2 : 1, rpt_refs(self->p, self->surv[i])) {
			TH_LOG("%s: survivor %d refs", when, i);
		}
		ASSERT_GE(sizeof(buf), size);
		EXPECT_EQ((int64_t)size,
			  rp_read(self->p, self->surv[i], 0, buf, size));
		EXPECT_EQ(-1, rpt_mismatch(buf, size, self->surv_seed[i])) {
			TH_LOG("%s: survivor %d contents", when, i);
		}
	}
	EXPECT_EQ(-1, rpt_mismatch(self->surv_map, self->surv_size[0],
				   self->surv_seed[0]));
}

#define CHECK_REPORT() do { \
	EXPECT_EQ(0, self->rep->bad) { \
		TH_LOG("workers saw %u wrong results; first: op %d, errno %d", \
		       self->rep->bad, self->rep->first_bad / 1000, \
		       self->rep->first_bad % 1000); \
	} \
} while (0)

/* Fork a child running @fn(self, arg); it signals readiness on @ready. */
static pid_t spawn(FIXTURE_DATA(crash) *self, int ready,
		   void (*fn)(FIXTURE_DATA(crash) *, int, uint64_t, int),
		   int arg, uint64_t seed)
{
	pid_t pid;

	if (self->npids >= MAX_CHILDREN)
		return -1;
	pid = fork();
	if (pid == 0) {
		fn(self, ready, seed, arg);
		_exit(0);
	}
	if (pid > 0)
		self->pids[self->npids++] = pid;
	return pid;
}

/* SIGKILL every child, in random order with random gaps, and reap them. */
static int kill_all(FIXTURE_DATA(crash) *self)
{
	int i, left = self->npids, killed = 0;

	while (left) {
		int j = rpt_rand_below(&self->rng, left);
		pid_t pid = self->pids[j];

		self->pids[j] = self->pids[left - 1];
		self->pids[left - 1] = 0;
		left--;
		if (pid <= 0)
			continue;
		if (kill(pid, SIGKILL) == 0)
			killed++;
		rpt_sleep_us(rpt_rand_below(&self->rng, 3000));
	}
	for (i = 0; i < self->npids; i++)
		self->pids[i] = 0;
	self->npids = 0;
	/* Reap everything: the harness made us a process group leader. */
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return killed;
}

static void note_bad(struct report *rep, int op, int err)
{
	if (__atomic_fetch_add(&rep->bad, 1, __ATOMIC_RELAXED) == 0)
		rep->first_bad = op * 1000 + (err > 0 && err < 999 ? err : 999);
}

/* ---- Fixed points ---- */

static void ready_then_wait(int ready)
{
	if (rpt_write_all(ready, "r", 1))
		_exit(1);
	for (;;)
		pause();
}

/* Maps its own object and a survivor, puts both handles, waits. */
static void mapper_child(FIXTURE_DATA(crash) *self, int ready, uint64_t seed,
			 int arg)
{
	struct rp_pool *q;
	rp_handle_t h, s;
	void *m1, *m2;

	(void)seed;
	(void)arg;
	if (rp_open(&q) ||
	    rpt_create_pattern(q, 2 * pgsz() + 1, 5, 0, &h) ||
	    rp_map(q, h, PROT_READ | PROT_WRITE, &m1) ||
	    rp_lookup(q, &self->surv_tok[1], &s) ||
	    rp_map(q, s, PROT_READ, &m2) ||
	    rp_put(q, h) || rp_put(q, s))
		_exit(2);
	ready_then_wait(ready);
}

TEST_F(crash, killed_mapper_leaks_nothing)
{
	int pfd[2];
	char c;

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_LT(0, spawn(self, pfd[1], mapper_child, 0, 0));
	ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
	/* Only its mappings hold its object, and one more ref a survivor. */
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 2 * pgsz() + 1, 0);
	EXPECT_EQ(2, rpt_refs(self->p, self->surv[1]));
	EXPECT_EQ(1, kill_all(self));
	EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0);
	check_survivors(_metadata, self, "after the kill");
}

/* Receives an exported fd and holds it, nothing else. */
static void fd_holder_child(FIXTURE_DATA(crash) *self, int ready,
			    uint64_t seed, int sock)
{
	(void)self;
	(void)seed;
	if (rpt_recv_fd(sock) < 0)
		_exit(2);
	ready_then_wait(ready);
}

TEST_F(crash, killed_holder_of_exported_fd_leaks_nothing)
{
	int pfd[2], sv[2], fd;
	rp_handle_t h;
	char c;

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_LT(0, spawn(self, pfd[1], fd_holder_child, sv[1], 0));
	ASSERT_EQ(0, rpt_create_pattern(self->p, 5000, 9, 0, &h));
	ASSERT_EQ(0, rp_export(self->p, h, &fd));
	ASSERT_EQ(0, rpt_send_fd(sv[0], fd));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 5000, 0);
	EXPECT_EQ(1, kill_all(self));
	close(sv[0]);
	close(sv[1]);
	EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0);
	check_survivors(_metadata, self, "after the kill");
}

/*
 * The sender puts handles in flight (its own objects and a survivor) and
 * the owner of the receiving socket never reads them; both die.
 */
static void sender_child(FIXTURE_DATA(crash) *self, int ready, uint64_t seed,
			 int sock)
{
	struct rpt_rng r;
	struct rp_pool *q;
	rp_handle_t h;
	int i, n;

	rpt_rng_init(&r, seed);
	if (rp_open(&q))
		_exit(2);
	n = 1 + rpt_rand_below(&r, 8);
	for (i = 0; i < n; i++) {
		uint64_t size = 1 + rpt_rand_below(&r, 3 * pgsz());

		if (rpt_create_pattern(q, size, i, 0, &h) ||
		    rp_send(sock, q, h))
			_exit(3);
		if (rpt_rand_below(&r, 2) && rp_send(sock, q, h))
			_exit(4);
		if (rpt_rand_below(&r, 2) && rp_put(q, h))
			_exit(5);
	}
	if (rp_lookup(q, &self->surv_tok[2], &h) || rp_send(sock, q, h) ||
	    rp_put(q, h))
		_exit(6);
	ready_then_wait(ready);
}

static void owner_child(FIXTURE_DATA(crash) *self, int ready, uint64_t seed,
			int sock)
{
	(void)self;
	(void)seed;
	(void)sock;	/* holds it, never reads */
	ready_then_wait(ready);
}

TEST_F_TIMEOUT(crash, killed_sender_and_owner_with_handles_in_flight, 120)
{
	const int rounds = 10;
	int r, pfd[2];
	char c;

	ASSERT_EQ(0, pipe(pfd));
	for (r = 0; r < rounds; r++) {
		int sv[2];

		ASSERT_EQ(0, rpt_socketpair(sv));
		ASSERT_LT(0, spawn(self, pfd[1], sender_child, sv[0],
				   rpt_rand(&self->rng)));
		ASSERT_LT(0, spawn(self, pfd[1], owner_child, sv[1], 0));
		/* Only the children hold the sockets. */
		ASSERT_EQ(0, close(sv[0]));
		ASSERT_EQ(0, close(sv[1]));
		ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
		ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
		/* The survivor in flight is a reference. */
		EXPECT_EQ(2, rpt_refs(self->p, self->surv[2]));
		rpt_sleep_us(rpt_rand_below(&self->rng, 5000));
		EXPECT_EQ(2, kill_all(self));
		EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0);
		check_survivors(_metadata, self, "after a round");
		if (!_metadata->passed) {
			TH_LOG("failed in round %d; seed %llu", r,
			       (unsigned long long)self->seed);
			break;
		}
	}
}

/*
 * Each socket of a pair is in flight inside the other, with object files
 * beside it: once their process dies nothing but the UNIX socket garbage
 * collector can free them, and it must free the objects too.
 */
static void cycle_child(FIXTURE_DATA(crash) *self, int ready, uint64_t seed,
			int arg)
{
	struct rp_pool *q;
	rp_handle_t h;
	int sv[2];

	(void)seed;
	(void)arg;
	if (rp_open(&q) || rpt_socketpair(sv) ||
	    rpt_create_pattern(q, 3000, 1, 0, &h) ||
	    rp_send(sv[0], q, h) || rp_send(sv[1], q, h) || rp_put(q, h) ||
	    rp_lookup(q, &self->surv_tok[1], &h) || rp_send(sv[1], q, h) ||
	    rp_put(q, h) ||
	    rpt_send_fd(sv[0], sv[0]) || rpt_send_fd(sv[1], sv[1]))
		_exit(2);
	ready_then_wait(ready);
}

TEST_F(crash, killed_owner_of_socket_cycle_leaks_nothing)
{
	int pfd[2];
	char c;

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_LT(0, spawn(self, pfd[1], cycle_child, 0, 0));
	ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 3000, 0);
	EXPECT_EQ(2, rpt_refs(self->p, self->surv[1]));
	EXPECT_EQ(1, kill_all(self));
	EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0);
	check_survivors(_metadata, self, "after the kill");
}

/* ---- Random points ---- */

#define NSLOTS		12
#define NOBJS		64
#define SEED_UNKNOWN	(~0U)

struct slot {
	rp_handle_t h;
	uint64_t id;		/* the object's, 0 when the slot is empty */
	uint64_t size;
	unsigned char *m;	/* a mapping, kept after a put */
	bool writable;
	int fd;			/* an exported fd, or -1 */
	bool surv;		/* a survivor: never written */
};

/*
 * The pattern each object holds, by id: several slots may name one
 * object (dup, lookup, a mapping kept after a put). SEED_UNKNOWN once a
 * peer may write it too; forgotten (unknown) when the table wraps.
 */
struct known {
	uint64_t id;
	unsigned int seed;
};

static struct known known[NOBJS];
static unsigned int known_next;

static unsigned int seed_of(uint64_t id)
{
	int i;

	for (i = 0; i < NOBJS; i++)
		if (known[i].id == id)
			return known[i].seed;
	return SEED_UNKNOWN;
}

static void set_seed(uint64_t id, unsigned int seed)
{
	int i;

	for (i = 0; i < NOBJS; i++) {
		if (known[i].id == id) {
			known[i].seed = seed;
			return;
		}
	}
	known[known_next].id = id;
	known[known_next].seed = seed;
	known_next = (known_next + 1) % NOBJS;
}

enum op { OP_CREATE, OP_LOOKUP, OP_MAP, OP_WRITE_MAP, OP_CHECK, OP_UNMAP,
	  OP_PUT, OP_EXPORT, OP_CLOSE, OP_MMAP_FD, OP_RP_WRITE, OP_DUP,
	  OP_SEND, OP_RECV, OP_NR };

static const uint64_t sizes[] = { 16, 100, 4096, 3 * 4096 + 5, 777, 20000 };

static void drop_slot(struct slot *s, struct rp_pool *q)
{
	if (s->m)
		munmap(s->m, s->size);
	if (s->fd >= 0)
		close(s->fd);
	if (s->h)
		rp_put(q, s->h);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Does the object's known pattern fill @buf (unknown ones always do)? */
static bool pattern_ok(const void *buf, uint64_t size, uint64_t id)
{
	unsigned int seed = seed_of(id);

	return seed == SEED_UNKNOWN || rpt_mismatch(buf, size, seed) == -1;
}

/* Fill @s with a new handle @h of this session. */
static int take_handle(struct rp_pool *q, struct slot *s, rp_handle_t h)
{
	struct rp_info info;
	int ret = rp_info(q, h, &info);

	if (ret)
		return ret;
	s->h = h;
	s->id = info.id;
	s->size = info.size;
	return 0;
}

/*
 * Random calls on up to NSLOTS objects of its own and the survivors, for
 * ever; with @sock >= 0 it also sends to and receives from a peer.
 */
static void worker_child(FIXTURE_DATA(crash) *self, int ready, uint64_t seed,
			 int sock)
{
	static unsigned char buf[4 * 4096 + 20000];
	struct slot slots[NSLOTS];
	struct report *rep = self->rep;
	struct rpt_rng r;
	struct rp_pool *q;
	rp_handle_t nh;
	int i, ret;

	rpt_rng_init(&r, seed);
	for (i = 0; i < NSLOTS; i++) {
		memset(&slots[i], 0, sizeof(slots[i]));
		slots[i].fd = -1;
	}
	for (i = 0; i < N_SURV; i++)
		set_seed(self->surv_id[i], self->surv_seed[i]);
	if (rp_open(&q))
		_exit(2);
	if (rpt_write_all(ready, "r", 1))
		_exit(3);

	for (;;) {
		struct slot *s = &slots[rpt_rand_below(&r, NSLOTS)];
		struct slot *d = &slots[rpt_rand_below(&r, NSLOTS)];
		enum op op = rpt_rand_below(&r, OP_NR);
		unsigned int nseed = rpt_rand_below(&r, 1000);
		void *m;

		__atomic_fetch_add(&rep->ops, 1, __ATOMIC_RELAXED);
		ret = 0;
		switch (op) {
		case OP_CREATE:
			drop_slot(s, q);
			ret = rpt_create_pattern(q, sizes[rpt_rand_below(&r, 6)],
						 nseed, 0, &nh);
			if (!ret)
				ret = take_handle(q, s, nh);
			if (!ret)
				set_seed(s->id, nseed);
			break;
		case OP_LOOKUP:
			drop_slot(s, q);
			i = rpt_rand_below(&r, N_SURV);
			ret = rp_lookup(q, &self->surv_tok[i], &nh);
			if (!ret)
				ret = take_handle(q, s, nh);
			s->surv = true;
			if (!ret && s->id != self->surv_id[i])
				ret = -996;
			break;
		case OP_MAP:
			if (!s->h || s->m)
				break;
			s->writable = !s->surv && rpt_rand_below(&r, 2);
			ret = rp_map(q, s->h, s->writable ?
				     PROT_READ | PROT_WRITE : PROT_READ, &m);
			if (!ret)
				s->m = m;
			break;
		case OP_WRITE_MAP:
			if (s->m && s->writable) {
				rpt_fill(s->m, s->size, nseed);
				if (seed_of(s->id) != SEED_UNKNOWN)
					set_seed(s->id, nseed);
			}
			break;
		case OP_CHECK:
			if (s->m && !pattern_ok(s->m, s->size, s->id))
				ret = -999;
			else if (s->h && !s->m &&
				 (rp_read(q, s->h, 0, buf, s->size) !=
				  (int64_t)s->size ||
				  !pattern_ok(buf, s->size, s->id)))
				ret = -998;
			break;
		case OP_UNMAP:
			if (s->m)
				ret = rp_unmap(s->m, s->size);
			s->m = NULL;
			break;
		case OP_PUT:
			if (s->h)
				ret = rp_put(q, s->h);
			s->h = 0;	/* a mapping or fd may keep it */
			break;
		case OP_EXPORT:
			if (s->h && s->fd < 0)
				ret = rp_export(q, s->h, &s->fd);
			break;
		case OP_CLOSE:
			if (s->fd >= 0)
				ret = close(s->fd) ? -errno : 0;
			s->fd = -1;
			break;
		case OP_MMAP_FD:
			if (s->fd < 0 || s->m)
				break;
			m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
			if (m == MAP_FAILED) {
				ret = -errno;
			} else {
				s->m = m;
				s->writable = false;
			}
			break;
		case OP_RP_WRITE:
			if (!s->h || s->surv)
				break;
			rpt_fill(buf, s->size, nseed);
			if (rp_write(q, s->h, 0, buf, s->size) !=
			    (int64_t)s->size)
				ret = -997;
			else if (seed_of(s->id) != SEED_UNKNOWN)
				set_seed(s->id, nseed);
			break;
		case OP_DUP:
			if (!s->h || d == s)
				break;
			ret = rp_dup(q, s->h, &nh);
			if (ret)
				break;
			drop_slot(d, q);
			*d = *s;
			d->h = nh;
			d->m = NULL;
			d->fd = -1;
			break;
		case OP_SEND:
			if (sock < 0 || !s->h)
				break;
			ret = rp_send(sock, q, s->h);
			if (ret == -EPIPE)	/* the peer died first */
				ret = 0;
			/* The receiver may write it. */
			if (!s->surv)
				set_seed(s->id, SEED_UNKNOWN);
			break;
		case OP_RECV: {
			struct pollfd pfd = { .fd = sock, .events = POLLIN };

			if (sock < 0 || poll(&pfd, 1, 0) != 1)
				break;
			ret = rp_recv(sock, q, &nh);
			if (ret == -EPIPE) {
				sock = -1;
				ret = 0;
				break;
			}
			if (ret)
				break;
			drop_slot(s, q);
			ret = take_handle(q, s, nh);
			for (i = 0; i < N_SURV; i++)
				if (s->id == self->surv_id[i])
					s->surv = true;
			if (!s->surv)
				set_seed(s->id, SEED_UNKNOWN);
			break;
		}
		case OP_NR:
			break;
		}
		if (ret)
			note_bad(rep, op, -ret);
	}
}

/* Rounds of @nchildren workers killed at random points; @pairs: sockets. */
static void random_rounds(struct __test_metadata *_metadata,
			  FIXTURE_DATA(crash) *self, int rounds, int nchildren,
			  bool pairs)
{
	uint64_t total_ops = 0;
	int r, i, pfd[2];
	char c;

	ASSERT_EQ(0, pipe(pfd));
	for (r = 0; r < rounds; r++) {
		int sv[MAX_CHILDREN][2];

		memset(self->rep, 0, sizeof(*self->rep));
		for (i = 0; i < nchildren; i++) {
			int sock = -1;

			if (pairs && i % 2 == 0)
				ASSERT_EQ(0, rpt_socketpair(sv[i]));
			if (pairs)
				sock = i % 2 ? sv[i - 1][1] : sv[i][0];
			ASSERT_LT(0, spawn(self, pfd[1], worker_child, sock,
					   rpt_rand(&self->rng)));
		}
		if (pairs) {
			for (i = 0; i < nchildren; i += 2) {
				close(sv[i][0]);
				close(sv[i][1]);
			}
		}
		for (i = 0; i < nchildren; i++)
			ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
		rpt_sleep_us(1000 + rpt_rand_below(&self->rng, 100000));
		EXPECT_EQ(nchildren, kill_all(self));
		EXPECT_LT(0, self->rep->ops);
		total_ops += self->rep->ops;
		CHECK_REPORT();
		EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0);
		check_survivors(_metadata, self, "after a round");
		if (!_metadata->passed) {
			TH_LOG("failed in round %d; seed %llu", r,
			       (unsigned long long)self->seed);
			break;
		}
	}
	TH_LOG("%d rounds, %llu calls by the killed workers", r,
	       (unsigned long long)total_ops);
}

TEST_F_TIMEOUT(crash, random_kills_of_mappers_and_exporters, 300)
{
	random_rounds(_metadata, self, 16, 3, false);
}

TEST_F_TIMEOUT(crash, random_kills_of_pairs_passing_handles, 300)
{
	random_rounds(_metadata, self, 16, 4, true);
}

TEST_HARNESS_MAIN
