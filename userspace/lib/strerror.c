// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * rp_strerror(): what each errno means when refpool returns it.
 *
 * A table of constant strings rather than strerror(), whose buffer for
 * unknown values is not thread-safe, and whose words ("File too large")
 * do not say which refpool limit was hit.
 */
#include <stddef.h>

#include "internal.h"

static const char *const rp_errors[] = {
	[0] = "Success",
	[EPERM] = "Object is sealed",
	[ENOENT] = "No such object, token or slot",
	[EINTR] = "Interrupted",
	[EBADF] = "Bad handle or file descriptor",
	[EAGAIN] = "Try again",
	[ENOMEM] = "Kernel out of memory",
	[EFAULT] = "Bad address",
	[EBUSY] = "Object could still be written (a writable mapping or dma-buf)",
	[EINVAL] = "Invalid argument, flag or reserved field",
	[ENOTTY] = "Not a refpool device, or command unknown to this module",
	[EFBIG] = "Object size or slot count over the pool's limit",
	[ENOSPC] = "Pool object or byte limit reached",
	[ERANGE] = "Range past the end of the object, or slot out of range",
	[E2BIG] = "Argument struct has unknown nonzero fields",
	[EPIPE] = "Peer closed the socket",
	[EACCES] = "Permission denied",
	[ENODEV] = "refpool module not loaded",
	[EDQUOT] = "This user's byte limit reached",
	[EBADMSG] = "Message carried no refpool object",
	[EMFILE] = "Too many open files",
	[EPROTO] = "refpool module of another ABI version",
};

RP_EXPORT const char *rp_strerror(int err)
{
	/* In long: negating INT_MIN as an int would overflow. */
	long e = err < 0 ? -(long)err : err;

	if ((unsigned long)e < sizeof(rp_errors) / sizeof(rp_errors[0]) &&
	    rp_errors[e])
		return rp_errors[e];
	return "Unknown error";
}
