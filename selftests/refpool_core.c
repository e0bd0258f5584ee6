// SPDX-License-Identifier: GPL-2.0
/*
 * refpool core behaviour: sessions' entry points, and creating, sharing,
 * reading, writing, sealing and freeing objects through librefpool.
 */
#include "refpool_test.h"

FIXTURE(core) {
	struct rp_pool *p;
	struct rp_stats base;
};

FIXTURE_SETUP(core)
{
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(core)
{
	if (self->p)
		rp_close(self->p);
}

/* ---- Sessions' entry points ---- */

TEST_F(core, fd_is_the_device)
{
	struct stat dev, st;
	int fd = rp_fd(self->p);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(0, stat(rpt_device(), &dev));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(dev.st_rdev, st.st_rdev);
}

TEST_F(core, open_path_missing_is_enoent)
{
	struct rp_pool *q = NULL;

	EXPECT_EQ(-ENOENT, rp_open_path("/nonexistent/refpool", &q));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(core, open_path_of_device_works)
{
	struct rp_pool *q = NULL;
	rp_handle_t h;

	ASSERT_EQ(0, rp_open_path(rpt_device(), &q));
	ASSERT_EQ(0, rp_create(q, 8, 0, 0, &h));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 8, 0);
	rp_close(q);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(core, open_honours_refpool_device)
{
	char link[] = "/tmp/refpool-dev-XXXXXX";
	struct rp_pool *q = NULL;
	int fd = mkstemp(link);

	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, unlink(link));
	ASSERT_EQ(0, symlink(rpt_device(), link));

	ASSERT_EQ(0, setenv("REFPOOL_DEVICE", link, 1));
	EXPECT_EQ(0, rp_open(&q));
	if (q)
		rp_close(q);
	q = NULL;
	unlink(link);
	ASSERT_EQ(0, setenv("REFPOOL_DEVICE", "/nonexistent/refpool", 1));
	EXPECT_EQ(-ENOENT, rp_open(&q));
}

/* ---- Creating objects ---- */

TEST_F(core, create_is_zero_filled)
{
	unsigned char buf[1000];
	struct rp_info info;
	rp_handle_t h = 0;

	ASSERT_EQ(0, rp_create(self->p, sizeof(buf), 3, 0, &h));
	EXPECT_NE(0, h);
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_NE(0, info.id);
	EXPECT_EQ(sizeof(buf), info.size);
	EXPECT_EQ(3, info.nslots);
	EXPECT_EQ(1, info.refs);
	EXPECT_EQ(0, info.flags);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_nonzero(buf, sizeof(buf)));
}

TEST_F(core, create_counts_in_stats)
{
	struct rp_stats st;
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 1000, 0, 0, &h));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + 1, st.objects);
	EXPECT_EQ(self->base.bytes + 1000, st.bytes);
	EXPECT_EQ(self->base.session_handles + 1, st.session_handles);
	/* The payload as allocated, and the object, container and handle. */
	EXPECT_LE(self->base.user_bytes + 1000, st.user_bytes);
}

TEST_F(core, stats_bytes_sum_payloads)
{
	static const uint64_t sizes[] = { 1, 4096, 65539, 0, 300000 };
	uint64_t sum = 0;
	unsigned int i;
	rp_handle_t h;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		ASSERT_EQ(0, rp_create(self->p, sizes[i], 0, 0, &h));
		sum += sizes[i];
	}
	EXPECT_POOL_DELTA(self->p, &self->base, ARRAY_SIZE(sizes), sum,
			  ARRAY_SIZE(sizes));
}

TEST_F(core, handles_are_nonzero_and_distinct)
{
	rp_handle_t h[64];
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(h); i++) {
		ASSERT_EQ(0, rp_create(self->p, 1, 0, 0, &h[i]));
		ASSERT_NE(0, h[i]);
		for (j = 0; j < i; j++)
			ASSERT_NE(h[j], h[i]);
	}
}

/*
 * A put of handle 0 (refused: -EBADF) once marked slot 0 of the handle
 * table free, and the next handle was 0: found by tests/refpool-fuzz.
 */
