# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Two users: root here, nobody in a forked child (setresuid)."""

import os
import unittest

from _testlib import NOBODY, PoolTest, live, needs_numpy, needs_root, numpy as np

import refpool


@needs_root
class TestTwoUsers(PoolTest):
    def test_token_reaches_another_user(self):
        with self.pool.create(b"root's", sealed=True) as obj:
            token = obj.publish()

            def child():
                with refpool.Pool() as p, p.lookup(token) as o:
                    assert o.read() == b"root's"
                    try:
                        o.write(0, b"x")
                    except PermissionError:
                        pass
                    else:
                        raise AssertionError("wrote a sealed object")

            self.in_child(child, uid=NOBODY)

    @needs_numpy
    def test_another_user_loads_a_value(self):
        value = {"a": np.arange(10000.0), "b": "text\x00"}
        with refpool.dumps(value, self.pool) as root:
            token = root.publish()

            def child():
                with refpool.Pool() as p, p.lookup(token) as r:
                    got = refpool.loads(r)
                assert np.array_equal(got["a"], value["a"]) and got["b"] == value["b"]
                assert not got["a"].flags.writeable

            self.in_child(child, uid=NOBODY)

    @needs_numpy
    def test_value_from_another_user(self):
        # nobody dumps and keeps the value until root has loaded it
        tok_r, tok_w = os.pipe()
        ack_r, ack_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(tok_r)
                os.close(ack_w)
                os.setgroups([])
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
                with refpool.Pool() as p:
                    root = refpool.dumps([np.full(5000, 3.0), b"nobody's"], p)
                    os.write(tok_w, root.publish().encode())
                    os.read(ack_r, 1)
                status = 0
            finally:
                os._exit(status)
        os.close(tok_w)
        os.close(ack_r)
        try:
            token = os.read(tok_r, 64).decode()
            with self.pool.lookup(token) as root:
                arr, text = refpool.loads(root)
            self.assertEqual(float(arr.sum()), 15000.0)
            self.assertEqual(text, b"nobody's")
        finally:
            os.write(ack_w, b"k")
            _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        del arr
        self.assertEqual(live(self.pool), self.base)

    def test_shared_memory_across_users(self):
        shm = refpool.SharedMemory(create=True, size=64)

        def child():
            other = refpool.SharedMemory(shm.name)
            other.buf[:6] = b"nobody"
            other.close()

        self.in_child(child, uid=NOBODY)
        self.assertEqual(bytes(shm.buf[:6]), b"nobody")
        shm.close()

    def test_interning_is_per_user(self):
        value = b"per user " + os.urandom(8).hex().encode()
        with self.pool.intern(value) as mine:
            mine_id = mine.id
            r, w = os.pipe()

            def child():
                with refpool.Pool() as p, p.intern(value) as theirs:
                    assert not theirs.existed
                    os.write(w, str(theirs.id).encode())

            self.in_child(child, uid=NOBODY)
            os.close(w)
            with os.fdopen(r) as f:
                self.assertNotEqual(int(f.read()), mine_id)

    def test_the_creator_pays(self):
        before = self.pool.stats()["user_bytes"]
        r, w = os.pipe()

        def child():
            with refpool.Pool() as p:
                base = p.stats()["user_bytes"]
                with p.create(1 << 20):
                    os.write(w, str(p.stats()["user_bytes"] - base).encode())
                    os.write(w, b" " + str(self.pool.stats()["user_bytes"]).encode())

        self.in_child(child, uid=NOBODY)
        os.close(w)
        with os.fdopen(r) as f:
            grew, root_bytes_meanwhile = (int(x) for x in f.read().split())
        self.assertGreaterEqual(grew, 1 << 20)
        self.assertEqual(root_bytes_meanwhile, before)


if __name__ == "__main__":
    unittest.main()
