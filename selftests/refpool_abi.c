// SPDX-License-Identifier: GPL-2.0
/*
 * refpool ioctl ABI 2, through raw ioctl() on the session's fd: unknown
 * commands and directions, struct sizes (the published one, a larger one
 * with a zero or nonzero tail, and sizes that cut a field or are not a
 * multiple of 8), flag, pad and unused-field checks, result pointers (the
 * only way results come back: a bad one is -EFAULT with nothing made), and
 * caller-sized output structs (INFO, STATS, PINS) for older and newer
 * callers.
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

#define IOCTL(cmd, arg)		rpt_ioctl(self->fd, (cmd), (arg))

/* A create of 64 zero-filled bytes whose handle goes to @out. */
static struct refpool_create create_arg(uint32_t *out)
{
	struct refpool_create c;

	memset(&c, 0, sizeof(c));
	c.size = 64;
	c.handle_ptr = (uintptr_t)out;
	return c;
}

/* A struct one version newer than the kernel's: 16 more bytes. */
struct create_v1 {
	struct refpool_create c;
	__u64 tail[2];
};

/* ---- Commands and sizes ---- */

TEST_F(abi, unknown_command_enotty)
{
	char buf[64] = {};

	EXPECT_EQ(-ENOTTY, IOCTL(_IOW(REFPOOL_IOC_MAGIC, 0x7f, buf), buf));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, foreign_magic_enotty)
{
	uint32_t h = SENTINEL;
	struct refpool_create c = create_arg(&h);

	EXPECT_EQ(-ENOTTY, IOCTL(_IOW('x', _IOC_NR(REFPOOL_IOC_CREATE), c), &c));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, wrong_direction_enotty)
{
	uint32_t h = SENTINEL;
	struct refpool_create c = create_arg(&h);

	/* ABI 2 commands are _IOW: the kernel never writes the struct. */
	EXPECT_EQ(-ENOTTY, IOCTL(_IOWR(REFPOOL_IOC_MAGIC,
				       _IOC_NR(REFPOOL_IOC_CREATE), c), &c));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, version_reports_abi_2)
{
	struct refpool_version v;

	memset(&v, 0xff, sizeof(v));
	ASSERT_EQ(0, IOCTL(REFPOOL_IOC_VERSION, &v));
	EXPECT_EQ(REFPOOL_ABI_MAJOR, v.major);
	EXPECT_EQ(2, v.major);
	/* Only the defined feature bits. */
	EXPECT_EQ(0, v.features & ~(REFPOOL_FEAT_EVENTS | REFPOOL_FEAT_DMABUF |
				    REFPOOL_FEAT_TEST_HOOKS));
}

TEST_F(abi, create_writes_the_handle_through_handle_ptr)
{
	uint32_t h = SENTINEL;
	struct refpool_create c = create_arg(&h);
	unsigned char data[64];

	ASSERT_EQ(0, IOCTL(REFPOOL_IOC_CREATE, &c));
	EXPECT_NE(SENTINEL, h);
	EXPECT_EQ(64, rp_read(self->p, h, 0, data, sizeof(data)));
	EXPECT_EQ(-1, rpt_nonzero(data, sizeof(data)));
	/* The struct itself is not written. */
	EXPECT_EQ((uintptr_t)&h, c.handle_ptr);
	ASSERT_EQ(0, rp_put(self->p, h));
}

