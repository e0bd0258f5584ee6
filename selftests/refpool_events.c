// SPDX-License-Identifier: GPL-2.0
/*
 * refpool lifecycle events: weak watches with callbacks, across processes
 * (SPEC "Lifecycle events", rp_watch(3)). One rule per subtest:
 *
 * - a watch is weak: it adds no reference and never delays a free;
 * - each watch fires each of its events once; SEALED fires at once on a
 *   sealed object; FREED is queued before the call that freed the object
 *   returns, whatever freed it (put, a session closing, a SIGKILLed
 *   holder, the collector, an unlinked slot, the last mapping, the last
 *   exported fd);
 * - the session fd polls POLLIN while events are queued: poll, epoll and
 *   io_uring's POLL_ADD;
 * - a full queue drops events and queues one OVERFLOW per stretch, then
 *   queueing resumes once it is read;
 * - a session closed with armed watches and queued events (10^5 of
 *   them too) gives back every byte; other watchers of the same objects
 *   keep theirs;
 * - a watch by token works across users and follows rp_lookup()'s rules;
 *   the errors of SPEC §3, one per subtest; the quota.
 */
#include "refpool_test.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>

RPT_SAVE_PARAMS("max_session_events", "max_user_bytes", "gc_threshold");

#define COOKIE		0xc00c1e5ULL
#define MAXEV		64

FIXTURE(events) {
	struct rp_pool *p;
	struct rp_stats base;
	struct rp_event ev[MAXEV];
};

FIXTURE_SETUP(events)
{
	struct refpool_version v;

	RPT_OPEN_OR_SKIP(&self->p);
	memset(&v, 0, sizeof(v));
	ASSERT_EQ(0, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_VERSION, &v));
	if (!(v.features & REFPOOL_FEAT_EVENTS))
		SETUP_SKIP("the module has no lifecycle events");
	/*
	 * Collect the garbage earlier programs left, now: the periodic full
	 * collection (gc_full_interval) would free it in the middle of a
	 * test that counts the pool's objects.
	 */
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(events)
{
	rp_close(self->p);
	EXPECT_EQ(0, rpt_params_restore());
}

/* Take what is queued, never waiting. */
static int take(struct rp_pool *p, struct rp_event *ev)
{
	return rp_read_events(p, ev, MAXEV, 0);
}

#define EXPECT_EVENT(e, want_events, want_id, want_cookie) do { \
	EXPECT_EQ((uint32_t)(want_events), (e).events); \
	EXPECT_EQ((uint64_t)(want_id), (e).id); \
	EXPECT_EQ((uint64_t)(want_cookie), (e).cookie); \
	EXPECT_EQ(0, (e).reserved); \
} while (0)

/* A new 16-byte object, watched for @events: its id. */
static uint64_t watched(struct __test_metadata *_metadata, struct rp_pool *p,
			uint32_t events, rp_handle_t *h)
{
	uint64_t id;

	EXPECT_EQ(0, rp_create(p, 16, 0, 0, h));
	id = rpt_id(p, *h);
	EXPECT_NE(0, id);
	EXPECT_EQ(0, rp_watch(p, *h, events, COOKIE));
	return id;
}

static uint64_t session_watches(struct rp_pool *p)
{
	struct rp_stats st;

	return rp_stats(p, &st) ? ~0ULL : st.session_watches;
}

static uint64_t session_events(struct rp_pool *p)
{
	struct rp_stats st;

	return rp_stats(p, &st) ? ~0ULL : st.session_events;
}

/* ---- weak, once, at once ------------------------------------------------ */

TEST_F(events, watch_adds_no_reference)
{
	rp_handle_t h;

	watched(_metadata, self->p, RP_EV_FREED | RP_EV_SEALED, &h);
	EXPECT_EQ(1, rpt_refs(self->p, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	/* Nothing else held it: gone when the put returns. */
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 0);
}

TEST_F(events, freed_on_put)
{
	rp_handle_t h;
	uint64_t id = watched(_metadata, self->p, RP_EV_FREED, &h);

	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
}

TEST_F(events, freed_fires_once)
{
	rp_handle_t h;

	watched(_metadata, self->p, RP_EV_FREED, &h);
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EQ(0, take(self->p, self->ev));
	EXPECT_EQ(0, session_watches(self->p));
}

TEST_F(events, sealed_fires_once)
{
	rp_handle_t h;
	uint64_t id = watched(_metadata, self->p, RP_EV_SEALED, &h);

	ASSERT_EQ(0, rp_seal(self->p, h));
	ASSERT_EQ(0, rp_seal(self->p, h));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_SEALED, id, COOKIE);
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, take(self->p, self->ev));
}

