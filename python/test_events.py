# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Lifecycle events: Pool.watch (callbacks on the pool's thread) and
await Pool.wait (asyncio)."""

import asyncio
import errno
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
import weakref

from _testlib import HERE, NOBODY, PoolTest, live, needs_root, param, run_python

import refpool
from refpool import EV_FREED, EV_GC, EV_SEALED

# Generous: the tests run in a VM without KVM, on CPUs shared with others.
TIMEOUT = 60


class Recorder:
    """A callback that records its events, the thread and the process it
    ran in."""

    def __init__(self):
        self.events = []
        self.where = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.where.append((threading.current_thread().name, os.getpid()))
            self.cond.notify_all()

    def wait_until(self, pred, what):
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self.events), TIMEOUT):
                raise AssertionError("no %s within %d s; got %r" % (what, TIMEOUT, self.events))
            return list(self.events)

    def wait(self, n):
        return self.wait_until(lambda evs: len(evs) >= n, "%d events" % n)


def barrier(pool):
    """Return once every callback of an event queued on pool so far has
    run: callbacks run in the order of the queue, and this watch's event
    is queued last."""
    done = threading.Event()
    with pool.create(0) as marker:
        pool.watch(marker, EV_FREED, lambda e: done.set())
    if not done.wait(TIMEOUT):
        raise AssertionError("the marker's FREED did not come")


def event_threads():
    return [t for t in threading.enumerate() if t.name == "refpool-events"]


# A process B that holds an object and does with it what it is told.
HOLDER = """
import os, sys
sys.path.insert(0, %r)
import refpool
pool = refpool.Pool()
obj = pool.create(b"B's")
print(obj.publish(), obj.id, flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "seal":
        obj.seal()
    elif cmd == "put":
        obj.close()
    print("done", flush=True)
""" % HERE


class Holder:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        token, ident = self.proc.stdout.readline().split()
        self.token, self.id = token, int(ident)

    def do(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class EventTest(PoolTest):
    def holder(self):
        h = Holder()
        self.addCleanup(h.close)
        return h


class TestWatch(EventTest):
    def test_freed_in_another_process(self):
        b = self.holder()
        rec = Recorder()
        w = self.pool.watch(b.token, EV_FREED, rec)
        self.assertTrue(w.alive)
        b.do("put")
        (ev,) = rec.wait(1)
        self.assertEqual(ev, refpool.Event(EV_FREED, b.id, b.token))
        # on the pool's thread, in this process: the program made no call
        self.assertEqual(rec.where, [("refpool-events", os.getpid())])
        self.assertFalse(w.alive)

    def test_sealed_then_freed_in_another_process(self):
        b = self.holder()
        rec = Recorder()
        w = self.pool.watch(b.token, EV_SEALED | EV_FREED, rec)
        b.do("seal")
        self.assertEqual(rec.wait(1), [refpool.Event(EV_SEALED, b.id, b.token)])
        self.assertTrue(w.alive)
        b.do("put")
        evs = rec.wait(2)
        self.assertEqual([e.events for e in evs], [EV_SEALED, EV_FREED])
        self.assertFalse(w.alive)

    def test_sigkilled_holder_fires_freed(self):
        b = self.holder()
        rec = Recorder()
        self.pool.watch(b.token, EV_FREED, rec)
        b.proc.send_signal(signal.SIGKILL)
        (ev,) = rec.wait(1)
        self.assertEqual((ev.events, ev.id), (EV_FREED, b.id))
        self.assertEqual(b.proc.wait(), -signal.SIGKILL)

    def test_watch_is_weak(self):
        rec = Recorder()
        obj = self.pool.create(b"x" * 100)
        ident = obj.id
        w = self.pool.watch(obj, EV_FREED, rec)
        wrapper = weakref.ref(obj)
        del obj  # the wrapper goes, and with it the one handle
        # freed when the handle went, not when the event was read
        self.assertEqual(live(self.pool), self.base)
        (ev,) = rec.wait(1)
        self.assertEqual(ev, refpool.Event(EV_FREED, ident, None))
        self.assertFalse(w.alive)
        gc.collect()
        self.assertIsNone(wrapper())  # nor does the watch keep the wrapper

    def test_each_event_once(self):
        rec = Recorder()
        obj = self.pool.create(b"once")
        self.pool.watch(obj, EV_SEALED | EV_FREED, rec)
        obj.seal()
        obj.seal()  # sealed already: no second event
        rec.wait(1)
        obj.close()
        rec.wait(2)
        barrier(self.pool)
        self.assertEqual([e.events for e in rec.events], [EV_SEALED, EV_FREED])

    def test_two_watches_of_one_object_each_fire(self):
        a, b = Recorder(), Recorder()
        obj = self.pool.create(b"two")
        self.pool.watch(obj, EV_FREED, a)
        self.pool.watch(obj.publish(), EV_FREED, b)
        obj.close()
        self.assertEqual(a.wait(1)[0].events, EV_FREED)
        self.assertEqual(b.wait(1)[0].events, EV_FREED)

    def test_sealed_at_once(self):
        rec = Recorder()
        with self.pool.create(b"sealed", sealed=True) as obj, self.pool.intern(b"interned") as it:
            self.pool.watch(obj, EV_SEALED, rec)
            self.pool.watch(it.publish(), EV_SEALED, rec)
            evs = rec.wait(2)
            self.assertEqual(sorted((e.events, e.id) for e in evs),
                             sorted([(EV_SEALED, obj.id), (EV_SEALED, it.id)]))
            self.assertIs(evs[0].target, obj)  # the wrapper, while it exists

    def test_sealed_only_watch_of_object_freed_unsealed(self):
        rec = Recorder()
        obj = self.pool.create(b"never sealed")
        w = self.pool.watch(obj, EV_SEALED, rec)
        obj.close()
        barrier(self.pool)
        self.assertEqual(rec.events, [])
        self.assertFalse(w.alive)
        self.assertEqual(self.pool._events._watches, {})

    def test_cancel(self):
        rec = Recorder()
        obj = self.pool.create(b"cancelled")
        w = self.pool.watch(obj, EV_SEALED | EV_FREED, rec)
        self.assertTrue(w.cancel())
        self.assertFalse(w.alive)
        self.assertFalse(w.cancel())
        obj.seal()
        obj.close()
        barrier(self.pool)
        self.assertEqual(rec.events, [])

    def test_object_of_another_pool(self):
        rec = Recorder()
        with refpool.Pool() as other:
            obj = other.create(b"other's")
            ident = obj.id
            self.pool.watch(obj, EV_FREED, rec)
            obj.close()
            (ev,) = rec.wait(1)
        self.assertEqual((ev.events, ev.id), (EV_FREED, ident))

    def test_callback_exception_goes_to_unraisablehook(self):
        seen = []
        old, sys.unraisablehook = sys.unraisablehook, seen.append
        try:

            def bad(event):
                raise RuntimeError("boom")

            rec = Recorder()
            a, b = self.pool.create(0), self.pool.create(0)
            self.pool.watch(a, EV_FREED, bad)
            self.pool.watch(b, EV_FREED, rec)
            a.close()
            b.close()
            rec.wait(1)  # the thread went on
        finally:
            sys.unraisablehook = old
        self.assertEqual(len(seen), 1)
        self.assertIs(seen[0].exc_type, RuntimeError)
        self.assertEqual(str(seen[0].exc_value), "boom")
        self.assertIs(seen[0].object, bad)
        self.assertIn("refpool watch callback", seen[0].err_msg)

    def test_callback_exception_printed_by_default(self):
        out = run_python("""
            import threading, refpool
            done = threading.Event()
            def bad(event):
                raise RuntimeError("boom")
            with refpool.Pool() as pool:
                a, b = pool.create(0), pool.create(0)
                pool.watch(a, refpool.EV_FREED, bad)
                pool.watch(b, refpool.EV_FREED, lambda e: done.set())
                a.close(); b.close()
                print("went on" if done.wait(60) else "stuck", flush=True)
        """)
        self.assertEqual(out.stdout, "went on\n")
        self.assertRegex(out.stderr,
                         r"^Exception ignored in refpool watch callback: <function bad at ")
        self.assertIn("Traceback (most recent call last):", out.stderr)
        self.assertTrue(out.stderr.endswith("RuntimeError: boom\n"), out.stderr)

    def test_errors(self):
        rec = Recorder()
        obj = self.pool.create(b"x")
        token = obj.publish()
        bad = ((obj, 0), (obj, EV_GC), (obj, 1 << 3), (None, EV_FREED), (token, EV_GC | EV_FREED))
        for target, events in bad:
            with self.assertRaises(ValueError, msg=(target, events)):
                self.pool.watch(target, events, rec)
        with self.assertRaises(TypeError):
            self.pool.watch(obj, EV_FREED, None)
        obj.close()
        self.assertErrno(errno.ENOENT, self.pool.watch, token, EV_FREED, rec)  # gone
        self.assertErrno(errno.EINVAL, self.pool.watch, "not a token", EV_FREED, rec)
        with self.assertRaises(ValueError):  # closed
            self.pool.watch(obj, EV_FREED, rec)
        self.assertEqual(self.pool._events._watches, {})  # nothing left of them
        with refpool.Pool() as p:
            p.close()
            with self.assertRaises(ValueError):
                p.watch(None, EV_GC, rec)

    @needs_root
    def test_edquot(self):
        def child():
            with refpool.Pool() as p, p.create(0) as o:
                n = 0
                while True:
                    try:
                        p.watch(o, EV_FREED, lambda e: None)
                    except OSError as e:
                        assert e.errno == errno.EDQUOT, e
                        break
                    n += 1
                    assert n < 100000, "no limit reached"
                # the refused one is forgotten, the others stay
                assert len(p._events._watches) == n, (len(p._events._watches), n)
                assert p.stats()["session_watches"] == n

        with param("max_user_bytes", 256 << 10):
            self.in_child(child, uid=NOBODY)


class TestGC(EventTest):
    def test_gc_callbacks(self):
        rec = Recorder()
        w = self.pool.watch(None, EV_GC, rec)
        a, b = self.pool.create(0, nslots=1), self.pool.create(0, nslots=1)
        a.link(0, b)
        b.link(0, a)
        a.close()
        b.close()
        n = self.pool.gc()
        evs = rec.wait_until(lambda evs: any(e.id == n for e in evs), "the collection's event")
        self.assertTrue(all(e.events == EV_GC and e.target is None for e in evs), evs)
        # the cycle was freed by some collection this watch heard of
        self.assertGreaterEqual(sum(e.id for e in evs), 2)
        # one per collection, for as long as the watch lives
        count = len(rec.events)
        self.pool.gc()
        rec.wait(count + 1)
        self.assertTrue(w.alive)
        w.cancel()
        count = len(rec.events)
        self.pool.gc()
        barrier(self.pool)
        self.assertEqual(len(rec.events), count)

    def test_wait_for_a_collection(self):
        async def main():
            waiting = asyncio.ensure_future(self.pool.wait(None, EV_GC, timeout=TIMEOUT))
            await asyncio.sleep(0.1)
            self.pool.gc()
            return await waiting

        ev = asyncio.run(main())
        self.assertEqual((ev.events, ev.target), (EV_GC, None))


class TestWait(EventTest):
    def test_wait_sealed(self):
        obj = self.pool.create(b"soon sealed")

        async def main():
            async def seal_later():
                await asyncio.sleep(0.2)
                obj.seal()

            task = asyncio.ensure_future(seal_later())
            ev = await self.pool.wait(obj, EV_SEALED)
            await task
            return ev

        ev = asyncio.run(main())
        self.assertEqual(ev, refpool.Event(EV_SEALED, obj.id, obj))
        self.assertIsNone(self.pool._events._thread)  # no thread: the loop read it
        self.assertEqual(event_threads(), [])
        obj.close()

    def test_wait_another_process(self):
        b = self.holder()

        async def main():
            waiting = asyncio.ensure_future(self.pool.wait(b.token, EV_FREED))
            await asyncio.sleep(0.1)
            await asyncio.get_running_loop().run_in_executor(None, b.do, "put")
            return await waiting

        self.assertEqual(asyncio.run(main()), refpool.Event(EV_FREED, b.id, b.token))

    def test_wait_timeout(self):
        obj = self.pool.create(b"not sealed in time")

        async def main():
            t0 = time.monotonic()
            with self.assertRaises(asyncio.TimeoutError):
                await self.pool.wait(obj, EV_SEALED, timeout=0.3)
            self.assertGreaterEqual(time.monotonic() - t0, 0.3)
            # the waiter and the loop's reader are gone
            self.assertEqual(self.pool._events._watches, {})
            self.assertEqual(self.pool._events._readers, {})
            obj.seal()  # its event is read by nobody and harms nothing
            return await self.pool.wait(obj, EV_SEALED, timeout=TIMEOUT)

        self.assertEqual(asyncio.run(main()).events, EV_SEALED)
        obj.close()

    def test_wait_sealed_of_object_freed_unsealed(self):
        obj = self.pool.create(b"never sealed")

        async def main():
            waiting = asyncio.ensure_future(self.pool.wait(obj, EV_SEALED))
            await asyncio.sleep(0.1)
            obj.close()
            with self.assertRaises(FileNotFoundError):
                await waiting

        asyncio.run(main())

    def test_wait_gone_token(self):
        with self.pool.create(b"x") as obj:
            token = obj.publish()
        with self.assertRaises(FileNotFoundError):
            asyncio.run(self.pool.wait(token, EV_FREED))

    def test_wait_and_watch_share_the_queue(self):
        # the thread (for the watch) and the loop both read the session's
        # events: each gets its own
        objs = [self.pool.create(b"%d" % i) for i in range(6)]
        rec = Recorder()
        for o in objs[:3]:
            self.pool.watch(o, EV_SEALED, rec)

        async def main():
            waiting = [asyncio.ensure_future(self.pool.wait(o, EV_SEALED, timeout=TIMEOUT))
                       for o in objs[3:]]
            await asyncio.sleep(0.1)
            for o in objs:
                o.seal()
                await asyncio.sleep(0.01)
            return await asyncio.gather(*waiting)

        got = asyncio.run(main())
        self.assertEqual([e.id for e in got], [o.id for o in objs[3:]])
        self.assertEqual(sorted(e.id for e in rec.wait(3)), sorted(o.id for o in objs[:3]))
        barrier(self.pool)
        self.assertEqual(len(rec.events), 3)
        for o in objs:
            o.close()

    def test_close_fails_the_waiters(self):
        pool = refpool.Pool()
        obj = pool.create(b"x")

        async def main():
            waiting = asyncio.ensure_future(pool.wait(obj, EV_SEALED))
            await asyncio.sleep(0.1)
            pool.close()
            with self.assertRaises(ValueError):
                await waiting

        asyncio.run(main())
        self.assertTrue(pool.closed)
        self.assertEqual(live(self.pool), self.base)  # the session went with the last waiter


class TestOverflow(EventTest):
    """max_session_events 4: past it the kernel drops events and queues one
    OVERFLOW; the binding then asks the kernel what became of each watched
    object."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (module parameters)")
        p = param("max_session_events", 4)
        p.__enter__()
        self.addCleanup(p.__exit__)
        disp = self.pool._dispatcher()
        self.rechecks = 0
        recheck = disp._recheck

        def counted(*args):
            self.rechecks += 1
            return recheck(*args)

        disp._recheck = counted

    def hold_the_thread(self):
        """Keep the pool's thread in a callback until the returned event is
        set: nothing reads the queue meanwhile."""
        gate, entered = threading.Event(), threading.Event()

        def block(event):
            entered.set()
            gate.wait(TIMEOUT)

        with self.pool.create(0) as blocker:
            self.pool.watch(blocker, EV_FREED, block)
        self.assertTrue(entered.wait(TIMEOUT))
        self.addCleanup(gate.set)
        return gate

    def test_overflow_sealed(self):
        gate = self.hold_the_thread()
        rec = Recorder()
        objs = [self.pool.create(b"%d" % i) for i in range(10)]
        for o in objs:
            self.pool.watch(o, EV_SEALED, rec)
        for o in objs:
            o.seal()
        # four queued, then the OVERFLOW for the six dropped
        self.assertEqual(self.pool.stats()["session_events"], 5)
        gate.set()
        evs = rec.wait(10)
        self.assertEqual(sorted((e.events, e.id) for e in evs),
                         sorted((EV_SEALED, o.id) for o in objs))
        self.assertEqual(self.rechecks, 1)
        barrier(self.pool)
        self.assertEqual(len(rec.events), 10)
        for o in objs:
            o.close()

    def test_overflow_freed(self):
        gate = self.hold_the_thread()
        rec = Recorder()
        parent = self.pool.create(0, nslots=10)
        ids = []
        for i in range(10):
            with self.pool.create(b"%d" % i) as child:
                parent.link(i, child)
                ids.append(child.id)
                self.pool.watch(child, EV_FREED | EV_SEALED, rec)
        parent.close()  # ten FREED in one call: four queued, six dropped
        self.assertEqual(self.pool.stats()["session_events"], 5)
        gate.set()
        evs = rec.wait(10)
        self.assertEqual(sorted((e.events, e.id) for e in evs), sorted((EV_FREED, i) for i in ids))
        self.assertEqual(self.rechecks, 1)
        barrier(self.pool)
        self.assertEqual(len(rec.events), 10)

    def test_overflow_under_asyncio(self):
        objs = [self.pool.create(b"%d" % i) for i in range(10)]

        async def main():
            waiting = [asyncio.ensure_future(self.pool.wait(o, EV_SEALED, timeout=TIMEOUT))
                       for o in objs]
            await asyncio.sleep(0.1)  # every wait is armed
            for o in objs:  # the loop does not run meanwhile: nothing reads
                o.seal()
            return await asyncio.gather(*waiting)

        got = asyncio.run(main())
        self.assertEqual([(e.events, e.id) for e in got], [(EV_SEALED, o.id) for o in objs])
        self.assertEqual(self.rechecks, 1)
        for o in objs:
            o.close()


