// SPDX-License-Identifier: GPL-2.0
/*
 * refpool ioctl ABI, through raw ioctl() on the session's fd: unknown
 * commands, flag and pad checks, struct sizes older and newer than the
 * kernel's, and that a failed call writes nothing back.
 */
#include "refpool_test.h"

#define OBJ_SIZE	128
#define OBJ_SEED	5
#define SENTINEL	0xdeadbeefU

FIXTURE(abi) {
	struct rp_pool *p;
	int fd;
	rp_handle_t h;
	struct rpt_obj obj;
	struct rp_stats base;
};

FIXTURE_SETUP(abi)
{
	RPT_OPEN_OR_SKIP(&self->p);
	self->fd = rp_fd(self->p);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->p)
		rp_close(self->p);
}

#define EXPECT_NOTHING_CHANGED() do { \
	EXPECT_POOL_UNCHANGED(self->p, &self->base); \
	EXPECT_OBJ_UNCHANGED(self->p, &self->obj); \
} while (0)

/* A create argument for 64 zero-filled bytes, with a sentinel handle. */
static struct refpool_create create_arg(void)
{
	struct refpool_create c;

	memset(&c, 0, sizeof(c));
	c.size = 64;
	c.handle = SENTINEL;
	return c;
}

/* A create argument one version newer: 16 more bytes. */
struct create_v1 {
	struct refpool_create c;
	__u64 tail[2];
};

static struct refpool_handle_arg handle_arg(rp_handle_t h)
{
	struct refpool_handle_arg a;

	memset(&a, 0, sizeof(a));
	a.handle = h;
	return a;
}

/* ---- Commands ---- */

TEST_F(abi, unknown_command_enotty)
{
	struct refpool_create c = create_arg();

	EXPECT_EQ(-ENOTTY, rpt_ioctl(self->fd, _IO(REFPOOL_IOC_MAGIC, 0x7f),
				     NULL));
	EXPECT_EQ(-ENOTTY, rpt_ioctl(self->fd,
				     _IOWR(REFPOOL_IOC_MAGIC, 0x7f,
					   struct refpool_create), &c));
	EXPECT_EQ(SENTINEL, c.handle);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, foreign_magic_enotty)
{
	struct refpool_create c = create_arg();

	EXPECT_EQ(-ENOTTY, rpt_ioctl(self->fd,
				     _IOWR('x', _IOC_NR(REFPOOL_IOC_CREATE),
					   struct refpool_create), &c));
	EXPECT_EQ(SENTINEL, c.handle);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, version_reports_abi_and_core)
{
	struct refpool_version v;

	memset(&v, 0xff, sizeof(v));
	ASSERT_EQ(0, rpt_ioctl(self->fd, REFPOOL_IOC_VERSION, &v));
	EXPECT_EQ(REFPOOL_ABI_MAJOR, v.major);
	EXPECT_EQ(REFPOOL_FEAT_CORE, v.features & REFPOOL_FEAT_CORE);
}

TEST_F(abi, raw_create_copies_data)
{
	unsigned char src[64], buf[64];
	struct refpool_create c = create_arg();

	rpt_fill(src, sizeof(src), 8);
	c.data = (uintptr_t)src;
	ASSERT_EQ(0, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, &c));
	EXPECT_NE(0, c.handle);
	EXPECT_NE(SENTINEL, c.handle);
	ASSERT_EQ((int64_t)sizeof(buf),
		  rp_read(self->p, c.handle, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 8));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 64, 1);
}

/* ---- CREATE: pad, struct sizes, write-back ---- */

