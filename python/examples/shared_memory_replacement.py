#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""refpool.SharedMemory in place of multiprocessing.shared_memory.SharedMemory.

The producer and the consumer below are ordinary shared_memory code; the
only refpool line is the import. multiprocessing.shared_memory names a
segment in /dev/shm that lives until someone calls unlink(): a producer
killed with SIGKILL before it unlinks leaves the segment behind, and
Python's resource_tracker either prints "There appear to be N leaked
shared_memory objects to clean up at shutdown" or unlinks a segment that
another process still uses (CPython issues 82300, 104291, 129999).

refpool.SharedMemory's memory is reference-counted by the kernel instead:
it lives exactly as long as some process has it open, and the kernel
drops a killed process's references itself: nothing to unlink, nothing to
track, nothing to leak.

    python3 shared_memory_replacement.py             # the demonstration
    python3 shared_memory_replacement.py --compare   # and the same producer
                                                     # with shared_memory
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

N = 1 << 18  # float64 values the producer shares: 2 MiB


def shared_memory_class(kind):
    if kind == "refpool":
        from refpool import SharedMemory  # the one line that changes
    else:
        from multiprocessing.shared_memory import SharedMemory
    return SharedMemory


# --- the two roles, each its own process: plain shared_memory code -------------
def producer(SharedMemory, n):
    """Create, fill, hand the name over; then wait to be killed."""
    shm = SharedMemory(create=True, size=n * 8)
    values = shm.buf.cast("d")
    for i in range(n):
        values[i] = i * 0.5
    print(shm.name, flush=True)
    sys.stdin.read()  # "work" until the parent kills us: no close(), no unlink()


def consumer(SharedMemory, name, hold=False):
    """Attach by name and use the memory in place."""
    shm = SharedMemory(name)
    values = shm.buf.cast("d")
    print("consumer pid %d: attached %s: %d bytes" % (os.getpid(), name, shm.size))
    print("consumer: n=%d sum=%.1f first=%s" % (len(values), sum(values), list(values[:3])),
          flush=True)
    if hold:
        # keep it while the producer dies, then use it again
        sys.stdin.readline()
        print("consumer: the producer is gone, the memory is not: sum=%.1f" % sum(values),
              flush=True)
    values.release()
    shm.close()


# --- the demonstration ------------------------------------------------------------
def run(*args):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__)] + list(args),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Demo:
    def __init__(self):
        import refpool

        self.pool = refpool.Pool()
        self.base = self.counters()
        self.ok = True
        self.stderr = []

    def counters(self):
        st = self.pool.stats()
        return st["objects"], st["bytes"]

    def check(self, cond, what):
        print("  %s %s" % ("ok:  " if cond else "FAIL:", what))
        self.ok &= bool(cond)

    def start_producer(self):
        prod = run("producer", "refpool", str(N))
        name = prod.stdout.readline().strip()
        if not name:
            sys.exit("producer failed: " + prod.stderr.read())
        print("producer pid %d: %d floats (%d bytes) in SharedMemory %s"
              % (prod.pid, N, N * 8, name))
        objects, nbytes = self.counters()
        # the memory, and the name's object (no payload) that leads to it
        self.check((objects, nbytes) == (self.base[0] + 2, self.base[1] + N * 8),
                   "the pool holds the segment: 2 more objects, %d more bytes" % (N * 8))
        return prod, name

    def kill(self, proc):
        print("SIGKILL producer pid %d" % proc.pid)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        self.stderr.append(err)
        self.check(proc.returncode == -signal.SIGKILL, "the producer died of SIGKILL")

    def at_baseline(self, name):
        from refpool import SharedMemory

        now = self.counters()
        self.check(now == self.base, "the pool is back to its baseline: objects=%d bytes=%d"
                   % now)
        try:
            SharedMemory(name).close()
            self.check(False, "the name no longer resolves")
        except FileNotFoundError as e:
            self.check(True, "the name no longer resolves (%s)" % e.strerror)

    def scenario_consumer_then_kill(self):
        print("\n[1] a consumer attaches while the producer lives; then SIGKILL the producer")
        prod, name = self.start_producer()
        cons = run("consumer", "refpool", name)
        out, err = cons.communicate()
        self.stderr.append(err)
        sys.stdout.write(out)
        self.check(cons.returncode == 0, "the consumer ran")
        self.kill(prod)
        self.at_baseline(name)

    def scenario_kill_while_attached(self):
        print("\n[2] the consumer holds the memory while the producer is killed")
        prod, name = self.start_producer()
        cons = run("consumer", "refpool", name, "--hold")
        sys.stdout.write(cons.stdout.readline() + cons.stdout.readline())
        self.kill(prod)
        self.check(self.counters()[1] == self.base[1] + N * 8,
                   "the consumer's mapping keeps the memory")
        out, err = cons.communicate("go on\n")
        self.stderr.append(err)
        sys.stdout.write(out)
        self.check(cons.returncode == 0, "the consumer used it after the producer died")
        self.at_baseline(name)

    def scenario_kill_before_attach(self):
        print("\n[3] the producer is killed before anyone attached")
        prod, name = self.start_producer()
        self.kill(prod)
        self.at_baseline(name)

    def warnings(self):
        print()
        text = "".join(self.stderr)
        self.check("resource_tracker" not in text and "leaked" not in text,
                   "no resource_tracker warning, no leak report from any process")
        if text.strip():
            print("  stderr of the children:\n" + text)


# --- the same producer with multiprocessing.shared_memory, for contrast ---------
def compare():
    from multiprocessing import shared_memory

    print("\n[compare] the same producer with multiprocessing.shared_memory, SIGKILLed")
    prod = run("producer", "shm", str(N))
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
        return producer(shared_memory_class(argv[1]), int(argv[2]))
    if argv[:1] == ["consumer"]:
        return consumer(shared_memory_class(argv[1]), argv[2], hold="--hold" in argv)
    if argv not in ([], ["--compare"]):
        sys.exit(__doc__)

    demo = Demo()
    print("refpool.SharedMemory in place of multiprocessing.shared_memory.SharedMemory")
    print("baseline: objects=%d bytes=%d" % demo.base)
    demo.scenario_consumer_then_kill()
    demo.scenario_kill_while_attached()
    demo.scenario_kill_before_attach()
    demo.warnings()
    if argv == ["--compare"]:
        compare()
    print("\n%s" % ("OK: refpool leaked nothing" if demo.ok else "FAILED"))
    return 0 if demo.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
