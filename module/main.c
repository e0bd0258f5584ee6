// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the /dev/refpool device and its sessions.
 *
 * Every open() makes a session, private to its open file description (and
 * so shared by fork() and SCM_RIGHTS, like a DRM file). Its release, when
 * the last fd goes, whatever killed the process, drops every reference the
 * session held.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "refpool.h"

/* Every open session, for debugfs. */
LIST_HEAD(rp_sessions);
/* Guards rp_sessions. */
DEFINE_MUTEX(rp_sessions_lock);

static int rp_open(struct inode *inode, struct file *file)
{
	struct rp_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	s->user = rp_user_get(file->f_cred->euid);
	if (!s->user) {
		kfree(s);
		return -ENOMEM;
	}
	rp_handles_init(s);
	s->pid = task_tgid_nr(current);
	get_task_comm(s->comm, current);
	mutex_lock(&rp_sessions_lock);
	list_add_tail(&s->node, &rp_sessions);
	mutex_unlock(&rp_sessions_lock);
	file->private_data = s;
	return 0;
}

static int rp_release(struct inode *inode, struct file *file)
{
	struct rp_session *s = file->private_data;

	mutex_lock(&rp_sessions_lock);
	list_del(&s->node);
	mutex_unlock(&rp_sessions_lock);
	rp_handles_release(s);
	rp_user_put(s->user);
	kfree(s);
	return 0;
}

static const struct file_operations rp_fops = {
	.owner = THIS_MODULE,
	.open = rp_open,
	.release = rp_release,
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
	ret = rp_tokens_init();
	if (ret)
		goto err_objects;
	ret = rp_intern_init();
	if (ret)
		goto err_tokens;
	ret = rp_gc_init();
	if (ret)
		goto err_intern;
	ret = misc_register(&rp_misc);
	if (ret)
		goto err_gc;
	rp_debugfs_init();
	return 0;

err_gc:
	rp_gc_exit();
err_intern:
	rp_intern_exit();
err_tokens:
	rp_tokens_unpin_all();
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
	rp_debugfs_exit();
	misc_deregister(&rp_misc);
	rp_tokens_unpin_all();
	rp_gc_exit();
	rp_intern_exit();
	rp_tokens_exit();
	rp_objects_exit();
	WARN_ON(atomic64_read(&rp_pool.objects));
	rp_users_exit();
}

module_init(rp_init);
module_exit(rp_exit);

MODULE_DESCRIPTION("refpool: a kernel heap of reference-counted, shareable objects");
MODULE_AUTHOR("The refpool authors");
MODULE_LICENSE("GPL");
