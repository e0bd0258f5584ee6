// SPDX-License-Identifier: GPL-2.0
/*
 * refpool sharing between sessions and processes: exported object files,
 * rp_import(), and handles passed over UNIX sockets (rp_send()/rp_recv()).
 *
 * An exported file description owns one strong reference, whatever number
 * of fds name it; a handle in flight inside a socket is such a file. Every
 * test checks rp_info().refs and the pool's counters exactly, and that a
 * refused call changes nothing and leaks no fd.
 */
#include "refpool_test.h"

#include <pthread.h>
#include <sched.h>

#define OBJ_SIZE	300
#define OBJ_SEED	51

FIXTURE(share) {
	struct rp_pool *p;
	rp_handle_t h;		/* OBJ_SIZE bytes of pattern OBJ_SEED */
	struct rpt_obj obj;
	struct rp_stats base;	/* taken with the object alive */
	pid_t child;		/* killed by the teardown if still there */
};

FIXTURE_SETUP(share)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(share)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		rpt_wait(self->child);
	}
	if (self->p)
		rp_close(self->p);
}

#define EXPECT_NOTHING_CHANGED() do { \
	EXPECT_POOL_UNCHANGED(self->p, &self->base); \
	EXPECT_OBJ_UNCHANGED(self->p, &self->obj); \
} while (0)

/* The object's whole payload still is pattern @seed. */
#define EXPECT_PATTERN(p, h, size, seed) do { \
	unsigned char __buf[size]; \
	EXPECT_EQ((int64_t)(size), rp_read((p), (h), 0, __buf, (size))); \
	EXPECT_EQ(-1, rpt_mismatch(__buf, (size), (seed))); \
} while (0)

/* ---- Export ---- */

TEST_F(share, export_adds_one_reference)
{
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	/* No new object and no new handle: only a file. */
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, exported_fd_is_close_on_exec)
{
	int fd = -1, flags;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	flags = fcntl(fd, F_GETFD);
	ASSERT_LE(0, flags);
	EXPECT_EQ(FD_CLOEXEC, flags & FD_CLOEXEC);
	close(fd);
}

/* The reference is per file description: dup() adds none. */
TEST_F(share, dup_of_exported_fd_adds_nothing)
{
	int fd = -1, fd2, fd3;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	ASSERT_LE(100, fd3);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(fd3));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(fd2));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, each_export_is_one_more_reference)
{
	int fd[3], i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rp_export(self->p, self->h, &fd[i]));
	EXPECT_NE(fd[0], fd[1]);
	EXPECT_NE(fd[1], fd[2]);
	EXPECT_EQ(4, rpt_refs(self->p, self->h));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, close(fd[i]));
		EXPECT_EQ(3 - i, rpt_refs(self->p, self->h));
	}
	EXPECT_NOTHING_CHANGED();
}

/* The file alone keeps the object: put its last handle, import it back. */
TEST_F(share, exported_fd_keeps_object_alive)
{
	struct rp_stats st;
	rp_handle_t h2 = 0;
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);

	ASSERT_EQ(0, rp_import(self->p, fd, &h2));
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, h2));
	EXPECT_EQ(2, rpt_refs(self->p, h2));
	EXPECT_PATTERN(self->p, h2, OBJ_SIZE, OBJ_SEED);

	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(1, rpt_refs(self->p, h2));
	ASSERT_EQ(0, rp_put(self->p, h2));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects - 1, st.objects);
	EXPECT_EQ(self->base.bytes - OBJ_SIZE, st.bytes);
	EXPECT_EQ(self->base.session_handles - 1, st.session_handles);
}

/* Closing the file of an object no handle holds frees it at once. */
TEST_F(share, closing_last_file_frees_the_object)
{
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);
	ASSERT_EQ(0, close(fd));
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -OBJ_SIZE, -1);
}

