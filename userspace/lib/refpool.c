// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: sessions and objects, thin wrappers over the ioctls.
 *
 * Every call fills a zeroed argument struct, goes through rp_ioctl() (which
 * restarts on EINTR and turns -1/errno into -errno) and copies results out,
 * to outputs rp_probe_out() checked before the ioctl: a bad pointer is
 * -EFAULT, not a crash, and not a handle made and lost.
 * The library keeps no global state: a struct rp_pool is an fd, so calls
 * are as thread-safe as the kernel's.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define RP_DEFAULT_DEVICE "/dev/refpool"

/* struct rp_stats is handed to the kernel as it is: same layout. */
_Static_assert(sizeof(struct rp_stats) == sizeof(struct refpool_stats),
	       "rp_stats must match refpool_stats");
_Static_assert(offsetof(struct rp_stats, gc_time_ns) ==
	       offsetof(struct refpool_stats, gc_time_ns),
	       "rp_stats must match refpool_stats");

/*
 * Whether the module writes results through a pointer of ours (ABI 1.1).
 * A device that is not refpool's, or an older module, says no: the
 * library then checks outputs itself (rp_out_arg()).
 */
static int rp_takes_result_ptr(const struct rp_pool *p)
{
	struct refpool_version v;

	memset(&v, 0, sizeof(v));
	return rp_ioctl(p, REFPOOL_IOC_VERSION, &v) == 0 &&
	       (v.features & REFPOOL_FEAT_RESULT_PTR);
}

RP_EXPORT int rp_open_path(const char *path, struct rp_pool **pool)
{
	struct rp_pool *p;
	int fd, ret;

	if (!path || !pool)
		return -EFAULT;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	do {
		fd = open(path, O_RDWR | O_CLOEXEC);
	} while (fd == -1 && errno == EINTR);
	if (fd == -1) {
		int err = -errno;

		free(p);
		return err;
	}
	/*
	 * The probe comes after open(), unlike the other calls' (before the
	 * ioctl): a failed open, the common error, then leaves *pool as it
	 * was, for callers that test a NULL they set. A session opened and
	 * closed again at once changes nothing.
	 */
	ret = rp_probe_out(pool, sizeof(*pool));
	if (ret < 0) {
		close(fd);
		free(p);
		return ret;
	}
	p->fd = fd;
	p->result_ptr = rp_takes_result_ptr(p);
	*pool = p;
	return 0;
}

RP_EXPORT int rp_open(struct rp_pool **pool)
{
	const char *path = secure_getenv("REFPOOL_DEVICE");

	return rp_open_path(path && *path ? path : RP_DEFAULT_DEVICE, pool);
}

RP_EXPORT void rp_close(struct rp_pool *pool)
{
	if (!pool)
		return;
	/* Even on EINTR the fd is gone (Linux): never retry close(). */
	close(pool->fd);
	free(pool);
}

RP_EXPORT int rp_fd(const struct rp_pool *pool)
{
	return pool ? pool->fd : -EINVAL;
}

static int rp_create_common(struct rp_pool *p, uint64_t size, uint32_t nslots,
			    const void *data, uint32_t flags, rp_handle_t *out)
{
	struct refpool_create args;
	__u64 result_ptr;
	int ret;

	ret = rp_out_arg(p, out, sizeof(*out), &result_ptr);
	if (ret < 0)
		return ret;
	memset(&args, 0, sizeof(args));
	args.size = size;
	args.nslots = nslots;
	args.data = (uintptr_t)data;
	args.flags = flags;
	args.result_ptr = result_ptr;
	ret = rp_ioctl(p, REFPOOL_IOC_CREATE, &args);
	if (ret < 0)
		return ret;
	if (!result_ptr)
		*out = args.handle;
	return 0;
}

RP_EXPORT int rp_create(struct rp_pool *p, uint64_t size, uint32_t nslots,
			uint32_t flags, rp_handle_t *out)
{
	return rp_create_common(p, size, nslots, NULL, flags, out);
}

RP_EXPORT int rp_create_from(struct rp_pool *p, const void *data, uint64_t len,
			     uint32_t flags, rp_handle_t *out)
{
	/*
	 * A NULL buffer means "zero-filled" to the kernel; as a source of
	 * len > 0 bytes it is a bad pointer.
	 */
	if (!data && len)
		return -EFAULT;
	return rp_create_common(p, len, 0, data, flags, out);
}

static int rp_handle_op(struct rp_pool *p, unsigned long cmd, rp_handle_t h,
			rp_handle_t *out, __u64 result_ptr)
{
	struct refpool_handle_arg args;
	int ret;

	if (!p)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.handle = h;
	args.result_ptr = result_ptr;
	ret = rp_ioctl(p, cmd, &args);
	if (ret >= 0 && out && !result_ptr)
		*out = args.out;
	return ret;
}

RP_EXPORT int rp_dup(struct rp_pool *p, rp_handle_t h, rp_handle_t *out)
{
	__u64 result_ptr;
	int ret;

	ret = rp_out_arg(p, out, sizeof(*out), &result_ptr);
	if (ret < 0)
		return ret;
	return rp_handle_op(p, REFPOOL_IOC_DUP, h, out, result_ptr);
}

RP_EXPORT int rp_put(struct rp_pool *p, rp_handle_t h)
{
	return rp_handle_op(p, REFPOOL_IOC_PUT, h, NULL, 0);
}

RP_EXPORT int rp_seal(struct rp_pool *p, rp_handle_t h)
{
	return rp_handle_op(p, REFPOOL_IOC_SEAL, h, NULL, 0);
}

/* rp_info() for an info the library has checked, or its own. */
int rp_do_info(struct rp_pool *p, rp_handle_t h, struct rp_info *info)
{
	struct refpool_info args;
	int ret;

	memset(&args, 0, sizeof(args));
	args.handle = h;
	ret = rp_ioctl(p, REFPOOL_IOC_INFO, &args);
	if (ret < 0)
		return ret;
	memset(info, 0, sizeof(*info));
	info->id = args.id;
	info->size = args.size;
	info->refs = args.refs;
	info->nslots = args.nslots;
	info->flags = args.flags;
	return 0;
}

RP_EXPORT int rp_info(struct rp_pool *p, rp_handle_t h, struct rp_info *info)
{
	int ret;

	if (!p)
		return -EINVAL;
	if (!info)
		return -EFAULT;
	ret = rp_probe_out(info, sizeof(*info));
	if (ret < 0)
		return ret;
	return rp_do_info(p, h, info);
}

static int64_t rp_rw(struct rp_pool *p, unsigned long cmd, rp_handle_t h,
		     uint64_t off, const void *buf, uint64_t len)
{
	struct refpool_rw args;

	if (!p)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.handle = h;
	args.offset = off;
	args.len = len;
	args.buf = (uintptr_t)buf;
	return rp_ioctl(p, cmd, &args);
}

RP_EXPORT int64_t rp_read(struct rp_pool *p, rp_handle_t h, uint64_t off,
			  void *buf, uint64_t len)
{
	return rp_rw(p, REFPOOL_IOC_READ, h, off, buf, len);
}

RP_EXPORT int64_t rp_write(struct rp_pool *p, rp_handle_t h, uint64_t off,
			   const void *buf, uint64_t len)
{
	return rp_rw(p, REFPOOL_IOC_WRITE, h, off, buf, len);
}

RP_EXPORT int rp_stats(struct rp_pool *p, struct rp_stats *st)
{
	if (!p)
		return -EINVAL;
	/* The kernel writes the caller's struct: a bad pointer is -EFAULT. */
	return rp_ioctl(p, REFPOOL_IOC_STATS, st);
}
