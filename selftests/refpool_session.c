// SPDX-License-Identifier: GPL-2.0
/*
 * refpool sessions: what closing, dying, forking and threads do to the
 * references a session holds, and that the module stays loaded while a
 * session is open.
 */
#include "refpool_test.h"

#include <pthread.h>
#include <sys/syscall.h>

FIXTURE(session) {
	struct rp_pool *p;	/* also the observer of the pool's counters */
	struct rp_stats base;
	pid_t child;		/* killed by the teardown if still there */
};

FIXTURE_SETUP(session)
{
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(session)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		rpt_wait(self->child);
	}
	if (self->p)
		rp_close(self->p);
}

/* ---- Closing and dying ---- */

TEST_F(session, close_drops_every_reference)
{
	rp_handle_t h[3], d;
	struct rp_pool *q;
	struct rp_stats st;
	int i;

	ASSERT_EQ(0, rp_open(&q));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rp_create(q, 1000, 0, 0, &h[i]));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, rp_dup(q, h[i % 3], &d));
	GET_STATS(q, &st);
	EXPECT_EQ(13, st.session_handles);
	EXPECT_POOL_DELTA(self->p, &self->base, 3, 3000, 0);
	rp_close(q);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(session, handles_are_counted_per_session)
{
	struct rp_pool *q;
	struct rp_stats st;
	rp_handle_t h;
	int i;

	ASSERT_EQ(0, rp_open(&q));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, rp_create(q, 1, 0, 0, &h));
	GET_STATS(q, &st);
	EXPECT_EQ(5, st.session_handles);
	EXPECT_POOL_DELTA(self->p, &self->base, 5, 5, 0);
	rp_close(q);
}

/* The session is the open file description: it ends with its last fd. */
TEST_F(session, session_ends_with_its_last_fd)
{
	struct rp_pool *q;
	rp_handle_t h;
	int fd2;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rp_create(q, 100, 0, 0, &h));
	fd2 = dup(rp_fd(q));
	ASSERT_LE(0, fd2);
	rp_close(q);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 100, 0);
	ASSERT_EQ(0, close(fd2));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* A child creates objects in its own session, then dies as told. */
static void holder_child(int ready_fd, int nobj, bool do_exit)
{
	struct rp_pool *q;
	rp_handle_t h, d;
	char ok = 'k';
	int i;

	if (rp_open(&q))
		_exit(1);
	for (i = 0; i < nobj; i++) {
		if (rp_create(q, 128, 1, 0, &h))
			_exit(2);
		if (i % 4 == 0 && rp_dup(q, h, &d))
			_exit(3);
	}
	if (rpt_write_all(ready_fd, &ok, 1))
		_exit(4);
	if (do_exit)
		_exit(0);	/* without rp_close() */
	for (;;)
		pause();
}

