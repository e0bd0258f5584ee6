/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * refpool: a kernel-side heap of reference-counted objects.
 *
 * Copyright (C) 2026 The refpool authors
 */
#ifndef _UAPI_LINUX_REFPOOL_H
#define _UAPI_LINUX_REFPOOL_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: refpool ioctl interface
 *
 * Every open() of /dev/refpool is a *session*: a private table of handles,
 * small nonzero integers, each owning one strong reference to an object in
 * the pool. The session ends when the last file descriptor of its open file
 * description is closed; every reference it still holds is dropped then.
 *
 * All arguments are structs of fixed-size fields, naturally aligned and a
 * multiple of 8 bytes long. Pointers travel as __u64. The struct size is
 * part of the command number (_IOC_SIZE) so that a struct may grow at its
 * end: the kernel accepts any size from the first published version
 * (REFPOOL_*_SIZE_VER0) up; it zero-fills the fields an older caller does
 * not know about, and refuses with -E2BIG a newer caller's tail that is not
 * all zero. Results are written back only on success, and never more than
 * the caller's size.
 *
 * Result pointers (ABI 1.1, REFPOOL_FEAT_RESULT_PTR): each command that
 * makes a handle or a file descriptor takes, in @result_ptr, an optional
 * user pointer to a __u32 (an int for EXPORT) where the kernel also writes
 * that handle or fd, before it writes the struct back. A library can so
 * pass its caller's output pointer straight through: a bad one fails the
 * call with -EFAULT, and the handle or fd is taken back, so nothing
 * changed. Zero means none; the commands that make nothing refuse a
 * nonzero @result_ptr with -EINVAL.
 *
 * Every flag bit not defined here and every nonzero pad field is refused
 * with -EINVAL; an unknown command with -ENOTTY. The errno of each command
 * is listed beside it; -EFAULT may come from any of them.
 */

#define REFPOOL_ABI_MAJOR	1
#define REFPOOL_ABI_MINOR	1

/* Object flags, reported by REFPOOL_IOC_INFO. */
#define REFPOOL_OBJ_SEALED	_BITUL(0)	/* contents and slots are immutable */
#define REFPOOL_OBJ_INTERNED	_BITUL(1)	/* in the intern table; implies sealed */

/* Flags accepted by REFPOOL_IOC_CREATE. */
#define REFPOOL_CREATE_SEALED	REFPOOL_OBJ_SEALED
#define REFPOOL_CREATE_VALID_FLAGS	(REFPOOL_CREATE_SEALED)

/* Feature bits reported by REFPOOL_IOC_VERSION: which commands exist. */
#define REFPOOL_FEAT_CORE	_BITULL(0)	/* create dup put info read write seal stats */
#define REFPOOL_FEAT_SHARE	_BITULL(1)	/* export import mmap publish lookup unpin */
#define REFPOOL_FEAT_MODEL	_BITULL(2)	/* intern link get_link gc */
#define REFPOOL_FEAT_BATCH	_BITULL(3)	/* batch */
#define REFPOOL_FEAT_RESULT_PTR	_BITULL(4)	/* the @result_ptr fields (ABI 1.1) */

/* Flags accepted by REFPOOL_IOC_PUBLISH. */
#define REFPOOL_PUBLISH_PIN	_BITUL(0)	/* the token owns a reference */
#define REFPOOL_PUBLISH_VALID_FLAGS	(REFPOOL_PUBLISH_PIN)

#define REFPOOL_TOKEN_SIZE	16

/**
 * struct refpool_version - ABI version and features of the loaded module
 * @major: incompatible ABI changes; 1 for this header
 * @minor: compatible additions
 * @features: REFPOOL_FEAT_* bits the module supports
 */
struct refpool_version {
	__u32 major;
	__u32 minor;
	__u64 features;
};

#define REFPOOL_VERSION_SIZE_VER0	16

/**
 * struct refpool_create - create an object
 * @size: payload size in bytes, 0 .. max_object_size
 * @data: user pointer to @size bytes of initial contents, or 0 to zero-fill
 * @nslots: number of reference slots, 0 .. max_slots
 * @flags: REFPOOL_CREATE_* flags
 * @handle: out: the new handle, owning the only reference
 * @pad: must be zero
 * @result_ptr: 0, or a user pointer that also receives @handle (ABI 1.1)
 */
struct refpool_create {
	__u64 size;
	__u64 data;
	__u32 nslots;
	__u32 flags;
	__u32 handle;
	__u32 pad;
	__u64 result_ptr;
};

#define REFPOOL_CREATE_SIZE_VER0	32
#define REFPOOL_CREATE_SIZE_VER1	40

