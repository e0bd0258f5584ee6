// SPDX-License-Identifier: GPL-2.0
/*
 * refpool limits: each module parameter reached with its exact errno, the
 * refused call changing nothing, and recovery once room is made; which
 * limit wins when several apply.
 *
 * The tests lower the limits through /sys/module/refpool/parameters, so
 * they need root. The values found when the program starts are restored
 * by every test's teardown, and once more when the program exits in case
 * a test process was killed before its teardown ran.
 */
#include "refpool_test.h"

#include <pthread.h>
#include <stdatomic.h>

static const char * const param_names[] = {
	"max_objects", "max_bytes", "max_object_size", "max_slots",
	"max_user_bytes",
};

static char saved[ARRAY_SIZE(param_names)][64];
static bool have_saved;

static int restore_params(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; have_saved && i < ARRAY_SIZE(param_names); i++)
		if (rpt_param_set(param_names[i], saved[i]))
			ret = -1;
	return ret;
}

static void __attribute__((constructor)) save_params(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(param_names); i++)
		if (rpt_param_get(param_names[i], saved[i], sizeof(saved[i])))
			return;
	have_saved = true;
}

/* Runs in the harness's process only: test processes leave by _exit(). */
static void __attribute__((destructor)) restore_params_at_exit(void)
{
	restore_params();
}

FIXTURE(limits) {
	struct rp_pool *p;
	struct rp_stats base;
};

FIXTURE_SETUP(limits)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root to change the limits");
	if (access(RPT_PARAM_DIR, W_OK))
		SETUP_SKIP("%s not writable: is refpool.ko loaded?",
			   RPT_PARAM_DIR);
	ASSERT_TRUE(have_saved);
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(limits)
{
	EXPECT_EQ(0, restore_params());
	if (self->p)
		rp_close(self->p);
}

#define SET(name, val)	ASSERT_EQ(0, rpt_param_set_u64((name), (val)))

/*
 * Hold one object and take the baseline again, so that a limit set to
 * what is in use now is not 0 (which a module might read as "default").
 */
#define HOLD_ONE() do { \
	rp_handle_t __held; \
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &__held)); \
	GET_STATS(self->p, &self->base); \
} while (0)

/* ---- Each limit ---- */

TEST_F(limits, max_objects_enospc_then_recovers)
{
	rp_handle_t h[2], h3 = 0;
	struct rp_stats full;

	SET("max_objects", self->base.objects + 2);
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h[0]));
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h[1]));
	GET_STATS(self->p, &full);

	EXPECT_EQ(-ENOSPC, rp_create(self->p, 8, 0, 0, &h3));
	EXPECT_EQ(-ENOSPC, rpt_create_pattern(self->p, 8, 1, 0, &h3));
	EXPECT_EQ(0, h3);
	EXPECT_POOL_UNCHANGED(self->p, &full);

	ASSERT_EQ(0, rp_put(self->p, h[0]));
	EXPECT_EQ(0, rp_create(self->p, 8, 0, 0, &h3));
	EXPECT_POOL_UNCHANGED(self->p, &full);
}

TEST_F(limits, max_bytes_enospc_then_recovers)
{
	rp_handle_t h[2], h3 = 0;
	struct rp_stats full;

	SET("max_bytes", self->base.bytes + 8192);
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h[0]));
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h[1]));
	GET_STATS(self->p, &full);

	EXPECT_EQ(-ENOSPC, rp_create(self->p, 1, 0, 0, &h3));
	EXPECT_EQ(-ENOSPC, rpt_create_pattern(self->p, 1, 2, 0, &h3));
	EXPECT_EQ(0, h3);
	EXPECT_POOL_UNCHANGED(self->p, &full);

	ASSERT_EQ(0, rp_put(self->p, h[0]));
	EXPECT_EQ(-ENOSPC, rp_create(self->p, 4097, 0, 0, &h3));
	EXPECT_EQ(0, rp_create(self->p, 4096, 0, 0, &h3));
	EXPECT_POOL_UNCHANGED(self->p, &full);
}

