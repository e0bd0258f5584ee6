// SPDX-License-Identifier: GPL-2.0
/*
 * refpool dma-bufs (SPEC §1 "dma-buf", rp_export_dmabuf()): an object
 * exported as a dma-buf shows the same bytes through the dma-buf's mmap
 * (bracketed by DMA_BUF_IOCTL_SYNC) as through rp_read()/rp_write(), both
 * ways; the dma-buf keeps the object alive, and so does a device that
 * imported it (vgem's PRIME import), until GEM_CLOSE; a sealed object's
 * dma-buf cannot be mapped writable, by the CPU or by a device; a writable
 * mapping or a device import forbids sealing; rp_import() of the dma-buf
 * is the same object; bad input is refused and changes nothing; a second
 * user can import what it is given and pays for its own part; the
 * exporter's quota bounds what an export costs.
 *
 * The vgem tests need vgem: this program loads it (and what it depends on)
 * from the running kernel's modules when no vgem device exists and it runs
 * as root, and skips them when it cannot.
 */
#include "refpool_test.h"

#include <linux/dma-buf.h>
#include <sys/syscall.h>

#include "../tests/vgem.h"

RPT_SAVE_PARAMS("max_user_bytes");

#define RW	(O_RDWR | O_CLOEXEC)

static size_t pgsz(void)
{
	return (size_t)getpagesize();
}

static size_t round_pg(uint64_t size)
{
	return (size + pgsz() - 1) / pgsz() * pgsz();
}

/* The module has the dma-buf part (REFPOOL_FEAT_DMABUF). */
static bool have_dmabuf(struct rp_pool *p)
{
	struct refpool_version v;

	memset(&v, 0, sizeof(v));
	return ioctl(rp_fd(p), REFPOOL_IOC_VERSION, &v) == 0 &&
	       (v.features & REFPOOL_FEAT_DMABUF);
}

#define DMABUF_OR_SKIP(p) do { \
	if (!have_dmabuf(p)) \
		SETUP_SKIP("the module has no dma-buf support (REFPOOL_FEAT_DMABUF)"); \
} while (0)

/* The dma-buf's fd, or a negative errno. */
static int export(struct rp_pool *p, rp_handle_t h, uint32_t flags)
{
	int fd = -1;
	int ret = rp_export_dmabuf(p, h, flags, &fd);

	return ret ? ret : fd;
}

static int sync_dmabuf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return rpt_ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* mmap() of a dma-buf: the address, or NULL with errno set. */
static void *map_dmabuf(int fd, size_t len, int prot)
{
	void *m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	return m == MAP_FAILED ? NULL : m;
}

/* The raw ioctl, for the fields the library always fills. */
static int export_raw(struct rp_pool *p, struct refpool_dmabuf *args)
{
	return rpt_ioctl(rp_fd(p), REFPOOL_IOC_EXPORT_DMABUF, args);
}

/* What one dma-buf costs its exporter (measured), or 0. */
static uint64_t cost_of_dmabuf(struct rp_pool *p, rp_handle_t h)
{
	uint64_t before = rpt_user_bytes(p), after;
	int fd = export(p, h, RW);

	if (fd < 0)
		return 0;
	after = rpt_user_bytes(p);
	close(fd);
	return after - before;
}

/* ---- One object of three pages and a tail ---- */

FIXTURE(dmabuf) {
	struct rp_pool *p;
	rp_handle_t h;
	uint64_t size;
	size_t len;		/* the dma-buf's size */
	int fd;
	struct rp_stats base;	/* with the object alive, before any dma-buf */
};

FIXTURE_SETUP(dmabuf)
{
	RPT_OPEN_OR_SKIP(&self->p);
	DMABUF_OR_SKIP(self->p);
	self->fd = -1;
	self->size = 3 * pgsz() + 100;
	self->len = round_pg(self->size);
	ASSERT_EQ(0, rpt_create_pattern(self->p, self->size, 1, 0, &self->h));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->p)
		rp_close(self->p);
}

TEST_F(dmabuf, size_is_the_object_rounded_to_a_page)
{
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ((off_t)self->len, lseek(self->fd, 0, SEEK_END));
}

