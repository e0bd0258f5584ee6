# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""ctypes declarations of librefpool (userspace/include/refpool.h).

The library is found, in this order, at:

1. ``$REFPOOL_LIB``, a path to ``librefpool.so.0`` (or any file name);
2. ``userspace/lib/librefpool.so.0`` of the source tree this package sits
   in (``python/refpool/`` beside ``userspace/``), so that the build tree
   works without installing anything;
3. whatever ``ctypes.util.find_library("refpool")`` finds (an installed
   ``librefpool.so.0`` in the linker's search path).
"""

import ctypes
import ctypes.util
import os

__all__ = ["lib", "lib_path", "Info", "Stats", "Token", "handle_t"]

handle_t = ctypes.c_uint32


class Token(ctypes.Structure):
    """rp_token_t: 16 bytes."""

    _fields_ = [("bytes", ctypes.c_uint8 * 16)]


class Info(ctypes.Structure):
    """struct rp_info."""

    _fields_ = [
        ("id", ctypes.c_uint64),
        ("size", ctypes.c_uint64),
        ("refs", ctypes.c_uint64),
        ("nslots", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
    ]


class Stats(ctypes.Structure):
    """struct rp_stats."""

    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "objects",
            "bytes",
            "interned",
            "intern_hits",
            "gc_runs",
            "gc_collected",
            "session_handles",
            "max_objects",
            "max_bytes",
            "max_object_size",
            "max_slots",
            "max_user_bytes",
            "user_bytes",
            "intern_bytes_saved",
            "gc_time_ns",
        )
    ]


def _candidates():
    env = os.environ.get("REFPOOL_LIB")
    if env:
        # An explicit choice: no fallback that would hide a typo.
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(here, os.pardir, os.pardir, "userspace", "lib")
    found = ctypes.util.find_library("refpool")
    return [os.path.normpath(os.path.join(tree, "librefpool.so.0"))] + (
        [found] if found else []
    )


def _load():
    errors = []
    for path in _candidates():
        # a bare name (from find_library) is for dlopen's own search
        if os.sep in path and not os.path.exists(path):
            errors.append("%s: no such file" % path)
            continue
        try:
            return ctypes.CDLL(path, use_errno=False), path
        except OSError as e:
            errors.append(str(e))
    raise ImportError(
        "refpool: cannot load librefpool (set REFPOOL_LIB, build it with "
        "`make lib`, or install it): " + "; ".join(errors or ["not found"])
    )


lib, lib_path = _load()

_p = ctypes.c_void_p
_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_int = ctypes.c_int
_P = ctypes.POINTER

_PROTOTYPES = {
    "rp_open": (_int, [_P(_p)]),
    "rp_open_path": (_int, [ctypes.c_char_p, _P(_p)]),
    "rp_close": (None, [_p]),
    "rp_fd": (_int, [_p]),
    "rp_create": (_int, [_p, _u64, _u32, _u32, _P(handle_t)]),
    "rp_create_from": (_int, [_p, _p, _u64, _u32, _P(handle_t)]),
    "rp_intern": (_int, [_p, _p, _u64, _P(handle_t)]),
    "rp_dup": (_int, [_p, handle_t, _P(handle_t)]),
    "rp_put": (_int, [_p, handle_t]),
    "rp_info": (_int, [_p, handle_t, _P(Info)]),
    "rp_read": (ctypes.c_int64, [_p, handle_t, _u64, _p, _u64]),
    "rp_write": (ctypes.c_int64, [_p, handle_t, _u64, _p, _u64]),
    "rp_seal": (_int, [_p, handle_t]),
    "rp_map": (_int, [_p, handle_t, _int, _P(_p)]),
    "rp_unmap": (_int, [_p, _u64]),
    "rp_export": (_int, [_p, handle_t, _P(_int)]),
    "rp_import": (_int, [_p, _int, _P(handle_t)]),
    "rp_send": (_int, [_int, _p, handle_t]),
    "rp_recv": (_int, [_int, _p, _P(handle_t)]),
    "rp_publish": (_int, [_p, handle_t, _P(Token)]),
    "rp_lookup": (_int, [_p, _P(Token), _P(handle_t)]),
    "rp_pin": (_int, [_p, handle_t, _P(Token)]),
    "rp_unpin": (_int, [_p, _P(Token)]),
    "rp_token_to_str": (_int, [_P(Token), ctypes.c_char_p]),
    "rp_token_from_str": (_int, [ctypes.c_char_p, _P(Token)]),
    "rp_link": (_int, [_p, handle_t, _u32, handle_t]),
    "rp_get_link": (_int, [_p, handle_t, _u32, _P(handle_t)]),
    "rp_gc": (_int, [_p, _P(_u64)]),
    "rp_stats": (_int, [_p, _P(Stats)]),
    "rp_strerror": (ctypes.c_char_p, [_int]),
}

for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
