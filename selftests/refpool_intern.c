// SPDX-License-Identifier: GPL-2.0
/*
 * refpool interning (SPEC §1 Interning, §2 rp_intern, §3): equal bytes give
 * one sealed, interned object; different bytes give different objects;
 * the entry leaves the table with the object; the counters interned,
 * intern_hits and intern_bytes_saved; every refused call changes nothing;
 * a miss counts against the pool's limits like a create, a hit needs no
 * room; many processes interning the same bytes at once get one object.
 *
 * Every value is made unique to the test (rpm_unique()), so that objects
 * another program left in the pool never turn a miss into a hit.
 */
#include "refpool_model.h"

#define VAL_LEN		200

FIXTURE(intern) {
	struct rp_pool *p;
	struct rp_stats base;
};

FIXTURE_SETUP(intern)
{
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(intern)
{
	if (self->p)
		rp_close(self->p);
}

/* ---- Creating and finding ---- */

TEST_F(intern, first_intern_creates_sealed_interned_object)
{
	unsigned char val[VAL_LEN];
	struct rp_info info;
	struct rp_stats st;
	rp_handle_t h = 0;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	ASSERT_NE(0, h);
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(RP_SEALED | RP_INTERNED, info.flags);
	EXPECT_EQ(sizeof(val), info.size);
	EXPECT_EQ(1, info.refs);
	EXPECT_EQ(0, info.nslots);
	EXPECT_EQ(0, rpm_bytes_equal(self->p, h, val, sizeof(val)));

	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + 1, st.objects);
	EXPECT_EQ(self->base.bytes + sizeof(val), st.bytes);
	/* The bytes, and the object, its table entry and its handle. */
	EXPECT_LE(self->base.user_bytes + sizeof(val), st.user_bytes);
	EXPECT_EQ(self->base.session_handles + 1, st.session_handles);
	EXPECT_EQ(self->base.interned + 1, st.interned);
	EXPECT_EQ(self->base.intern_hits, st.intern_hits);
	EXPECT_EQ(self->base.intern_bytes_saved, st.intern_bytes_saved);
}

TEST_F(intern, second_intern_of_equal_bytes_hits)
{
	unsigned char val[VAL_LEN], copy[VAL_LEN];
	rp_handle_t a, b;
	struct rp_stats st;

	rpm_unique(val, sizeof(val));
	memcpy(copy, val, sizeof(val));	/* equal bytes, another buffer */
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &a));
	ASSERT_EQ(1, rp_intern(self->p, copy, sizeof(copy), &b));
	EXPECT_NE(a, b);
	EXPECT_EQ(rpm_id(self->p, a), rpm_id(self->p, b));
	EXPECT_EQ(2, rpm_refs(self->p, a));

	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + 1, st.objects);
	EXPECT_EQ(self->base.bytes + sizeof(val), st.bytes);
	EXPECT_EQ(self->base.session_handles + 2, st.session_handles);
	EXPECT_EQ(self->base.interned + 1, st.interned);
	EXPECT_EQ(self->base.intern_hits + 1, st.intern_hits);
	EXPECT_EQ(self->base.intern_bytes_saved + sizeof(val),
		  st.intern_bytes_saved);
}

TEST_F(intern, hit_from_another_session_is_the_same_object)
{
	unsigned char val[VAL_LEN];
	struct rp_pool *q;
	rp_handle_t a, b;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &a));
	ASSERT_EQ(0, rp_open(&q));
	EXPECT_EQ(1, rp_intern(q, val, sizeof(val), &b));
	EXPECT_EQ(rpm_id(self->p, a), rpm_id(q, b));
	EXPECT_EQ(2, rpm_refs(self->p, a));
	/* The other session's reference goes with it. */
	rp_close(q);
	EXPECT_EQ(1, rpm_refs(self->p, a));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, sizeof(val), 1);
}