/* A watch of both: SEALED, then FREED, each once, in that order. */
TEST_F(events, both_in_order)
{
	rp_handle_t h;
	uint64_t id = watched(_metadata, self->p, RP_EV_FREED | RP_EV_SEALED, &h);

	ASSERT_EQ(0, rp_seal(self->p, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(2, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_SEALED, id, COOKIE);
	EXPECT_EVENT(self->ev[1], RP_EV_FREED, id, COOKIE);
}

/* Events of different watches come in the order they happened. */
TEST_F(events, order_of_firing)
{
	rp_handle_t a, b;
	uint64_t ida = watched(_metadata, self->p, RP_EV_FREED | RP_EV_SEALED, &a);
	uint64_t idb = watched(_metadata, self->p, RP_EV_FREED, &b);

	ASSERT_EQ(0, rp_seal(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(3, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_SEALED, ida, COOKIE);
	EXPECT_EVENT(self->ev[1], RP_EV_FREED, idb, COOKIE);
	EXPECT_EVENT(self->ev[2], RP_EV_FREED, ida, COOKIE);
}

TEST_F(events, sealed_at_once_when_created_sealed)
{
	rp_handle_t h;
	uint64_t id;

	ASSERT_EQ(0, rp_create_from(self->p, "abc", 3, RP_SEALED, &h));
	id = rpt_id(self->p, h);
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_SEALED, 5));
	/* Queued before rp_watch() returned. */
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_SEALED, id, 5);
	EXPECT_EQ(0, session_watches(self->p));
}

TEST_F(events, sealed_at_once_when_interned)
{
	rp_handle_t h;
	uint64_t id;

	ASSERT_LE(0, rp_intern(self->p, "events-interned", 15, &h));
	id = rpt_id(self->p, h);
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_SEALED | RP_EV_FREED, 6));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_SEALED, id, 6);
	/* FREED still waits. */
	EXPECT_EQ(1, session_watches(self->p));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, 6);
}

/* An object freed unsealed: its SEALED watch never fires, and is gone. */
TEST_F(events, sealed_never_when_freed_unsealed)
{
	rp_handle_t h;

	watched(_metadata, self->p, RP_EV_SEALED, &h);
	EXPECT_EQ(1, session_watches(self->p));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, take(self->p, self->ev));
	EXPECT_EQ(0, session_watches(self->p));
	EXPECT_EQ(self->base.user_bytes, rpt_user_bytes(self->p));
}

TEST_F(events, two_watches_two_cookies)
{
	rp_handle_t h;
	uint64_t id;

	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	id = rpt_id(self->p, h);
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_FREED, 1));
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_FREED, 2));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(2, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, 1);
	EXPECT_EVENT(self->ev[1], RP_EV_FREED, id, 2);
}

/* ---- every way to die ---------------------------------------------------- */

/* The last holder is another session of this process: it closes. */
TEST_F(events, freed_by_session_close)
{
	struct rp_pool *q;
	rp_handle_t h;
	rp_token_t tok;
	uint64_t id;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rp_create(q, 16, 0, 0, &h));
	id = rpt_id(q, h);
	ASSERT_EQ(0, rp_publish(q, h, &tok));
	ASSERT_EQ(0, rp_watch_token(self->p, &tok, RP_EV_FREED, 9));
	rp_close(q);
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, 9);
}

struct holder {
	int ready[2];
	rp_token_t tok;
	uint64_t id;
};

static int hold_and_wait(void *arg)
{
	struct holder *hd = arg;
	struct rp_pool *p;
	rp_handle_t h;
	char c = 'r';

	if (rp_open(&p) || rp_create(p, 64, 0, 0, &h) ||
	    rp_publish(p, h, &hd->tok))
		return 1;
	hd->id = rpt_id(p, h);
	if (write(hd->ready[1], &c, 1) != 1)
		return 1;
	for (;;)
		pause();
}

TEST_F(events, freed_by_sigkill)
{
	struct holder *hd = rpt_shared(sizeof(*hd));
	pid_t pid;
	char c;

	ASSERT_NE(NULL, hd);
	ASSERT_EQ(0, pipe2(hd->ready, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(hold_and_wait(hd));
	ASSERT_EQ(1, read(hd->ready[0], &c, 1));
	ASSERT_EQ(0, rp_watch_token(self->p, &hd->tok, RP_EV_FREED, 11));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	/* Its files were closed before it became a zombie. */
	EXPECT_EQ(-1, rpt_wait(pid));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, hd->id, 11);
}

TEST_F(events, freed_by_collector)
{
	rp_handle_t a, b;
	uint64_t ida, idb, collected;

	/* This collection, not an automatic one, frees the cycle. */
	ASSERT_EQ(0, rpt_param_set_u64("gc_threshold", 0));
	ASSERT_EQ(0, rp_create(self->p, 16, 1, 0, &a));
	ASSERT_EQ(0, rp_create(self->p, 16, 1, 0, &b));
	ida = rpt_id(self->p, a);
	idb = rpt_id(self->p, b);
	ASSERT_EQ(0, rp_link(self->p, a, 0, b));
	ASSERT_EQ(0, rp_link(self->p, b, 0, a));
	ASSERT_EQ(0, rp_watch(self->p, a, RP_EV_FREED, 1));
	ASSERT_EQ(0, rp_watch(self->p, b, RP_EV_FREED, 2));
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	EXPECT_LE(2, collected);
	ASSERT_EQ(2, take(self->p, self->ev));
	EXPECT_EQ(RP_EV_FREED, self->ev[0].events);
	EXPECT_EQ(RP_EV_FREED, self->ev[1].events);
	EXPECT_EQ(ida + idb, self->ev[0].id + self->ev[1].id);
	EXPECT_EQ(3, self->ev[0].cookie + self->ev[1].cookie);
}

TEST_F(events, freed_by_unlink)
{
	rp_handle_t parent, child;
	uint64_t id;

	ASSERT_EQ(0, rp_create(self->p, 16, 1, 0, &parent));
	id = watched(_metadata, self->p, RP_EV_FREED, &child);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_put(self->p, child));
	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, rp_link(self->p, parent, 0, 0));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
}

