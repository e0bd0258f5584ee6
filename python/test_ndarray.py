# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Object.ndarray(): numpy arrays over an object's pages."""

import gc
import subprocess
import sys
import unittest

from _testlib import HERE, PoolTest, live, needs_numpy, numpy as np



def mapped_from_refpool(arr):
    """True when arr's first byte lies in a mapping of a refpool object
    (an exported object file: anon_inode:[refpool]), i.e. not a copy."""
    addr = arr.__array_interface__["data"][0]
    with open("/proc/self/maps") as f:
        for line in f:
            span, _, rest = line.partition(" ")
            lo, hi = (int(x, 16) for x in span.split("-"))
            if lo <= addr < hi:
                return rest.rstrip().endswith("anon_inode:[refpool]")
    return False


@needs_numpy
class TestNdarray(PoolTest):
    def test_writable_view_of_an_unsealed_object(self):
        with self.pool.create(8 * 100) as obj:
            arr = obj.ndarray(np.float64)
            self.assertEqual(arr.shape, (100,))
            self.assertTrue(arr.flags.writeable)
            arr[:] = np.arange(100) * 0.5
            # the writes are the object's bytes: no copy in between
            self.assertEqual(obj.read(8 * 99, 8), np.float64(49.5).tobytes())
            self.assertTrue(mapped_from_refpool(arr))
            del arr

    def test_read_only_view_of_a_sealed_object(self):
        data = np.arange(64, dtype=np.int32)
        with self.pool.create(data.tobytes(), sealed=True) as obj:
            arr = obj.ndarray(np.int32)
            self.assertFalse(arr.flags.writeable)
            self.assertTrue(np.array_equal(arr, data))
            with self.assertRaises(ValueError):
                arr[0] = 1
            self.assertTrue(mapped_from_refpool(arr))

    def test_shape(self):
        with self.pool.create(4 * 12) as obj:
            arr = obj.ndarray("<u4", (3, 4))
            self.assertEqual(arr.shape, (3, 4))
            arr[2, 3] = 0xDEADBEEF
            self.assertEqual(obj.read(44, 4), b"\xef\xbe\xad\xde")

    def test_shape_smaller_than_the_payload(self):
        with self.pool.create(100) as obj:
            self.assertEqual(obj.ndarray(np.uint8, (10,)).shape, (10,))

    def test_shape_larger_than_the_payload(self):
        with self.pool.create(100) as obj:
            self.assertRaises(TypeError, obj.ndarray, np.uint8, (101,))

    def test_size_not_a_multiple_of_the_dtype(self):
        with self.pool.create(10) as obj:
            self.assertRaises(ValueError, obj.ndarray, np.float64)

    def test_empty_object(self):
        with self.pool.create(0) as obj:
            arr = obj.ndarray(np.float64)
            self.assertEqual(arr.shape, (0,))
        with self.pool.create(0, sealed=True) as obj:
            self.assertFalse(obj.ndarray(np.float64).flags.writeable)

    def test_array_keeps_the_object(self):
        obj = self.pool.create(4096)
        arr = obj.ndarray(np.uint8)
        obj.close()
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        arr[0] = 1
        view = arr[10:20]  # a view keeps the mapping too
        del arr
        gc.collect()
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        del view
        gc.collect()
        self.assertEqual(live(self.pool), self.base)

    def test_seal_while_a_writable_array_exists(self):
        with self.pool.create(4096) as obj:
            arr = obj.ndarray(np.uint8)
            self.assertErrno(16, obj.seal)  # EBUSY
            del arr
            gc.collect()
            obj.seal()

    def test_another_process_sees_the_writes(self):
        with self.pool.create(8 * 1000) as obj:
            arr = obj.ndarray(np.int64)
            token = obj.publish()
            code = (
                "import sys; sys.path.insert(0, %r)\n"
                "import numpy as np, refpool\n"
                "with refpool.Pool() as p, p.lookup(sys.argv[1]) as o:\n"
                "    a = o.ndarray(np.int64)\n"
                "    a[:] = np.arange(1000)\n"
                "    del a\n" % HERE
            )
            subprocess.run([sys.executable, "-c", code, token], check=True)
            self.assertEqual(int(arr.sum()), 999 * 1000 // 2)
            del arr

    def test_numpy_is_imported_lazily(self):
        code = "import sys; sys.path.insert(0, %r); import refpool; print('numpy' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code % HERE], capture_output=True,
                             text=True, check=True)
        self.assertEqual(out.stdout.strip(), "False")


if __name__ == "__main__":
    unittest.main()