/* A value over several pages that differs only in its very last byte. */
TEST_F(intern, values_differing_in_last_byte_of_many_pages_differ)
{
	size_t len = 3 * (size_t)getpagesize() + 123;
	unsigned char *v1 = malloc(len), *v2 = malloc(len);
	rp_handle_t a, b, a2, b2;
	struct rp_stats st;

	ASSERT_NE(NULL, v1);
	ASSERT_NE(NULL, v2);
	rpm_unique(v1, len);
	memcpy(v2, v1, len);
	v2[len - 1] ^= 0x01;

	ASSERT_EQ(0, rp_intern(self->p, v1, len, &a));
	EXPECT_EQ(0, rp_intern(self->p, v2, len, &b));
	EXPECT_NE(rpm_id(self->p, a), rpm_id(self->p, b));
	EXPECT_EQ(0, rpm_bytes_equal(self->p, a, v1, len));
	EXPECT_EQ(0, rpm_bytes_equal(self->p, b, v2, len));

	/* Each value finds its own object again. */
	EXPECT_EQ(1, rp_intern(self->p, v1, len, &a2));
	EXPECT_EQ(1, rp_intern(self->p, v2, len, &b2));
	EXPECT_EQ(rpm_id(self->p, a), rpm_id(self->p, a2));
	EXPECT_EQ(rpm_id(self->p, b), rpm_id(self->p, b2));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + 2, st.objects);
	EXPECT_EQ(self->base.interned + 2, st.interned);
	EXPECT_EQ(self->base.intern_hits + 2, st.intern_hits);
	free(v1);
	free(v2);
}

/* A value and its own prefix: equal bytes as far as they go, not equal. */
TEST_F(intern, value_and_its_prefix_differ)
{
	unsigned char val[VAL_LEN];
	struct rp_info info;
	rp_handle_t a, b;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &a));
	EXPECT_EQ(0, rp_intern(self->p, val, sizeof(val) - 1, &b));
	EXPECT_NE(rpm_id(self->p, a), rpm_id(self->p, b));
	ASSERT_EQ(0, rp_info(self->p, b, &info));
	EXPECT_EQ(sizeof(val) - 1, info.size);
	EXPECT_EQ(0, rpm_bytes_equal(self->p, b, val, sizeof(val) - 1));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * sizeof(val) - 1, 2);
}

TEST_F(intern, empty_value_is_one_object)
{
	unsigned char byte = 0x42;
	struct rp_info info;
	rp_handle_t a, b;
	struct rp_stats st;
	int first;

	/* Nothing else in the VM holds the empty value; elsewhere it may. */
	first = rp_intern(self->p, &byte, 0, &a);
	ASSERT_LE(0, first);
	ASSERT_GE(1, first);
	EXPECT_EQ(1, rp_intern(self->p, NULL, 0, &b));
	EXPECT_EQ(rpm_id(self->p, a), rpm_id(self->p, b));
	ASSERT_EQ(0, rp_info(self->p, b, &info));
	EXPECT_EQ(0, info.size);
	EXPECT_EQ(RP_SEALED | RP_INTERNED, info.flags);
	EXPECT_EQ(0, rp_read(self->p, b, 0, &byte, 1));
	EXPECT_EQ(0x42, byte);
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + (first ? 0 : 1), st.objects);
	EXPECT_EQ(self->base.intern_hits + 1 + first, st.intern_hits);
	EXPECT_EQ(self->base.intern_bytes_saved, st.intern_bytes_saved);
}

TEST_F(intern, one_mib_value_round_trips)
{
	size_t len = 1 << 20;
	unsigned char *val = malloc(len);
	rp_handle_t a, b;
	struct rp_stats st;

	ASSERT_NE(NULL, val);
	rpm_unique(val, len);
	ASSERT_EQ(0, rp_intern(self->p, val, len, &a));
	EXPECT_EQ(0, rpm_bytes_equal(self->p, a, val, len));
	EXPECT_EQ(1, rp_intern(self->p, val, len, &b));
	EXPECT_EQ(rpm_id(self->p, a), rpm_id(self->p, b));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.bytes + len, st.bytes);
	EXPECT_EQ(self->base.intern_bytes_saved + len, st.intern_bytes_saved);
	free(val);
}

/* ---- The table follows the objects' lives ---- */

TEST_F(intern, entry_leaves_the_table_when_the_object_dies)
{
	unsigned char val[VAL_LEN];
	struct rp_stats want;
	uint64_t id1, id2;
	rp_handle_t a, b, c;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &a));
	ASSERT_EQ(1, rp_intern(self->p, val, sizeof(val), &b));
	id1 = rpm_id(self->p, a);
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	want = self->base;
	want.intern_hits += 1;
	want.intern_bytes_saved += sizeof(val);
	EXPECT_MODEL_UNCHANGED(self->p, &want);

	EXPECT_EQ(0, rp_intern(self->p, val, sizeof(val), &c));
	id2 = rpm_id(self->p, c);
	EXPECT_NE(0, id2);
	EXPECT_LT(id1, id2);
}

