/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refpool: tracepoints, for perf and trace-cmd (events/refpool/).
 *
 * Copyright (C) 2026 The refpool authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM refpool

#if !defined(_REFPOOL_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _REFPOOL_TRACE_H

#include <linux/tracepoint.h>

#include "refpool.h"

DECLARE_EVENT_CLASS(refpool_object,
		    TP_PROTO(const struct rp_object *obj),
		    TP_ARGS(obj),
		    TP_STRUCT__entry(__field(u64, id)
				     __field(u64, size)
				     __field(u32, nslots)
				     __field(u32, flags)),
		    TP_fast_assign(__entry->id = obj->id;
				   __entry->size = obj->size;
				   __entry->nslots = obj->nslots;
				   __entry->flags = obj->flags;),
		    TP_printk("id=%llu size=%llu nslots=%u flags=%#x",
			      __entry->id, __entry->size, __entry->nslots,
			      __entry->flags)
);

/* An object was made. */
DEFINE_EVENT(refpool_object, refpool_create,
	     TP_PROTO(const struct rp_object *obj),
	     TP_ARGS(obj)
);

/* An object's last reference went: it leaves the pool. */
DEFINE_EVENT(refpool_object, refpool_free,
	     TP_PROTO(const struct rp_object *obj),
	     TP_ARGS(obj)
);

/* rp_intern() found (hit) or made an object. */
TRACE_EVENT(refpool_intern,
	    TP_PROTO(const struct rp_object *obj, bool hit),
	    TP_ARGS(obj, hit),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, size)
			     __field(bool, hit)),
	    TP_fast_assign(__entry->id = obj->id;
			   __entry->size = obj->size;
			   __entry->hit = hit;),
	    TP_printk("id=%llu size=%llu %s", __entry->id, __entry->size,
		      __entry->hit ? "hit" : "miss")
);

/* A collection finished. */
TRACE_EVENT(refpool_gc,
	    TP_PROTO(bool full, unsigned long scanned, unsigned long collected,
		     u64 ns),
	    TP_ARGS(full, scanned, collected, ns),
	    TP_STRUCT__entry(__field(bool, full)
			     __field(unsigned long, scanned)
			     __field(unsigned long, collected)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->full = full;
			   __entry->scanned = scanned;
			   __entry->collected = collected;
			   __entry->ns = ns;),
	    TP_printk("%s scanned=%lu collected=%lu ns=%llu",
		      __entry->full ? "full" : "young", __entry->scanned,
		      __entry->collected, __entry->ns)
);

#endif /* _REFPOOL_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
