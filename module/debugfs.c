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
#include <linux/rhashtable.h>
#include <linux/seq_file.h>

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
 * One line per object, walking rp_objects with an rhashtable iterator kept
 * from one read to the next. As any rhashtable walk, it may miss an object
 * or list one twice when the table is resized, or the object a read
 * stopped after goes, before the next read. Each object is
 * read under a call reference, taken while RCU keeps its memory; the walk
 * holds RCU only while it steps (dropping a reference may sleep). The
 * object a read stopped at, not yet printed, keeps its reference until a
 * later read prints it, or the file is closed.
 */
struct rp_objects_walk {
	struct rhashtable_iter iter;
	struct rp_object *cur;	/* the object at @pos, referenced, or NULL */
	loff_t pos;		/* how many objects the walk has passed */
};

/* The walk's next live object, referenced, or NULL at the end. */
static struct rp_object *rp_objects_step(struct rp_objects_walk *w)
{
	struct rp_object *obj;
	u64 id;

	for (;;) {
		rhashtable_walk_start(&w->iter);
		do {
			obj = rhashtable_walk_next(&w->iter);
		} while (PTR_ERR_OR_ZERO(obj) == -EAGAIN);	/* resized */
		if (obj) {
			id = READ_ONCE(obj->id);
			if (!rp_object_use(obj))
				obj = ERR_PTR(-EAGAIN);
		}
		rhashtable_walk_stop(&w->iter);
		if (!obj)
			return NULL;
		if (IS_ERR(obj))
			continue;
		/* The memory may hold another object by now: see struct rp_object. */
		if (rp_object_is(obj, id))
			return obj;
		rp_object_unuse(obj);
	}
}

/* The object at position @pos (from 1), referenced, or NULL. */
static struct rp_object *rp_objects_seek(struct rp_objects_walk *w, loff_t pos)
{
	struct rp_object *obj;

	if (w->cur && pos == w->pos)
		return w->cur;
	if (w->cur) {
		rp_object_unuse(w->cur);
		w->cur = NULL;
	}
	if (pos <= w->pos) {
		/* Backwards (a seek): start over. */
		rhashtable_walk_exit(&w->iter);
		rhashtable_walk_enter(&rp_objects, &w->iter);
		w->pos = 0;
	}
	while (w->pos < pos) {
		obj = rp_objects_step(w);
		if (!obj)
			return NULL;
		if (++w->pos < pos)
			rp_object_unuse(obj);
	}
	w->cur = obj;
	return obj;
}

static void *rp_objects_start(struct seq_file *m, loff_t *pos)
{
	if (*pos == 0)
		return SEQ_START_TOKEN;
	return rp_objects_seek(m->private, *pos);
}

static void *rp_objects_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return rp_objects_seek(m->private, *pos);
}

/* The object not yet printed stays with the walk (rp_objects_seek()). */
static void rp_objects_stop(struct seq_file *m, void *v)
{
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

static int rp_objects_open(struct inode *inode, struct file *file)
{
	struct rp_objects_walk *w;

	w = __seq_open_private(file, &rp_objects_sops, sizeof(*w));
	if (!w)
		return -ENOMEM;
	rhashtable_walk_enter(&rp_objects, &w->iter);
	return 0;
}

static int rp_objects_release(struct inode *inode, struct file *file)
{
	struct rp_objects_walk *w = ((struct seq_file *)file->private_data)->private;

	if (w->cur)
		rp_object_unuse(w->cur);
	rhashtable_walk_exit(&w->iter);
	return seq_release_private(inode, file);
}

static const struct file_operations rp_objects_fops = {
	.owner = THIS_MODULE,
	.open = rp_objects_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = rp_objects_release,
};

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
