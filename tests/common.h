/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the programs in tests/ and bench/: each was written
 * once here so that a fix reaches every program. All are static inline, so
 * a program pays only for what it calls and -Wunused-function stays quiet.
 */
#ifndef REFPOOL_TESTS_COMMON_H
#define REFPOOL_TESTS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* kselftest's exit status for "cannot run here" (kselftest.h's KSFT_SKIP) */
#define KSFT_SKIP	4

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* FNV-1a, 64 bits: a cheap fingerprint of contents, not a secure hash. */
static inline uint64_t fnv(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* CLOCK_MONOTONIC in seconds. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A count or a negative errno as text ("12", "-EBADF"). Four rotating
 * buffers per thread, so up to four can appear in one printf.
 */
static inline const char *en(long e)
{
	static __thread char bufs[4][64];
	static __thread int next;
	char *b = bufs[next++ & 3];

	if (e >= 0)
		snprintf(b, 64, "%ld", e);
	else
		snprintf(b, 64, "-%s", strerrorname_np(-e) ? strerrorname_np(-e) : "?");
	return b;
}

/* An ioctl as the library would make it: restarted on EINTR, -errno. */
static inline int raw(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : ret;
}

/* Write @value to a sysfs, debugfs or cgroup file; false if refused. */
static inline bool write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok;
}

/*
 * Read such a file into @buf (NUL-terminated, cut to @size - 1 bytes);
 * @one_line cuts it at the first newline.
 */
static inline bool read_file_to(const char *path, char *buf, size_t size, bool one_line)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	if (one_line)
		buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* The first line of a file such as a module parameter. */
static inline bool read_file(const char *path, char *buf, size_t size)
{
	return read_file_to(path, buf, size, true);
}

/* A file that holds one number; UINT64_MAX if it cannot be read. */
static inline uint64_t read_u64(const char *path)
{
	char buf[64];

	return read_file(path, buf, sizeof(buf)) ? strtoull(buf, NULL, 10) : UINT64_MAX;
}

#endif /* REFPOOL_TESTS_COMMON_H */
