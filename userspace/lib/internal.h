/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * librefpool internals shared by its source files; not installed.
 */
#ifndef REFPOOL_INTERNAL_H
#define REFPOOL_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include <linux/refpool.h>
#include "refpool.h"

#define RP_EXPORT __attribute__((visibility("default")))

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

/*
 * uaccess.c: the library's own reads and writes of caller memory, made
 * without risking a crash (SPEC §2: a bad pointer is -EFAULT). See there.
 *
 * rp_probe_out(): 0 if n (1 to 4096, any alignment) bytes at p can be
 * stored to, else -EFAULT (NULL too). Call it before the ioctl whose result
 * goes there, so the kernel changes nothing for a refused call. It changes
 * no byte of the output: outputs are still set only on success.
 *
 * rp_copy_in(): memcpy() of n (1 to 4096) bytes of a caller's input that
 * returns -EFAULT (NULL src too) instead of faulting; 0 on success.
 *
 * rp_copy_in_str(): up to n (1 to 4096) bytes of a caller's string; returns
 * how many were read, fewer than n when the string runs into memory that
 * cannot be read, or -EFAULT if not even the first byte can be.
 */
int rp_probe_out(void *p, size_t n);
int rp_copy_in(void *dst, const void *src, size_t n);
ssize_t rp_copy_in_str(char *dst, const char *src, size_t n);

/* rp_info() into a struct of the library's own (rp_map()): no probe. */
int rp_do_info(struct rp_pool *p, rp_handle_t h, struct rp_info *info);

#endif /* REFPOOL_INTERNAL_H */
