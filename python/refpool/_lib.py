# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""ctypes declarations of librefpool (userspace/include/refpool.h).

The library is found, in this order, at:

1. ``$REFPOOL_LIB``, a path to ``librefpool.so.0`` (or any file name),
   unless the environment is not to be trusted: under ``python -E`` or
   ``-I``, and in a process whose real and effective user or group differ
   or that the kernel marked secure at exec (``AT_SECURE``: setuid,
   setgid, file capabilities) -- what glibc's ``secure_getenv()``, which
   ``rp_open()`` uses for ``$REFPOOL_DEVICE``, refuses;
2. the library ``make install`` installed beside this package (its
   directory is recorded in ``refpool/_build.py`` at install time), or
   ``userspace/lib/librefpool.so.0`` of the source tree this package sits
   in when it was not installed, so the build tree works as it is;
3. ``librefpool.so.0`` through the dynamic linker's own search.
"""

import ctypes
import os
import sys

__all__ = [
    "lib",
    "lib_path",
    "Event",
    "Info",
    "Stats",
    "STATS_FIELDS",
    "Token",
    "handle_t",
    "secure_getenv",
]

SONAME = "librefpool.so.0"

handle_t = ctypes.c_uint32


class Token(ctypes.Structure):
    """rp_token_t: 16 bytes."""

    _fields_ = [("bytes", ctypes.c_uint8 * 16)]


class Info(ctypes.Structure):
    """struct rp_info (uapi struct refpool_info), passed with its size."""

    _fields_ = [
        ("id", ctypes.c_uint64),
        ("size", ctypes.c_uint64),
        ("refs", ctypes.c_uint64),
        ("nslots", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
    ]


class Stats(ctypes.Structure):
    """struct rp_stats: uapi/linux/refpool.h's struct refpool_stats, every
    field a uint64_t, in its order (scripts/check-stats-layout compares
    them). rp_stats_sz() fills as much as the size passed says; fields are
    only ever added at the end."""

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
            "user_objects",
            "max_user_objects",
            "user_pins",
            "session_watches",
            "session_events",
            "dmabufs",
        )
    ]


class Event(ctypes.Structure):
    """struct rp_event (uapi struct refpool_event): one lifecycle event."""

    _fields_ = [
        ("cookie", ctypes.c_uint64),
        ("id", ctypes.c_uint64),
        ("events", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


#: the names of Stats's fields, in order
STATS_FIELDS = tuple(name for name, _ in Stats._fields_)


def _libc_secure_getenv():
    try:
        fn = ctypes.CDLL(None).secure_getenv
    except (AttributeError, OSError):  # not glibc
        return None
    fn.restype = ctypes.c_char_p
    fn.argtypes = [ctypes.c_char_p]
    return fn


def secure_getenv(name):
    """os.environ's value of name, or None where the environment must not
    choose what the process does: python -E or -I, a process whose real
    and effective ids differ, or one glibc's secure_getenv() refuses
    (AT_SECURE at exec: setuid, setgid, file capabilities)."""
    if sys.flags.ignore_environment:  # -E, and -I which implies it
        return None
    if os.getuid() != os.geteuid() or os.getgid() != os.getegid():
        return None
    value = os.environ.get(name)
    probe = _libc_secure_getenv()
    # os.environ's changes reach the C environment (putenv), so glibc sees
    # the same variable; it only hides it when AT_SECURE is set.
    if value is not None and probe is not None and probe(os.fsencode(name)) is None:
        return None
    return value


def _recorded_libdir():
    try:
        from . import _build
    except ImportError:
        return None
    return _build.libdir


def _candidates():
    env = secure_getenv("REFPOOL_LIB")
    if env:
        # An explicit choice: no fallback that would hide a typo.
        return [env]
    libdir = _recorded_libdir()
    if libdir is None:
        here = os.path.dirname(os.path.abspath(__file__))
        libdir = os.path.join(here, os.pardir, os.pardir, "userspace", "lib")
    return [os.path.normpath(os.path.join(libdir, SONAME)), SONAME]


def _load():
    errors = []
    for path in _candidates():
        # a bare name is for dlopen's own search
        if os.sep in path and not os.path.exists(path):
            errors.append("%s: no such file" % path)
            continue
        try:
            return ctypes.CDLL(path, use_errno=False), path
        except OSError as e:
            errors.append(str(e))
    raise ImportError(
        "refpool: cannot load librefpool (set REFPOOL_LIB, build it with "
        "`make lib`, or install it): " + "; ".join(errors)
    )


lib, lib_path = _load()

_p = ctypes.c_void_p
_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_int = ctypes.c_int
_size = ctypes.c_size_t
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
    "rp_info_sz": (_int, [_p, handle_t, _P(Info), _size]),
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
    "rp_stats_sz": (_int, [_p, _P(Stats), _size]),
    "rp_watch": (_int, [_p, handle_t, _u32, _u64]),
    "rp_watch_token": (_int, [_p, _P(Token), _u32, _u64]),
    "rp_events_fd": (_int, [_p]),
    "rp_read_events": (_int, [_p, _P(Event), _int, _int]),
    "rp_strerror": (ctypes.c_char_p, [_int]),
}

_missing = [name for name in _PROTOTYPES if not hasattr(lib, name)]
if _missing:
    raise ImportError(
        "refpool: %s is older than this package (no %s): install the library "
        "of the same version" % (lib_path, ", ".join(_missing))
    )
for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
