// SPDX-License-Identifier: GPL-2.0
/*
 * refpool quota: a hostile user with max_user_bytes = 1 MiB is refused
 * before the kernel spends 16 MiB on it, whatever it makes the kernel
 * allocate: slot containers, pages for mapped small objects, handle table
 * entries (dense or spread out), sessions, interned values, pins. Kernel
 * memory is measured (MemFree) while the user holds everything it made.
 *
 * Needs root (to become the user and set the limit). Run alone: other
 * activity in the VM would show in MemFree.
 */
#include "refpool_test.h"

#include <sys/resource.h>

RPT_SAVE_PARAMS("max_user_bytes", "max_user_objects");

#define QUOTA		(1UL << 20)
#define KERNEL_BOUND_KB	(16UL << 10)
#define MAX_PINS	4096

struct bomb {
	int hold;
	int hold_w;
	int ready;
	int err;		/* what stopped it */
	uint64_t made;		/* how many things it made */
	uint64_t user_bytes;	/* its user_bytes when refused */
	int npins;
	rp_token_t pins[MAX_PINS];
};

FIXTURE(quota) {
	struct bomb *b;
	int hold[2];
	pid_t pid;
	long free0;
};

FIXTURE_SETUP(quota)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root to become a user and set the quota");
	if (access(rpt_device(), F_OK))
		SETUP_SKIP("%s missing: is refpool.ko loaded?", rpt_device());
	self->b = rpt_shared(sizeof(*self->b));
	ASSERT_NE(NULL, self->b);
	ASSERT_EQ(0, pipe2(self->hold, O_CLOEXEC));
	self->b->hold = self->hold[0];
	self->b->hold_w = self->hold[1];
	self->pid = -1;
	ASSERT_EQ(0, rpt_param_set_u64("max_user_bytes", QUOTA));
	/* Only bytes bound these tests. */
	ASSERT_EQ(0, rpt_param_set_u64("max_user_objects", 1 << 20));
}

FIXTURE_TEARDOWN(quota)
{
	struct rp_pool *p;
	int i;

	if (self->hold[1] >= 0)
		close(self->hold[1]);
	if (self->pid > 0)
		rpt_wait(self->pid);
	/* Root may drop anyone's pins (CAP_SYS_ADMIN). */
	if (self->b->npins && !rp_open(&p)) {
		for (i = 0; i < self->b->npins; i++)
			rp_unpin(p, &self->b->pins[i]);
		rp_close(p);
	}
	EXPECT_EQ(0, rpt_params_restore());
}

/* The bomb is done: record why and hold everything it made. */
static int bomb_hold(struct bomb *b, struct rp_pool *p, int err)
{
	struct rp_stats st;
	char c;

	b->err = err;
	if (!rp_stats(p, &st))
		b->user_bytes = st.user_bytes;
	close(b->hold_w);
	__atomic_store_n(&b->ready, 1, __ATOMIC_RELEASE);
	while (read(b->hold, &c, 1) > 0)
		;
	return 0;
}

/*
 * Run @fn as RPT_UID_A; once it holds what it made, return how much
 * MemFree dropped since the test began, in KiB.
 */
static long run_bomb(struct __test_metadata *_metadata,
		     FIXTURE_DATA(quota) *self, int (*fn)(void *arg))
{
	uint64_t t0;
	long now;

	/* Let earlier tests' deferred frees land first. */
	rpt_sleep_us(200 * 1000);
	self->free0 = rpt_meminfo_kb("MemFree");
	self->pid = rpt_spawn_as(RPT_UID_A, fn, self->b);
	if (self->pid < 0)
		return -1;
	for (t0 = rpt_now_ms();
	     !__atomic_load_n(&self->b->ready, __ATOMIC_ACQUIRE);
	     rpt_sleep_us(10 * 1000))
		if (rpt_now_ms() - t0 > 600 * 1000)
			return -1;
	now = rpt_meminfo_kb("MemFree");
	TH_LOG("made %llu, stopped by %d, user_bytes %llu, MemFree -%ld KiB",
	       (unsigned long long)self->b->made, self->b->err,
	       (unsigned long long)self->b->user_bytes, self->free0 - now);
	return self->free0 - now;
}

#define EXPECT_BOUNDED(self, drop) do { \
	EXPECT_LT(0, (self)->b->made); \
	EXPECT_GE(QUOTA, (self)->b->user_bytes); \
	EXPECT_GT((long)KERNEL_BOUND_KB, (drop)); \
} while (0)

