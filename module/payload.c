// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: where an object's bytes live.
 *
 * Three kinds of storage, so that small objects do not cost a page each and
 * every object can still be mapped:
 *
 *  - inline: up to RP_INLINE_MAX bytes, in the object's own slab object;
 *  - slab: smaller than a page, one kmalloc() buffer, whose pointer is kept
 *    where inline bytes would be;
 *  - pages: an array of pages, for a page or more, and for any object once
 *    it has been mapped.
 *
 * Mapping a small object "promotes" it: its bytes are copied into a page and
 * from then on every access goes through the page, so that the mapping and
 * read()/write() see the same bytes. The old buffer stays until the object
 * dies, for a read that started before the switch. Promotion runs with the
 * object's writers held off (see object.c), so no write is lost.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "refpool.h"

static unsigned long rp_npages(u64 size)
{
	return DIV_ROUND_UP(size, PAGE_SIZE);
}

static bool rp_payload_inline(const struct rp_object *obj)
{
	return obj->size <= RP_INLINE_MAX;
}

/* The inline bytes, or the slab buffer; NULL for a payload born in pages. */
static void *rp_payload_buf(const struct rp_object *obj)
{
	void *buf;

	if (rp_payload_inline(obj))
		return (void *)obj->inline_data;
	if (obj->size >= PAGE_SIZE)
		return NULL;
	memcpy(&buf, obj->inline_data, sizeof(buf));
	return buf;
}

static void rp_payload_set_buf(struct rp_object *obj, void *buf)
{
	memcpy(obj->inline_data, &buf, sizeof(buf));
}

/* The page array for @size bytes: kvcalloc()'s size. */
static u64 rp_page_array_cost(u64 size)
{
	u64 n = rp_npages(size) * sizeof(struct page *);

	return n <= KMALLOC_MAX_CACHE_SIZE ? kmalloc_size_roundup(n) :
					     PAGE_ALIGN(n);
}

/**
 * rp_payload_pages_cost - what holding a payload in pages costs
 * @size: payload bytes
 *
 * Return: the pages and their array, in bytes.
 */
u64 rp_payload_pages_cost(u64 size)
{
	return (u64)rp_npages(size) * PAGE_SIZE + rp_page_array_cost(size);
}

/**
 * rp_payload_cost - what a new payload costs, as allocated
 * @size: payload bytes
 *
 * Return: bytes: none inline, the kmalloc() bucket, or the pages.
 */
u64 rp_payload_cost(u64 size)
{
	if (size <= RP_INLINE_MAX)
		return 0;
	if (size < PAGE_SIZE)
		return kmalloc_size_roundup(size);
	return rp_payload_pages_cost(size);
}

static void rp_pages_free(struct page **pages, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages && pages[i]; i++)
		__free_page(pages[i]);
	kvfree(pages);
}

/* Zero-filled pages for @size bytes, charged to the caller's memcg. */
static struct page **rp_pages_alloc(u64 size)
{
	unsigned long i, npages = rp_npages(size);
	struct page **pages;

	pages = kvcalloc(npages, sizeof(*pages),
			 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages)
		return NULL;
	for (i = 0; i < npages; i++) {
		pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
				      __GFP_NOWARN);
		if (!pages[i]) {
			rp_pages_free(pages, npages);
			return NULL;
		}
		cond_resched();
	}
	return pages;
}

/*
 * Copy between the pages and a buffer; @to_pages chooses the direction.
 * @copy copies one run within a page and returns the bytes it did not copy.
 */
typedef unsigned long (*rp_copy_fn)(void *page_addr, void *buf,
				    unsigned long n, bool to_pages);

