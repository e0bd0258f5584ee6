// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: objects as dma-bufs - export, the exporter's ops, import.
 *
 * A dma-buf is how drivers share buffers: a GPU driver imports one through
 * PRIME, V4L2 through V4L2_MEMORY_DMABUF, an RDMA NIC through
 * ibv_reg_dmabuf_mr(). A refpool dma-buf is made over the object's pages,
 * as a mapping makes them (the exporter pays), and owns one strong
 * reference to the object, dropped when the dma-buf's last file reference
 * goes: its fds, its CPU mappings, and every importer, which holds the file
 * while it uses the buffer. So an object stays alive while a device can
 * reach its pages, after every handle is gone.
 *
 * Seals hold against devices as they do against mappings: an attachment
 * mapped for DMA_FROM_DEVICE or DMA_BIDIRECTIONAL may write, so it counts
 * as a writable mapping (@obj->wmaps) while it is mapped - sealing is
 * -EBUSY meanwhile, and such a mapping of a sealed object is -EPERM. CPU
 * mappings of the dma-buf follow file.c's rules, and the dma-buf file's
 * access mode (O_RDWR or read-only) on top, also for the mappings an
 * importer makes of it (dma_buf_mmap()). A kernel mapping (vmap) of a
 * sealed object is read-only; one of an object that is not sealed counts
 * as a writer until it goes.
 *
 * The exporter's user pays for the dma-buf's own kernel memory (the
 * dma-buf, its file, inode and dentry, and ours). An importer's sg tables
 * are charged to the importing task's memory cgroup.
 *
 * The pages never move, so the exporter is static (no pin/unpin): a
 * dynamic importer gets its mapping cached at attach time, as the dma-buf
 * core does for every static exporter.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/dcache.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <linux/refpool.h>
#include "refpool.h"

MODULE_IMPORT_NS(DMA_BUF);

/**
 * struct rp_dmabuf - what a refpool dma-buf holds (its priv)
 * @obj: the object; the dma-buf owns one strong reference to it, dropped
 *       in its release
 * @user: the exporter's user, charged rp_dmabuf_cost() until the release
 * @lock: guards @maps; taken inside the dma-buf's reservation lock
 * @maps: the attachments' mappings (struct rp_dmabuf_map), for CPU access
 * @vaddr: the kernel mapping while the dma-buf is vmapped (the dma-buf
 *         core counts vmaps and calls us for the first and the last)
 * @vmap_writable: @vaddr may write: it is counted in @obj->wmaps
 */
struct rp_dmabuf {
	struct rp_object *obj;
	struct rp_user *user;
	struct mutex lock;	/* the mappings' list */
	struct list_head maps;
	void *vaddr;
	bool vmap_writable;
};

/**
 * struct rp_dmabuf_map - one mapping of an attachment for DMA
 * @sgt: the pages, mapped for @dev
 * @node: in &rp_dmabuf.maps
 * @dev: the attached device
 * @dir: the direction it was mapped for
 */
struct rp_dmabuf_map {
	struct sg_table sgt;
	struct list_head node;
	struct device *dev;
	enum dma_data_direction dir;
};

/* What the exporter pays for one dma-buf: its slab objects, as allocated. */
static u64 rp_dmabuf_cost(void)
{
	return kmalloc_size_roundup(sizeof(struct rp_dmabuf)) +
	       kmalloc_size_roundup(sizeof(struct dma_buf) +
				    sizeof(struct dma_resv)) +
	       sizeof(struct file) + sizeof(struct inode) +
	       sizeof(struct dentry);
}

static unsigned long rp_dmabuf_npages(struct rp_dmabuf *d)
{
	return DIV_ROUND_UP(d->obj->size, PAGE_SIZE);
}

/* A device mapped for these directions may write the pages. */
static bool rp_dma_dir_writes(enum dma_data_direction dir)
{
	return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL;
}

/* Undo what rp_dmabuf_export() set up, once nothing uses the dma-buf. */
static void rp_dmabuf_free(struct rp_dmabuf *d)
{
	rp_object_put(d->obj);
	atomic64_dec(&rp_counters.dmabufs);
	rp_user_uncharge(d->user, rp_dmabuf_cost());
	rp_user_put(d->user);
	mutex_destroy(&d->lock);
	kfree(d);
}

static struct sg_table *rp_dmabuf_map(struct dma_buf_attachment *at,
				      enum dma_data_direction dir)
{
	struct rp_dmabuf *d = at->dmabuf->priv;
	unsigned long npages = rp_dmabuf_npages(d);
	bool writes = rp_dma_dir_writes(dir);
	struct rp_dmabuf_map *m;
	int ret;