/* Objects with 4096 slots, pinned so that they outlive the process. */
static int slots_pinned(void *arg)
{
	struct bomb *b = arg;
	struct rp_pool *p;
	rp_handle_t h;
	int ret = 0;

	if (rp_open(&p))
		return 1;
	while (b->npins < MAX_PINS) {
		ret = rp_create(p, 0, 4096, 0, &h);
		if (ret)
			break;
		ret = rp_pin(p, h, &b->pins[b->npins]);
		rp_put(p, h);
		if (ret)
			break;
		b->npins++;
		b->made++;
	}
	return bomb_hold(b, p, ret);
}

TEST_F(quota, objects_with_4096_slots)
{
	long drop = run_bomb(_metadata, self, slots_pinned);

	EXPECT_EQ(-EDQUOT, self->b->err);
	EXPECT_BOUNDED(self, drop);
}

/* Thousands of 16-byte objects, each mapped: a page each. */
static int small_mapped(void *arg)
{
	struct bomb *b = arg;
	struct rp_pool *p;
	rp_handle_t h;
	void *addr;
	int ret;

	if (rp_open(&p))
		return 1;
	for (;;) {
		ret = rp_create(p, 16, 0, 0, &h);
		if (ret)
			break;
		ret = rp_map(p, h, PROT_READ | PROT_WRITE, &addr);
		if (ret)
			break;
		b->made++;
	}
	return bomb_hold(b, p, ret);
}

TEST_F(quota, small_objects_mapped)
{
	long drop = run_bomb(_metadata, self, small_mapped);

	EXPECT_EQ(-EDQUOT, self->b->err);
	EXPECT_BOUNDED(self, drop);
}

/* One handle dup'ed until refused. */
static int dup_one(void *arg)
{
	struct bomb *b = arg;
	struct rp_pool *p;
	rp_handle_t h, d;
	int ret;

	if (rp_open(&p) || rp_create(p, 8, 0, 0, &h))
		return 1;
	while (!(ret = rp_dup(p, h, &d)))
		b->made++;
	return bomb_hold(b, p, ret);
}

TEST_F(quota, one_handle_dup_ed)
{
	long drop = run_bomb(_metadata, self, dup_one);

	EXPECT_EQ(-EDQUOT, self->b->err);
	EXPECT_BOUNDED(self, drop);
}

/*
 * Handles kept one in 64, so that a table indexed by number would spread
 * (one in fewer on a slow kernel, REFPOOL_SCALE: a debug kernel makes
 * 64 calls per kept handle too slowly for the harness's timeout).
 */
static int sparse_handles(void *arg)
{
	const int spread = rpt_scaled(64, 2);
	struct bomb *b = arg;
	rp_handle_t h, d[64];
	struct rp_pool *p;
	int i, n, ret = 0;

	if (rp_open(&p) || rp_create(p, 8, 0, 0, &h))
		return 1;
	while (!ret) {
		for (n = 0; n < spread && !ret; n++)
			ret = rp_dup(p, h, &d[n]);
		if (ret)
			n--;
		for (i = 1; i < n; i++)
			rp_put(p, d[i]);
		if (n > 0)
			b->made++;
	}
	return bomb_hold(b, p, ret);
}

TEST_F(quota, handles_spread_out)
{
	long drop = run_bomb(_metadata, self, sparse_handles);

	EXPECT_EQ(-EDQUOT, self->b->err);
	EXPECT_BOUNDED(self, drop);
}

/* Sessions, as many as the fd limit allows. */
static int many_sessions(void *arg)
{
	struct bomb *b = arg;
	struct rp_pool *p = NULL, *q;
	int ret;

	while (!(ret = rp_open(&q))) {
		p = q;
		b->made++;
	}
	if (!p)
		return 1;
	return bomb_hold(b, p, ret);
}

TEST_F(quota, sessions)
{
	struct rlimit rl;
	long drop;

	/* Let the user open more fds than its quota allows sessions. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	drop = run_bomb(_metadata, self, many_sessions);
	if (self->b->err == -EMFILE)
		TH_LOG("the fd limit (%llu) came first",
		       (unsigned long long)rl.rlim_max);
	else
		EXPECT_EQ(-EDQUOT, self->b->err);
	EXPECT_BOUNDED(self, drop);
}

/* Distinct values interned, each its own object and table entry. */
static int intern_many(void *arg)
{
	struct bomb *b = arg;
	struct rp_pool *p;
	rp_handle_t h;
	uint64_t v = 0;
	int ret;

	if (rp_open(&p))
		return 1;
	while ((ret = rp_intern(p, &v, sizeof(v), &h)) >= 0) {
		v++;
		b->made++;
	}
	return bomb_hold(b, p, ret);
}

TEST_F(quota, interned_values)
{
	long drop = run_bomb(_metadata, self, intern_many);

	EXPECT_EQ(-EDQUOT, self->b->err);
	EXPECT_BOUNDED(self, drop);
}

TEST_HARNESS_MAIN
