# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""refpool.SharedMemory, the drop-in for multiprocessing.shared_memory."""

import os
import pickle
import signal
import unittest

from _testlib import PoolTest, live, needs_numpy, numpy as np, run_python

from refpool import SharedMemory


class TestSharedMemory(PoolTest):
    def test_create(self):
        shm = SharedMemory(create=True, size=100)
        self.assertRegex(shm.name, r"^[0-9a-f]{32}$")
        self.assertEqual(shm.size, 100)
        self.assertEqual(len(shm.buf), 100)
        self.assertFalse(shm.buf.readonly)
        self.assertEqual(bytes(shm.buf), bytes(100))
        shm.close()

    def test_attach_by_name(self):
        a = SharedMemory(create=True, size=10)
        b = SharedMemory(a.name)
        b.buf[:5] = b"hello"
        self.assertEqual(bytes(a.buf[:5]), b"hello")
        self.assertEqual(b.size, 10)
        b.close()
        a.close()

    def test_attach_ignores_size_and_takes_a_leading_slash(self):
        a = SharedMemory(create=True, size=10)
        b = SharedMemory("/" + a.name, size=999)
        self.assertEqual(b.name, a.name)
        self.assertEqual(b.size, 10)
        b.close()
        a.close()

    def test_bad_arguments(self):
        self.assertRaises(ValueError, SharedMemory, create=True, size=0)
        self.assertRaises(ValueError, SharedMemory, create=True, size=-1)
        self.assertRaises(ValueError, SharedMemory)
        # names are the kernel's to draw
        self.assertRaises(ValueError, SharedMemory, "mine", create=True, size=10)
        self.assertEqual(live(self.pool), self.base)

    def test_attach_unknown_name(self):
        self.assertRaises(FileNotFoundError, SharedMemory, "0" * 32)
        self.assertRaises(FileNotFoundError, SharedMemory, "psm_not_a_token")

    def test_memory_goes_with_the_last_close(self):
        a = SharedMemory(create=True, size=4096)
        b = SharedMemory(a.name)
        a.close()
        self.assertEqual(bytes(b.buf[:1]), b"\0")
        b.close()
        self.assertEqual(live(self.pool), self.base)
        self.assertRaises(FileNotFoundError, SharedMemory, a.name)

    def test_unlink_stops_the_name_not_the_users(self):
        a = SharedMemory(create=True, size=10)
        b = SharedMemory(a.name)
        a.unlink()
        self.assertRaises(FileNotFoundError, SharedMemory, a.name)
        a.buf[0] = 7
        self.assertEqual(b.buf[0], 7)
        a.close()
        b.close()

    def test_unlink_after_close_and_twice(self):
        # the original's idiom in the last process: close(), then unlink()
        a = SharedMemory(create=True, size=10)
        a.close()
        a.unlink()
        a.unlink()
        self.assertEqual(live(self.pool), self.base)

    def test_unlink_after_close_while_others_hold_it(self):
        a = SharedMemory(create=True, size=10)
        b = SharedMemory(a.name)
        a.close()
        a.unlink()
        self.assertRaises(FileNotFoundError, SharedMemory, a.name)
        b.close()

    @needs_numpy
    def test_array_from_buf_outlives_close(self):
        # The original unmaps buf under such an array (using it then is a
        # SIGSEGV); here the array keeps the mapping, not the name.
        a = SharedMemory(create=True, size=1 << 16)
        arr = np.ndarray((1 << 13,), np.float64, buffer=a.buf)
        arr[:] = 2.0
        a.close()
        self.assertIsNone(a.buf)
        self.assertRaises(FileNotFoundError, SharedMemory, a.name)
        self.assertEqual(float(arr.sum()), 2.0 * (1 << 13))
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        del arr
        self.assertEqual(live(self.pool), self.base)

    def test_pickles_by_name(self):
        a = SharedMemory(create=True, size=10)
        b = pickle.loads(pickle.dumps(a))
        self.assertEqual((b.name, b.size), (a.name, a.size))
        b.buf[1] = 2
        self.assertEqual(a.buf[1], 2)
        b.close()
        a.close()

    def test_repr_and_track(self):
        a = SharedMemory(create=True, size=10, track=False)
        self.assertEqual(repr(a), "SharedMemory(%r, size=10)" % a.name)
        a.close()

    def test_another_process_attaches(self):
        a = SharedMemory(create=True, size=10)
        run_python(
            """
            import sys, refpool
            s = refpool.SharedMemory(sys.argv[1])
            s.buf[:3] = b"abc"
            s.close()
            """,
            a.name,
        )
        self.assertEqual(bytes(a.buf[:3]), b"abc")
        a.close()

    def test_killed_producer_leaves_nothing(self):
        out = run_python(
            """
            import os, signal, refpool
            s = refpool.SharedMemory(create=True, size=1 << 20)
            s.buf[:4] = b"data"
            print(s.name, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
            """,
            check=False,
        )
        self.assertEqual(out.returncode, -signal.SIGKILL, out.stderr)
        self.assertEqual(out.stderr, "")
        self.assertEqual(live(self.pool), self.base)
        self.assertRaises(FileNotFoundError, SharedMemory, out.stdout.strip())

    def test_no_resource_tracker(self):
        # The original registers every segment with multiprocessing's
        # resource tracker, which warns at exit ("leaked shared_memory
        # objects") and unlinks segments others still use. Here a
        # producer that exits without unlink() says nothing, starts no
        # tracker, and its consumer keeps the memory.
        out = run_python(
            """
            import multiprocessing as mp, sys, refpool

            def consumer(name, q):
                s = refpool.SharedMemory(name)
                q.put(bytes(s.buf[:5]))
                s.close()

            if __name__ == "__main__":
                s = refpool.SharedMemory(create=True, size=100)
                s.buf[:5] = b"hello"
                q = mp.get_context("fork").Queue()
                p = mp.get_context("fork").Process(target=consumer, args=(s.name, q))
                p.start()
                got = q.get()
                p.join()
                s.close()
                print(got, "multiprocessing.resource_tracker" in sys.modules)
            """
        )
        self.assertEqual(out.stdout.split(), ["b'hello'", "False"])
        self.assertEqual(out.stderr, "")

    def test_forked_child_s_close_leaves_the_parent_s(self):
        a = SharedMemory(create=True, size=10)

        def child():
            a.buf[0] = 9
            a.close()  # the child's view only
            a.unlink()  # and the name: for everyone, as shm_unlink()

        self.in_child(child)
        self.assertEqual(a.buf[0], 9)
        self.assertRaises(FileNotFoundError, SharedMemory, a.name)
        a.close()
        self.assertEqual(live(self.pool), self.base)

    def test_forked_child_s_close_keeps_the_name(self):
        a = SharedMemory(create=True, size=10)

        def child():
            a.close()

        self.in_child(child)
        b = SharedMemory(a.name)  # the parent still holds the name
        b.close()
        a.close()


if __name__ == "__main__":
    unittest.main()
