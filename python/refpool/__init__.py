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

On top of that: :class:`SharedMemory`, a drop-in for
``multiprocessing.shared_memory.SharedMemory`` that nothing can leak;
:meth:`Object.ndarray`, a numpy array over an object's pages;
:func:`dumps` and :func:`loads`, pickle protocol 5 with every out-of-band
buffer in a sealed object of its own, so that a whole value, numpy arrays
included, is one object that other processes map without a copy; and
``Object`` pickles, through multiprocessing's queues, pipes and pools.
Lifecycle events, as :class:`weakref.finalize` and :data:`gc.callbacks`
but across processes: :meth:`Pool.watch` calls back, on a thread of the
pool's, when an object any process holds is freed or sealed, and
``await`` :meth:`Pool.wait` waits for it in asyncio.

Every failure of a library call raises :class:`OSError` (or its subclass
for the errno, such as ``PermissionError`` for a sealed object) with the
errno the library returned and :func:`strerror`'s text. Using a closed
pool or object raises :class:`ValueError`.

The library is found through ``$REFPOOL_LIB`` (ignored under ``python -E``
or ``-I`` and in setuid/setgid processes), then where ``make install`` put
it or the build tree this package sits in, then the dynamic linker's
search (see ``refpool._lib``).
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
    "Event",
    "Watch",
    "SharedMemory",
    "dumps",
    "loads",
    "default_pool",
    "strerror",
    "SEALED",
    "INTERNED",
    "EV_FREED",
    "EV_SEALED",
    "EV_GC",
    "STATS_FIELDS",
    "__version__",
]

SEALED = 1 << 0  #: the object is immutable (RP_SEALED)
INTERNED = 1 << 1  #: the object is in the intern table (RP_INTERNED)

#: the keys of :meth:`Pool.stats`, in the order of struct rp_stats
STATS_FIELDS = _lib.STATS_FIELDS

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


