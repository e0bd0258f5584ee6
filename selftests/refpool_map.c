// SPDX-License-Identifier: GPL-2.0
/*
 * refpool mappings: rp_map() maps a whole object MAP_SHARED; the mapping
 * and rp_read()/rp_write() see the same bytes, for objects stored inline,
 * in a slab buffer or in pages; a mapping is a strong reference; sealing
 * follows memfd's rules (no writable mapping of a sealed object, no seal
 * while a writable mapping exists, a read-only mapping stays read-only).
 */
#include "refpool_test.h"

#include <pthread.h>

static size_t pgsz(void)
{
	return (size_t)getpagesize();
}

static size_t round_pg(uint64_t size)
{
	return (size + pgsz() - 1) / pgsz() * pgsz();
}

/* ---- Coherence, for each kind of storage ---- */

FIXTURE(map_size) {
	struct rp_pool *p;
	rp_handle_t h;
	uint64_t size;
	struct rp_stats base;	/* taken with the object alive */
};

FIXTURE_VARIANT(map_size) {
	unsigned int pages;
	unsigned int extra;
};

/* Inline in the object, a slab buffer, one page, several plus a tail. */
FIXTURE_VARIANT_ADD(map_size, inline_16) { 0, 16 };
FIXTURE_VARIANT_ADD(map_size, slab_100) { 0, 100 };
FIXTURE_VARIANT_ADD(map_size, one_page) { 1, 0 };
FIXTURE_VARIANT_ADD(map_size, three_pages_and_5) { 3, 5 };

FIXTURE_SETUP(map_size)
{
	RPT_OPEN_OR_SKIP(&self->p);
	self->size = (uint64_t)variant->pages * pgsz() + variant->extra;
	ASSERT_EQ(0, rpt_create_pattern(self->p, self->size, 1, 0, &self->h));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(map_size)
{
	if (self->p)
		rp_close(self->p);
}

TEST_F(map_size, mapping_shows_the_contents)
{
	void *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, &m));
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 1));
	EXPECT_EQ(0, rp_unmap(m, self->size));
	EXPECT_POOL_SAME(self->p, &self->base);
}

TEST_F(map_size, write_through_mapping_seen_by_rp_read)
{
	unsigned char *buf = malloc(self->size);
	void *m = NULL;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &m));
	rpt_fill(m, self->size, 2);
	ASSERT_EQ((int64_t)self->size,
		  rp_read(self->p, self->h, 0, buf, self->size));
	EXPECT_EQ(-1, rpt_mismatch(buf, self->size, 2));
	ASSERT_EQ(0, rp_unmap(m, self->size));

	/* The bytes stay in the object after the mapping is gone. */
	memset(buf, 0, self->size);
	ASSERT_EQ((int64_t)self->size,
		  rp_read(self->p, self->h, 0, buf, self->size));
	EXPECT_EQ(-1, rpt_mismatch(buf, self->size, 2));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_SAME(self->p, &self->base);
	free(buf);
}

TEST_F(map_size, rp_write_seen_through_mapping)
{
	unsigned char *buf = malloc(self->size);
	volatile unsigned char *m = NULL;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, (void **)&m));
	/* Fault the pages in first: the write must reach them. */
	EXPECT_EQ(-1, rpt_mismatch((void *)m, self->size, 1));
	rpt_fill(buf, self->size, 3);
	ASSERT_EQ((int64_t)self->size,
		  rp_write(self->p, self->h, 0, buf, self->size));
	EXPECT_EQ(-1, rpt_mismatch((void *)m, self->size, 3));
	/* And a partial write at the very end. */
	rpt_fill(buf, 3, 4);
	ASSERT_EQ(3, rp_write(self->p, self->h, self->size - 3, buf, 3));
	EXPECT_EQ(-1, rpt_mismatch((void *)(m + self->size - 3), 3, 4));
	EXPECT_EQ(0, rp_unmap((void *)m, self->size));
	free(buf);
}

TEST_F(map_size, two_mappings_see_each_other)
{
	unsigned char *a = NULL, *b = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&a));
	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, (void **)&b));
	EXPECT_NE(a, b);
	/* One handle, two mappings: each holds its own file. */
	EXPECT_EQ(3, rpt_refs(self->p, self->h));
	EXPECT_EQ(-1, rpt_mismatch(b, self->size, 1));
	rpt_fill(a, self->size, 5);
	EXPECT_EQ(-1, rpt_mismatch(b, self->size, 5));
	EXPECT_EQ(0, rp_unmap(a, self->size));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_EQ(-1, rpt_mismatch(b, self->size, 5));
	EXPECT_EQ(0, rp_unmap(b, self->size));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_SAME(self->p, &self->base);
}