TEST_F(intern, entry_stays_while_any_handle_remains)
{
	unsigned char val[VAL_LEN];
	rp_handle_t a, b, c;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &a));
	ASSERT_EQ(1, rp_intern(self->p, val, sizeof(val), &b));
	ASSERT_EQ(0, rp_put(self->p, a));
	EXPECT_EQ(1, rp_intern(self->p, val, sizeof(val), &c));
	EXPECT_EQ(rpm_id(self->p, b), rpm_id(self->p, c));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, sizeof(val), 2);
}

/* An exported file is a reference too: the object stays interned. */
TEST_F(intern, exported_interned_object_stays_interned)
{
	unsigned char val[VAL_LEN];
	struct rp_stats want;
	rp_handle_t a, b;
	uint64_t id;
	int fd;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &a));
	id = rpm_id(self->p, a);
	ASSERT_EQ(0, rp_export(self->p, a, &fd));
	ASSERT_EQ(0, rp_put(self->p, a));
	EXPECT_EQ(1, rp_intern(self->p, val, sizeof(val), &b));
	EXPECT_EQ(id, rpm_id(self->p, b));
	ASSERT_EQ(0, rp_put(self->p, b));
	close(fd);
	want = self->base;
	want.intern_hits += 1;
	want.intern_bytes_saved += sizeof(val);
	EXPECT_MODEL_UNCHANGED(self->p, &want);
}

/* Only interned objects are shared: an equal sealed object is not one. */
TEST_F(intern, created_sealed_object_with_equal_bytes_is_not_interned)
{
	unsigned char val[VAL_LEN];
	struct rp_info info;
	rp_handle_t c, i;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_create_from(self->p, val, sizeof(val), RP_SEALED, &c));
	ASSERT_EQ(0, rp_info(self->p, c, &info));
	EXPECT_EQ(RP_SEALED, info.flags);
	EXPECT_EQ(0, rp_intern(self->p, val, sizeof(val), &i));
	EXPECT_NE(info.id, rpm_id(self->p, i));
	EXPECT_EQ(1, rpm_refs(self->p, c));
}

/* ---- Interned objects are immutable ---- */

TEST_F(intern, write_to_interned_object_eperm)
{
	unsigned char val[VAL_LEN], other[VAL_LEN];
	struct rp_stats before;
	struct rpt_obj o;
	rp_handle_t h;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	SNAP(self->p, h, &o);
	GET_STATS(self->p, &before);
	rpt_fill(other, sizeof(other), 7);
	EXPECT_EQ(-EPERM, rp_write(self->p, h, 0, other, sizeof(other)));
	EXPECT_EQ(-EPERM, rp_write(self->p, h, sizeof(val) - 1, other, 1));
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_EQ(0, rpm_bytes_equal(self->p, h, val, sizeof(val)));
	EXPECT_MODEL_UNCHANGED(self->p, &before);
}

TEST_F(intern, writable_map_of_interned_object_eperm)
{
	unsigned char val[VAL_LEN];
	struct rp_stats before;
	void *addr = NULL;
	struct rpt_obj o;
	rp_handle_t h;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	SNAP(self->p, h, &o);
	GET_STATS(self->p, &before);
	EXPECT_EQ(-EPERM, rp_map(self->p, h, PROT_READ | PROT_WRITE, &addr));
	EXPECT_EQ(NULL, addr);
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_MODEL_UNCHANGED(self->p, &before);
}

/*
 * A small value hashes from wherever its bytes are: in the object, or in
 * the page a read-only mapping moved them to. Either way it is found, and
 * it leaves the table when its object dies.
 */
