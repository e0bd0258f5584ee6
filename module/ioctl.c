// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the ioctl commands of /dev/refpool.
 *
 * One table describes every command: its number, the size of its first
 * published struct, and its handler. The dispatcher does what every command
 * needs, the way drm_ioctl() does: it checks the command, reads the struct
 * with copy_struct_from_user() (so structs may grow at their end), and
 * writes it back on success only. A command that makes a handle tells the
 * dispatcher, which takes it back if its number cannot reach the caller.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include <linux/refpool.h>
#include "refpool.h"

/**
 * struct rp_ioctl_ctx - what a handler leaves for the dispatcher
 * @new_obj: the object of a handle this call made, to take back on failure
 * @new_handle: that handle
 * @intern_hit: an intern call found its object: count it on success
 * @new_file: a file to install as @new_fd once the call succeeds
 * @new_fd: the reserved fd number
 * @result: where the caller also wants @new_handle or @new_fd (ABI 1.1), or
 *          NULL
 */
struct rp_ioctl_ctx {
	struct rp_object *new_obj;
	u32 new_handle;
	bool intern_hit;
	struct file *new_file;
	int new_fd;
	u32 __user *result;
};

union rp_ioctl_args {
	struct refpool_version version;
	struct refpool_create create;
	struct refpool_handle_arg handle;
	struct refpool_info info;
	struct refpool_rw rw;
	struct refpool_stats stats;
	struct refpool_fd_arg fd;
	struct refpool_token_arg token;
	struct refpool_intern intern;
	struct refpool_link link;
	struct refpool_gc gc;
	struct refpool_batch batch;
};

typedef long (*rp_ioctl_fn)(struct rp_session *s, void *args,
			    struct rp_ioctl_ctx *ctx);

struct rp_ioctl_desc {
	unsigned int cmd;
	unsigned int ver0_size;
	rp_ioctl_fn fn;
};

/*
 * A new handle for @obj, which the dispatcher takes back on failure; it
 * also writes it to @result_ptr if the caller gave one.
 */
static int rp_ioctl_new_handle(struct rp_session *s, struct rp_object *obj,
			       struct rp_ioctl_ctx *ctx, u32 *handle,
			       u64 result_ptr)
{
	int ret = rp_handle_add(s, obj, handle);

	if (ret) {
		rp_object_put(obj);
		return ret;
	}
	ctx->new_obj = obj;
	ctx->new_handle = *handle;
	ctx->result = u64_to_user_ptr(result_ptr);
	return 0;
}

static long rp_ioctl_version(struct rp_session *s, void *data,
			     struct rp_ioctl_ctx *ctx)
{
	struct refpool_version *args = data;

	args->major = REFPOOL_ABI_MAJOR;
	args->minor = REFPOOL_ABI_MINOR;
	args->features = REFPOOL_FEAT_CORE | REFPOOL_FEAT_SHARE |
			 REFPOOL_FEAT_MODEL | REFPOOL_FEAT_BATCH |
			 REFPOOL_FEAT_RESULT_PTR;
	return 0;
}

static long rp_ioctl_create(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_create *args = data;
	struct rp_object *obj;

	if (args->pad)
		return -EINVAL;
	if (args->flags & ~REFPOOL_CREATE_VALID_FLAGS)
		return -EINVAL;
	obj = rp_object_create(s->user, args->size, args->nslots, args->flags,
			       u64_to_user_ptr(args->data), NULL);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	return rp_ioctl_new_handle(s, obj, ctx, &args->handle,
				   args->result_ptr);
}

static long rp_ioctl_dup(struct rp_session *s, void *data,
			 struct rp_ioctl_ctx *ctx)
{
	struct refpool_handle_arg *args = data;
	struct rp_object *obj;

	if (args->flags || args->pad)
		return -EINVAL;
	obj = rp_handle_get(s, args->handle);
	if (!obj)
		return -EBADF;
	return rp_ioctl_new_handle(s, obj, ctx, &args->out, args->result_ptr);
}

static long rp_ioctl_put(struct rp_session *s, void *data,
			 struct rp_ioctl_ctx *ctx)
{
	struct refpool_handle_arg *args = data;
	struct rp_object *obj;

	if (args->out || args->flags || args->pad || args->result_ptr)
		return -EINVAL;
	obj = rp_handle_remove(s, args->handle);
	if (!obj)
		return -EBADF;
	rp_object_put(obj);
	return 0;
}

static long rp_ioctl_info(struct rp_session *s, void *data,
			  struct rp_ioctl_ctx *ctx)
{
	struct refpool_info *args = data;
	struct rp_object *obj;

	if (args->pad)
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	args->flags = rp_object_flags(obj);
	args->id = obj->id;
	args->size = obj->size;
	args->refs = refcount_read(&obj->refs);
	args->nslots = obj->nslots;
	rp_object_unuse(obj);
	return 0;
}

