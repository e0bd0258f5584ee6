// SPDX-License-Identifier: GPL-2.0
/*
 * refpool seal: once rp_seal() returns 0 the bytes never change again by
 * any path, so it is -EBUSY while anything could still write - a writable
 * mapping, or pages held for I/O beyond their mappings (O_DIRECT, AIO,
 * io_uring, vmsplice), which can be written without a mapping. vmsplice()
 * is the holder here: it takes references to the pages as O_DIRECT does,
 * and the pipe keeps them until it is read. A refused seal changes nothing.
 */
#include "refpool_test.h"

#include <sys/uio.h>

FIXTURE(seal) {
	struct rp_pool *p;
	rp_handle_t h;
	int pipe[2];
};

FIXTURE_SETUP(seal)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, 4096, 7, 0, &self->h));
	ASSERT_EQ(0, pipe2(self->pipe, O_CLOEXEC));
}

FIXTURE_TEARDOWN(seal)
{
	close(self->pipe[0]);
	close(self->pipe[1]);
	if (self->p)
		rp_close(self->p);
}

/* Hand the pipe references to the pages of @addr; 0 or -errno. */
static int hold_pages(int fd, void *addr, size_t len)
{
	struct iovec iov = { .iov_base = addr, .iov_len = len };

	return vmsplice(fd, &iov, 1, 0) == (ssize_t)len ? 0 : -errno;
}

/* Read the pipe empty: the page references go. */
static void drain(int fd, size_t len)
{
	char buf[4096];

	while (len) {
		ssize_t n = read(fd, buf, len < sizeof(buf) ? len : sizeof(buf));

		if (n <= 0)
			break;
		len -= n;
	}
}

static bool sealed(struct rp_pool *p, rp_handle_t h)
{
	struct rp_info info;

	return !rp_info(p, h, &info) && (info.flags & RP_SEALED);
}

TEST_F(seal, pages_held_by_a_pipe_refuse_it)
{
	void *addr;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, &addr));
	ASSERT_EQ(0, hold_pages(self->pipe[1], addr, 4096));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	EXPECT_FALSE(sealed(self->p, self->h));
	/* Still held after the mapping is gone. */
	ASSERT_EQ(0, rp_unmap(addr, 4096));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	EXPECT_EQ(1, rp_write(self->p, self->h, 0, "x", 1));
	drain(self->pipe[0], 4096);
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	EXPECT_TRUE(sealed(self->p, self->h));
}

TEST_F(seal, pages_held_through_a_writable_mapping_refuse_it)
{
	void *addr;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ | PROT_WRITE, &addr));
	ASSERT_EQ(0, hold_pages(self->pipe[1], addr, 4096));
	ASSERT_EQ(0, rp_unmap(addr, 4096));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, self->h));
	drain(self->pipe[0], 4096);
	EXPECT_EQ(0, rp_seal(self->p, self->h));
}

TEST_F(seal, mapped_pages_alone_do_not_refuse_it)
{
	void *addr;

	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, &addr));
	/* Touch it: the mapping's own references are not pins. */
	EXPECT_EQ(-1, rpt_mismatch(addr, 4096, 7));
	EXPECT_EQ(0, rp_seal(self->p, self->h));
	ASSERT_EQ(0, rp_unmap(addr, 4096));
}

TEST_F(seal, a_small_object_held_after_mapping_refuses_it)
{
	rp_handle_t small;
	void *addr;

	ASSERT_EQ(0, rp_create_from(self->p, "tiny", 5, 0, &small));
	ASSERT_EQ(0, rp_map(self->p, small, PROT_READ, &addr));
	ASSERT_EQ(0, hold_pages(self->pipe[1], addr, 4096));
	ASSERT_EQ(0, rp_unmap(addr, 5));
	EXPECT_EQ(-EBUSY, rp_seal(self->p, small));
	drain(self->pipe[0], 4096);
	EXPECT_EQ(0, rp_seal(self->p, small));
	ASSERT_EQ(0, rp_put(self->p, small));
}

TEST_HARNESS_MAIN
