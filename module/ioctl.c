// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the ioctl commands of /dev/refpool.
 *
 * One table describes every command: its number (and so its struct's size
 * and direction) and its handler. The dispatcher does what every command
 * needs, the way drm_ioctl() does: it checks the command, accepts only the
 * struct sizes the uapi header allows, and reads the struct with
 * copy_struct_from_user(). Handlers never write the struct back: results
 * go through the caller's result pointers, written last. A handler that
 * makes a handle or an fd leaves it to the dispatcher, which writes it and
 * takes it back if it cannot, so a refused call changes nothing.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include <linux/refpool.h>
#include "refpool.h"

/**
 * struct rp_ioctl_ctx - what a handler leaves for the dispatcher to deliver
 * @new_obj: the object of a handle this call made
 * @new_handle: that handle
 * @new_file: a file to install as @new_fd once the call succeeds
 * @new_fd: the reserved fd number
 * @result: where the caller wants @new_handle or @new_fd
 * @intern_hit: an intern call found its object: count it on success
 */
struct rp_ioctl_ctx {
	struct rp_object *new_obj;
	u32 new_handle;
	struct file *new_file;
	int new_fd;
	u32 __user *result;
	bool intern_hit;
};

union rp_ioctl_args {
	struct refpool_version version;
	struct refpool_create create;
	struct refpool_handle_arg handle;
	struct refpool_info_arg info;
	struct refpool_rw rw;
	struct refpool_stats_arg stats;
	struct refpool_fd_arg fd;
	struct refpool_token_arg token;
	struct refpool_pins pins;
	struct refpool_intern intern;
	struct refpool_link link;
	struct refpool_gc gc;
	struct refpool_batch batch;
	struct refpool_map map;
	struct refpool_watch watch;
	struct refpool_read_events read_events;
	struct refpool_dmabuf dmabuf;
};

typedef long (*rp_ioctl_fn)(struct rp_session *s, void *args,
			    struct rp_ioctl_ctx *ctx);

struct rp_ioctl_desc {
	unsigned int cmd;
	rp_ioctl_fn fn;
};

/*
 * A new handle for @obj, which the dispatcher writes to @result_ptr (and
 * takes back if it cannot).
 */
static long rp_ioctl_new_handle(struct rp_session *s, struct rp_object *obj,
				struct rp_ioctl_ctx *ctx, u64 result_ptr)
{
	int ret = rp_handle_add(s, obj, &ctx->new_handle);

	if (ret) {
		rp_object_put(obj);
		return ret;
	}
	ctx->new_obj = obj;
	ctx->result = u64_to_user_ptr(result_ptr);
	return 0;
}

/* A new fd for @file, installed by the dispatcher once written. */
static long rp_ioctl_new_fd(struct file *file, int fd,
			    struct rp_ioctl_ctx *ctx, u64 result_ptr)
{
	ctx->new_file = file;
	ctx->new_fd = fd;
	ctx->result = u64_to_user_ptr(result_ptr);
	return 0;
}

/*
 * Write a struct of ours, @ksize bytes, to a caller's of @usize bytes
 * (checked: at least the first version, a multiple of 8): what the caller
 * does not know is left out, what we do not know is zeroed.
 */
