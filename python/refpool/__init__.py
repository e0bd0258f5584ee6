# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""refpool: Python binding of librefpool, the kernel heap of /dev/refpool.

A :class:`Pool` is a session on the device; an :class:`Object` is one
handle of it, owning one strong reference to a kernel object. Python's
reference counting maps onto the kernel's: an ``Object`` that is closed,
leaves a ``with`` block or is garbage-collected drops its handle, and a
``Pool`` that is closed drops every handle of the session. Whatever the
process does, the kernel drops them when it dies, even by SIGKILL::

    import refpool

    with refpool.Pool() as pool:
        with pool.create(b"hello") as obj:
            token = obj.publish()           # give it to another process
            with obj.map() as mem:          # a zero-copy memoryview
                mem[0:5] = b"HELLO"
            print(obj.read())               # b'HELLO'

    # another process, same IPC namespace
    with refpool.Pool() as pool, pool.lookup(token) as obj:
        print(bytes(obj.map(writable=False)[:5]))

Every failure of a library call raises :class:`OSError` (or its subclass
for the errno, such as ``PermissionError`` for a sealed object) with the
errno the library returned and :func:`strerror`'s text. Using a closed
pool or object raises :class:`ValueError`.

The library is found through ``$REFPOOL_LIB``, then the build tree this
package sits in, then the system's linker path (see ``refpool._lib``).
"""

import collections
import ctypes
import errno as _errno
import mmap
import os
import threading

from . import _lib
from ._lib import lib

__all__ = [
    "Pool",
    "Object",
    "ObjectInfo",
    "strerror",
    "SEALED",
    "INTERNED",
    "STATS_FIELDS",
]

SEALED = 1 << 0  #: the object is immutable (RP_SEALED)
INTERNED = 1 << 1  #: the object is in the intern table (RP_INTERNED)

#: the keys of :meth:`Pool.stats`, in the order of struct rp_stats
STATS_FIELDS = tuple(name for name, _ in _lib.Stats._fields_)

#: what :meth:`Object.info` returns
ObjectInfo = collections.namedtuple("ObjectInfo", "id size refs nslots flags")


def strerror(err):
    """refpool's description of an errno (negative or positive)."""
    return lib.rp_strerror(int(err)).decode("utf-8", "replace")


def _check(ret):
    if ret < 0:
        # OSError(errno, text) makes the errno's subclass (PermissionError...)
        raise OSError(-ret, strerror(ret))
    return ret


def _uint(value, what):
    value = int(value)
    if value < 0:
        raise ValueError("%s must not be negative" % what)
    return value


def _in_buffer(data):
    """(argument for a const void * parameter, length) of a bytes-like."""
    if isinstance(data, bytes):
        # ctypes passes a pointer to the bytes' own buffer: no copy
        return (data if data else None), len(data)
    view = memoryview(data)
    if not view.c_contiguous:
        raise ValueError("the buffer must be contiguous")
    view = view.cast("B")
    if not view.nbytes:
        return None, 0
    if view.readonly:
        data = view.tobytes()
        return data, len(data)
    return (ctypes.c_char * view.nbytes).from_buffer(view), view.nbytes


def _token(token):
    """An _lib.Token from a token's text (32 hex digits) or 16 bytes."""
    if isinstance(token, _lib.Token):
        return token
    if isinstance(token, (bytes, bytearray, memoryview)) and len(token) == 16:
        tok = _lib.Token()
        ctypes.memmove(tok.bytes, bytes(token), 16)
        return tok
    if isinstance(token, str):
        token = token.encode("ascii", "replace")
    if not isinstance(token, (bytes, bytearray)):
        raise TypeError("a token is a str of 32 hex digits or 16 bytes")
    tok = _lib.Token()
    _check(lib.rp_token_from_str(bytes(token), ctypes.byref(tok)))
    return tok


def _token_str(tok):
    out = ctypes.create_string_buffer(33)
    _check(lib.rp_token_to_str(ctypes.byref(tok), out))
    return out.value.decode("ascii")


def _fileno(sock):
    return sock if isinstance(sock, int) else sock.fileno()