TEST_F_TIMEOUT(session, sigkilled_holder_leaks_nothing, 60)
{
	const int nobj = 5000;
	int pfd[2];
	char c;

	ASSERT_EQ(0, pipe(pfd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(pfd[0]);
		holder_child(pfd[1], nobj, false);
	}
	close(pfd[1]);
	ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
	EXPECT_POOL_DELTA(self->p, &self->base, nobj, nobj * 128ULL, 0);

	ASSERT_EQ(0, kill(self->child, SIGKILL));
	EXPECT_EQ(-1, rpt_wait(self->child));
	self->child = 0;
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(session, exit_without_close_leaks_nothing)
{
	int pfd[2];
	char c;

	ASSERT_EQ(0, pipe(pfd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(pfd[0]);
		holder_child(pfd[1], 100, true);
	}
	close(pfd[1]);
	ASSERT_EQ(0, rpt_read_all(pfd[0], &c, 1));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* ---- fork: the child shares the session ---- */

/* Run @fn(p, h, pipe) in a forked child; return its exit status. */
static int in_child(struct rp_pool *p, rp_handle_t h, int wfd,
		    int (*fn)(struct rp_pool *, rp_handle_t, int))
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(p, h, wfd));
	return pid < 0 ? -1 : rpt_wait(pid);
}

static int child_reads_handle(struct rp_pool *p, rp_handle_t h, int wfd)
{
	unsigned char buf[64];
	struct rp_info info;

	if (rp_info(p, h, &info) ||
	    rp_read(p, h, 0, buf, sizeof(buf)) != sizeof(buf) ||
	    rpt_mismatch(buf, sizeof(buf), 21) != -1)
		return 1;
	return rpt_write_all(wfd, &info.id, sizeof(info.id)) ? 2 : 0;
}

TEST_F(session, fork_child_uses_parent_handles)
{
	struct rp_info info;
	uint64_t id = 0;
	rp_handle_t h;
	int pfd[2];

	ASSERT_EQ(0, rpt_create_pattern(self->p, 64, 21, 0, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ(0, in_child(self->p, h, pfd[1], child_reads_handle));
	ASSERT_EQ(0, rpt_read_all(pfd[0], &id, sizeof(id)));
	EXPECT_EQ(info.id, id);
}

static int child_creates(struct rp_pool *p, rp_handle_t h, int wfd)
{
	rp_handle_t mine;

	(void)h;
	if (rpt_create_pattern(p, 64, 22, 0, &mine))
		return 1;
	return rpt_write_all(wfd, &mine, sizeof(mine)) ? 2 : 0;
}

TEST_F(session, fork_child_handles_are_the_parents)
{
	unsigned char buf[64];
	rp_handle_t h = 0;
	int pfd[2];

	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ(0, in_child(self->p, 0, pfd[1], child_creates));
	ASSERT_EQ(0, rpt_read_all(pfd[0], &h, sizeof(h)));
	/* The child has exited; its object lives on in the shared session. */
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 22));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 64, 1);
}

static int child_puts(struct rp_pool *p, rp_handle_t h, int wfd)
{
	(void)wfd;
	return rp_put(p, h) ? 1 : 0;
}

TEST_F(session, fork_child_put_is_seen_by_parent)
{
	struct rp_info info;
	rp_handle_t h, d;

	ASSERT_EQ(0, rp_create(self->p, 10, 0, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &d));
	EXPECT_EQ(0, in_child(self->p, d, -1, child_puts));
	EXPECT_EQ(-EBADF, rp_info(self->p, d, &info));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(1, info.refs);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 10, 1);
}

static int child_closes(struct rp_pool *p, rp_handle_t h, int wfd)
{
	(void)h;
	(void)wfd;
	rp_close(p);
	return 0;
}

TEST_F(session, fork_child_close_closes_only_its_fd)
{
	struct rpt_obj o;
	rp_handle_t h, h2;

	ASSERT_EQ(0, rpt_create_pattern(self->p, 300, 23, 0, &h));
	SNAP(self->p, h, &o);
	GET_STATS(self->p, &self->base);
	EXPECT_EQ(0, in_child(self->p, h, -1, child_closes));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_EQ(0, rp_create(self->p, 1, 0, 0, &h2));
}

/* ---- Threads on one session ---- */

#define NTHREADS	8

struct race {
	struct rp_pool *p;
	pthread_barrier_t go;
	rp_handle_t *handles;	/* the handles raced on */
	int nhandles;
	int iters;
	int wins[NTHREADS];	/* successful calls per thread */
	int bad[NTHREADS];	/* unexpected results per thread */
	int bad_line[NTHREADS];	/* where the last one was seen */
	int64_t bad_ret[NTHREADS];	/* and what the call returned */
	rp_handle_t *dups[NTHREADS];
	int ndups[NTHREADS];
};

struct worker {
	struct race *r;
	int id;
};

/* Note an unexpected result @ret in thread @id (threads cannot ASSERT). */
#define BAD(r, id, ret) do { \
	(r)->bad[id]++; \
	(r)->bad_line[id] = __LINE__; \
	(r)->bad_ret[id] = (ret); \
} while (0)

static void expect_no_bad(struct __test_metadata *_metadata, struct race *r)
{
	int i;

	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, r->bad[i]) {
			TH_LOG("thread %d: last at line %d, returned %lld",
			       i, r->bad_line[i], (long long)r->bad_ret[i]);
		}
	}
}

static void run_threads(struct race *r, void *(*fn)(void *), int n)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	int i;

	pthread_barrier_init(&r->go, NULL, n);
	for (i = 0; i < n; i++) {
		w[i].r = r;
		w[i].id = i;
		if (pthread_create(&t[i], NULL, fn, &w[i]))
			abort();
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&r->go);
}

/* Each thread dups the one handle and puts its dup, over and over. */
static void *dup_put_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	rp_handle_t d;
	int i, ret;

	pthread_barrier_wait(&r->go);
	for (i = 0; i < r->iters; i++) {
		ret = rp_dup(r->p, r->handles[0], &d);
		if (ret || d == 0 || d == r->handles[0]) {
			BAD(r, w->id, ret);
			continue;
		}
		ret = rp_put(r->p, d);
		if (ret)
			BAD(r, w->id, ret);
	}
	return NULL;
}

