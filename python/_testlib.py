# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""What the test modules share (not a test module itself)."""

import gc
import os
import subprocess
import sys
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import refpool  # noqa: E402

DEVICE = refpool._lib.secure_getenv("REFPOOL_DEVICE") or "/dev/refpool"
HAVE_DEVICE = os.path.exists(DEVICE)
PARAMS = "/sys/module/refpool/parameters"
NOBODY = 65534

try:
    import numpy
except ImportError:
    numpy = None

needs_device = unittest.skipUnless(HAVE_DEVICE, "no %s: load the module (scripts/vm-run)" % DEVICE)
needs_numpy = unittest.skipIf(numpy is None, "no numpy (Debian: python3-numpy)")
needs_root = unittest.skipUnless(os.geteuid() == 0, "needs root (setresuid, module parameters)")


def live(pool):
    """(objects, bytes) of the pool now."""
    st = pool.stats()
    return st["objects"], st["bytes"]


def run_python(code, *args, check=True, env=None, **kw):
    """Run code in a new interpreter that imports this tree's refpool;
    returns the CompletedProcess (text)."""
    full = "import sys; sys.path.insert(0, %r)\n" % HERE + textwrap.dedent(code)
    out = subprocess.run(
        [sys.executable, "-c", full] + list(args),
        cwd=HERE,
        capture_output=True,
        text=True,
        env=env,
        **kw
    )
    if check and out.returncode != 0:
        raise AssertionError("child failed (%d):\n%s%s" % (out.returncode, out.stdout, out.stderr))
    return out


class param:
    """with param("max_slots", 4): a module parameter, restored after."""

    def __init__(self, name, value):
        self.path = os.path.join(PARAMS, name)
        self.value = str(value)

    def __enter__(self):
        with open(self.path) as f:
            self.old = f.read().strip()
        with open(self.path, "w") as f:
            f.write(self.value)

    def __exit__(self, *exc):
        with open(self.path, "w") as f:
            f.write(self.old)


@needs_device
class PoolTest(unittest.TestCase):
    """A pool per test, and a check that the test left the pool's
    counters where it found them."""

    def setUp(self):
        self.pool = refpool.Pool()
        self.base = live(self.pool)

    def tearDown(self):
        self.pool.close()
        refpool.default_pool().close()
        gc.collect()
        with refpool.Pool() as p:
            self.assertEqual(live(p), self.base, "the test leaked objects")

    def assertErrno(self, err, fn, *args, **kw):
        with self.assertRaises(OSError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.errno, err)
        self.assertEqual(cm.exception.strerror, refpool.strerror(err))
        return cm.exception

    def in_child(self, fn, uid=None):
        """Run fn() in a forked child (as uid, with setresuid, if given);
        fail with what it raised. The child leaves with os._exit: no
        cleanup of the parent's state runs twice."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            status = 1
            try:
                if uid is not None:
                    os.setgroups([])
                    os.setresgid(uid, uid, uid)
                    os.setresuid(uid, uid, uid)
                fn()
                status = 0
            except BaseException:
                import traceback

                os.write(w, traceback.format_exc().encode())
            finally:
                os._exit(status)
        os.close(w)
        with os.fdopen(r) as f:
            err = f.read()
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, err)