TEST_F(intern, small_value_mapped_is_found_and_leaves_when_freed)
{
	unsigned char val[16];
	rp_handle_t h, h2, h3;
	void *addr = NULL;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	ASSERT_EQ(0, rp_map(self->p, h, PROT_READ, &addr));
	EXPECT_EQ(0, memcmp(addr, val, sizeof(val)));
	EXPECT_EQ(1, rp_intern(self->p, val, sizeof(val), &h2));
	EXPECT_EQ(rpm_id(self->p, h), rpm_id(self->p, h2));
	ASSERT_EQ(0, rp_unmap(addr, sizeof(val)));
	ASSERT_EQ(0, rp_put(self->p, h2));
	ASSERT_EQ(0, rp_put(self->p, h));
	EXPECT_EQ(0, rp_intern(self->p, val, sizeof(val), &h3));
	ASSERT_EQ(0, rp_put(self->p, h3));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* ---- Refused calls change nothing ---- */

TEST_F(intern, len_over_max_object_size_efbig)
{
	uint64_t len = self->base.max_object_size + 1;
	rp_handle_t h = 0;
	void *buf;

	/* Readable memory of that length: the size alone is refused. */
	buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	EXPECT_EQ(-EFBIG, rp_intern(self->p, buf, len, &h));
	EXPECT_EQ(0, h);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
	munmap(buf, len);
}

/* The length is an argument: refused before the buffer is touched. */
TEST_F(intern, len_over_max_object_size_before_unreadable_data)
{
	rp_handle_t h = 0;

	EXPECT_EQ(-EFBIG, rp_intern(self->p, rpt_noaccess(),
				    self->base.max_object_size + 1, &h));
	EXPECT_EQ(0, h);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
}

TEST_F(intern, unreadable_data_efault)
{
	unsigned char val[VAL_LEN];
	struct rp_stats before;
	rp_handle_t h, out = 0;

	/* A known value in the table, which the refused call must not hit. */
	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	GET_STATS(self->p, &before);
	EXPECT_EQ(-EFAULT, rp_intern(self->p, rpt_noaccess(), 16, &out));
	EXPECT_EQ(-EFAULT, rp_intern(self->p, (void *)1, 16, &out));
	EXPECT_EQ(0, out);
	EXPECT_EQ(1, rpm_refs(self->p, h));
	EXPECT_MODEL_UNCHANGED(self->p, &before);
}

/* Half the value readable, half not: no object made from the half. */
TEST_F(intern, data_straddling_an_unmapped_page_efault)
{
	size_t len = 512;
	unsigned char *src = rpt_straddle(len);
	rp_handle_t h, out = 0;

	ASSERT_NE(NULL, src);
	EXPECT_EQ(-EFAULT, rp_intern(self->p, src, len, &out));
	EXPECT_EQ(0, out);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
	/* The readable half is not in the table either. */
	EXPECT_EQ(0, rp_intern(self->p, src, len / 2, &h));
}

TEST_F(intern, null_out_efault_takes_no_reference)
{
	unsigned char val[VAL_LEN];
	struct rp_stats before;
	rp_handle_t h;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	GET_STATS(self->p, &before);
	/* Neither a hit nor a miss may happen. */
	EXPECT_EQ(-EFAULT, rp_intern(self->p, val, sizeof(val), NULL));
	rpm_unique(val, sizeof(val));
	EXPECT_EQ(-EFAULT, rp_intern(self->p, val, sizeof(val), NULL));
	EXPECT_EQ(1, rpm_refs(self->p, h));
	EXPECT_MODEL_UNCHANGED(self->p, &before);
}

TEST_F(intern, unknown_flag_einval)
{
	unsigned char val[VAL_LEN];
	struct refpool_intern args;
	uint32_t h = 0xdeadbeef;

	rpm_unique(val, sizeof(val));
	memset(&args, 0, sizeof(args));
	args.data = (uintptr_t)val;
	args.len = sizeof(val);
	args.flags = 1;
	args.handle_ptr = (uintptr_t)&h;
	EXPECT_EQ(-EINVAL, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_INTERN, &args));
	EXPECT_EQ(0xdeadbeef, h);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
}

