#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""refpool in place of multiprocessing.shared_memory.

multiprocessing.shared_memory names a segment in /dev/shm that lives until
someone calls unlink(). A producer killed with SIGKILL before it unlinks
leaves the segment behind, and Python's resource_tracker either prints
"There appear to be N leaked shared_memory objects to clean up at shutdown"
or unlinks a segment that another process still uses (CPython issues
82300, 104291, 116849).

A refpool object is named by references instead: the producer creates it,
fills it through a memoryview, and publishes a token (a weak name); an
unrelated consumer looks the token up and maps the object as a zero-copy
memoryview. The object lives exactly as long as some process references
it, and the kernel drops a killed process's references itself: nothing to
unlink, nothing to track, nothing to leak.

    python3 shared_memory_replacement.py             # the demonstration
    python3 shared_memory_replacement.py --compare   # and the same with
                                                     # shared_memory
Run it where the module is loaded, e.g. in the project's VM:

    scripts/vm-run -- python3 python/examples/shared_memory_replacement.py

Exit status: 0 when every check held, 1 otherwise.
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import refpool  # noqa: E402

N = 1 << 18  # float64 values the producer shares: 2 MiB


# --- the two roles, each its own process ---------------------------------------
def producer(n):
    """Create, fill through a memoryview, publish; then wait to be killed."""
    pool = refpool.Pool()
    obj = pool.create(n * 8)
    with obj.map() as mem, mem.cast("d") as values:
        for i in range(n):
            values[i] = i * 0.5
    obj.seal()  # consumers can rely on it never changing
    print(obj.publish(), flush=True)
    sys.stdin.read()  # "work" until the parent kills us


def consumer(token, hold=False):
    """Look the token up, map it read-only, use it in place."""
    with refpool.Pool() as pool, pool.lookup(token) as obj:
        with obj.map(writable=False) as mem, mem.cast("d") as values:
            print("consumer pid %d: looked up %s: object id %d, %d bytes mapped "
                  "read-only (a zero-copy memoryview)" % (os.getpid(), token, obj.id, len(mem)))
            print("consumer: n=%d sum=%.1f first=%s"
                  % (len(values), sum(values), list(values[:3])), flush=True)
            if hold:
                # keep the object while the producer dies, then use it again
                sys.stdin.readline()
                print("consumer: the producer is gone, the object is not: "
                      "sum=%.1f refs=%d" % (sum(values), obj.refs), flush=True)


# --- the demonstration -----------------------------------------------------------
def run(*args, **kw):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__)] + list(args),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def counters(pool):
    st = pool.stats()
    return st["objects"], st["bytes"]