/* Past the last byte, up to the end of the last page: zeroes. */
TEST_F(map_size, tail_of_last_page_reads_zero)
{
	size_t mapped = round_pg(self->size);
	unsigned char *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, (void **)&m));
	EXPECT_EQ(-1, rpt_mismatch(m, self->size, 1));
	EXPECT_EQ(-1, rpt_nonzero(m + self->size, mapped - self->size));
	EXPECT_EQ(0, rp_unmap(m, self->size));
}

/* ---- Lifetime, sharing with other processes, errors ---- */

#define MOBJ_SIZE	(3 * pgsz() + 5)

FIXTURE(map) {
	struct rp_pool *p;
	rp_handle_t h;		/* MOBJ_SIZE bytes of pattern 1 */
	struct rpt_obj obj;
	struct rp_stats base;	/* taken with the object alive */
	pid_t child;
};

FIXTURE_SETUP(map)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, MOBJ_SIZE, 1, 0, &self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(map)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		rpt_wait(self->child);
	}
	if (self->p)
		rp_close(self->p);
}

#define EXPECT_NOTHING_CHANGED() do { \
	EXPECT_POOL_UNCHANGED(self->p, &self->base); \
	EXPECT_OBJ_UNCHANGED(self->p, &self->obj); \
} while (0)

TEST_F(map, refs_are_handles_plus_one)
{
	rp_handle_t d;
	void *m = NULL;

	ASSERT_EQ(0, rp_dup(self->p, self->h, &d));
	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &m));
	EXPECT_EQ(3, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, rp_put(self->p, d));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(map, mapping_keeps_object_alive_after_last_put)
{
	unsigned char *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&m));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 1));
	rpt_fill(m, MOBJ_SIZE, 6);
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 6));
	ASSERT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)MOBJ_SIZE, -1);
}

/* A child shares the parent's mapping both ways. */
TEST_F(map, forked_child_shares_the_mapping)
{
	int to_child[2], to_parent[2];
	unsigned char *m = NULL;
	char c = 0;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&m));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		/* Write pattern 7, wait, then expect the parent's 8. */
		rpt_fill(m, MOBJ_SIZE, 7);
		if (rpt_write_all(to_parent[1], "w", 1) ||
		    rpt_read_all(to_child[0], &c, 1))
			_exit(2);
		_exit(rpt_mismatch(m, MOBJ_SIZE, 8) == -1 ? 0 : 1);
	}
	ASSERT_EQ(0, rpt_read_all(to_parent[0], &c, 1));
	/* The child's copy of the mapping shares its file: no new ref. */
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 7));
	rpt_fill(m, MOBJ_SIZE, 8);
	ASSERT_EQ(0, rpt_write_all(to_child[1], "r", 1));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	ASSERT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* The parent lets go entirely; the child's copy of the mapping holds on. */
TEST_F(map, fork_keeps_mapping_alive_after_parent_unmaps)
{
	int to_child[2], to_parent[2];
	unsigned char *m = NULL;
	char c = 0;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&m));
	rpt_fill(m, MOBJ_SIZE, 9);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		if (rpt_read_all(to_child[0], &c, 1))
			_exit(2);
		if (rpt_mismatch(m, MOBJ_SIZE, 9) != -1)
			_exit(1);
		rpt_fill(m, MOBJ_SIZE, 10);
		if (rpt_mismatch(m, MOBJ_SIZE, 10) != -1)
			_exit(3);
		_exit(rpt_write_all(to_parent[1], "d", 1) ? 4 : 0);
	}
	ASSERT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, -1);
	ASSERT_EQ(0, rpt_write_all(to_child[1], "g", 1));
	ASSERT_EQ(0, rpt_read_all(to_parent[0], &c, 1));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -(int64_t)MOBJ_SIZE, -1);
}

/* An exported fd passed to another process, mapped there with mmap(). */
TEST_F(map, exported_fd_mapped_by_another_process)
{
	unsigned char buf[64];
	int sv[2], fd = -1;

	ASSERT_EQ(0, rpt_socketpair(sv));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		int rfd = rpt_recv_fd(sv[1]);
		unsigned char *m;

		if (rfd < 0)
			_exit(2);
		m = mmap(NULL, MOBJ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 rfd, 0);
		if (m == MAP_FAILED)
			_exit(3);
		close(rfd);
		if (rpt_mismatch(m, MOBJ_SIZE, 1) != -1)
			_exit(4);
		rpt_fill(m + MOBJ_SIZE - 64, 64, 11);
		_exit(munmap(m, MOBJ_SIZE) ? 5 : 0);
	}
	close(sv[1]);
	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rpt_send_fd(sv[0], fd));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	ASSERT_EQ(64, rp_read(self->p, self->h, MOBJ_SIZE - 64, buf, 64));
	EXPECT_EQ(-1, rpt_mismatch(buf, 64, 11));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