/* An intern whose handle is to go to a read-only page. */
static struct refpool_intern intern_to_read_only(const void *val, size_t len)
{
	struct refpool_intern args;
	void *ro = mmap(NULL, getpagesize(), PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(&args, 0, sizeof(args));
	args.data = (uintptr_t)val;
	args.len = len;
	args.handle_ptr = ro == MAP_FAILED ? 0 : (uintptr_t)ro;
	return args;
}

/*
 * The kernel cannot write the new handle (the result pointer is in a
 * read-only page): -EFAULT, and the hit it found must not be counted.
 */
TEST_F(intern, result_not_writable_efault_counts_no_hit)
{
	unsigned char val[VAL_LEN];
	struct refpool_intern args;
	struct rp_stats before;
	rp_handle_t h;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
	args = intern_to_read_only(val, sizeof(val));
	ASSERT_NE(0, args.handle_ptr);
	GET_STATS(self->p, &before);

	EXPECT_EQ(-EFAULT, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_INTERN, &args));
	EXPECT_EQ(1, rpm_refs(self->p, h));
	EXPECT_MODEL_UNCHANGED(self->p, &before);
}

/* The same for a miss: no object, no entry is left behind. */
TEST_F(intern, result_not_writable_efault_creates_nothing)
{
	unsigned char val[VAL_LEN];
	struct refpool_intern args;
	rp_handle_t h;

	rpm_unique(val, sizeof(val));
	args = intern_to_read_only(val, sizeof(val));
	ASSERT_NE(0, args.handle_ptr);

	EXPECT_EQ(-EFAULT, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_INTERN, &args));
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
	/* Not in the table: the next intern creates it. */
	EXPECT_EQ(0, rp_intern(self->p, val, sizeof(val), &h));
}

/* ---- Many processes at once ---- */

#define NPROC	8

struct intern_report {
	int ret;
	uint64_t id;
};

TEST_F_TIMEOUT(intern, concurrent_processes_get_one_object, 120)
{
	int start[2], results[2], release[2];
	struct intern_report rep[NPROC];
	unsigned char val[VAL_LEN];
	unsigned int i, created = 0, hits = 0;
	struct rp_stats st;
	pid_t pid[NPROC];

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, pipe(start));
	ASSERT_EQ(0, pipe(results));
	ASSERT_EQ(0, pipe(release));
	for (i = 0; i < NPROC; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			struct intern_report r = { .ret = -1 };
			struct rp_pool *q;
			rp_handle_t h;
			char c;

			close(start[1]);
			close(results[0]);
			close(release[1]);
			if (rp_open(&q))
				_exit(1);
			/* All start together, once the parent lets go. */
			if (read(start[0], &c, 1) != 0)
				_exit(2);
			r.ret = rp_intern(q, val, sizeof(val), &h);
			if (r.ret >= 0)
				r.id = rpm_id(q, h);
			if (rpt_write_all(results[1], &r, sizeof(r)))
				_exit(3);
			/* Hold the object until every child has reported. */
			if (read(release[0], &c, 1) != 0)
				_exit(4);
			rp_close(q);
			_exit(0);
		}
	}
	close(start[0]);
	close(results[1]);
	close(release[0]);
	close(start[1]);	/* go */
	for (i = 0; i < NPROC; i++)
		ASSERT_EQ(0, rpt_read_all(results[0], &rep[i], sizeof(rep[i])));
	GET_STATS(self->p, &st);
	close(release[1]);
	for (i = 0; i < NPROC; i++)
		EXPECT_EQ(0, rpt_wait(pid[i]));
	close(results[0]);

	for (i = 0; i < NPROC; i++) {
		EXPECT_NE(0, rep[i].id);
		EXPECT_EQ(rep[0].id, rep[i].id);
		if (rep[i].ret == 0)
			created++;
		else if (rep[i].ret == 1)
			hits++;
	}
	EXPECT_EQ(1, created);
	EXPECT_EQ(NPROC - 1, hits);
	EXPECT_EQ(self->base.objects + 1, st.objects);
	EXPECT_EQ(self->base.interned + 1, st.interned);
	EXPECT_EQ(self->base.intern_hits + NPROC - 1, st.intern_hits);
	/* Every child is gone, and the object with them. */
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.interned, st.interned);
}

/*
 * Processes intern and put the same value as fast as they can, so that
 * the object keeps dying and being made again under them: every call
 * gets the value's bytes in a sealed interned object, every hit is
 * counted once, and the table is empty of it at the end.
 */
#define CHURN_PROCS	4
#define CHURN_ROUNDS	3000