TEST_F_TIMEOUT(session, threads_dup_put_keep_exact_refs, 120)
{
	struct race r = { .p = self->p, .nhandles = 1, .iters = 5000 };
	struct rp_info info;
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 64, 0, 0, &h));
	r.handles = &h;
	run_threads(&r, dup_put_worker, NTHREADS);
	expect_no_bad(_metadata, &r);
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(1, info.refs);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 64, 1);
}

/* Every thread puts every handle: exactly one put of each wins. */
static void *put_all_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	int i, k, ret;

	pthread_barrier_wait(&r->go);
	for (k = 0; k < r->nhandles; k++) {
		i = (k + w->id * 37) % r->nhandles;
		ret = rp_put(r->p, r->handles[i]);
		if (ret == 0)
			r->wins[w->id]++;
		else if (ret != -EBADF)
			BAD(r, w->id, ret);
	}
	return NULL;
}

TEST_F_TIMEOUT(session, threads_put_same_handles_once, 120)
{
	struct race r = { .p = self->p, .nhandles = 2000 };
	rp_handle_t *h = calloc(r.nhandles, sizeof(*h));
	int i, wins = 0;

	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h[0]));
	for (i = 1; i < r.nhandles / 2; i++)
		ASSERT_EQ(0, rp_dup(self->p, h[0], &h[i]));
	for (; i < r.nhandles; i++)
		ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h[i]));
	r.handles = h;
	run_threads(&r, put_all_worker, NTHREADS);
	expect_no_bad(_metadata, &r);
	for (i = 0; i < NTHREADS; i++)
		wins += r.wins[i];
	EXPECT_EQ(r.nhandles, wins);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	free(h);
}

/*
 * Thread 0 puts the handles one by one while the others dup them: each dup
 * either makes a new handle to the same object or finds the handle gone.
 */
static void *dup_vs_put_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	rp_handle_t d;
	int i, ret;

	pthread_barrier_wait(&r->go);
	for (i = 0; i < r->nhandles; i++) {
		if (w->id == 0) {
			ret = rp_put(r->p, r->handles[i]);
			if (ret)
				BAD(r, 0, ret);
			continue;
		}
		ret = rp_dup(r->p, r->handles[i], &d);
		if (ret == 0)
			r->dups[w->id][r->ndups[w->id]++] = d;
		else if (ret != -EBADF)
			BAD(r, w->id, ret);
	}
	return NULL;
}

TEST_F_TIMEOUT(session, threads_dup_while_put, 120)
{
	struct race r = { .p = self->p, .nhandles = 3000 };
	rp_handle_t h, *hs = calloc(r.nhandles, sizeof(*hs));
	struct rp_info info;
	int i, j;

	ASSERT_NE(NULL, hs);
	ASSERT_EQ(0, rp_create(self->p, 512, 0, 0, &h));
	for (i = 0; i < r.nhandles; i++)
		ASSERT_EQ(0, rp_dup(self->p, h, &hs[i]));
	for (i = 0; i < NTHREADS; i++) {
		r.dups[i] = calloc(r.nhandles, sizeof(rp_handle_t));
		ASSERT_NE(NULL, r.dups[i]);
	}
	r.handles = hs;
	run_threads(&r, dup_vs_put_worker, NTHREADS);
	expect_no_bad(_metadata, &r);
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < r.ndups[i]; j++) {
			struct rp_info di;

			ASSERT_EQ(0, rp_info(self->p, r.dups[i][j], &di));
			EXPECT_EQ(info.id, di.id);
			ASSERT_EQ(0, rp_put(self->p, r.dups[i][j]));
		}
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(1, info.refs);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 512, 1);
	for (i = 0; i < NTHREADS; i++)
		free(r.dups[i]);
	free(hs);
}

/*
 * Thread 0 puts objects (each the last handle) while the others read them:
 * a read either sees the right bytes or finds the handle gone.
 */