TEST_F(dmabuf, mmap_sees_rp_write)
{
	unsigned char *m;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	m = map_dmabuf(self->fd, self->len, PROT_READ);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 1));
	/* the rest of the last page reads as zeros */
	EXPECT_EQ(-1, rpt_nonzero(m + self->size, self->len - self->size));
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	/* a write after the mapping was made shows through it too */
	{
		unsigned char *buf = malloc(self->size);

		ASSERT_NE(NULL, buf);
		rpt_fill(buf, self->size, 7);
		ASSERT_EQ((int64_t)self->size,
			  rp_write(self->p, self->h, 0, buf, self->size));
		free(buf);
	}
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 7));
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, munmap(m, self->len));
}

TEST_F(dmabuf, write_through_mmap_seen_by_rp_read)
{
	unsigned char *m, *buf = malloc(self->size);

	ASSERT_NE(NULL, buf);
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	m = map_dmabuf(self->fd, self->len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	rpt_fill(m, self->size, 3);
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	ASSERT_EQ((int64_t)self->size, rp_read(self->p, self->h, 0, buf, self->size));
	EXPECT_EQ(-1, rpt_mismatch(buf, self->size, 3));
	EXPECT_EQ(0, munmap(m, self->len));
	free(buf);
}

TEST_F(dmabuf, mmap_past_the_end_is_einval)
{
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(NULL, map_dmabuf(self->fd, self->len + pgsz(), PROT_READ));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dmabuf, private_mapping_is_einval)
{
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->len, PROT_READ, MAP_PRIVATE,
				   self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dmabuf, owns_one_reference_counted_in_stats)
{
	struct rp_stats st;

	ASSERT_EQ(1, rpt_refs(self->p, self->h));
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.dmabufs + 1, st.dmabufs);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.dmabufs, st.dmabufs);
	/* the exporter's charge for the dma-buf is returned with it */
	EXPECT_EQ(self->base.user_bytes, st.user_bytes);
}

TEST_F(dmabuf, keeps_the_object_alive_after_its_handles)
{
	struct rp_stats st;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rp_put(self->p, self->h));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.bytes, st.bytes);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	/* the last reference went with the fd, before close() returned */
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)self->size, -1);
}

TEST_F(dmabuf, mapping_keeps_the_object_alive_after_the_fd)
{
	unsigned char *m;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	m = map_dmabuf(self->fd, self->len, PROT_READ);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 1));
	ASSERT_EQ(0, munmap(m, self->len));
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)self->size, -1);
}

TEST_F(dmabuf, import_gives_the_same_object)
{
	rp_handle_t h2;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rp_import(self->p, self->fd, &h2));
	EXPECT_NE(self->h, h2);
	EXPECT_EQ(rpt_id(self->p, self->h), rpt_id(self->p, h2));
	EXPECT_EQ(3, rpt_refs(self->p, h2));
	EXPECT_EQ(0, rp_put(self->p, h2));
}

TEST_F(dmabuf, import_in_another_session)
{
	struct rp_pool *q;
	rp_handle_t h2;
	uint64_t id = rpt_id(self->p, self->h);

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rp_import(q, self->fd, &h2));
	EXPECT_EQ(id, rpt_id(q, h2));
	/* the other session's reference keeps it after ours and the fd go */
	ASSERT_EQ(0, rp_put(self->p, self->h));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(1, rpt_refs(q, h2));
	rp_close(q);
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)self->size, -1);
}

TEST_F(dmabuf, o_cloexec_and_access_mode)
{
	int fd2;

	self->fd = export(self->p, self->h, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(self->fd, F_GETFL) & O_ACCMODE);
	fd2 = export(self->p, self->h, 0);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(fd2, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, close(fd2));
}

