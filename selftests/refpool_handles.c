// SPDX-License-Identifier: GPL-2.0
/*
 * refpool handle numbers: a put handle's number is not handed out again
 * until the session has allocated 2^31 others (SPEC §1 Handle), so a stale
 * handle - another thread's, a forked child's, a receiver's of the session
 * fd - is -EBADF, never another object. Numbers are nonzero and fit in 31
 * bits.
 */
#include "refpool_test.h"

#include <pthread.h>

FIXTURE(handles) {
	struct rp_pool *p;
	struct rp_stats base;
};

FIXTURE_SETUP(handles)
{
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(handles)
{
	if (self->p)
		rp_close(self->p);
}

TEST_F(handles, a_put_number_is_not_the_next_one)
{
	rp_handle_t h, h2;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h2));
	EXPECT_NE(h, h2);
	EXPECT_EQ(-EBADF, rp_put(self->p, h));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(handles, numbers_do_not_repeat_while_allocating)
{
	rp_handle_t h, d, seen[4096];
	int i, j;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	for (i = 0; i < 4096; i++) {
		ASSERT_EQ(0, rp_dup(self->p, h, &d));
		seen[i] = d;
		EXPECT_NE(0, d);
		EXPECT_EQ(0, d >> 31);
		ASSERT_EQ(0, rp_put(self->p, d));
	}
	for (i = 1; i < 4096; i++)
		for (j = i - 1; j >= 0 && j >= i - 64; j--)
			ASSERT_NE(seen[i], seen[j]);
	/* Cyclic: each number after the one before, with none skipped back. */
	for (i = 1; i < 4096; i++)
		EXPECT_LT(seen[i - 1], seen[i]);
	ASSERT_EQ(0, rp_put(self->p, h));
}

struct stale {
	struct rp_pool *p;
	rp_handle_t h;
	int ret;
};

static void *use_stale(void *arg)
{
	struct stale *s = arg;
	rp_handle_t d;

	s->ret = rp_dup(s->p, s->h, &d);
	return NULL;
}

TEST_F(handles, a_stale_handle_of_another_thread_is_ebadf)
{
	struct stale s = { .p = self->p };
	rp_handle_t fresh[64];
	pthread_t t;
	int i;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &s.h));
	ASSERT_EQ(0, rp_put(self->p, s.h));
	/* Objects made since must not take the number. */
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &fresh[i]));
	ASSERT_EQ(0, pthread_create(&t, NULL, use_stale, &s));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EBADF, s.ret);
	for (i = 0; i < 64; i++) {
		EXPECT_NE(s.h, fresh[i]);
		EXPECT_EQ(1, rpt_refs(self->p, fresh[i]));
		ASSERT_EQ(0, rp_put(self->p, fresh[i]));
	}
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(handles, a_handle_put_by_a_forked_child_is_gone_for_the_parent)
{
	rp_handle_t h, h2, d;
	pid_t pid;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(rp_put(self->p, h) ? 1 : 0);
	ASSERT_EQ(0, rpt_wait(pid));
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h2));
	EXPECT_NE(h, h2);
	EXPECT_EQ(-EBADF, rp_dup(self->p, h, &d));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_HARNESS_MAIN
