/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the refpool kselftests.
 *
 * Every test captures a baseline with rp_stats() when it starts, because
 * the pool is global: earlier tests and other sessions may have left
 * objects behind, so only differences from the baseline are meaningful.
 */
#ifndef REFPOOL_TEST_H
#define REFPOOL_TEST_H

#include "kselftest_harness.h"	/* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/refpool.h>
#include <refpool.h>

#define RPT_DEFAULT_DEVICE	"/dev/refpool"
#define RPT_PARAM_DIR		"/sys/module/refpool/parameters"

/*
 * The 6.1 harness runs the test body even after FIXTURE_SETUP called
 * SKIP(); end the test process instead, with the status that harness
 * reads as "skipped". Use only before the setup has changed anything.
 */
#define RPT_HARNESS_SKIP_STATUS	255
#define SETUP_SKIP(fmt, ...) \
	SKIP(_exit(RPT_HARNESS_SKIP_STATUS), fmt, ##__VA_ARGS__)

static inline const char *rpt_device(void)
{
	const char *dev = getenv("REFPOOL_DEVICE");

	return dev && *dev ? dev : RPT_DEFAULT_DEVICE;
}

/* Open a session in FIXTURE_SETUP; skip when the module is not loaded. */
#define RPT_OPEN_OR_SKIP(pp) do { \
	int __rpt_ret = rp_open(pp); \
	if (__rpt_ret == -ENOENT) \
		SETUP_SKIP("%s missing: is refpool.ko loaded?", rpt_device()); \
	ASSERT_EQ(0, __rpt_ret); \
} while (0)

#define GET_STATS(p, st)	ASSERT_EQ(0, rp_stats((p), (st)))

/*
 * The counters a refused call must leave alone: the pool's objects and
 * bytes, the calling session's handles and the calling user's bytes.
 */
#define EXPECT_POOL_UNCHANGED(p, before) do { \
	struct rp_stats __rpt_now; \
	ASSERT_EQ(0, rp_stats((p), &__rpt_now)); \
	EXPECT_EQ((before)->objects, __rpt_now.objects); \
	EXPECT_EQ((before)->bytes, __rpt_now.bytes); \
	EXPECT_EQ((before)->session_handles, __rpt_now.session_handles); \
	EXPECT_EQ((before)->user_bytes, __rpt_now.user_bytes); \
} while (0)

/*
 * The pool's objects and bytes and the session's handles, but not the
 * user's charges: for calls that succeed and leave a charge behind for as
 * long as the object lives (a token, the pages a mapping made).
 */
#define EXPECT_POOL_SAME(p, before) do { \
	struct rp_stats __rpt_now; \
	ASSERT_EQ(0, rp_stats((p), &__rpt_now)); \
	EXPECT_EQ((before)->objects, __rpt_now.objects); \
	EXPECT_EQ((before)->bytes, __rpt_now.bytes); \
	EXPECT_EQ((before)->session_handles, __rpt_now.session_handles); \
} while (0)

/* The calling user's charged bytes, or 0. */
static inline uint64_t rpt_user_bytes(struct rp_pool *p)
{
	struct rp_stats st;

	return rp_stats(p, &st) ? 0 : st.user_bytes;
}

/*
 * What creating an object of @size bytes and @nslots slots costs its
 * user, with its handle (measured: made and put again), or 0.
 */
static inline uint64_t rpt_cost_of_create(struct rp_pool *p, uint64_t size,
					  uint32_t nslots)
{
	uint64_t before = rpt_user_bytes(p), after;
	rp_handle_t h;

	if (rp_create(p, size, nslots, 0, &h))
		return 0;
	after = rpt_user_bytes(p);
	rp_put(p, h);
	return after - before;
}

/* What one more handle costs (measured with a dup of @h), or 0. */
static inline uint64_t rpt_cost_of_handle(struct rp_pool *p, rp_handle_t h)
{
	uint64_t before = rpt_user_bytes(p), after;
	rp_handle_t d;

	if (rp_dup(p, h, &d))
		return 0;
	after = rpt_user_bytes(p);
	rp_put(p, d);
	return after - before;
}

