# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""refpool.dumps() and refpool.loads(): pickle 5 values as objects."""

import errno
import gc
import pickle
import signal
import struct
import unittest

from _testlib import PoolTest, live, needs_numpy, needs_root, numpy as np, param, run_python
from test_ndarray import mapped_from_refpool

import refpool

# What multiprocessing.shared_memory.ShareableList mangles (CPython issues
# 96779: trailing NUL bytes and characters dropped; 106939: values that
# end in NUL, and lengths measured in characters, not bytes): every one
# must come back equal, of the same type, byte for byte.
MIXED = [
    b"ends in NULs\x00\x00",
    b"\x00",
    b"",
    "ends in NUL\x00",
    "\x00",
    "",
    "ünïcödé \U0001f600",
    bytearray(b"\x00\x01\x00"),
    0,
    -1,
    2**64 + 1,
    -(2**100),
    1.5,
    -0.0,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    (1, "two", b"three"),
    {"k": [b"v\x00", 3]},
    frozenset({1, 2}),
    complex(1, -2),
]


def exact(a, b):
    """Equal values of the same type, floats compared by their bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(exact(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(exact(a[k], b[k]) for k in a)
    return a == b


class TestValues(PoolTest):
    def test_mixed_list_round_trips_byte_exact(self):
        with refpool.dumps(MIXED, self.pool) as root:
            back = refpool.loads(root)
        self.assertEqual(len(back), len(MIXED))
        for want, got in zip(MIXED, back):
            self.assertTrue(exact(want, got), "%r came back as %r" % (want, got))

    def test_mixed_list_round_trips_through_another_process(self):
        with refpool.dumps(MIXED, self.pool) as root:
            out = run_python(
                """
                import pickle, sys, refpool
                with refpool.Pool() as p, p.lookup(sys.argv[1]) as root:
                    print(pickle.dumps(refpool.loads(root), 5).hex())
                """,
                root.publish(),
            )
        back = pickle.loads(bytes.fromhex(out.stdout.strip()))
        for want, got in zip(MIXED, back):
            self.assertTrue(exact(want, got), "%r came back as %r" % (want, got))

    def test_root_is_sealed_and_has_no_slots_without_buffers(self):
        with refpool.dumps({"a": 1}, self.pool) as root:
            self.assertTrue(root.sealed)
            self.assertEqual(root.nslots, 0)
            self.assertEqual(refpool.loads(root), {"a": 1})

    def test_default_pool(self):
        with refpool.dumps([1, 2]) as root:
            self.assertIs(root.pool, refpool.default_pool())
            self.assertEqual(refpool.loads(root), [1, 2])

    def test_protocol_below_5(self):
        self.assertRaises(ValueError, refpool.dumps, 1, self.pool, protocol=4)
        self.assertEqual(live(self.pool), self.base)

    def test_loads_takes_an_object(self):
        self.assertRaises(TypeError, refpool.loads, b"not an object")

    def test_loads_refuses_an_object_dumps_did_not_make(self):
        with self.pool.create(b"x" * 100, sealed=True) as obj:
            self.assertRaises(ValueError, refpool.loads, obj)
        with self.pool.create(b"", sealed=True) as obj:
            self.assertRaises(ValueError, refpool.loads, obj)

    def test_loads_refuses_an_unsealed_root(self):
        with refpool.dumps("v", self.pool) as root:
            data = root.read()
        with self.pool.create(data) as copy:
            self.assertRaises(ValueError, refpool.loads, copy)

    def test_killed_producer_leaves_nothing(self):
        # The producer dumps, publishes, and dies by SIGKILL: the value,
        # its buffers and its token go with it.
        out = run_python(
            """
            import os, signal, numpy as np, refpool
            root = refpool.dumps([np.ones(100000), np.zeros(10), "x"])
            print(root.publish(), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
            """,
            check=False,
        )
        self.assertEqual(out.returncode, -signal.SIGKILL, out.stderr)
        self.assertEqual(out.stderr, "")
        self.assertEqual(live(self.pool), self.base)
        self.assertErrno(errno.ENOENT, self.pool.lookup, out.stdout.strip())


@needs_numpy
class TestBuffers(PoolTest):
    ARRAYS = [
        np.arange(10000, dtype=np.float64),
        np.arange(100, dtype=">i4"),
        np.array([1 + 2j, -3j], dtype=np.complex128),
        np.array([True, False, True]),
        np.zeros(0, dtype=np.int16),
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.array([(1, 2.5, b"ab")], dtype=[("a", "i4"), ("b", "f8"), ("c", "S2")]),
    ]

    def test_arrays_round_trip(self):
        with refpool.dumps(self.ARRAYS, self.pool) as root:
            back = refpool.loads(root)
        for want, got in zip(self.ARRAYS, back):
            self.assertEqual(got.dtype, want.dtype)
            self.assertEqual(got.shape, want.shape)
            self.assertEqual(got.flags.f_contiguous, want.flags.f_contiguous)
            self.assertTrue(np.array_equal(got, want))
            self.assertEqual(got.tobytes("A"), want.tobytes("A"))

    def test_each_buffer_is_a_sealed_object_of_its_own(self):
        arrays = [np.ones(1000), np.ones(10, dtype=np.int8), np.ones(5000, dtype=np.int16)]
        with refpool.dumps(arrays, self.pool) as root:
            self.assertEqual(root.nslots, 3)
            for slot, arr in enumerate(arrays):
                with root.get_link(slot) as buf:
                    self.assertTrue(buf.sealed)
                    self.assertEqual(buf.size, arr.nbytes)
                    self.assertEqual(buf.read(), arr.tobytes())

    def test_loaded_arrays_are_read_only_mappings(self):
        with refpool.dumps(np.arange(100000, dtype=np.int64), self.pool) as root:
            arr = refpool.loads(root)
        self.assertFalse(arr.flags.writeable)
        self.assertFalse(arr.flags.owndata)
        self.assertTrue(mapped_from_refpool(arr))
        self.assertEqual(int(arr[-1]), 99999)

    def test_small_buffers_are_read_only_too(self):
        with refpool.dumps(np.arange(10, dtype=np.int8), self.pool) as root:
            arr = refpool.loads(root)
        self.assertFalse(arr.flags.writeable)
        self.assertEqual(arr.tolist(), list(range(10)))

    def test_non_contiguous_array_goes_in_band(self):
        arr = np.arange(100.0)[::3]
        with refpool.dumps(arr, self.pool) as root:
            self.assertEqual(root.nslots, 0)
            self.assertTrue(np.array_equal(refpool.loads(root), arr))

    def test_picklebuffer_comes_back_as_a_read_only_memoryview(self):
        data = bytearray(b"\x00zero-copy\x00" * 1000)
        with refpool.dumps(pickle.PickleBuffer(data), self.pool) as root:
            back = refpool.loads(root)
        self.assertIsInstance(back, memoryview)
        self.assertTrue(back.readonly)
        self.assertEqual(back.tobytes(), bytes(data))

    def test_buffers_go_with_the_root(self):
        root = refpool.dumps([np.ones(5000), np.ones(7000)], self.pool)
        self.assertEqual(live(self.pool)[0], self.base[0] + 3)
        root.close()
        self.assertEqual(live(self.pool), self.base)

    def test_loaded_value_keeps_its_buffers(self):
        root = refpool.dumps([np.ones(5000), np.ones(7000)], self.pool)
        value = refpool.loads(root)
        root.close()
        # the root is gone; the mapped buffers stay while the value uses them
        self.assertEqual(live(self.pool)[0], self.base[0] + 2)
        self.assertEqual(float(value[0].sum() + value[1].sum()), 12000.0)
        del value
        gc.collect()
        self.assertEqual(live(self.pool), self.base)

    def test_one_token_names_the_value(self):
        arrays = [np.arange(50000, dtype=np.float32), np.arange(3)]
        with refpool.dumps(arrays, self.pool) as root:
            out = run_python(
                """
                import sys, refpool
                with refpool.Pool() as p, p.lookup(sys.argv[1]) as root:
                    a, b = refpool.loads(root)
                print(float(a.sum()), b.tolist(), a.flags.writeable)
                """,
                root.publish(),
            )
        self.assertEqual(out.stdout.split(), [str(float(arrays[0].sum())), "[0,", "1,", "2]",
                                              "False"])

    @needs_root
    def test_more_buffers_than_an_object_has_slots(self):
        arrays = [np.full(100, i) for i in range(10)]
        with param("max_slots", 3):
            root = refpool.dumps(arrays, self.pool)
        with root:
            self.assertLessEqual(root.nslots, 3)
            self.assertEqual(live(self.pool)[0], self.base[0] + 1 + 10 + 4 + 2)
            back = refpool.loads(root)
        self.assertEqual([int(a[0]) for a in back], list(range(10)))
        del back

    @needs_root
    def test_failed_dumps_leaves_nothing(self):
        with param("max_object_size", 4096), self.assertRaises(OSError) as cm:
            refpool.dumps([np.ones(10), np.ones(1000)], self.pool)
        self.assertEqual(cm.exception.errno, errno.EFBIG)
        self.assertIn("max_object_size", str(cm.exception))
        self.assertEqual(live(self.pool), self.base)

    def test_loads_refuses_an_unsealed_buffer(self):
        # A root made by hand whose buffer could still change under the
        # value.
        with refpool.dumps(np.ones(1000), self.pool) as good:
            data = good.read()
        root = self.pool.create(len(data), nslots=1)
        buf = self.pool.create(8000)
        with root, buf:
            root.write(0, data)
            root.link(0, buf)
            root.seal()
            self.assertRaises(ValueError, refpool.loads, root)


if __name__ == "__main__":
    unittest.main()
