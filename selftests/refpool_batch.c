// SPDX-License-Identifier: GPL-2.0
/*
 * refpool batch: many handle operations in one call (rp_batch(),
 * REFPOOL_IOC_BATCH). Each op runs as its own call would and gets its own
 * result; a batch is refused with nothing done (-EFAULT for an array the
 * kernel cannot write, -EINVAL for a bad count or op size) or runs every
 * op and delivers every result, never in between. VER1 ops (32 bytes) add
 * LINK and GET_LINK, through the raw ioctl.
 */
#include "refpool_test.h"

FIXTURE(batch) {
	struct rp_pool *p;
	struct rp_stats base;
	rp_handle_t h;
};

FIXTURE_SETUP(batch)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rp_create(self->p, 16, 2, 0, &self->h));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(batch)
{
	if (self->p)
		rp_close(self->p);
}

/* A raw batch of VER1 ops: the ioctl's value or -errno. */
static int batch_v1(struct rp_pool *p, struct refpool_op *ops, uint32_t count)
{
	struct refpool_batch b = {
		.ops = (uintptr_t)ops,
		.count = count,
		.op_size = REFPOOL_OP_SIZE_VER1,
	};

	return rpt_ioctl(rp_fd(p), REFPOOL_IOC_BATCH, &b);
}

TEST_F(batch, each_op_runs_as_its_own_call)
{
	struct rp_op ops[4] = {
		{ .op = RP_OP_DUP, .handle = self->h },
		{ .op = RP_OP_DUP, .handle = 0 },
		{ .op = RP_OP_SEAL, .handle = self->h },
		{ .op = 99, .handle = self->h },
	};

	ASSERT_EQ(0, rp_batch(self->p, ops, 4));
	EXPECT_EQ(0, ops[0].result);
	EXPECT_NE(0, ops[0].out);
	EXPECT_EQ(-EBADF, ops[1].result);
	EXPECT_EQ(0, ops[1].out);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(-EINVAL, ops[3].result);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_EQ(-EPERM, rp_write(self->p, self->h, 0, "x", 1));
	ASSERT_EQ(0, rp_put(self->p, ops[0].out));
}

TEST_F(batch, a_bad_op_at_any_index_fails_only_itself)
{
	struct rp_op ops[8];
	int bad, i;

	for (bad = 0; bad < 8; bad++) {
		for (i = 0; i < 8; i++)
			ops[i] = (struct rp_op){ .op = RP_OP_DUP, .handle = self->h };
		ops[bad].out = 1;	/* an output field must be zero */
		ASSERT_EQ(0, rp_batch(self->p, ops, 8));
		for (i = 0; i < 8; i++) {
			if (i == bad) {
				EXPECT_EQ(-EINVAL, ops[i].result);
				continue;
			}
			EXPECT_EQ(0, ops[i].result);
			ASSERT_EQ(0, rp_put(self->p, ops[i].out));
		}
	}
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(batch, read_only_array_is_efault_with_nothing_done)
{
	struct rp_op *ops;
	rp_handle_t d;

	ASSERT_EQ(0, rp_dup(self->p, self->h, &d));
	GET_STATS(self->p, &self->base);
	ops = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ops);
	ops[0] = (struct rp_op){ .op = RP_OP_DUP, .handle = d };
	ops[1] = (struct rp_op){ .op = RP_OP_PUT, .handle = d };
	ASSERT_EQ(0, mprotect(ops, 4096, PROT_READ));
	EXPECT_EQ(-EFAULT, rp_batch(self->p, ops, 2));
	/* The PUT did not happen: d is still held. */
	EXPECT_EQ(2, rpt_refs(self->p, d));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	munmap(ops, 4096);
}

TEST_F(batch, array_running_into_unmapped_memory_is_efault_with_nothing_done)
{
	struct rp_op *ops = rpt_straddle(2 * sizeof(*ops));

	ASSERT_NE(NULL, ops);
	/* ops[0] is readable, ops[1] lies past the end of the mapping. */
	ops[0] = (struct rp_op){ .op = RP_OP_PUT, .handle = self->h };
	EXPECT_EQ(-EFAULT, rp_batch(self->p, ops, 2));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(batch, count_zero_or_over_the_max_is_einval)
{
	struct rp_op op = { .op = RP_OP_DUP, .handle = self->h };

	EXPECT_EQ(-EINVAL, rp_batch(self->p, &op, 0));
	EXPECT_EQ(-EINVAL, rp_batch(self->p, &op, 4097));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(batch, op_size_other_than_16_or_32_is_einval)
{
	struct refpool_op op = { .op = REFPOOL_OP_DUP, .handle = self->h };
	struct refpool_batch b = {
		.ops = (uintptr_t)&op, .count = 1, .op_size = 24,
	};

	EXPECT_EQ(-EINVAL, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_BATCH, &b));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(batch, v1_link_and_get_link)
{
	struct refpool_op ops[3] = {
		{ .op = REFPOOL_OP_DUP, .handle = self->h },
		{ .op = REFPOOL_OP_LINK, .handle = self->h, .slot = 1,
		  .child = self->h },
		{ .op = REFPOOL_OP_GET_LINK, .handle = self->h, .slot = 1 },
	};
	uint64_t collected;

	ASSERT_EQ(3, batch_v1(self->p, ops, 3));
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(0, ops[1].result);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(rpt_id(self->p, self->h), rpt_id(self->p, ops[2].out));
	/* The handle, the dup, the link and get_link's handle. */
	EXPECT_EQ(4, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, rp_put(self->p, ops[0].out));
	ASSERT_EQ(0, rp_put(self->p, ops[2].out));
	ASSERT_EQ(0, rp_link(self->p, self->h, 1, 0));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(batch, v1_link_errors_are_per_op)
{
	struct refpool_op ops[3] = {
		{ .op = REFPOOL_OP_LINK, .handle = self->h, .slot = 2 },
		{ .op = REFPOOL_OP_GET_LINK, .handle = self->h, .slot = 0 },
		{ .op = REFPOOL_OP_GET_LINK, .handle = self->h, .child = 1 },
	};

	ASSERT_EQ(3, batch_v1(self->p, ops, 3));
	EXPECT_EQ(-ERANGE, ops[0].result);
	EXPECT_EQ(-ENOENT, ops[1].result);
	EXPECT_EQ(-EINVAL, ops[2].result);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(batch, link_in_a_v0_op_is_einval)
{
	struct rp_op op = { .op = REFPOOL_OP_LINK, .handle = self->h };

	ASSERT_EQ(0, rp_batch(self->p, &op, 1));
	EXPECT_EQ(-EINVAL, op.result);
}

TEST_F(batch, v1_nonzero_reserved_fields_are_einval)
{
	struct refpool_op ops[2] = {
		{ .op = REFPOOL_OP_DUP, .handle = self->h, .flags = 1 },
		{ .op = REFPOOL_OP_DUP, .handle = self->h, .pad = 1 },
	};

	ASSERT_EQ(2, batch_v1(self->p, ops, 2));
	EXPECT_EQ(-EINVAL, ops[0].result);
	EXPECT_EQ(-EINVAL, ops[1].result);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_HARNESS_MAIN