TEST_F(events, freed_by_last_mapping)
{
	size_t len = getpagesize();
	rp_handle_t h;
	uint64_t id;
	void *m;

	ASSERT_EQ(0, rp_create(self->p, len, 0, 0, &h));
	id = rpt_id(self->p, h);
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_FREED, 3));
	ASSERT_EQ(0, rp_map(self->p, h, PROT_READ | PROT_WRITE, &m));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, munmap(m, len));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, 3);
}

TEST_F(events, freed_by_last_exported_fd)
{
	rp_handle_t h;
	uint64_t id;
	int fd;

	id = watched(_metadata, self->p, RP_EV_FREED, &h);
	ASSERT_EQ(0, rp_export(self->p, h, &fd));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
}

TEST_F(events, freed_by_last_dmabuf)
{
	struct refpool_version v = { 0 };
	rp_handle_t h;
	uint64_t id;
	int fd;

	ASSERT_EQ(0, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_VERSION, &v));
	if (!(v.features & REFPOOL_FEAT_DMABUF))
		SKIP(return, "the module exports no dma-bufs");
	id = watched(_metadata, self->p, RP_EV_FREED, &h);
	ASSERT_EQ(0, rp_export_dmabuf(self->p, h, O_CLOEXEC, &fd));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
}

TEST_F(events, freed_by_unpin)
{
	rp_handle_t h;
	rp_token_t tok;
	uint64_t id;

	id = watched(_metadata, self->p, RP_EV_FREED, &h);
	ASSERT_EQ(0, rp_pin(self->p, h, &tok));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, take(self->p, self->ev));
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
}

/* ---- collections --------------------------------------------------------- */

TEST_F(events, gc_event_per_collection)
{
	uint64_t collected;
	rp_handle_t a;

	/* Only this test's collections: no automatic ones meanwhile. */
	ASSERT_EQ(0, rpt_param_set_u64("gc_threshold", 0));
	ASSERT_EQ(0, rp_watch(self->p, 0, RP_EV_GC, 77));
	EXPECT_EQ(1, session_watches(self->p));
	ASSERT_EQ(0, rp_create(self->p, 16, 1, 0, &a));
	ASSERT_EQ(0, rp_link(self->p, a, 0, a));
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	EXPECT_LE(1, collected);
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_GC, collected, 77);
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_GC, collected, 77);
	/* A subscription stays. */
	EXPECT_EQ(1, session_watches(self->p));
}

/* ---- polling ---------------------------------------------------------- */

static int readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret = poll(&pfd, 1, ms);

	return ret < 0 ? -errno : ret && (pfd.revents & POLLIN);
}

TEST_F(events, poll_readable_while_queued)
{
	int fd = rp_events_fd(self->p);
	rp_handle_t h;

	ASSERT_LE(0, fd);
	watched(_metadata, self->p, RP_EV_FREED, &h);
	EXPECT_EQ(0, readable(fd, 0));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(1, readable(fd, 0));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EQ(0, readable(fd, 0));
}

/* A child frees the object a while later; the parent sleeps in @wait. */
static pid_t put_later(struct rp_pool *p, rp_handle_t h, unsigned int ms)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	rpt_sleep_us(ms * 1000);
	/* The forked child shares the session: its put is the session's. */
	_exit(rp_put(p, h) ? 1 : 0);
}

TEST_F(events, poll_wakes_on_event)
{
	int fd = rp_events_fd(self->p);
	rp_handle_t h;
	pid_t pid;

	watched(_metadata, self->p, RP_EV_FREED, &h);
	pid = put_later(self->p, h, 200);
	ASSERT_LE(0, pid);
	EXPECT_EQ(1, readable(fd, 20000));
	EXPECT_EQ(0, rpt_wait(pid));
	EXPECT_EQ(1, take(self->p, self->ev));
}

TEST_F(events, epoll_wakes_on_event)
{
	struct epoll_event e = { .events = EPOLLIN }, got;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	rp_handle_t h;
	pid_t pid;

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, rp_events_fd(self->p), &e));
	EXPECT_EQ(0, epoll_wait(ep, &got, 1, 0));
	watched(_metadata, self->p, RP_EV_FREED, &h);
	pid = put_later(self->p, h, 200);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, epoll_wait(ep, &got, 1, 20000));
	EXPECT_TRUE(got.events & EPOLLIN);
	EXPECT_EQ(0, rpt_wait(pid));
	EXPECT_EQ(1, take(self->p, self->ev));
	/* Level-triggered: quiet again once read. */
	EXPECT_EQ(0, epoll_wait(ep, &got, 1, 0));
	close(ep);
}

