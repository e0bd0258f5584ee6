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
 * nonzero 32-bit numbers, each owning one strong reference to an object in
 * the pool. The session ends when the last file descriptor of its open file
 * description is closed; every reference it still holds is dropped then.
 * A handle number that was put is not handed out again by the session
 * until it has allocated 2^31 others: a stale handle is -EBADF, never
 * another object.
 *
 * Rules every command follows (ABI 2):
 *
 * - Arguments are structs of fixed-size fields, naturally aligned, a
 *   multiple of 8 bytes long, with explicit pad fields. Pointers travel as
 *   __u64.
 * - The struct's size is the command's _IOC_SIZE. The kernel accepts the
 *   size of each published version of the struct (REFPOOL_*_SIZE_VER*),
 *   and any larger multiple of 8 whose bytes beyond what it knows are all
 *   zero (copy_struct_from_user(); a nonzero tail is -E2BIG). Any other
 *   size, including one that cuts a field in two, is -EINVAL.
 * - Every flag bit not defined for a command, and every pad or reserved
 *   field that is not zero, is -EINVAL. Unknown commands are -ENOTTY.
 * - Flags that name different things live in different namespaces: the
 *   flags a command accepts (REFPOOL_CREATE_*, REFPOOL_PUBLISH_*...) are
 *   not the state flags an object reports (REFPOOL_OBJ_*), even where a
 *   bit has the same value.
 * - The kernel never writes an argument struct back (but VERSION's). Every
 *   result goes through a result pointer the caller passes (@handle_ptr,
 *   @fd_ptr, @token_ptr, @info_ptr...): a __u32 for a handle, an __s32 for
 *   a file descriptor, 16 bytes for a token, a struct of the caller's size
 *   for INFO and STATS. The kernel writes there last, and if it cannot
 *   (-EFAULT, a pointer of 0 included) it takes back what the call made -
 *   the handle, the fd, the pin - so a refused call changes nothing.
 * - Errors of each command are listed beside it; -EFAULT may come from any
 *   of them, when the kernel touches a user buffer.
 */

#define REFPOOL_ABI_MAJOR	2
#define REFPOOL_ABI_MINOR	0

/* State flags of an object, reported by REFPOOL_IOC_INFO. */
#define REFPOOL_OBJ_SEALED	_BITUL(0)	/* contents and slots are immutable */
#define REFPOOL_OBJ_INTERNED	_BITUL(1)	/* in its user's intern table; sealed */

/* Flags accepted by REFPOOL_IOC_CREATE. */
#define REFPOOL_CREATE_SEALED	_BITUL(0)	/* the object is born sealed */
#define REFPOOL_CREATE_VALID_FLAGS	(REFPOOL_CREATE_SEALED)

/* Flags accepted by REFPOOL_IOC_PUBLISH. */
#define REFPOOL_PUBLISH_PIN	_BITUL(0)	/* the token owns a reference */
#define REFPOOL_PUBLISH_VALID_FLAGS	(REFPOOL_PUBLISH_PIN)

/* Feature bits reported by REFPOOL_IOC_VERSION: optional parts present. */
#define REFPOOL_FEAT_EVENTS	_BITULL(0)	/* WATCH, READ_EVENTS, poll() */
#define REFPOOL_FEAT_DMABUF	_BITULL(1)	/* EXPORT_DMABUF, dma-buf IMPORT */
#define REFPOOL_FEAT_TEST_HOOKS	_BITULL(63)	/* a test build: debugfs delay points */

#define REFPOOL_TOKEN_SIZE	16

/**
 * struct refpool_version - ABI version and features of the loaded module
 * @major: incompatible ABI changes; REFPOOL_ABI_MAJOR of this header
 * @minor: compatible additions
 * @features: REFPOOL_FEAT_* bits
 *
 * The one struct the kernel writes back (the command has no other effect).
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
 * @handle_ptr: user pointer to a __u32 that receives the new handle
 */
struct refpool_create {
	__u64 size;
	__u64 data;
	__u32 nslots;
	__u32 flags;
	__u64 handle_ptr;
};

#define REFPOOL_CREATE_SIZE_VER0	32

/**
 * struct refpool_handle_arg - the argument of the commands on one handle
 * @handle: a handle of this session
 * @flags: must be zero
 * @handle_ptr: DUP: user pointer to a __u32 that receives the new handle;
 *              PUT, SEAL: must be zero
 */
struct refpool_handle_arg {
	__u32 handle;
	__u32 flags;
	__u64 handle_ptr;
};

#define REFPOOL_HANDLE_ARG_SIZE_VER0	16

/**
 * struct refpool_info - what one object is; written to &refpool_info_arg.info_ptr
 * @id: the object's id, unique for the life of the module, never reused
 * @size: payload size in bytes
 * @refs: strong references (handles, exported files, pins, links, whatever
 *        mappings and dma-bufs hold), not counting the call's own
 * @nslots: number of reference slots
 * @flags: REFPOOL_OBJ_* state flags
 */
struct refpool_info {
	__u64 id;
	__u64 size;
	__u64 refs;
	__u32 nslots;
	__u32 flags;
};

#define REFPOOL_INFO_SIZE_VER0		32

/**
 * struct refpool_info_arg - ask what an object is
 * @handle: a handle of this session
 * @info_size: the size of the caller's struct refpool_info: at least
 *             REFPOOL_INFO_SIZE_VER0, a multiple of 8; what the kernel does
 *             not know is zero-filled, what the caller does not know is
 *             left out
 * @info_ptr: user pointer to @info_size bytes
 * @flags: must be zero
 * @pad: must be zero
 */
struct refpool_info_arg {
	__u32 handle;
	__u32 info_size;
	__u64 info_ptr;
	__u32 flags;
	__u32 pad;
};

#define REFPOOL_INFO_ARG_SIZE_VER0	24

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
 * struct refpool_stats - counters; written to &refpool_stats_arg.stats_ptr
 * @objects: live objects in the pool
 * @bytes: payload bytes of live objects in the pool
 * @interned: live interned objects in the pool
 * @intern_hits: running total of interning calls that found the object
 * @gc_runs: running total of completed collections
 * @gc_collected: running total of objects freed by the collector
 * @session_handles: handles held by the calling session
 * @max_objects: the pool's object limit
 * @max_bytes: the pool's payload byte limit
 * @max_object_size: the largest payload of one object
 * @max_slots: the most reference slots of one object
 * @max_user_bytes: kernel bytes one user may be charged
 * @user_bytes: kernel bytes charged to the calling user: payloads as
 *              allocated, pages of mapped objects, slot containers, handle
 *              table entries, sessions, tokens, pins, watches, events
 * @intern_bytes_saved: payload bytes not allocated thanks to interning
 * @gc_time_ns: running total of time spent collecting
 * @user_objects: live objects charged to the calling user
 * @max_user_objects: objects one user may have
 * @user_pins: pins the calling user holds
 * @session_watches: watches of the calling session
 * @session_events: events queued on the calling session
 * @dmabufs: live dma-bufs exported from the pool
 *
 * Fields are only ever added at the end.
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
	__u64 user_objects;
	__u64 max_user_objects;
	__u64 user_pins;
	__u64 session_watches;
	__u64 session_events;
	__u64 dmabufs;
};

