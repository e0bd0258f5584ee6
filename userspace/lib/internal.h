/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * librefpool internals shared by its source files; not installed.
 *
 * Every wrapper has one shape: refuse a NULL pool (-EINVAL), fill the
 * argument struct with a designated initializer (so every other field and
 * pad is zero), make one ioctl through rp_ioctl(), and hand the caller's
 * output pointer to the kernel in the struct's result pointer. The kernel
 * is the only writer of results: a bad pointer is -EFAULT from it, and it
 * takes back whatever the call made when it cannot write the result.
 */
#ifndef REFPOOL_INTERNAL_H
#define REFPOOL_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/refpool.h>
#include "refpool.h"

/*
 * memcheck cannot see what the kernel writes through a pointer inside an
 * ioctl's argument struct; as libdrm does, mark such results defined
 * after a successful call (a few no-op instructions outside valgrind).
 * Without the header the library still builds, and only valgrind users
 * see false reports.
 */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define RP_HAVE_VALGRIND 1
#endif
#endif
#ifndef RP_HAVE_VALGRIND
#define VALGRIND_MAKE_MEM_DEFINED(addr, len)	((void)(addr), (void)(len))
#define RUNNING_ON_VALGRIND			0
#endif

#define RP_EXPORT __attribute__((visibility("default")))

/*
 * Public structs are handed to the kernel as they are: field @f of struct
 * @a is field @f of the uapi's struct @b, at the same offset and size.
 */
#define RP_SAME_FIELD(a, b, f)						\
	_Static_assert(offsetof(struct a, f) == offsetof(struct b, f) &&	\
		       sizeof(((struct a *)0)->f) ==			\
		       sizeof(((struct b *)0)->f), #a "." #f)

/* A pointer as the kernel's __u64. */
#define RP_PTR(ptr)	((__u64)(uintptr_t)(ptr))

struct rp_pool {
	int fd;
};

/* One ioctl: restarted on EINTR, -1/errno turned into -errno. */
static inline int rp_ioctl(const struct rp_pool *p, unsigned long cmd,
			   void *arg)
{
	int ret;

	do {
		ret = ioctl(p->fd, cmd, arg);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : ret;
}

/* Mark @len bytes the kernel wrote at @ptr defined, if @ret says it did. */
static inline void rp_written(int64_t ret, const void *ptr, size_t len)
{
	if (ret >= 0 && ptr && len)
		VALGRIND_MAKE_MEM_DEFINED(ptr, len);
}

#endif /* REFPOOL_INTERNAL_H */
