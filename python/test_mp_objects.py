# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Objects through multiprocessing (queues, pipes, pools, process
arguments; fork, spawn and forkserver) and through plain pickle."""

import gc
import multiprocessing as mp
import pickle
import unittest
from multiprocessing.reduction import ForkingPickler

from _testlib import PoolTest, live, needs_numpy, numpy as np, run_python

import refpool

METHODS = ("fork", "spawn", "forkserver")


# --- what the other processes run (importable: spawn pickles them by name) ----
def describe(obj):
    """What the receiver sees: its own handle to the same object."""
    with obj:
        return obj.id, obj.read(), obj.refs, obj.pool is refpool.default_pool()


def describe_from_queue(q, out):
    out.put(describe(q.get()))


def describe_from_conn(conn):
    conn.send(describe(conn.recv()))
    conn.close()


def make_object(data):
    obj = refpool.default_pool().create(data, sealed=True)
    return obj


def loads_and_sum(root):
    with root:
        return float(refpool.loads(root).sum())


class TestThroughMultiprocessing(PoolTest):
    def assertReceived(self, got, obj, data):
        oid, payload, refs, in_default_pool = got
        self.assertEqual(oid, obj.id)
        self.assertEqual(payload, data)
        self.assertGreaterEqual(refs, 2)  # the sender's and the receiver's
        self.assertTrue(in_default_pool)

    def pool_map(self, method):
        with self.pool.create(b"through " + method.encode()) as obj:
            with mp.get_context(method).Pool(2) as workers:
                got = workers.map(describe, [obj, obj, obj])
            for g in got:
                self.assertReceived(g, obj, b"through " + method.encode())
            self.assertEqual(obj.refs, 1)

    def test_pool_map_fork(self):
        self.pool_map("fork")

    def test_pool_map_spawn(self):
        self.pool_map("spawn")

    def test_pool_map_forkserver(self):
        self.pool_map("forkserver")

    def test_queue(self):
        ctx = mp.get_context("fork")
        q, out = ctx.Queue(), ctx.Queue()
        with self.pool.create(b"queued") as obj:
            p = ctx.Process(target=describe_from_queue, args=(q, out))
            p.start()
            q.put(obj)
            self.assertReceived(out.get(timeout=60), obj, b"queued")
            p.join()
            self.assertEqual(obj.refs, 1)

    def pipe(self, duplex):
        ctx = mp.get_context("fork")
        a, b = ctx.Pipe(duplex)  # one way: a reads, b writes
        with self.pool.create(b"piped") as obj:
            if duplex:
                p = ctx.Process(target=describe_from_conn, args=(b,))
                p.start()
                a.send(obj)
                got = a.recv()
            else:
                back_r, back_w = ctx.Pipe(False)
                p = ctx.Process(target=_describe_one_way, args=(a, back_w))
                p.start()
                b.send(obj)
                got = back_r.recv()
            p.join()
            self.assertReceived(got, obj, b"piped")

    def test_pipe_duplex(self):
        self.pipe(True)

    def test_pipe_one_way(self):
        self.pipe(False)

    def process_argument(self, method):
        ctx = mp.get_context(method)
        out = ctx.Queue()
        with self.pool.create(b"an argument") as obj:
            p = ctx.Process(target=_describe_argument, args=(obj, out))
            p.start()
            got = out.get(timeout=120)
            p.join()
            self.assertReceived(got, obj, b"an argument")
            # the fd the start took is the Popen's until it goes
            del p
            gc.collect()
            self.assertEqual(obj.refs, 1)

    def test_process_argument_spawn(self):
        self.process_argument("spawn")

    def test_process_argument_forkserver(self):
        self.process_argument("forkserver")

    def test_returned_by_a_worker(self):
        with mp.get_context("fork").Pool(1) as workers:
            obj = workers.apply(make_object, (b"made there",))
            with obj:
                self.assertEqual(obj.read(), b"made there")
                self.assertIs(obj.pool, refpool.default_pool())
                self.assertTrue(obj.sealed)

    @needs_numpy
    def test_dumps_root_through_pool_map_spawn(self):
        arr = np.arange(100000, dtype=np.float64)
        with refpool.dumps(arr, self.pool) as root:
            with mp.get_context("spawn").Pool(2) as workers:
                sums = workers.map(loads_and_sum, [root] * 4)
        self.assertEqual(sums, [float(arr.sum())] * 4)

    def test_unfetched_reference_goes_with_the_sender(self):
        # Pickled for multiprocessing and never unpickled: the sender's
        # resource_sharer holds the reference until the sender exits.
        out = run_python(
            """
            import refpool
            from multiprocessing.reduction import ForkingPickler
            p = refpool.Pool()
            obj = p.create(b"lost in transit")
            data = ForkingPickler.dumps(obj)
            obj.close()
            print(p.stats()["objects"])
            """
        )
        self.assertEqual(int(out.stdout), self.base[0] + 1)
        self.assertEqual(live(self.pool), self.base)

    def test_sender_gone_before_unpickling(self):
        out = run_python(
            """
            import refpool
            from multiprocessing.reduction import ForkingPickler
            with refpool.Pool() as p, p.create(b"orphan") as obj:
                print(bytes(ForkingPickler.dumps(obj)).hex())
            """
        )
        with self.assertRaises(OSError):
            ForkingPickler.loads(bytes.fromhex(out.stdout.strip()))
        self.assertEqual(live(self.pool), self.base)


def _describe_one_way(conn, back):
    back.send(describe(conn.recv()))


def _describe_argument(obj, out):
    out.put(describe(obj))


class TestPlainPickle(PoolTest):
    def test_weak_token_while_the_object_lives(self):
        obj = self.pool.create(b"plain")
        data = pickle.dumps(obj)
        with pickle.loads(data) as again:
            self.assertEqual(again.id, obj.id)
            self.assertNotEqual((again.pool, again.handle), (obj.pool, obj.handle))
        obj.close()
        # weak: the token no longer resolves, and it held nothing
        self.assertRaises(FileNotFoundError, pickle.loads, data)
        self.assertEqual(live(self.pool), self.base)

    def test_another_process(self):
        with self.pool.create(b"plain") as obj:
            out = run_python(
                """
                import pickle, sys
                with pickle.loads(bytes.fromhex(sys.argv[1])) as obj:
                    print(obj.read().decode())
                """,
                pickle.dumps(obj).hex(),
            )
        self.assertEqual(out.stdout.strip(), "plain")

    def test_closed_object(self):
        obj = self.pool.create(b"x")
        obj.close()
        self.assertRaises(ValueError, pickle.dumps, obj)
        self.assertRaises(ValueError, ForkingPickler.dumps, obj)

    def test_pool_does_not_pickle(self):
        self.assertRaises(TypeError, pickle.dumps, self.pool)
        self.assertRaises(TypeError, ForkingPickler.dumps, self.pool)


if __name__ == "__main__":
    unittest.main()
