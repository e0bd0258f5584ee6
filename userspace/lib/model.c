// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: Python's memory model - interning, links, the collector,
 * batches.
 */
#include "internal.h"

RP_EXPORT int rp_intern(struct rp_pool *p, const void *data, uint64_t len,
			rp_handle_t *out)
{
	struct refpool_intern args = {
		.data = RP_PTR(data),
		.len = len,
		.handle_ptr = RP_PTR(out),
	};
	int ret;

	if (!p)
		return -EINVAL;
	/* As rp_create_from(): no bytes at NULL to intern. */
	if (!data && len)
		return -EFAULT;
	ret = rp_ioctl(p, REFPOOL_IOC_INTERN, &args);
	rp_written(ret, out, sizeof(*out));
	return ret;
}

RP_EXPORT int rp_link(struct rp_pool *p, rp_handle_t parent, uint32_t slot,
		      rp_handle_t child)
{
	struct refpool_link args = {
		.parent = parent,
		.slot = slot,
		.child = child,
	};

	if (!p)
		return -EINVAL;
	return rp_ioctl(p, REFPOOL_IOC_LINK, &args);
}

RP_EXPORT int rp_get_link(struct rp_pool *p, rp_handle_t parent, uint32_t slot,
			  rp_handle_t *out)
{
	struct refpool_link args = {
		.parent = parent,
		.slot = slot,
		.handle_ptr = RP_PTR(out),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_GET_LINK, &args);
	rp_written(ret, out, sizeof(*out));
	return ret;
}

RP_EXPORT int rp_gc(struct rp_pool *p, uint64_t *collected)
{
	/* A NULL @collected is 0 to the kernel: the count is not wanted. */
	struct refpool_gc args = { .collected_ptr = RP_PTR(collected) };
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_GC, &args);
	rp_written(ret, collected, sizeof(*collected));
	return ret;
}

/* struct rp_op is the first version of the uapi's op, as it is. */
RP_SAME_FIELD(rp_op, refpool_op, op);
RP_SAME_FIELD(rp_op, refpool_op, handle);
RP_SAME_FIELD(rp_op, refpool_op, out);
RP_SAME_FIELD(rp_op, refpool_op, result);
_Static_assert(sizeof(struct rp_op) == REFPOOL_OP_SIZE_VER0,
	       "rp_op is refpool_op VER0");
_Static_assert(RP_OP_DUP == REFPOOL_OP_DUP && RP_OP_PUT == REFPOOL_OP_PUT &&
	       RP_OP_SEAL == REFPOOL_OP_SEAL, "batch ops");

RP_EXPORT int rp_batch(struct rp_pool *p, struct rp_op *ops, uint32_t count)
{
	struct refpool_batch args = {
		.ops = RP_PTR(ops),
		.count = count,
		.op_size = sizeof(*ops),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_BATCH, &args);
	rp_written(ret, ops, sizeof(*ops) * (size_t)count);
	/* The kernel returns @count once every op ran. */
	return ret < 0 ? ret : 0;
}