TEST_F_TIMEOUT(intern, intern_and_put_race_keeps_one_entry, 180)
{
	unsigned long *counts;	/* per child: created, hits, errors */
	unsigned char val[VAL_LEN];
	unsigned long created = 0, hits = 0, errors = 0;
	unsigned int i;
	struct rp_stats st;
	pid_t pid[CHURN_PROCS];

	rpm_unique(val, sizeof(val));
	counts = rpm_shared(3 * CHURN_PROCS * sizeof(*counts));
	ASSERT_NE(NULL, counts);
	for (i = 0; i < CHURN_PROCS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			unsigned long *c = counts + 3 * i;
			struct rp_info info;
			struct rp_pool *q;
			unsigned int k;
			rp_handle_t h;
			int ret;

			if (rp_open(&q))
				_exit(1);
			for (k = 0; k < CHURN_ROUNDS; k++) {
				ret = rp_intern(q, val, sizeof(val), &h);
				if (ret == 0)
					c[0]++;
				else if (ret == 1)
					c[1]++;
				if (ret < 0 || rp_info(q, h, &info) ||
				    info.flags != (RP_SEALED | RP_INTERNED) ||
				    rpm_bytes_equal(q, h, val, sizeof(val)) ||
				    rp_put(q, h))
					c[2]++;
			}
			rp_close(q);
			_exit(0);
		}
	}
	for (i = 0; i < CHURN_PROCS; i++) {
		EXPECT_EQ(0, rpt_wait(pid[i]));
		created += counts[3 * i];
		hits += counts[3 * i + 1];
		errors += counts[3 * i + 2];
	}
	TH_LOG("%lu created, %lu hits", created, hits);
	EXPECT_EQ(0, errors);
	EXPECT_EQ(CHURN_PROCS * CHURN_ROUNDS, created + hits);
	EXPECT_LE(1, created);
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.intern_hits + hits, st.intern_hits);
	EXPECT_EQ(self->base.intern_bytes_saved + hits * sizeof(val),
		  st.intern_bytes_saved);
	EXPECT_EQ(self->base.interned, st.interned);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.bytes, st.bytes);
}

/*
 * Lock-free hits meet objects that died and were reused (the object cache
 * is SLAB_TYPESAFE_BY_RCU): two values are interned and put in turn while
 * plain sealed objects with the same bytes are made and dropped, so a
 * freed interned object is soon another value's, or not interned at all.
 * Every intern must still answer with a sealed interned object holding
 * exactly its bytes, and nothing may be left behind.
 */
TEST_F_TIMEOUT(intern, hits_survive_reuse_of_dead_objects, 180)
{
	unsigned char val[2][VAL_LEN];
	unsigned long *errors;
	unsigned long total = 0;
	struct rp_stats st;
	unsigned int i;
	pid_t pid[CHURN_PROCS];

	rpm_unique(val[0], sizeof(val[0]));
	rpm_unique(val[1], sizeof(val[1]));
	errors = rpm_shared(CHURN_PROCS * sizeof(*errors));
	ASSERT_NE(NULL, errors);
	for (i = 0; i < CHURN_PROCS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			const unsigned char *v = val[i % 2];
			struct rp_info info;
			rp_handle_t h, plain;
			struct rp_pool *q;
			unsigned int k;

			if (rp_open(&q))
				_exit(1);
			for (k = 0; k < CHURN_ROUNDS; k++) {
				if (rp_create_from(q, val[k % 2], VAL_LEN,
						   RP_SEALED, &plain))
					errors[i]++;
				else if (rp_put(q, plain))
					errors[i]++;
				if (rp_intern(q, v, VAL_LEN, &h) < 0) {
					errors[i]++;
					continue;
				}
				if (rp_info(q, h, &info) ||
				    info.flags != (RP_SEALED | RP_INTERNED) ||
				    rpm_bytes_equal(q, h, v, VAL_LEN) ||
				    rp_put(q, h))
					errors[i]++;
			}
			rp_close(q);
			_exit(0);
		}
	}
	for (i = 0; i < CHURN_PROCS; i++) {
		EXPECT_EQ(0, rpt_wait(pid[i]));
		total += errors[i];
	}
	EXPECT_EQ(0, total);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.interned, st.interned);
}

/* ---- Limits: a miss is a create, a hit needs no room ---- */

static const char * const limit_names[] = {
	"max_objects", "max_bytes", "max_object_size", "max_user_bytes",
};

