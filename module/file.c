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
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>

#include <linux/refpool.h>
#include "refpool.h"

static int rp_file_release(struct inode *inode, struct file *file)
{
	rp_object_put(file->private_data);
	return 0;
}

static bool rp_vma_writable(struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_MAYWRITE;
}

/* A VMA was copied (fork) or split: it is one more mapping. */
static void rp_vm_open(struct vm_area_struct *vma)
{
	rp_object_map_more(vma->vm_file->private_data, rp_vma_writable(vma));
}

static void rp_vm_close(struct vm_area_struct *vma)
{
	rp_object_unmap(vma->vm_file->private_data, rp_vma_writable(vma));
}

static vm_fault_t rp_vm_fault(struct vm_fault *vmf)
{
	struct rp_object *obj = vmf->vma->vm_file->private_data;
	struct page *page = rp_payload_page(obj, vmf->pgoff);

	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct rp_vm_ops = {
	.open = rp_vm_open,
	.close = rp_vm_close,
	.fault = rp_vm_fault,
};

static int rp_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct rp_object *obj = file->private_data;
	unsigned long npages = DIV_ROUND_UP(obj->size, PAGE_SIZE);
	unsigned long len = vma_pages(vma);
	struct rp_user *user;
	int ret;

	/* Shared only: a private copy would not be the object. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= npages || len > npages - vma->vm_pgoff)
		return -EINVAL;
	/* A read-only mapping stays read-only: mprotect() cannot upgrade it. */
	if (!(vma->vm_flags & VM_WRITE))
		vma->vm_flags &= ~VM_MAYWRITE;

	/* The mapper pays for pages its mapping makes (see rp_object_map()). */
	user = rp_user_get(current_euid());
	if (!user)
		return -ENOMEM;
	ret = rp_object_map(obj, user, rp_vma_writable(vma));
	rp_user_put(user);
	if (ret)
		return ret;
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_ops = &rp_vm_ops;
	return 0;
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
 * rp_file_map - map a handle's object into the caller, as mmap() of its
 * exported file would (REFPOOL_IOC_MAP)
 * @s: the session
 * @handle: the handle
 * @writable: PROT_READ | PROT_WRITE, else PROT_READ
 * @uaddr: where the caller wants the mapping's address
 *
 * The mapping holds the file, and so the object. The session's user pays
 * for pages the mapping makes, as for every charge of a session. If the
 * address cannot be written, the mapping is undone.
 *
 * Return: 0; -EBADF, -EINVAL for an empty object, -EPERM, -EDQUOT,
 * -ENOMEM, -EFAULT, or what vm_mmap() says.
 */
long rp_file_map(struct rp_session *s, u32 handle, bool writable,
		 u64 __user *uaddr)
{
	struct rp_object *obj;
	unsigned long mapped;
	struct file *file;
	u64 size, addr;
	long ret;

	obj = rp_handle_get(s, handle, true);
	if (!obj)
		return -EBADF;
	/*
	 * A bad @uaddr is refused before the mapping makes pages: read it
	 * and write it back unchanged. Only a racing unmap by the caller's
	 * own thread can still make the last write fail, and then the
	 * mapping is undone (the pages stay, the caller's).
	 */
	if (get_user(addr, uaddr) || put_user(addr, uaddr)) {
		rp_object_put(obj);
		return -EFAULT;
	}
	size = obj->size;
	ret = size ? 0 : -EINVAL;
	/*
	 * mmap() would refuse a writable mapping of a sealed object too, but
	 * only after the pages were made: a refused call makes nothing. (A
	 * seal racing with this call can still leave the pages, the caller's.)
	 */
	if (!ret && writable && (rp_object_flags(obj) & REFPOOL_OBJ_SEALED))
		ret = -EPERM;
	if (!ret)
		ret = rp_object_promote(obj, s->user);
	if (ret) {
		rp_object_put(obj);
		return ret;
	}
	file = rp_file_export(obj);
	if (IS_ERR(file))
		return PTR_ERR(file);
	mapped = vm_mmap(file, 0, size, PROT_READ | (writable ? PROT_WRITE : 0),
			 MAP_SHARED, 0);
	/* The mapping holds its own reference to the file. */
	fput(file);
	if (IS_ERR_VALUE(mapped))
		return (long)mapped;
	addr = mapped;
	if (put_user(addr, uaddr)) {
		vm_munmap(addr, size);
		return -EFAULT;
	}
	return 0;
}
