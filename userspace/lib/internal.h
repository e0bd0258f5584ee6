/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * librefpool internals shared by its source files; not installed.
 */
#ifndef REFPOOL_INTERNAL_H
#define REFPOOL_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include <linux/refpool.h>
#include "refpool.h"

#define RP_EXPORT __attribute__((visibility("default")))

/*
 * @result_ptr: the module writes handle and fd results through a pointer
 * of ours (ABI 1.1, REFPOOL_FEAT_RESULT_PTR), read once at open.
 */
struct rp_pool {
	int fd;
	int result_ptr;
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

/*
 * rp_out_arg() - what a call that makes a handle or an fd puts in its
 * struct's result_ptr, for the caller's output @out of @n bytes.
 *
 * Where the module takes result pointers, the caller's own: the kernel
 * writes the result there itself, and fails the call with -EFAULT, taking
 * back what it made, if it cannot - the library touches nothing, and pays
 * no extra system call. Else 0, once rp_probe_out() has checked @out; the
 * library then stores the result after the ioctl.
 *
 * Returns 0, -EINVAL for no pool, -EFAULT for a NULL or bad @out: the
 * checks every such call starts with, in the order SPEC §3 gives them.
 */
static inline int rp_out_arg(const struct rp_pool *p, void *out, size_t n,
			     __u64 *result_ptr)
{
	*result_ptr = 0;
	if (!p)
		return -EINVAL;
	if (!out)
		return -EFAULT;
	if (p->result_ptr) {
		*result_ptr = (uintptr_t)out;
		return 0;
	}
	return rp_probe_out(out, n);
}
int rp_copy_in(void *dst, const void *src, size_t n);
ssize_t rp_copy_in_str(char *dst, const char *src, size_t n);

/* rp_info() into a struct of the library's own (rp_map()): no probe. */
int rp_do_info(struct rp_pool *p, rp_handle_t h, struct rp_info *info);

#endif /* REFPOOL_INTERNAL_H */
