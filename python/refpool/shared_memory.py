# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""refpool.SharedMemory: multiprocessing.shared_memory.SharedMemory, with
memory that lives exactly as long as some process uses it.

``multiprocessing.shared_memory`` names a POSIX segment in /dev/shm that
lives until someone unlinks it: a process killed before ``unlink()``
leaks it until reboot, and the resource tracker that tries to prevent
that warns about "leaked shared_memory objects" and unlinks segments that
other processes still use (CPython issues 82300, 104291, 129999). Here a
segment is two refpool objects, and every way to hold them is a
reference the kernel drops when its holder dies:

- the *data* object, ``size`` bytes, which each open ``SharedMemory``
  maps (``buf``); the mapping holds a reference of its own;
- the *name* object, no payload and one slot linking the data; its token
  is ``.name``. Each open ``SharedMemory`` holds a handle to it.

Attaching looks the name up (the token is weak: it resolves while some
process holds the name object) and follows the link. ``unlink()`` empties
the slot: the name stops leading to the memory at once, while every
process that has it mapped keeps using it, as with ``shm_unlink()``.
Nothing is registered with a resource tracker, and there is nothing to
clean up at exit.
"""

import errno
import os

from . import default_pool

__all__ = ["SharedMemory"]


def _enoent(name):
    return FileNotFoundError(errno.ENOENT, "No such shared memory: the name is gone", name)


class SharedMemory:
    """A drop-in for ``multiprocessing.shared_memory.SharedMemory``.

    ``SharedMemory(create=True, size=n)`` makes ``n`` zero-filled bytes;
    ``SharedMemory(name)`` attaches to them from any process of the IPC
    namespace (any user: the name is a capability). ``.name``, ``.size``
    and ``.buf`` (a writable memoryview of the mapping), ``close()`` and
    ``unlink()`` behave as the original's, with these differences, each
    because the memory is reference-counted rather than named in a file
    system:

    - ``name`` is a token the kernel draws (32 hex digits, unguessable);
      ``SharedMemory(name, create=True)`` is ``ValueError``: a name chosen
      by the program would be a global name that outlives its users,
      which is what leaks.
    - The memory lives while any process has it open (or mapped through
      an export of ``buf``) and goes when the last one closes it or dies,
      ``unlink()`` or not. The original's segment also lives on with no
      process attached, until ``unlink()``; here, attach to a name after
      every holder closed it is ``FileNotFoundError``: keep one instance
      open for as long as others may attach.
    - ``unlink()`` only stops the name from reaching the memory (attach
      is then ``FileNotFoundError``); it never raises if the name is gone
      already, so ``close(); unlink()`` in the last process is fine.
    - ``close()`` leaves the mapping to what still uses it: a numpy
      array made from ``buf`` stays valid (with the original, using it
      after ``close()`` crashes the process), and the mapping goes with
      the last such user. ``buf`` itself is None after ``close()``.
    - The size is exactly what was asked for (the original may round it
      up to a page on some systems).
    - ``track`` (Python 3.13's parameter) is accepted and changes
      nothing: there is no tracker.

    Instances pickle by name, as the original's do. A forked child's copy
    of its parent's instance maps the same memory; closing it in the child
    unmaps the child's view and leaves the parent's handle alone.
    """

    _buf = None
    _mmap = None
    _entry = None

    def __init__(self, name=None, create=False, size=0, *, track=True):
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
            if name is not None:
                raise ValueError(
                    "refpool.SharedMemory draws its names: create=True takes no name "
                    "(a name the program chooses would outlive the memory's users)"
                )
        elif name is None:
            raise ValueError("'name' can only be None if create=True")
        self._pid = os.getpid()
        pool = default_pool()
        if create:
            data = pool.create(size)
            try:
                entry = pool.create(0, nslots=1)
                try:
                    entry.link(0, data)
                    name = entry.publish()
                except BaseException:
                    entry.close()
                    raise
            except BaseException:
                data.close()
                raise
        else:
            name = str(name)
            if name.startswith("/"):
                name = name[1:]  # the original's POSIX spelling
            entry = _lookup(pool, name)
            try:
                data = entry.get_link(0)
                if data is None:
                    raise _enoent(name)
            except BaseException:
                entry.close()
                raise
        try:
            with data:
                size = data.size
                self._mmap = data._mmap(True, size)
        except BaseException:
            entry.close()
            raise
        self._entry = entry
        self._name = name
        self._size = size
        self._buf = memoryview(self._mmap)

    @property
    def buf(self):
        """A memoryview of the shared memory."""
        return self._buf

    @property
    def name(self):
        """The name to attach with: a token string."""
        return self._name

    @property
    def size(self):
        """Its size in bytes."""
        return self._size

    def close(self):
        """Drop this instance's view and its handle to the name; the
        memory goes when the last process has done so (or died).

        Arrays and memoryviews made from ``buf`` keep the mapping (not the
        name) until they go: the original unmaps it under them, and using
        such a numpy array then kills the process with SIGSEGV."""
        self._buf = None
        self._mmap = None  # unmapped now, unless something still uses it
        entry, self._entry = self._entry, None
        if entry is not None and os.getpid() == self._pid:
            entry.close()

    def unlink(self):
        """Stop the name from reaching the memory: attaching by name is
        FileNotFoundError from now on, while processes that have it keep
        it. Nothing to do, and no error, when the name is gone already."""
        entry = self._entry
        if entry is not None and os.getpid() == self._pid:
            entry.link(0, None)
            return
        try:
            entry = _lookup(default_pool(), self._name)
        except FileNotFoundError:
            return
        with entry:
            entry.link(0, None)

    def __del__(self):
        try:
            self.close()
        except (OSError, ValueError):  # the pool went first, at exit
            pass

    def __reduce__(self):
        return (self.__class__, (self.name, False, self.size))

    def __repr__(self):
        return "%s(%r, size=%d)" % (self.__class__.__name__, self.name, self.size)


def _lookup(pool, name):
    try:
        return pool.lookup(name)
    except FileNotFoundError:
        raise _enoent(name) from None
    except OSError as e:
        if e.errno == errno.EINVAL:
            raise _enoent(name) from None  # not a token: no such name
        raise
