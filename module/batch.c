// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: REFPOOL_IOC_BATCH - many handle operations in one call.
 *
 * A syscall costs more than a dup or a put: a batch pays it once for up to
 * REFPOOL_BATCH_MAX operations, each with its own result, as io_uring does
 * for I/O.
 *
 * All or nothing: a refused call changes nothing, and one that runs
 * delivers every result. Results are written back into the caller's array,
 * which another thread may unmap or make read-only at any moment; a put
 * already done cannot be undone. So the array's pages are pinned first
 * (FOLL_WRITE: a read-only or unmapped array is -EFAULT before any op
 * runs), and ops are read from and results written to the pinned pages,
 * which no change to the caller's mappings can take away.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <linux/refpool.h>
#include "refpool.h"

/* Ops read, run and answered at a time, on the stack. */
#define RP_BATCH_CHUNK	32

/* The caller's op array, pinned. */
struct rp_batch_buf {
	struct page **pages;
	unsigned long npages;
	unsigned long offset;	/* of the first op in the first page */
};

/* Copy between the pinned array at byte @pos and @buf. */
static void rp_batch_copy(struct rp_batch_buf *b, size_t pos, void *buf,
			  size_t len, bool to_array)
{
	while (len) {
		size_t at = b->offset + pos;
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(at));
		void *addr = kmap_local_page(b->pages[at >> PAGE_SHIFT]);

		if (to_array)
			memcpy(addr + offset_in_page(at), buf, n);
		else
			memcpy(buf, addr + offset_in_page(at), n);
		kunmap_local(addr);
		pos += n;
		buf += n;
		len -= n;
	}
}

static int rp_batch_pin(struct rp_batch_buf *b, u64 uops, size_t bytes)
{
	unsigned long start = uops;
	int pinned;

	if (uops != start || start + bytes < start)
		return -EFAULT;
	b->offset = offset_in_page(start);
	b->npages = DIV_ROUND_UP(b->offset + bytes, PAGE_SIZE);
	b->pages = kvmalloc_array(b->npages, sizeof(*b->pages),
				  GFP_KERNEL_ACCOUNT);
	if (!b->pages)
		return -ENOMEM;
	pinned = pin_user_pages_fast(start & PAGE_MASK, b->npages, FOLL_WRITE,
				     b->pages);
	if (pinned == b->npages)
		return 0;
	if (pinned > 0)
		unpin_user_pages(b->pages, pinned);
	kvfree(b->pages);
	return pinned < 0 && pinned != -EFAULT ? pinned : -EFAULT;
}

static void rp_batch_unpin(struct rp_batch_buf *b)
{
	unpin_user_pages_dirty_lock(b->pages, b->npages, true);
	kvfree(b->pages);
}

/* A DUP or GET_LINK's new handle for @obj, whose reference passes to it. */
static int rp_batch_new_handle(struct rp_session *s, struct rp_object *obj,
			       struct refpool_op *op)
{
	int ret;

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ret = rp_handle_add(s, obj, &op->out);
	if (ret)
		rp_object_put(obj);
	return ret;
}

static int rp_batch_link(struct rp_session *s, struct refpool_op *op)
{
	struct rp_object *parent, *child = NULL;
	int ret;

	parent = rp_handle_use(s, op->handle);
	if (!parent)
		return -EBADF;
	if (op->child) {
		child = rp_handle_get(s, op->child, true);
		if (!child) {
			rp_object_unuse(parent);
			return -EBADF;
		}
	}
	ret = rp_link_set(parent, op->slot, child);
	rp_object_unuse(parent);
	return ret;
}

static int rp_batch_get_link(struct rp_session *s, struct refpool_op *op)
{
	struct rp_object *parent, *child;

	parent = rp_handle_get(s, op->handle, true);
	if (!parent)
		return -EBADF;
	child = rp_link_get(parent, op->slot);
	rp_object_put(parent);
	return rp_batch_new_handle(s, child, op);
}

/* The fields an op does not use must be zero, as its command's would. */
static bool rp_batch_op_valid(const struct refpool_op *op, u32 op_size)
{
	bool slot_used = op->op == REFPOOL_OP_LINK ||
			 op->op == REFPOOL_OP_GET_LINK;

	if (op->out || op->result || op->flags || op->pad)
		return false;
	if (slot_used)
		return op_size >= REFPOOL_OP_SIZE_VER1 &&
		       (op->op == REFPOOL_OP_LINK || !op->child);
	return !op->slot && !op->child;
}

static int rp_batch_op(struct rp_session *s, struct refpool_op *op,
		       u32 op_size)
{
	struct rp_object *obj;
	int ret;

	if (!rp_batch_op_valid(op, op_size))
		return -EINVAL;
	switch (op->op) {
	case REFPOOL_OP_DUP:
		obj = rp_handle_get(s, op->handle, true);
		return rp_batch_new_handle(s, obj ? obj : ERR_PTR(-EBADF), op);
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
	case REFPOOL_OP_LINK:
		return rp_batch_link(s, op);
	case REFPOOL_OP_GET_LINK:
		return rp_batch_get_link(s, op);
	default:
		return -EINVAL;
	}
}

/* Run @n ops of the array from op @first, and write back their results. */
static void rp_batch_chunk(struct rp_session *s, struct rp_batch_buf *b,
			   u32 first, u32 n, u32 op_size)
{
	struct refpool_op ops[RP_BATCH_CHUNK];
	u32 i;

	for (i = 0; i < n; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		rp_batch_copy(b, (size_t)(first + i) * op_size, &ops[i],
			      min_t(u32, op_size, sizeof(ops[i])), false);
	}
	for (i = 0; i < n; i++) {
		ops[i].result = rp_batch_op(s, &ops[i], op_size);
		if (ops[i].result)
			ops[i].out = 0;
	}
	/* @out and @result are adjacent in every version of an op. */
	BUILD_BUG_ON(offsetof(struct refpool_op, result) !=
		     offsetof(struct refpool_op, out) + sizeof(__u32));
	for (i = 0; i < n; i++)
		rp_batch_copy(b, (size_t)(first + i) * op_size +
				 offsetof(struct refpool_op, out),
			      &ops[i].out, 2 * sizeof(__u32), true);
}

/**
 * rp_batch - run a batch of handle operations
 * @s: the session
 * @uops: user pointer to the operations
 * @count: how many, 1 .. REFPOOL_BATCH_MAX
 * @op_size: REFPOOL_OP_SIZE_VER0 or _VER1
 *
 * Return: @count once every op ran; -EFAULT (nothing ran), -ENOMEM.
 */
int rp_batch(struct rp_session *s, u64 uops, u32 count, u32 op_size)
{
	struct rp_batch_buf b;
	u32 done, n;
	int ret;

	ret = rp_batch_pin(&b, uops, (size_t)count * op_size);
	if (ret)
		return ret;
	rp_hook(RP_HOOK_BATCH);
	for (done = 0; done < count; done += n) {
		n = min_t(u32, count - done, RP_BATCH_CHUNK);
		rp_batch_chunk(s, &b, done, n, op_size);
		cond_resched();
	}
	rp_batch_unpin(&b);
	return count;
}