/* An io_uring with raw system calls: just what POLL_ADD needs. */
struct ring {
	int fd;
	struct io_uring_params par;
	void *sq, *cq;
	size_t sq_len, cq_len;
	struct io_uring_sqe *sqes;
};

static int ring_setup(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, 4, &r->par);
	if (r->fd < 0)
		return -errno;
	r->sq_len = r->par.sq_off.array + r->par.sq_entries * sizeof(__u32);
	r->cq_len = r->par.cq_off.cqes +
		    r->par.cq_entries * sizeof(struct io_uring_cqe);
	r->sq = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->par.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -ENOMEM;
	return 0;
}

#define RING_U32(base, off)	((unsigned int *)((char *)(base) + (off)))

static int ring_poll_add(struct ring *r, int fd)
{
	unsigned int tail = *RING_U32(r->sq, r->par.sq_off.tail);
	unsigned int mask = *RING_U32(r->sq, r->par.sq_off.ring_mask);
	struct io_uring_sqe *sqe = &r->sqes[tail & mask];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_POLL_ADD;
	sqe->fd = fd;
	sqe->poll32_events = POLLIN;
	sqe->user_data = 42;
	RING_U32(r->sq, r->par.sq_off.array)[tail & mask] = tail & mask;
	__atomic_store_n(RING_U32(r->sq, r->par.sq_off.tail), tail + 1,
			 __ATOMIC_RELEASE);
	return syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) == 1 ?
	       0 : -errno;
}

/* Completions ready now. */
static unsigned int ring_ready(struct ring *r)
{
	return __atomic_load_n(RING_U32(r->cq, r->par.cq_off.tail),
			       __ATOMIC_ACQUIRE) -
	       *RING_U32(r->cq, r->par.cq_off.head);
}

TEST_F(events, io_uring_poll_add)
{
	struct io_uring_cqe *cqe;
	struct ring r;
	rp_handle_t h;
	int ret;

	ret = ring_setup(&r);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring is disabled (%d)", ret);
	ASSERT_EQ(0, ret);
	watched(_metadata, self->p, RP_EV_FREED, &h);
	ASSERT_EQ(0, ring_poll_add(&r, rp_events_fd(self->p)));
	rpt_sleep_us(50 * 1000);
	EXPECT_EQ(0, ring_ready(&r));
	ASSERT_EQ(0, rp_put(self->p, h));
	/* Wait for the one completion. */
	ret = syscall(__NR_io_uring_enter, r.fd, 0, 1, IORING_ENTER_GETEVENTS,
		      NULL, 0);
	ASSERT_LE(0, ret);
	ASSERT_EQ(1, ring_ready(&r));
	cqe = (struct io_uring_cqe *)((char *)r.cq + r.par.cq_off.cqes) +
	      (*RING_U32(r.cq, r.par.cq_off.head) &
	       *RING_U32(r.cq, r.par.cq_off.ring_mask));
	EXPECT_EQ(42, cqe->user_data);
	EXPECT_TRUE(cqe->res > 0 && (cqe->res & POLLIN));
	EXPECT_EQ(1, take(self->p, self->ev));
	close(r.fd);
}

/* rp_read_events() waits for the event another process causes. */
TEST_F(events, read_waits_for_event)
{
	rp_handle_t h;
	uint64_t id = watched(_metadata, self->p, RP_EV_FREED, &h);
	pid_t pid = put_later(self->p, h, 200);

	ASSERT_LE(0, pid);
	ASSERT_EQ(1, rp_read_events(self->p, self->ev, MAXEV, 20000));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
	EXPECT_EQ(0, rpt_wait(pid));
}

/* ---- the queue's bound ------------------------------------------------- */

#define SMALL_QUEUE	4

/* @n objects watched for FREED, then all put: their ids. */
static void free_watched(struct __test_metadata *_metadata, struct rp_pool *p,
			 int n, uint64_t *ids)
{
	rp_handle_t h[16];
	int i;

	ASSERT_GE(16, n);
	for (i = 0; i < n; i++)
		ids[i] = watched(_metadata, p, RP_EV_FREED, &h[i]);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, rp_put(p, h[i]));
}

TEST_F(events, overflow_once_per_stretch)
{
	uint64_t ids[16];
	int i;

	ASSERT_EQ(0, rpt_param_set_u64("max_session_events", SMALL_QUEUE));
	free_watched(_metadata, self->p, SMALL_QUEUE + 3, ids);
	EXPECT_EQ(SMALL_QUEUE + 1, session_events(self->p));
	ASSERT_EQ(SMALL_QUEUE + 1, take(self->p, self->ev));
	for (i = 0; i < SMALL_QUEUE; i++)
		EXPECT_EVENT(self->ev[i], RP_EV_FREED, ids[i], COOKIE);
	EXPECT_EVENT(self->ev[SMALL_QUEUE], RP_EV_OVERFLOW, 0, 0);
	/* The dropped watches are gone, with their charges. */
	EXPECT_EQ(0, session_watches(self->p));
	EXPECT_EQ(self->base.user_bytes, rpt_user_bytes(self->p));
}