#define REFPOOL_STATS_SIZE_VER0		168

/**
 * struct refpool_stats_arg - read the counters
 * @stats_ptr: user pointer to @stats_size bytes
 * @stats_size: the size of the caller's struct refpool_stats: at least 120
 *              (the first 15 fields), a multiple of 8; zero-filled and cut
 *              as for INFO
 * @flags: must be zero
 */
struct refpool_stats_arg {
	__u64 stats_ptr;
	__u32 stats_size;
	__u32 flags;
};

#define REFPOOL_STATS_ARG_SIZE_VER0	16
#define REFPOOL_STATS_MIN_SIZE		120

/**
 * struct refpool_fd_arg - export a handle as a file, or import one
 * @handle: EXPORT: a handle of this session; IMPORT: must be zero
 * @fd: IMPORT: a file descriptor of an exported object or of a dma-buf
 *      refpool exported; EXPORT: must be zero
 * @flags: must be zero
 * @pad: must be zero
 * @result_ptr: EXPORT: user pointer to an __s32 that receives the new file
 *              descriptor (close-on-exec); IMPORT: user pointer to a __u32
 *              that receives the new handle
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

#define REFPOOL_FD_ARG_SIZE_VER0	24

/**
 * struct refpool_token_arg - publish, pin, look up or unpin a token
 * @handle: PUBLISH: a handle of this session; otherwise must be zero
 * @flags: PUBLISH: REFPOOL_PUBLISH_* flags; otherwise must be zero
 * @token_ptr: user pointer to REFPOOL_TOKEN_SIZE bytes: PUBLISH writes the
 *             token there; LOOKUP and UNPIN read it
 * @handle_ptr: LOOKUP: user pointer to a __u32 that receives the new
 *              handle; otherwise must be zero
 *
 * A token names an object for processes of the publisher's IPC namespace.
 * It is weak: lookup fails with -ENOENT once the object is gone. A pinned
 * token owns a strong reference until REFPOOL_IOC_UNPIN; only the
 * object's owner (its creator's user) may pin it, and only the pin's user
 * (or CAP_SYS_ADMIN) may unpin it, from any IPC namespace.
 */