class Demo:
    def __init__(self):
        self.pool = refpool.Pool()
        self.base = counters(self.pool)
        self.ok = True
        self.stderr = []

    def check(self, cond, what):
        print("  %s %s" % ("ok:  " if cond else "FAIL:", what))
        self.ok &= bool(cond)

    def start_producer(self):
        prod = run("producer", str(N))
        token = prod.stdout.readline().strip()
        if not token:
            sys.exit("producer failed: " + prod.stderr.read())
        print("producer pid %d: published %d floats (%d bytes) as token %s"
              % (prod.pid, N, N * 8, token))
        objects, nbytes = counters(self.pool)
        self.check((objects, nbytes) == (self.base[0] + 1, self.base[1] + N * 8),
                   "the pool holds 1 more object, %d more bytes" % (N * 8))
        return prod, token

    def kill(self, proc):
        print("SIGKILL producer pid %d" % proc.pid)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        self.stderr.append(err)
        self.check(proc.returncode == -signal.SIGKILL, "the producer died of SIGKILL")

    def at_baseline(self, token):
        now = counters(self.pool)
        self.check(now == self.base, "the pool is back to its baseline: objects=%d bytes=%d"
                   % now)
        try:
            self.pool.lookup(token).close()
            self.check(False, "the token no longer resolves")
        except FileNotFoundError as e:
            self.check(True, "the token no longer resolves (%s)" % e.strerror)

    def scenario_consumer_then_kill(self):
        print("\n[1] the consumer reads while the producer lives; then SIGKILL the producer")
        prod, token = self.start_producer()
        cons = run("consumer", token)
        out, err = cons.communicate()
        self.stderr.append(err)
        sys.stdout.write(out)
        self.check(cons.returncode == 0, "the consumer ran")
        self.kill(prod)
        self.at_baseline(token)

    def scenario_kill_while_mapped(self):
        print("\n[2] the consumer holds a mapping while the producer is killed")
        prod, token = self.start_producer()
        cons = run("consumer", token, "--hold")
        sys.stdout.write(cons.stdout.readline() + cons.stdout.readline())
        self.kill(prod)
        now = counters(self.pool)
        self.check(now[0] == self.base[0] + 1, "the consumer's handle and mapping keep the object")
        out, err = cons.communicate("go on\n")
        self.stderr.append(err)
        sys.stdout.write(out)
        self.check(cons.returncode == 0, "the consumer used it after the producer died")
        self.at_baseline(token)

    def scenario_kill_before_lookup(self):
        print("\n[3] the producer is killed before anyone looked the object up")
        prod, token = self.start_producer()
        self.kill(prod)
        self.at_baseline(token)

    def warnings(self):
        print()
        text = "".join(self.stderr)
        self.check("resource_tracker" not in text and "leaked" not in text,
                   "no resource_tracker warning, no leak report from any process")
        if text.strip():
            print("  stderr of the children:\n" + text)


# --- the same with multiprocessing.shared_memory, for comparison --------------
def shm_producer(n):
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=n * 8)
    values = shm.buf.cast("d")
    for i in range(n):
        values[i] = i * 0.5
    print(shm.name, flush=True)
    sys.stdin.read()  # killed before it could close() and unlink()


def compare():
    from multiprocessing import shared_memory

    print("\n[compare] the same producer with multiprocessing.shared_memory, SIGKILLed")
    prod = run("shm-producer", str(N))
    name = prod.stdout.readline().strip()
    print("producer pid %d: segment /dev/shm/%s" % (prod.pid, name))
    prod.send_signal(signal.SIGKILL)
    prod.wait()
    # Its resource_tracker (a process of its own) notices and reports; read
    # until it has closed its end of stderr too.
    deadline = time.monotonic() + 10
    err = ""
    while time.monotonic() < deadline:
        line = prod.stderr.readline()
        if not line:
            break
        err += line
    print("  what shared_memory left behind:")
    for line in err.strip().splitlines():
        print("    stderr: " + line)
    path = "/dev/shm/" + name.lstrip("/")
    if os.path.exists(path):
        print("    %s still exists: leaked until reboot or unlink; unlinking it now" % path)
        try:
            seg = shared_memory.SharedMemory(name)
            seg.close()
            seg.unlink()
        except FileNotFoundError:
            pass
    else:
        print("    its resource_tracker unlinked %s after it died (a consumer "
              "still using the segment would have lost its name)" % path)


def main(argv):
    if argv[:1] == ["producer"]:
        return producer(int(argv[1]))
    if argv[:1] == ["consumer"]:
        return consumer(argv[1], hold="--hold" in argv)
    if argv[:1] == ["shm-producer"]:
        return shm_producer(int(argv[1]))
    if argv not in ([], ["--compare"]):
        sys.exit(__doc__)

    demo = Demo()
    print("refpool in place of multiprocessing.shared_memory")
    print("baseline: objects=%d bytes=%d" % demo.base)
    demo.scenario_consumer_then_kill()
    demo.scenario_kill_while_mapped()
    demo.scenario_kill_before_lookup()
    demo.warnings()
    if argv == ["--compare"]:
        compare()
    print("\n%s" % ("OK: refpool leaked nothing" if demo.ok else "FAILED"))
    return 0 if demo.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
