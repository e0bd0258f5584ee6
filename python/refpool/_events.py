# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Lifecycle events: :meth:`Pool.watch` and ``await`` :meth:`Pool.wait`.

One dispatcher per :class:`Pool` reads the session's event queue and
routes each event by its cookie, a counter the dispatcher maps to the
watch that asked for it, whoever reads: the pool's thread (started by the
first :meth:`Pool.watch`) or an asyncio loop (a reader that
:meth:`Pool.wait` adds on the session's fd). So neither steals the
other's events. Callbacks always run on the thread, in the order the
events were read; a waiter's future is settled in its own loop.

Reading never blocks (``rp_read_events`` with a timeout of 0): the thread
polls the session's fd and a pipe that wakes it, and a loop polls the fd
itself. The dispatcher's lock is held from reading to routing, so events
are routed in the kernel's order whoever reads them.

What the kernel promises, and what the dispatcher makes of it:

- A watch of an object always includes ``EV_FREED`` in the kernel: that is
  how the dispatcher learns it can forget a ``EV_SEALED``-only watch of
  an object freed unsealed (its ``EV_SEALED`` can never come).
- ``EV_OVERFLOW`` (queue full, events dropped): every pending watch of an
  object is checked by hand, through its token (a watched ``Object`` is
  published for that): ``-ENOENT`` is freed, ``RP_SEALED`` in its info is
  sealed, and what happened fires. An event both found and later read
  fires once. A freed object's dropped ``EV_SEALED`` cannot be found again.
- A forked child shares its parent's session, and so its event queue:
  a pool the child inherited never reads events there (it would take the
  parent's); ``watch`` and ``wait`` on it raise ``RuntimeError``.
"""

import atexit
import collections
import ctypes
import errno as _errno
import os
import select
import sys
import threading
import traceback
import weakref

from . import SEALED, Object, _check, _lib, _token, _token_str
from ._lib import lib

EV_FREED = 1 << 0  #: the object was freed (RP_EV_FREED)
EV_SEALED = 1 << 1  #: the object is sealed (RP_EV_SEALED)
EV_GC = 1 << 2  #: a collection finished (RP_EV_GC, with target None)
_EV_OVERFLOW = 1 << 31
_EV_OBJECT = EV_FREED | EV_SEALED

# Events taken per rp_read_events() call (the kernel takes at most 4096).
_READ_BATCH = 256

_NAMES = ((EV_FREED, "FREED"), (EV_SEALED, "SEALED"), (EV_GC, "GC"))

_CALLBACK_ERROR = "Exception ignored in refpool watch callback"

# Dispatchers whose thread was started: stopped at exit (see _stop_at_exit).
_threaded = weakref.WeakSet()


class Event(collections.namedtuple("Event", "events id target")):
    """One lifecycle event, as a watch's callback gets it and ``await
    Pool.wait()`` returns it.

    - ``events``: one bit, :data:`EV_FREED`, :data:`EV_SEALED` or
      :data:`EV_GC`;
    - ``id``: the object's id (for :data:`EV_GC`: how many objects the
      collection freed); None only for a watch by token whose object was
      found freed after an overflow before any event told its id;
    - ``target``: what was watched: the token string for a watch by token;
      for an :class:`Object`, that ``Object`` while the wrapper exists and
      is open (the watch does not keep it: a freed object's is closed),
      else None; None for :data:`EV_GC`.
    """

    __slots__ = ()


class _UnraisableArgs(
    collections.namedtuple("_UnraisableArgs", "exc_type exc_value exc_traceback err_msg object")
):
    """What sys.unraisablehook is given (CPython's own type cannot be made
    from Python: its default hook is imitated instead)."""

    __slots__ = ()


def _report(exc, obj, msg=_CALLBACK_ERROR):
    """An exception nobody can catch, reported as Python reports one in a
    weakref callback or __del__: through sys.unraisablehook."""
    args = _UnraisableArgs(type(exc), exc, exc.__traceback__, msg, obj)
    hook = getattr(sys, "unraisablehook", None)
    if hook is not None and hook is not getattr(sys, "__unraisablehook__", None):
        try:
            hook(args)
            return
        except BaseException:  # a broken hook: say it the default way
            pass
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write("%s: %r\n" % (msg, obj))
        traceback.print_exception(args.exc_type, args.exc_value, args.exc_traceback, file=stream)
        stream.flush()
    except Exception:
        pass


def _settle(fut, result, exc):
    if fut.done():  # cancelled: timed out, or its task was
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


def _poke(fd):
    try:
        os.write(fd, b"\0")
    except (BlockingIOError, OSError):  # full: it will wake anyway
        pass


class Watch:
    """What :meth:`Pool.watch` returns, as :class:`weakref.finalize`
    does: ``cancel()`` and ``alive``.

    The kernel has no way to take a watch back: a cancelled watch stays
    there (and charged) until its object dies or the pool closes, and the
    binding drops its events.
    """

    __slots__ = (
        "_disp",
        "_cookie",
        "_want",
        "_got",
        "_target",
        "_token",
        "_id",
        "_callback",
        "_waiter",
        "_alive",
        "_cancelled",
        "__weakref__",
    )

    def __init__(self, disp, want, target, token, ident, callback, waiter):
        self._disp = disp
        self._cookie = 0
        self._want = want
        self._got = 0
        self._target = target  # weakref.ref to the Object, the token str, or None
        self._token = token  # _lib.Token to re-check after an overflow, or None
        self._id = ident
        self._callback = callback
        self._waiter = waiter  # (loop, future) of a Pool.wait(), or None
        self._alive = True
        self._cancelled = False

    @property
    def alive(self):
        """True while an event the watch waits for may still come: False
        once its last one has come (its call may still be running, or
        about to), after :meth:`cancel`, or once the pool is closed."""
        return self._alive

    @property
    def events(self):
        """The events watched (EV_FREED, EV_SEALED, both, or EV_GC)."""
        return self._want

    @property
    def target(self):
        """As :attr:`Event.target`."""
        t = self._target
        if not isinstance(t, weakref.ref):
            return t
        # A closed wrapper is of no use; and one being collected is still
        # reachable from its weakref while its __del__ runs (and drops the
        # handle: the FREED may be read then), which returning it would
        # resurrect.
        obj = t()
        return obj if obj is not None and not obj.closed else None

    def cancel(self):
        """No call of the callback starts after this returns (one that is
        running goes on). Returns whether the watch was alive."""
        return self._disp.drop(self)

    def __repr__(self):
        names = [n for bit, n in _NAMES if self._want & bit]
        return "<refpool.Watch %s%s%s>" % (
            "|".join(names),
            "" if self._id is None else " id=%d" % self._id,
            "" if self._alive else " dead",
        )

    def _event(self, bit, ident):
        if bit == EV_GC:
            return Event(EV_GC, ident, None)
        return Event(bit, ident, self.target)


class Dispatcher:
    """The event reader and router of one Pool (see the module's text).

    It refers to its pool weakly: the thread must never keep a pool alive
    (a pool nobody uses closes, and its watches with it). Pool.close()
    stops it before the session can be released.
    """

    def __init__(self, pool):
        self._pool = weakref.ref(pool)
        self._pid = os.getpid()
        # Reentrant: whatever runs under it (a garbage collection that
        # closes a pool included) cannot deadlock a thread against itself.
        self._lock = threading.RLock()
        self._watches = {}  # cookie -> Watch, while alive
        self._cookie = 0
        self._calls = collections.deque()  # (Watch, bit, id) for the thread
        self._thread = None
        self._wake = None  # (read, write) ends of the pipe that wakes the thread
        self._thread_closes_wake = False
        self._in_callback = False  # the thread runs a callback
        self._stopping = False
        self._readers = {}  # asyncio loop -> [waiters, fd]
        self._buf = (_lib.Event * _READ_BATCH)()

    # --- watches --------------------------------------------------------
    def add(self, pool, target, events, callback=None, waiter=None):
        """A Watch of target, armed in the kernel with a new cookie."""
        if os.getpid() != self._pid:
            raise RuntimeError(
                "this refpool.Pool is the parent's session in a forked child: "
                "its events are the parent's; open a Pool of the child's own"
            )
        if isinstance(events, bool) or not isinstance(events, int):
            raise TypeError("events is an int: refpool.EV_FREED, EV_SEALED or EV_GC")
        tok = None
        ident = None
        if target is None:
            if events != EV_GC:
                raise ValueError("with target None, events must be refpool.EV_GC")
            kernel = EV_GC
            ref = None
        else:
            if not events or events & ~_EV_OBJECT:
                raise ValueError("events must be refpool.EV_FREED, refpool.EV_SEALED or both")
            # FREED always: it ends every watch of the object
            kernel = events | EV_FREED
            if isinstance(target, Object):
                # a token to re-check it by after an overflow (publishing
                # again returns the same token)
                tok = _lib.Token()
                _check(target._call(lib.rp_publish, ctypes.byref(tok)))
                ident = target.id
                ref = weakref.ref(target)
            else:
                tok = _token(target)
                ref = _token_str(tok)
        w = Watch(self, events, ref, tok, ident, callback, waiter)
        with self._lock:
            if self._stopping:
                raise ValueError("refpool.Pool is closed")
            self._cookie += 1
            w._cookie = cookie = self._cookie
            # in the map before the kernel has it: its first event may be
            # read by the thread before rp_watch() returns here
            self._watches[cookie] = w
        try:
            if target is None:
                ret = pool._call(lib.rp_watch, 0, EV_GC, cookie)
            elif isinstance(target, Object) and target.pool is pool:
                ret = target._call(lib.rp_watch, kernel, cookie)
            else:
                ret = pool._call(lib.rp_watch_token, ctypes.byref(tok), kernel, cookie)
            _check(ret)
        except BaseException:
            self.drop(w)
            raise
        return w

    def drop(self, w):
        """Forget a watch: whatever comes for it is ignored."""
        if os.getpid() != self._pid:
            # a forked child's copy: the lock may have been held at fork
            alive, w._alive, w._cancelled = w._alive, False, True
            return alive
        with self._lock:
            alive = w._alive
            w._alive = False
            w._cancelled = True
            if self._watches.get(w._cookie) is w:
                del self._watches[w._cookie]
        return alive

    # --- routing (under the lock) ------------------------------------------
    def _finish(self, w):
        w._alive = False
        if self._watches.get(w._cookie) is w:
            del self._watches[w._cookie]

    def _route(self, cookie, bit, ident, loop):
        """Hand one event to its watch. loop: the asyncio loop reading, or
        None for the thread (or a re-check outside any loop)."""
        w = self._watches.get(cookie)
        if w is None:  # cancelled, finished, or a kernel watch the binding no longer needs
            return
        if bit == EV_GC:
            if w._want != EV_GC:
                return
            if w._waiter is not None:
                self._finish(w)
                self._resolve(w, w._event(EV_GC, ident), None, loop)
            else:
                self._queue(w, EV_GC, ident, loop)
            return
        if not bit & _EV_OBJECT or w._want == EV_GC or w._got & bit:
            return  # once each: a re-check may have fired it already
        w._got |= bit
        if ident:
            w._id = ident
        ident = w._id
        if w._waiter is not None:
            if bit & w._want:
                self._finish(w)
                self._resolve(w, w._event(bit, ident), None, loop)
            elif bit == EV_FREED:
                self._finish(w)
                gone = FileNotFoundError(_errno.ENOENT, "the object was freed unsealed")
                self._resolve(w, None, gone, loop)
            return
        if bit == EV_FREED or not w._want & ~w._got:
            self._finish(w)  # nothing it waits for can come any more
        if bit & w._want:
            self._queue(w, bit, ident, loop)

    def _queue(self, w, bit, ident, loop):
        # the Event is made when its call starts: an Object it names is
        # not kept alive (with its handle) while the call waits its turn
        self._calls.append((w, bit, ident))
        if loop is not None and self._wake is not None:
            _poke(self._wake[1])

    @staticmethod
    def _resolve(w, result, exc, loop):
        wloop, fut = w._waiter
        if wloop is loop:
            _settle(fut, result, exc)
            return
        try:
            wloop.call_soon_threadsafe(_settle, fut, result, exc)
        except RuntimeError:  # that loop is closed: nobody waits any more
            pass

    # --- reading --------------------------------------------------------
    def _pump(self, pool, loop):
        """Take every queued event and route it. ValueError when the pool
        is closing."""
        overflow = False
        with self._lock:
            if self._stopping:
                return
            buf = self._buf
            while True:
                n = _check(pool._call(lib.rp_read_events, buf, _READ_BATCH, 0))
                for i in range(n):
                    e = buf[i]
                    if e.events == _EV_OVERFLOW:
                        overflow = True
                    else:
                        self._route(e.cookie, e.events, e.id, loop)
                if n < _READ_BATCH:
                    break
            if overflow:
                pending = [w for w in self._watches.values() if w._token is not None]
        if overflow:
            self._recheck(pool, pending, loop)

    def _recheck(self, pool, pending, loop):
        """After an overflow: what happened to each pending watch's object,
        asked of the kernel through its token, fires now. Queueing resumed
        when the overflow was read, so what happens from now on is queued
        as usual (and fires once: _route drops what already fired)."""
        found = []
        for w in pending:
            h = _lib.handle_t()
            ret = pool._call(lib.rp_lookup, ctypes.byref(w._token), ctypes.byref(h))
            if ret == -_errno.ENOENT:
                found.append((w, EV_FREED, 0))
                continue
            if ret < 0:  # cannot tell (-EDQUOT...): its events still come
                continue
            info = _lib.Info()
            ret = pool._call(lib.rp_info_sz, h.value, ctypes.byref(info), ctypes.sizeof(info))
            # if ours was the last reference, FREED is queued as for any put
            pool._call(lib.rp_put, h.value)
            if ret == 0:
                w._id = info.id
                if info.flags & SEALED:
                    found.append((w, EV_SEALED, info.id))
        with self._lock:
            for w, bit, ident in found:
                self._route(w._cookie, bit, ident, loop)

    # --- the thread -----------------------------------------------------
    def start_thread(self, pool):
        """Start the thread that runs callbacks, unless it runs."""
        if self._thread is not None:
            return
        fd = _check(pool._call(lib.rp_events_fd))  # the session's own fd
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            self._wake = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            t = threading.Thread(target=self._run, args=(fd,), name="refpool-events", daemon=True)
            self._thread = t
            t.start()
            _threaded.add(self)

    def _run(self, fd):
        wake = self._wake[0]
        poller = select.poll()
        poller.register(wake, select.POLLIN)
        poller.register(fd, select.POLLIN)
        reading = True
        try:
            while True:
                self._run_calls()
                if self._stopping:
                    break
                ready = poller.poll()
                for f, _ in ready:
                    if f == wake:
                        try:
                            while os.read(wake, 64):
                                pass
                        except BlockingIOError:
                            pass
                if self._stopping:
                    break
                if not reading or not any(f == fd for f, _ in ready):
                    continue
                pool = self._pool()
                try:
                    if pool is None:
                        raise ValueError("gone")
                    self._pump(pool, None)
                except ValueError:
                    # closing: close() has stopped the dispatcher, or is
                    # about to, and wakes this thread
                    poller.unregister(fd)
                    reading = False
                except Exception as e:  # the library refused to read: a bug
                    _report(e, self, "refpool: cannot read events, watches of this pool stop")
                    poller.unregister(fd)
                    reading = False
                finally:
                    pool = None
        finally:
            with self._lock:
                close = self._thread_closes_wake
            if close:
                for f in self._wake:
                    os.close(f)

    def _run_calls(self):
        while True:
            with self._lock:
                if self._stopping or not self._calls:
                    return
                w, bit, ident = self._calls.popleft()
                if w._cancelled:
                    continue
                fn = w._callback
                self._in_callback = True
            try:
                event = w._event(bit, ident)
                fn(event)
            except BaseException as e:  # the thread goes on, as after a weakref callback
                _report(e, fn)
            finally:
                self._in_callback = False
                w = event = fn = None

    # --- asyncio --------------------------------------------------------
    def reader_add(self, loop, pool):
        """A waiter of loop: the loop reads the session's fd while it has
        one. Run in the loop; the reader keeps the pool's session open."""
        with self._lock:
            reg = self._readers.get(loop)
            if reg is not None:
                reg[0] += 1
                return
        pool._enter()
        try:
            fd = lib.rp_events_fd(pool._p)
            loop.add_reader(fd, self._on_readable, loop)
        except BaseException:
            pool._leave()
            raise
        with self._lock:
            self._readers[loop] = [1, fd]

    def reader_drop(self, loop, pool):
        with self._lock:
            reg = self._readers[loop]
            reg[0] -= 1
            if reg[0]:
                return
            del self._readers[loop]
        try:
            loop.remove_reader(reg[1])
        finally:
            pool._leave()  # the last call in flight of a closed pool closes it

    def _on_readable(self, loop):
        pool = self._pool()
        if pool is None:
            return
        try:
            self._pump(pool, loop)
        except ValueError:  # closing: close() failed every waiter
            pass

    # --- the end --------------------------------------------------------
    def stop(self, at_exit=False):
        """Pool.close(), before the session can be released: every watch
        ends, every waiter raises ValueError (its reader goes, and the
        session after the last, as their coroutines leave), no callback
        starts any more, and the thread is joined (unless this is that
        thread, which leaves when its callback returns). at_exit: the
        interpreter exits, which waits for no callback."""
        if self._stopping:
            # without the lock: after _stop_at_exit, a thread left behind
            # in a callback may die holding it
            return
        if os.getpid() != self._pid:
            # a forked child: no thread here, and the lock may have been
            # held when the parent forked; only the pipe's copies are ours
            wake, self._wake = self._wake, None
            for f in wake or ():
                os.close(f)
            return
        me = threading.current_thread()
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            waiters = [w for w in self._watches.values() if w._waiter is not None]
            for w in self._watches.values():
                w._alive = False
            self._watches.clear()
            self._calls.clear()
            t = self._thread
            self._thread_closes_wake = t is me
            running = self._in_callback
        for w in waiters:
            self._resolve(w, None, ValueError("refpool.Pool is closed"), None)
        if t is None:
            return
        _poke(self._wake[1])
        if t is me or (at_exit and running) or sys.is_finalizing():
            return
        t.join()
        for f in self._wake:
            os.close(f)


def _stop_at_exit():
    """Stop every thread while the interpreter still runs them: once it
    finalizes, a daemon thread dies wherever it next takes the GIL, maybe
    holding a lock that a Pool's __del__ then waits for forever. A thread
    in a callback is left to it (a daemon keeps no interpreter alive); it
    leaves the callback for code that takes the dispatcher's lock alone,
    which nothing takes once the dispatcher is stopped."""
    for disp in list(_threaded):
        disp.stop(at_exit=True)


atexit.register(_stop_at_exit)
