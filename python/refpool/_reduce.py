# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""How an :class:`refpool.Object` pickles.

What travels must own a reference while it is in flight, and nothing may
outlive both ends if either dies: so no pin (it owns a reference until
someone unpins it: a receiver that dies first would leak it past every
process).

- multiprocessing (its ``ForkingPickler``: queues, pipes, ``Pool``,
  ``concurrent.futures.ProcessPoolExecutor``, process arguments) can carry
  file descriptors: the object travels as an exported fd, which owns one
  reference, through ``multiprocessing.reduction.DupFd``. While a process
  is being started (spawn and forkserver arguments) the fd goes with the
  start itself: passed at exec, or over SCM_RIGHTS to the fork server.
  Otherwise the sender's ``resource_sharer`` thread keeps a duplicate until
  the receiver unpickles and fetches it over a UNIX socket with
  SCM_RIGHTS. Either way the reference is a file descriptor of a living
  process or a file in flight on a socket: the kernel drops it when its
  holder dies, so a receiver that never unpickles costs the sender one fd
  until the sender exits, and a sender that dies first takes its
  reference along (the receiver's unpickling then fails, as it does for
  sockets and connections sent the same way). The receiver imports the fd
  into its :func:`refpool.default_pool` and closes it.
- Plain :mod:`pickle` (files, sockets of the program's own, ``copy``) has
  no channel for a descriptor: the object travels as a weak token
  (:meth:`Object.publish`). It owns nothing, so nothing can leak; the
  receiver gets a handle if the object still lives when it unpickles
  (and ``FileNotFoundError`` if not), in the sender's IPC namespace.
"""

import os
import weakref
from multiprocessing import context, reduction

from . import Object, default_pool


def _from_fd(dupfd):
    fd = dupfd.detach()
    try:
        return default_pool().import_fd(fd)
    finally:
        os.close(fd)


def reduce_fd(obj):
    """ForkingPickler's reducer: the object as an exported fd."""
    fd = obj.export()
    try:
        popen = context.get_spawning_popen()
        wrapped = reduction.DupFd(fd)
    except BaseException:
        os.close(fd)
        raise
    if popen is None:
        # resource_sharer holds a duplicate of its own
        os.close(fd)
    else:
        # The start of the child takes the fd as it is (at exec, or
        # SCM_RIGHTS to the fork server): keep it open until the Popen
        # goes, as multiprocessing keeps its own pipes.
        weakref.finalize(popen, os.close, fd)
    return _from_fd, (wrapped,)


def _from_token(token):
    return default_pool().lookup(token)


def reduce_weak(obj):
    """Object.__reduce__ for plain pickle: a weak token."""
    return _from_token, (obj.publish(),)


reduction.register(Object, reduce_fd)