TEST_F(limits, max_object_size_efbig_then_recovers)
{
	rp_handle_t h = 0;

	SET("max_object_size", 4096);
	EXPECT_EQ(0, rp_create(self->p, 4096, 0, 0, &h));
	GET_STATS(self->p, &self->base);
	h = 0;
	EXPECT_EQ(-EFBIG, rp_create(self->p, 4097, 0, 0, &h));
	EXPECT_EQ(-EFBIG, rpt_create_pattern(self->p, 4097, 3, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);

	SET("max_object_size", 8192);
	EXPECT_EQ(0, rp_create(self->p, 4097, 0, 0, &h));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 4097, 1);
}

TEST_F(limits, max_slots_efbig_then_recovers)
{
	struct rp_info info;
	rp_handle_t h = 0;

	SET("max_slots", 4);
	EXPECT_EQ(0, rp_create(self->p, 8, 4, 0, &h));
	GET_STATS(self->p, &self->base);
	h = 0;
	EXPECT_EQ(-EFBIG, rp_create(self->p, 8, 5, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);

	SET("max_slots", 5);
	ASSERT_EQ(0, rp_create(self->p, 8, 5, 0, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	EXPECT_EQ(5, info.nslots);
}

/* Room for exactly two objects of 4096 bytes, everything counted. */
TEST_F(limits, max_user_bytes_edquot_then_recovers)
{
	uint64_t cost = rpt_cost_of_create(self->p, 4096, 0);
	rp_handle_t h[2], h3 = 0;
	struct rp_stats full;

	ASSERT_LT(4096, cost);
	SET("max_user_bytes", self->base.user_bytes + 2 * cost);
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h[0]));
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h[1]));
	GET_STATS(self->p, &full);
	EXPECT_EQ(self->base.user_bytes + 2 * cost, full.user_bytes);

	EXPECT_EQ(-EDQUOT, rp_create(self->p, 1, 0, 0, &h3));
	EXPECT_EQ(-EDQUOT, rpt_create_pattern(self->p, 1, 4, 0, &h3));
	EXPECT_EQ(0, h3);
	EXPECT_POOL_UNCHANGED(self->p, &full);

	ASSERT_EQ(0, rp_put(self->p, h[1]));
	EXPECT_EQ(0, rp_create(self->p, 4096, 0, 0, &h3));
	EXPECT_POOL_UNCHANGED(self->p, &full);
}

/* ---- Limits and handles, counters, existing objects ---- */

/* A dup is a new handle, not a new object: no pool limit applies to it. */
TEST_F(limits, dup_allowed_at_every_pool_limit)
{
	struct rp_info info;
	rp_handle_t h, d;

	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h));
	GET_STATS(self->p, &self->base);	/* limits never 0 here */
	SET("max_objects", self->base.objects);
	SET("max_bytes", self->base.bytes);
	EXPECT_EQ(0, rp_dup(self->p, h, &d));
	ASSERT_EQ(0, rp_info(self->p, d, &info));
	EXPECT_EQ(2, info.refs);
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 1);
}

/* ...but its table entry is the user's: at the user's limit it is refused. */
TEST_F(limits, dup_at_the_user_byte_limit_edquot)
{
	rp_handle_t h, d = 0;

	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h));
	GET_STATS(self->p, &self->base);
	SET("max_user_bytes", self->base.user_bytes);
	EXPECT_EQ(-EDQUOT, rp_dup(self->p, h, &d));
	EXPECT_EQ(0, d);
	EXPECT_EQ(1, rpt_refs(self->p, h));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(limits, stats_follow_the_parameters)
{
	struct rp_stats st;

	SET("max_objects", 123457);
	SET("max_bytes", 7654321);
	SET("max_object_size", 65537);
	SET("max_slots", 17);
	SET("max_user_bytes", 7654300);
	GET_STATS(self->p, &st);
	EXPECT_EQ(123457, st.max_objects);
	EXPECT_EQ(7654321, st.max_bytes);
	EXPECT_EQ(65537, st.max_object_size);
	EXPECT_EQ(17, st.max_slots);
	EXPECT_EQ(7654300, st.max_user_bytes);
}