static u64 rp_pages_copy(struct page **pages, u64 off, void *buf, u64 len,
			 bool to_pages, rp_copy_fn copy)
{
	u64 done = 0;

	while (done < len) {
		unsigned long pgoff = offset_in_page(off + done);
		unsigned long n = min_t(u64, PAGE_SIZE - pgoff, len - done);
		struct page *page = pages[(off + done) >> PAGE_SHIFT];
		void *addr = kmap_local_page(page);
		unsigned long left = copy(addr + pgoff, buf + done, n, to_pages);

		kunmap_local(addr);
		done += n - left;
		if (left)
			break;
	}
	return done;
}

static unsigned long rp_copy_kernel(void *page_addr, void *buf,
				    unsigned long n, bool to_pages)
{
	if (to_pages)
		memcpy(page_addr, buf, n);
	else
		memcpy(buf, page_addr, n);
	return 0;
}

/* Only ever copies to the user (reads): writes bounce through the kernel. */
static unsigned long rp_copy_to_user(void *page_addr, void *buf,
				     unsigned long n, bool to_pages)
{
	return copy_to_user((void __user *)buf, page_addr, n);
}

static unsigned long rp_copy_from_user(void *page_addr, void *buf,
				       unsigned long n, bool to_pages)
{
	return copy_from_user(page_addr, (const void __user *)buf, n);
}

/**
 * rp_payload_alloc - give a new object its storage
 * @obj: the object, with @obj->size set
 * @init: user pointer to the initial bytes, or NULL
 * @kinit: kernel pointer to the initial bytes, or NULL; zeroes if neither
 *
 * Return: 0, -ENOMEM or -EFAULT; on error, rp_payload_free() undoes it.
 */