TEST_F(events, queueing_resumes_once_read)
{
	uint64_t ids[16];

	ASSERT_EQ(0, rpt_param_set_u64("max_session_events", SMALL_QUEUE));
	free_watched(_metadata, self->p, SMALL_QUEUE + 1, ids);
	ASSERT_EQ(SMALL_QUEUE + 1, take(self->p, self->ev));
	EXPECT_EQ(RP_EV_OVERFLOW, self->ev[SMALL_QUEUE].events);
	free_watched(_metadata, self->p, 1, ids);
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, ids[0], COOKIE);
}

/* Until the reader reaches the OVERFLOW, nothing is queued after it. */
TEST_F(events, nothing_queued_after_overflow)
{
	uint64_t ids[16];

	ASSERT_EQ(0, rpt_param_set_u64("max_session_events", SMALL_QUEUE));
	free_watched(_metadata, self->p, SMALL_QUEUE + 1, ids);
	ASSERT_EQ(2, rp_read_events(self->p, self->ev, 2, 0));
	free_watched(_metadata, self->p, 1, ids + 8);
	ASSERT_EQ(SMALL_QUEUE - 1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[SMALL_QUEUE - 3], RP_EV_FREED, ids[SMALL_QUEUE - 1],
		     COOKIE);
	EXPECT_EQ(RP_EV_OVERFLOW, self->ev[SMALL_QUEUE - 2].events);
	EXPECT_EQ(0, take(self->p, self->ev));
}

/* ---- closing --------------------------------------------------------- */

TEST_F(events, close_with_watches_and_events)
{
	struct rp_pool *q;
	rp_handle_t live[3], h;
	rp_token_t tok[3];
	uint64_t before;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &live[i]));
		ASSERT_EQ(0, rp_publish(self->p, live[i], &tok[i]));
	}
	before = rpt_user_bytes(self->p);
	ASSERT_EQ(0, rp_open(&q));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rp_watch_token(q, &tok[i],
					    RP_EV_FREED | RP_EV_SEALED, i));
	ASSERT_EQ(0, rp_seal(self->p, live[0]));
	ASSERT_EQ(0, rp_create(q, 16, 0, 0, &h));
	ASSERT_EQ(0, rp_watch(q, h, RP_EV_FREED, 9));
	ASSERT_EQ(0, rp_put(q, h));
	ASSERT_EQ(0, rp_watch(q, 0, RP_EV_GC, 1));
	/* One event per waited-for event: 3 FREED, 2 SEALED, the collector. */
	EXPECT_EQ(6, session_watches(q));
	EXPECT_EQ(2, session_events(q));
	rp_close(q);
	/* Every byte of q's is back; what it watched lives on. */
	EXPECT_EQ(before, rpt_user_bytes(self->p));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rp_put(self->p, live[i]));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 0);
	EXPECT_EQ(self->base.user_bytes, rpt_user_bytes(self->p));
}

/*
 * Watchers of one object in three sessions, interleaved; the middle one
 * closes, which takes its watches out from among the others'. The others
 * still hear of the free, each watch once.
 */
#define MANY	1000

TEST_F(events, many_watchers_one_closes)
{
	struct rp_pool *q[3];
	rp_handle_t h;
	rp_token_t tok;
	uint64_t id;
	int i, k, n;

	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	id = rpt_id(self->p, h);
	ASSERT_EQ(0, rp_publish(self->p, h, &tok));
	for (k = 0; k < 3; k++)
		ASSERT_EQ(0, rp_open(&q[k]));
	for (i = 0; i < MANY; i++)
		for (k = 0; k < 3; k++)
			ASSERT_EQ(0, rp_watch_token(q[k], &tok, RP_EV_FREED, i));
	EXPECT_EQ(MANY, session_watches(q[0]));
	rp_close(q[1]);
	rp_close(q[0]);	/* the oldest watches: each its key's first */
	ASSERT_EQ(0, rp_put(self->p, h));
	for (n = 0; n < MANY; n += k) {
		k = take(q[2], self->ev);
		ASSERT_LT(0, k);
		for (i = 0; i < k; i++)
			EXPECT_EVENT(self->ev[i], RP_EV_FREED, id, n + i);
	}
	EXPECT_EQ(MANY, n);
	EXPECT_EQ(0, take(q[2], self->ev));
	rp_close(q[2]);
	EXPECT_EQ(self->base.user_bytes, rpt_user_bytes(self->p));
}

/*
 * A session with 2 * 10^5 watches (at REFPOOL_SCALE=100; a debug kernel
 * runs fewer) closes in one go, while the objects they watch live on with
 * other watchers: every byte of it comes back, and the others still hear
 * of each free (a table with the closing session's watches spread among
 * theirs).
 */
#define NOBJ		1000
#define PER_OBJ		100

