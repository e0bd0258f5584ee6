// SPDX-License-Identifier: GPL-2.0
/*
 * refpool error paths through librefpool: one row of SPEC §3 per test,
 * with otherwise valid input, checking the exact negative errno and that
 * the refused call changed nothing (pool counters, the object's refs,
 * flags and contents).
 */
#include "refpool_test.h"

#define OBJ_SIZE	256
#define OBJ_SEED	42

/*
 * -EBADF for every call that takes a handle. Each variant is one call;
 * each test one kind of bad handle.
 */
enum op { OP_DUP, OP_PUT, OP_INFO, OP_READ, OP_WRITE, OP_SEAL };

FIXTURE(bad_handle) {
	struct rp_pool *p;
	rp_handle_t h;		/* a valid object, which must stay as it is */
	struct rpt_obj obj;
	struct rp_stats base;
};

FIXTURE_VARIANT(bad_handle) {
	enum op op;
};

FIXTURE_VARIANT_ADD(bad_handle, dup) { .op = OP_DUP };
FIXTURE_VARIANT_ADD(bad_handle, put) { .op = OP_PUT };
FIXTURE_VARIANT_ADD(bad_handle, info) { .op = OP_INFO };
FIXTURE_VARIANT_ADD(bad_handle, read) { .op = OP_READ };
FIXTURE_VARIANT_ADD(bad_handle, write) { .op = OP_WRITE };
FIXTURE_VARIANT_ADD(bad_handle, seal) { .op = OP_SEAL };

FIXTURE_SETUP(bad_handle)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(bad_handle)
{
	if (self->p)
		rp_close(self->p);
}

/* Run the variant's call on @h; output buffers must stay untouched. */
static int64_t run_op(struct __test_metadata *_metadata, struct rp_pool *p,
		      enum op op, rp_handle_t h)
{
	unsigned char buf[16] = { 0 };
	struct rp_info info;
	rp_handle_t out = 0;
	int64_t ret = -EINVAL;

	memset(&info, 0, sizeof(info));
	switch (op) {
	case OP_DUP:
		ret = rp_dup(p, h, &out);
		break;
	case OP_PUT:
		ret = rp_put(p, h);
		break;
	case OP_INFO:
		ret = rp_info(p, h, &info);
		break;
	case OP_READ:
		ret = rp_read(p, h, 0, buf, sizeof(buf));
		break;
	case OP_WRITE:
		rpt_fill(buf, sizeof(buf), 99);
		ret = rp_write(p, h, 0, buf, sizeof(buf));
		memset(buf, 0, sizeof(buf));
		break;
	case OP_SEAL:
		ret = rp_seal(p, h);
		break;
	}
	EXPECT_EQ(0, out);
	EXPECT_EQ(0, info.id);
	EXPECT_EQ(-1, rpt_nonzero(buf, sizeof(buf)));
	return ret;
}

#define EXPECT_NOTHING_CHANGED() do { \
	EXPECT_POOL_UNCHANGED(self->p, &self->base); \
	EXPECT_OBJ_UNCHANGED(self->p, &self->obj); \
} while (0)

TEST_F(bad_handle, zero)
{
	EXPECT_EQ(-EBADF, run_op(_metadata, self->p, variant->op, 0));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(bad_handle, already_put)
{
	rp_handle_t gone;

	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &gone));
	ASSERT_EQ(0, rp_put(self->p, gone));
	EXPECT_EQ(-EBADF, run_op(_metadata, self->p, variant->op, gone));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(bad_handle, never_allocated)
{
	EXPECT_EQ(-EBADF, run_op(_metadata, self->p, variant->op,
				 self->h + 1000));
	EXPECT_EQ(-EBADF, run_op(_metadata, self->p, variant->op, UINT32_MAX));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(bad_handle, of_another_session)
{
	struct rp_pool *q;
	struct rpt_obj theirs;
	rp_handle_t hq[2];

	/* Two objects there, so one of their numbers is not ours. */
	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rpt_create_pattern(q, 32, 7, 0, &hq[0]));
	ASSERT_EQ(0, rpt_create_pattern(q, 32, 7, 0, &hq[1]));
	if (hq[0] == self->h)
		hq[0] = hq[1];
	SNAP(q, hq[0], &theirs);
	GET_STATS(self->p, &self->base);

	EXPECT_EQ(-EBADF, run_op(_metadata, self->p, variant->op, hq[0]));
	EXPECT_NOTHING_CHANGED();
	EXPECT_OBJ_UNCHANGED(q, &theirs);
	rp_close(q);
}

