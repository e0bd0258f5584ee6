// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: objects as files - export, import and mmap.
 *
 * An exported object is an anonymous-inode file that owns one strong
 * reference, dropped when the file's last user goes: its fds (in any
 * process, or in flight inside a UNIX socket) and its mappings. So a
 * mapping keeps its object alive after every handle is gone, fork() keeps
 * that right, and nothing outlives the processes that hold it.
 *
 * Mappings follow memfd's sealing rules: a sealed object cannot be mapped
 * writable, a read-only mapping can never become writable (VM_MAYWRITE is
 * cleared), and sealing waits for no writable mapping to exist (-EBUSY).
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/anon_inodes.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>

#include <linux/refpool.h>
#include "refpool.h"

static int rp_file_release(struct inode *inode, struct file *file)
{
	rp_object_put(file->private_data);
	return 0;
}

bool rp_vma_writable(struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_MAYWRITE;
}

/* A VMA was copied (fork) or split: it is one more mapping. */
static void rp_vm_open(struct vm_area_struct *vma)
{
	rp_object_map_more(vma->vm_private_data, rp_vma_writable(vma));
}

static void rp_vm_close(struct vm_area_struct *vma)
{
	rp_object_unmap(vma->vm_private_data, rp_vma_writable(vma));
}

static vm_fault_t rp_vm_fault(struct vm_fault *vmf)
{
	struct page *page = rp_payload_page(vmf->vma->vm_private_data,
					    vmf->pgoff);

	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

/* A mapping of an object, through its file or through its dma-buf. */
const struct vm_operations_struct rp_object_vm_ops = {
	.open = rp_vm_open,
	.close = rp_vm_close,
	.fault = rp_vm_fault,
};

/*
 * Map @obj into @vma, @user paying for the pages if the mapping makes
 * them. The VMA holds the file, and the file the object. Nothing after
 * this in mmap_region() can fail, so a mapping refused after the pages
 * were made does not happen: REFPOOL_IOC_MAP makes them here too.
 */
static int rp_mmap(struct rp_object *obj, struct vm_area_struct *vma,
		   struct rp_user *user)
{
	unsigned long npages = DIV_ROUND_UP(obj->size, PAGE_SIZE);
	unsigned long len = vma_pages(vma);
	int ret;

	/* Shared only: a private copy would not be the object. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= npages || len > npages - vma->vm_pgoff)
		return -EINVAL;
	/* A read-only mapping stays read-only: mprotect() cannot upgrade it. */
	if (!(vma->vm_flags & VM_WRITE))
		vma->vm_flags &= ~VM_MAYWRITE;

	ret = rp_object_map(obj, user, rp_vma_writable(vma));
	if (ret)
		return ret;
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_private_data = obj;
	vma->vm_ops = &rp_object_vm_ops;
	return 0;
}

/* mmap() of an exported fd: the mapping process pays. */
static int rp_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct rp_user *user = rp_user_get(current_euid());
	int ret;

	if (!user)
		return -ENOMEM;
	ret = rp_mmap(file->private_data, vma, user);
	rp_user_put(user);
	return ret;
}

static const struct file_operations rp_object_fops = {
	.owner = THIS_MODULE,
	.release = rp_file_release,
	.mmap = rp_file_mmap,
	.llseek = noop_llseek,
};

/**
 * rp_file_export - make a file that owns a reference to an object
 * @obj: the object; the caller's reference passes to the file
 *
 * Return: the file, or an ERR_PTR (the reference is dropped then).
 */
struct file *rp_file_export(struct rp_object *obj)
{
	struct file *file;

	file = anon_inode_getfile("[refpool]", &rp_object_fops, obj, O_RDWR);
	if (IS_ERR(file))
		rp_object_put(obj);
	return file;
}

/**
 * rp_file_import - the object of an exported file or of a refpool dma-buf,
 * with a new reference
 * @fd: a file descriptor of the caller
 *
 * Return: the object, or an ERR_PTR: -EBADF not an open fd, -EINVAL
 * neither an exported refpool object nor a dma-buf refpool made.
 */
struct rp_object *rp_file_import(int fd)
{
	struct rp_object *obj;
	struct fd f = fdget(fd);

	if (!f.file)
		return ERR_PTR(-EBADF);
	if (f.file->f_op != &rp_object_fops) {
		fdput(f);
		return rp_dmabuf_import(fd);
	}
	obj = f.file->private_data;
	/* The file holds a reference: the count cannot be zero. */
	rp_object_get(obj);
	fdput(f);
	return obj;
}