struct refpool_token_arg {
	__u32 handle;
	__u32 flags;
	__u64 token_ptr;
	__u64 handle_ptr;
};

#define REFPOOL_TOKEN_ARG_SIZE_VER0	24

/**
 * struct refpool_pin_info - one pin of the calling user
 * @token: the pinned token
 * @id: the pinned object's id
 * @size: its payload size
 */
struct refpool_pin_info {
	__u8 token[REFPOOL_TOKEN_SIZE];
	__u64 id;
	__u64 size;
};

#define REFPOOL_PIN_INFO_SIZE_VER0	32

/**
 * struct refpool_pins - list the calling user's pins
 * @pins_ptr: user pointer to @count entries of @entry_size bytes, or 0
 * @count: room for that many entries
 * @entry_size: the size of the caller's struct refpool_pin_info: at least
 *              REFPOOL_PIN_INFO_SIZE_VER0, a multiple of 8
 * @flags: must be zero
 * @pad: must be zero
 *
 * The command returns the number of pins the user holds, and writes the
 * first min(@count, that) of them, oldest first.
 */
struct refpool_pins {
	__u64 pins_ptr;
	__u32 count;
	__u32 entry_size;
	__u32 flags;
	__u32 pad;
};

#define REFPOOL_PINS_SIZE_VER0		24

/**
 * struct refpool_intern - the one interned object with these bytes
 * @data: user pointer to @len bytes
 * @len: 0 .. max_object_size
 * @flags: must be zero
 * @pad: must be zero
 * @handle_ptr: user pointer to a __u32 that receives a new handle
 *
 * The command returns 1 when the object existed, 0 when it was created
 * (sealed, and flagged REFPOOL_OBJ_INTERNED). The intern table is per
 * user: another user interning the same bytes gets an object of its own.
 */
struct refpool_intern {
	__u64 data;
	__u64 len;
	__u32 flags;
	__u32 pad;
	__u64 handle_ptr;
};

#define REFPOOL_INTERN_SIZE_VER0	32

/**
 * struct refpool_link - set or read a reference slot
 * @parent: a handle of this session
 * @slot: the slot, below the parent's nslots
 * @child: LINK: a handle of this session, or 0 to empty the slot;
 *         GET_LINK: must be zero
 * @flags: must be zero
 * @handle_ptr: GET_LINK: user pointer to a __u32 that receives a new
 *              handle to the child; LINK: must be zero
 *
 * A link owns one strong reference to its child; replacing or clearing it
 * drops that reference. A sealed parent's slots cannot change.
 */
struct refpool_link {
	__u32 parent;
	__u32 slot;
	__u32 child;
	__u32 flags;
	__u64 handle_ptr;
};

#define REFPOOL_LINK_SIZE_VER0		24