# --- the bytes of a bytes-like object, without a copy ---------------------------
class _PyBuffer(ctypes.Structure):
    """Py_buffer, as PyObject_GetBuffer() fills it."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_PyObject_GetBuffer = ctypes.pythonapi.PyObject_GetBuffer
_PyObject_GetBuffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_PyObject_GetBuffer.restype = ctypes.c_int
_PyBuffer_Release = ctypes.pythonapi.PyBuffer_Release
_PyBuffer_Release.argtypes = [ctypes.POINTER(_PyBuffer)]
_PyBuffer_Release.restype = None
_PyBUF_SIMPLE = 0  # contiguous bytes, read-only is fine
_PyBUF_WRITABLE = 1


class _Bytes:
    """``with _Bytes(data) as (ptr, n)``: the address and length of a
    C-contiguous bytes-like object's memory, held (the exporter cannot
    resize or free it) for the block. ctypes' from_buffer() takes only
    writable buffers, so a read-only one (bytes, a read-only numpy array,
    a sealed object's mapping) would otherwise be copied first."""

    __slots__ = ("_data", "_writable", "_view")

    def __init__(self, data, writable=False):
        self._data = data
        self._writable = writable
        self._view = None

    def __enter__(self):
        data = self._data
        if isinstance(data, bytes) and not self._writable:
            # ctypes passes the bytes' own buffer: no copy, nothing to hold
            return (data if data else None), len(data)
        view = _PyBuffer()
        flags = _PyBUF_WRITABLE if self._writable else _PyBUF_SIMPLE
        try:
            _PyObject_GetBuffer(data, ctypes.byref(view), flags)
        except BufferError as e:
            if self._writable:
                raise TypeError("a writable contiguous buffer is needed: %s" % e) from None
            raise ValueError("the buffer must be contiguous: %s" % e) from None
        self._view = view
        return (view.buf if view.len else None), view.len

    def __exit__(self, *exc):
        view, self._view = self._view, None
        if view is not None:
            _PyBuffer_Release(ctypes.byref(view))


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


class _Guard:
    """Calls in flight on something that close() must not pull from under
    them: close() while calls run only marks it closing, and the last call
    to leave releases it. So a call never reaches a handle (or session)
    that another thread has already given back."""

    def __init__(self):
        self._lock = threading.Lock()
        self._busy = 0
        self._closing = False

    def _enter(self):
        with self._lock:
            if self._closing or not self._live():
                raise ValueError("%s is closed" % self._what)
            self._busy += 1

    def _leave(self):
        with self._lock:
            self._busy -= 1
            last = self._closing and not self._busy
        if last:
            self._release(False)

    def _begin_close(self):
        """True when the caller is to release now, False when it is
        closed already or the last call in flight will release it."""
        with self._lock:
            if self._closing or not self._live():
                return False
            self._closing = True
            return not self._busy


class Pool(_Guard):
    """A session on /dev/refpool: ``rp_open()``, or ``rp_open_path(path)``.

    Opening fails with the OSError of open(2), with the path: for instance
    FileNotFoundError when the module is not loaded.

    Thread-safe: a pool may be shared by threads, and :meth:`close` while
    other threads are in a call takes effect when the last call returns.
    A forked child shares the session; closing it there closes only the
    child's file descriptor. A pool cannot be pickled: each process opens
    its own (objects that travel land in :func:`default_pool`).
    """

    _what = "refpool.Pool"

    def __init__(self, path=None):
        _Guard.__init__(self)
        self._p = None
        self._pid = os.getpid()
        self._events = None  # the event dispatcher, made by the first watch or wait
        p = ctypes.c_void_p()
        if path is None:
            ret = lib.rp_open(ctypes.byref(p))
            path = _lib.secure_getenv("REFPOOL_DEVICE") or "/dev/refpool"
        else:
            ret = lib.rp_open_path(os.fsencode(path), ctypes.byref(p))
        if ret < 0:
            # open(2)'s error, about the device node: the system's words
            raise OSError(-ret, os.strerror(-ret), os.fsdecode(path))
        self._p = p.value

    # --- the session ----------------------------------------------------
    def _live(self):
        return self._p is not None

    def _release(self, _now):
        with self._lock:
            p, self._p = self._p, None
        if p is not None:
            lib.rp_close(p)

    def _call(self, fn, *args):
        """fn(pool, *args), with the pool kept open for the call."""
        self._enter()
        try:
            return fn(self._p, *args)
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
        Every watch of the pool ends with it: no callback starts after
        ``close()`` returns (it waits for one that runs on the pool's
        thread), and every ``wait()`` raises ValueError.
        """
        events = self._events
        if events is not None:
            # before the session can go: the thread polls its fd
            events.stop()
        if self._begin_close():
            self._release(True)

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

    def __reduce__(self):
        raise TypeError(
            "a refpool.Pool cannot be pickled: a session is this process's; "
            "pickle its Objects instead"
        )

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
        if not nslots:
            with _Bytes(size_or_data) as (ptr, length):
                return self._new(lib.rp_create_from, ptr, length, flags)[0]
        # rp_create_from() has no slots: create, fill, then seal.
        with _Bytes(size_or_data) as (ptr, length):
            obj = self._new(lib.rp_create, length, nslots, 0)[0]
            try:
                if length:
                    obj._write_ptr(0, ptr, length)
                if sealed:
                    obj.seal()
            except BaseException:
                obj.close()
                raise
        return obj

    def intern(self, data):
        """rp_intern(): the one live interned (sealed) object with exactly
        these bytes, created if there is none. ``obj.existed`` says which."""
        with _Bytes(data) as (ptr, length):
            obj, existed = self._new(lib.rp_intern, ptr, length)
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
        self._enter()
        try:
            _check(lib.rp_recv(_fileno(sock), self._p, ctypes.byref(out)))
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
        _check(self._call(lib.rp_stats_sz, ctypes.byref(st), ctypes.sizeof(st)))
        return {name: getattr(st, name) for name in STATS_FIELDS}

    # --- lifecycle events (see _events.py) ------------------------------------
    def _dispatcher(self):
        if self._pid != os.getpid():
            raise RuntimeError(
                "this refpool.Pool is the parent's session in a forked child: "
                "its events are the parent's; open a Pool of the child's own"
            )
        with self._lock:
            if self._closing or not self._live():
                raise ValueError("%s is closed" % self._what)
            if self._events is None:
                self._events = _events.Dispatcher(self)
            return self._events

    def watch(self, target, events, callback):
        """Call callback(event) when target is freed or sealed, in this
        process, as :class:`weakref.finalize` does, but for an object any
        process may hold: rp_watch() or rp_watch_token().

        target is an :class:`Object` (of any pool), or a token string
        (:meth:`Object.publish`, from any process or user), with events
        :data:`EV_FREED`, :data:`EV_SEALED` or both; or None with
        :data:`EV_GC`, as :data:`gc.callbacks`: a call per finished
        collection. The watch is weak: it never keeps the object alive.

        The callback gets an :class:`Event` (``.events``: one bit,
        ``.id``, ``.target``), once per event watched, SEALED before
        FREED; it runs on the pool's thread (started by the first watch, a
        daemon) with no further call from the program, soon after the
        event is queued. An exception it raises goes to
        :func:`sys.unraisablehook` (printed, by default, as an exception
        in a ``__del__`` is) and the thread goes on.

        Returns a :class:`Watch` (``.cancel()``, ``.alive``). The watch
        lasts while the pool is open: closing the pool ends it, and a
        SEALED-only watch of an object freed unsealed ends without a call.
        A token that names no live object is FileNotFoundError (a token
        cannot tell "freed" from "never was": the caller decides); a
        closed Object is ValueError; OSError(EDQUOT) when the user's
        limit is reached. An Object watched is published (its token, one
        per object and namespace, is how the binding checks it again after
        the event queue overflowed). In a forked child, a pool inherited
        from the parent is RuntimeError: it is the parent's session.
        """
        if not callable(callback):
            raise TypeError("callback must be callable")
        disp = self._dispatcher()
        w = disp.add(self, target, events, callback=callback)
        try:
            disp.start_thread(self)
        except BaseException:
            w.cancel()
            raise
        return w

    async def wait(self, target, events, timeout=None):
        """Wait, in asyncio, for the first of events to happen to target
        (as :meth:`watch` takes them), and return its :class:`Event`.

        No thread: the running loop reads the session's fd
        (``loop.add_reader``) while a wait is pending. After timeout
        seconds, asyncio.TimeoutError (TimeoutError since Python 3.11).
        FileNotFoundError when the object is freed before any of events
        (a wait for EV_SEALED of an object freed unsealed), or when a
        token names no live object; ValueError if the pool closes.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        disp = self._dispatcher()
        w = disp.add(self, target, events, waiter=(loop, fut))
        try:
            disp.reader_add(loop, self)
            try:
                if timeout is None:
                    return await fut
                return await asyncio.wait_for(fut, timeout)
            finally:
                disp.reader_drop(loop, self)
        finally:
            disp.drop(w)


