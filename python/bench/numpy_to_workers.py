#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""A numpy array handed to worker processes that sum it, three ways.

    make bench-python        # in the VM: scripts/vm-run --memory 4096 -- ...
    python3 python/bench/numpy_to_workers.py [--mib 256] [--workers 4] [--runs 3]

The parent holds a float64 array (256 MiB); a multiprocessing.Pool of 4
workers (fork, started before the array exists, so that no worker
inherits it) each gets the array and sums it:

  refpool    root = refpool.dumps(arr); pool.map(f, [root] * 4), where f
             does refpool.loads(root).sum(): the array is copied once, into
             a sealed object, and each worker maps it read-only.
  pickle     pool.map(f, [arr] * 4): multiprocessing pickles the array for
             each task, sends it through a pipe, the worker unpickles a copy.
  shm        hand-written multiprocessing.shared_memory: the parent copies
             the array into a segment, the workers attach by name and wrap
             the buffer in np.ndarray; the parent unlinks it at the end.

Time: from the array in the parent to the 4 sums back in it (copies into
the shared medium included), the best of --runs runs, the runs of the three
ways interleaved. Memory, per worker, measured in the worker while it still
holds the array: how much its RSS peaked above what it was before the task
(VmHWM, reset with /proc/self/clear_refs before the task), and how much of
that growth is private (RssAnon: memory that is the worker's alone, as
opposed to the shared pages of a mapping, which RSS counts in every
process that touches them).

Goals (issue 15): refpool >= 10x faster than pickling; within 1.2x of the
hand-written shared_memory code; each worker's RSS grows by <= 5 % of the
array. Every figure printed is measured in this run. The last line is the
results as JSON, after "bench-python-json: ".
"""

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import refpool  # noqa: E402

PARAMS = "/sys/module/refpool/parameters"


# --- what a worker reports ------------------------------------------------------
def status():
    """VmRSS, VmHWM and RssAnon of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS


_before = {}


def w_ready(_):
    """A task per worker before each measured map: the barrier makes each
    of the workers take exactly one; the peak starts from here."""
    _barrier.wait(60)
    reset_peak()
    _before[os.getpid()] = status()
    return os.getpid()


def w_report(total):
    now = status()
    before = _before[os.getpid()]
    return {
        "pid": os.getpid(),
        "sum": float(total),
        "rss_peak_growth": now["VmHWM"] - before["VmRSS"],
        "private_growth": now["RssAnon"] - before["RssAnon"],
    }


def w_refpool(root):
    arr = refpool.loads(root)
    root.close()
    report = w_report(arr.sum())
    del arr
    return report


def w_pickle(arr):
    # multiprocessing unpickled arr before this ran: the peak has it
    return w_report(arr.sum())


def w_shm(args):
    from multiprocessing import resource_tracker, shared_memory

    name, shape, dtype = args
    shm = shared_memory.SharedMemory(name)
    # Python < 3.13 registers an attached segment with the resource
    # tracker too, which would unlink it when this worker exits (CPython
    # issue 82300): the usual work-around.
    resource_tracker.unregister(shm._name, "shared_memory")
    arr = np.ndarray(shape, dtype, buffer=shm.buf)
    report = w_report(arr.sum())
    del arr
    shm.close()
    return report


def _init(barrier):
    global _barrier
    _barrier = barrier


# --- the three ways, from the parent ----------------------------------------------
def way_refpool(workers, arr, n):
    root = refpool.dumps(arr)
    try:
        return workers.map(w_refpool, [root] * n, chunksize=1)
    finally:
        root.close()


def way_pickle(workers, arr, n):
    return workers.map(w_pickle, [arr] * n, chunksize=1)


def way_shm(workers, arr, n):
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=arr.nbytes)
    try:
        copy = np.ndarray(arr.shape, arr.dtype, buffer=shm.buf)
        copy[:] = arr
        del copy
        return workers.map(w_shm, [(shm.name, arr.shape, arr.dtype.str)] * n, chunksize=1)
    finally:
        shm.close()
        shm.unlink()


WAYS = {"refpool": way_refpool, "pickle": way_pickle, "shm": way_shm}