/* Expect the counters to have moved by exactly these amounts. */
#define EXPECT_POOL_DELTA(p, before, d_objects, d_bytes, d_handles) do { \
	struct rp_stats __rpt_now; \
	ASSERT_EQ(0, rp_stats((p), &__rpt_now)); \
	EXPECT_EQ((before)->objects + (d_objects), __rpt_now.objects); \
	EXPECT_EQ((before)->bytes + (d_bytes), __rpt_now.bytes); \
	EXPECT_EQ((before)->session_handles + (d_handles), \
		  __rpt_now.session_handles); \
} while (0)

/* What an object is: its info and (up to RPT_SNAP_MAX bytes of) payload. */
#define RPT_SNAP_MAX	8192

struct rpt_obj {
	rp_handle_t h;
	struct rp_info info;
	uint64_t len;
	unsigned char data[RPT_SNAP_MAX];
};

static inline int rpt_obj_snap(struct rp_pool *p, rp_handle_t h,
			       struct rpt_obj *o)
{
	int64_t n;
	int ret;

	memset(o, 0, sizeof(*o));
	o->h = h;
	ret = rp_info(p, h, &o->info);
	if (ret)
		return ret;
	o->len = o->info.size < RPT_SNAP_MAX ? o->info.size : RPT_SNAP_MAX;
	n = rp_read(p, h, 0, o->data, o->len);
	if (n < 0)
		return (int)n;
	return (uint64_t)n == o->len ? 0 : -EIO;
}

#define SNAP(p, h, o)	ASSERT_EQ(0, rpt_obj_snap((p), (h), (o)))

/* The object behind o->h still has the same id, refs, flags and bytes. */
#define EXPECT_OBJ_UNCHANGED(p, o) do { \
	static struct rpt_obj __rpt_again; \
	ASSERT_EQ(0, rpt_obj_snap((p), (o)->h, &__rpt_again)); \
	EXPECT_EQ((o)->info.id, __rpt_again.info.id); \
	EXPECT_EQ((o)->info.refs, __rpt_again.info.refs); \
	EXPECT_EQ((o)->info.flags, __rpt_again.info.flags); \
	EXPECT_EQ((o)->info.size, __rpt_again.info.size); \
	EXPECT_EQ((o)->info.nslots, __rpt_again.info.nslots); \
	EXPECT_EQ(0, memcmp((o)->data, __rpt_again.data, (o)->len)); \
} while (0)

/* A payload pattern that differs per seed and has no zero runs. */
static inline void rpt_fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(((i * 131) + seed * 29 + 7) % 251 + 1);
}

/* Index of the first byte that is not the pattern, or -1. */
static inline ssize_t rpt_mismatch(const void *buf, size_t len,
				   unsigned int seed)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != (unsigned char)(((i * 131) + seed * 29 + 7) % 251 + 1))
			return (ssize_t)i;
	return -1;
}

/* Index of the first nonzero byte, or -1. */
static inline ssize_t rpt_nonzero(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return (ssize_t)i;
	return -1;
}

/* Create an object of @size bytes filled with pattern @seed. */
static inline int rpt_create_pattern(struct rp_pool *p, uint64_t size,
				     unsigned int seed, uint32_t flags,
				     rp_handle_t *out)
{
	void *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	rpt_fill(buf, size, seed);
	ret = rp_create_from(p, buf, size, flags, out);
	free(buf);
	return ret;
}

/*
 * Bad user memory: rpt_noaccess() is a page no access is allowed to;
 * rpt_straddle(len) is @len bytes whose first half is writable memory and
 * whose second half lies in such a page. Both leak their mapping; each test
 * runs in its own process.
 */
