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
#include <linux/slab.h>
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
 * One line per object, walking each user's list of objects with a cursor:
 * a stand-in object without a user (rp_object_is_cursor()), which the walk
 * moves past each object it takes, so that a read resumes where the last
 * one stopped and an object alive for the whole walk is listed once. The
 * list's lock is held only for a step; an object on a list has not died,
 * so a step can take a call reference on it, under which it is printed
 * (dropping one may sleep). The object a read stopped at, not yet
 * printed, keeps its reference until a later read prints it, or the file
 * is closed. Between steps the walk holds a reference to the user whose
 * list the cursor is in, so that list stays.
 */
struct rp_objects_walk {
	struct rp_object *cursor;
	struct rp_user *user;	/* whose list holds @cursor, or NULL at the end */
	struct rp_object *cur;	/* the object at @pos, referenced, or NULL */
	loff_t pos;		/* how many objects the walk has taken */
};

/* Take the cursor off its user's list, and let the user go. */
static void rp_objects_leave_user(struct rp_objects_walk *w)
{
	if (!w->user)
		return;
	spin_lock(&w->user->object_list_lock);
	list_del_init(&w->cursor->user_node);
	spin_unlock(&w->user->object_list_lock);
	rp_user_put(w->user);
	w->user = NULL;
}

/* Move the cursor to the head of the next user's list (the first's at NULL). */
static void rp_objects_next_user(struct rp_objects_walk *w)
{
	struct rp_user *next = rp_user_next(w->user);

	rp_objects_leave_user(w);
	w->user = next;
	if (next) {
		spin_lock(&next->object_list_lock);
		list_add(&w->cursor->user_node, &next->object_list);
		spin_unlock(&next->object_list_lock);
	}
}

/* Back to before the first object of the first user. */
static void rp_objects_rewind(struct rp_objects_walk *w)
{
	rp_objects_leave_user(w);
	w->pos = 0;
	rp_objects_next_user(w);
}

/* The object after the cursor, referenced, the cursor moved past it; or NULL. */
static struct rp_object *rp_objects_step(struct rp_objects_walk *w)
{
	struct rp_object *obj;

	while (w->user) {
		spin_lock(&w->user->object_list_lock);
		obj = w->cursor;
		list_for_each_entry_continue(obj, &w->user->object_list, user_node) {
			if (rp_object_is_cursor(obj) || !rp_object_use(obj))
				continue;
			list_move(&w->cursor->user_node, &obj->user_node);
			spin_unlock(&w->user->object_list_lock);
			return obj;
		}
		spin_unlock(&w->user->object_list_lock);
		rp_objects_next_user(w);
	}
	return NULL;
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
	if (pos <= w->pos)	/* backwards (a seek): start over */
		rp_objects_rewind(w);
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
	/* A cursor is an object without a user: zeroed, on no list yet. */
	w->cursor = kzalloc(sizeof(*w->cursor), GFP_KERNEL_ACCOUNT);
	if (!w->cursor) {
		seq_release_private(inode, file);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&w->cursor->user_node);
	rp_objects_rewind(w);
	return 0;
}

static int rp_objects_release(struct inode *inode, struct file *file)
{
	struct rp_objects_walk *w = ((struct seq_file *)file->private_data)->private;

	if (w->cur)
		rp_object_unuse(w->cur);
	rp_objects_leave_user(w);
	kfree(w->cursor);
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