static char saved_limits[ARRAY_SIZE(limit_names)][64];
static bool have_saved_limits;

static int restore_limits(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; have_saved_limits && i < ARRAY_SIZE(limit_names); i++)
		if (rpt_param_set(limit_names[i], saved_limits[i]))
			ret = -1;
	return ret;
}

static void __attribute__((constructor)) save_limits(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(limit_names); i++)
		if (rpt_param_get(limit_names[i], saved_limits[i],
				  sizeof(saved_limits[i])))
			return;
	have_saved_limits = true;
}

static void __attribute__((destructor)) restore_limits_at_exit(void)
{
	restore_limits();
}

FIXTURE(intern_limits) {
	struct rp_pool *p;
	struct rp_stats base;
	unsigned char val[VAL_LEN];	/* interned by the setup */
	rp_handle_t h;
};

FIXTURE_SETUP(intern_limits)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root to change the limits");
	if (access(RPT_PARAM_DIR, W_OK))
		SETUP_SKIP("%s not writable: is refpool.ko loaded?",
			   RPT_PARAM_DIR);
	ASSERT_TRUE(have_saved_limits);
	RPT_OPEN_OR_SKIP(&self->p);
	rpm_unique(self->val, sizeof(self->val));
	ASSERT_EQ(0, rp_intern(self->p, self->val, sizeof(self->val),
			       &self->h));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(intern_limits)
{
	EXPECT_EQ(0, restore_limits());
	if (self->p)
		rp_close(self->p);
}

#define SET(name, val)	ASSERT_EQ(0, rpt_param_set_u64((name), (val)))

TEST_F(intern_limits, full_pool_miss_enospc_hit_succeeds)
{
	unsigned char other[VAL_LEN];
	struct rp_stats full;
	rp_handle_t h = 0;

	SET("max_objects", self->base.objects);
	GET_STATS(self->p, &full);
	rpm_unique(other, sizeof(other));
	EXPECT_EQ(-ENOSPC, rp_intern(self->p, other, sizeof(other), &h));
	EXPECT_EQ(0, h);
	EXPECT_MODEL_UNCHANGED(self->p, &full);

	EXPECT_EQ(1, rp_intern(self->p, self->val, sizeof(self->val), &h));
	EXPECT_EQ(rpm_id(self->p, self->h), rpm_id(self->p, h));
	EXPECT_POOL_DELTA(self->p, &full, 0, 0, 1);
}

TEST_F(intern_limits, miss_over_max_bytes_enospc)
{
	unsigned char other[VAL_LEN];
	rp_handle_t h = 0;

	SET("max_bytes", self->base.bytes + sizeof(other) - 1);
	rpm_unique(other, sizeof(other));
	EXPECT_EQ(-ENOSPC, rp_intern(self->p, other, sizeof(other), &h));
	EXPECT_EQ(0, h);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
	/* One byte less fits. */
	EXPECT_EQ(0, rp_intern(self->p, other, sizeof(other) - 1, &h));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, sizeof(other) - 1, 1);
}

/* A hit costs a handle, a miss an object and a handle. */
TEST_F(intern_limits, miss_over_user_bytes_edquot_hit_succeeds)
{
	uint64_t handle = rpt_cost_of_handle(self->p, self->h);
	unsigned char other[VAL_LEN];
	rp_handle_t h = 0;

	ASSERT_LT(0, handle);
	SET("max_user_bytes", self->base.user_bytes + handle);
	rpm_unique(other, sizeof(other));
	EXPECT_EQ(-EDQUOT, rp_intern(self->p, other, sizeof(other), &h));
	EXPECT_EQ(0, h);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
	EXPECT_EQ(1, rp_intern(self->p, self->val, sizeof(self->val), &h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 1);
}

TEST_F(intern_limits, len_at_max_object_size_ok_one_more_efbig)
{
	unsigned char val[4097];
	rp_handle_t h = 0;

	SET("max_object_size", 4096);
	rpm_unique(val, sizeof(val));
	EXPECT_EQ(-EFBIG, rp_intern(self->p, val, 4097, &h));
	EXPECT_EQ(0, h);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
	EXPECT_EQ(0, rp_intern(self->p, val, 4096, &h));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 4096, 1);
}

TEST_HARNESS_MAIN