TEST_F(core, put_of_handle_zero_leaves_handles_nonzero)
{
	rp_handle_t h[4];
	unsigned int i;

	/* index 0 lives in a table node only once the table has entries */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, rp_create(self->p, 1, 0, 0, &h[i]));
	ASSERT_EQ(-EBADF, rp_put(self->p, 0));
	for (; i < ARRAY_SIZE(h); i++) {
		ASSERT_EQ(0, rp_create(self->p, 1, 0, 0, &h[i]));
		ASSERT_NE(0, h[i]);
	}
	ASSERT_EQ(-EBADF, rp_put(self->p, 0));
	ASSERT_EQ(-EBADF, rp_dup(self->p, 0, &h[0]));
}

TEST_F(core, ids_are_unique_and_never_reused)
{
	struct rp_info a, b, c;
	rp_handle_t ha, hb, hc;

	ASSERT_EQ(0, rp_create(self->p, 4, 0, 0, &ha));
	ASSERT_EQ(0, rp_info(self->p, ha, &a));
	ASSERT_EQ(0, rp_put(self->p, ha));
	ASSERT_EQ(0, rp_create(self->p, 4, 0, 0, &hb));
	ASSERT_EQ(0, rp_create(self->p, 4, 0, 0, &hc));
	ASSERT_EQ(0, rp_info(self->p, hb, &b));
	ASSERT_EQ(0, rp_info(self->p, hc, &c));
	EXPECT_NE(0, a.id);
	EXPECT_NE(a.id, b.id);
	EXPECT_NE(a.id, c.id);
	EXPECT_NE(b.id, c.id);
	/* Ids count up from 1 for the life of the module. */
	EXPECT_LT(a.id, b.id);
	EXPECT_LT(b.id, c.id);
}

TEST_F(core, create_empty_object)
{
	unsigned char buf[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	struct rp_info info;
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 0, 0, 0, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(0, info.size);
	EXPECT_EQ(0, rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(0xaa, buf[0]);
	EXPECT_EQ(0, rp_write(self->p, h, 0, buf, 0));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 0, 1);
}

TEST_F(core, create_sealed_zero_filled)
{
	unsigned char buf[64];
	struct rp_info info;
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, sizeof(buf), 2, RP_SEALED, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(RP_SEALED, info.flags & RP_SEALED);
	EXPECT_EQ(0, info.flags & RP_INTERNED);
	EXPECT_EQ(2, info.nslots);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_nonzero(buf, sizeof(buf)));
}

TEST_F(core, create_from_copies_bytes)
{
	unsigned char src[3000], buf[3000];
	struct rp_info info;
	rp_handle_t h;

	rpt_fill(src, sizeof(src), 1);
	ASSERT_EQ(0, rp_create_from(self->p, src, sizeof(src), 0, &h));
	/* The object has its own copy: changing the source does nothing. */
	memset(src, 0, sizeof(src));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(sizeof(buf), info.size);
	EXPECT_EQ(0, info.nslots);
	EXPECT_EQ(0, info.flags);
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 1));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, sizeof(buf), 1);
}

TEST_F(core, create_from_sealed)
{
	unsigned char buf[100];
	struct rp_info info;
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, sizeof(buf), 2, RP_SEALED, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 2));
}

TEST_F(core, large_object_roundtrip)
{
	const size_t len = 4 << 20;
	unsigned char *buf = malloc(len);
	rp_handle_t h;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, rp_create(self->p, len, 0, 0, &h));
	rpt_fill(buf, len, 3);
	ASSERT_EQ((int64_t)len, rp_write(self->p, h, 0, buf, len));
	memset(buf, 0, len);
	ASSERT_EQ((int64_t)len, rp_read(self->p, h, 0, buf, len));
	EXPECT_EQ(-1, rpt_mismatch(buf, len, 3));
	free(buf);
}

/* ---- Handles and references ---- */