/**
 * struct refpool_handle_arg - the argument of commands on one handle
 * @handle: a handle of this session
 * @out: out: the new handle, for the commands that make one (DUP)
 * @flags: must be zero
 * @pad: must be zero
 * @result_ptr: DUP: 0, or a user pointer that also receives @out (ABI 1.1);
 *              otherwise must be zero
 */
struct refpool_handle_arg {
	__u32 handle;
	__u32 out;
	__u32 flags;
	__u32 pad;
	__u64 result_ptr;
};

#define REFPOOL_HANDLE_ARG_SIZE_VER0	16
#define REFPOOL_HANDLE_ARG_SIZE_VER1	24

/**
 * struct refpool_info - what one object is
 * @handle: a handle of this session
 * @flags: out: REFPOOL_OBJ_* flags
 * @id: out: the object's id, unique for the life of the module, never reused
 * @size: out: payload size in bytes
 * @refs: out: strong references (handles, exported files, links, mappings),
 *        not counting the one the call holds while it runs
 * @nslots: out: number of reference slots
 * @pad: must be zero
 */
struct refpool_info {
	__u32 handle;
	__u32 flags;
	__u64 id;
	__u64 size;
	__u64 refs;
	__u32 nslots;
	__u32 pad;
};

#define REFPOOL_INFO_SIZE_VER0		40

/**
 * struct refpool_rw - read or write part of an object's payload
 * @handle: a handle of this session
 * @flags: must be zero
 * @offset: byte offset in the payload
 * @len: number of bytes
 * @buf: user pointer to @len bytes
 *
 * The command returns the number of bytes transferred: a read stops at the
 * end of the payload (0 at or past it), a write transfers all or nothing.
 * Payloads are never larger than 1 GiB, so the count fits the return value.
 */
struct refpool_rw {
	__u32 handle;
	__u32 flags;
	__u64 offset;
	__u64 len;
	__u64 buf;
};

#define REFPOOL_RW_SIZE_VER0		32

/**
 * struct refpool_stats - counters of the pool and of the calling session
 * @objects: live objects in the pool
 * @bytes: payload bytes of live objects
 * @interned: live interned objects
 * @intern_hits: running total of interning calls that found the object
 * @gc_runs: running total of completed collections
 * @gc_collected: running total of objects freed by the collector
 * @session_handles: handles held by the calling session
 * @max_objects: the pool's object limit
 * @max_bytes: the pool's payload byte limit
 * @max_object_size: the largest payload of one object
 * @max_slots: the most reference slots of one object
 * @max_user_bytes: payload bytes one user may hold
 * @user_bytes: payload bytes charged to the calling user
 * @intern_bytes_saved: payload bytes not allocated thanks to interning
 * @gc_time_ns: running total of time spent collecting
 */
struct refpool_stats {
	__u64 objects;
	__u64 bytes;
	__u64 interned;
	__u64 intern_hits;
	__u64 gc_runs;
	__u64 gc_collected;
	__u64 session_handles;
	__u64 max_objects;
	__u64 max_bytes;
	__u64 max_object_size;
	__u64 max_slots;
	__u64 max_user_bytes;
	__u64 user_bytes;
	__u64 intern_bytes_saved;
	__u64 gc_time_ns;
};

#define REFPOOL_STATS_SIZE_VER0		120

/**
 * struct refpool_fd_arg - export a handle as a file, or import one
 * @handle: EXPORT: a handle of this session; IMPORT: out: the new handle
 * @fd: EXPORT: out: the new file descriptor (close-on-exec); IMPORT: a file
 *      descriptor of an exported object
 * @flags: must be zero
 * @pad: must be zero
 * @result_ptr: 0, or a user pointer that also receives the new fd (EXPORT)
 *              or the new handle (IMPORT) (ABI 1.1)
 *
 * The file owns one strong reference, dropped when its last fd and its
 * last mapping are gone. mmap() of the file maps the object (MAP_SHARED
 * only); a sealed object cannot be mapped writable (-EPERM), and a
 * read-only mapping can never be made writable.
 */
struct refpool_fd_arg {
	__u32 handle;
	__s32 fd;
	__u32 flags;
	__u32 pad;
	__u64 result_ptr;
};

#define REFPOOL_FD_ARG_SIZE_VER0	16
#define REFPOOL_FD_ARG_SIZE_VER1	24

/**
 * struct refpool_token_arg - publish, look up or unpin a token
 * @handle: PUBLISH: a handle of this session; LOOKUP: out: the new handle;
 *          UNPIN: must be zero
 * @flags: PUBLISH: REFPOOL_PUBLISH_* flags; otherwise must be zero
 * @token: PUBLISH: out; LOOKUP, UNPIN: in
 * @result_ptr: LOOKUP: 0, or a user pointer that also receives @handle
 *              (ABI 1.1); otherwise must be zero
 *
 * A token names an object for processes of the publisher's IPC namespace.
 * It is weak: lookup fails with -ENOENT once the object is gone. A pinned
 * token owns a strong reference until REFPOOL_IOC_UNPIN.
 */
