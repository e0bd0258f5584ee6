#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""weakref-like use across processes: Pool.wait and Pool.watch.

A producer process makes an object, publishes its token, fills it and
seals it. The consumer, another process, holds nothing of it:

- ``await pool.wait(token, EV_SEALED)`` (asyncio, no thread) returns once
  the bytes are final, and the consumer reads them;
- ``pool.watch(token, EV_FREED, callback)`` is weakref.finalize across
  processes: the consumer keeps what it read in a cache until the
  producer's object is gone, and the callback evicts it then. The
  producer is killed with SIGKILL: it never says goodbye, the kernel
  frees its object, and the callback runs in the consumer, on the pool's
  thread, with no call from the consumer's code.

Run it where the module is loaded, e.g. in the project's VM:

    scripts/vm-run -- python3 python/examples/watch_across_processes.py

Exit status: 0 when every check held, 1 otherwise.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import refpool  # noqa: E402

SIZE = 1 << 20


def producer():
    pool = refpool.Pool()
    obj = pool.create(SIZE)
    print(obj.publish(), flush=True)
    time.sleep(0.5)  # the "work" the consumer waits for
    with obj.map() as mem:
        mem[:] = bytes(range(256)) * (SIZE // 256)
    obj.seal()
    sys.stdin.read()  # until killed: no close()


async def consumer(pool, token, cache, evicted):
    ev = await pool.wait(token, refpool.EV_SEALED, timeout=60)
    with pool.lookup(token) as obj:
        cache[token] = obj.read()
    print("sealed: object %d, %d bytes read" % (ev.id, len(cache[token])))

    def evict(event):  # on the pool's thread
        del cache[event.target]
        evicted.set()

    pool.watch(token, refpool.EV_FREED, evict)


def main():
    ok = True

    def check(cond, what):
        nonlocal ok
        print("  %s %s" % ("ok:  " if cond else "FAIL:", what))
        ok &= bool(cond)

    prod = subprocess.Popen([sys.executable, os.path.abspath(__file__), "producer"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    token = prod.stdout.readline().strip()
    cache, evicted = {}, threading.Event()
    with refpool.Pool() as pool:
        asyncio.run(consumer(pool, token, cache, evicted))
        check(cache.get(token) == bytes(range(256)) * (SIZE // 256),
              "the consumer read the sealed bytes")

        t0 = time.monotonic()
        prod.send_signal(signal.SIGKILL)
        check(evicted.wait(60), "the callback ran after the producer's SIGKILL (%.3f s)"
              % (time.monotonic() - t0))
        check(token not in cache, "it evicted the entry")
        prod.wait()
        check(prod.returncode == -signal.SIGKILL, "the producer died of SIGKILL")
        try:
            pool.lookup(token)
            check(False, "the token no longer resolves")
        except FileNotFoundError:
            check(True, "the token no longer resolves")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["producer"]:
        producer()
    else:
        sys.exit(main())
