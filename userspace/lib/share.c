// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: sharing objects as files - export, import, SCM_RIGHTS, mmap.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/*
 * rp_export() and rp_import() to an output the caller has probed, or the
 * library's own: rp_send(), rp_recv() and rp_map() probe theirs once.
 */
static int rp_do_export(struct rp_pool *p, rp_handle_t h, int *fd,
			__u64 result_ptr)
{
	struct refpool_fd_arg args;
	int ret;

	memset(&args, 0, sizeof(args));
	args.handle = h;
	args.result_ptr = result_ptr;
	ret = rp_ioctl(p, REFPOOL_IOC_EXPORT, &args);
	if (ret < 0)
		return ret;
	if (!result_ptr)
		*fd = args.fd;
	return 0;
}

static int rp_do_import(struct rp_pool *p, int fd, rp_handle_t *out,
			__u64 result_ptr)
{
	struct refpool_fd_arg args;
	int ret;

	memset(&args, 0, sizeof(args));
	args.fd = fd;
	args.result_ptr = result_ptr;
	ret = rp_ioctl(p, REFPOOL_IOC_IMPORT, &args);
	if (ret < 0)
		return ret;
	if (!result_ptr)
		*out = args.handle;
	return 0;
}

RP_EXPORT int rp_export(struct rp_pool *p, rp_handle_t h, int *fd)
{
	__u64 result_ptr;
	int ret;

	/* Before the ioctl: a new fd must not be made and then lost. */
	ret = rp_out_arg(p, fd, sizeof(*fd), &result_ptr);
	if (ret < 0)
		return ret;
	return rp_do_export(p, h, fd, result_ptr);
}

RP_EXPORT int rp_import(struct rp_pool *p, int fd, rp_handle_t *out)
{
	__u64 result_ptr;
	int ret;

	ret = rp_out_arg(p, out, sizeof(*out), &result_ptr);
	if (ret < 0)
		return ret;
	return rp_do_import(p, fd, out, result_ptr);
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
	ret = rp_do_export(p, h, &fd, 0);
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
	struct cmsghdr *cmsg;
	int fd = -1, nfds = 0, ret;
	ssize_t n;

	if (!p)
		return -EINVAL;
	if (!out)
		return -EFAULT;
	/* Before recvmsg(): a refused call leaves the message queued. */
	ret = rp_probe_out(out, sizeof(*out));
	if (ret < 0)
		return ret;
	do {
		n = recvmsg(unix_sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	if (n == 0)
		return -EPIPE;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		size_t i, count;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < count; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(int));
			/* Keep the first; what else came is not ours. */
			if (nfds++ == 0)
				fd = got;
			else
				close(got);
		}
	}
	/* Exactly one fd, or the message was not rp_send()'s. */
	if (nfds != 1 || (msg.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		return -EBADMSG;
	}
	ret = rp_do_import(p, fd, out, 0);
	close(fd);
	return ret;
}

RP_EXPORT int rp_map(struct rp_pool *p, rp_handle_t h, int prot, void **addr)
{
	struct rp_info info;
	void *map;
	int fd, ret;

	if (!p || (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE)))
		return -EINVAL;
	if (!addr)
		return -EFAULT;
	/* Before mapping: a mapping made and then lost would pin the object. */
	ret = rp_probe_out(addr, sizeof(*addr));
	if (ret < 0)
		return ret;
	ret = rp_do_info(p, h, &info);
	if (ret < 0)
		return ret;
	/* mmap() cannot map zero bytes. */
	if (!info.size)
		return -EINVAL;
	if (info.size > SIZE_MAX)
		return -ENOMEM;
	/* The mapping keeps the exported file, and so the object, alive. */
	ret = rp_do_export(p, h, &fd, 0);
	if (ret < 0)
		return ret;
	map = mmap(NULL, info.size, prot, MAP_SHARED, fd, 0);
	ret = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret == 0)
		*addr = map;
	return ret;
}

RP_EXPORT int rp_unmap(void *addr, uint64_t size)
{
	if (size > SIZE_MAX)
		return -EINVAL;
	return munmap(addr, size) ? -errno : 0;
}