int rp_payload_alloc(struct rp_object *obj, const void __user *init,
		     const void *kinit)
{
	void *buf = NULL;

	obj->pages = NULL;
	if (rp_payload_inline(obj)) {
		buf = obj->inline_data;
		memset(buf, 0, RP_INLINE_MAX);
	} else if (obj->size < PAGE_SIZE) {
		buf = kzalloc(obj->size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		rp_payload_set_buf(obj, buf);
		if (!buf)
			return -ENOMEM;
	} else {
		obj->pages = rp_pages_alloc(obj->size);
		if (!obj->pages)
			return -ENOMEM;
	}
	if (kinit) {
		if (obj->pages)
			rp_pages_copy(obj->pages, 0, (void *)kinit, obj->size,
				      true, rp_copy_kernel);
		else
			memcpy(buf, kinit, obj->size);
		return 0;
	}
	if (!init)
		return 0;
	if (obj->pages) {
		if (rp_pages_copy(obj->pages, 0, (void __force *)init,
				  obj->size, true, rp_copy_from_user) != obj->size)
			return -EFAULT;
	} else if (copy_from_user(buf, init, obj->size)) {
		return -EFAULT;
	}
	return 0;
}

/**
 * rp_payload_chunk - the bytes of the payload from an offset, up to the end
 * of their page
 * @obj: the object, in use by the caller
 * @off: offset, below the size
 * @len: out: how many bytes from the returned pointer are the payload's
 *
 * For comparing and hashing payloads wherever they live. Pages come from
 * alloc_page() without __GFP_HIGHMEM, so they always have an address.
 *
 * Return: a kernel pointer to the byte at @off.
 */
const void *rp_payload_chunk(struct rp_object *obj, u64 off, u64 *len)
{
	/* Pairs with the release in rp_payload_promote(). */
	struct page **pages = smp_load_acquire(&obj->pages);

	if (!pages) {
		*len = obj->size - off;
		return rp_payload_buf(obj) + off;
	}
	*len = min_t(u64, PAGE_SIZE - offset_in_page(off), obj->size - off);
	return page_address(pages[off >> PAGE_SHIFT]) + offset_in_page(off);
}

/**
 * rp_payload_free - return an object's storage
 * @obj: the object
 */
void rp_payload_free(struct rp_object *obj)
{
	if (!rp_payload_inline(obj))
		kfree(rp_payload_buf(obj));
	if (obj->pages)
		rp_pages_free(obj->pages, rp_npages(obj->size));
}

/**
 * rp_payload_read - copy bytes of the payload to user memory
 * @obj: the object
 * @off: offset, within the payload
 * @buf: user buffer
 * @len: bytes, @off + @len within the payload
 *
 * Return: 0 or -EFAULT.
 */
int rp_payload_read(struct rp_object *obj, u64 off, void __user *buf, u64 len)
{
	/* Pairs with the release in rp_payload_promote(). */
	struct page **pages = smp_load_acquire(&obj->pages);

	if (pages)
		return rp_pages_copy(pages, off, (void __force *)buf, len, false,
				     rp_copy_to_user) == len ? 0 : -EFAULT;
	return copy_to_user(buf, rp_payload_buf(obj) + off, len) ? -EFAULT : 0;
}

/**
 * rp_payload_write - copy kernel memory into the payload
 * @obj: the object, with this write registered (rp_object_begin_write())
 * @off: offset, within the payload
 * @src: the bytes
 * @len: bytes, @off + @len within the payload
 */
void rp_payload_write(struct rp_object *obj, u64 off, const void *src, u64 len)
{
	/* Writers are held off during promotion: the pointer is stable. */
	struct page **pages = READ_ONCE(obj->pages);

	if (pages)
		rp_pages_copy(pages, off, (void *)src, len, true,
			      rp_copy_kernel);
	else
		memcpy(rp_payload_buf(obj) + off, src, len);
}

/**
 * rp_payload_promote - move a small object's bytes into pages
 * @obj: the object, with its writers held off
 *
 * Return: 0 (also when the object has pages already) or -ENOMEM.
 */
int rp_payload_promote(struct rp_object *obj)
{
	struct page **pages;

	if (obj->pages)
		return 0;
	pages = rp_pages_alloc(obj->size);
	if (!pages)
		return -ENOMEM;
	rp_pages_copy(pages, 0, rp_payload_buf(obj), obj->size, true,
		      rp_copy_kernel);
	/* Readers that see the pages see their contents: pairs with acquires. */
	smp_store_release(&obj->pages, pages);
	return 0;
}

/**
 * rp_payload_page - the page behind a page offset of a promoted payload
 * @obj: the object
 * @pgoff: page index
 *
 * Return: the page, or NULL past the end.
 */
struct page *rp_payload_page(struct rp_object *obj, unsigned long pgoff)
{
	/* Pairs with the release in rp_payload_promote(). */
	struct page **pages = smp_load_acquire(&obj->pages);

	if (!pages || pgoff >= rp_npages(obj->size))
		return NULL;
	return pages[pgoff];
}

/**
 * rp_payload_pages - the pages of a promoted payload
 * @obj: the object
 *
 * Once made, the array and its pages stay until the object is released.
 *
 * Return: the array of DIV_ROUND_UP(size, PAGE_SIZE) pages, or NULL if the
 * payload is not in pages.
 */
struct page **rp_payload_pages(struct rp_object *obj)
{
	/* Pairs with the release in rp_payload_promote(). */
	return smp_load_acquire(&obj->pages);
}

/**
 * rp_payload_pinned - whether a page of the payload is held beyond its
 * mappings (pinned for I/O: O_DIRECT, vmsplice, io_uring, RDMA...)
 * @obj: the object, with its lock held
 *
 * A page of ours holds one reference for the object and one per page
 * table entry mapping it (with its mapcount); any other is someone's pin,
 * as memfd_wait_for_pins() counts them.
 *
 * Return: true if one is.
 */
bool rp_payload_pinned(struct rp_object *obj)
{
	/* Made with release ordering, outside the lock: see promotion. */
	struct page **pages = smp_load_acquire(&obj->pages);
	unsigned long i, n = rp_npages(obj->size);

	lockdep_assert_held(&obj->lock);
	if (!pages)
		return false;
	for (i = 0; i < n; i++)
		if (page_count(pages[i]) - page_mapcount(pages[i]) != 1)
			return true;
	return false;
}