static long rp_ioctl_read(struct rp_session *s, void *data,
			  struct rp_ioctl_ctx *ctx)
{
	struct refpool_rw *args = data;
	struct rp_object *obj;
	long ret;

	if (args->flags)
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	ret = rp_object_read(obj, args->offset, u64_to_user_ptr(args->buf),
			     args->len);
	rp_object_unuse(obj);
	return ret;
}

static long rp_ioctl_write(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_rw *args = data;
	struct rp_object *obj;
	long ret;

	if (args->flags)
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	ret = rp_object_write(obj, args->offset, u64_to_user_ptr(args->buf),
			      args->len);
	rp_object_unuse(obj);
	return ret;
}

static long rp_ioctl_seal(struct rp_session *s, void *data,
			  struct rp_ioctl_ctx *ctx)
{
	struct refpool_handle_arg *args = data;
	struct rp_object *obj;
	long ret;

	if (args->out || args->flags || args->pad || args->result_ptr)
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	ret = rp_object_seal(obj);
	rp_object_unuse(obj);
	return ret;
}

static long rp_ioctl_export(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_fd_arg *args = data;
	struct rp_object *obj;
	struct file *file;
	int fd;

	if (args->flags || args->pad)
		return -EINVAL;
	obj = rp_handle_get(s, args->handle);
	if (!obj)
		return -EBADF;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rp_object_put(obj);
		return fd;
	}
	file = rp_file_export(obj);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	args->fd = fd;
	ctx->new_file = file;
	ctx->new_fd = fd;
	ctx->result = u64_to_user_ptr(args->result_ptr);
	return 0;
}

static long rp_ioctl_import(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_fd_arg *args = data;
	struct rp_object *obj;

	if (args->flags || args->pad)
		return -EINVAL;
	obj = rp_file_import(args->fd);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	return rp_ioctl_new_handle(s, obj, ctx, &args->handle,
				   args->result_ptr);
}

static long rp_ioctl_publish(struct rp_session *s, void *data,
			     struct rp_ioctl_ctx *ctx)
{
	struct refpool_token_arg *args = data;
	struct rp_object *obj;
	long ret;

	if ((args->flags & ~REFPOOL_PUBLISH_VALID_FLAGS) || args->result_ptr)
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	ret = rp_token_publish(obj, args->flags & REFPOOL_PUBLISH_PIN,
			       args->token);
	rp_object_unuse(obj);
	return ret;
}

static long rp_ioctl_lookup(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_token_arg *args = data;
	struct rp_object *obj;

	if (args->flags)
		return -EINVAL;
	obj = rp_token_lookup(args->token);
	if (!obj)
		return -ENOENT;
	return rp_ioctl_new_handle(s, obj, ctx, &args->handle,
				   args->result_ptr);
}

static long rp_ioctl_unpin(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_token_arg *args = data;

	if (args->flags || args->handle || args->result_ptr)
		return -EINVAL;
	return rp_token_unpin(args->token);
}

static long rp_ioctl_intern(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_intern *args = data;
	struct rp_object *obj;
	bool existed;
	int ret;

	if (args->flags)
		return -EINVAL;
	obj = rp_intern(s->user, u64_to_user_ptr(args->data), args->len,
			&existed);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ret = rp_ioctl_new_handle(s, obj, ctx, &args->handle,
				  args->result_ptr);
	ctx->intern_hit = existed;
	return ret ? ret : existed;
}

static long rp_ioctl_link(struct rp_session *s, void *data,
			  struct rp_ioctl_ctx *ctx)
{
	struct refpool_link *args = data;
	struct rp_object *parent, *child = NULL;
	long ret;

	if (args->flags || args->result_ptr)
		return -EINVAL;
	parent = rp_handle_use(s, args->parent);
	if (!parent)
		return -EBADF;
	if (args->child) {
		child = rp_handle_get(s, args->child);
		if (!child) {
			rp_object_unuse(parent);
			return -EBADF;
		}
	}
	ret = rp_link_set(parent, args->slot, child);
	rp_object_unuse(parent);
	return ret;
}

static long rp_ioctl_get_link(struct rp_session *s, void *data,
			      struct rp_ioctl_ctx *ctx)
{
	struct refpool_link *args = data;
	struct rp_object *parent, *child;

	if (args->flags || args->child)
		return -EINVAL;
	parent = rp_handle_use(s, args->parent);
	if (!parent)
		return -EBADF;
	child = rp_link_get(parent, args->slot);
	rp_object_unuse(parent);
	if (IS_ERR(child))
		return PTR_ERR(child);
	return rp_ioctl_new_handle(s, child, ctx, &args->child,
				   args->result_ptr);
}

static long rp_ioctl_gc(struct rp_session *s, void *data,
			struct rp_ioctl_ctx *ctx)
{
	struct refpool_gc *args = data;

