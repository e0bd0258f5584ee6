// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: sessions and objects, thin wrappers over the ioctls.
 *
 * The library keeps no global state: a struct rp_pool is an fd, so calls
 * are as thread-safe as the kernel's. See internal.h for the one shape
 * every wrapper has.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define RP_DEFAULT_DEVICE "/dev/refpool"

/* The public structs are the uapi's, field for field. */
RP_SAME_FIELD(rp_info, refpool_info, id);
RP_SAME_FIELD(rp_info, refpool_info, size);
RP_SAME_FIELD(rp_info, refpool_info, refs);
RP_SAME_FIELD(rp_info, refpool_info, nslots);
RP_SAME_FIELD(rp_info, refpool_info, flags);
_Static_assert(sizeof(struct rp_info) == sizeof(struct refpool_info),
	       "rp_info is refpool_info");

RP_SAME_FIELD(rp_stats, refpool_stats, objects);
RP_SAME_FIELD(rp_stats, refpool_stats, bytes);
RP_SAME_FIELD(rp_stats, refpool_stats, interned);
RP_SAME_FIELD(rp_stats, refpool_stats, intern_hits);
RP_SAME_FIELD(rp_stats, refpool_stats, gc_runs);
RP_SAME_FIELD(rp_stats, refpool_stats, gc_collected);
RP_SAME_FIELD(rp_stats, refpool_stats, session_handles);
RP_SAME_FIELD(rp_stats, refpool_stats, max_objects);
RP_SAME_FIELD(rp_stats, refpool_stats, max_bytes);
RP_SAME_FIELD(rp_stats, refpool_stats, max_object_size);
RP_SAME_FIELD(rp_stats, refpool_stats, max_slots);
RP_SAME_FIELD(rp_stats, refpool_stats, max_user_bytes);
RP_SAME_FIELD(rp_stats, refpool_stats, user_bytes);
RP_SAME_FIELD(rp_stats, refpool_stats, intern_bytes_saved);
RP_SAME_FIELD(rp_stats, refpool_stats, gc_time_ns);
RP_SAME_FIELD(rp_stats, refpool_stats, user_objects);
RP_SAME_FIELD(rp_stats, refpool_stats, max_user_objects);
RP_SAME_FIELD(rp_stats, refpool_stats, user_pins);
RP_SAME_FIELD(rp_stats, refpool_stats, session_watches);
RP_SAME_FIELD(rp_stats, refpool_stats, session_events);
RP_SAME_FIELD(rp_stats, refpool_stats, dmabufs);
_Static_assert(sizeof(struct rp_stats) == sizeof(struct refpool_stats),
	       "rp_stats is refpool_stats");

/* The flags are passed through as they are. */
_Static_assert(RP_SEALED == REFPOOL_CREATE_SEALED &&
	       RP_SEALED == REFPOOL_OBJ_SEALED &&
	       RP_INTERNED == REFPOOL_OBJ_INTERNED, "object flags");

/* What the first library (REFPOOL_0.1) called struct rp_info/rp_stats. */
#define RP_INFO_SIZE_0_1	REFPOOL_INFO_SIZE_VER0
#define RP_STATS_SIZE_0_1	REFPOOL_STATS_MIN_SIZE

/*
 * Nothing older than ABI 2 was released with this library's rules (the
 * kernel writes every result), so an older module is refused rather than
 * half-served.
 */
static int rp_check_abi(const struct rp_pool *p)
{
	struct refpool_version v = { .major = 0 };
	int ret;

	ret = rp_ioctl(p, REFPOOL_IOC_VERSION, &v);
	if (ret < 0)
		return ret;
	return v.major == REFPOOL_ABI_MAJOR ? 0 : -EPROTO;
}

RP_EXPORT int rp_open_path(const char *path, struct rp_pool **pool)
{
	struct rp_pool *p;
	int fd, ret;

	/* The pool is the output here; a bad path is the kernel's -EFAULT. */
	if (!pool)
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	do {
		fd = open(path, O_RDWR | O_CLOEXEC);
	} while (fd == -1 && errno == EINTR);
	if (fd == -1) {
		ret = -errno;
		free(p);
		return ret;
	}
	p->fd = fd;
	ret = rp_check_abi(p);
	if (ret < 0) {
		close(fd);
		free(p);
		return ret;
	}
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
	struct refpool_create args = {
		.size = size,
		.data = RP_PTR(data),
		.nslots = nslots,
		.flags = flags,
		.handle_ptr = RP_PTR(out),
	};
	int ret;

	ret = rp_ioctl(p, REFPOOL_IOC_CREATE, &args);
	rp_written(ret, out, sizeof(*out));
	return ret;
}