# --- the pool objects travel to -------------------------------------------------
_default_lock = threading.Lock()
_default = None  # (pid, Pool)


def _forget_default_in_child():
    global _default_lock, _default
    # The parent's session stays open in the child (its Objects use it);
    # what the child makes from now on belongs to a session of its own.
    _default_lock = threading.Lock()
    _default = None


os.register_at_fork(after_in_child=_forget_default_in_child)


def default_pool():
    """This process's own session, opened on first use: where unpickled
    :class:`Object` s and :class:`SharedMemory` segments get their handles.

    A forked child gets a new one on first use rather than sharing its
    parent's, so that what the child holds dies with the child. Closing it
    is allowed; the next use opens another.
    """
    global _default
    with _default_lock:
        cur = _default
        if cur is None or cur[0] != os.getpid() or cur[1].closed:
            cur = _default = (os.getpid(), Pool())
        return cur[1]


class Object(_Guard):
    """One handle of a :class:`Pool`: a strong reference to an object.

    Dropped by :meth:`close` (or :meth:`put`), at the end of a ``with``
    block, or when the wrapper is garbage-collected in the process that
    made it; the object itself lives while anything else references it.

    Thread-safe as :class:`Pool` is: :meth:`close` while other threads are
    in a call on this object drops the handle when the last call returns,
    so no call ever acts on a handle number that was given back.

    An ``Object`` pickles (see ``python/README.md``, "Objects through
    multiprocessing"): through multiprocessing's queues, pipes, pools and
    process arguments, it travels as a file descriptor and the receiver
    gets its own handle, in its :func:`default_pool`. Plain :mod:`pickle`
    has no way to carry a descriptor: there it is a weak token, which the
    receiver can look up while the object lives.
    """

    _what = "refpool.Object"

    def __init__(self, pool, handle):
        _Guard.__init__(self)
        self._pool = pool
        self._h = handle
        self._pid = os.getpid()
        self._fixed = None  # (id, size, nslots): they never change
        self.existed = None

    def _live(self):
        return bool(self._h)

    def _release(self, now):
        """rp_put() the handle; errors are raised only when called by
        close() itself, not by the last call in flight."""
        with self._lock:
            h, self._h = self._h, 0
        if not h:
            return
        try:
            self._pool._enter()
        except ValueError:
            return  # the session, and with it the handle, is gone
        try:
            ret = lib.rp_put(self._pool._p, h)
        finally:
            self._pool._leave()
        if now:
            _check(ret)

    def _call(self, fn, *args):
        """fn(pool, handle, *args), with the handle and pool kept."""
        self._enter()
        try:
            return self._pool._call(fn, self._h, *args)
        finally:
            self._leave()

    # --- lifetime -------------------------------------------------------
    @property
    def handle(self):
        """The handle number in the pool's session (0 once closed)."""
        return 0 if self._closing else self._h

    @property
    def pool(self):
        """The :class:`Pool` whose session holds the handle."""
        return self._pool

    @property
    def closed(self):
        return self._closing or not self._h or self._pool.closed

    def close(self):
        """rp_put(): drop this handle (idempotent). The object goes with
        its last reference: handles, exported fds, mappings, links, pins."""
        if self._begin_close():
            self._release(True)

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
        _check(self._call(lib.rp_info_sz, ctypes.byref(info), ctypes.sizeof(info)))
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
        with _Bytes(buf, writable=True) as (ptr, n):
            return _check(self._call(lib.rp_read, off, ptr, n))

    def read(self, off=0, n=None):
        """rp_read(): up to n bytes from off (to the end if n is None)."""
        off = _uint(off, "off")
        if n is None:
            n = max(self.size - off, 0)
        buf = bytearray(_uint(n, "n"))
        got = self.readinto(buf, off)
        del buf[got:]
        return bytes(buf)

    def _write_ptr(self, off, ptr, length):
        return _check(self._call(lib.rp_write, off, ptr, length))

    def write(self, off, data):
        """rp_write(): all of data at off, or nothing (ERANGE past the end,
        PermissionError when sealed). Returns the count."""
        off = _uint(off, "off")
        with _Bytes(data) as (ptr, length):
            return self._write_ptr(off, ptr, length)

    def seal(self):
        """rp_seal(): immutable from now on (EBUSY while a writable
        mapping exists)."""
        _check(self._call(lib.rp_seal))

    def _mmap(self, writable, size=None):
        """An mmap.mmap of the whole payload (MAP_SHARED)."""
        if size is None:
            size = self.size
        if not size:
            raise OSError(_errno.EINVAL, strerror(_errno.EINVAL))
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        fd = self.export()
        try:
            return mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=prot)
        except OSError as e:
            raise OSError(e.errno, strerror(e.errno)) from None
        finally:
            os.close(fd)

    def map(self, writable=True):
        """The whole payload as a zero-copy memoryview over a MAP_SHARED
        mapping (read-only if writable is False).

        The mapping is made from an exported fd with :mod:`mmap`, so the
        memoryview keeps it alive and it cannot be unmapped under the
        view: it is unmapped when the view is released (``with`` block or
        ``release()``) and no other view of it is left. Like rp_map(), it
        keeps the object alive after every handle is gone."""
        return memoryview(self._mmap(writable))

    def ndarray(self, dtype, shape=None):
        """A numpy array over the object's pages: no copy; read-only when
        the object is sealed, writable (MAP_SHARED: every process mapping
        it sees the writes) otherwise.

        shape None is one dimension over the whole payload (whose size
        must then be a multiple of the dtype's); a given shape may use
        less than the payload, never more. The array keeps its mapping,
        and so the object, alive until it is collected, handles or not.
        numpy is imported on the first call, not with refpool.
        """
        import numpy

        dtype = numpy.dtype(dtype)
        info = self.info()
        if shape is None:
            if not dtype.itemsize or info.size % dtype.itemsize:
                raise ValueError(
                    "%d bytes are not a whole number of %s items (%d bytes each)"
                    % (info.size, dtype, dtype.itemsize)
                )
            shape = (info.size // dtype.itemsize,)
        sealed = bool(info.flags & SEALED)
        if info.size:
            buf = memoryview(self._mmap(not sealed, info.size))
        else:
            buf = b"" if sealed else bytearray()
        return numpy.ndarray(shape, dtype, buffer=buf)

    # --- references -----------------------------------------------------
    def dup(self):
        """rp_dup(): another handle to the same object."""
        self._enter()
        try:
            return self._pool._new(lib.rp_dup, self._h)[0]
        finally:
            self._leave()

    def link(self, slot, child):
        """rp_link(): slot owns a reference to child (an Object), or is
        emptied when child is None."""
        slot = _uint(slot, "slot")
        if child is None:
            _check(self._call(lib.rp_link, slot, 0))
            return
        child._enter()
        try:
            _check(self._call(lib.rp_link, slot, child._h))
        finally:
            child._leave()

    def get_link(self, slot):
        """rp_get_link(): a new Object for the slot's child, or None when
        the slot is empty."""
        slot = _uint(slot, "slot")
        self._enter()
        try:
            return self._pool._new(lib.rp_get_link, self._h, slot)[0]
        except FileNotFoundError:
            return None
        finally:
            self._leave()

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
        self._enter()
        try:
            _check(self._pool._call(lambda p, h: lib.rp_send(_fileno(sock), p, h), self._h))
        finally:
            self._leave()

    # --- pickling (see _reduce.py) ----------------------------------------
    def __reduce__(self):
        from ._reduce import reduce_weak

        return reduce_weak(self)


def _version():
    try:
        from ._build import version
    except ImportError:
        # The source tree: the Makefile's VERSION is the one place it is set.
        here = os.path.dirname(os.path.abspath(__file__))
        try:
            with open(os.path.join(here, os.pardir, os.pardir, "Makefile")) as f:
                for line in f:
                    if line.startswith("VERSION :="):
                        return line.split(":=", 1)[1].strip()
        except OSError:
            pass
        return "0+unknown"
    return version


#: the package's version: the library's (the Makefile's VERSION)
__version__ = _version()

from . import _events  # noqa: E402
from . import _reduce  # noqa: E402  (registers Object with multiprocessing)
from ._events import EV_FREED, EV_GC, EV_SEALED, Event, Watch  # noqa: E402
from ._pickle import dumps, loads  # noqa: E402
from .shared_memory import SharedMemory  # noqa: E402