TEST_F(abi, size_that_cuts_a_field_einval)
{
	uint32_t h = SENTINEL;
	struct refpool_create c = create_arg(&h);

	/* 28 bytes would read half of handle_ptr. */
	EXPECT_EQ(-EINVAL, IOCTL(RPT_SIZED(REFPOOL_IOC_CREATE, 28), &c));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, size_below_the_published_one_einval)
{
	uint32_t h = SENTINEL;
	struct refpool_create c = create_arg(&h);

	EXPECT_EQ(-EINVAL, IOCTL(RPT_SIZED(REFPOOL_IOC_CREATE, 24), &c));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, larger_size_not_a_multiple_of_8_einval)
{
	struct create_v1 c = { .c = { .size = 64 } };
	uint32_t h = SENTINEL;

	c.c.handle_ptr = (uintptr_t)&h;
	EXPECT_EQ(-EINVAL, IOCTL(RPT_SIZED(REFPOOL_IOC_CREATE,
					   REFPOOL_CREATE_SIZE_VER0 + 4), &c));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, newer_struct_with_zero_tail_works)
{
	struct create_v1 c = { .c = { .size = 64 } };
	uint32_t h = SENTINEL;

	c.c.handle_ptr = (uintptr_t)&h;
	ASSERT_EQ(0, IOCTL(RPT_SIZED(REFPOOL_IOC_CREATE, sizeof(c)), &c));
	EXPECT_NE(SENTINEL, h);
	ASSERT_EQ(0, rp_put(self->p, h));
}

TEST_F(abi, newer_struct_with_nonzero_tail_e2big)
{
	struct create_v1 c = { .c = { .size = 64 } };
	uint32_t h = SENTINEL;

	c.c.handle_ptr = (uintptr_t)&h;
	c.tail[1] = 1;
	EXPECT_EQ(-E2BIG, IOCTL(RPT_SIZED(REFPOOL_IOC_CREATE, sizeof(c)), &c));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_object_flag_interned_einval)
{
	uint32_t h = SENTINEL;
	struct refpool_create c = create_arg(&h);

	/* Creation flags are not object flags: INTERNED is not one. */
	c.flags = REFPOOL_OBJ_INTERNED;
	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_CREATE, &c));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_argument_pointer_bad_efault)
{
	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_CREATE, rpt_noaccess()));
	EXPECT_NOTHING_CHANGED();
}

/* ---- Result pointers ---- */

TEST_F(abi, create_handle_ptr_zero_efault_nothing_made)
{
	struct refpool_create c = create_arg(NULL);

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_CREATE, &c));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, create_handle_ptr_read_only_efault_nothing_made)
{
	uint32_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct refpool_create c = create_arg(ro);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_CREATE, &c));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, dup_handle_ptr_bad_efault_nothing_made)
{
	struct refpool_handle_arg a = {
		.handle = self->h,
		.handle_ptr = (uintptr_t)rpt_noaccess(),
	};

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_DUP, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, dup_flags_einval)
{
	uint32_t h = SENTINEL;
	struct refpool_handle_arg a = {
		.handle = self->h, .flags = 1, .handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_DUP, &a));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, put_handle_ptr_nonzero_einval)
{
	uint32_t h;
	struct refpool_handle_arg a = {
		.handle = self->h, .handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_PUT, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, put_flags_einval)
{
	struct refpool_handle_arg a = { .handle = self->h, .flags = 1 };

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_PUT, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, seal_handle_ptr_nonzero_einval)
{
	uint32_t h;
	struct refpool_handle_arg a = {
		.handle = self->h, .handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_SEAL, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, export_fd_ptr_bad_efault_leaves_no_fd)
{
	int next = rpt_next_fd();
	struct refpool_fd_arg a = {
		.handle = self->h, .result_ptr = (uintptr_t)rpt_noaccess(),
	};

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_EXPORT, &a));
	EXPECT_EQ(next, rpt_next_fd());
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, export_nonzero_fd_einval)
{
	int fd = -1;
	struct refpool_fd_arg a = {
		.handle = self->h, .fd = 3, .result_ptr = (uintptr_t)&fd,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_EXPORT, &a));
	EXPECT_EQ(-1, fd);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, import_nonzero_handle_einval)
{
	uint32_t h = SENTINEL;
	int fd;
	struct refpool_fd_arg a = { .handle = 1, .result_ptr = (uintptr_t)&h };

	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	a.fd = fd;
	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_IMPORT, &a));
	EXPECT_EQ(SENTINEL, h);
	close(fd);
}