TEST_F(events, close_with_many_watches)
{
	static rp_handle_t h[NOBJ], qh;
	static rp_token_t tok[NOBJ];
	static uint64_t id[NOBJ];
	const int per_obj = rpt_scaled(PER_OBJ, 2);
	struct rp_pool *q;
	uint64_t before;
	int i, k, n, got = 0;

	for (i = 0; i < NOBJ; i++) {
		ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h[i]));
		id[i] = rpt_id(self->p, h[i]);
		ASSERT_EQ(0, rp_watch(self->p, h[i], RP_EV_FREED, i));
		ASSERT_EQ(0, rp_publish(self->p, h[i], &tok[i]));
	}
	before = rpt_user_bytes(self->p);
	ASSERT_EQ(0, rp_open(&q));
	for (i = 0; i < NOBJ; i++) {
		ASSERT_EQ(0, rp_lookup(q, &tok[i], &qh));
		for (k = 0; k < per_obj; k++)
			ASSERT_EQ(0, rp_watch(q, qh, RP_EV_FREED | RP_EV_SEALED, k));
		ASSERT_EQ(0, rp_put(q, qh));
	}
	EXPECT_EQ(2 * NOBJ * per_obj, session_watches(q));
	rp_close(q);
	EXPECT_EQ(before, rpt_user_bytes(self->p));
	/* Its SEALED watches went with it: sealing tells nobody. */
	for (i = 0; i < NOBJ; i++)
		ASSERT_EQ(0, rp_seal(self->p, h[i]));
	EXPECT_EQ(0, take(self->p, self->ev));
	for (i = 0; i < NOBJ; i++)
		ASSERT_EQ(0, rp_put(self->p, h[i]));
	while ((n = take(self->p, self->ev)) > 0) {
		for (k = 0; k < n; k++)
			EXPECT_EVENT(self->ev[k], RP_EV_FREED, id[got + k], got + k);
		got += n;
	}
	EXPECT_EQ(NOBJ, got);
	EXPECT_EQ(self->base.user_bytes, rpt_user_bytes(self->p));
}

/* ---- users and namespaces --------------------------------------------- */

struct two_users {
	rp_token_t tok;
	uint64_t id;
	uint32_t handle;
	int to_b[2], to_a[2];
	int b_watch, b_handle, b_read;
	struct rp_event ev;
};

/* A: makes an object, hands its token and handle number to B, waits, puts. */
static int user_a(void *arg)
{
	struct two_users *t = arg;
	struct rp_pool *p;
	rp_handle_t h;
	char c = 'a';

	if (rp_open(&p) || rp_create(p, 16, 0, 0, &h) ||
	    rp_publish(p, h, &t->tok))
		return 1;
	t->id = rpt_id(p, h);
	t->handle = h;
	if (write(t->to_b[1], &c, 1) != 1 || read(t->to_a[0], &c, 1) != 1)
		return 2;
	return rp_put(p, h) ? 3 : 0;
}

/* B: watches A's object by token, tries A's handle number, hears the free. */
static int user_b(void *arg)
{
	struct two_users *t = arg;
	struct rp_pool *p;
	char c = 'b';

	if (rp_open(&p) || read(t->to_b[0], &c, 1) != 1)
		return 1;
	t->b_watch = rp_watch_token(p, &t->tok, RP_EV_FREED, 21);
	t->b_handle = rp_watch(p, t->handle, RP_EV_FREED, 22);
	if (write(t->to_a[1], &c, 1) != 1)
		return 2;
	t->b_read = rp_read_events(p, &t->ev, 1, 20000);
	rp_close(p);
	return 0;
}

TEST_F(events, another_users_object_by_token)
{
	struct two_users *t = rpt_shared(sizeof(*t));
	pid_t a, b;

	if (geteuid() != 0)
		SKIP(return, "needs root to become two users");
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, pipe2(t->to_b, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(t->to_a, O_CLOEXEC));
	a = rpt_spawn_as(RPT_UID_A, user_a, t);
	b = rpt_spawn_as(RPT_UID_B, user_b, t);
	ASSERT_LT(0, a);
	ASSERT_LT(0, b);
	EXPECT_EQ(0, rpt_wait(a));
	EXPECT_EQ(0, rpt_wait(b));
	EXPECT_EQ(0, t->b_watch);
	/* Handles are the session's: A's number means nothing to B. */
	EXPECT_EQ(-EBADF, t->b_handle);
	ASSERT_EQ(1, t->b_read);
	EXPECT_EVENT(t->ev, RP_EV_FREED, t->id, 21);
}

static int watch_in_new_ipc_ns(void *arg)
{
	const rp_token_t *tok = arg;
	struct rp_pool *p;
	int ret;

	if (unshare(CLONE_NEWIPC) || rp_open(&p))
		return 100;
	ret = rp_watch_token(p, tok, RP_EV_FREED, 1);
	rp_close(p);
	return -ret;
}

TEST_F(events, token_of_another_ipc_namespace)
{
	rp_token_t *tok = rpt_shared(sizeof(*tok));
	rp_handle_t h;

	if (geteuid() != 0)
		SKIP(return, "needs root for a new IPC namespace");
	ASSERT_NE(NULL, tok);
	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	ASSERT_EQ(0, rp_publish(self->p, h, tok));
	EXPECT_EQ(ENOENT, rpt_run_as(0, watch_in_new_ipc_ns, tok));
}

/* ---- errors ---------------------------------------------------------- */