static int rp_copy_struct_out(u64 uptr, unsigned int usize, const void *kdata,
			      unsigned int ksize)
{
	void __user *dst = u64_to_user_ptr(uptr);

	if (copy_to_user(dst, kdata, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(dst + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

/* A caller's size of a struct we write: at least @min, a multiple of 8. */
static bool rp_out_size_valid(u32 usize, u32 min)
{
	return usize >= min && IS_ALIGNED(usize, 8);
}

static long rp_ioctl_version(struct rp_session *s, void *data,
			     struct rp_ioctl_ctx *ctx)
{
	struct refpool_version *args = data;

	args->major = REFPOOL_ABI_MAJOR;
	args->minor = REFPOOL_ABI_MINOR;
	args->features = REFPOOL_FEAT_EVENTS | RP_FEAT_DMABUF;
	if (RP_TEST_HOOKS)
		args->features |= REFPOOL_FEAT_TEST_HOOKS;
	return 0;
}

static long rp_ioctl_create(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_create *args = data;
	struct rp_object *obj;
	u32 flags = 0;

	if (args->flags & ~REFPOOL_CREATE_VALID_FLAGS)
		return -EINVAL;
	/* Creation flags are not object flags, whatever their values. */
	if (args->flags & REFPOOL_CREATE_SEALED)
		flags |= REFPOOL_OBJ_SEALED;
	obj = rp_object_create(s->user, args->size, args->nslots, flags,
			       u64_to_user_ptr(args->data), NULL);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	return rp_ioctl_new_handle(s, obj, ctx, args->handle_ptr);
}

static long rp_ioctl_dup(struct rp_session *s, void *data,
			 struct rp_ioctl_ctx *ctx)
{
	struct refpool_handle_arg *args = data;
	struct rp_object *obj;

	if (args->flags)
		return -EINVAL;
	obj = rp_handle_get(s, args->handle, true);
	if (!obj)
		return -EBADF;
	return rp_ioctl_new_handle(s, obj, ctx, args->handle_ptr);
}

static long rp_ioctl_put(struct rp_session *s, void *data,
			 struct rp_ioctl_ctx *ctx)
{
	struct refpool_handle_arg *args = data;
	struct rp_object *obj;

	if (args->flags || args->handle_ptr)
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
	struct refpool_info_arg *args = data;
	struct refpool_info info = {};
	struct rp_object *obj;

	if (args->flags || args->pad ||
	    !rp_out_size_valid(args->info_size, REFPOOL_INFO_SIZE_VER0))
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	info.id = obj->id;
	info.size = obj->size;
	info.refs = refcount_read(&obj->refs);
	info.nslots = obj->nslots;
	info.flags = rp_object_flags(obj);
	rp_object_unuse(obj);
	return rp_copy_struct_out(args->info_ptr, args->info_size, &info,
				  sizeof(info));
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

	if (args->flags || args->handle_ptr)
		return -EINVAL;
	obj = rp_handle_use(s, args->handle);
	if (!obj)
		return -EBADF;
	ret = rp_object_seal(obj);
	rp_object_unuse(obj);
	return ret;
}

static long rp_ioctl_stats(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_stats_arg *args = data;
	struct refpool_stats st = {};

	if (args->flags ||
	    !rp_out_size_valid(args->stats_size, REFPOOL_STATS_MIN_SIZE))
		return -EINVAL;
	rp_stats_fill(s, &st);
	return rp_copy_struct_out(args->stats_ptr, args->stats_size, &st,
				  sizeof(st));
}

static long rp_ioctl_export(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_fd_arg *args = data;
	struct rp_object *obj;
	struct file *file;
	int fd;

	if (args->flags || args->pad || args->fd)
		return -EINVAL;
	obj = rp_handle_get(s, args->handle, true);
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
	return rp_ioctl_new_fd(file, fd, ctx, args->result_ptr);
}

static long rp_ioctl_import(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_fd_arg *args = data;
	struct rp_object *obj;

	if (args->flags || args->pad || args->handle)
		return -EINVAL;
	obj = rp_file_import(args->fd);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	return rp_ioctl_new_handle(s, obj, ctx, args->result_ptr);
}

static long rp_ioctl_publish(struct rp_session *s, void *data,
			     struct rp_ioctl_ctx *ctx)
{
	struct refpool_token_arg *args = data;
	struct rp_object *obj;
	bool pinned;
	long ret;

	if ((args->flags & ~REFPOOL_PUBLISH_VALID_FLAGS) || args->handle_ptr)
		return -EINVAL;
	/* Strong: a pin is made from this reference (see rp_handle_get()). */
	obj = rp_handle_get(s, args->handle, true);
	if (!obj)
		return -EBADF;
	ret = rp_token_publish(s, obj, args->flags & REFPOOL_PUBLISH_PIN,
			       u64_to_user_ptr(args->token_ptr), &pinned);
	if (!pinned)
		rp_object_put(obj);
	return ret;
}

static int rp_ioctl_get_token(u8 key[RP_TOKEN_SIZE], u64 token_ptr)
{
	return copy_from_user(key, u64_to_user_ptr(token_ptr), RP_TOKEN_SIZE) ?
	       -EFAULT : 0;
}

/* The object the caller's token names, with a strong reference. */
static struct rp_object *rp_ioctl_token_object(u64 token_ptr)
{
	u8 key[RP_TOKEN_SIZE];
	int ret;

	ret = rp_ioctl_get_token(key, token_ptr);
	return ret ? ERR_PTR(ret) : rp_token_lookup(key);
}

static long rp_ioctl_lookup(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_token_arg *args = data;
	struct rp_object *obj;

	if (args->flags || args->handle)
		return -EINVAL;
	obj = rp_ioctl_token_object(args->token_ptr);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	return rp_ioctl_new_handle(s, obj, ctx, args->handle_ptr);
}

static long rp_ioctl_unpin(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_token_arg *args = data;
	u8 key[RP_TOKEN_SIZE];
	int ret;

	if (args->flags || args->handle || args->handle_ptr)
		return -EINVAL;
	ret = rp_ioctl_get_token(key, args->token_ptr);
	if (ret)
		return ret;
	return rp_token_unpin(s->user, key);
}

static long rp_ioctl_pins(struct rp_session *s, void *data,
			  struct rp_ioctl_ctx *ctx)
{
	struct refpool_pins *args = data;

	if (args->flags || args->pad ||
	    !rp_out_size_valid(args->entry_size, REFPOOL_PIN_INFO_SIZE_VER0))
		return -EINVAL;
	return rp_tokens_list_pins(s->user, args->pins_ptr, args->count,
				   args->entry_size);
}

static long rp_ioctl_intern(struct rp_session *s, void *data,
			    struct rp_ioctl_ctx *ctx)
{
	struct refpool_intern *args = data;
	struct rp_object *obj;
	bool existed;
	long ret;

	if (args->flags || args->pad)
		return -EINVAL;
	obj = rp_intern(s->user, u64_to_user_ptr(args->data), args->len,
			&existed);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ret = rp_ioctl_new_handle(s, obj, ctx, args->handle_ptr);
	ctx->intern_hit = existed;
	return ret ? ret : existed;
}

static long rp_ioctl_link(struct rp_session *s, void *data,
			  struct rp_ioctl_ctx *ctx)
{
	struct refpool_link *args = data;
	struct rp_object *parent, *child = NULL;
	long ret;

	if (args->flags || args->handle_ptr)
		return -EINVAL;
	parent = rp_handle_use(s, args->parent);
	if (!parent)
		return -EBADF;
	if (args->child) {
		child = rp_handle_get(s, args->child, true);
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
	/* Strong: the child stays reachable through it (see gc.c). */
	parent = rp_handle_get(s, args->parent, true);
	if (!parent)
		return -EBADF;
	child = rp_link_get(parent, args->slot);
	rp_object_put(parent);
	if (IS_ERR(child))
		return PTR_ERR(child);
	return rp_ioctl_new_handle(s, child, ctx, args->handle_ptr);
}

static long rp_ioctl_gc(struct rp_session *s, void *data,
			struct rp_ioctl_ctx *ctx)
{
	struct refpool_gc *args = data;
	u64 __user *uptr = u64_to_user_ptr(args->collected_ptr);
	u64 collected;
	int ret;

	if (args->flags || args->pad)
		return -EINVAL;
	/*
	 * A refused call changes nothing: try the count's address before
	 * collecting, so that a bad pointer is -EFAULT with nothing freed.
	 * A collection cannot be undone, so a pointer unmapped meanwhile
	 * by another thread only loses the count.
	 */
	if (uptr && put_user(0, uptr))
		return -EFAULT;
	ret = rp_gc_collect_full(&collected);
	if (ret)
		return ret;
	if (uptr && put_user(collected, uptr))
		return -EFAULT;
	return 0;
}

static long rp_ioctl_batch(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_batch *args = data;

	if (args->flags || args->pad || !args->count ||
	    args->count > REFPOOL_BATCH_MAX ||
	    (args->op_size != REFPOOL_OP_SIZE_VER0 &&
	     args->op_size != REFPOOL_OP_SIZE_VER1))
		return -EINVAL;
	return rp_batch(s, args->ops, args->count, args->op_size);
}

static long rp_ioctl_map(struct rp_session *s, void *data,
			 struct rp_ioctl_ctx *ctx)
{
	struct refpool_map *args = data;

	if (args->flags || args->pad ||
	    (args->prot != PROT_READ && args->prot != (PROT_READ | PROT_WRITE)))
		return -EINVAL;
	return rp_file_map(s, args->handle, args->prot & PROT_WRITE,
			   u64_to_user_ptr(args->addr_ptr));
}

/*
 * A watch by handle acts on the object as the handle names it now; by
 * token, it looks the object up as LOOKUP does, and lets go of it after:
 * if that was the last reference, FREED fires at once.
 */
static long rp_ioctl_watch(struct rp_session *s, void *data,
			   struct rp_ioctl_ctx *ctx)
{
	struct refpool_watch *args = data;
	struct rp_object *obj;
	long ret;

	if (args->flags || args->pad)
		return -EINVAL;
	if (args->events == REFPOOL_EV_GC) {
		if (args->handle || args->token_ptr)
			return -EINVAL;
		return rp_events_watch_gc(s, args->cookie);
	}
	if (!args->events || (args->events & ~REFPOOL_EV_OBJECT_MASK) ||
	    (args->handle && args->token_ptr))
		return -EINVAL;
	if (!args->token_ptr) {
		obj = rp_handle_use(s, args->handle);
		if (!obj)
			return -EBADF;
		ret = rp_events_watch(s, obj, args->events, args->cookie);
		rp_object_unuse(obj);
		return ret;
	}
	obj = rp_ioctl_token_object(args->token_ptr);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ret = rp_events_watch(s, obj, args->events, args->cookie);
	rp_object_put(obj);
	return ret;
}

static long rp_ioctl_read_events(struct rp_session *s, void *data,
				 struct rp_ioctl_ctx *ctx)
{
	struct refpool_read_events *args = data;

	if (args->flags || args->pad || !args->max ||
	    args->max > REFPOOL_READ_EVENTS_MAX ||
	    !rp_out_size_valid(args->event_size, REFPOOL_EVENT_SIZE_VER0))
		return -EINVAL;
	return rp_events_read(s, args->events_ptr, args->max, args->event_size);
}

static long rp_ioctl_export_dmabuf(struct rp_session *s, void *data,
				   struct rp_ioctl_ctx *ctx)
{
	struct refpool_dmabuf *args = data;
	struct file *file;
	int fd;

	if (!RP_FEAT_DMABUF)
		return -ENOTTY;
	if (args->flags || args->pad ||
	    (args->fd_flags & ~REFPOOL_DMABUF_VALID_FD_FLAGS))
		return -EINVAL;
	file = rp_dmabuf_export(s, args->handle, args->fd_flags, &fd);
	if (IS_ERR(file))
		return PTR_ERR(file);
	return rp_ioctl_new_fd(file, fd, ctx, args->fd_ptr);
}

#define RP_IOCTL(_name, _fn)						\
	[_IOC_NR(REFPOOL_IOC_##_name)] = {				\
		.cmd = REFPOOL_IOC_##_name,				\
		.fn = (_fn),						\
	}

static const struct rp_ioctl_desc rp_ioctls[] = {
	RP_IOCTL(VERSION, rp_ioctl_version),
	RP_IOCTL(CREATE, rp_ioctl_create),
	RP_IOCTL(DUP, rp_ioctl_dup),
	RP_IOCTL(PUT, rp_ioctl_put),
	RP_IOCTL(INFO, rp_ioctl_info),
	RP_IOCTL(READ, rp_ioctl_read),
	RP_IOCTL(WRITE, rp_ioctl_write),
	RP_IOCTL(SEAL, rp_ioctl_seal),
	RP_IOCTL(STATS, rp_ioctl_stats),
	RP_IOCTL(EXPORT, rp_ioctl_export),
	RP_IOCTL(IMPORT, rp_ioctl_import),
	RP_IOCTL(PUBLISH, rp_ioctl_publish),
	RP_IOCTL(LOOKUP, rp_ioctl_lookup),
	RP_IOCTL(UNPIN, rp_ioctl_unpin),
	RP_IOCTL(INTERN, rp_ioctl_intern),
	RP_IOCTL(LINK, rp_ioctl_link),
	RP_IOCTL(GET_LINK, rp_ioctl_get_link),
	RP_IOCTL(GC, rp_ioctl_gc),
	RP_IOCTL(BATCH, rp_ioctl_batch),
	RP_IOCTL(MAP, rp_ioctl_map),
	RP_IOCTL(PINS, rp_ioctl_pins),
	RP_IOCTL(WATCH, rp_ioctl_watch),
	RP_IOCTL(READ_EVENTS, rp_ioctl_read_events),
	RP_IOCTL(EXPORT_DMABUF, rp_ioctl_export_dmabuf),
};

/*
 * The sizes the header allows: the struct's own (every command has one
 * published version today; a later one adds its older sizes here), or a
 * larger multiple of 8, whose tail copy_struct_from_user() checks. Any
 * other size - one that cuts a field, or a struct of another layout - is
 * -EINVAL.
 */
static bool rp_ioctl_size_valid(unsigned int usize, unsigned int ksize)
{
	return usize == ksize || (usize > ksize && IS_ALIGNED(usize, 8));
}

/*
 * The argument in, as copy_struct_from_user() does; but a struct of the
 * kernel's own size, the usual call, is copied with a size the compiler
 * knows. Hardened usercopy then checks the stack buffer at build time
 * instead of on every call (check_object_size() only runs for sizes known
 * at run time), which under TCG was a third of a null ioctl per call.
 */
static int rp_ioctl_copy_in(union rp_ioctl_args *kdata, unsigned int ksize,
			    const void __user *uarg, unsigned int usize)
{
	unsigned long left;

	if (usize != ksize)
		return copy_struct_from_user(kdata, ksize, uarg, usize);
	switch (ksize) {
	case 16:
		left = copy_from_user(kdata, uarg, 16);
		break;
	case 24:
		left = copy_from_user(kdata, uarg, 24);
		break;
	case 32:
		left = copy_from_user(kdata, uarg, 32);
		break;
	default:
		return copy_struct_from_user(kdata, ksize, uarg, usize);
	}
	return left ? -EFAULT : 0;
}

/* Deliver a new handle or fd through the caller's result pointer. */
static long rp_ioctl_deliver(struct rp_session *s, struct rp_ioctl_ctx *ctx,
			     long ret)
{
	if (ret >= 0 && (ctx->new_obj || ctx->new_file) &&
	    put_user(ctx->new_file ? (u32)ctx->new_fd : ctx->new_handle,
		     ctx->result))
		ret = -EFAULT;
	if (ctx->new_obj && ret < 0)
		rp_handle_cancel(s, ctx->new_handle, ctx->new_obj);
	if (ctx->new_file) {
		if (ret < 0) {
			put_unused_fd(ctx->new_fd);
			fput(ctx->new_file);
		} else {
			fd_install(ctx->new_fd, ctx->new_file);
		}
	}
	return ret;
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
	ksize = _IOC_SIZE(desc->cmd);
	if (!rp_ioctl_size_valid(usize, ksize))
		return -EINVAL;

	if (_IOC_DIR(cmd) & _IOC_WRITE) {
		ret = rp_ioctl_copy_in(&kdata, ksize, uarg, usize);
		if (ret)
			return ret;
	} else {
		memset(&kdata, 0, ksize);
	}

	ret = rp_ioctl_deliver(s, &ctx, desc->fn(s, &kdata, &ctx));
	if (ctx.intern_hit && ret >= 0)
		rp_intern_count_hit(kdata.intern.len);
	/* VERSION, the one read-only command, has no effect to undo. */
	if (ret >= 0 && _IOC_DIR(cmd) == _IOC_READ &&
	    rp_copy_struct_out(arg, usize, &kdata, ksize))
		ret = -EFAULT;
	return ret;
}