/**
 * struct refpool_gc - run a full collection
 * @flags: must be zero
 * @pad: must be zero
 * @collected_ptr: user pointer to a __u64 that receives how many objects
 *                 the collection freed, or 0
 *
 * Returns once a full collection that started after the call is complete.
 */
struct refpool_gc {
	__u32 flags;
	__u32 pad;
	__u64 collected_ptr;
};

#define REFPOOL_GC_SIZE_VER0		16

/* Operations of REFPOOL_IOC_BATCH. */
#define REFPOOL_OP_DUP		1	/* @out: a new handle to @handle's object */
#define REFPOOL_OP_PUT		2	/* drop @handle */
#define REFPOOL_OP_SEAL		3	/* seal @handle's object */
#define REFPOOL_OP_LINK		4	/* @handle's @slot := @child (0: empty); VER1 */
#define REFPOOL_OP_GET_LINK	5	/* @out: a new handle to @handle's @slot; VER1 */

/**
 * struct refpool_op - one operation of a batch
 * @op: REFPOOL_OP_*
 * @handle: the handle it acts on
 * @out: out: the handle it made (DUP, GET_LINK), else 0; must be zero
 * @result: out: 0, or the negative errno its own command would return;
 *          must be zero
 * @flags: (VER1) must be zero
 * @slot: (VER1) LINK, GET_LINK: the slot; otherwise must be zero
 * @child: (VER1) LINK: the child's handle, or 0; otherwise must be zero
 * @pad: (VER1) must be zero
 *
 * A batch names the size of its ops (&refpool_batch.op_size): VER0 ops
 * (16 bytes) are the first four fields, VER1 ops add the rest. An op that
 * needs a field its version lacks, or with a nonzero field it does not
 * use, gets -EINVAL in @result.
 */
struct refpool_op {
	__u32 op;
	__u32 handle;
	__u32 out;
	__s32 result;
	__u32 flags;
	__u32 slot;
	__u32 child;
	__u32 pad;
};

#define REFPOOL_OP_SIZE_VER0		16
#define REFPOOL_OP_SIZE_VER1		32

#define REFPOOL_BATCH_MAX	4096

/**
 * struct refpool_batch - many operations in one call, as io_uring submits
 * @ops: user pointer to @count ops of @op_size bytes, read and updated in
 *       place
 * @count: 1 .. REFPOOL_BATCH_MAX
 * @op_size: REFPOOL_OP_SIZE_VER0 or REFPOOL_OP_SIZE_VER1
 * @flags: must be zero
 * @pad: must be zero
 *
 * All or nothing, never in between: the kernel first makes sure it can
 * write every op's @out and @result (it pins the array's pages), and is
 * refused with -EFAULT before any op runs if it cannot. Then every op runs,
 * in order, as its own command would, and gets its own result; the call
 * returns @count. Nothing that happens to the array meanwhile (another
 * thread unmapping it) can stop the results from being delivered.
 */
struct refpool_batch {
	__u64 ops;
	__u32 count;
	__u32 op_size;
	__u32 flags;
	__u32 pad;
};

#define REFPOOL_BATCH_SIZE_VER0		24

/**
 * struct refpool_map - map an object into the caller's address space
 * @handle: a handle of this session
 * @prot: PROT_READ, or PROT_READ | PROT_WRITE
 * @flags: must be zero
 * @pad: must be zero
 * @addr_ptr: user pointer to a pointer-sized value that receives the
 *            mapping's address: a __u64, or a __u32 for a 32-bit caller on
 *            a 64-bit kernel (so that a library can pass its caller's
 *            void ** through)
 *
 * Maps the whole object, MAP_SHARED, as mmap() of its exported file does
 * (the mapping keeps the object alive); an empty object is -EINVAL. If the
 * address cannot be written, the mapping is undone.
 */
struct refpool_map {
	__u32 handle;
	__u32 prot;
	__u32 flags;
	__u32 pad;
	__u64 addr_ptr;
};

#define REFPOOL_MAP_SIZE_VER0		24