static void *read_vs_put_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	unsigned char buf[256];
	struct rp_info info;
	int64_t n;
	int i;

	pthread_barrier_wait(&r->go);
	for (i = 0; i < r->nhandles; i++) {
		if (w->id == 0) {
			n = rp_put(r->p, r->handles[i]);
			if (n)
				BAD(r, 0, n);
			continue;
		}
		n = rp_read(r->p, r->handles[i], 0, buf, sizeof(buf));
		if (n == (int64_t)sizeof(buf)) {
			if (rpt_mismatch(buf, sizeof(buf), i % 200) != -1)
				BAD(r, w->id, n);
		} else if (n != -EBADF) {
			BAD(r, w->id, n);
		}
		/* (refs under concurrent calls: info_refs_ignore_other_calls) */
		n = rp_info(r->p, r->handles[i], &info);
		if (n == 0 && info.size != sizeof(buf))
			BAD(r, w->id, (int64_t)info.size);
		else if (n != 0 && n != -EBADF)
			BAD(r, w->id, n);
	}
	return NULL;
}

TEST_F_TIMEOUT(session, threads_read_while_put, 120)
{
	struct race r = { .p = self->p, .nhandles = 2000 };
	rp_handle_t *hs = calloc(r.nhandles, sizeof(*hs));
	int i;

	ASSERT_NE(NULL, hs);
	for (i = 0; i < r.nhandles; i++)
		ASSERT_EQ(0, rpt_create_pattern(self->p, 256, i % 200, 0,
						&hs[i]));
	r.handles = hs;
	run_threads(&r, read_vs_put_worker, NTHREADS);
	expect_no_bad(_metadata, &r);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	free(hs);
}

/*
 * refs counts the handles, never the references that calls in flight on
 * the object hold while they run: readers in other threads must not show.
 */
static void *reader_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	unsigned char buf[64];
	struct rp_info info;
	int64_t n;
	int i;

	pthread_barrier_wait(&r->go);
	for (i = 0; i < r->iters; i++) {
		if (w->id == 0) {
			n = rp_info(r->p, r->handles[0], &info);
			if (n || info.refs != 1)
				BAD(r, 0, n ? n : (int64_t)info.refs);
			continue;
		}
		n = rp_read(r->p, r->handles[0], 0, buf, sizeof(buf));
		if (n != (int64_t)sizeof(buf))
			BAD(r, w->id, n);
		n = rp_info(r->p, r->handles[0], &info);
		if (n)
			BAD(r, w->id, n);
	}
	return NULL;
}

TEST_F_TIMEOUT(session, threads_info_refs_ignore_other_calls, 120)
{
	struct race r = { .p = self->p, .nhandles = 1, .iters = 20000 };
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, 64, 25, 0, &h));
	r.handles = &h;
	run_threads(&r, reader_worker, NTHREADS);
	expect_no_bad(_metadata, &r);
}

/* Threads create, check and put their own objects side by side. */
static void *create_put_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	unsigned char buf[300];
	rp_handle_t h;
	int i;

	pthread_barrier_wait(&r->go);
	for (i = 0; i < r->iters; i++) {
		size_t len = (i * 7 + w->id) % sizeof(buf);

		if (rpt_create_pattern(r->p, len, w->id, 0, &h) ||
		    rp_read(r->p, h, 0, buf, len) != (int64_t)len ||
		    rpt_mismatch(buf, len, w->id) != -1 ||
		    rp_put(r->p, h))
			BAD(r, w->id, -1);
	}
	return NULL;
}

TEST_F_TIMEOUT(session, threads_create_put_keep_exact_stats, 120)
{
	struct race r = { .p = self->p, .iters = 3000 };

	run_threads(&r, create_put_worker, NTHREADS);
	expect_no_bad(_metadata, &r);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* ---- The module is pinned while a session is open ---- */

TEST_F(session, rmmod_refused_while_open)
{
	struct rpt_obj o;
	rp_handle_t h, h2;
	long ret;

	if (geteuid() != 0)
		SKIP(return, "needs root to try delete_module");
	if (access("/sys/module/refpool", F_OK))
		SKIP(return, "refpool is not a loaded module");
	ASSERT_EQ(0, rpt_create_pattern(self->p, 100, 24, 0, &h));
	SNAP(self->p, h, &o);
	GET_STATS(self->p, &self->base);

	ret = syscall(__NR_delete_module, "refpool", O_NONBLOCK);
	ASSERT_EQ(-1, ret) TH_LOG("refpool was unloaded with a session open");
	EXPECT_EQ(EWOULDBLOCK, errno);

	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_EQ(0, rp_create(self->p, 1, 0, 0, &h2));
}

TEST_HARNESS_MAIN
