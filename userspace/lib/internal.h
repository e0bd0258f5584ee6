/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * librefpool internals shared by its source files; not installed.
 */
#ifndef REFPOOL_INTERNAL_H
#define REFPOOL_INTERNAL_H

#include <errno.h>
#include <sys/ioctl.h>

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

#endif /* REFPOOL_INTERNAL_H */