TEST_F(dmabuf, read_only_dmabuf_cannot_be_mapped_writable)
{
	void *m;

	self->fd = export(self->p, self->h, O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(NULL, map_dmabuf(self->fd, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	m = map_dmabuf(self->fd, self->len, PROT_READ);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-1, mprotect(m, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* a read-only mapping does not stop a seal */
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	EXPECT_EQ(0, munmap(m, self->len));
}

TEST_F(dmabuf, sealed_object_cannot_be_mapped_writable)
{
	void *m;

	ASSERT_EQ(0, rp_seal(self->p, self->h));
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(NULL, map_dmabuf(self->fd, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EPERM, errno);
	/* read-only is fine, and stays read-only */
	m = map_dmabuf(self->fd, self->len, PROT_READ);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 1));
	EXPECT_EQ(-1, mprotect(m, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap(m, self->len));
}

TEST_F(dmabuf, seal_with_a_writable_mapping_is_ebusy)
{
	void *m;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	m = map_dmabuf(self->fd, self->len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	EXPECT_EQ(0, munmap(m, self->len));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

/* A read-only mapping of an O_RDWR dma-buf never counts as a writer. */
TEST_F(dmabuf, seal_with_a_read_only_mapping)
{
	void *m;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	m = map_dmabuf(self->fd, self->len, PROT_READ);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	EXPECT_EQ(0, munmap(m, self->len));
}

/* fork() copies a writable mapping: the seal waits for both to go. */
TEST_F(dmabuf, forked_writable_mapping_counts_until_both_are_gone)
{
	int go[2], done[2];
	char c = 0;
	pid_t pid;
	void *m;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	m = map_dmabuf(self->fd, self->len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(done, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* hold the copied mapping until told to go */
		if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(munmap(m, self->len) ? 2 : 0);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(0, munmap(m, self->len));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, rpt_wait(pid));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

/* ---- Errors: each refused call changes nothing ---- */

TEST_F(dmabuf, handle_not_held_is_ebadf)
{
	int fd = -1;

	EXPECT_EQ(-EBADF, rp_export_dmabuf(self->p, self->h + 1000, RW, &fd));
	EXPECT_EQ(-EBADF, rp_export_dmabuf(self->p, 0, RW, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(dmabuf, put_handle_is_ebadf)
{
	rp_handle_t h2;
	int fd = -1;

	ASSERT_EQ(0, rp_dup(self->p, self->h, &h2));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_EQ(-EBADF, rp_export_dmabuf(self->p, h2, RW, &fd));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(dmabuf, empty_object_is_einval)
{
	struct rp_stats before;
	rp_handle_t e;
	int fd = -1, next = rpt_next_fd();

	ASSERT_EQ(0, rp_create(self->p, 0, 0, 0, &e));
	GET_STATS(self->p, &before);
	EXPECT_EQ(-EINVAL, rp_export_dmabuf(self->p, e, RW, &fd));
	EXPECT_POOL_UNCHANGED(self->p, &before);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_EQ(1, rpt_refs(self->p, e));
}

FIXTURE(bad_fd_flags) {
	struct rp_pool *p;
	rp_handle_t h;
};

FIXTURE_VARIANT(bad_fd_flags) {
	uint32_t fd_flags;
};

FIXTURE_VARIANT_ADD(bad_fd_flags, o_wronly) { O_WRONLY };
FIXTURE_VARIANT_ADD(bad_fd_flags, o_nonblock) { O_RDWR | O_NONBLOCK };
FIXTURE_VARIANT_ADD(bad_fd_flags, o_append) { O_APPEND };
FIXTURE_VARIANT_ADD(bad_fd_flags, o_creat) { O_CLOEXEC | O_CREAT };
FIXTURE_VARIANT_ADD(bad_fd_flags, bit_31) { 1U << 31 };

FIXTURE_SETUP(bad_fd_flags)
{
	RPT_OPEN_OR_SKIP(&self->p);
	DMABUF_OR_SKIP(self->p);
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &self->h));
}

FIXTURE_TEARDOWN(bad_fd_flags)
{
	if (self->p)
		rp_close(self->p);
}

TEST_F(bad_fd_flags, is_einval)
{
	struct rp_stats before;
	int fd = -1, next = rpt_next_fd();

	GET_STATS(self->p, &before);
	EXPECT_EQ(-EINVAL, rp_export_dmabuf(self->p, self->h, variant->fd_flags, &fd));
	EXPECT_POOL_UNCHANGED(self->p, &before);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
}

TEST_F(dmabuf, nonzero_flags_or_pad_is_einval)
{
	int32_t fd = -1;
	struct refpool_dmabuf args = {
		.handle = self->h, .fd_flags = RW, .flags = 1,
		.fd_ptr = (uintptr_t)&fd,
	};

	EXPECT_EQ(-EINVAL, export_raw(self->p, &args));
	args.flags = 0;
	args.pad = 1;
	EXPECT_EQ(-EINVAL, export_raw(self->p, &args));
	EXPECT_EQ(-1, fd);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(dmabuf, bad_fd_ptr_is_efault_and_leaves_no_dmabuf)
{
	struct rp_stats st;
	int next = rpt_next_fd();
	struct refpool_dmabuf args = {
		.handle = self->h, .fd_flags = RW,
		.fd_ptr = (uintptr_t)rpt_noaccess(),
	};

	ASSERT_NE(0, args.fd_ptr);
	EXPECT_EQ(-EFAULT, export_raw(self->p, &args));
	args.fd_ptr = 0;
	EXPECT_EQ(-EFAULT, export_raw(self->p, &args));
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.dmabufs, st.dmabufs);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(dmabuf, import_of_a_closed_fd_is_ebadf)
{
	rp_handle_t h2 = 0;
	int fd = rpt_next_fd();

	EXPECT_EQ(-EBADF, rp_import(self->p, fd, &h2));
	EXPECT_EQ(-EBADF, rp_import(self->p, -1, &h2));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(dmabuf, import_of_another_file_is_einval)
{
	rp_handle_t h2 = 0;
	int fd = memfd_create("not-refpool", MFD_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4096));
	EXPECT_EQ(-EINVAL, rp_import(self->p, fd, &h2));
	EXPECT_EQ(0, close(fd));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* ---- Small objects move into pages, paid by the exporter ---- */

FIXTURE(dmabuf_small) {
	struct rp_pool *p;
	rp_handle_t h;
	int fd;
};

FIXTURE_VARIANT(dmabuf_small) {
	uint64_t size;
};

/* inline in the object, and a slab buffer */
FIXTURE_VARIANT_ADD(dmabuf_small, inline_16) { 16 };
FIXTURE_VARIANT_ADD(dmabuf_small, slab_100) { 100 };

FIXTURE_SETUP(dmabuf_small)
{
	RPT_OPEN_OR_SKIP(&self->p);
	DMABUF_OR_SKIP(self->p);
	self->fd = -1;
	ASSERT_EQ(0, rpt_create_pattern(self->p, variant->size, 4, 0, &self->h));
}

FIXTURE_TEARDOWN(dmabuf_small)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->p)
		rp_close(self->p);
}

TEST_F(dmabuf_small, export_promotes_and_both_sides_agree)
{
	unsigned char *m, buf[128];

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ((off_t)pgsz(), lseek(self->fd, 0, SEEK_END));
	m = map_dmabuf(self->fd, pgsz(), PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-1, rpt_mismatch(m, variant->size, 4));
	EXPECT_EQ(-1, rpt_nonzero(m + variant->size, pgsz() - variant->size));
	rpt_fill(m, variant->size, 5);
	ASSERT_EQ((int64_t)variant->size, rp_read(self->p, self->h, 0, buf, variant->size));
	EXPECT_EQ(-1, rpt_mismatch(buf, variant->size, 5));
	rpt_fill(buf, variant->size, 6);
	ASSERT_EQ((int64_t)variant->size, rp_write(self->p, self->h, 0, buf, variant->size));
	EXPECT_EQ(-1, rpt_mismatch(m, variant->size, 6));
	EXPECT_EQ(0, munmap(m, pgsz()));
}

/* The pages stay the exporter's, as a mapping's do, while the object lives. */
TEST_F(dmabuf_small, the_exporter_pays_for_the_pages)
{
	uint64_t before = rpt_user_bytes(self->p), during, after;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	during = rpt_user_bytes(self->p);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	after = rpt_user_bytes(self->p);
	/* a page at least, and the dma-buf itself, which went with the fd */
	EXPECT_LE(before + pgsz(), after);
	EXPECT_LT(after, during);
	/* a second export makes no pages */
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(during, rpt_user_bytes(self->p));
}

/* ---- The exporter's quota ---- */

FIXTURE(dmabuf_quota) {
	struct rp_pool *p;
	rp_handle_t h;
	uint64_t cost;		/* what one dma-buf costs its exporter */
};

FIXTURE_SETUP(dmabuf_quota)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root to set max_user_bytes");
	RPT_OPEN_OR_SKIP(&self->p);
	DMABUF_OR_SKIP(self->p);
	ASSERT_EQ(0, rp_create(self->p, 8192, 0, 0, &self->h));
	self->cost = cost_of_dmabuf(self->p, self->h);
	/* its own kernel memory: the dma-buf, its file, inode and dentry */
	ASSERT_LT(512, self->cost);
}

FIXTURE_TEARDOWN(dmabuf_quota)
{
	EXPECT_EQ(0, rpt_params_restore());
	if (self->p)
		rp_close(self->p);
}

TEST_F(dmabuf_quota, an_export_over_the_quota_is_edquot)
{
	struct rp_stats before, after;
	int fd = -1, next = rpt_next_fd();

	GET_STATS(self->p, &before);
	ASSERT_EQ(0, rpt_param_set_u64("max_user_bytes",
				       before.user_bytes + self->cost - 1));
	EXPECT_EQ(-EDQUOT, rp_export_dmabuf(self->p, self->h, RW, &fd));
	EXPECT_POOL_UNCHANGED(self->p, &before);
	GET_STATS(self->p, &after);
	EXPECT_EQ(before.dmabufs, after.dmabufs);
	EXPECT_EQ(next, rpt_next_fd());
	ASSERT_EQ(0, rpt_param_set_u64("max_user_bytes", before.user_bytes + self->cost));
	fd = export(self->p, self->h, RW);
	EXPECT_LE(0, fd);
	EXPECT_EQ(before.user_bytes + self->cost, rpt_user_bytes(self->p));
	close(fd);
}

/* A small object's pages count too: refused, and none are made. */
TEST_F(dmabuf_quota, pages_over_the_quota_are_edquot)
{
	struct rp_stats before;
	rp_handle_t small;
	int fd = -1;

	ASSERT_EQ(0, rp_create(self->p, 100, 0, 0, &small));
	GET_STATS(self->p, &before);
	/* room for the dma-buf, not for its page */
	ASSERT_EQ(0, rpt_param_set_u64("max_user_bytes",
				       before.user_bytes + self->cost + 64));
	EXPECT_EQ(-EDQUOT, rp_export_dmabuf(self->p, small, RW, &fd));
	EXPECT_POOL_UNCHANGED(self->p, &before);
}

/* ---- Two users ---- */

struct party {
	int fd;			/* a dma-buf of the parent's object */
	uint64_t id;		/* its id */
	int ret;
	uint64_t charged_import;	/* user_bytes an import added */
	uint64_t handle_cost;	/* what a dup of the handle costs */
	uint64_t charged_export;	/* user_bytes its own export added */
};


static int import_as_user(void *arg)
{
	struct party *pt = arg;
	struct rp_pool *p;
	uint64_t b0, b1;
	rp_handle_t h;
	int fd;

	if (rp_open(&p))
		return 10;
	b0 = rpt_user_bytes(p);
	pt->ret = rp_import(p, pt->fd, &h);
	if (pt->ret)
		return 11;
	b1 = rpt_user_bytes(p);
	pt->charged_import = b1 - b0;
	pt->handle_cost = rpt_cost_of_handle(p, h);
	if (rpt_id(p, h) != pt->id)
		return 12;
	/* its own export of what it was given: it pays */
	fd = export(p, h, RW);
	if (fd < 0)
		return 13;
	pt->charged_export = rpt_user_bytes(p) - b1;
	close(fd);
	rp_close(p);
	return 0;
}

TEST(another_user_imports_what_it_is_given)
{
	struct party *pt = rpt_shared(sizeof(*pt));
	struct rp_pool *p;
	uint64_t mine, cost;
	rp_handle_t h;

	if (geteuid() != 0)
		SKIP(return, "needs root to become another user");
	if (rp_open(&p))
		SKIP(return, "%s missing: is refpool.ko loaded?", rpt_device());
	if (!have_dmabuf(p))
		SKIP(return, "the module has no dma-buf support");
	ASSERT_NE(NULL, pt);
	ASSERT_EQ(0, rpt_create_pattern(p, 5000, 8, 0, &h));
	pt->id = rpt_id(p, h);
	cost = cost_of_dmabuf(p, h);
	ASSERT_NE(0, cost);
	pt->fd = export(p, h, RW);
	ASSERT_LE(0, pt->fd);
	ASSERT_EQ(0, fcntl(pt->fd, F_SETFD, 0));
	mine = rpt_user_bytes(p);
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, import_as_user, pt));
	EXPECT_EQ(0, pt->ret);
	/* the importer paid for its handle only, the exporter nothing more */
	EXPECT_EQ(pt->handle_cost, pt->charged_import);
	/* its own export costs it what ours cost us */
	EXPECT_EQ(cost, pt->charged_export);
	EXPECT_EQ(mine, rpt_user_bytes(p));
	/* its handle went with its session: ours and the dma-buf remain */
	EXPECT_EQ(2, rpt_refs(p, h));
	close(pt->fd);
	rp_close(p);
}

/* ---- vgem: a device imports the dma-buf (PRIME) ---- */

FIXTURE(vgem) {
	struct rp_pool *p;
	rp_handle_t h;
	uint64_t size;
	int drm;		/* a DRM file of vgem */
	int fd;
	struct rp_stats base;
};

FIXTURE_SETUP(vgem)
{
	char path[32];
	int ret = 0;

	RPT_OPEN_OR_SKIP(&self->p);
	DMABUF_OR_SKIP(self->p);
	self->fd = -1;
	self->drm = vgem_open(path, sizeof(path));
	if (self->drm < 0 && geteuid() == 0) {
		ret = vgem_load();
		self->drm = vgem_open(path, sizeof(path));
	}
	if (self->drm < 0)
		SETUP_SKIP("no vgem device (loading vgem: %s)", strerror(-ret));
	self->size = 2 * pgsz() + 10;
	ASSERT_EQ(0, rpt_create_pattern(self->p, self->size, 9, 0, &self->h));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(vgem)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->drm >= 0)
		close(self->drm);
	if (self->p)
		rp_close(self->p);
}

TEST_F(vgem, import_keeps_the_object_until_gem_close)
{
	uint32_t gem;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vgem_prime_import(self->drm, self->fd, &gem));
	/* the fd and every handle go: the device still uses the pages */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);
	ASSERT_EQ(0, vgem_gem_close(self->drm, gem));
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)self->size, -1);
}

TEST_F(vgem, closing_the_drm_file_frees_it_too)
{
	uint32_t gem;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vgem_prime_import(self->drm, self->fd, &gem));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, rp_put(self->p, self->h));
	ASSERT_EQ(0, close(self->drm));
	self->drm = -1;
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)self->size, -1);
}