/* Lifecycle events. */
#define REFPOOL_EV_FREED	_BITUL(0)	/* the object was freed */
#define REFPOOL_EV_SEALED	_BITUL(1)	/* the object is sealed */
#define REFPOOL_EV_GC		_BITUL(2)	/* a collection finished (handle 0) */
#define REFPOOL_EV_OVERFLOW	_BITUL(31)	/* events were dropped; never watched */
#define REFPOOL_EV_OBJECT_MASK	(REFPOOL_EV_FREED | REFPOOL_EV_SEALED)

/**
 * struct refpool_watch - watch an object, or the collector
 * @handle: a handle of this session, or 0 (with @token_ptr, or for
 *          REFPOOL_EV_GC)
 * @events: REFPOOL_EV_FREED and/or REFPOOL_EV_SEALED; or exactly
 *          REFPOOL_EV_GC with @handle 0 and @token_ptr 0
 * @cookie: returned in each of the watch's events
 * @token_ptr: user pointer to a token to watch the object it names (in
 *             the caller's IPC namespace, as LOOKUP), with @handle 0; or 0
 * @flags: must be zero
 * @pad: must be zero
 *
 * A watch is weak: it never keeps the object alive. Each of its events
 * fires at most once; REFPOOL_EV_SEALED fires at once if the object is
 * sealed already. Events queue on the session: poll() on the session's
 * fd says POLLIN while any are queued, REFPOOL_IOC_READ_EVENTS reads them.
 */
struct refpool_watch {
	__u32 handle;
	__u32 events;
	__u64 cookie;
	__u64 token_ptr;
	__u32 flags;
	__u32 pad;
};

#define REFPOOL_WATCH_SIZE_VER0		32

/**
 * struct refpool_event - one lifecycle event
 * @cookie: the watch's cookie (0 for REFPOOL_EV_OVERFLOW)
 * @id: the object's id; for REFPOOL_EV_GC, how many objects the collection
 *      freed; 0 for REFPOOL_EV_OVERFLOW
 * @events: one REFPOOL_EV_* bit
 * @reserved: zero
 */
struct refpool_event {
	__u64 cookie;
	__u64 id;
	__u32 events;
	__u32 reserved;
};

#define REFPOOL_EVENT_SIZE_VER0		24

/**
 * struct refpool_read_events - take queued events, never waiting
 * @events_ptr: user pointer to @max events of @event_size bytes
 * @max: 1 .. 4096
 * @event_size: the size of the caller's struct refpool_event: at least
 *              REFPOOL_EVENT_SIZE_VER0, a multiple of 8
 * @flags: must be zero
 * @pad: must be zero
 *
 * Returns how many events were taken (0 if none is queued), oldest first.
 * Events that cannot be written (-EFAULT) stay queued.
 */
struct refpool_read_events {
	__u64 events_ptr;
	__u32 max;
	__u32 event_size;
	__u32 flags;
	__u32 pad;
};

#define REFPOOL_READ_EVENTS_SIZE_VER0	24
#define REFPOOL_READ_EVENTS_MAX		4096

/* fd flags accepted by REFPOOL_IOC_EXPORT_DMABUF (from <fcntl.h>). */
#define REFPOOL_DMABUF_O_RDWR		00000002
#define REFPOOL_DMABUF_O_CLOEXEC	02000000
#define REFPOOL_DMABUF_VALID_FD_FLAGS	(REFPOOL_DMABUF_O_RDWR | REFPOOL_DMABUF_O_CLOEXEC)

/**
 * struct refpool_dmabuf - export an object as a dma-buf
 * @handle: a handle of this session
 * @fd_flags: O_CLOEXEC and O_RDWR (else read-only), as dma-heap takes them
 * @flags: must be zero
 * @pad: must be zero
 * @fd_ptr: user pointer to an __s32 that receives the dma-buf's fd
 *
 * The dma-buf owns one strong reference to the object. Its size is the
 * object's size rounded up to a page (the rest reads as zeros); an empty
 * object is -EINVAL. A sealed object's dma-buf cannot be mapped writable,
 * and an object with a writable dma-buf mapping cannot be sealed (-EBUSY).
 */