TEST_F(core, dup_names_the_same_object)
{
	struct rp_info a, b;
	rp_handle_t h, d = 0;

	ASSERT_EQ(0, rpt_create_pattern(self->p, 50, 4, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &d));
	EXPECT_NE(0, d);
	EXPECT_NE(h, d);
	ASSERT_EQ(0, rp_info(self->p, h, &a));
	ASSERT_EQ(0, rp_info(self->p, d, &b));
	EXPECT_EQ(a.id, b.id);
	EXPECT_EQ(2, a.refs);
	EXPECT_EQ(2, b.refs);
	/* A new handle, not a new object. */
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 50, 2);
}

TEST_F(core, dup_shares_contents)
{
	unsigned char buf[16];
	rp_handle_t h, d;

	ASSERT_EQ(0, rp_create(self->p, sizeof(buf), 0, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &d));
	rpt_fill(buf, sizeof(buf), 5);
	ASSERT_EQ((int64_t)sizeof(buf), rp_write(self->p, d, 0, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 5));
}

TEST_F(core, refs_count_handles_exactly)
{
	rp_handle_t h, d[10];
	struct rp_info info;
	unsigned int i;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	for (i = 0; i < ARRAY_SIZE(d); i++)
		ASSERT_EQ(0, rp_dup(self->p, h, &d[i]));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(11, info.refs);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, rp_put(self->p, d[i]));
	ASSERT_EQ(0, rp_info(self->p, d[9], &info));
	EXPECT_EQ(6, info.refs);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 8, 6);
}

TEST_F(core, put_of_one_handle_keeps_the_object)
{
	unsigned char buf[32];
	struct rp_info info;
	rp_handle_t h, d;

	ASSERT_EQ(0, rpt_create_pattern(self->p, sizeof(buf), 6, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &d));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(0, rp_info(self->p, d, &info));
	EXPECT_EQ(1, info.refs);
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, d, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 6));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, sizeof(buf), 1);
}

TEST_F(core, put_of_last_handle_frees_at_once)
{
	rp_handle_t h, d;

	ASSERT_EQ(0, rp_create(self->p, 5000, 0, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &d));
	ASSERT_EQ(0, rp_put(self->p, d));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 5000, 1);
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* ---- Reading and writing ---- */

TEST_F(core, read_stops_at_the_end)
{
	unsigned char buf[100];
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, 1000, 7, 0, &h));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(10, rp_read(self->p, h, 990, buf, sizeof(buf)));
	/* Bytes 990..999 of pattern 7, and nothing written past them. */
	{
		unsigned char whole[1000];

		rpt_fill(whole, sizeof(whole), 7);
		EXPECT_EQ(0, memcmp(buf, whole + 990, 10));
	}
	EXPECT_EQ(-1, rpt_nonzero(buf + 10, sizeof(buf) - 10));
}

TEST_F(core, read_at_or_past_the_end_returns_zero)
{
	unsigned char buf[8];
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, 100, 8, 0, &h));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0, rp_read(self->p, h, 100, buf, sizeof(buf)));
	EXPECT_EQ(0, rp_read(self->p, h, 101, buf, sizeof(buf)));
	EXPECT_EQ(0, rp_read(self->p, h, UINT64_MAX, buf, sizeof(buf)));
	EXPECT_EQ(0, rp_read(self->p, h, UINT64_MAX - 3, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_nonzero(buf, sizeof(buf)));
}

TEST_F(core, read_of_zero_bytes_returns_zero)
{
	unsigned char buf[1] = { 0 };
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, 100, 9, 0, &h));
	EXPECT_EQ(0, rp_read(self->p, h, 10, buf, 0));
	EXPECT_EQ(0, buf[0]);
}

TEST_F(core, write_at_offset_changes_only_that_range)
{
	unsigned char buf[1000], pat[100];
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, sizeof(buf), 0, 0, &h));
	rpt_fill(pat, sizeof(pat), 10);
	ASSERT_EQ((int64_t)sizeof(pat),
		  rp_write(self->p, h, 500, pat, sizeof(pat)));
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_nonzero(buf, 500));
	EXPECT_EQ(0, memcmp(buf + 500, pat, sizeof(pat)));
	EXPECT_EQ(-1, rpt_nonzero(buf + 600, 400));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, sizeof(buf), 1);
}

