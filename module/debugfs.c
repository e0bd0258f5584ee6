// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: read-only debugfs views, for root (refpoolctl ls and show).
 *
 *   /sys/kernel/debug/refpool/summary   counters, limits, sessions
 *   /sys/kernel/debug/refpool/objects   id size refs flags nslots links
 *   /sys/kernel/debug/refpool/handles   pid comm handle id, per session
 *
 * Who holds an object is what dma-buf's bufinfo cannot say: joining
 * "handles" to "objects" by id tells which processes hold each one.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/xarray.h>

#include <linux/refpool.h>
#include "refpool.h"

static struct dentry *rp_debugfs_dir;

static int rp_summary_show(struct seq_file *m, void *unused)
{
	unsigned long sessions = 0;
	struct rp_session *s;

	mutex_lock(&rp_sessions_lock);
	list_for_each_entry(s, &rp_sessions, node)
		sessions++;
	mutex_unlock(&rp_sessions_lock);

	seq_printf(m, "objects %lld\n", atomic64_read(&rp_pool.objects));
	seq_printf(m, "bytes %lld\n", atomic64_read(&rp_pool.bytes));
	seq_printf(m, "sessions %lu\n", sessions);
	seq_printf(m, "interned %lld\n", atomic64_read(&rp_pool.interned));
	seq_printf(m, "intern_hits %lld\n", atomic64_read(&rp_pool.intern_hits));
	seq_printf(m, "intern_bytes_saved %lld\n",
		   atomic64_read(&rp_pool.intern_bytes_saved));
	seq_printf(m, "gc_runs %lld\n", atomic64_read(&rp_pool.gc_runs));
	seq_printf(m, "gc_collected %lld\n", atomic64_read(&rp_pool.gc_collected));
	seq_printf(m, "gc_time_ns %lld\n", atomic64_read(&rp_pool.gc_time_ns));
	seq_printf(m, "max_objects %llu\n", rp_limit_objects());
	seq_printf(m, "max_bytes %llu\n", rp_limit_bytes());
	seq_printf(m, "max_object_size %llu\n", rp_limit_object_size());
	seq_printf(m, "max_slots %u\n", rp_limit_slots());
	seq_printf(m, "max_user_bytes %llu\n", rp_limit_user_bytes());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rp_summary);

/*
 * One line per object, walking the registry by id. The seq_file position
 * is the next id to look at, so a large heap pages through cleanly.
 */
static struct rp_object *rp_objects_at(loff_t *pos)
{
	unsigned long index = *pos;
	struct rp_object *obj;

	rcu_read_lock();
	obj = xa_find(&rp_objects, &index, ULONG_MAX, XA_PRESENT);
	if (obj && !rp_object_use(obj))
		obj = ERR_PTR(-EAGAIN);
	rcu_read_unlock();
	*pos = index;
	/* The memory may hold another object by now: see struct rp_object. */
	if (!IS_ERR_OR_NULL(obj) && READ_ONCE(obj->id) != index) {
		rp_object_unuse(obj);
		obj = ERR_PTR(-EAGAIN);
	}
	return obj;
}

static void *rp_objects_start(struct seq_file *m, loff_t *pos)
{
	struct rp_object *obj;

	if (*pos == 0) {
		*pos = 1;
		return SEQ_START_TOKEN;
	}
	/* Released meanwhile: go on with the next id. */
	while (IS_ERR(obj = rp_objects_at(pos)))
		++*pos;
	return obj;
}

static void *rp_objects_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct rp_object *obj;

	if (v != SEQ_START_TOKEN) {
		*pos = ((struct rp_object *)v)->id + 1;
		rp_object_unuse(v);
	}
	while (IS_ERR(obj = rp_objects_at(pos)))
		++*pos;
	return obj;
}

static void rp_objects_stop(struct seq_file *m, void *v)
{
	if (v && v != SEQ_START_TOKEN)
		rp_object_unuse(v);
}

static int rp_objects_show(struct seq_file *m, void *v)
{
	struct rp_object *obj = v;
	unsigned int links = 0;
	u32 i;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "id size refs flags nslots links\n");
		return 0;
	}
	if (obj->links) {
		spin_lock(&obj->lock);
		for (i = 0; i < obj->nslots; i++)
			links += !!obj->links->slots[i];
		spin_unlock(&obj->lock);
	}
	seq_printf(m, "%llu %llu %u %#x %u %u\n", obj->id, obj->size,
		   refcount_read(&obj->refs), rp_object_flags(obj),
		   obj->nslots, links);
	return 0;
}

static const struct seq_operations rp_objects_sops = {
	.start = rp_objects_start,
	.next = rp_objects_next,
	.stop = rp_objects_stop,
	.show = rp_objects_show,
};
DEFINE_SEQ_ATTRIBUTE(rp_objects);

static int rp_handles_show(struct seq_file *m, void *unused)
{
	struct rp_session *s;
	struct rp_object *obj;
	unsigned long index;

	seq_puts(m, "pid comm handle id\n");
	mutex_lock(&rp_sessions_lock);
	list_for_each_entry(s, &rp_sessions, node) {
		/* xa_for_each() takes the RCU lock for each lookup. */
		xa_for_each(&s->handles, index, obj)
			seq_printf(m, "%d %s %lu %llu\n", s->pid, s->comm,
				   index, READ_ONCE(obj->id));
	}
	mutex_unlock(&rp_sessions_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rp_handles);

void rp_debugfs_init(void)
{
	rp_debugfs_dir = debugfs_create_dir("refpool", NULL);
	debugfs_create_file("summary", 0400, rp_debugfs_dir, NULL,
			    &rp_summary_fops);
	debugfs_create_file("objects", 0400, rp_debugfs_dir, NULL,
			    &rp_objects_fops);
	debugfs_create_file("handles", 0400, rp_debugfs_dir, NULL,
			    &rp_handles_fops);
}

void rp_debugfs_exit(void)
{
	debugfs_remove_recursive(rp_debugfs_dir);
}