TEST_F(abi, publish_token_ptr_bad_efault_leaves_no_token)
{
	struct refpool_token_arg a = {
		.handle = self->h, .token_ptr = (uintptr_t)rpt_noaccess(),
	};
	struct rp_stats now;

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_PUBLISH, &a));
	GET_STATS(self->p, &now);
	/* A token made and lost would still be charged. */
	EXPECT_EQ(self->base.user_bytes, now.user_bytes);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, pin_token_ptr_bad_efault_leaves_no_pin)
{
	struct refpool_token_arg a = {
		.handle = self->h, .flags = REFPOOL_PUBLISH_PIN,
		.token_ptr = (uintptr_t)rpt_noaccess(),
	};
	struct rp_stats now;

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_PUBLISH, &a));
	GET_STATS(self->p, &now);
	EXPECT_EQ(self->base.user_pins, now.user_pins);
	EXPECT_EQ(self->base.user_bytes, now.user_bytes);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, publish_unknown_flag_einval)
{
	uint8_t tok[16];
	struct refpool_token_arg a = {
		.handle = self->h, .flags = 2, .token_ptr = (uintptr_t)tok,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_PUBLISH, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, lookup_token_ptr_bad_efault)
{
	uint32_t h = SENTINEL;
	struct refpool_token_arg a = {
		.token_ptr = (uintptr_t)rpt_noaccess(),
		.handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_LOOKUP, &a));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, lookup_handle_ptr_bad_efault_nothing_made)
{
	rp_token_t tok;
	struct refpool_token_arg a = {
		.token_ptr = (uintptr_t)&tok,
		.handle_ptr = (uintptr_t)rpt_noaccess(),
	};

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	GET_STATS(self->p, &self->base);
	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_LOOKUP, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, unpin_handle_ptr_nonzero_einval)
{
	rp_token_t tok;
	uint32_t h;
	struct refpool_token_arg a = {
		.token_ptr = (uintptr_t)&tok, .handle_ptr = (uintptr_t)&h,
	};

	ASSERT_EQ(0, rp_pin(self->p, self->h, &tok));
	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_UNPIN, &a));
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
}

TEST_F(abi, intern_pad_einval)
{
	uint32_t h = SENTINEL;
	struct refpool_intern a = {
		.data = (uintptr_t)"4", .len = 1, .pad = 1,
		.handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_INTERN, &a));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, link_handle_ptr_nonzero_einval)
{
	uint32_t h;
	struct refpool_link a = {
		.parent = self->h, .handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_LINK, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, get_link_nonzero_child_einval)
{
	uint32_t h = SENTINEL;
	struct refpool_link a = {
		.parent = self->h, .child = self->h, .handle_ptr = (uintptr_t)&h,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_GET_LINK, &a));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, gc_without_collected_ptr_works)
{
	struct refpool_gc a = {};

	EXPECT_EQ(0, IOCTL(REFPOOL_IOC_GC, &a));
}

TEST_F(abi, gc_pad_einval)
{
	struct refpool_gc a = { .pad = 1 };

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_GC, &a));
}

TEST_F(abi, map_write_only_prot_einval)
{
	uint64_t addr = SENTINEL;
	struct refpool_map a = {
		.handle = self->h, .prot = PROT_WRITE,
		.addr_ptr = (uintptr_t)&addr,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_MAP, &a));
	EXPECT_EQ(SENTINEL, addr);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, map_addr_ptr_bad_efault_leaves_no_mapping)
{
	struct refpool_map a = {
		.handle = self->h, .prot = PROT_READ,
		.addr_ptr = (uintptr_t)rpt_noaccess(),
	};

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_MAP, &a));
	/* A mapping left behind would hold a reference. */
	EXPECT_NOTHING_CHANGED();
}

/* ---- Output structs sized by the caller ---- */

TEST_F(abi, info_older_size_einval)
{
	struct refpool_info info;
	struct refpool_info_arg a = {
		.handle = self->h, .info_size = 24,
		.info_ptr = (uintptr_t)&info,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_INFO, &a));
}

TEST_F(abi, info_size_not_a_multiple_of_8_einval)
{
	char buf[64];
	struct refpool_info_arg a = {
		.handle = self->h, .info_size = 36, .info_ptr = (uintptr_t)buf,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_INFO, &a));
}