TEST_F(share, export_bad_handle_ebadf)
{
	int next = rpt_next_fd();
	rp_handle_t gone;
	int fd = -1;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &gone));
	ASSERT_EQ(0, rp_put(self->p, gone));
	EXPECT_EQ(-EBADF, rp_export(self->p, 0, &fd));
	EXPECT_EQ(-EBADF, rp_export(self->p, gone, &fd));
	EXPECT_EQ(-EBADF, rp_export(self->p, self->h + 1000, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, export_null_fd_pointer_efault)
{
	int next = rpt_next_fd();

	EXPECT_EQ(-EFAULT, rp_export(self->p, self->h, NULL));
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

/* ---- Import ---- */

TEST_F(share, import_gives_a_new_handle_each_time)
{
	rp_handle_t a = 0, b = 0;
	struct rp_stats st;
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rp_import(self->p, fd, &a));
	ASSERT_EQ(0, rp_import(self->p, fd, &b));
	EXPECT_NE(0, a);
	EXPECT_NE(0, b);
	EXPECT_NE(a, b);
	EXPECT_NE(self->h, a);
	EXPECT_NE(self->h, b);
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, a));
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, b));
	/* h, the file, a, b. */
	EXPECT_EQ(4, rpt_refs(self->p, self->h));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.session_handles + 2, st.session_handles);
	EXPECT_EQ(self->base.objects, st.objects);

	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(fd));
	EXPECT_NOTHING_CHANGED();
}

/* Another session imports and writes; ours sees the write. */
TEST_F(share, import_in_another_session_shares_the_object)
{
	unsigned char buf[16];
	struct rp_pool *q;
	rp_handle_t hq = 0;
	int fd = -1;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rp_import(q, fd, &hq));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(self->obj.info.id, rpt_id(q, hq));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));

	rpt_fill(buf, sizeof(buf), 77);
	ASSERT_EQ((int64_t)sizeof(buf), rp_write(q, hq, 10, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, self->h, 10, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 77));

	rp_close(q);
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

enum bad_fd { BAD_PIPE, BAD_DEVNULL, BAD_SESSION, BAD_MINUS_ONE, BAD_UNOPENED,
	      BAD_CLOSED };

FIXTURE(bad_import) {
	struct rp_pool *p;
	rp_handle_t h;
	struct rpt_obj obj;
	struct rp_stats base;
};

FIXTURE_VARIANT(bad_import) {
	enum bad_fd kind;
	int err;
};

FIXTURE_VARIANT_ADD(bad_import, pipe_einval) { BAD_PIPE, EINVAL };
FIXTURE_VARIANT_ADD(bad_import, dev_null_einval) { BAD_DEVNULL, EINVAL };
FIXTURE_VARIANT_ADD(bad_import, session_fd_einval) { BAD_SESSION, EINVAL };
FIXTURE_VARIANT_ADD(bad_import, minus_one_ebadf) { BAD_MINUS_ONE, EBADF };
FIXTURE_VARIANT_ADD(bad_import, never_opened_ebadf) { BAD_UNOPENED, EBADF };
FIXTURE_VARIANT_ADD(bad_import, closed_ebadf) { BAD_CLOSED, EBADF };

FIXTURE_SETUP(bad_import)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(bad_import)
{
	if (self->p)
		rp_close(self->p);
}

TEST_F(bad_import, refused)
{
	int pfd[2] = { -1, -1 }, fd = -1, keep = -1;
	rp_handle_t out = 0;

	switch (variant->kind) {
	case BAD_PIPE:
		ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
		fd = pfd[0];
		keep = fd;
		break;
	case BAD_DEVNULL:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		keep = fd;
		break;
	case BAD_SESSION:
		fd = rp_fd(self->p);
		keep = fd;
		break;
	case BAD_MINUS_ONE:
		fd = -1;
		break;
	case BAD_UNOPENED:
		fd = 9999;
		ASSERT_EQ(-1, fcntl(fd, F_GETFD));
		break;
	case BAD_CLOSED:
		/* A real exported file, closed before the import. */
		ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
		ASSERT_EQ(0, close(fd));
		break;
	}
	if (variant->kind <= BAD_SESSION)
		ASSERT_LE(0, fd);

	EXPECT_EQ(-variant->err, rp_import(self->p, fd, &out));
	EXPECT_EQ(0, out);
	if (keep >= 0)	/* The import neither closed nor consumed it. */
		EXPECT_LE(0, fcntl(keep, F_GETFD));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	EXPECT_OBJ_UNCHANGED(self->p, &self->obj);
}

TEST_F(share, import_null_out_efault)
{
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	EXPECT_EQ(-EFAULT, rp_import(self->p, fd, NULL));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(fd));
	EXPECT_NOTHING_CHANGED();
}

/* ---- Handles over UNIX sockets ---- */

