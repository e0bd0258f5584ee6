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
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

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

#endif /* REFPOOL_TEST_H */