/* Lowering a limit refuses new objects but leaves the old ones alone. */
TEST_F(limits, lower_limits_keep_existing_objects)
{
	unsigned char buf[8192];
	struct rpt_obj o;
	rp_handle_t h;

	ASSERT_EQ(0, rpt_create_pattern(self->p, sizeof(buf), 5, 0, &h));
	SNAP(self->p, h, &o);
	SET("max_object_size", 1024);
	SET("max_bytes", 1);
	SET("max_user_bytes", 1);
	SET("max_objects", 1);
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	rpt_fill(buf, sizeof(buf), 6);
	EXPECT_EQ((int64_t)sizeof(buf),
		  rp_write(self->p, h, 0, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((int64_t)sizeof(buf),
		  rp_read(self->p, h, 0, buf, sizeof(buf)));
	EXPECT_EQ(-1, rpt_mismatch(buf, sizeof(buf), 6));
}

/* ---- Which limit wins ---- */

TEST_F(limits, pool_bytes_before_user_bytes)
{
	uint64_t cost = rpt_cost_of_create(self->p, 4096, 0);
	rp_handle_t h, h2 = 0;
	struct rp_stats full;

	ASSERT_LT(0, cost);
	SET("max_bytes", self->base.bytes + 4096);
	SET("max_user_bytes", self->base.user_bytes + cost);
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h));
	GET_STATS(self->p, &full);

	EXPECT_EQ(-ENOSPC, rp_create(self->p, 1, 0, 0, &h2));
	EXPECT_POOL_UNCHANGED(self->p, &full);
	/* With room in the pool, the user's limit is what is left. */
	SET("max_bytes", self->base.bytes + 8192);
	EXPECT_EQ(-EDQUOT, rp_create(self->p, 1, 0, 0, &h2));
	EXPECT_EQ(0, h2);
	EXPECT_POOL_UNCHANGED(self->p, &full);
}

TEST_F(limits, pool_objects_before_user_bytes)
{
	uint64_t cost = rpt_cost_of_create(self->p, 4096, 0);
	rp_handle_t h, h2 = 0;
	struct rp_stats full;

	ASSERT_LT(0, cost);
	SET("max_objects", self->base.objects + 1);
	SET("max_user_bytes", self->base.user_bytes + cost);
	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &h));
	GET_STATS(self->p, &full);

	EXPECT_EQ(-ENOSPC, rp_create(self->p, 1, 0, 0, &h2));
	EXPECT_EQ(0, h2);
	EXPECT_POOL_UNCHANGED(self->p, &full);
}