FIXTURE(map_bad_prot) {
	struct rp_pool *p;
	rp_handle_t h;
	struct rpt_obj obj;
	struct rp_stats base;
};

FIXTURE_VARIANT(map_bad_prot) {
	int prot;
};

FIXTURE_VARIANT_ADD(map_bad_prot, write_only) { PROT_WRITE };
FIXTURE_VARIANT_ADD(map_bad_prot, none) { PROT_NONE };
FIXTURE_VARIANT_ADD(map_bad_prot, read_exec) { PROT_READ | PROT_EXEC };
FIXTURE_VARIANT_ADD(map_bad_prot, read_write_exec) {
	PROT_READ | PROT_WRITE | PROT_EXEC };
FIXTURE_VARIANT_ADD(map_bad_prot, unknown_bit) { PROT_READ | 0x100 };

FIXTURE_SETUP(map_bad_prot)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, MOBJ_SIZE, 1, 0, &self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(map_bad_prot)
{
	if (self->p)
		rp_close(self->p);
}

TEST_F(map_bad_prot, einval)
{
	void *m = (void *)0x1234;

	EXPECT_EQ(-EINVAL, rp_map(self->p, self->h, variant->prot, &m));
	EXPECT_EQ((void *)0x1234, m);
	EXPECT_NOTHING_CHANGED();
	/* And the object is not left unsealable: no writable mapping. */
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

TEST_F(map, empty_object_einval)
{
	void *m = (void *)0x1234;
	struct rpt_obj o;
	rp_handle_t h0;

	ASSERT_EQ(0, rp_create(self->p, 0, 0, 0, &h0));
	SNAP(self->p, h0, &o);
	GET_STATS(self->p, &self->base);
	EXPECT_EQ(-EINVAL, rp_map(self->p, h0, PROT_READ, &m));
	EXPECT_EQ(-EINVAL, rp_map(self->p, h0, PROT_READ | PROT_WRITE, &m));
	EXPECT_EQ((void *)0x1234, m);
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(map, bad_handle_ebadf)
{
	void *m = (void *)0x1234;

	EXPECT_EQ(-EBADF, rp_map(self->p, 0, PROT_READ, &m));
	EXPECT_EQ(-EBADF, rp_map(self->p, self->h + 1000,
				 PROT_READ | PROT_WRITE, &m));
	EXPECT_EQ((void *)0x1234, m);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(map, null_addr_efault)
{
	EXPECT_EQ(-EFAULT, rp_map(self->p, self->h, PROT_READ, NULL));
	EXPECT_NOTHING_CHANGED();
}

/* ---- Sealing and mappings ---- */

TEST_F(map, writable_map_of_sealed_eperm)
{
	void *m = (void *)0x1234;
	int next;

	ASSERT_EQ(0, rp_seal(self->p, self->h));
	SNAP(self->p, self->h, &self->obj);
	next = rpt_next_fd();
	EXPECT_EQ(-EPERM, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &m));
	EXPECT_EQ((void *)0x1234, m);
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

TEST_F(map, readonly_map_of_sealed_cannot_become_writable)
{
	unsigned char *m = NULL;

	ASSERT_EQ(0, rp_seal(self->p, self->h));
	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, (void **)&m));
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 1));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_EQ(-1, mprotect(m, round_pg(MOBJ_SIZE), PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(m, pgsz(), PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 1));
	EXPECT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
}

TEST_F(map, readonly_map_of_unsealed_cannot_become_writable)
{
	void *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, &m));
	EXPECT_EQ(-1, mprotect(m, round_pg(MOBJ_SIZE), PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(map, seal_with_writable_mapping_ebusy)
{
	unsigned char buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	void *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &m));
	SNAP(self->p, self->h, &self->obj);	/* refs 2, not sealed */
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	EXPECT_NOTHING_CHANGED();
	/* Still writable, both ways. */
	EXPECT_EQ(8, rp_write(self->p, self->h, 0, buf, 8));
	EXPECT_EQ(0, memcmp(m, buf, 8));
	memset(m, 0x33, 8);
	EXPECT_EQ(8, rp_read(self->p, self->h, 0, buf, 8));
	EXPECT_EQ(0x33, buf[7]);
	EXPECT_EQ(0, rp_unmap(m, MOBJ_SIZE));
}

