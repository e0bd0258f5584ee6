// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the pool's counters, as REFPOOL_IOC_STATS reports them.
 *
 * The object and byte counters are exact: they move when an object is made
 * or freed, before the call that did it returns.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/refpool.h>
#include "refpool.h"

struct rp_pool_stats rp_pool = {
	.charge_lock = __SPIN_LOCK_UNLOCKED(rp_pool.charge_lock),
};

/**
 * rp_stats_fill - report the pool's and a session's counters
 * @s: the calling session
 * @st: filled in
 */
void rp_stats_fill(struct rp_session *s, struct refpool_stats *st)
{
	st->objects = atomic64_read(&rp_pool.objects);
	st->bytes = atomic64_read(&rp_pool.bytes);
	st->session_handles = atomic64_read(&s->nhandles);
	st->max_objects = rp_limit_objects();
	st->max_bytes = rp_limit_bytes();
	st->max_object_size = rp_limit_object_size();
	st->max_slots = rp_limit_slots();
	st->max_user_bytes = rp_limit_user_bytes();
	st->user_bytes = atomic64_read(&s->user->bytes);
	st->interned = atomic64_read(&rp_pool.interned);
	st->intern_hits = atomic64_read(&rp_pool.intern_hits);
	st->intern_bytes_saved = atomic64_read(&rp_pool.intern_bytes_saved);
	st->gc_runs = atomic64_read(&rp_pool.gc_runs);
	st->gc_collected = atomic64_read(&rp_pool.gc_collected);
	st->gc_time_ns = atomic64_read(&rp_pool.gc_time_ns);
}