TEST_F(events, handle_zero_is_ebadf)
{
	EXPECT_EQ(-EBADF, rp_watch(self->p, 0, RP_EV_FREED, 1));
	EXPECT_EQ(0, session_watches(self->p));
}

TEST_F(events, put_handle_is_ebadf)
{
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(-EBADF, rp_watch(self->p, h, RP_EV_FREED, 1));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(events, another_sessions_handle_is_ebadf)
{
	struct rp_pool *q;
	rp_handle_t h;

	ASSERT_EQ(0, rp_open(&q));
	/* A fresh session's first handle: p has none with that number. */
	ASSERT_EQ(0, rp_create(q, 16, 0, 0, &h));
	EXPECT_EQ(-EBADF, rp_watch(self->p, h, RP_EV_FREED, 1));
	EXPECT_EQ(0, session_watches(self->p));
	rp_close(q);
}

/* A raw WATCH on @h (or a token), for what the library cannot express. */
static int raw_watch(struct rp_pool *p, uint32_t h, uint32_t events,
		     const rp_token_t *tok, uint32_t flags, uint32_t pad)
{
	struct refpool_watch w = {
		.handle = h,
		.events = events,
		.cookie = 1,
		.token_ptr = (uintptr_t)tok,
		.flags = flags,
		.pad = pad,
	};

	return rpt_ioctl(rp_fd(p), REFPOOL_IOC_WATCH, &w);
}

FIXTURE(watch_einval) {
	struct rp_pool *p;
	rp_handle_t h;
	rp_token_t tok;
	struct rp_stats before;
};

FIXTURE_VARIANT(watch_einval) {
	bool with_handle, with_token;
	uint32_t events, flags, pad;
};

FIXTURE_VARIANT_ADD(watch_einval, no_event) {
	.with_handle = true, .events = 0,
};
FIXTURE_VARIANT_ADD(watch_einval, reserved_bit) {
	.with_handle = true, .events = RP_EV_FREED | (1U << 3),
};
FIXTURE_VARIANT_ADD(watch_einval, overflow_bit) {
	.with_handle = true, .events = RP_EV_OVERFLOW,
};
FIXTURE_VARIANT_ADD(watch_einval, gc_with_handle) {
	.with_handle = true, .events = RP_EV_GC,
};
FIXTURE_VARIANT_ADD(watch_einval, gc_with_token) {
	.with_token = true, .events = RP_EV_GC,
};
FIXTURE_VARIANT_ADD(watch_einval, gc_and_freed) {
	.events = RP_EV_GC | RP_EV_FREED,
};
FIXTURE_VARIANT_ADD(watch_einval, handle_and_token) {
	.with_handle = true, .with_token = true, .events = RP_EV_FREED,
};
FIXTURE_VARIANT_ADD(watch_einval, flags) {
	.with_handle = true, .events = RP_EV_FREED, .flags = 1,
};
FIXTURE_VARIANT_ADD(watch_einval, pad) {
	.with_handle = true, .events = RP_EV_FREED, .pad = 1,
};

FIXTURE_SETUP(watch_einval)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &self->h));
	ASSERT_EQ(0, rp_publish(self->p, self->h, &self->tok));
	GET_STATS(self->p, &self->before);
}

FIXTURE_TEARDOWN(watch_einval)
{
	rp_close(self->p);
}

TEST_F(watch_einval, refused)
{
	EXPECT_EQ(-EINVAL, raw_watch(self->p,
				     variant->with_handle ? self->h : 0,
				     variant->events,
				     variant->with_token ? &self->tok : NULL,
				     variant->flags, variant->pad));
	EXPECT_EQ(0, session_watches(self->p));
	EXPECT_POOL_UNCHANGED(self->p, &self->before);
}

TEST_F(events, unknown_token_is_enoent)
{
	rp_token_t tok;

	memset(&tok, 0x5a, sizeof(tok));
	EXPECT_EQ(-ENOENT, rp_watch_token(self->p, &tok, RP_EV_FREED, 1));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(events, token_of_freed_object_is_enoent)
{
	rp_handle_t h;
	rp_token_t tok;

	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	ASSERT_EQ(0, rp_publish(self->p, h, &tok));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(-ENOENT, rp_watch_token(self->p, &tok, RP_EV_FREED, 1));
	EXPECT_EQ(0, session_watches(self->p));
}

TEST_F(events, bad_token_pointer_is_efault)
{
	void *bad = rpt_noaccess();

	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EFAULT, rp_watch_token(self->p, bad, RP_EV_FREED, 1));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* A raw READ_EVENTS. */
static int raw_read(struct rp_pool *p, void *buf, uint32_t max, uint32_t size,
		    uint32_t flags, uint32_t pad)
{
	struct refpool_read_events r = {
		.events_ptr = (uintptr_t)buf,
		.max = max,
		.event_size = size,
		.flags = flags,
		.pad = pad,
	};

	return rpt_ioctl(rp_fd(p), REFPOOL_IOC_READ_EVENTS, &r);
}

FIXTURE(read_einval) {
	struct rp_pool *p;
	struct rp_event ev[8];
};

FIXTURE_VARIANT(read_einval) {
	uint32_t max, size, flags, pad;
};

FIXTURE_VARIANT_ADD(read_einval, max_zero) { .max = 0, .size = 24 };
FIXTURE_VARIANT_ADD(read_einval, max_too_big) { .max = 4097, .size = 24 };
FIXTURE_VARIANT_ADD(read_einval, size_too_small) { .max = 1, .size = 16 };
FIXTURE_VARIANT_ADD(read_einval, size_not_8_aligned) { .max = 1, .size = 28 };
FIXTURE_VARIANT_ADD(read_einval, flags) { .max = 1, .size = 24, .flags = 1 };
FIXTURE_VARIANT_ADD(read_einval, pad) { .max = 1, .size = 24, .pad = 1 };

FIXTURE_SETUP(read_einval)
{
	rp_handle_t h;

	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_FREED, 1));
	ASSERT_EQ(0, rp_put(self->p, h));
}

