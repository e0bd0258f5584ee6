// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, dma-bufs: export an object as one, and either keep its fd
 * (an exported fd as the model knows them: import and close(fd) work on it
 * as on rp_export()'s) or map it and let the mapping own it (a mapping as
 * the model knows them: map:write, map:read, unmap, mprotect and seal's
 * -EBUSY apply). Either way the dma-buf is one strong reference, which is
 * what the model counts for an fd or a mapping.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include <linux/dma-buf.h>

#include "fuzz.h"

static bool dmabuf_ok(const struct mobj *o)
{
	return o->nh > 0 && o->nfd < MAXF && o->nmap < MAXM;
}

/* fd flags the export refuses: anything but O_CLOEXEC and O_RDWR */
static uint32_t bad_fd_flags(struct tctx *c)
{
	static const uint32_t bad[] = {
		O_WRONLY, O_RDWR | O_NONBLOCK, O_APPEND, O_CLOEXEC | O_CREAT,
		O_RDWR | O_TRUNC, 1u << 31,
	};

	return bad[rnd(&c->r, ARRAY_SIZE(bad))];
}

/* Whether the module has the dma-buf part (REFPOOL_FEAT_DMABUF). */
static bool have_dmabuf(struct tctx *c)
{
	struct refpool_version v;

	memset(&v, 0, sizeof(v));
	return raw(rp_fd(c->p), REFPOOL_IOC_VERSION, &v) == 0 &&
	       (v.features & REFPOOL_FEAT_DMABUF);
}

static int sync_dmabuf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return raw(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* Map the dma-buf; the mapping, if made, takes over its reference. */
static void dmabuf_map(struct tctx *c, int i, int fd)
{
	struct mobj *o = &c->o[i];
	size_t len = (o->size + 4095) & ~(size_t)4095;
	int prot = rnd(&c->r, 2) ? PROT_READ : PROT_READ | PROT_WRITE;
	struct mapping *m;
	uint8_t *addr;
	int ret;

	addr = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	ret = addr == MAP_FAILED ? -errno : 0;
	note(c, o->id, prot, len, ret);
	if (prot & PROT_WRITE) {
		if (o->flags & RP_SEALED) {
			expect(c, "mmap(dma-buf of a sealed object, writable)", ret, -EPERM);
			goto out;
		}
		if (o->shared && ret == -EPERM) {	/* L2 */
			o->flags |= RP_SEALED;
			goto out;
		}
	}
	if (!expect(c, "mmap(dma-buf)", ret, 0))
		goto out;
	m = &o->map[o->nmap++];
	m->addr = addr;
	m->len = len;
	m->rw = !!(prot & PROT_WRITE);
	m->npages = len / 4096;
	m->mapped = malloc(m->npages);
	memset(m->mapped, 1, m->npages);
	m->left = m->npages;
	expect(c, "DMA_BUF_IOCTL_SYNC(start)",
	       sync_dmabuf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
	if ((!o->shared || o->data_known) && memcmp(addr, o->data, o->size))
		report(c, "mmap(dma-buf): id %" PRIu64 " mapping differs from the model", o->id);
	expect(c, "DMA_BUF_IOCTL_SYNC(end)",
	       sync_dmabuf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
out:
	close(fd);
	if (!ret)
		return;
	settle(c);	/* the dma-buf went with the fd */
}

void op_dmabuf(struct tctx *c)
{
	int i = pick(c, dmabuf_ok), fd = -1, ret, fl;
	uint32_t flags = O_CLOEXEC | O_RDWR;
	uint64_t k = rnd(&c->r, 8);
	struct mobj *o;
	off_t size;

	if (i < 0)
		return;
	o = &c->o[i];
	if (k == 0)
		flags = bad_fd_flags(c);
	ret = rp_export_dmabuf(c->p, any_h(c, o), flags, &fd);
	note(c, o->id, flags, fd, ret);
	if (ret == -ENOTTY && !have_dmabuf(c))
		return;	/* a module without dma-bufs */
	if (k == 0) {
		expect(c, "rp_export_dmabuf(bad fd flags)", ret, -EINVAL);
		return;
	}
	if (!o->size) {
		expect(c, "rp_export_dmabuf(empty object)", ret, -EINVAL);
		return;
	}
	if (!expect(c, "rp_export_dmabuf", ret, 0))
		return;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || !(fl & FD_CLOEXEC))
		report(c, "rp_export_dmabuf: fd %d is not close-on-exec", fd);
	size = lseek(fd, 0, SEEK_END);
	if (size != (off_t)((o->size + 4095) & ~(uint64_t)4095))
		report(c, "rp_export_dmabuf: id %" PRIu64 " size %" PRIu64 ", the dma-buf's %lld",
		       o->id, o->size, (long long)size);
	if (k < 4 && o->size <= MAX_MAP_SIZE)
		dmabuf_map(c, i, fd);
	else
		o->fd[o->nfd++] = fd;
	check_info(c, i, any_h(c, o), "rp_info after rp_export_dmabuf");
}
