# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Tests of the refpool Python binding (stdlib unittest only).

They need the module loaded: run them in the project's VM,

    scripts/vm-run -- python3 -m unittest discover -s python -v

or `make python-test`. Without /dev/refpool (or $REFPOOL_DEVICE) every
test that needs the device is skipped.
"""

import ctypes
import errno
import gc
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import unittest

from _testlib import HERE, PoolTest, live, needs_root, run_python  # noqa: E402

import refpool  # noqa: E402


class TestLibrary(unittest.TestCase):
    """What works without the device."""

    def test_library_found(self):
        self.assertTrue(refpool._lib.lib_path)

    def test_refpool_lib_env(self):
        # $REFPOOL_LIB wins, and a wrong one is an ImportError, not a
        # silent fallback.
        code = "import refpool; print(refpool._lib.lib_path)"
        env = dict(os.environ, REFPOOL_LIB=refpool._lib.lib_path)
        out = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env,
                             capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), refpool._lib.lib_path)
        env["REFPOOL_LIB"] = "/nonexistent/librefpool.so.0"
        out = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env,
                             capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("ImportError", out.stderr)

    def lib_path_of_child(self, *python_args, **kw):
        """What lib_path a new interpreter ends with, $REFPOOL_LIB naming
        a library that does not exist (a wrong one that were used would
        be an ImportError)."""
        code = ("import sys; sys.path.insert(0, %r); import refpool; "
                "print(refpool._lib.lib_path)" % HERE)
        env = dict(os.environ, REFPOOL_LIB="/nonexistent/librefpool.so.0")
        out = subprocess.run([sys.executable] + list(python_args) + ["-c", code],
                             cwd="/", env=env, capture_output=True, text=True, **kw)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.strip()

    def test_refpool_lib_ignored_under_E(self):
        self.assertNotEqual(self.lib_path_of_child("-E"), "/nonexistent/librefpool.so.0")

    def test_refpool_lib_ignored_under_I(self):
        self.assertNotEqual(self.lib_path_of_child("-I"), "/nonexistent/librefpool.so.0")

    @needs_root
    def test_refpool_lib_ignored_when_setuid(self):
        # real uid nobody, effective root: what a setuid-root program runs as
        path = self.lib_path_of_child(preexec_fn=lambda: os.setresuid(65534, 0, 0))
        self.assertNotEqual(path, "/nonexistent/librefpool.so.0")

    @needs_root
    def test_refpool_lib_ignored_when_setgid(self):
        path = self.lib_path_of_child(preexec_fn=lambda: os.setresgid(65534, 0, 0))
        self.assertNotEqual(path, "/nonexistent/librefpool.so.0")

    def test_version_is_the_makefile_s(self):
        with open(os.path.join(HERE, os.pardir, "Makefile")) as f:
            version = [line.split(":=")[1].strip() for line in f
                       if line.startswith("VERSION :=")][0]
        self.assertEqual(refpool.__version__, version)

    def test_strerror(self):
        self.assertEqual(refpool.strerror(-errno.EPERM), "Object is sealed")
        self.assertEqual(refpool.strerror(errno.EPERM), "Object is sealed")
        self.assertEqual(refpool.strerror(-99999), "Unknown error")

    def test_open_missing_device(self):
        with self.assertRaises(FileNotFoundError) as cm:
            refpool.Pool("/nonexistent/refpool")
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertEqual(cm.exception.filename, "/nonexistent/refpool")

    def test_bad_token_text(self):
        # parsed in the library before any session is involved
        with self.assertRaises(OSError) as cm:
            refpool._token("not a token")
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        tok = refpool._token("00112233445566778899aabbccddeeff")
        self.assertEqual(refpool._token_str(tok), "00112233445566778899aabbccddeeff")
        self.assertEqual(refpool._token_str(refpool._token(bytes(range(16)))),
                         "000102030405060708090a0b0c0d0e0f")


class TestObjects(PoolTest):
    def test_pool_context_and_close(self):
        with refpool.Pool() as p:
            self.assertFalse(p.closed)
            self.assertGreaterEqual(p.fileno(), 0)
            obj = p.create(10)
        self.assertTrue(p.closed)
        self.assertTrue(obj.closed)
        self.assertRaises(ValueError, p.create, 1)
        self.assertRaises(ValueError, obj.read)
        obj.close()  # the session took the handle with it: no error
        p.close()  # idempotent

    def test_create_zero_filled(self):
        with self.pool.create(100) as obj:
            self.assertEqual(obj.size, 100)
            self.assertEqual(len(obj), 100)
            self.assertEqual(obj.read(), bytes(100))
            self.assertEqual(obj.refs, 1)
            self.assertEqual(obj.flags, 0)
            self.assertFalse(obj.sealed)
            self.assertFalse(obj.interned)
            self.assertGreaterEqual(obj.id, 1)
            self.assertEqual(self.pool.stats()["session_handles"], 1)
            self.assertEqual(live(self.pool), (self.base[0] + 1, self.base[1] + 100))
        self.assertEqual(live(self.pool), self.base)

    def test_create_from_bytes_like(self):
        for data in (b"hello", bytearray(b"hello"), memoryview(b"xhellox")[1:6]):
            with self.pool.create(data) as obj:
                self.assertEqual(obj.read(), b"hello")
        with self.pool.create(b"") as obj:
            self.assertEqual(obj.size, 0)
            self.assertEqual(obj.read(), b"")

    def test_create_with_slots_and_data(self):
        with self.pool.create(b"abc", nslots=3, sealed=True) as obj:
            self.assertEqual(obj.nslots, 3)
            self.assertTrue(obj.sealed)
            self.assertEqual(obj.read(), b"abc")

    def test_create_errors(self):
        limit = self.pool.stats()["max_object_size"]
        self.assertErrno(errno.EFBIG, self.pool.create, limit + 1)
        self.assertErrno(errno.EFBIG, self.pool.create, 1,
                         nslots=self.pool.stats()["max_slots"] + 1)
        self.assertRaises(ValueError, self.pool.create, -1)
        self.assertEqual(live(self.pool), self.base)

    def test_read_write(self):
        with self.pool.create(8) as obj:
            self.assertEqual(obj.write(2, b"abc"), 3)
            self.assertEqual(obj.read(), b"\0\0abc\0\0\0")
            self.assertEqual(obj.read(2, 3), b"abc")
            self.assertEqual(obj.read(6), b"\0\0")
            self.assertEqual(obj.read(6, 100), b"\0\0")
            self.assertEqual(obj.read(8), b"")
            self.assertEqual(obj.read(1000), b"")
            buf = bytearray(4)
            self.assertEqual(obj.readinto(buf, 2), 4)
            self.assertEqual(buf, b"abc\0")
            self.assertEqual(obj.write(0, memoryview(bytearray(b"XY"))), 2)
            self.assertEqual(bytes(obj), b"XYabc\0\0\0")
            # all or nothing past the end
            self.assertErrno(errno.ERANGE, obj.write, 6, b"abc")
            self.assertEqual(bytes(obj), b"XYabc\0\0\0")

    def test_seal(self):
        with self.pool.create(b"data") as obj:
            obj.seal()
            obj.seal()  # again: nothing
            self.assertTrue(obj.sealed)
            e = self.assertErrno(errno.EPERM, obj.write, 0, b"x")
            self.assertIsInstance(e, PermissionError)
            self.assertEqual(obj.read(), b"data")
        with self.pool.create(b"data", sealed=True) as obj:
            self.assertTrue(obj.sealed)

    def test_dup_and_put(self):
        obj = self.pool.create(b"x")
        dup = obj.dup()
        self.assertNotEqual(dup.handle, obj.handle)
        self.assertEqual(dup.id, obj.id)
        self.assertEqual(obj.refs, 2)
        obj.put()
        obj.put()  # idempotent
        self.assertRaises(ValueError, obj.read)
        self.assertEqual(dup.refs, 1)
        self.assertEqual(dup.read(), b"x")
        dup.close()

    def test_bad_handle_is_ebadf(self):
        obj = self.pool.create(b"x")
        # drop the handle behind the wrapper's back
        self.assertEqual(refpool.lib.rp_put(self.pool._p, obj.handle), 0)
        e = self.assertErrno(errno.EBADF, obj.read)
        self.assertEqual(str(e), "[Errno %d] Bad handle or file descriptor" % errno.EBADF)
        self.assertErrno(errno.EBADF, obj.close)

    def test_wrapper_gc_drops_handle(self):
        obj = self.pool.create(1000)
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        del obj
        gc.collect()
        self.assertEqual(live(self.pool), self.base)

    def test_repr(self):
        with self.pool.create(b"abc", sealed=True) as obj:
            self.assertRegex(repr(obj), r"<refpool.Object id=\d+ size=3 refs=1 nslots=0 sealed>")
        self.assertEqual(repr(obj), "<refpool.Object closed>")
        self.assertRegex(repr(self.pool), r"<refpool.Pool fd=\d+>")


class TestModel(PoolTest):
    def test_intern(self):
        value = b"4:" + os.urandom(8).hex().encode()  # no one has it yet
        hits = self.pool.stats()["intern_hits"]
        a = self.pool.intern(value)
        with refpool.Pool() as other:
            b = other.intern(bytearray(value))
            self.assertEqual(a.id, b.id)
            self.assertFalse(a.existed)
            self.assertTrue(b.existed)
            self.assertTrue(b.interned)
            self.assertTrue(b.sealed)
            self.assertEqual(self.pool.stats()["intern_hits"], hits + 1)
            self.assertErrno(errno.EPERM, b.write, 0, b"5")
        c = self.pool.intern(value + b"5")
        self.assertNotEqual(c.id, a.id)
        a.close()
        c.close()

    def test_links(self):
        parent = self.pool.create(0, nslots=2)
        child = self.pool.create(b"child")
        cid = child.id
        parent.link(1, child)
        child.close()
        self.assertEqual(live(self.pool)[0], self.base[0] + 2)  # the link holds it
        self.assertIsNone(parent.get_link(0))
        got = parent.get_link(1)
        self.assertEqual(got.id, cid)
        self.assertEqual(got.read(), b"child")
        self.assertEqual(got.refs, 2)  # the link and this handle
        got.close()
        self.assertErrno(errno.ERANGE, parent.link, 2, parent)
        self.assertErrno(errno.ERANGE, parent.get_link, 2)
        parent.link(1, None)  # the child's last reference goes
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        parent.seal()
        self.assertErrno(errno.EPERM, parent.link, 0, parent)
        parent.close()

    def test_gc_collects_a_cycle(self):
        a = self.pool.create(16, nslots=1)
        b = self.pool.create(16, nslots=1)
        a.link(0, b)
        b.link(0, a)
        a.close()
        b.close()
        self.assertEqual(live(self.pool), (self.base[0] + 2, self.base[1] + 32))
        runs = self.pool.stats()["gc_runs"]
        self.assertGreaterEqual(self.pool.gc(), 2)
        self.assertGreater(self.pool.stats()["gc_runs"], runs)
        self.assertEqual(live(self.pool), self.base)

    def test_stats(self):
        st = self.pool.stats()
        # the library fills the whole struct: uapi's struct refpool_stats
        self.assertEqual(list(st), list(refpool.STATS_FIELDS))
        self.assertEqual(refpool.STATS_FIELDS[:3], ("objects", "bytes", "interned"))
        self.assertTrue(all(isinstance(v, int) for v in st.values()))
        self.assertGreater(st["max_objects"], 0)
        self.assertEqual(st["session_handles"], 0)


class TestSharing(PoolTest):
    def test_publish_lookup(self):
        obj = self.pool.create(b"shared")
        tok = obj.publish()
        self.assertRegex(tok, r"^[0-9a-f]{32}$")
        self.assertEqual(obj.publish(), tok)  # one token per namespace
        with refpool.Pool() as other:
            with other.lookup(tok) as got:
                self.assertEqual(got.id, obj.id)
                self.assertEqual(got.read(), b"shared")
            with other.lookup(tok.upper()) as got:
                self.assertEqual(got.id, obj.id)
            obj.close()
            # weak: gone with its last reference
            e = self.assertErrno(errno.ENOENT, other.lookup, tok)
            self.assertIsInstance(e, FileNotFoundError)

    def test_pin_outlives_the_session(self):
        with refpool.Pool() as p:
            tok = p.create(b"pinned").pin()
        with refpool.Pool() as p, p.lookup(tok) as obj:
            self.assertEqual(obj.read(), b"pinned")
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        self.pool.unpin(tok)
        self.assertErrno(errno.ENOENT, self.pool.unpin, tok)
        self.assertErrno(errno.ENOENT, self.pool.lookup, tok)

    def test_export_import(self):
        with self.pool.create(b"file") as obj:
            fd = obj.export()
            try:
                self.assertTrue(os.get_inheritable(fd) is False)
                self.assertEqual(obj.refs, 2)
                with refpool.Pool() as other, other.import_fd(fd) as got:
                    self.assertEqual(got.id, obj.id)
            finally:
                os.close(fd)
            self.assertEqual(obj.refs, 1)
            r, w = os.pipe()
            try:
                self.assertErrno(errno.EINVAL, self.pool.import_fd, r)
            finally:
                os.close(r)
                os.close(w)
            self.assertErrno(errno.EBADF, self.pool.import_fd, 9999)

    def test_send_recv(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b, self.pool.create(b"sent") as obj:
            obj.send(a)
            with refpool.Pool() as other, other.recv(b.fileno()) as got:
                self.assertEqual(got.id, obj.id)
                self.assertEqual(got.read(), b"sent")
            a.close()
            self.assertErrno(errno.EPIPE, self.pool.recv, b)


class TestMap(PoolTest):
    def test_map_is_zero_copy(self):
        with self.pool.create(b"hello world") as obj:
            with obj.map() as mem:
                self.assertIsInstance(mem, memoryview)
                self.assertEqual(len(mem), 11)
                self.assertFalse(mem.readonly)
                self.assertEqual(bytes(mem), b"hello world")
                mem[0:5] = b"HELLO"
                self.assertEqual(obj.read(0, 5), b"HELLO")
                obj.write(6, b"WORLD")
                self.assertEqual(bytes(mem[6:]), b"WORLD")

    def test_map_read_only(self):
        with self.pool.create(b"abc", sealed=True) as obj:
            e = self.assertErrno(errno.EPERM, obj.map)
            self.assertIsInstance(e, PermissionError)
            with obj.map(writable=False) as mem:
                self.assertTrue(mem.readonly)
                self.assertEqual(bytes(mem), b"abc")
                with self.assertRaises(TypeError):
                    mem[0] = 0

    def test_seal_while_mapped(self):
        with self.pool.create(4096) as obj:
            mem = obj.map()
            self.assertErrno(errno.EBUSY, obj.seal)
            mem.release()
            obj.seal()

    def test_mapping_keeps_the_object(self):
        obj = self.pool.create(b"kept alive")
        mem = obj.map(writable=False)
        obj.close()
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        self.assertEqual(bytes(mem), b"kept alive")
        view = mem[0:4]  # a second view of the same mapping
        mem.release()
        self.assertEqual(live(self.pool)[0], self.base[0] + 1)
        self.assertEqual(bytes(view), b"kept")
        view.release()
        self.assertEqual(live(self.pool), self.base)

    def test_map_empty_and_large(self):
        with self.pool.create(0) as obj:
            self.assertErrno(errno.EINVAL, obj.map)
        size = 3 * mmap.PAGESIZE + 5
        with self.pool.create(size) as obj, obj.map() as mem:
            mem[-1] = 0x7F
            self.assertEqual(obj.read(size - 1), b"\x7f")
            floats = mem[: 3 * mmap.PAGESIZE].cast("d")
            floats[1] = 2.5
            self.assertEqual(struct.unpack("d", obj.read(8, 8)), (2.5,))
            floats.release()


class TestObjectThreads(PoolTest):
    def test_close_waits_for_the_call_in_flight(self):
        # A call is in flight on obj (held inside the binding) while
        # another thread closes obj and creates objects: the call must
        # still reach obj's object, and the handle go only when it ends.
        obj = self.pool.create(b"first")
        first_id = obj.id
        inside, go_on, seen = threading.Event(), threading.Event(), []

        def in_flight(p, h):
            inside.set()
            go_on.wait(10)
            info = refpool._lib.Info()
            ret = refpool.lib.rp_info_sz(p, h, ctypes.byref(info), ctypes.sizeof(info))
            seen.append((ret, info.id))
            return 0

        t = threading.Thread(target=obj._call, args=(in_flight,))
        t.start()
        self.assertTrue(inside.wait(10))
        obj.close()
        self.assertTrue(obj.closed)
        self.assertRaises(ValueError, obj.read)
        others = [self.pool.create(b"other") for _ in range(8)]
        # the handle is still held: the object is still there
        self.assertEqual(live(self.pool)[0], self.base[0] + 9)
        go_on.set()
        t.join()
        self.assertEqual(seen, [(0, first_id)])
        self.assertEqual(live(self.pool)[0], self.base[0] + 8)
        for o in others:
            o.close()

    def test_close_under_many_threads(self):
        obj = self.pool.create(b"t" * 64)
        errors = []
        start = threading.Barrier(5)

        def user():
            start.wait()
            try:
                for _ in range(300):
                    if obj.read(0, 8) != b"t" * 8:
                        errors.append("another object's bytes")
                    obj.info()
            except ValueError:
                pass  # closed under us: the expected way out
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=user) for _ in range(4)]
        for t in threads:
            t.start()
        start.wait()
        obj.close()
        decoys = [self.pool.create(b"d" * 64) for _ in range(20)]
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for d in decoys:
            d.close()


class TestProcesses(PoolTest):
    def test_sigkill_leaks_nothing(self):
        # A process that creates, maps, publishes and links objects, then
        # dies by SIGKILL: everything it held goes with it.
        code = textwrap.dedent("""
            import os, signal, sys
            import refpool
            p = refpool.Pool()
            objs = [p.create(4096) for _ in range(20)]
            mem = objs[0].map()
            tok = objs[1].publish()
            a = p.create(0, nslots=1); b = p.create(0, nslots=1)
            a.link(0, b)
            print(tok, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """)
        out = subprocess.run([sys.executable, "-c", code], cwd=HERE,
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, -signal.SIGKILL, out.stderr)
        self.assertEqual(live(self.pool), self.base)
        self.assertErrno(errno.ENOENT, self.pool.lookup, out.stdout.strip())

    def test_fork_child_does_not_drop_parent_handles(self):
        obj = self.pool.create(b"parent's")
        pid = os.fork()
        if pid == 0:
            # The child shares the session. Its copy of the wrapper is
            # collected without dropping the handle the parent uses.
            try:
                ok = obj.read() == b"parent's"
                del obj
                gc.collect()
                os._exit(0 if ok else 1)
            finally:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        self.assertTrue(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status)
        self.assertEqual(obj.read(), b"parent's")
        obj.close()

    def test_threads(self):
        pool = refpool.Pool()
        obj = pool.create(b"t" * 4096)
        errors = []

        def reader():
            try:
                for _ in range(200):
                    if obj.read(0, 16) != b"t" * 16:
                        errors.append("bad read")
            except ValueError:
                pass  # closed under us: the expected way out
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        pool.close()  # deferred until the calls in flight return
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertTrue(pool.closed)


if __name__ == "__main__":
    unittest.main()