TEST_F(abi, info_newer_size_gets_a_zero_tail)
{
	struct {
		struct refpool_info info;
		uint64_t tail[2];
		uint64_t guard;
	} buf;
	struct refpool_info_arg a = {
		.handle = self->h, .info_size = sizeof(buf.info) + 16,
		.info_ptr = (uintptr_t)&buf,
	};

	memset(&buf, 0xff, sizeof(buf));
	ASSERT_EQ(0, IOCTL(REFPOOL_IOC_INFO, &a));
	EXPECT_EQ(self->obj.info.id, buf.info.id);
	EXPECT_EQ(OBJ_SIZE, buf.info.size);
	EXPECT_EQ(0, buf.tail[0]);
	EXPECT_EQ(0, buf.tail[1]);
	EXPECT_EQ(~0ULL, buf.guard);
}

TEST_F(abi, info_flags_or_pad_einval)
{
	struct refpool_info info;
	struct refpool_info_arg a = {
		.handle = self->h, .info_size = sizeof(info),
		.info_ptr = (uintptr_t)&info, .pad = 1,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_INFO, &a));
	a.pad = 0;
	a.flags = 1;
	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_INFO, &a));
}

TEST_F(abi, info_ptr_bad_efault)
{
	struct refpool_info_arg a = {
		.handle = self->h, .info_size = sizeof(struct refpool_info),
		.info_ptr = (uintptr_t)rpt_noaccess(),
	};

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_INFO, &a));
}

TEST_F(abi, stats_first_version_size_writes_only_that)
{
	struct {
		uint64_t fields[15];
		uint64_t guard;
	} buf;
	struct refpool_stats_arg a = {
		.stats_ptr = (uintptr_t)&buf, .stats_size = 120,
	};

	memset(&buf, 0xff, sizeof(buf));
	ASSERT_EQ(0, IOCTL(REFPOOL_IOC_STATS, &a));
	EXPECT_EQ(self->base.objects, buf.fields[0]);
	EXPECT_EQ(~0ULL, buf.guard);
}

TEST_F(abi, stats_below_the_first_version_einval)
{
	struct refpool_stats st;
	struct refpool_stats_arg a = {
		.stats_ptr = (uintptr_t)&st, .stats_size = 112,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_STATS, &a));
}

TEST_F(abi, stats_ptr_bad_efault)
{
	struct refpool_stats_arg a = {
		.stats_ptr = (uintptr_t)rpt_noaccess(),
		.stats_size = sizeof(struct refpool_stats),
	};

	EXPECT_EQ(-EFAULT, IOCTL(REFPOOL_IOC_STATS, &a));
}

TEST_F(abi, pins_entry_size_below_the_first_version_einval)
{
	struct refpool_pin_info pins[2];
	struct refpool_pins a = {
		.pins_ptr = (uintptr_t)pins, .count = 2, .entry_size = 24,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_PINS, &a));
}

TEST_F(abi, pins_count_zero_returns_the_number)
{
	rp_token_t tok;
	struct refpool_pins a = {
		.entry_size = sizeof(struct refpool_pin_info),
	};
	int before = IOCTL(REFPOOL_IOC_PINS, &a);

	ASSERT_LE(0, before);
	ASSERT_EQ(0, rp_pin(self->p, self->h, &tok));
	EXPECT_EQ(before + 1, IOCTL(REFPOOL_IOC_PINS, &a));
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
}

TEST_F(abi, rw_flags_einval)
{
	char buf[8];
	struct refpool_rw a = {
		.handle = self->h, .flags = 1, .len = 8, .buf = (uintptr_t)buf,
	};

	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_READ, &a));
	EXPECT_EQ(-EINVAL, IOCTL(REFPOOL_IOC_WRITE, &a));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(abi, read_returns_the_bytes_read)
{
	char buf[OBJ_SIZE * 2];
	struct refpool_rw a = {
		.handle = self->h, .offset = 100, .len = sizeof(buf),
		.buf = (uintptr_t)buf,
	};

	EXPECT_EQ(OBJ_SIZE - 100, IOCTL(REFPOOL_IOC_READ, &a));
}

TEST_HARNESS_MAIN
