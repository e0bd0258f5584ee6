// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: sharing objects as files - export, import, SCM_RIGHTS, mmap,
 * dma-bufs.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

static int rp_do_export(struct rp_pool *p, rp_handle_t h, int *fd)
{
	struct refpool_fd_arg args = {
		.handle = h,
		.result_ptr = RP_PTR(fd),
	};
	int ret;

	ret = rp_ioctl(p, REFPOOL_IOC_EXPORT, &args);
	rp_written(ret, fd, sizeof(*fd));
	return ret;
}

static int rp_do_import(struct rp_pool *p, int fd, rp_handle_t *out)
{
	struct refpool_fd_arg args = {
		.fd = fd,
		.result_ptr = RP_PTR(out),
	};
	int ret;

	ret = rp_ioctl(p, REFPOOL_IOC_IMPORT, &args);
	rp_written(ret, out, sizeof(*out));
	return ret;
}

RP_EXPORT int rp_export(struct rp_pool *p, rp_handle_t h, int *fd)
{
	if (!p)
		return -EINVAL;
	return rp_do_export(p, h, fd);
}

RP_EXPORT int rp_import(struct rp_pool *p, int fd, rp_handle_t *out)
{
	if (!p)
		return -EINVAL;
	return rp_do_import(p, fd, out);
}

RP_EXPORT int rp_export_dmabuf(struct rp_pool *p, rp_handle_t h,
			       uint32_t flags, int *fd)
{
	struct refpool_dmabuf args = {
		.handle = h,
		.fd_flags = flags,
		.fd_ptr = RP_PTR(fd),
	};
	int ret;

	if (!p)
		return -EINVAL;
	ret = rp_ioctl(p, REFPOOL_IOC_EXPORT_DMABUF, &args);
	rp_written(ret, fd, sizeof(*fd));
	return ret;
}

RP_EXPORT int rp_send(int unix_sock, struct rp_pool *p, rp_handle_t h)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte = 'R';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd, ret;

	if (!p)
		return -EINVAL;
	ret = rp_do_export(p, h, &fd);
	if (ret < 0)
		return ret;
	memset(&control, 0, sizeof(control));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do {
		/* MSG_NOSIGNAL: a closed peer is -EPIPE, never SIGPIPE. */
		n = sendmsg(unix_sock, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	ret = n == -1 ? -errno : 0;
	/* The message holds its own reference to the file, if it went. */
	close(fd);
	return ret;
}

/* Room for a few fds: a peer may send more than one, and all must close. */
#define RP_RECV_MAX_FDS 16

/*
 * Close every fd the message carried but the one rp_recv() imports (@keep,
 * -1 for none); return how many it carried.
 */
static int rp_recv_fds(struct msghdr *msg, int *keep)
{
	struct cmsghdr *cmsg;
	int nfds = 0;

	*keep = -1;
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t i, count;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < count; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(int));
			if (nfds++ == 0)
				*keep = got;
			else
				close(got);
		}
	}
	return nfds;
}

RP_EXPORT int rp_recv(int unix_sock, struct rp_pool *p, rp_handle_t *out)
{
	union {
		char buf[CMSG_SPACE(RP_RECV_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	int fd, nfds, ret;
	ssize_t n;

	if (!p)
		return -EINVAL;
	do {
		n = recvmsg(unix_sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	/*
	 * Every fd that came is closed on every path below: what the peer
	 * sent must not stay open here (nor keep its objects alive).
	 */
	nfds = rp_recv_fds(&msg, &fd);
	if (n == 0 && nfds == 0)
		return -EPIPE;
	/* One byte with exactly one fd, or the message was not rp_send()'s. */
	if (n != 1 || nfds != 1 || (msg.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		return -EBADMSG;
	}
	ret = rp_do_import(p, fd, out);
	close(fd);
	return ret;
}

/*
 * memcheck knows nothing of a mapping the kernel made inside an ioctl: tell
 * it the object's bytes there are addressable and defined. Outside valgrind
 * this costs nothing, not even the rp_info() call.
 */
static void rp_map_written(struct rp_pool *p, rp_handle_t h, void *addr)
{
	struct rp_info info;

	if (!RUNNING_ON_VALGRIND)
		return;
	if (rp_info_sz(p, h, &info, sizeof(info)) == 0 && info.size <= SIZE_MAX)
		VALGRIND_MAKE_MEM_DEFINED(addr, (size_t)info.size);
}

RP_EXPORT int rp_map(struct rp_pool *p, rp_handle_t h, int prot, void **addr)
{
	struct refpool_map args = {
		.handle = h,
		.prot = (__u32)prot,
	};
	int ret;

	if (!p)
		return -EINVAL;
#if UINTPTR_MAX == UINT64_MAX
	/* The kernel writes the address, a __u64, to the caller's pointer. */
	args.addr_ptr = RP_PTR(addr);
	ret = rp_ioctl(p, REFPOOL_IOC_MAP, &args);
	rp_written(ret, addr, sizeof(*addr));
#else
	{
		/*
		 * A pointer is narrower than the kernel's __u64 here: take the
		 * address into one, then store it (C's rule for @addr).
		 */
		__u64 a = 0;

		args.addr_ptr = RP_PTR(&a);
		ret = rp_ioctl(p, REFPOOL_IOC_MAP, &args);
		rp_written(ret, &a, sizeof(a));
		if (ret == 0)
			*addr = (void *)(uintptr_t)a;
	}
#endif
	if (ret == 0)
		rp_map_written(p, h, *addr);
	return ret;
}

RP_EXPORT int rp_unmap(void *addr, uint64_t size)
{
	if (size > SIZE_MAX)
		return -EINVAL;
	return munmap(addr, size) ? -errno : 0;
}
