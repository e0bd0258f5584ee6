// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the counters REFPOOL_IOC_STATS reports, and debugfs's summary.
 *
 * struct refpool_stats in the uapi header is the one definition of the
 * counters: the library's struct rp_stats, Python's Stats and refpoolctl's
 * fields are checked against it (scripts/lint), and debugfs's summary
 * prints the pool-wide ones by their field names from the table below.
 * The object and byte counters are exact: they move when an object is made
 * or freed, before the call that did it returns.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/seq_file.h>

#include <linux/refpool.h>
#include "refpool.h"

struct rp_counters rp_counters = {
	.charge_lock = __SPIN_LOCK_UNLOCKED(rp_counters.charge_lock),
};

/* The pool's own counters and limits; the rest are the caller's. */
static void rp_stats_fill_pool(struct refpool_stats *st)
{
	st->objects = atomic64_read(&rp_counters.objects);
	st->bytes = atomic64_read(&rp_counters.bytes);
	st->interned = atomic64_read(&rp_counters.interned);
	st->intern_hits = atomic64_read(&rp_counters.intern_hits);
	st->gc_runs = atomic64_read(&rp_counters.gc_runs);
	st->gc_collected = atomic64_read(&rp_counters.gc_collected);
	st->max_objects = rp_limit_objects();
	st->max_bytes = rp_limit_bytes();
	st->max_object_size = rp_limit_object_size();
	st->max_slots = rp_limit_slots();
	st->max_user_bytes = rp_limit_user_bytes();
	st->intern_bytes_saved = atomic64_read(&rp_counters.intern_bytes_saved);
	st->gc_time_ns = atomic64_read(&rp_counters.gc_time_ns);
	st->max_user_objects = rp_limit_user_objects();
	st->dmabufs = atomic64_read(&rp_counters.dmabufs);
}

/**
 * rp_stats_fill - report the pool's, a session's and its user's counters
 * @s: the calling session
 * @st: filled in
 */
void rp_stats_fill(struct rp_session *s, struct refpool_stats *st)
{
	rp_stats_fill_pool(st);
	/*
	 * The table's own count: a session-wide counter of ours would be one
	 * more cache line that two threads' dup + put take turns at. It also
	 * counts, for an instant, an entry a racing call is adding or removing.
	 */
	st->session_handles = atomic_read(&s->handles.nelems);
	st->user_bytes = atomic64_read(&s->user->bytes);
	st->user_objects = atomic64_read(&s->user->objects);
	st->user_pins = atomic64_read(&s->user->pins);
	st->session_watches = READ_ONCE(s->ev.nwatches);
	st->session_events = READ_ONCE(s->ev.nqueued) +
			     READ_ONCE(s->ev.overflow);
}

#define RP_STAT(field)	{ #field, offsetof(struct refpool_stats, field) }

/* The pool-wide fields of struct refpool_stats, in its order. */
static const struct {
	const char *name;
	size_t offset;
} rp_pool_fields[] = {
	RP_STAT(objects),
	RP_STAT(bytes),
	RP_STAT(interned),
	RP_STAT(intern_hits),
	RP_STAT(gc_runs),
	RP_STAT(gc_collected),
	RP_STAT(max_objects),
	RP_STAT(max_bytes),
	RP_STAT(max_object_size),
	RP_STAT(max_slots),
	RP_STAT(max_user_bytes),
	RP_STAT(intern_bytes_saved),
	RP_STAT(gc_time_ns),
	RP_STAT(max_user_objects),
	RP_STAT(dmabufs),
};

/**
 * rp_stats_show - print the pool-wide counters, one "name value" a line
 * @m: the file
 */
void rp_stats_show(struct seq_file *m)
{
	struct refpool_stats st = {};
	size_t i;

	rp_stats_fill_pool(&st);
	for (i = 0; i < ARRAY_SIZE(rp_pool_fields); i++)
		seq_printf(m, "%s %llu\n", rp_pool_fields[i].name,
			   *(__u64 *)((char *)&st + rp_pool_fields[i].offset));
}