class Pool:
    """A session on /dev/refpool: ``rp_open()``, or ``rp_open_path(path)``.

    Opening fails with the OSError of open(2), with the path: for instance
    FileNotFoundError when the module is not loaded.

    Thread-safe: a pool may be shared by threads, and :meth:`close` while
    other threads are in a call takes effect when the last call returns.
    A forked child shares the session; closing it there closes only the
    child's file descriptor.
    """

    def __init__(self, path=None):
        p = ctypes.c_void_p()
        if path is None:
            ret = lib.rp_open(ctypes.byref(p))
            path = os.environ.get("REFPOOL_DEVICE") or "/dev/refpool"
        else:
            ret = lib.rp_open_path(os.fsencode(path), ctypes.byref(p))
        if ret < 0:
            # open(2)'s error, about the device node: the system's words
            raise OSError(-ret, os.strerror(-ret), os.fsdecode(path))
        self._p = p.value
        self._lock = threading.Lock()
        self._busy = 0
        self._closing = False

    # --- the session ----------------------------------------------------
    def _enter(self):
        with self._lock:
            if self._p is None or self._closing:
                raise ValueError("refpool.Pool is closed")
            self._busy += 1
            return self._p

    def _leave(self):
        with self._lock:
            self._busy -= 1
            last = self._closing and not self._busy
        if last:
            self._release()

    def _release(self):
        with self._lock:
            p, self._p = self._p, None
        if p is not None:
            lib.rp_close(p)

    def _call(self, fn, *args):
        """fn(pool, *args), with the pool kept open for the call."""
        p = self._enter()
        try:
            return fn(p, *args)
        finally:
            self._leave()

    @property
    def closed(self):
        """True once :meth:`close` was called."""
        return self._p is None or self._closing

    def close(self):
        """rp_close(): drop this process's fd of the session (idempotent).

        When it was the session's last fd, every handle the session held
        is dropped, and objects nothing else references are freed.
        """
        with self._lock:
            if self._p is None or self._closing:
                return
            self._closing = True
            now = not self._busy
        if now:
            self._release()

    def fileno(self):
        """rp_fd(): the session's file descriptor (still the pool's)."""
        return _check(self._call(lib.rp_fd))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self):
        if self.closed:
            return "<refpool.Pool closed>"
        return "<refpool.Pool fd=%d>" % self.fileno()

    # --- making objects -------------------------------------------------
    def _new(self, fn, *args):
        out = _lib.handle_t()
        ret = _check(self._call(fn, *(args + (ctypes.byref(out),))))
        return Object(self, out.value), ret

    def create(self, size_or_data, nslots=0, sealed=False):
        """A new object: rp_create() of a size (zero-filled) or
        rp_create_from() of a bytes-like object, with nslots reference
        slots; sealed=True makes it immutable from the start."""
        flags = SEALED if sealed else 0
        nslots = _uint(nslots, "nslots")
        if isinstance(size_or_data, int) and not isinstance(size_or_data, bool):
            size = _uint(size_or_data, "size")
            return self._new(lib.rp_create, size, nslots, flags)[0]
        data, length = _in_buffer(size_or_data)
        if not nslots:
            return self._new(lib.rp_create_from, data, length, flags)[0]
        # rp_create_from() has no slots: create, fill, then seal.
        obj = self._new(lib.rp_create, length, nslots, 0)[0]
        try:
            if length:
                obj.write(0, size_or_data)
            if sealed:
                obj.seal()
        except BaseException:
            obj.close()
            raise
        return obj

    def intern(self, data):
        """rp_intern(): the one live interned (sealed) object with exactly
        these bytes, created if there is none. ``obj.existed`` says which."""
        buf, length = _in_buffer(data)
        obj, existed = self._new(lib.rp_intern, buf, length)
        obj.existed = bool(existed)
        return obj

    def lookup(self, token):
        """rp_lookup(): the object a token (from :meth:`Object.publish` or
        :meth:`Object.pin`) names; FileNotFoundError once it is gone."""
        return self._new(lib.rp_lookup, ctypes.byref(_token(token)))[0]

    def unpin(self, token):
        """rp_unpin(): drop the reference a pinned token owns."""
        _check(self._call(lib.rp_unpin, ctypes.byref(_token(token))))

    def import_fd(self, fd):
        """rp_import(): a handle to the object of an exported fd (the fd
        stays the caller's to close)."""
        return self._new(lib.rp_import, _fileno(fd))[0]

    def recv(self, sock):
        """rp_recv(): an object another process sent with
        :meth:`Object.send` over a UNIX socket (a socket or its fd)."""
        out = _lib.handle_t()
        p = self._enter()
        try:
            _check(lib.rp_recv(_fileno(sock), p, ctypes.byref(out)))
        finally:
            self._leave()
        return Object(self, out.value)

    # --- the pool -------------------------------------------------------
    def gc(self):
        """rp_gc(): a full collection; returns how many objects it freed."""
        collected = ctypes.c_uint64()
        _check(self._call(lib.rp_gc, ctypes.byref(collected)))
        return collected.value

    def stats(self):
        """rp_stats(): the pool's counters and limits, and this session's
        and user's share, as a dict (keys: STATS_FIELDS)."""
        st = _lib.Stats()
        _check(self._call(lib.rp_stats, ctypes.byref(st)))
        return {name: getattr(st, name) for name in STATS_FIELDS}