class TestUsers(EventTest):
    @needs_root
    def test_watch_by_token_from_another_user(self):
        obj = self.pool.create(b"root's")
        token, ident = obj.publish(), obj.id
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(ready_r)
                os.setgroups([])
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
                with refpool.Pool() as p:
                    rec = Recorder()
                    p.watch(token, EV_SEALED | EV_FREED, rec)
                    os.write(ready_w, b"1")
                    evs = rec.wait(2)
                    want = [refpool.Event(EV_SEALED, ident, token),
                            refpool.Event(EV_FREED, ident, token)]
                    status = 0 if evs == want else 2
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(ready_w)
        self.assertEqual(os.read(ready_r, 1), b"1")
        os.close(ready_r)
        obj.seal()
        obj.close()
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)


class TestThread(EventTest):
    def test_one_thread_per_pool_gone_with_close(self):
        before = event_threads()
        pool = refpool.Pool()
        self.assertEqual(event_threads(), before)  # started by the first watch
        obj = pool.create(0)
        pool.watch(obj, EV_FREED, print)
        pool.watch(None, EV_GC, print)
        t = pool._events._thread
        self.assertTrue(t.daemon)
        self.assertEqual(event_threads(), before + [t])
        pool.close()
        self.assertFalse(t.is_alive())  # joined by close()
        self.assertEqual(event_threads(), before)

    def test_thread_gone_with_a_collected_pool(self):
        pool = refpool.Pool()
        pool.watch(None, EV_GC, print)
        t = pool._events._thread
        del pool  # the thread holds it weakly
        gc.collect()
        t.join(TIMEOUT)
        self.assertFalse(t.is_alive())

    def test_close_from_a_callback(self):
        pool = refpool.Pool()
        closed = threading.Event()

        def close_it(event):
            pool.close()
            closed.set()

        with pool.create(0) as obj:
            pool.watch(obj, EV_FREED, close_it)
        self.assertTrue(closed.wait(TIMEOUT))
        pool._events._thread.join(TIMEOUT)
        self.assertFalse(pool._events._thread.is_alive())
        self.assertTrue(pool.closed)

    def test_no_callback_after_close(self):
        b = self.holder()
        pool = refpool.Pool()
        rec = Recorder()
        w = pool.watch(b.token, EV_FREED, rec)
        pool.close()
        self.assertFalse(w.alive)
        b.do("put")
        barrier(self.pool)
        self.assertEqual(rec.events, [])

    def test_interpreter_exits_with_watches(self):
        # A pending watch keeps no process alive, and the exit does not
        # wait for a callback (the thread is a daemon). Several times: the
        # thread must be out of the binding's locks before the interpreter
        # finalizes, whatever it was doing when the program ended.
        for blocked in (False, True, False, False, True):
            out = run_python("""
                import sys, threading, refpool
                pool = refpool.Pool()
                obj = pool.create(0)
                pool.watch(obj, refpool.EV_FREED, print)
                if sys.argv[1] == "True":
                    running = threading.Event()
                    def forever(event):
                        running.set()
                        threading.Event().wait()
                    with pool.create(0) as other:
                        pool.watch(other, refpool.EV_FREED, forever)
                    running.wait()
                print("bye", flush=True)
            """, str(blocked), timeout=TIMEOUT)
            self.assertEqual((out.stdout, out.stderr), ("bye\n", ""), blocked)


class TestFork(EventTest):
    def test_child_does_not_take_the_parent_s_events(self):
        rec = Recorder()
        obj = self.pool.create(b"parent's")
        self.pool.watch(obj, EV_SEALED, rec)

        def child():
            for call in (
                lambda: self.pool.watch(obj, EV_FREED, print),
                lambda: asyncio.run(self.pool.wait(obj, EV_FREED)),
            ):
                try:
                    call()
                except RuntimeError as e:
                    assert "forked child" in str(e), e
                else:
                    raise AssertionError("an inherited pool watched")
            obj.seal()  # through the shared session: the event is the parent's
            # a pool of the child's own has events of its own
            with refpool.Pool() as p, p.create(b"child's", sealed=True) as o:
                ev = asyncio.run(p.wait(o, EV_SEALED, timeout=TIMEOUT))
                assert ev.id == o.id, ev
            self.pool.close()  # the child's fd of the session only

        self.in_child(child)
        (ev,) = rec.wait(1)
        self.assertEqual((ev.events, ev.id), (EV_SEALED, obj.id))
        obj.close()


if __name__ == "__main__":
    unittest.main()
