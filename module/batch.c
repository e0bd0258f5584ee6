// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: REFPOOL_IOC_BATCH - many handle operations in one call.
 *
 * A syscall costs more than a dup or a put: a batch pays it once for up to
 * REFPOOL_BATCH_MAX operations, each with its own result, as io_uring does
 * for I/O. Operations are read and answered in chunks; handles a chunk
 * made are taken back if its results cannot reach the caller, as for the
 * single commands.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/uaccess.h>

#include <linux/refpool.h>
#include "refpool.h"

#define RP_BATCH_CHUNK	32

static int rp_batch_op(struct rp_session *s, struct refpool_op *op,
		       struct rp_object **made)
{
	struct rp_object *obj;
	int ret;

	*made = NULL;
	if (op->out)
		return -EINVAL;
	switch (op->op) {
	case REFPOOL_OP_DUP:
		obj = rp_handle_get(s, op->handle);
		if (!obj)
			return -EBADF;
		ret = rp_handle_add(s, obj, &op->out);
		if (ret) {
			rp_object_put(obj);
			return ret;
		}
		*made = obj;
		return 0;
	case REFPOOL_OP_PUT:
		obj = rp_handle_remove(s, op->handle);
		if (!obj)
			return -EBADF;
		rp_object_put(obj);
		return 0;
	case REFPOOL_OP_SEAL:
		obj = rp_handle_use(s, op->handle);
		if (!obj)
			return -EBADF;
		ret = rp_object_seal(obj);
		rp_object_unuse(obj);
		return ret;
	default:
		return -EINVAL;
	}
}

/**
 * rp_batch - run a batch of handle operations
 * @s: the session
 * @uops: user pointer to the operations
 * @count: how many
 *
 * Return: 0, or -EFAULT.
 */
int rp_batch(struct rp_session *s, struct refpool_op __user *uops, u32 count)
{
	struct rp_object *made[RP_BATCH_CHUNK];
	struct refpool_op ops[RP_BATCH_CHUNK];
	u32 done, n, i;
	int ret = 0;

	for (done = 0; done < count && !ret; done += n) {
		n = min_t(u32, count - done, RP_BATCH_CHUNK);
		if (copy_from_user(ops, uops + done, n * sizeof(ops[0])))
			return -EFAULT;
		for (i = 0; i < n; i++) {
			ops[i].result = rp_batch_op(s, &ops[i], &made[i]);
			if (ops[i].result)
				ops[i].out = 0;
		}
		if (copy_to_user(uops + done, ops, n * sizeof(ops[0])))
			ret = -EFAULT;
		for (i = 0; ret && i < n; i++)
			if (made[i])
				rp_handle_cancel(s, ops[i].out, made[i]);
		cond_resched();
	}
	return ret;
}
