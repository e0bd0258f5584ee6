// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the /dev/refpool device and its sessions.
 *
 * Every open() makes a session, private to its open file description (and
 * so shared by fork() and SCM_RIGHTS, like a DRM file). Its release, when
 * the last fd goes, whatever killed the process, drops every reference the
 * session held. The session's user - the effective uid of the opener -
 * pays for the session and for everything done through it.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "refpool.h"

/* Every open session, for debugfs. */
LIST_HEAD(rp_sessions);
/* Guards rp_sessions; never held across anything long. */
DEFINE_MUTEX(rp_sessions_lock);

/*
 * The session (a 512-byte slab object with its event queue) and the open
 * file that holds it: about 1.15 KiB (0.9 KiB measured by
 * selftests/refpool_quota with a 256-byte session and a smaller table).
 * Its handle table's first bucket array and the spare handle entries it
 * may keep come on top.
 */
#define RP_SESSION_BASE_COST	1280

static u64 rp_session_cost(void)
{
	return RP_SESSION_BASE_COST + rp_handles_session_cost();
}

static void rp_session_free(struct kref *kref)
{
	struct rp_session *s = container_of(kref, struct rp_session, kref);

	rp_user_uncharge(s->user, rp_session_cost());
	rp_user_put(s->user);
	kfree(s);
}

void rp_session_put(struct rp_session *s)
{
	kref_put(&s->kref, rp_session_free);
}

/**
 * rp_session_nth - the session at a position of the list, for debugfs
 * @n: the position
 *
 * Return: the session with a reference (rp_session_put()), or NULL.
 */
struct rp_session *rp_session_nth(loff_t n)
{
	struct rp_session *s;

	mutex_lock(&rp_sessions_lock);
	list_for_each_entry(s, &rp_sessions, node) {
		if (n-- == 0) {
			kref_get(&s->kref);
			mutex_unlock(&rp_sessions_lock);
			return s;
		}
	}
	mutex_unlock(&rp_sessions_lock);
	return NULL;
}

static int rp_open(struct inode *inode, struct file *file)
{
	struct rp_user *user;
	struct rp_session *s;
	int ret;

	user = rp_user_get(file->f_cred->euid);
	if (!user)
		return -ENOMEM;
	ret = rp_user_charge(user, rp_session_cost());
	if (ret)
		goto err_user;
	ret = -ENOMEM;
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		goto err_uncharge;
	ret = rp_session_handles_init(s);
	if (ret)
		goto err_free;
	rp_session_events_init(s);
	s->user = user;
	kref_init(&s->kref);
	mutex_init(&s->walk_lock);
	s->pid = task_tgid_nr(current);
	get_task_comm(s->comm, current);
	mutex_lock(&rp_sessions_lock);
	list_add_tail(&s->node, &rp_sessions);
	mutex_unlock(&rp_sessions_lock);
	file->private_data = s;
	return 0;

err_free:
	kfree(s);
err_uncharge:
	rp_user_uncharge(user, rp_session_cost());
err_user:
	rp_user_put(user);
	return ret;
}

static int rp_release(struct inode *inode, struct file *file)
{
	struct rp_session *s = file->private_data;

	mutex_lock(&rp_sessions_lock);
	list_del(&s->node);
	mutex_unlock(&rp_sessions_lock);
	/* Watches first: the objects the session frees need not tell it. */
	rp_session_events_release(s);
	/* Before close() returns: the session's references go now. */
	mutex_lock(&s->walk_lock);
	s->released = true;
	rp_session_handles_release(s);
	mutex_unlock(&s->walk_lock);
	rp_session_put(s);
	return 0;
}

/* Readable while lifecycle events are queued (events.c). */
static __poll_t rp_poll(struct file *file, poll_table *wait)
{
	return rp_events_poll(file->private_data, file, wait);
}

static const struct file_operations rp_fops = {
	.owner = THIS_MODULE,
	.open = rp_open,
	.release = rp_release,
	.poll = rp_poll,
	.unlocked_ioctl = rp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice rp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "refpool",
	.fops = &rp_fops,
	/* Any user may open it: every argument is checked, every byte charged. */
	.mode = 0666,
};

static int __init rp_init(void)
{
	int ret;

	rp_limits_init();
	ret = rp_users_init();
	if (ret)
		return ret;
	ret = rp_objects_init();
	if (ret)
		goto err_users;
	rp_handles_init();
	ret = rp_tokens_init();
	if (ret)
		goto err_objects;
	ret = rp_intern_init();
	if (ret)
		goto err_tokens;
	ret = rp_events_init();
	if (ret)
		goto err_intern;
	ret = rp_gc_init();
	if (ret)
		goto err_events;
	rp_debugfs_init();
	rp_hooks_init();
	ret = misc_register(&rp_misc);
	if (ret)
		goto err_debugfs;
	return 0;

err_debugfs:
	rp_debugfs_exit();
	rp_gc_exit();
err_events:
	rp_events_exit();
err_intern:
	rp_intern_exit();
err_tokens:
	rp_tokens_exit();
err_objects:
	rp_objects_exit();
err_users:
	rp_users_exit();
	return ret;
}

/*
 * No session, exported file or mapping can be left (each holds a module
 * reference), so only pins and garbage cycles can still hold objects: drop
 * the pins, then collect. Nothing is left after that.
 */
static void __exit rp_exit(void)
{
	misc_deregister(&rp_misc);
	rp_debugfs_exit();
	rp_tokens_unpin_all();
	rp_gc_exit();
	rp_events_exit();
	rp_intern_exit();
	rp_tokens_exit();
	rp_objects_exit();
	WARN_ON(atomic64_read(&rp_counters.objects));
	rp_users_exit();
}

module_init(rp_init);
module_exit(rp_exit);

MODULE_DESCRIPTION("refpool: a kernel heap of reference-counted, shareable objects");
MODULE_AUTHOR("The refpool authors");
MODULE_LICENSE("GPL");