struct refpool_dmabuf {
	__u32 handle;
	__u32 fd_flags;
	__u32 flags;
	__u32 pad;
	__u64 fd_ptr;
};

#define REFPOOL_DMABUF_SIZE_VER0	24

#define REFPOOL_IOC_MAGIC	0xB8

/* REFPOOL_IOC_VERSION: no errors. */
#define REFPOOL_IOC_VERSION	_IOR(REFPOOL_IOC_MAGIC, 0x00, struct refpool_version)
/*
 * REFPOOL_IOC_CREATE: -EINVAL unknown flag; -EFBIG size or nslots over the
 * limit; -ENOSPC the pool's object or byte limit; -EDQUOT the user's;
 * -ENOMEM; -EFAULT @data or @handle_ptr.
 */
#define REFPOOL_IOC_CREATE	_IOW(REFPOOL_IOC_MAGIC, 0x01, struct refpool_create)
/* REFPOOL_IOC_DUP: -EBADF bad handle; -EINVAL flags; -EDQUOT; -ENOMEM. */
#define REFPOOL_IOC_DUP		_IOW(REFPOOL_IOC_MAGIC, 0x02, struct refpool_handle_arg)
/* REFPOOL_IOC_PUT: -EBADF bad handle; -EINVAL flags or @handle_ptr. */
#define REFPOOL_IOC_PUT		_IOW(REFPOOL_IOC_MAGIC, 0x03, struct refpool_handle_arg)
/* REFPOOL_IOC_INFO: -EBADF bad handle; -EINVAL flags, pad or @info_size. */
#define REFPOOL_IOC_INFO	_IOW(REFPOOL_IOC_MAGIC, 0x04, struct refpool_info_arg)
/* REFPOOL_IOC_READ: -EBADF bad handle; -EINVAL flags; -EFAULT @buf. */
#define REFPOOL_IOC_READ	_IOW(REFPOOL_IOC_MAGIC, 0x05, struct refpool_rw)
/*
 * REFPOOL_IOC_WRITE: -EBADF bad handle; -EINVAL flags; -ERANGE range past
 * the end; -EPERM sealed; -ENOMEM; -EFAULT @buf.
 */
#define REFPOOL_IOC_WRITE	_IOW(REFPOOL_IOC_MAGIC, 0x06, struct refpool_rw)
/*
 * REFPOOL_IOC_SEAL: -EBADF bad handle; -EINVAL flags or @handle_ptr;
 * -EBUSY while anything could still write: a writable mapping, pages
 * pinned for I/O, a writable dma-buf mapping or attachment.
 */
#define REFPOOL_IOC_SEAL	_IOW(REFPOOL_IOC_MAGIC, 0x07, struct refpool_handle_arg)
/* REFPOOL_IOC_STATS: -EINVAL flags or @stats_size. */
#define REFPOOL_IOC_STATS	_IOW(REFPOOL_IOC_MAGIC, 0x08, struct refpool_stats_arg)
/*
 * REFPOOL_IOC_EXPORT: -EBADF bad handle; -EINVAL flags, pad or @fd;
 * -EMFILE; -EDQUOT; -ENOMEM.
 */
#define REFPOOL_IOC_EXPORT	_IOW(REFPOOL_IOC_MAGIC, 0x09, struct refpool_fd_arg)
/*
 * REFPOOL_IOC_IMPORT: -EBADF @fd not open; -EINVAL not an exported object
 * or a refpool dma-buf, flags, pad or @handle; -EDQUOT; -ENOMEM.
 */
#define REFPOOL_IOC_IMPORT	_IOW(REFPOOL_IOC_MAGIC, 0x0a, struct refpool_fd_arg)
/*
 * REFPOOL_IOC_PUBLISH: -EBADF bad handle; -EINVAL flags or @handle_ptr;
 * -EPERM pin of another user's object; -EDQUOT; -ENOMEM.
 */
#define REFPOOL_IOC_PUBLISH	_IOW(REFPOOL_IOC_MAGIC, 0x0b, struct refpool_token_arg)
/*
 * REFPOOL_IOC_LOOKUP: -EINVAL flags or @handle; -ENOENT unknown, gone or
 * another IPC namespace's; -EDQUOT; -ENOMEM; -EINTR killed while the
 * collector judged the object.
 */
