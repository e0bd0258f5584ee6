#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""A multiprocessing.Pool over a large numpy array, without copying it.

multiprocessing pickles every argument: pool.map(f, [arr] * 4) copies the
array through a pipe into every worker (and protocol 5's out-of-band
buffers cannot help, multiprocessing has no way to send them). Here the
parent stores the array once with refpool.dumps() - a sealed object the
kernel holds - and hands the workers that object: what travels is a file
descriptor, and each worker's refpool.loads() maps the same pages
read-only. Nothing to unlink afterwards: the object goes with its last
reference, whichever process drops it, even if one is killed.

    python3 pool_map_numpy.py [--mib 32] [--workers 4] [--start-method fork|spawn|forkserver|all]

Run it where the module is loaded, e.g. in the project's VM:

    scripts/vm-run -- python3 python/examples/pool_map_numpy.py --start-method all

Exit status: 0 when every check held, 1 otherwise.
"""

import argparse
import multiprocessing as mp
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import refpool  # noqa: E402


def in_place(arr):
    """Whether arr's memory is a mapping of a refpool object, not a copy."""
    addr = arr.__array_interface__["data"][0]
    with open("/proc/self/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= addr < hi:
                return line.rstrip().endswith("anon_inode:[refpool]")
    return False


def column_stats(task):
    """A worker: mean and max of a band of rows of the shared matrix."""
    root, start, stop = task
    matrix = refpool.loads(root)  # maps the pages: no copy
    root.close()  # the mapping keeps the object alive; the handle is not needed
    band = matrix[start:stop]
    mapped = in_place(matrix) and not matrix.flags.writeable
    return mapped, band.mean(axis=0), band.max(axis=0)


def run(method, matrix, workers):
    pool = refpool.Pool()
    base = pool.stats()["objects"]
    root = refpool.dumps(matrix, pool)  # one copy, into the kernel
    rows = matrix.shape[0]
    bands = [(root, i * rows // workers, (i + 1) * rows // workers) for i in range(workers)]
    with mp.get_context(method).Pool(workers) as procs:
        results = procs.map(column_stats, bands, chunksize=1)
    root.close()

    ok = True

    def check(cond, what):
        nonlocal ok
        print("  %s %s" % ("ok:  " if cond else "FAIL:", what))
        ok &= bool(cond)

    print("[%s] %d workers, a %d MiB matrix in one sealed object, mapped by each"
          % (method, workers, matrix.nbytes >> 20))
    means = np.vstack([m for _, m, _ in results])
    sizes = np.array([(b[2] - b[1]) for b in bands], dtype=np.float64)
    mean = (means * sizes[:, None]).sum(axis=0) / rows
    check(np.allclose(mean, matrix.mean(axis=0)), "column means match numpy's over the whole matrix")
    check(np.array_equal(np.max([m for _, _, m in results], axis=0), matrix.max(axis=0)),
          "column maxima match")
    check(all(mapped for mapped, _, _ in results),
          "every worker read the matrix in place: a read-only mapping of the object")
    check(pool.stats()["objects"] == base, "no object left behind: nothing to unlink")
    pool.close()
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=32)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--start-method", default="all",
                    choices=("fork", "spawn", "forkserver", "all"))
    args = ap.parse_args()
    cols = 64
    rows = (args.mib << 20) // (8 * cols)
    matrix = np.random.default_rng(1).standard_normal((rows, cols))
    methods = ("fork", "spawn", "forkserver") if args.start_method == "all" else (args.start_method,)
    ok = all([run(m, matrix, args.workers) for m in methods])
    print("\n%s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