def raise_param(name, value):
    """Raise a module parameter to value if it is lower; returns the old."""
    path = os.path.join(PARAMS, name)
    with open(path) as f:
        old = int(f.read())
    if old < value:
        with open(path, "w") as f:
            f.write(str(value))
        print("bench: %s raised from %d to %d for this run" % (name, old, value))
    return old


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=256, help="array size (MiB)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    nbytes = args.mib << 20
    n = args.workers

    # One object holds the whole array: 256 MiB is over the default
    # max_object_size (64 MiB) and the default share of one user
    # (max_user_bytes, a sixteenth of RAM).
    raise_param("max_object_size", nbytes)
    raise_param("max_bytes", 2 * nbytes)
    raise_param("max_user_bytes", 2 * nbytes)

    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(n)
    workers = ctx.Pool(n, initializer=_init, initargs=(barrier,))
    arr = np.arange(nbytes // 8, dtype=np.float64)
    expected = float(arr.sum())
    print("bench: %d MiB float64 array, %d workers (fork), %d runs, %s"
          % (args.mib, n, args.runs, os.uname().release))

    results = {way: [] for way in WAYS}
    try:
        for run in range(args.runs):
            for way, fn in WAYS.items():
                pids = workers.map(w_ready, range(n), chunksize=1)
                assert len(set(pids)) == n, pids
                t0 = time.perf_counter()
                reports = fn(workers, arr, n)
                elapsed = time.perf_counter() - t0
                if any(r["sum"] != expected for r in reports):
                    sys.exit("bench: %s: a worker's sum is wrong: %r" % (way, reports))
                results[way].append({"seconds": elapsed, "workers": reports})
                print("bench: run %d %-8s %7.3f s  peak RSS growth per worker %s MiB; "
                      "private %s MiB" % (
                          run + 1, way, elapsed,
                          "/".join("%.1f" % (r["rss_peak_growth"] / 2**20) for r in reports),
                          "/".join("%.1f" % (r["private_growth"] / 2**20) for r in reports)),
                      flush=True)
    finally:
        workers.close()
        workers.join()

    def best(way):
        return min(r["seconds"] for r in results[way])

    def worst_worker(way, key):
        return max(w[key] for r in results[way] for w in r["workers"])

    summary = {
        "array_bytes": nbytes,
        "workers": n,
        "runs": args.runs,
        "kernel": os.uname().release,
        "ways": {
            way: {
                "best_seconds": best(way),
                "median_seconds": statistics.median(r["seconds"] for r in results[way]),
                "max_rss_peak_growth": worst_worker(way, "rss_peak_growth"),
                "max_private_growth": worst_worker(way, "private_growth"),
            }
            for way in WAYS
        },
    }
    speedup = best("pickle") / best("refpool")
    vs_shm = best("refpool") / best("shm")
    private = summary["ways"]["refpool"]["max_private_growth"] / nbytes
    rss = summary["ways"]["refpool"]["max_rss_peak_growth"] / nbytes
    summary["goals"] = {
        "faster_than_pickle": {"goal": ">= 10", "measured": speedup, "met": speedup >= 10},
        "vs_shared_memory": {"goal": "<= 1.2", "measured": vs_shm, "met": vs_shm <= 1.2},
        "worker_private_growth": {"goal": "<= 0.05", "measured": private, "met": private <= 0.05},
        "worker_rss_peak_growth": {"goal": "<= 0.05", "measured": rss, "met": rss <= 0.05},
    }

    print()
    print("%-8s %10s %10s %22s %22s" % ("way", "best s", "median s",
                                        "worker peak RSS +MiB", "worker private +MiB"))
    for way, s in summary["ways"].items():
        print("%-8s %10.3f %10.3f %22.1f %22.1f" % (
            way, s["best_seconds"], s["median_seconds"],
            s["max_rss_peak_growth"] / 2**20, s["max_private_growth"] / 2**20))
    print()
    g = summary["goals"]
    print("goal: refpool >= 10x faster than pickling: %.1fx: %s"
          % (speedup, "met" if g["faster_than_pickle"]["met"] else "missed"))
    print("goal: refpool within 1.2x of shared_memory: %.2fx: %s"
          % (vs_shm, "met" if g["vs_shared_memory"]["met"] else "missed"))
    print("goal: worker RSS growth <= 5 %% of the array: private %.2f %%: %s; "
          "peak RSS %.1f %% (the mapped pages, shared by every worker): %s"
          % (private * 100, "met" if g["worker_private_growth"]["met"] else "missed",
             rss * 100, "met" if g["worker_rss_peak_growth"]["met"] else "missed"))
    print("bench-python-json: " + json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