	if (args->flags || args->pad)
		return -EINVAL;
	return rp_gc_collect_full(&args->collected);
}

static long rp_ioctl_batch(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_batch *args = data;

	if (args->flags || !args->count || args->count > REFPOOL_BATCH_MAX)
		return -EINVAL;
	return rp_batch(s, u64_to_user_ptr(args->ops), args->count);
}

static long rp_ioctl_stats(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	rp_stats_fill(s, data);
	return 0;
}

/* REFPOOL_IOC_<name>, whose struct is REFPOOL_<arg>_SIZE_VER0 bytes or more. */
#define RP_IOCTL(_name, _arg, _fn)					\
	[_IOC_NR(REFPOOL_IOC_##_name)] = {				\
		.cmd = REFPOOL_IOC_##_name,				\
		.ver0_size = REFPOOL_##_arg##_SIZE_VER0,		\
		.fn = (_fn),						\
	}

static const struct rp_ioctl_desc rp_ioctls[] = {
	RP_IOCTL(VERSION, VERSION, rp_ioctl_version),
	RP_IOCTL(CREATE, CREATE, rp_ioctl_create),
	RP_IOCTL(DUP, HANDLE_ARG, rp_ioctl_dup),
	RP_IOCTL(PUT, HANDLE_ARG, rp_ioctl_put),
	RP_IOCTL(INFO, INFO, rp_ioctl_info),
	RP_IOCTL(READ, RW, rp_ioctl_read),
	RP_IOCTL(WRITE, RW, rp_ioctl_write),
	RP_IOCTL(SEAL, HANDLE_ARG, rp_ioctl_seal),
	RP_IOCTL(STATS, STATS, rp_ioctl_stats),
	RP_IOCTL(EXPORT, FD_ARG, rp_ioctl_export),
	RP_IOCTL(IMPORT, FD_ARG, rp_ioctl_import),
	RP_IOCTL(PUBLISH, TOKEN_ARG, rp_ioctl_publish),
	RP_IOCTL(LOOKUP, TOKEN_ARG, rp_ioctl_lookup),
	RP_IOCTL(UNPIN, TOKEN_ARG, rp_ioctl_unpin),
	RP_IOCTL(INTERN, INTERN, rp_ioctl_intern),
	RP_IOCTL(LINK, LINK, rp_ioctl_link),
	RP_IOCTL(GET_LINK, LINK, rp_ioctl_get_link),
	RP_IOCTL(GC, GC, rp_ioctl_gc),
	RP_IOCTL(BATCH, BATCH, rp_ioctl_batch),
};

/* Write the result back: the caller's size, zero past what we know. */
static int rp_ioctl_copy_out(void __user *uarg, const void *kdata,
			     unsigned int usize, unsigned int ksize)
{
	if (copy_to_user(uarg, kdata, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(uarg + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

long rp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rp_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct rp_ioctl_desc *desc;
	struct rp_ioctl_ctx ctx = {};
	union rp_ioctl_args kdata;
	unsigned int nr = _IOC_NR(cmd);
	unsigned int usize = _IOC_SIZE(cmd);
	unsigned int ksize;
	long ret;

	if (_IOC_TYPE(cmd) != REFPOOL_IOC_MAGIC || nr >= ARRAY_SIZE(rp_ioctls))
		return -ENOTTY;
	nr = array_index_nospec(nr, ARRAY_SIZE(rp_ioctls));
	desc = &rp_ioctls[nr];
	if (!desc->fn || _IOC_DIR(cmd) != _IOC_DIR(desc->cmd))
		return -ENOTTY;
	if (usize < desc->ver0_size)
		return -EINVAL;

	ksize = _IOC_SIZE(desc->cmd);
	if (_IOC_DIR(cmd) & _IOC_WRITE) {
		ret = copy_struct_from_user(&kdata, ksize, uarg, usize);
		if (ret)
			return ret;
	} else {
		memset(&kdata, 0, ksize);
	}

	ret = desc->fn(s, &kdata, &ctx);
	/* the result pointer first: the library's caller's output */
	if (ret >= 0 && ctx.result &&
	    put_user(ctx.new_file ? (u32)ctx.new_fd : ctx.new_handle,
		     ctx.result))
		ret = -EFAULT;
	if (ret >= 0 && (_IOC_DIR(cmd) & _IOC_READ) &&
	    rp_ioctl_copy_out(uarg, &kdata, usize, ksize))
		ret = -EFAULT;

	if (ctx.new_obj && ret < 0)
		rp_handle_cancel(s, ctx.new_handle, ctx.new_obj);
	if (ctx.intern_hit && ret >= 0)
		rp_intern_count_hit(kdata.intern.len);
	if (ctx.new_file) {
		if (ret < 0) {
			put_unused_fd(ctx.new_fd);
			fput(ctx.new_file);
		} else {
			fd_install(ctx.new_fd, ctx.new_file);
		}
	}
	return ret;
}
