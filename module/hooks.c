// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the test build's delay points (see hooks.h).
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "refpool.h"

static const char *const rp_hook_names[RP_HOOK_COUNT] = {
	[RP_HOOK_PUBLISH] = "publish",
	[RP_HOOK_LOOKUP] = "lookup",
	[RP_HOOK_GET_LINK] = "get_link",
	[RP_HOOK_GC_SETTLE] = "gc_settle",
	[RP_HOOK_BATCH] = "batch",
	[RP_HOOK_SEAL] = "seal",
	[RP_HOOK_HANDLE] = "handle",
};

/*
 * Per point: how long to wait, how many more calls wait, and how many have
 * started waiting (a test polls that to know the window is open).
 */
static struct {
	unsigned int ms;
	unsigned int count;
	unsigned long hits;
} rp_hooks[RP_HOOK_COUNT];
static DEFINE_SPINLOCK(rp_hooks_lock);

static unsigned int rp_hook_armed(enum rp_hook hook)
{
	unsigned int ms = 0;

	/* Unarmed, the usual case: no lock on the hot paths of a test build. */
	if (!READ_ONCE(rp_hooks[hook].count))
		return 0;
	spin_lock(&rp_hooks_lock);
	if (rp_hooks[hook].count) {
		WRITE_ONCE(rp_hooks[hook].count, rp_hooks[hook].count - 1);
		rp_hooks[hook].hits++;
		ms = rp_hooks[hook].ms;
	}
	spin_unlock(&rp_hooks_lock);
	return ms;
}

void rp_hook(enum rp_hook hook)
{
	unsigned int ms = rp_hook_armed(hook);

	if (ms)
		msleep(ms);
}

void rp_hook_spin(enum rp_hook hook)
{
	unsigned int ms = rp_hook_armed(hook);

	while (ms--)
		mdelay(1);
}

static ssize_t rp_hooks_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	char buf[64], name[32];
	unsigned int ms, count = 1;
	int i, n;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	n = sscanf(buf, "%31s %u %u", name, &ms, &count);
	if (n < 2 || ms > 60000)
		return -EINVAL;
	for (i = 0; i < RP_HOOK_COUNT; i++) {
		if (strcmp(name, rp_hook_names[i]))
			continue;
		spin_lock(&rp_hooks_lock);
		rp_hooks[i].ms = ms;
		WRITE_ONCE(rp_hooks[i].count, ms ? count : 0);
		spin_unlock(&rp_hooks_lock);
		return len;
	}
	return -ENOENT;
}

/* "NAME MS COUNT HITS", a line per point. */
static int rp_hooks_show(struct seq_file *m, void *unused)
{
	int i;

	spin_lock(&rp_hooks_lock);
	for (i = 0; i < RP_HOOK_COUNT; i++)
		seq_printf(m, "%s %u %u %lu\n", rp_hook_names[i], rp_hooks[i].ms,
			   rp_hooks[i].count, rp_hooks[i].hits);
	spin_unlock(&rp_hooks_lock);
	return 0;
}

static int rp_hooks_open(struct inode *inode, struct file *file)
{
	return single_open(file, rp_hooks_show, NULL);
}

static const struct file_operations rp_hooks_fops = {
	.owner = THIS_MODULE,
	.open = rp_hooks_open,
	.read = seq_read,
	.write = rp_hooks_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void rp_hooks_init(void)
{
	debugfs_create_file("hooks", 0600, rp_debugfs_dir(), NULL,
			    &rp_hooks_fops);
}