struct refpool_token_arg {
	__u32 handle;
	__u32 flags;
	__u8 token[REFPOOL_TOKEN_SIZE];
	__u64 result_ptr;
};

#define REFPOOL_TOKEN_ARG_SIZE_VER0	24
#define REFPOOL_TOKEN_ARG_SIZE_VER1	32

/**
 * struct refpool_intern - the one interned object with these bytes
 * @data: user pointer to @len bytes
 * @len: 0 .. max_object_size
 * @flags: must be zero
 * @handle: out: a new handle to the object
 * @result_ptr: 0, or a user pointer that also receives @handle (ABI 1.1)
 *
 * The command returns 1 when the object existed, 0 when it was created
 * (sealed, and flagged REFPOOL_OBJ_INTERNED).
 */
struct refpool_intern {
	__u64 data;
	__u64 len;
	__u32 flags;
	__u32 handle;
	__u64 result_ptr;
};

#define REFPOOL_INTERN_SIZE_VER0	24
#define REFPOOL_INTERN_SIZE_VER1	32

/**
 * struct refpool_link - set or read a reference slot
 * @parent: a handle of this session
 * @slot: the slot, below the parent's nslots
 * @child: LINK: a handle of this session, or 0 to empty the slot;
 *         GET_LINK: out: a new handle to the child
 * @flags: must be zero
 * @result_ptr: GET_LINK: 0, or a user pointer that also receives @child
 *              (ABI 1.1); LINK: must be zero
 *
 * A link owns one strong reference to its child; replacing or clearing it
 * drops that reference. A sealed parent's slots cannot change.
 */
struct refpool_link {
	__u32 parent;
	__u32 slot;
	__u32 child;
	__u32 flags;
	__u64 result_ptr;
};

#define REFPOOL_LINK_SIZE_VER0		16
#define REFPOOL_LINK_SIZE_VER1		24

/**
 * struct refpool_gc - run a full collection
 * @flags: must be zero
 * @pad: must be zero
 * @collected: out: objects freed by this collection
 *
 * Returns once a full collection that started after the call is complete.
 */
struct refpool_gc {
	__u32 flags;
	__u32 pad;
	__u64 collected;
};

#define REFPOOL_GC_SIZE_VER0		16

/* Operations of REFPOOL_IOC_BATCH. */
#define REFPOOL_OP_DUP		1	/* @out: a new handle to @handle's object */
#define REFPOOL_OP_PUT		2	/* drop @handle */
#define REFPOOL_OP_SEAL		3	/* seal @handle's object */

/**
 * struct refpool_op - one operation of a batch
 * @op: REFPOOL_OP_*
 * @handle: the handle it acts on
 * @out: out: the handle it made, for REFPOOL_OP_DUP; must be zero
 * @result: out: 0, or the negative errno the single command would return
 */
struct refpool_op {
	__u32 op;
	__u32 handle;
	__u32 out;
	__s32 result;
};

#define REFPOOL_BATCH_MAX	4096

/**
 * struct refpool_batch - many operations in one call, as io_uring submits
 * @ops: user pointer to @count struct refpool_op, updated in place
 * @count: 1 .. REFPOOL_BATCH_MAX
 * @flags: must be zero
 *
 * Operations run in order, each with its own result, as if each were its
 * own command; an unknown @op or a nonzero @out gets -EINVAL in @result.
 * The command returns 0 once all have run; -EFAULT if @ops cannot be read
 * or written, in which case the operations of the chunk that failed (up to
 * 32 from the first one not reported) are undone where they made handles
 * and may have been done where they dropped them.
 */
struct refpool_batch {
	__u64 ops;
	__u32 count;
	__u32 flags;
};

#define REFPOOL_BATCH_SIZE_VER0		16

#define REFPOOL_IOC_MAGIC	0xB8

/*
 * REFPOOL_IOC_VERSION: no errors.
 */
#define REFPOOL_IOC_VERSION	_IOR(REFPOOL_IOC_MAGIC, 0x00, struct refpool_version)
/*
 * REFPOOL_IOC_CREATE: -EINVAL unknown flag or nonzero pad; -EFBIG size or
 * nslots over the limit; -ENOSPC pool object or byte limit; -EDQUOT the
 * user's byte limit; -ENOMEM; -EFAULT @data unreadable.
 */