static inline void *rpt_noaccess(void)
{
	void *m = mmap(NULL, getpagesize(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

static inline void *rpt_straddle(size_t len)
{
	size_t pg = getpagesize();
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || len > 2 * pg)
		return NULL;
	if (mprotect(m + pg, pg, PROT_NONE))
		return NULL;
	memset(m, 0x5a, pg);
	return m + pg - len / 2;
}

/* A raw ioctl: what it returned (0 or a count) or a negative errno. */
static inline int rpt_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* @cmd with its struct size replaced by @size. */
#define RPT_SIZED(cmd, size) \
	_IOC(_IOC_DIR(cmd), REFPOOL_IOC_MAGIC, _IOC_NR(cmd), (size))

/* Module parameters, as strings so that restoring them is exact. */
static inline int rpt_param_get(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), RPT_PARAM_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return n > 0 ? 0 : -EINVAL;
}

static inline int rpt_param_set(const char *name, const char *val)
{
	char path[256];
	size_t len = strlen(val);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), RPT_PARAM_DIR "/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static inline int rpt_param_get_u64(const char *name, uint64_t *val)
{
	char buf[64], *end;
	int ret = rpt_param_get(name, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	return errno || *end ? -EINVAL : 0;
}

static inline int rpt_param_set_u64(const char *name, uint64_t val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)val);
	return rpt_param_set(name, buf);
}

/* Whole reads and writes on pipes between a test and its children. */
static inline int rpt_write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= n;
	}
	return 0;
}

static inline int rpt_read_all(int fd, void *buf, size_t len)
{
	char *b = buf;

	while (len) {
		ssize_t n = read(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= n;
	}
	return 0;
}

/* Exit status of a child, or -1 if it did not exit normally. */
static inline int rpt_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- Sharing: refs, fds, UNIX sockets, settling, randomness ---- */

#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

/* rp_info().refs of @h, or a negative errno. */
static inline int64_t rpt_refs(struct rp_pool *p, rp_handle_t h)
{
	struct rp_info info;
	int ret = rp_info(p, h, &info);

	return ret ? ret : (int64_t)info.refs;
}

/* rp_info().id of @h, or 0 (ids start at 1). */
static inline uint64_t rpt_id(struct rp_pool *p, rp_handle_t h)
{
	struct rp_info info;

	return rp_info(p, h, &info) ? 0 : info.id;
}

/* The number the next open() gets: the lowest free fd (a leak moves it). */
static inline int rpt_next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* A connected pair of UNIX stream sockets, close-on-exec. */
static inline int rpt_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ? -errno : 0;
}

/*
 * Send @len bytes (0 or 1) carrying @nfds file descriptors (SCM_RIGHTS);
 * 0 bytes is what a hostile peer may send on a SEQPACKET or DGRAM socket.
 */
static inline int rpt_send_fds_len(int sock, const int *fds, int nfds,
				   size_t len)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(nfds * sizeof(int)),
	};
	struct cmsghdr *cmsg;

	if (nfds < 1 || nfds > 4 || len > 1)
		return -EINVAL;
	memset(&control, 0, sizeof(control));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* Send one byte carrying @nfds file descriptors, as rp_send() does. */
static inline int rpt_send_fds(int sock, const int *fds, int nfds)
{
	return rpt_send_fds_len(sock, fds, nfds, 1);
}

static inline int rpt_send_fd(int sock, int fd)
{
	return rpt_send_fds(sock, &fd, 1);
}

/* Receive one byte and the one fd it carries: the fd, or a negative errno. */
static inline int rpt_recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd = -EBADMSG;

	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET &&
	    cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

static inline uint64_t rpt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void rpt_sleep_us(unsigned long us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Files in flight inside a closed UNIX socket are released by the
 * socket's garbage collector, asynchronously. Releasing any UNIX socket
 * starts a collection when something is in flight: do that while waiting.
 */
static inline void rpt_kick_unix_gc(void)
{
	int sv[2];

	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		close(sv[0]);
		close(sv[1]);
	}
}

/* How long the pool may take to settle after sockets close. */
#define RPT_SETTLE_MS	2000

/*
 * Wait up to @ms for the pool's objects and bytes to be @base's plus the
 * deltas. Return 0, or -ETIMEDOUT; @now holds the last counters read.
 */