TEST_F(map, seal_after_unmap_succeeds)
{
	struct rp_info info;
	void *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &m));
	ASSERT_EQ(-EBUSY, rp_seal(self->p, self->h));
	ASSERT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	ASSERT_EQ(0, rp_info(self->p, self->h, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
	EXPECT_EQ(1, info.refs);
}

/* A read-only mapping does not stand in the way of a seal. */
TEST_F(map, seal_with_readonly_mapping_succeeds)
{
	unsigned char *m = NULL;
	struct rp_info info;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, (void **)&m));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	ASSERT_EQ(0, rp_info(self->p, self->h, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 1));
	EXPECT_EQ(0, rp_unmap(m, MOBJ_SIZE));
}

/* fork() copies the writable mapping: it counts until the child is gone. */
TEST_F(map, seal_busy_while_forked_child_keeps_writable_mapping)
{
	int to_child[2];
	void *m = NULL;
	char c;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &m));
	ASSERT_EQ(0, pipe(to_child));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(rpt_read_all(to_child[0], &c, 1) ? 1 : 0);
	ASSERT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	ASSERT_EQ(0, rpt_write_all(to_child[1], "x", 1));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
}

/* Unmapping part of a writable mapping leaves the rest writable. */
TEST_F(map, seal_busy_after_partial_unmap)
{
	char *m = NULL;
	size_t len = round_pg(MOBJ_SIZE);

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&m));
	ASSERT_EQ(0, munmap(m, pgsz()));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	/* Split what is left in two, then drop both halves. */
	ASSERT_EQ(0, munmap(m + 2 * pgsz(), pgsz()));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	m[pgsz()] = 0x42;
	ASSERT_EQ(0, munmap(m + pgsz(), pgsz()));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, munmap(m + 3 * pgsz(), len - 3 * pgsz()));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

/* ---- mmap() of an exported fd ---- */

TEST_F(map, mmap_beyond_the_object_einval)
{
	size_t pages = round_pg(MOBJ_SIZE) / pgsz();
	int fd = -1;
	void *m;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	/* All of its pages is fine, one more is not. */
	m = mmap(NULL, pages * pgsz(), PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, munmap(m, pages * pgsz()));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, (pages + 1) * pgsz(), PROT_READ,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, pgsz(), PROT_READ, MAP_SHARED, fd,
				   pages * pgsz()));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * pgsz(), PROT_READ, MAP_SHARED, fd,
				   (pages - 1) * pgsz()));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, close(fd));
	EXPECT_NOTHING_CHANGED();
	/* No writable mapping was left counted. */
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

TEST_F(map, mmap_private_einval)
{
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, pgsz(), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, close(fd));
	EXPECT_NOTHING_CHANGED();
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

/* A mapping at a page offset of the exported file sees those bytes. */
TEST_F(map, mmap_at_page_offset)
{
	unsigned char buf[64];
	unsigned char *m;
	int fd = -1;

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	m = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 2 * pgsz());
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, close(fd));
	rpt_fill(buf, sizeof(buf), 1);
	/* Pattern 1 at offset 2 pages equals pattern 1 shifted by 2 pages. */
	ASSERT_EQ(64, rp_read(self->p, self->h, 2 * pgsz(), buf, 64));
	EXPECT_EQ(0, memcmp(m, buf, 64));
	memset(m, 0xee, 16);
	ASSERT_EQ(16, rp_read(self->p, self->h, 2 * pgsz(), buf, 16));
	EXPECT_EQ(0xee, buf[0]);
	EXPECT_EQ(0xee, buf[15]);
	ASSERT_EQ(0, munmap(m, pgsz()));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
}

/* Dropping the mapped pages refaults the object's own bytes. */
TEST_F(map, contents_survive_madv_dontneed)
{
	unsigned char *m = NULL;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&m));
	rpt_fill(m, MOBJ_SIZE, 12);
	ASSERT_EQ(0, madvise(m, round_pg(MOBJ_SIZE), MADV_DONTNEED));
	EXPECT_EQ(-1, rpt_mismatch(m, MOBJ_SIZE, 12));
	EXPECT_EQ(0, rp_unmap(m, MOBJ_SIZE));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
}

/* A moved mapping is the same mapping: same bytes, still a reference. */
TEST_F(map, mremap_moves_the_mapping)
{
	size_t len = round_pg(MOBJ_SIZE);
	unsigned char *m = NULL, *dst, *moved;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE,
			    (void **)&m));
	dst = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	moved = mremap(m, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, moved);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_EQ(-1, rpt_mismatch(moved, MOBJ_SIZE, 1));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	/* It cannot grow past the object. */
	EXPECT_EQ(MAP_FAILED, mremap(moved, len, len + pgsz(), 0));
	EXPECT_EQ(0, rp_unmap(moved, MOBJ_SIZE));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

