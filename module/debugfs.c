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

static struct dentry *rp_debugfs_root;

struct dentry *rp_debugfs_dir(void)
{
	return rp_debugfs_root;
}

static int rp_summary_show(struct seq_file *m, void *unused)
{
	unsigned long sessions = 0;
	struct rp_session *s;

	mutex_lock(&rp_sessions_lock);
	list_for_each_entry(s, &rp_sessions, node)
		sessions++;
	mutex_unlock(&rp_sessions_lock);

	rp_stats_show(m);
	seq_printf(m, "sessions %lu\n", sessions);
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
	if (!IS_ERR_OR_NULL(obj) && !rp_object_is(obj, index)) {
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
	if (obj->container) {
		spin_lock(&obj->lock);
		for (i = 0; i < obj->nslots; i++)
			links += !!obj->container->slots[i];
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

/*
 * One session at a time, each held by a reference between reads, so that
 * no lock is held for a whole walk: opens and closes go on meanwhile, and
 * the walk of one session only holds up that session's release.
 */
static void *rp_handles_start(struct seq_file *m, loff_t *pos)
{
	if (*pos == 0)
		return SEQ_START_TOKEN;
	return rp_session_nth(*pos - 1);
}

static void *rp_handles_next(struct seq_file *m, void *v, loff_t *pos)
{
	if (v != SEQ_START_TOKEN)
		rp_session_put(v);
	++*pos;
	return rp_session_nth(*pos - 1);
}

static void rp_handles_stop(struct seq_file *m, void *v)
{
	if (v && v != SEQ_START_TOKEN)
		rp_session_put(v);
}

static int rp_handles_seq_show(struct seq_file *m, void *v)
{
	struct rp_session *s = v;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "pid comm handle id\n");
		return 0;
	}
	mutex_lock(&s->walk_lock);
	if (!s->released)
		rp_handles_show(m, s);
	mutex_unlock(&s->walk_lock);
	return 0;
}

static const struct seq_operations rp_handles_sops = {
	.start = rp_handles_start,
	.next = rp_handles_next,
	.stop = rp_handles_stop,
	.show = rp_handles_seq_show,
};
DEFINE_SEQ_ATTRIBUTE(rp_handles);

void rp_debugfs_init(void)
{
	rp_debugfs_root = debugfs_create_dir("refpool", NULL);
	debugfs_create_file("summary", 0400, rp_debugfs_root, NULL,
			    &rp_summary_fops);
	debugfs_create_file("objects", 0400, rp_debugfs_root, NULL,
			    &rp_objects_fops);
	debugfs_create_file("handles", 0400, rp_debugfs_root, NULL,
			    &rp_handles_fops);
}

void rp_debugfs_exit(void)
{
	debugfs_remove_recursive(rp_debugfs_root);
}