static inline int rpt_wait_pool(struct rp_pool *p, const struct rp_stats *base,
				int64_t d_objects, int64_t d_bytes,
				unsigned int ms, struct rp_stats *now)
{
	uint64_t end = rpt_now_ms() + ms;

	for (;;) {
		int ret = rp_stats(p, now);

		if (ret)
			return ret;
		if (now->objects == base->objects + d_objects &&
		    now->bytes == base->bytes + d_bytes)
			return 0;
		if (rpt_now_ms() >= end)
			return -ETIMEDOUT;
		rpt_kick_unix_gc();
		rpt_sleep_us(5000);
	}
}

/* The pool's objects and bytes reach these deltas within RPT_SETTLE_MS. */
#define EXPECT_POOL_SETTLES(p, before, d_objects, d_bytes) do { \
	struct rp_stats __rpt_last; \
	int64_t __rpt_do = (d_objects), __rpt_db = (d_bytes); \
	EXPECT_EQ(0, rpt_wait_pool((p), (before), __rpt_do, __rpt_db, \
				   RPT_SETTLE_MS, &__rpt_last)) { \
		TH_LOG("after %d ms: objects %llu, want %llu; bytes %llu, want %llu", \
		       RPT_SETTLE_MS, \
		       (unsigned long long)__rpt_last.objects, \
		       (unsigned long long)((before)->objects + __rpt_do), \
		       (unsigned long long)__rpt_last.bytes, \
		       (unsigned long long)((before)->bytes + __rpt_db)); \
	} \
} while (0)

/* A small seeded PRNG (xorshift64*): runs repeat with the same seed. */
struct rpt_rng {
	uint64_t s;
};

static inline void rpt_rng_init(struct rpt_rng *r, uint64_t seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (!r->s)
		r->s = 1;
}