TEST_F(abi, create_pad_nonzero_einval)
{
	struct refpool_create c = create_arg(), was;

	c.pad = 1;
	was = c;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, &c));
	EXPECT_EQ(0, memcmp(&was, &c, sizeof(c)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_older_than_ver0_einval)
{
	struct refpool_create c = create_arg(), was = c;

	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_CREATE, REFPOOL_CREATE_SIZE_VER0 - 8), &c));
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_CREATE, 0), &c));
	EXPECT_EQ(0, memcmp(&was, &c, sizeof(c)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_newer_with_zero_tail_works)
{
	struct create_v1 c;
	struct rp_info info;

	memset(&c, 0, sizeof(c));
	c.c = create_arg();
	ASSERT_EQ(0, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_CREATE, sizeof(c)), &c));
	EXPECT_NE(SENTINEL, c.c.handle);
	EXPECT_EQ(0, c.tail[0]);
	EXPECT_EQ(0, c.tail[1]);
	ASSERT_EQ(0, rp_info(self->p, c.c.handle, &info));
	EXPECT_EQ(64, info.size);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 64, 1);
}

TEST_F(abi, create_newer_with_nonzero_tail_e2big)
{
	struct create_v1 c, was;

	memset(&c, 0, sizeof(c));
	c.c = create_arg();
	c.tail[1] = 1;
	was = c;
	EXPECT_EQ(-E2BIG, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_CREATE, sizeof(c)), &c));
	EXPECT_EQ(0, memcmp(&was, &c, sizeof(c)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_failure_writes_nothing_back)
{
	struct refpool_create c = create_arg(), was;

	c.size = self->base.max_object_size + 1;
	was = c;
	EXPECT_EQ(-EFBIG, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, &c));
	EXPECT_EQ(0, memcmp(&was, &c, sizeof(c)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_bad_argument_pointer_efault)
{
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, (void *)1));
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE,
				     rpt_noaccess()));
	EXPECT_NOTHING_CHANGED();
}

/*
 * The argument can be read but not written back: the call fails with
 * -EFAULT and takes back what it made, leaving no object and no handle.
 */
static void *readonly_copy(const void *arg, size_t len)
{
	void *m = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	memcpy(m, arg, len);
	return mprotect(m, getpagesize(), PROT_READ) ? NULL : m;
}

TEST_F(abi, create_result_unwritable_efault)
{
	struct refpool_create c = create_arg();
	struct refpool_create *ro = readonly_copy(&c, sizeof(c));

	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, ro));
	EXPECT_EQ(SENTINEL, ro->handle);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, dup_result_unwritable_efault)
{
	struct refpool_handle_arg a = handle_arg(self->h);
	struct refpool_handle_arg *ro;

	a.out = 0;
	ro = readonly_copy(&a, sizeof(a));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_DUP, ro));
	EXPECT_NOTHING_CHANGED();	/* refs still 1, no new handle */
}

/* ---- Handle commands: flags, pad, out ---- */

TEST_F(abi, dup_flags_nonzero_einval)
{
	struct refpool_handle_arg a = handle_arg(self->h);

	a.flags = 1;
	a.out = SENTINEL;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_DUP, &a));
	EXPECT_EQ(SENTINEL, a.out);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, dup_pad_nonzero_einval)
{
	struct refpool_handle_arg a = handle_arg(self->h);

	a.pad = 1;
	a.out = SENTINEL;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_DUP, &a));
	EXPECT_EQ(SENTINEL, a.out);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, put_out_nonzero_einval)
{
	struct refpool_handle_arg a = handle_arg(self->h);

	a.out = 1;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_PUT, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, put_flags_nonzero_einval)
{
	struct refpool_handle_arg a = handle_arg(self->h);

	a.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_PUT, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, seal_flags_nonzero_einval)
{
	struct refpool_handle_arg a = handle_arg(self->h);

	a.flags = 1;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_SEAL, &a));
	EXPECT_NOTHING_CHANGED();	/* flags still 0: not sealed */
}

/* ---- INFO ---- */