RP_EXPORT int rp_create(struct rp_pool *p, uint64_t size, uint32_t nslots,
			uint32_t flags, rp_handle_t *out)
{
	if (!p)
		return -EINVAL;
	return rp_create_common(p, size, nslots, NULL, flags, out);
}

RP_EXPORT int rp_create_from(struct rp_pool *p, const void *data, uint64_t len,
			     uint32_t flags, rp_handle_t *out)
{
	if (!p)
		return -EINVAL;
	/*
	 * A NULL data pointer means "zero-filled" to the kernel; as a source
	 * of len > 0 bytes it is a bad pointer.
	 */
	if (!data && len)
		return -EFAULT;
	return rp_create_common(p, len, 0, data, flags, out);
}

RP_EXPORT int rp_dup(struct rp_pool *p, rp_handle_t h, rp_handle_t *out)
{
	struct refpool_handle_arg args = {
		.handle = h,
		.handle_ptr = RP_PTR(out),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_DUP, &args);
	rp_written(ret, out, sizeof(*out));
	return ret;
}

RP_EXPORT int rp_put(struct rp_pool *p, rp_handle_t h)
{
	struct refpool_handle_arg args = { .handle = h };

	if (!p)
		return -EINVAL;
	return rp_ioctl(p, REFPOOL_IOC_PUT, &args);
}

RP_EXPORT int rp_seal(struct rp_pool *p, rp_handle_t h)
{
	struct refpool_handle_arg args = { .handle = h };

	if (!p)
		return -EINVAL;
	return rp_ioctl(p, REFPOOL_IOC_SEAL, &args);
}

RP_EXPORT int rp_info_sz(struct rp_pool *p, rp_handle_t h,
			 struct rp_info *info, size_t size)
{
	struct refpool_info_arg args = {
		.handle = h,
		.info_size = size > UINT32_MAX ? UINT32_MAX : (__u32)size,
		.info_ptr = RP_PTR(info),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_INFO, &args);
	rp_written(ret, info, size);
	return ret;
}

/*
 * For binaries built against the first header, which call the symbol with
 * a 32-byte struct rp_info.
 */
RP_EXPORT int (rp_info)(struct rp_pool *p, rp_handle_t h,
			struct rp_info *info)
{
	return rp_info_sz(p, h, info, RP_INFO_SIZE_0_1);
}

static int64_t rp_rw(struct rp_pool *p, unsigned long cmd, rp_handle_t h,
		     uint64_t off, const void *buf, uint64_t len)
{
	struct refpool_rw args = {
		.handle = h,
		.offset = off,
		.len = len,
		.buf = RP_PTR(buf),
	};

	if (!p)
		return -EINVAL;
	return rp_ioctl(p, cmd, &args);
}

RP_EXPORT int64_t rp_read(struct rp_pool *p, rp_handle_t h, uint64_t off,
			  void *buf, uint64_t len)
{
	int64_t ret = rp_rw(p, REFPOOL_IOC_READ, h, off, buf, len);

	rp_written(ret, buf, ret > 0 ? (size_t)ret : 0);
	return ret;
}

RP_EXPORT int64_t rp_write(struct rp_pool *p, rp_handle_t h, uint64_t off,
			   const void *buf, uint64_t len)
{
	return rp_rw(p, REFPOOL_IOC_WRITE, h, off, buf, len);
}

RP_EXPORT int rp_stats_sz(struct rp_pool *p, struct rp_stats *st, size_t size)
{
	struct refpool_stats_arg args = {
		.stats_ptr = RP_PTR(st),
		.stats_size = size > UINT32_MAX ? UINT32_MAX : (__u32)size,
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_STATS, &args);
	rp_written(ret, st, size);
	return ret;
}

/* For binaries built against the first header: a 120-byte struct. */
RP_EXPORT int (rp_stats)(struct rp_pool *p, struct rp_stats *st)
{
	return rp_stats_sz(p, st, RP_STATS_SIZE_0_1);
}