/* PRIME maps an import DMA_BIDIRECTIONAL: the device may write. */
TEST_F(vgem, seal_while_imported_is_ebusy)
{
	uint32_t gem;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vgem_prime_import(self->drm, self->fd, &gem));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	ASSERT_EQ(0, vgem_gem_close(self->drm, gem));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

TEST_F(vgem, import_of_a_sealed_object_is_eperm)
{
	uint32_t gem = 0;

	ASSERT_EQ(0, rp_seal(self->p, self->h));
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-EPERM, vgem_prime_import(self->drm, self->fd, &gem));
	/* nothing holds it but the handle and the dma-buf */
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
}

/* The same import twice in one DRM file is one GEM handle (PRIME's cache). */
TEST_F(vgem, import_twice_is_one_handle)
{
	uint32_t g1, g2;

	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vgem_prime_import(self->drm, self->fd, &g1));
	ASSERT_EQ(0, vgem_prime_import(self->drm, self->fd, &g2));
	EXPECT_EQ(g1, g2);
	ASSERT_EQ(0, vgem_gem_close(self->drm, g1));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

/* CPU access bracketed by SYNC while a device has the pages mapped. */
TEST_F(vgem, sync_with_a_device_mapping)
{
	unsigned char *m, *buf = malloc(self->size);
	uint32_t gem;

	ASSERT_NE(NULL, buf);
	self->fd = export(self->p, self->h, RW);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vgem_prime_import(self->drm, self->fd, &gem));
	m = map_dmabuf(self->fd, round_pg(self->size), PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 9));
	rpt_fill(m, self->size, 10);
	ASSERT_EQ(0, sync_dmabuf(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	ASSERT_EQ((int64_t)self->size, rp_read(self->p, self->h, 0, buf, self->size));
	EXPECT_EQ(-1, rpt_mismatch(buf, self->size, 10));
	EXPECT_EQ(0, munmap(m, round_pg(self->size)));
	ASSERT_EQ(0, vgem_gem_close(self->drm, gem));
	free(buf);
}

TEST_F(vgem, import_of_a_vgem_dmabuf_is_einval)
{
	uint32_t dumb;
	rp_handle_t h2 = 0;
	int fd;

	ASSERT_EQ(0, vgem_dumb_create(self->drm, 4096, &dumb));
	fd = vgem_prime_export(self->drm, dumb, O_CLOEXEC | O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, rp_import(self->p, fd, &h2));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, vgem_dumb_destroy(self->drm, dumb));
}

TEST_HARNESS_MAIN