TEST_F(abi, info_pad_nonzero_einval)
{
	struct refpool_info i, was;

	memset(&i, 0, sizeof(i));
	i.handle = self->h;
	i.pad = 1;
	i.id = i.size = i.refs = SENTINEL;
	was = i;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_INFO, &i));
	EXPECT_EQ(0, memcmp(&was, &i, sizeof(i)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, info_failure_writes_nothing_back)
{
	struct refpool_info i, was;

	memset(&i, 0, sizeof(i));
	i.handle = self->h + 1000;
	i.id = i.size = i.refs = SENTINEL;
	was = i;
	EXPECT_EQ(-EBADF, rpt_ioctl(self->fd, REFPOOL_IOC_INFO, &i));
	EXPECT_EQ(0, memcmp(&was, &i, sizeof(i)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, info_older_than_ver0_einval)
{
	struct refpool_info i, was;

	memset(&i, 0, sizeof(i));
	i.handle = self->h;
	i.id = SENTINEL;
	was = i;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_INFO, REFPOOL_INFO_SIZE_VER0 - 8), &i));
	EXPECT_EQ(0, memcmp(&was, &i, sizeof(i)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, info_newer_with_zero_tail_works)
{
	struct {
		struct refpool_info i;
		__u64 tail[3];
	} a;

	memset(&a, 0, sizeof(a));
	a.i.handle = self->h;
	ASSERT_EQ(0, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_INFO, sizeof(a)), &a));
	EXPECT_EQ(self->obj.info.id, a.i.id);
	EXPECT_EQ(OBJ_SIZE, a.i.size);
	EXPECT_EQ(1, a.i.refs);
	EXPECT_EQ(0, a.tail[0]);
	EXPECT_EQ(0, a.tail[2]);
	EXPECT_NOTHING_CHANGED();
}

/* ---- READ, WRITE ---- */

TEST_F(abi, read_flags_nonzero_einval)
{
	unsigned char buf[16] = { 0 };
	struct refpool_rw rw;

	memset(&rw, 0, sizeof(rw));
	rw.handle = self->h;
	rw.flags = 1;
	rw.len = sizeof(buf);
	rw.buf = (uintptr_t)buf;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_READ, &rw));
	EXPECT_EQ(-1, rpt_nonzero(buf, sizeof(buf)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, write_flags_nonzero_einval)
{
	unsigned char buf[16];
	struct refpool_rw rw;

	rpt_fill(buf, sizeof(buf), 77);
	memset(&rw, 0, sizeof(rw));
	rw.handle = self->h;
	rw.flags = 1U << 31;
	rw.len = sizeof(buf);
	rw.buf = (uintptr_t)buf;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_WRITE, &rw));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, read_returns_bytes_done)
{
	unsigned char buf[64];
	struct refpool_rw rw;

	memset(&rw, 0, sizeof(rw));
	rw.handle = self->h;
	rw.offset = OBJ_SIZE - 10;
	rw.len = sizeof(buf);
	rw.buf = (uintptr_t)buf;
	/* The command returns the count: the bytes up to the end. */
	ASSERT_EQ(10, rpt_ioctl(self->fd, REFPOOL_IOC_READ, &rw));
	EXPECT_EQ(0, memcmp(buf, self->obj.data + OBJ_SIZE - 10, 10));
}

/* ---- STATS ---- */

TEST_F(abi, stats_older_than_ver0_einval)
{
	struct refpool_stats s;

	memset(&s, 0xa5, sizeof(s));
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_STATS, REFPOOL_STATS_SIZE_VER0 - 8), &s));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, s.objects);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, s.max_user_bytes);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, stats_bad_pointer_efault)
{
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_STATS, (void *)1));
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_STATS,
				     rpt_noaccess()));
	EXPECT_NOTHING_CHANGED();
}

/* ---- Result pointers (ABI 1.1) ---- */

TEST_F(abi, version_reports_result_ptr)
{
	struct refpool_version v;

	ASSERT_EQ(0, rpt_ioctl(self->fd, REFPOOL_IOC_VERSION, &v));
	EXPECT_LE(1, v.minor);
	EXPECT_EQ(REFPOOL_FEAT_RESULT_PTR, v.features & REFPOOL_FEAT_RESULT_PTR);
}

