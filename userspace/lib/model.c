// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: Python's memory model - interning, links, the collector.
 */
#include <string.h>

#include "internal.h"

RP_EXPORT int rp_intern(struct rp_pool *p, const void *data, uint64_t len,
			rp_handle_t *out)
{
	struct refpool_intern args;
	__u64 result_ptr;
	int ret;

	if (!p)
		return -EINVAL;
	if (!out || (!data && len))
		return -EFAULT;
	ret = rp_out_arg(p, out, sizeof(*out), &result_ptr);
	if (ret < 0)
		return ret;
	memset(&args, 0, sizeof(args));
	args.data = (uintptr_t)data;
	args.len = len;
	args.result_ptr = result_ptr;
	ret = rp_ioctl(p, REFPOOL_IOC_INTERN, &args);
	if (ret < 0)
		return ret;
	if (!result_ptr)
		*out = args.handle;
	return ret;
}

RP_EXPORT int rp_link(struct rp_pool *p, rp_handle_t parent, uint32_t slot,
		      rp_handle_t child)
{
	struct refpool_link args;

	if (!p)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.parent = parent;
	args.slot = slot;
	args.child = child;
	return rp_ioctl(p, REFPOOL_IOC_LINK, &args);
}

RP_EXPORT int rp_get_link(struct rp_pool *p, rp_handle_t parent, uint32_t slot,
			  rp_handle_t *out)
{
	struct refpool_link args;
	__u64 result_ptr;
	int ret;

	ret = rp_out_arg(p, out, sizeof(*out), &result_ptr);
	if (ret < 0)
		return ret;
	memset(&args, 0, sizeof(args));
	args.parent = parent;
	args.slot = slot;
	args.result_ptr = result_ptr;
	ret = rp_ioctl(p, REFPOOL_IOC_GET_LINK, &args);
	if (ret < 0)
		return ret;
	if (!result_ptr)
		*out = args.child;
	return 0;
}

RP_EXPORT int rp_gc(struct rp_pool *p, uint64_t *collected)
{
	struct refpool_gc args;
	int ret;

	if (!p)
		return -EINVAL;
	/* NULL is allowed: the count is not wanted. */
	if (collected) {
		ret = rp_probe_out(collected, sizeof(*collected));
		if (ret < 0)
			return ret;
	}
	memset(&args, 0, sizeof(args));
	ret = rp_ioctl(p, REFPOOL_IOC_GC, &args);
	if (ret < 0)
		return ret;
	if (collected)
		*collected = args.collected;
	return 0;
}

/* struct rp_op is handed to the kernel as it is: same layout. */
_Static_assert(sizeof(struct rp_op) == sizeof(struct refpool_op),
	       "rp_op must match refpool_op");

RP_EXPORT int rp_batch(struct rp_pool *p, struct rp_op *ops, uint32_t count)
{
	struct refpool_batch args;

	if (!p)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.ops = (uintptr_t)ops;
	args.count = count;
	return rp_ioctl(p, REFPOOL_IOC_BATCH, &args);
}