/**
 * struct rp_map_file - what REFPOOL_IOC_MAP's file holds
 * @obj: the object, a strong reference
 * @user: the session's user, who pays for pages the mapping makes
 */
struct rp_map_file {
	struct rp_object *obj;
	struct rp_user *user;
};

static int rp_map_file_release(struct inode *inode, struct file *file)
{
	struct rp_map_file *mf = file->private_data;

	rp_object_put(mf->obj);
	rp_user_put(mf->user);
	kfree(mf);
	return 0;
}

static int rp_map_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct rp_map_file *mf = file->private_data;

	return rp_mmap(mf->obj, vma, mf->user);
}

/* Never in an fd table: it only backs REFPOOL_IOC_MAP's mappings. */
static const struct file_operations rp_map_fops = {
	.owner = THIS_MODULE,
	.release = rp_map_file_release,
	.mmap = rp_map_file_mmap,
	.llseek = noop_llseek,
};

/*
 * The file a MAP maps: it owns the caller's strong reference to @obj and
 * a reference to the session's user (the payer, not whatever uid the
 * process has now).
 */
static struct file *rp_map_file(struct rp_session *s, struct rp_object *obj)
{
	struct rp_map_file *mf;
	struct file *file;

	mf = kmalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf) {
		rp_object_put(obj);
		return ERR_PTR(-ENOMEM);
	}
	mf->obj = obj;
	rp_user_hold(s->user);
	mf->user = s->user;
	file = anon_inode_getfile("[refpool]", &rp_map_fops, mf, O_RDWR);
	if (IS_ERR(file)) {
		rp_object_put(obj);
		rp_user_put(mf->user);
		kfree(mf);
	}
	return file;
}

/*
 * Write an address to the caller, pointer-sized: a 32-bit process's
 * pointer is 4 bytes. With @probe, write back what is there instead: the
 * check that the pointer can be written, changing nothing.
 */
static int rp_put_addr(void __user *uaddr, unsigned long addr, bool probe)
{
	u64 __user *p64 = uaddr;
	u32 __user *p32 = uaddr;
	u64 v64 = addr;
	u32 v32 = addr;

	if (in_compat_syscall())
		return (probe && get_user(v32, p32)) || put_user(v32, p32) ?
		       -EFAULT : 0;
	return (probe && get_user(v64, p64)) || put_user(v64, p64) ?
	       -EFAULT : 0;
}

/**
 * rp_file_map - map a handle's object into the caller, as mmap() of its
 * exported file would (REFPOOL_IOC_MAP)
 * @s: the session
 * @handle: the handle
 * @writable: PROT_READ | PROT_WRITE, else PROT_READ
 * @uaddr: where the caller wants the mapping's address
 *
 * The mapping holds the file, and so the object. If the address cannot be
 * written, the mapping is undone.
 *
 * Return: 0; -EBADF, -EINVAL for an empty object, -EPERM, -EDQUOT,
 * -ENOMEM, -EFAULT, or what vm_mmap() says.
 */
long rp_file_map(struct rp_session *s, u32 handle, bool writable,
		 void __user *uaddr)
{
	struct rp_object *obj;
	unsigned long mapped;
	struct file *file;
	u64 size;

	obj = rp_handle_get(s, handle, true);
	if (!obj)
		return -EBADF;
	size = obj->size;
	/*
	 * A bad @uaddr is refused before anything is made: read it and
	 * write it back unchanged. Only a racing unmap by the caller's own
	 * thread can still make the last write fail, and then the mapping is
	 * undone (pages it made stay, the caller's).
	 */
	if (!size || rp_put_addr(uaddr, 0, true)) {
		rp_object_put(obj);
		return size ? -EFAULT : -EINVAL;
	}
	file = rp_map_file(s, obj);
	if (IS_ERR(file))
		return PTR_ERR(file);
	mapped = vm_mmap(file, 0, size, PROT_READ | (writable ? PROT_WRITE : 0),
			 MAP_SHARED, 0);
	/* The mapping holds its own reference to the file. */
	fput(file);
	if (IS_ERR_VALUE(mapped))
		return (long)mapped;
	if (rp_put_addr(uaddr, mapped, false)) {
		vm_munmap(mapped, size);
		return -EFAULT;
	}
	return 0;
}