class Object:
    """One handle of a :class:`Pool`: a strong reference to an object.

    Dropped by :meth:`close` (or :meth:`put`), at the end of a ``with``
    block, or when the wrapper is garbage-collected in the process that
    made it; the object itself lives while anything else references it.
    """

    def __init__(self, pool, handle):
        self._pool = pool
        self._h = handle
        self._pid = os.getpid()
        self._fixed = None  # (id, size, nslots): they never change
        self.existed = None

    def _handle(self):
        h = self._h
        if not h:
            raise ValueError("refpool.Object is closed")
        return h

    def _call(self, fn, *args):
        return self._pool._call(fn, self._handle(), *args)

    # --- lifetime -------------------------------------------------------
    @property
    def handle(self):
        """The handle number in the pool's session (0 once closed)."""
        return self._h

    @property
    def closed(self):
        return not self._h or self._pool.closed

    def close(self):
        """rp_put(): drop this handle (idempotent). The object goes with
        its last reference: handles, exported fds, mappings, links, pins."""
        h, self._h = self._h, 0
        if not h:
            return
        try:
            p = self._pool._enter()
        except ValueError:
            return  # the session, and with it the handle, is gone
        try:
            _check(lib.rp_put(p, h))
        finally:
            self._pool._leave()

    put = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # A forked child shares the session: only the process that made
        # the wrapper drops its handle implicitly.
        try:
            if self._h and self._pid == os.getpid():
                self.close()
        except Exception:  # a handle dropped behind our back; shutdown
            pass

    def __repr__(self):
        if self.closed:
            return "<refpool.Object closed>"
        i = self.info()
        return "<refpool.Object id=%d size=%d refs=%d nslots=%d%s%s>" % (
            i.id,
            i.size,
            i.refs,
            i.nslots,
            " sealed" if i.flags & SEALED else "",
            " interned" if i.flags & INTERNED else "",
        )

    # --- what it is -----------------------------------------------------
    def info(self):
        """rp_info(): ObjectInfo(id, size, refs, nslots, flags)."""
        info = _lib.Info()
        _check(self._call(lib.rp_info, ctypes.byref(info)))
        self._fixed = (info.id, info.size, info.nslots)
        return ObjectInfo(info.id, info.size, info.refs, info.nslots, info.flags)

    def _fixed_info(self, i):
        if self._fixed is None:
            self.info()
        return self._fixed[i]

    @property
    def id(self):
        """Unique while the module is loaded; equal ids: the same object."""
        return self._fixed_info(0)

    @property
    def size(self):
        """Payload bytes."""
        return self._fixed_info(1)

    @property
    def nslots(self):
        """Reference slots."""
        return self._fixed_info(2)

    @property
    def refs(self):
        """Strong references now: handles, exported files, links, pins,
        plus what mappings contribute."""
        return self.info().refs

    @property
    def flags(self):
        """SEALED and INTERNED bits."""
        return self.info().flags

    @property
    def sealed(self):
        return bool(self.flags & SEALED)

    @property
    def interned(self):
        return bool(self.flags & INTERNED)

    def __len__(self):
        return self.size

    def __bytes__(self):
        return self.read()

    # --- contents -------------------------------------------------------
    def readinto(self, buf, off=0):
        """rp_read() into a writable bytes-like object; returns the count
        (short at the end of the payload, 0 at or past it)."""
        off = _uint(off, "off")
        view = memoryview(buf).cast("B")
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        n = view.nbytes
        arr = (ctypes.c_char * n).from_buffer(view) if n else None
        return _check(self._call(lib.rp_read, off, arr, n))

    def read(self, off=0, n=None):
        """rp_read(): up to n bytes from off (to the end if n is None)."""
        off = _uint(off, "off")
        if n is None:
            n = max(self.size - off, 0)
        buf = bytearray(_uint(n, "n"))
        got = self.readinto(buf, off)
        del buf[got:]
        return bytes(buf)

    def write(self, off, data):
        """rp_write(): all of data at off, or nothing (ERANGE past the end,
        PermissionError when sealed). Returns the count."""
        off = _uint(off, "off")
        buf, length = _in_buffer(data)
        return _check(self._call(lib.rp_write, off, buf, length))

    def seal(self):
        """rp_seal(): immutable from now on (EBUSY while a writable
        mapping exists)."""
        _check(self._call(lib.rp_seal))

    def map(self, writable=True):
        """The whole payload as a zero-copy memoryview over a MAP_SHARED
        mapping (read-only if writable is False).

        The mapping is made from an exported fd with :mod:`mmap`, so the
        memoryview keeps it alive and it cannot be unmapped under the
        view: it is unmapped when the view is released (``with`` block or
        ``release()``) and no other view of it is left. Like rp_map(), it
        keeps the object alive after every handle is gone."""
        size = self.size
        if not size:
            raise OSError(_errno.EINVAL, strerror(_errno.EINVAL))
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        fd = self.export()
        try:
            m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=prot)
        except OSError as e:
            raise OSError(e.errno, strerror(e.errno)) from None
        finally:
            os.close(fd)
        return memoryview(m)

    # --- references -----------------------------------------------------
    def dup(self):
        """rp_dup(): another handle to the same object."""
        return self._pool._new(lib.rp_dup, self._handle())[0]

    def link(self, slot, child):
        """rp_link(): slot owns a reference to child (an Object), or is
        emptied when child is None."""
        child_h = 0 if child is None else child._handle()
        _check(self._call(lib.rp_link, _uint(slot, "slot"), child_h))

    def get_link(self, slot):
        """rp_get_link(): a new Object for the slot's child, or None when
        the slot is empty."""
        try:
            return self._pool._new(
                lib.rp_get_link, self._handle(), _uint(slot, "slot")
            )[0]
        except FileNotFoundError:
            return None

    # --- sharing --------------------------------------------------------
    def publish(self):
        """rp_publish(): a weak token (32 hex digits) any process of this
        IPC namespace can Pool.lookup() while the object lives."""
        tok = _lib.Token()
        _check(self._call(lib.rp_publish, ctypes.byref(tok)))
        return _token_str(tok)

    def pin(self):
        """rp_pin(): a token that owns a reference until Pool.unpin()."""
        tok = _lib.Token()
        _check(self._call(lib.rp_pin, ctypes.byref(tok)))
        return _token_str(tok)

    def export(self):
        """rp_export(): a new O_CLOEXEC fd that owns a reference; the
        caller closes it (os.close)."""
        fd = ctypes.c_int(-1)
        _check(self._call(lib.rp_export, ctypes.byref(fd)))
        return fd.value

    def send(self, sock):
        """rp_send(): pass the object over a UNIX socket (a socket or its
        fd); the peer gets it with Pool.recv()."""
        h = self._handle()
        p = self._pool._enter()
        try:
            _check(lib.rp_send(_fileno(sock), p, h))
        finally:
            self._pool._leave()