TEST_F(abi, create_result_ptr_receives_the_handle)
{
	struct refpool_create c = create_arg();
	__u32 result = SENTINEL;

	c.result_ptr = (uintptr_t)&result;
	ASSERT_EQ(0, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, &c));
	EXPECT_NE(SENTINEL, c.handle);
	EXPECT_EQ(c.handle, result);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 64, 1);
}

TEST_F(abi, create_bad_result_ptr_efault_changes_nothing)
{
	struct refpool_create c = create_arg(), was;

	c.result_ptr = (uintptr_t)rpt_noaccess();
	was = c;
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_CREATE, &c));
	EXPECT_EQ(0, memcmp(&was, &c, sizeof(c)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, dup_result_ptr_receives_the_handle)
{
	struct refpool_handle_arg a = handle_arg(self->h);
	__u32 result = SENTINEL;

	a.result_ptr = (uintptr_t)&result;
	ASSERT_EQ(0, rpt_ioctl(self->fd, REFPOOL_IOC_DUP, &a));
	EXPECT_NE(0, a.out);
	EXPECT_EQ(a.out, result);
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 1);
}

TEST_F(abi, dup_read_only_result_ptr_efault_changes_nothing)
{
	struct refpool_handle_arg a = handle_arg(self->h);
	__u32 *ro = mmap(NULL, getpagesize(), PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	a.result_ptr = (uintptr_t)ro;
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_DUP, &a));
	EXPECT_EQ(0, a.out);
	EXPECT_NOTHING_CHANGED();
	munmap(ro, getpagesize());
}

TEST_F(abi, dup_ver0_size_still_works)
{
	struct refpool_handle_arg a = handle_arg(self->h);

	ASSERT_EQ(0, rpt_ioctl(self->fd,
		RPT_SIZED(REFPOOL_IOC_DUP, REFPOOL_HANDLE_ARG_SIZE_VER0), &a));
	EXPECT_NE(0, a.out);
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 1);
}

TEST_F(abi, export_result_ptr_receives_the_fd)
{
	struct refpool_fd_arg a;
	int result = -1;

	memset(&a, 0, sizeof(a));
	a.handle = self->h;
	a.result_ptr = (uintptr_t)&result;
	ASSERT_EQ(0, rpt_ioctl(self->fd, REFPOOL_IOC_EXPORT, &a));
	EXPECT_LE(0, a.fd);
	EXPECT_EQ(a.fd, result);
	EXPECT_EQ(0, close(a.fd));
}

TEST_F(abi, export_bad_result_ptr_efault_leaves_no_fd)
{
	struct refpool_fd_arg a;
	int before = dup(0), after;

	ASSERT_LE(0, before);
	close(before);
	memset(&a, 0, sizeof(a));
	a.handle = self->h;
	a.result_ptr = (uintptr_t)rpt_noaccess();
	EXPECT_EQ(-EFAULT, rpt_ioctl(self->fd, REFPOOL_IOC_EXPORT, &a));
	/* the lowest free fd is the same: none was left installed */
	after = dup(0);
	EXPECT_EQ(before, after);
	close(after);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, commands_making_nothing_refuse_result_ptr)
{
	struct refpool_handle_arg a = handle_arg(self->h);
	struct refpool_token_arg t;
	struct refpool_link l;

	a.result_ptr = 8;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_PUT, &a));
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_SEAL, &a));
	memset(&t, 0, sizeof(t));
	t.handle = self->h;
	t.result_ptr = 8;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_PUBLISH, &t));
	t.handle = 0;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_UNPIN, &t));
	memset(&l, 0, sizeof(l));
	l.parent = self->h;
	l.result_ptr = 8;
	EXPECT_EQ(-EINVAL, rpt_ioctl(self->fd, REFPOOL_IOC_LINK, &l));
	EXPECT_NOTHING_CHANGED();
}

TEST_HARNESS_MAIN