/* ---- The other rows, on one valid object ---- */

FIXTURE(errors) {
	struct rp_pool *p;
	rp_handle_t h;
	struct rpt_obj obj;
	struct rp_stats base;
};

FIXTURE_SETUP(errors)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(errors)
{
	if (self->p)
		rp_close(self->p);
}

/* Seal the fixture's object and take its snapshot again. */
#define SEAL_OBJ() do { \
	ASSERT_EQ(0, rp_seal(self->p, self->h)); \
	SNAP(self->p, self->h, &self->obj); \
} while (0)

/* -EINVAL: unknown flag bits. */

TEST_F(errors, create_unknown_flag_einval)
{
	rp_handle_t h = 0;
	int bit;

	for (bit = 1; bit < 32; bit++) {
		EXPECT_EQ(-EINVAL, rp_create(self->p, 16, 0, 1U << bit, &h)) {
			TH_LOG("flag bit %d", bit);
		}
	}
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, create_from_unknown_flag_einval)
{
	char data[16] = "0123456789abcde";
	rp_handle_t h = 0;
	int bit;

	for (bit = 1; bit < 32; bit++) {
		EXPECT_EQ(-EINVAL, rp_create_from(self->p, data, sizeof(data),
						  RP_SEALED | 1U << bit, &h)) {
			TH_LOG("flag bit %d", bit);
		}
	}
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

/* -EFAULT: bad user pointers. */

TEST_F(errors, create_from_bad_pointer_efault)
{
	rp_handle_t h = 0;

	EXPECT_EQ(-EFAULT, rp_create_from(self->p, (void *)1, 16, 0, &h));
	EXPECT_EQ(-EFAULT, rp_create_from(self->p, rpt_noaccess(), 16, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, create_from_half_mapped_efault)
{
	void *src = rpt_straddle(256);
	rp_handle_t h = 0;

	ASSERT_NE(NULL, src);
	EXPECT_EQ(-EFAULT, rp_create_from(self->p, src, 256, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

/*
 * Result pointers go to the kernel untouched (SPEC 2): a bad one is
 * -EFAULT from the kernel, which takes back what the call made. A test
 * that crashes fails as well as one that asserts.
 */
TEST_F(errors, dup_to_bad_out_pointer_efault)
{
	EXPECT_EQ(-EFAULT, rp_dup(self->p, self->h, (void *)16));
	EXPECT_EQ(-EFAULT, rp_dup(self->p, self->h, rpt_noaccess()));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, create_to_read_only_out_efault)
{
	rp_handle_t *ro = mmap(NULL, getpagesize(), PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, rp_create(self->p, 16, 0, 0, ro));
	EXPECT_NOTHING_CHANGED();
	munmap(ro, getpagesize());
}

TEST_F(errors, export_to_bad_fd_pointer_efault)
{
	EXPECT_EQ(-EFAULT, rp_export(self->p, self->h, rpt_noaccess()));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, read_to_bad_pointer_efault)
{
	EXPECT_EQ(-EFAULT, rp_read(self->p, self->h, 0, (void *)1, 16));
	EXPECT_EQ(-EFAULT, rp_read(self->p, self->h, 0, rpt_noaccess(), 16));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, read_to_readonly_page_efault)
{
	void *ro = mmap(NULL, getpagesize(), PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, rp_read(self->p, self->h, 0, ro, 16));
	EXPECT_EQ(-1, rpt_nonzero(ro, 16));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, write_from_bad_pointer_efault)
{
	EXPECT_EQ(-EFAULT, rp_write(self->p, self->h, 0, (void *)1, 16));
	EXPECT_EQ(-EFAULT, rp_write(self->p, self->h, 0, rpt_noaccess(), 16));
	EXPECT_NOTHING_CHANGED();
}

/* All or nothing: the readable first half must not reach the object. */
TEST_F(errors, write_from_half_mapped_efault)
{
	void *src = rpt_straddle(OBJ_SIZE);

	ASSERT_NE(NULL, src);
	EXPECT_EQ(-EFAULT, rp_write(self->p, self->h, 0, src, OBJ_SIZE));
	EXPECT_NOTHING_CHANGED();
}

/* -EFBIG: size or nslots over the limits. */

TEST_F(errors, create_size_over_max_efbig)
{
	rp_handle_t h = 0;

	EXPECT_EQ(-EFBIG, rp_create(self->p, self->base.max_object_size + 1,
				    0, 0, &h));
	EXPECT_EQ(-EFBIG, rp_create(self->p, UINT64_MAX, 0, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, create_nslots_over_max_efbig)
{
	rp_handle_t h = 0;

	if (self->base.max_slots >= UINT32_MAX)
		SKIP(return, "max_slots %llu leaves no nslots above it",
		     (unsigned long long)self->base.max_slots);
	EXPECT_EQ(-EFBIG, rp_create(self->p, 8, self->base.max_slots + 1,
				    0, &h));
	EXPECT_EQ(-EFBIG, rp_create(self->p, 8, UINT32_MAX, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

/* The length is checked before the buffer is touched. */
TEST_F(errors, create_from_len_over_max_efbig)
{
	char data[64] = { 1 };
	rp_handle_t h = 0;

	EXPECT_EQ(-EFBIG, rp_create_from(self->p, data,
					 self->base.max_object_size + 1, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

/* -EPERM: writing a sealed object. */

TEST_F(errors, write_sealed_eperm)
{
	unsigned char buf[8];

	SEAL_OBJ();
	rpt_fill(buf, sizeof(buf), 1);
	EXPECT_EQ(-EPERM, rp_write(self->p, self->h, 0, buf, sizeof(buf)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, write_created_sealed_eperm)
{
	unsigned char buf[8] = { 1, 2, 3 };
	struct rpt_obj o;
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 64, 0, RP_SEALED, &h));
	SNAP(self->p, h, &o);
	GET_STATS(self->p, &self->base);
	EXPECT_EQ(-EPERM, rp_write(self->p, h, 60, buf, 4));
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_NOTHING_CHANGED();
}

/* -ERANGE: a write range past the end. */

TEST_F(errors, write_past_end_erange)
{
	unsigned char buf[2] = { 1, 2 };

	/* The first byte would fit; it must not be written either. */
	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, OBJ_SIZE - 1, buf, 2));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, write_offset_past_end_erange)
{
	char c = 1;

	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, OBJ_SIZE + 1, &c, 0));
	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, OBJ_SIZE, &c, 1));
	EXPECT_NOTHING_CHANGED();
}

/* off + len wraps around to a small number: still out of range. */
TEST_F(errors, write_range_overflow_erange)
{
	unsigned char buf[16] = { 1 };

	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, UINT64_MAX, buf, 2));
	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, UINT64_MAX - 7, buf,
				    sizeof(buf)));
	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, 1, buf, UINT64_MAX));
	EXPECT_NOTHING_CHANGED();
}

/* ---- Which row wins when several apply ---- */

TEST_F(errors, erange_before_eperm)
{
	unsigned char buf[2] = { 1, 2 };

	SEAL_OBJ();
	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, OBJ_SIZE - 1, buf, 2));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, einval_before_efbig)
{
	rp_handle_t h = 0;

	EXPECT_EQ(-EINVAL, rp_create(self->p, self->base.max_object_size + 1,
				     0, 1U << 31, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, efbig_before_efault)
{
	rp_handle_t h = 0;

	EXPECT_EQ(-EFBIG, rp_create_from(self->p, (void *)1,
					 self->base.max_object_size + 1, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, ebadf_before_efault)
{
	EXPECT_EQ(-EBADF, rp_read(self->p, self->h + 1000, 0, (void *)1, 16));
	EXPECT_EQ(-EBADF, rp_write(self->p, self->h + 1000, 0, (void *)1, 16));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(errors, erange_before_efault)
{
	EXPECT_EQ(-ERANGE, rp_write(self->p, self->h, OBJ_SIZE - 8,
				    (void *)1, 16));
	EXPECT_NOTHING_CHANGED();
}

TEST_HARNESS_MAIN
