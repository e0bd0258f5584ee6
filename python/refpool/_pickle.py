# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""dumps() and loads(): pickle protocol 5 values as refpool objects.

The value is one sealed *root* object: a header, then the pickle stream
with everything pickle keeps in-band (bytes, bytearrays, non-contiguous
arrays...). Every out-of-band buffer (a contiguous numpy array's data, a
``pickle.PickleBuffer``) is a sealed object of its own, linked from the
root's slots in the order pickle produced them. A value with more buffers
than an object has slots (``max_slots``) links them through sealed index
objects without payload, ``depth`` levels of them, each full but the last
of its level. So one token (or handle, or fd) of the root names the whole
value, and the root's links keep every buffer alive: when the root goes,
its buffers go, unless a process still maps them.

Root payload (little-endian)::

    0   8  magic b"rpickle5"
    8   4  format version, 1
    12  4  depth: index levels between the root and the buffers
    16  8  number of out-of-band buffers
    24     the pickle stream

loads() maps each buffer read-only and hands pickle the mapping, so numpy
arrays come back read-only, over the object's pages, without a copy.
Buffers smaller than a page are read instead: a mapping would cost a page
and a VMA each, more than the copy. Either way pickle gets a read-only
memoryview, so what comes back does not depend on the size: a numpy array
is read-only, a PickleBuffer comes back as a read-only memoryview (pickle
5's rule for out-of-band buffers).
"""

import errno
import mmap
import pickle
import struct

from . import SEALED, Object, default_pool

_MAGIC = b"rpickle5"
_HEADER = struct.Struct("<8sIIQ")
_VERSION = 1
# Each level multiplies the buffers by max_slots (at least 2 when there are
# levels): 64 levels are more buffers than memory can hold; more is a
# malformed root.
_MAX_DEPTH = 64


def _close_all(objs):
    for obj in objs:
        obj.close()


def _group(pool, level, fanout):
    """Sealed index objects, each linking up to fanout objects of level;
    the level's handles are closed (the links hold them)."""
    out = []
    try:
        for i in range(0, len(level), fanout):
            chunk = level[i : i + fanout]
            idx = pool.create(0, nslots=len(chunk))
            out.append(idx)
            for slot, child in enumerate(chunk):
                idx.link(slot, child)
            idx.seal()
    except BaseException:
        _close_all(out)
        raise
    _close_all(level)
    return out


def dumps(value, pool=None, protocol=5):
    """The value as one sealed :class:`Object` of pool (default: the
    :func:`default_pool`), its out-of-band buffers sealed objects linked
    from it. Publish it, send it or pickle it: :func:`loads` in any
    process gets the value back, its buffers mapped without a copy.

    Making it copies each buffer once, into the kernel; the value's own
    memory is not kept. A buffer larger than ``max_object_size`` (a
    module parameter, 64 MiB unless raised) is ``OSError(EFBIG)``.
    """
    if protocol < 5:
        raise ValueError("out-of-band buffers need pickle protocol 5 or later")
    if pool is None:
        pool = default_pool()
    buffers = []
    stream = pickle.dumps(value, protocol=protocol, buffer_callback=buffers.append)
    nbuffers = len(buffers)
    level = []
    try:
        if buffers:
            limits = pool.stats()
            for buf in buffers:
                with buf.raw() as raw:
                    if raw.nbytes > limits["max_object_size"]:
                        raise OSError(
                            errno.EFBIG,
                            "refpool.dumps: a buffer of %d bytes is over max_object_size "
                            "(%d; /sys/module/refpool/parameters/max_object_size)"
                            % (raw.nbytes, limits["max_object_size"]),
                        )
                    level.append(pool.create(raw, sealed=True))
                buf.release()
        del buffers
        depth = 0
        if level:
            fanout = limits["max_slots"]
            if len(level) > fanout and fanout < 2:
                raise OSError(errno.EFBIG, "refpool.dumps: max_slots is %d" % fanout)
            while len(level) > fanout:
                level = _group(pool, level, fanout)
                depth += 1
        root = pool.create(_HEADER.size + len(stream), nslots=len(level))
        try:
            root.write(0, _HEADER.pack(_MAGIC, _VERSION, depth, nbuffers))
            root.write(_HEADER.size, stream)
            for slot, child in enumerate(level):
                root.link(slot, child)
            root.seal()
        except BaseException:
            root.close()
            raise
    finally:
        _close_all(level)
    return root


def _sealed_info(obj):
    info = obj.info()
    if not info.flags & SEALED:
        # what is not sealed could change under the value
        raise ValueError("refpool.loads: object id %d is not sealed" % info.id)
    return info


def _view(obj):
    """A read-only memoryview of a sealed buffer object's bytes."""
    size = _sealed_info(obj).size
    if size >= mmap.PAGESIZE:
        return memoryview(obj._mmap(False, size))
    return memoryview(obj.read(0, size))


def _buffers(obj, depth, out):
    """Append the read-only views of the buffers under obj, in order."""
    for slot in range(obj.nslots):
        child = obj.get_link(slot)
        if child is None:
            raise ValueError("refpool.loads: slot %d of object id %d is empty" % (slot, obj.id))
        try:
            if depth:
                _sealed_info(child)
                _buffers(child, depth - 1, out)
            else:
                out.append(_view(child))
        finally:
            child.close()


def loads(obj):
    """The value :func:`dumps` stored in obj (an :class:`Object`, such as
    the one :meth:`Pool.lookup` gives for the root's token). Out-of-band
    buffers come back as read-only mappings: no copy, and they keep their
    objects alive for as long as the value uses them."""
    if not isinstance(obj, Object):
        raise TypeError("refpool.loads() takes a refpool.Object, not %s" % type(obj).__name__)
    head = obj.read(0, _HEADER.size)
    if len(head) != _HEADER.size:
        raise ValueError("refpool.loads: not a refpool.dumps() object (too short)")
    magic, version, depth, nbuffers = _HEADER.unpack(head)
    if magic != _MAGIC:
        raise ValueError("refpool.loads: not a refpool.dumps() object")
    if version != _VERSION:
        raise ValueError("refpool.loads: format version %d, not %d" % (version, _VERSION))
    if depth > _MAX_DEPTH:
        raise ValueError("refpool.loads: %d index levels" % depth)
    views = []
    _buffers(obj, depth, views)
    if len(views) != nbuffers:
        raise ValueError(
            "refpool.loads: %d buffers linked, the header says %d" % (len(views), nbuffers)
        )
    with _view(obj) as data:
        return pickle.loads(data[_HEADER.size :], buffers=views)