static inline uint32_t rpt_rand(struct rpt_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Uniform enough in [0, n); 0 when n is 0. */
static inline uint32_t rpt_rand_below(struct rpt_rng *r, uint32_t n)
{
	return n ? rpt_rand(r) % n : 0;
}

/* $REFPOOL_SEED when set (to replay a run), else the time and pid. */
static inline uint64_t rpt_seed(void)
{
	const char *env = getenv("REFPOOL_SEED");
	struct timespec ts;

	if (env && *env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000007ULL) ^ ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

/* ---- Users, kernel memory, module parameters, test hooks ---- */

/* Two unprivileged users for the multi-user tests (no account needed). */
#define RPT_UID_A	1000
#define RPT_UID_B	1001

/*
 * Run @fn(@arg) in a child process as @uid (real, effective and saved, and
 * the same gid): the child opens its own sessions, so they are @uid's.
 * Returns the child's pid; rpt_wait() it for fn's return value (0-255).
 */
static inline pid_t rpt_spawn_as(uid_t uid, int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(250);
	_exit(fn(arg) & 0xff);
}

/* rpt_spawn_as(), and wait: fn's return value, or -1. */
static inline int rpt_run_as(uid_t uid, int (*fn)(void *arg), void *arg)
{
	pid_t pid = rpt_spawn_as(uid, fn, arg);

	return pid < 0 ? -1 : rpt_wait(pid);
}

/* Memory shared with children (MAP_SHARED | MAP_ANONYMOUS), zeroed. */
static inline void *rpt_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* A field of /proc/meminfo in KiB ("MemFree"), or -1. */
static inline long rpt_meminfo_kb(const char *field)
{
	size_t n = strlen(field);
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/*
 * Save module parameters when the program starts; rpt_params_restore()
 * puts them back (each test's teardown), and once more at exit in case a
 * test process was killed before its teardown. Declare once per program:
 * RPT_SAVE_PARAMS("max_user_bytes", "gc_threshold");
 */
#define RPT_SAVE_PARAMS(...)						\
static const char *const rpt_saved_names[] = { __VA_ARGS__ };		\
static char rpt_saved_vals[ARRAY_SIZE(rpt_saved_names)][64];		\
static bool rpt_have_saved;						\
static int rpt_params_restore(void)					\
{									\
	unsigned int i;							\
	int ret = 0;							\
									\
	for (i = 0; rpt_have_saved && i < ARRAY_SIZE(rpt_saved_names); i++) \
		if (rpt_param_set(rpt_saved_names[i], rpt_saved_vals[i]))	\
			ret = -1;					\
	return ret;							\
}									\
static void __attribute__((constructor)) rpt_params_save(void)		\
{									\
	unsigned int i;							\
									\
	for (i = 0; i < ARRAY_SIZE(rpt_saved_names); i++)		\
		if (rpt_param_get(rpt_saved_names[i], rpt_saved_vals[i],	\
				  sizeof(rpt_saved_vals[i])))		\
			return;						\
	rpt_have_saved = true;						\
}									\
static void __attribute__((destructor)) rpt_params_at_exit(void)	\
{									\
	if (getpid() == rpt_main_pid)					\
		rpt_params_restore();					\
}

/* The harness's own process: test processes are its children. */
static pid_t rpt_main_pid;
static void __attribute__((constructor(101))) rpt_note_main_pid(void)
{
	rpt_main_pid = getpid();
}

/* The module is a test build with delay points (REFPOOL_FEAT_TEST_HOOKS). */
static inline bool rpt_have_hooks(struct rp_pool *p)
{
	struct refpool_version v;

	memset(&v, 0, sizeof(v));
	return ioctl(rp_fd(p), REFPOOL_IOC_VERSION, &v) == 0 &&
	       (v.features & REFPOOL_FEAT_TEST_HOOKS);
}

#define RPT_HOOKS_FILE	"/sys/kernel/debug/refpool/hooks"

/* The next @count calls that pass delay point @name wait there @ms. */
static inline int rpt_hook_arm(const char *name, unsigned int ms,
			       unsigned int count)
{
	char buf[64];
	int fd, n, ret = 0;

	n = snprintf(buf, sizeof(buf), "%s %u %u", name, ms, count);
	fd = open(RPT_HOOKS_FILE, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* How many calls have reached delay point @name so far, or -errno. */
static inline long rpt_hook_hits(const char *name)
{
	char line[128], hook[64];
	unsigned int ms, count;
	unsigned long hits;
	long ret = -ENOENT;
	FILE *f = fopen(RPT_HOOKS_FILE, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %u %u %lu", hook, &ms, &count, &hits) == 4 &&
		    !strcmp(hook, name))
			ret = hits;
	fclose(f);
	return ret;
}

/* Wait until delay point @name has been reached more than @hits times. */
static inline int rpt_hook_wait(const char *name, long hits, int timeout_ms)
{
	uint64_t t0 = rpt_now_ms();
	long now;

	while ((now = rpt_hook_hits(name)) <= hits) {
		if (now < 0)
			return now;
		if (rpt_now_ms() - t0 > (uint64_t)timeout_ms)
			return -ETIMEDOUT;
		rpt_sleep_us(2000);
	}
	return 0;
}

/*
 * Wait until process @pid is inside kernel function @sym (its
 * /proc/PID/stack names it), e.g. sleeping in a wait. 0 or -ETIMEDOUT.
 */
static inline int rpt_wait_in_kernel(pid_t pid, const char *sym,
				     int timeout_ms)
{
	uint64_t t0 = rpt_now_ms();
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	for (;;) {
		n = -1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		if (n >= 0) {
			buf[n] = '\0';
			if (strstr(buf, sym))
				return 0;
		}
		if (rpt_now_ms() - t0 > (uint64_t)timeout_ms)
			return -ETIMEDOUT;
		rpt_sleep_us(5000);
	}
}

/* Run the calling thread on one CPU only. */
static inline int rpt_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * The sizes of the big tests, scaled by $REFPOOL_SCALE percent (default
 * 100): a slow kernel (KASAN, lockdep) runs them smaller, e.g.
 * REFPOOL_SCALE=5 scripts/vm-run --kernel debug -- ...
 */
static inline unsigned int rpt_scaled(unsigned int n, unsigned int min)
{
	const char *env = getenv("REFPOOL_SCALE");
	unsigned long pct = env && *env ? strtoul(env, NULL, 0) : 100;
	unsigned long long v = (unsigned long long)n * (pct ? pct : 100) / 100;

	return v < min ? min : v > n ? n : (unsigned int)v;
}

#endif /* REFPOOL_TEST_H */