/*
 * Mapping a small object moves its bytes into a page while another thread
 * writes: the last write must be what both the mapping and rp_read() see.
 */
struct writer_arg {
	struct rp_pool *p;
	rp_handle_t h;
	volatile int stop;
	uint32_t last;
	int err;
};

static void *small_writer(void *data)
{
	struct writer_arg *w = data;
	uint32_t v = 0;

	while (!w->stop) {
		v++;
		if (rp_write(w->p, w->h, 4, &v, sizeof(v)) != sizeof(v)) {
			w->err = 1;
			break;
		}
	}
	w->last = v;
	return NULL;
}

TEST_F_TIMEOUT(map, no_write_lost_while_small_object_is_mapped, 120)
{
	const int rounds = 100;
	int i, lost = 0;

	for (i = 0; i < rounds && !lost; i++) {
		struct writer_arg w = { .p = self->p };
		unsigned char *m = NULL;
		uint32_t got = 0;
		pthread_t t;

		ASSERT_EQ(0, rp_create(self->p, i % 2 ? 100 : 16, 0, 0, &w.h));
		ASSERT_EQ(0, pthread_create(&t, NULL, small_writer, &w));
		rpt_sleep_us(i * 37 % 500);
		ASSERT_EQ(0, rp_map(self->p, w.h, PROT_READ, (void **)&m));
		w.stop = 1;
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, w.err);
		memcpy(&got, m + 4, sizeof(got));
		if (got != w.last) {
			TH_LOG("round %d: mapping shows %u, last write %u",
			       i, got, w.last);
			lost = 1;
		}
		ASSERT_EQ(4, rp_read(self->p, w.h, 4, &got, 4));
		if (got != w.last) {
			TH_LOG("round %d: rp_read shows %u, last write %u",
			       i, got, w.last);
			lost = 1;
		}
		ASSERT_EQ(0, rp_unmap(m, i % 2 ? 100 : 16));
		ASSERT_EQ(0, rp_put(self->p, w.h));
	}
	EXPECT_EQ(0, lost);
	EXPECT_NOTHING_CHANGED();
}

/*
 * rp_seal() racing with writable mappings that come and go, each written
 * while it lives: once the seal succeeds no mapping may write, and every
 * later writable map is refused with -EPERM.
 */
struct seal_race {
	struct rp_pool *p;
	rp_handle_t h;
	volatile int sealed_seen;
	int maps, other_err;
};

static void *racing_mapper(void *data)
{
	struct seal_race *rc = data;
	uint32_t v = 0;

	for (;;) {
		uint32_t *m;
		int i, ret;

		ret = rp_map(rc->p, rc->h, PROT_READ | PROT_WRITE, (void **)&m);
		if (ret == -EPERM)
			break;
		if (ret) {
			rc->other_err++;
			break;
		}
		rc->maps++;
		for (i = 0; i < 50; i++)
			m[0] = ++v;
		rp_unmap(m, 16);
	}
	return NULL;
}

TEST_F_TIMEOUT(map, seal_racing_with_writable_maps, 120)
{
	int round, late = 0, busy = 0;

	for (round = 0; round < 100; round++) {
		struct seal_race rc = { .p = self->p };
		uint32_t a, b;
		pthread_t t;
		int ret;

		ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &rc.h));
		ASSERT_EQ(0, pthread_create(&t, NULL, racing_mapper, &rc));
		rpt_sleep_us(round * 53 % 2000);
		while ((ret = rp_seal(self->p, rc.h)) == -EBUSY)
			busy++;
		ASSERT_EQ(0, ret);
		ASSERT_EQ(4, rp_read(self->p, rc.h, 0, &a, 4));
		rpt_sleep_us(1000);
		ASSERT_EQ(4, rp_read(self->p, rc.h, 0, &b, 4));
		if (a != b)
			late++;
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(4, rp_read(self->p, rc.h, 0, &b, 4));
		if (a != b)
			late++;
		EXPECT_EQ(0, rc.other_err);
		ASSERT_EQ(0, rp_put(self->p, rc.h));
	}
	TH_LOG("%d seals refused with -EBUSY on the way", busy);
	EXPECT_EQ(0, late) {
		TH_LOG("%d sealed objects changed after rp_seal() returned", late);
	}
	EXPECT_NOTHING_CHANGED();
}

TEST_HARNESS_MAIN