TEST_F(core, write_up_to_the_end)
{
	unsigned char pat[24], buf[24];
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 100, 0, 0, &h));
	rpt_fill(pat, sizeof(pat), 11);
	ASSERT_EQ((int64_t)sizeof(pat),
		  rp_write(self->p, h, 100 - sizeof(pat), pat, sizeof(pat)));
	ASSERT_EQ((int64_t)sizeof(buf),
		  rp_read(self->p, h, 100 - sizeof(buf), buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, pat, sizeof(pat)));
}

TEST_F(core, write_of_zero_bytes_at_the_end)
{
	struct rpt_obj o;
	rp_handle_t h;
	char c = 'x';

	ASSERT_EQ(0, rpt_create_pattern(self->p, 100, 12, 0, &h));
	SNAP(self->p, h, &o);
	EXPECT_EQ(0, rp_write(self->p, h, 100, &c, 0));
	EXPECT_EQ(0, rp_write(self->p, h, 0, &c, 0));
	EXPECT_OBJ_UNCHANGED(self->p, &o);
}

/* ---- Sealing ---- */

TEST_F(core, seal_sets_the_flag_and_keeps_contents)
{
	unsigned char buf[64];
	struct rp_info info;
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, sizeof(buf), 13, 0, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	ASSERT_EQ(0, info.flags & RP_SEALED);
	ASSERT_EQ(0, rp_seal(self->p, h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
	EXPECT_EQ(1, info.refs);
	ASSERT_EQ((int64_t)sizeof(buf), rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 13));
}

TEST_F(core, seal_twice_succeeds)
{
	struct rp_info info;
	rp_handle_t h;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ASSERT_EQ(0, rp_seal(self->p, h));
	EXPECT_EQ(0, rp_seal(self->p, h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
}

TEST_F(core, seal_applies_to_every_handle)
{
	char c = 'x';
	rp_handle_t h, d;
	struct rp_info info;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &d));
	ASSERT_EQ(0, rp_seal(self->p, d));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
	EXPECT_EQ(-EPERM, rp_write(self->p, h, 0, &c, 1));
}

/* ---- Counters and messages ---- */

TEST_F(core, stats_report_the_limits)
{
	static const char * const names[] = {
		"max_objects", "max_bytes", "max_object_size", "max_slots",
		"max_user_bytes",
	};
	uint64_t got[ARRAY_SIZE(names)], param;
	unsigned int i;

	got[0] = self->base.max_objects;
	got[1] = self->base.max_bytes;
	got[2] = self->base.max_object_size;
	got[3] = self->base.max_slots;
	got[4] = self->base.max_user_bytes;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		EXPECT_NE(0, got[i]) {
			TH_LOG("%s is 0", names[i]);
		}
		if (rpt_param_get_u64(names[i], &param) == 0) {
			EXPECT_EQ(param, got[i]) {
				TH_LOG("%s", names[i]);
			}
		}
	}
}

TEST_F(core, strerror_describes_errnos)
{
	const char *bad = rp_strerror(-EBADF);

	ASSERT_NE(NULL, bad);
	EXPECT_NE(0, strlen(bad));
	ASSERT_NE(NULL, rp_strerror(EBADF));
	EXPECT_STREQ(bad, rp_strerror(EBADF));
	ASSERT_NE(NULL, rp_strerror(-EINVAL));
	EXPECT_STRNE(bad, rp_strerror(-EINVAL));
	EXPECT_NE(NULL, rp_strerror(-EDQUOT));
}

/* Any int is accepted, errno or not: even INT_MIN, which has no negation. */
TEST_F(core, strerror_of_unknown_values)
{
	static const int values[] = { -123456, 123456, 4096, INT_MAX,
				      INT_MIN + 1, INT_MIN };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(values); i++) {
		const char *s = rp_strerror(values[i]);

		ASSERT_NE(NULL, s) TH_LOG("rp_strerror(%d)", values[i]);
		EXPECT_NE(0, strlen(s));
	}
}

TEST_HARNESS_MAIN