FIXTURE_TEARDOWN(read_einval)
{
	rp_close(self->p);
}

TEST_F(read_einval, refused)
{
	EXPECT_EQ(-EINVAL, raw_read(self->p, self->ev, variant->max,
				    variant->size, variant->flags, variant->pad));
	/* The event is still there. */
	EXPECT_EQ(1, session_events(self->p));
}

TEST_F(events, read_to_bad_buffer_keeps_events)
{
	void *bad = rpt_noaccess();
	rp_handle_t h;
	uint64_t id = watched(_metadata, self->p, RP_EV_FREED, &h);

	ASSERT_NE(NULL, bad);
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(-EFAULT, raw_read(self->p, bad, 4, 24, 0, 0));
	EXPECT_EQ(1, session_events(self->p));
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, id, COOKIE);
}

/* The array ends in an unwritable page: what fits is taken, the rest stays. */
TEST_F(events, read_partly_writable_takes_what_fits)
{
	struct rp_event *ev = rpt_straddle(2 * sizeof(struct rp_event));
	rp_handle_t a, b;
	uint64_t ida = watched(_metadata, self->p, RP_EV_FREED, &a);
	uint64_t idb = watched(_metadata, self->p, RP_EV_FREED, &b);

	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	EXPECT_EQ(1, raw_read(self->p, ev, 2, sizeof(*ev), 0, 0));
	EXPECT_EVENT(ev[0], RP_EV_FREED, ida, COOKIE);
	ASSERT_EQ(1, take(self->p, self->ev));
	EXPECT_EVENT(self->ev[0], RP_EV_FREED, idb, COOKIE);
}

/* A newer caller's larger struct: what the kernel does not know is zero. */
TEST_F(events, read_larger_event_size_zero_fills)
{
	uint64_t buf[2][5];
	rp_handle_t a, b;
	uint64_t ida = watched(_metadata, self->p, RP_EV_FREED, &a);
	uint64_t idb = watched(_metadata, self->p, RP_EV_FREED, &b);

	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	memset(buf, 0xff, sizeof(buf));
	ASSERT_EQ(2, raw_read(self->p, buf, 2, sizeof(buf[0]), 0, 0));
	EXPECT_EQ(COOKIE, buf[0][0]);
	EXPECT_EQ(ida, buf[0][1]);
	EXPECT_EQ(RP_EV_FREED, buf[0][2]);
	EXPECT_EQ(0, buf[0][3]);
	EXPECT_EQ(0, buf[0][4]);
	EXPECT_EQ(idb, buf[1][1]);
	EXPECT_EQ(0, buf[1][4]);
}

/* ---- charges ---------------------------------------------------------- */

TEST_F(events, watches_are_charged)
{
	rp_handle_t h;
	uint64_t one, both;

	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	one = rpt_user_bytes(self->p);
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_FREED, 1));
	one = rpt_user_bytes(self->p) - one;
	both = rpt_user_bytes(self->p);
	ASSERT_EQ(0, rp_watch(self->p, h, RP_EV_FREED | RP_EV_SEALED, 1));
	both = rpt_user_bytes(self->p) - both;
	EXPECT_LE(64, one);
	EXPECT_EQ(2 * one, both);
	EXPECT_EQ(3, session_watches(self->p));
	/* An event is its fired watch: queued, it costs what it did. */
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(2, session_events(self->p));
	EXPECT_EQ(self->base.user_bytes + 2 * one, rpt_user_bytes(self->p));
	ASSERT_EQ(2, take(self->p, self->ev));
	EXPECT_EQ(self->base.user_bytes, rpt_user_bytes(self->p));
}

TEST_F(events, full_user_is_edquot)
{
	rp_handle_t h;
	uint64_t used;

	if (geteuid() != 0)
		SKIP(return, "needs root to set max_user_bytes");
	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &h));
	used = rpt_user_bytes(self->p);
	ASSERT_EQ(0, rpt_param_set_u64("max_user_bytes", used + 8));
	EXPECT_EQ(-EDQUOT, rp_watch(self->p, h, RP_EV_FREED, 1));
	EXPECT_EQ(-EDQUOT, rp_watch(self->p, 0, RP_EV_GC, 1));
	EXPECT_EQ(0, session_watches(self->p));
	EXPECT_EQ(used, rpt_user_bytes(self->p));
}

TEST_HARNESS_MAIN