	/*
	 * -EPERM for a device that may write a sealed object; the pages
	 * exist since the export, so nothing is charged here.
	 */
	ret = rp_object_map(d->obj, d->user, writes);
	if (ret)
		return ERR_PTR(ret);
	ret = -ENOMEM;
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		goto err_unmap;
	ret = sg_alloc_table_from_pages(&m->sgt, rp_payload_pages(d->obj),
					npages, 0, npages << PAGE_SHIFT,
					GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	ret = dma_map_sgtable(at->dev, &m->sgt, dir, 0);
	if (ret)
		goto err_free_table;
	m->dev = at->dev;
	m->dir = dir;
	mutex_lock(&d->lock);
	list_add(&m->node, &d->maps);
	mutex_unlock(&d->lock);
	return &m->sgt;

err_free_table:
	sg_free_table(&m->sgt);
err_free:
	kfree(m);
err_unmap:
	rp_object_unmap(d->obj, writes);
	return ERR_PTR(ret);
}

static void rp_dmabuf_unmap(struct dma_buf_attachment *at,
			    struct sg_table *sgt, enum dma_data_direction dir)
{
	struct rp_dmabuf_map *m = container_of(sgt, struct rp_dmabuf_map, sgt);
	struct rp_dmabuf *d = at->dmabuf->priv;

	mutex_lock(&d->lock);
	list_del(&m->node);
	mutex_unlock(&d->lock);
	dma_unmap_sgtable(m->dev, sgt, m->dir, 0);
	sg_free_table(sgt);
	rp_object_unmap(d->obj, rp_dma_dir_writes(m->dir));
	kfree(m);
}

static void rp_dmabuf_release(struct dma_buf *buf)
{
	rp_dmabuf_free(buf->priv);
}

/*
 * DMA_BUF_IOCTL_SYNC and kernel CPU access: make what devices wrote
 * visible to the CPU (begin), and what the CPU wrote to devices (end).
 * Each mapping is synced in the direction it was mapped for, as the DMA
 * API wants.
 */
static int rp_dmabuf_begin_cpu(struct dma_buf *buf,
			       enum dma_data_direction dir)
{
	struct rp_dmabuf *d = buf->priv;
	struct rp_dmabuf_map *m;

	mutex_lock(&d->lock);
	if (d->vaddr)
		invalidate_kernel_vmap_range(d->vaddr,
					     rp_dmabuf_npages(d) << PAGE_SHIFT);
	list_for_each_entry(m, &d->maps, node)
		dma_sync_sgtable_for_cpu(m->dev, &m->sgt, m->dir);
	mutex_unlock(&d->lock);
	return 0;
}

static int rp_dmabuf_end_cpu(struct dma_buf *buf, enum dma_data_direction dir)
{
	struct rp_dmabuf *d = buf->priv;
	struct rp_dmabuf_map *m;

	mutex_lock(&d->lock);
	if (d->vaddr)
		flush_kernel_vmap_range(d->vaddr,
					rp_dmabuf_npages(d) << PAGE_SHIFT);
	list_for_each_entry(m, &d->maps, node)
		dma_sync_sgtable_for_device(m->dev, &m->sgt, m->dir);
	mutex_unlock(&d->lock);
	return 0;
}

/*
 * mmap() of the dma-buf's fd, or an importer's dma_buf_mmap(): the vma's
 * file is the dma-buf's, and the core has checked the range.
 */
static int rp_dmabuf_mmap(struct dma_buf *buf, struct vm_area_struct *vma)
{
	struct rp_dmabuf *d = buf->priv;
	int ret;

	/*
	 * Shared only: a private copy would not be the object. (MAP_SHARED
	 * of a read-only file has VM_MAYSHARE without VM_SHARED.)
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/*
	 * A read-only dma-buf is read-only for every CPU mapping, also one
	 * an importer makes through a file of its own.
	 */
	if (!(buf->file->f_mode & FMODE_WRITE) && (vma->vm_flags & VM_WRITE))
		return -EACCES;
	/* A read-only mapping stays read-only: mprotect() cannot upgrade it. */
	if (!(vma->vm_flags & VM_WRITE))
		vma->vm_flags &= ~VM_MAYWRITE;
	ret = rp_object_map(d->obj, d->user, rp_vma_writable(vma));
	if (ret)
		return ret;
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_ops = &rp_object_vm_ops;
	vma->vm_private_data = d->obj;
	return 0;
}

/*
 * A kernel mapping for an importer: writable, and counted as a writer,
 * unless the object is sealed, when it is read-only.
 */
static int rp_dmabuf_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct rp_dmabuf *d = buf->priv;
	bool writable;
	void *vaddr;