#define REFPOOL_IOC_CREATE	_IOWR(REFPOOL_IOC_MAGIC, 0x01, struct refpool_create)
/* REFPOOL_IOC_DUP: -EBADF bad handle; -EINVAL flags or pad; -ENOMEM. */
#define REFPOOL_IOC_DUP		_IOWR(REFPOOL_IOC_MAGIC, 0x02, struct refpool_handle_arg)
/* REFPOOL_IOC_PUT: -EBADF bad handle; -EINVAL flags, pad, nonzero @out or @result_ptr. */
#define REFPOOL_IOC_PUT		_IOW(REFPOOL_IOC_MAGIC, 0x03, struct refpool_handle_arg)
/* REFPOOL_IOC_INFO: -EBADF bad handle; -EINVAL nonzero pad. */
#define REFPOOL_IOC_INFO	_IOWR(REFPOOL_IOC_MAGIC, 0x04, struct refpool_info)
/* REFPOOL_IOC_READ: -EBADF bad handle; -EINVAL flags; -EFAULT @buf. */
#define REFPOOL_IOC_READ	_IOW(REFPOOL_IOC_MAGIC, 0x05, struct refpool_rw)
/*
 * REFPOOL_IOC_WRITE: -EBADF bad handle; -EINVAL flags; -ERANGE range past
 * the end; -EPERM sealed; -ENOMEM; -EFAULT @buf.
 */
#define REFPOOL_IOC_WRITE	_IOW(REFPOOL_IOC_MAGIC, 0x06, struct refpool_rw)
/*
 * REFPOOL_IOC_SEAL: -EBADF bad handle; -EINVAL flags, pad, nonzero @out or
 * @result_ptr;
 * -EBUSY a writable mapping exists.
 */
#define REFPOOL_IOC_SEAL	_IOW(REFPOOL_IOC_MAGIC, 0x07, struct refpool_handle_arg)
/* REFPOOL_IOC_STATS: no errors. */
#define REFPOOL_IOC_STATS	_IOR(REFPOOL_IOC_MAGIC, 0x08, struct refpool_stats)
/* REFPOOL_IOC_EXPORT: -EBADF bad handle; -EINVAL flags or pad; -EMFILE; -ENOMEM. */
#define REFPOOL_IOC_EXPORT	_IOWR(REFPOOL_IOC_MAGIC, 0x09, struct refpool_fd_arg)
/*
 * REFPOOL_IOC_IMPORT: -EBADF @fd not open; -EINVAL not an exported object,
 * flags or pad; -ENOMEM.
 */
#define REFPOOL_IOC_IMPORT	_IOWR(REFPOOL_IOC_MAGIC, 0x0a, struct refpool_fd_arg)
/* REFPOOL_IOC_PUBLISH: -EBADF bad handle; -EINVAL flags or @result_ptr; -ENOMEM. */
#define REFPOOL_IOC_PUBLISH	_IOWR(REFPOOL_IOC_MAGIC, 0x0b, struct refpool_token_arg)
/* REFPOOL_IOC_LOOKUP: -EINVAL flags; -ENOENT unknown, gone or other namespace. */
#define REFPOOL_IOC_LOOKUP	_IOWR(REFPOOL_IOC_MAGIC, 0x0c, struct refpool_token_arg)
/* REFPOOL_IOC_UNPIN: -EINVAL flags, handle or @result_ptr; -ENOENT not pinned here. */
#define REFPOOL_IOC_UNPIN	_IOW(REFPOOL_IOC_MAGIC, 0x0d, struct refpool_token_arg)
/*
 * REFPOOL_IOC_INTERN: -EINVAL flags; -EFBIG @len over max_object_size;
 * -ENOSPC; -EDQUOT; -ENOMEM; -EFAULT @data.
 */
#define REFPOOL_IOC_INTERN	_IOWR(REFPOOL_IOC_MAGIC, 0x0e, struct refpool_intern)
/*
 * REFPOOL_IOC_LINK: -EBADF bad parent or child handle; -EINVAL flags or
 * @result_ptr;
 * -ERANGE @slot past the last; -EPERM sealed parent.
 */
#define REFPOOL_IOC_LINK	_IOW(REFPOOL_IOC_MAGIC, 0x0f, struct refpool_link)
/*
 * REFPOOL_IOC_GET_LINK: -EBADF bad parent; -EINVAL flags or nonzero @child;
 * -ERANGE @slot past the last; -ENOENT empty slot; -ENOMEM.
 */
#define REFPOOL_IOC_GET_LINK	_IOWR(REFPOOL_IOC_MAGIC, 0x10, struct refpool_link)
/* REFPOOL_IOC_GC: -EINVAL flags or pad; -EINTR killed while waiting. */
#define REFPOOL_IOC_GC		_IOWR(REFPOOL_IOC_MAGIC, 0x11, struct refpool_gc)
/* REFPOOL_IOC_BATCH: -EINVAL flags or @count; -EFAULT @ops. */
#define REFPOOL_IOC_BATCH	_IOW(REFPOOL_IOC_MAGIC, 0x12, struct refpool_batch)

#endif /* _UAPI_LINUX_REFPOOL_H */