/* Argument checks come before the pool's limits. */
TEST_F(limits, size_check_before_full_pool)
{
	rp_handle_t h = 0;

	HOLD_ONE();
	SET("max_objects", self->base.objects);
	SET("max_object_size", 4096);
	EXPECT_EQ(-EFBIG, rp_create(self->p, 4097, 0, 0, &h));
	EXPECT_EQ(-EINVAL, rp_create(self->p, 16, 0, 1U << 30, &h));
	EXPECT_EQ(-ENOSPC, rp_create(self->p, 16, 0, 0, &h));
	EXPECT_EQ(0, h);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* ---- Limits under concurrent creates ---- */

#define NFILLERS	4

struct fill {
	struct rp_pool *p;
	pthread_barrier_t go;
	int attempts;		/* creates per thread, or 0: until stop */
	atomic_bool stop;
	int made[NFILLERS];
	int bad[NFILLERS];	/* calls that failed with neither errno below */
	int refused;		/* the errno expected once the pool is full */
	struct rp_stats max_seen;	/* highest counters the monitor saw */
};

struct filler {
	struct fill *f;
	int id;
};

/* Create 4 KiB objects: @attempts of them, or until told to stop. */
static void *fill_worker(void *arg)
{
	struct filler *w = arg;
	struct fill *f = w->f;
	rp_handle_t h;
	int i, ret;

	pthread_barrier_wait(&f->go);
	for (i = 0; f->attempts ? i < f->attempts : !f->stop; i++) {
		ret = rp_create(f->p, 4096, 0, 0, &h);
		if (ret == 0)
			f->made[w->id]++;
		else if (ret != f->refused)
			f->bad[w->id]++;
	}
	return NULL;
}

/* Watch the counters while the others create. */
static void *fill_monitor(void *arg)
{
	struct fill *f = arg;
	struct rp_stats st;

	pthread_barrier_wait(&f->go);
	while (!f->stop) {
		if (rp_stats(f->p, &st))
			continue;
		if (st.objects > f->max_seen.objects)
			f->max_seen.objects = st.objects;
		if (st.bytes > f->max_seen.bytes)
			f->max_seen.bytes = st.bytes;
		if (st.user_bytes > f->max_seen.user_bytes)
			f->max_seen.user_bytes = st.user_bytes;
	}
	return NULL;
}

/*
 * Create from NFILLERS threads, @f->attempts each or for @seconds, with
 * a monitor thread polling the counters; return how many objects were made.
 */
static int fill_concurrently(struct __test_metadata *_metadata,
			     struct fill *f, unsigned int seconds)
{
	struct filler w[NFILLERS];
	pthread_t t[NFILLERS], mon;
	int i, made = 0;

	ASSERT_EQ(0, pthread_barrier_init(&f->go, NULL, NFILLERS + 1));
	ASSERT_EQ(0, pthread_create(&mon, NULL, fill_monitor, f));
	for (i = 0; i < NFILLERS; i++) {
		w[i].f = f;
		w[i].id = i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fill_worker, &w[i]));
	}
	if (!f->attempts) {
		sleep(seconds);
		f->stop = true;
	}
	for (i = 0; i < NFILLERS; i++)
		pthread_join(t[i], NULL);
	f->stop = true;
	pthread_join(mon, NULL);
	pthread_barrier_destroy(&f->go);
	for (i = 0; i < NFILLERS; i++) {
		EXPECT_EQ(0, f->bad[i]) {
			TH_LOG("thread %d", i);
		}
		made += f->made[i];
	}
	return made;
}

/* Many more creates than fit: exactly as many succeed as there is room. */
TEST_F_TIMEOUT(limits, concurrent_creates_fill_max_objects_exactly, 120)
{
	struct fill f = { .p = self->p, .attempts = 1000, .refused = -ENOSPC };
	const uint64_t room = 500;

	SET("max_objects", self->base.objects + room);
	EXPECT_EQ(room, fill_concurrently(_metadata, &f, 0));
	EXPECT_POOL_DELTA(self->p, &self->base, room, room * 4096, room);
}

TEST_F_TIMEOUT(limits, concurrent_creates_fill_max_bytes_exactly, 120)
{
	struct fill f = { .p = self->p, .attempts = 1000, .refused = -ENOSPC };
	const uint64_t room = 500;

	SET("max_bytes", self->base.bytes + room * 4096);
	EXPECT_EQ(room, fill_concurrently(_metadata, &f, 0));
	EXPECT_POOL_DELTA(self->p, &self->base, room, room * 4096, room);
}

/*
 * A refused create changes no counter, not even for an instant: a thread
 * polling rp_stats() while others hammer a full pool never sees more
 * objects or bytes than there are (nor more than the limit).
 */
TEST_F_TIMEOUT(limits, refused_creates_never_show_in_stats, 60)
{
	struct fill f = { .p = self->p, .refused = -ENOSPC };

	HOLD_ONE();
	SET("max_bytes", self->base.bytes);
	EXPECT_EQ(0, fill_concurrently(_metadata, &f, 3));
	EXPECT_EQ(self->base.objects, f.max_seen.objects);
	EXPECT_EQ(self->base.bytes, f.max_seen.bytes);
	EXPECT_EQ(self->base.user_bytes, f.max_seen.user_bytes);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F_TIMEOUT(limits, refused_over_quota_never_show_in_stats, 60)
{
	struct fill f = { .p = self->p, .refused = -EDQUOT };

	HOLD_ONE();
	SET("max_user_bytes", self->base.user_bytes);
	EXPECT_EQ(0, fill_concurrently(_metadata, &f, 3));
	EXPECT_EQ(self->base.objects, f.max_seen.objects);
	EXPECT_EQ(self->base.bytes, f.max_seen.bytes);
	EXPECT_EQ(self->base.user_bytes, f.max_seen.user_bytes);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_HARNESS_MAIN