/* While in flight the message's file is a reference; received, a handle. */
TEST_F(share, send_recv_gives_the_same_object)
{
	rp_handle_t h2 = 0;
	int sv[2], next;

	ASSERT_EQ(0, rpt_socketpair(sv));
	next = rpt_next_fd();
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	EXPECT_EQ(next, rpt_next_fd());	/* the exported fd is closed */

	ASSERT_EQ(0, rp_recv(sv[1], self->p, &h2));
	EXPECT_NE(0, h2);
	EXPECT_NE(self->h, h2);
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, h2));
	/* h and h2; the received file is closed. */
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 1);
	EXPECT_EQ(next, rpt_next_fd());

	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, handle_in_flight_keeps_object_alive)
{
	rp_handle_t h2 = 0;
	int sv[2];

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	/* Only the message holds it now. */
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);

	ASSERT_EQ(0, rp_recv(sv[1], self->p, &h2));
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, h2));
	EXPECT_EQ(1, rpt_refs(self->p, h2));
	EXPECT_PATTERN(self->p, h2, OBJ_SIZE, OBJ_SEED);
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -OBJ_SIZE, -1);
}

/* An unread message dies with its socket, and its reference with it. */
TEST_F(share, unread_handle_dropped_when_socket_closes)
{
	int sv[2];

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	EXPECT_EQ(3, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(sv[1]));	/* the receiving end, with its queue */
	EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0);
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(sv[0]));

	/* In flight, and the only reference. */
	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);
	ASSERT_EQ(0, close(sv[0]));
	ASSERT_EQ(0, close(sv[1]));
	EXPECT_POOL_SETTLES(self->p, &self->base, -1, -OBJ_SIZE);
}

/* A child with its own session receives the object and writes to it. */
static int child_receives(int sock, int report)
{
	unsigned char buf[OBJ_SIZE];
	struct rp_pool *q;
	struct rp_info info;
	rp_handle_t h;

	if (rp_open(&q))
		return 10;
	if (rp_recv(sock, q, &h))
		return 11;
	if (rp_info(q, h, &info) || info.size != OBJ_SIZE)
		return 12;
	if (rp_read(q, h, 0, buf, OBJ_SIZE) != OBJ_SIZE ||
	    rpt_mismatch(buf, OBJ_SIZE, OBJ_SEED) != -1)
		return 13;
	rpt_fill(buf, 32, 88);
	if (rp_write(q, h, 0, buf, 32) != 32)
		return 14;
	if (rpt_write_all(report, &info.id, sizeof(info.id)))
		return 15;
	return 0;	/* exits without rp_put() or rp_close() */
}

TEST_F(share, send_to_another_process)
{
	unsigned char buf[32];
	int sv[2], pfd[2];
	uint64_t id = 0;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, pipe(pfd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(child_receives(sv[1], pfd[1]));
	close(sv[1]);
	close(pfd[1]);

	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	EXPECT_EQ(0, rpt_read_all(pfd[0], &id, sizeof(id)));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	EXPECT_EQ(self->obj.info.id, id);
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, self->h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 88));
	/* The child's handle went with its session. */
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* With SIGPIPE at its default action, which would kill the process. */
static int child_sends_to_closed_peer(struct rp_pool *p, rp_handle_t h,
				      int sock)
{
	int ret;

	signal(SIGPIPE, SIG_DFL);
	ret = rp_send(sock, p, h);
	return ret == -EPIPE ? 0 : (ret < 0 ? -ret : 100);
}