	/* Only -EPERM can come back: the pages exist since the export. */
	writable = !rp_object_map(d->obj, d->user, true);
	vaddr = vmap(rp_payload_pages(d->obj), rp_dmabuf_npages(d), VM_MAP,
		     writable ? PAGE_KERNEL : PAGE_KERNEL_RO);
	if (!vaddr) {
		if (writable)
			rp_object_unmap(d->obj, true);
		return -ENOMEM;
	}
	mutex_lock(&d->lock);
	d->vaddr = vaddr;
	d->vmap_writable = writable;
	mutex_unlock(&d->lock);
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void rp_dmabuf_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct rp_dmabuf *d = buf->priv;
	bool writable;

	mutex_lock(&d->lock);
	writable = d->vmap_writable;
	d->vaddr = NULL;
	d->vmap_writable = false;
	mutex_unlock(&d->lock);
	vunmap(map->vaddr);
	if (writable)
		rp_object_unmap(d->obj, true);
}

static const struct dma_buf_ops rp_dmabuf_ops = {
	.map_dma_buf = rp_dmabuf_map,
	.unmap_dma_buf = rp_dmabuf_unmap,
	.release = rp_dmabuf_release,
	.begin_cpu_access = rp_dmabuf_begin_cpu,
	.end_cpu_access = rp_dmabuf_end_cpu,
	.mmap = rp_dmabuf_mmap,
	.vmap = rp_dmabuf_vmap,
	.vunmap = rp_dmabuf_vunmap,
};

/**
 * rp_dmabuf_export - make a dma-buf of a handle's object
 * (REFPOOL_IOC_EXPORT_DMABUF)
 * @s: the session; its user pays for the dma-buf and for pages it makes
 * @handle: the handle
 * @fd_flags: REFPOOL_DMABUF_O_* flags, checked by the caller
 * @fdp: out: the fd reserved for the dma-buf, to install once delivered
 *
 * The object's pages are made as a mapping makes them, last, so that a
 * refused call leaves none behind. The caller delivers the fd, or, if it
 * cannot, puts it back and drops the file, which undoes the rest.
 *
 * Return: the dma-buf's file, or an ERR_PTR: -EBADF, -EINVAL for an empty
 * object, -EDQUOT, -EMFILE, -ENOMEM.
 */
struct file *rp_dmabuf_export(struct rp_session *s, u32 handle, u32 fd_flags,
			      int *fdp)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct rp_object *obj;
	struct rp_dmabuf *d;
	struct dma_buf *buf;
	int fd, ret;

	obj = rp_handle_get(s, handle, true);
	if (!obj)
		return ERR_PTR(-EBADF);
	ret = -EINVAL;
	if (!obj->size)
		goto err_put;
	ret = rp_user_charge(s->user, rp_dmabuf_cost());
	if (ret)
		goto err_put;
	ret = -ENOMEM;
	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		goto err_uncharge;
	fd = get_unused_fd_flags(fd_flags & REFPOOL_DMABUF_O_CLOEXEC ?
				 O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	/* From here rp_dmabuf_free() undoes everything. */
	d->obj = obj;
	d->user = s->user;
	rp_user_hold(s->user);
	mutex_init(&d->lock);
	INIT_LIST_HEAD(&d->maps);
	atomic64_inc(&rp_counters.dmabufs);

	exp_info.ops = &rp_dmabuf_ops;
	exp_info.size = PAGE_ALIGN(obj->size);
	exp_info.flags = fd_flags & REFPOOL_DMABUF_O_RDWR ? O_RDWR : O_RDONLY;
	exp_info.priv = d;
	buf = dma_buf_export(&exp_info);
	if (IS_ERR(buf)) {
		put_unused_fd(fd);
		rp_dmabuf_free(d);
		return ERR_CAST(buf);
	}
	/* The dma-buf owns @d now: dropping its file undoes everything. */
	ret = rp_object_promote(obj, s->user);
	if (ret) {
		put_unused_fd(fd);
		dma_buf_put(buf);
		return ERR_PTR(ret);
	}
	*fdp = fd;
	return buf->file;

err_free:
	kfree(d);
err_uncharge:
	rp_user_uncharge(s->user, rp_dmabuf_cost());
err_put:
	rp_object_put(obj);
	return ERR_PTR(ret);
}

/**
 * rp_dmabuf_import - the object of a refpool dma-buf, with a new reference
 * @fd: a file descriptor of the caller
 *
 * Return: the object, or an ERR_PTR: -EBADF not an open fd, -EINVAL not a
 * dma-buf refpool exported.
 */
struct rp_object *rp_dmabuf_import(int fd)
{
	struct dma_buf *buf = dma_buf_get(fd);
	struct rp_object *obj;

	if (IS_ERR(buf))
		return ERR_CAST(buf);
	if (buf->ops != &rp_dmabuf_ops) {
		dma_buf_put(buf);
		return ERR_PTR(-EINVAL);
	}
	obj = ((struct rp_dmabuf *)buf->priv)->obj;
	/* The dma-buf holds a reference: the count cannot be zero. */
	rp_object_get(obj);
	dma_buf_put(buf);
	return obj;
}