#define REFPOOL_IOC_LOOKUP	_IOW(REFPOOL_IOC_MAGIC, 0x0c, struct refpool_token_arg)
/*
 * REFPOOL_IOC_UNPIN: -EINVAL flags, @handle or @handle_ptr; -ENOENT not a
 * pinned token; -EPERM another user's pin.
 */
#define REFPOOL_IOC_UNPIN	_IOW(REFPOOL_IOC_MAGIC, 0x0d, struct refpool_token_arg)
/*
 * REFPOOL_IOC_INTERN: -EINVAL flags or pad; -EFBIG @len over
 * max_object_size; -ENOSPC; -EDQUOT; -ENOMEM; -EFAULT @data.
 */
#define REFPOOL_IOC_INTERN	_IOW(REFPOOL_IOC_MAGIC, 0x0e, struct refpool_intern)
/*
 * REFPOOL_IOC_LINK: -EBADF bad parent or child handle; -EINVAL flags or
 * @handle_ptr; -ERANGE @slot past the last; -EPERM sealed parent.
 */
#define REFPOOL_IOC_LINK	_IOW(REFPOOL_IOC_MAGIC, 0x0f, struct refpool_link)
/*
 * REFPOOL_IOC_GET_LINK: -EBADF bad parent; -EINVAL flags or nonzero
 * @child; -ERANGE @slot past the last; -ENOENT empty slot; -EDQUOT;
 * -ENOMEM; -EINTR killed while the collector judged the child.
 */
#define REFPOOL_IOC_GET_LINK	_IOW(REFPOOL_IOC_MAGIC, 0x10, struct refpool_link)
/* REFPOOL_IOC_GC: -EINVAL flags or pad; -EINTR killed while waiting. */
#define REFPOOL_IOC_GC		_IOW(REFPOOL_IOC_MAGIC, 0x11, struct refpool_gc)
/*
 * REFPOOL_IOC_BATCH: -EINVAL flags, pad, @count or @op_size; -EFAULT @ops
 * (nothing ran); -ENOMEM. Returns @count.
 */
#define REFPOOL_IOC_BATCH	_IOW(REFPOOL_IOC_MAGIC, 0x12, struct refpool_batch)
/*
 * REFPOOL_IOC_MAP: -EBADF bad handle; -EINVAL flags, pad, @prot or an
 * empty object; -EPERM writable map of a sealed object; -EDQUOT; -ENOMEM.
 */
#define REFPOOL_IOC_MAP		_IOW(REFPOOL_IOC_MAGIC, 0x13, struct refpool_map)
/* REFPOOL_IOC_PINS: -EINVAL flags, pad or @entry_size. Returns the count. */
#define REFPOOL_IOC_PINS	_IOW(REFPOOL_IOC_MAGIC, 0x14, struct refpool_pins)
/*
 * REFPOOL_IOC_WATCH: -EBADF bad handle; -EINVAL @events, flags, pad, both
 * a handle and a token; -ENOENT unknown or gone token; -EDQUOT; -ENOMEM.
 */
#define REFPOOL_IOC_WATCH	_IOW(REFPOOL_IOC_MAGIC, 0x15, struct refpool_watch)
/*
 * REFPOOL_IOC_READ_EVENTS: -EINVAL @max, @event_size, flags or pad.
 * Returns the number of events read.
 */
#define REFPOOL_IOC_READ_EVENTS	_IOW(REFPOOL_IOC_MAGIC, 0x16, struct refpool_read_events)
/*
 * REFPOOL_IOC_EXPORT_DMABUF: -EBADF bad handle; -EINVAL @fd_flags, flags,
 * pad or an empty object; -EMFILE; -EDQUOT; -ENOMEM.
 */
#define REFPOOL_IOC_EXPORT_DMABUF _IOW(REFPOOL_IOC_MAGIC, 0x17, struct refpool_dmabuf)

#endif /* _UAPI_LINUX_REFPOOL_H */