TEST_F(share, send_to_closed_peer_epipe_without_sigpipe)
{
	int sv[2], next, status;
	pid_t pid;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, close(sv[1]));
	next = rpt_next_fd();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(child_sends_to_closed_peer(self->p, self->h, sv[0]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status)) {
		TH_LOG("the sender died of signal %d",
		       WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	}
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("rp_send returned -%d, want -EPIPE (100: success)",
		       WEXITSTATUS(status));
	}
	/* Also in this process: same result, no file left behind. */
	signal(SIGPIPE, SIG_DFL);
	EXPECT_EQ(-EPIPE, rp_send(sv[0], self->p, self->h));
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, recv_at_eof_epipe)
{
	rp_handle_t out = 0;
	int sv[2], next;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, close(sv[0]));
	next = rpt_next_fd();
	EXPECT_EQ(-EPIPE, rp_recv(sv[1], self->p, &out));
	EXPECT_EQ(0, out);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, recv_message_without_fd_ebadmsg)
{
	rp_handle_t out = 0;
	int sv[2], next;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(1, write(sv[0], "R", 1));
	next = rpt_next_fd();
	EXPECT_EQ(-EBADMSG, rp_recv(sv[1], self->p, &out));
	EXPECT_EQ(0, out);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

/* The received fd is not an object: refused, and closed, not leaked. */
TEST_F(share, recv_of_a_non_refpool_fd_einval)
{
	int sv[2], pfd[2], next;
	rp_handle_t out = 0;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(0, rpt_send_fd(sv[0], pfd[0]));
	next = rpt_next_fd();
	EXPECT_EQ(-EINVAL, rp_recv(sv[1], self->p, &out));
	EXPECT_EQ(0, out);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

/*
 * One message carrying two object files is malformed: refused, and both
 * files closed, so that neither keeps a reference nor an fd.
 */
TEST_F(share, recv_of_two_fds_ebadmsg_leaks_nothing)
{
	int sv[2], fds[2], next;
	rp_handle_t out = 0;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, rp_export(self->p, self->h, &fds[0]));
	ASSERT_EQ(0, rp_export(self->p, self->h, &fds[1]));
	ASSERT_EQ(0, rpt_send_fds(sv[0], fds, 2));
	ASSERT_EQ(0, close(fds[0]));
	ASSERT_EQ(0, close(fds[1]));
	EXPECT_EQ(3, rpt_refs(self->p, self->h));
	next = rpt_next_fd();

	EXPECT_EQ(-EBADMSG, rp_recv(sv[1], self->p, &out));
	EXPECT_EQ(0, out);
	EXPECT_EQ(next, rpt_next_fd()) {
		TH_LOG("rp_recv left received fds open");
	}
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(share, send_bad_handle_ebadf_sends_nothing)
{
	int sv[2], next;
	char c;

	ASSERT_EQ(0, rpt_socketpair(sv));
	next = rpt_next_fd();
	EXPECT_EQ(-EBADF, rp_send(sv[0], self->p, 0));
	EXPECT_EQ(-EBADF, rp_send(sv[0], self->p, self->h + 1000));
	EXPECT_EQ(-1, recv(sv[1], &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

/* Not a socket: the exported file must not outlive the failed send. */
TEST_F(share, send_on_a_non_socket_enotsock)
{
	int pfd[2], next;

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	next = rpt_next_fd();
	EXPECT_EQ(-ENOTSOCK, rp_send(pfd[1], self->p, self->h));
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

/*
 * A bad out is the kernel's -EFAULT from the import, after recvmsg()
 * consumed the message: its fd is closed, no handle is made, and the
 * object is back to the one reference it had.
 */
TEST_F(share, recv_null_out_efault_consumes_message)
{
	int sv[2], next;

	ASSERT_EQ(0, rpt_socketpair(sv));
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	next = rpt_next_fd();
	EXPECT_EQ(-EFAULT, rp_recv(sv[1], self->p, NULL));
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, fcntl(sv[1], F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, rp_recv(sv[1], self->p, &(rp_handle_t){ 0 }));
	close(sv[0]);
	close(sv[1]);
	EXPECT_NOTHING_CHANGED();
}

/*
 * Imports racing with the close of the fd they name: each gets a handle
 * to the object, -EBADF, or -EINVAL (the number now names another file);
 * once everything is put and closed the pool is as before.
 */
struct import_race {
	struct rp_pool *p;
	volatile int fd;
	volatile int stop;
	uint64_t id;
	int ok, badf, inval, wrong;
};

static void *racing_imports(void *data)
{
	struct import_race *rc = data;

	while (!rc->stop) {
		rp_handle_t h;
		int ret = rp_import(rc->p, rc->fd, &h);

		if (ret == -EBADF) {
			rc->badf++;
		} else if (ret == -EINVAL) {
			rc->inval++;
		} else if (ret || rpt_id(rc->p, h) != rc->id || rp_put(rc->p, h)) {
			rc->wrong++;
		} else {
			rc->ok++;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(share, import_racing_with_close, 120)
{
	struct import_race rc = { .p = self->p, .fd = -1,
				  .id = self->obj.info.id };
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, racing_imports, &rc));
	for (i = 0; i < 3000; i++) {
		int fd, other;

		ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
		rc.fd = fd;
		if (i % 2)
			sched_yield();
		ASSERT_EQ(0, close(fd));
		/* Sometimes the number comes back as another kind of file. */
		other = i % 4 ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (i % 3 == 0)
			sched_yield();
		if (other >= 0)
			close(other);
	}
	rc.stop = 1;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("imports: %d ok, %d -EBADF, %d -EINVAL", rc.ok, rc.badf,
	       rc.inval);
	EXPECT_EQ(0, rc.wrong);
	EXPECT_NOTHING_CHANGED();
}

TEST_HARNESS_MAIN
