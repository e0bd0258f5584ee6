// SPDX-License-Identifier: GPL-2.0
/*
 * refpool users: what one local user can do to another's objects (SPEC §1,
 * "Users and trust"). Every test runs its parties as two unprivileged
 * users (fork + setresuid to RPT_UID_A and RPT_UID_B), each with its own
 * sessions: interning is per user, a pin is its user's, quotas are per
 * user, and a token is a capability either user may use.
 *
 * Needs root (to become the two users and set the limits).
 */
#include "refpool_test.h"

#include <sys/wait.h>

RPT_SAVE_PARAMS("max_user_bytes", "max_user_objects");

/* What the parties of a test tell each other, in shared memory. */
struct party {
	int hold;		/* read end: a party waits here for EOF */
	int hold_w;		/* write end, which the party closes */
	int ready;		/* set when the party's setup is done */
	int ret;		/* a call's result */
	int ret2;
	uint64_t id;		/* an object's id */
	uint64_t id2;
	uint64_t n;
	rp_token_t tok;
	rp_token_t tok2;
};

static const char secret[] = "PIN=4721";

FIXTURE(users) {
	struct party *a, *b;
	int hold[2];
	pid_t holder;
};

FIXTURE_SETUP(users)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root to become two users");
	if (access(rpt_device(), F_OK))
		SETUP_SKIP("%s missing: is refpool.ko loaded?", rpt_device());
	self->a = rpt_shared(sizeof(*self->a));
	self->b = rpt_shared(sizeof(*self->b));
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
	ASSERT_EQ(0, pipe2(self->hold, O_CLOEXEC));
	self->a->hold = self->b->hold = self->hold[0];
	self->a->hold_w = self->b->hold_w = self->hold[1];
	self->holder = -1;
}

FIXTURE_TEARDOWN(users)
{
	/* EOF on the pipe lets a holding party go. */
	if (self->hold[1] >= 0)
		close(self->hold[1]);
	if (self->holder > 0)
		rpt_wait(self->holder);
	EXPECT_EQ(0, rpt_params_restore());
}

/* Tell the parties to go, and wait for the holding one. */
static int release_holder(FIXTURE_DATA(users) *self)
{
	int status;

	close(self->hold[1]);
	self->hold[1] = -1;
	status = rpt_wait(self->holder);
	self->holder = -1;
	return status;
}

/* A party that keeps its session until released. */
static int hold_on(struct party *me)
{
	char c;

	/* Only the test's own write end may keep the pipe open. */
	close(me->hold_w);
	__atomic_store_n(&me->ready, 1, __ATOMIC_RELEASE);
	while (read(me->hold, &c, 1) > 0)
		;
	return 0;
}

static int wait_ready(struct party *pt)
{
	uint64_t t0 = rpt_now_ms();

	while (!__atomic_load_n(&pt->ready, __ATOMIC_ACQUIRE)) {
		if (rpt_now_ms() - t0 > 10000)
			return -1;
		rpt_sleep_us(1000);
	}
	return 0;
}

/* Start @fn as @uid, holding, and wait until its setup is done. */
#define HOLD_AS(uid, fn, pt) do { \
	self->holder = rpt_spawn_as((uid), (fn), (pt)); \
	ASSERT_LT(0, self->holder); \
	ASSERT_EQ(0, wait_ready(pt)); \
} while (0)

/* --- interning ---------------------------------------------------------- */

/* A interns the secret and holds it. */
static int intern_and_hold(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p))
		return 1;
	me->ret = rp_intern(p, secret, sizeof(secret), &h);
	me->id = rpt_id(p, h);
	return hold_on(me);
}

/* B interns the secret twice. */
static int intern_twice(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h, h2;

	if (rp_open(&p))
		return 1;
	me->ret = rp_intern(p, secret, sizeof(secret), &h);
	me->id = rpt_id(p, h);
	me->ret2 = rp_intern(p, secret, sizeof(secret), &h2);
	me->id2 = rpt_id(p, h2);
	rp_close(p);
	return 0;
}

TEST_F(users, intern_of_another_users_value_is_a_new_object)
{
	HOLD_AS(RPT_UID_A, intern_and_hold, self->a);
	ASSERT_EQ(0, self->a->ret);

	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, intern_twice, self->b));
	/* "created": B cannot tell that A holds the value. */
	EXPECT_EQ(0, self->b->ret);
	EXPECT_NE(self->a->id, self->b->id);
	/* B's own value is shared with B. */
	EXPECT_EQ(1, self->b->ret2);
	EXPECT_EQ(self->b->id, self->b->id2);
	EXPECT_EQ(0, release_holder(self));
}

TEST_F(users, intern_is_shared_by_the_processes_of_one_user)
{
	HOLD_AS(RPT_UID_A, intern_and_hold, self->a);
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, intern_twice, self->b));
	EXPECT_EQ(1, self->b->ret);
	EXPECT_EQ(self->a->id, self->b->id);
	EXPECT_EQ(0, release_holder(self));
}

/* --- pins ----------------------------------------------------------------- */

/* A makes an object, pins it, and leaves: the pin keeps it. */
static int pin_and_leave(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p))
		return 1;
	if (rp_create_from(p, secret, sizeof(secret), RP_SEALED, &h))
		return 2;
	me->ret = rp_pin(p, h, &me->tok);
	me->id = rpt_id(p, h);
	rp_close(p);
	return 0;
}

/* Unpin the party's token; also look it up first. */
static int unpin_token(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p))
		return 1;
	me->ret2 = rp_lookup(p, &me->tok, &h);
	if (!me->ret2)
		me->id2 = rpt_id(p, h);
	me->ret = rp_unpin(p, &me->tok);
	rp_close(p);
	return 0;
}

/* Whether a token still names a live object, looked up as root. */
static int token_lives(const rp_token_t *tok)
{
	struct rp_pool *p;
	rp_handle_t h;
	int ret;

	if (rp_open(&p))
		return -1;
	ret = rp_lookup(p, tok, &h);
	rp_close(p);
	return ret == 0;
}

TEST_F(users, unpin_of_another_users_pin_is_eperm)
{
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, pin_and_leave, self->a));
	ASSERT_EQ(0, self->a->ret);

	self->b->tok = self->a->tok;
	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, unpin_token, self->b));
	EXPECT_EQ(-EPERM, self->b->ret);
	/* A token is a capability: B may look the object up. */
	EXPECT_EQ(0, self->b->ret2);
	EXPECT_EQ(self->a->id, self->b->id2);
	EXPECT_EQ(1, token_lives(&self->a->tok));

	/* A, from a new process, can. */
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, unpin_token, self->a));
	EXPECT_EQ(0, self->a->ret);
	EXPECT_EQ(0, token_lives(&self->a->tok));
}

/* A unpins from a new user and IPC namespace of its own. */
static int unpin_from_new_namespace(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	if (unshare(CLONE_NEWUSER | CLONE_NEWIPC))
		return 4;	/* no unprivileged user namespaces: skip */
	if (rp_open(&p))
		return 1;
	/* Lookup is confined to the publisher's namespace... */
	me->ret2 = rp_lookup(p, &me->tok, &h);
	/* ...a pin is its user's, wherever it was made. */
	me->ret = rp_unpin(p, &me->tok);
	rp_close(p);
	return 0;
}

TEST_F(users, pin_is_unpinned_by_its_user_from_another_namespace)
{
	int status;

	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, pin_and_leave, self->a));
	ASSERT_EQ(0, self->a->ret);
	status = rpt_run_as(RPT_UID_A, unpin_from_new_namespace, self->a);
	if (status == 4) {
		/* Put it back the plain way before skipping. */
		ASSERT_EQ(0, rpt_run_as(RPT_UID_A, unpin_token, self->a));
		SKIP(return, "no unprivileged user namespaces");
	}
	ASSERT_EQ(0, status);
	EXPECT_EQ(-ENOENT, self->a->ret2);
	EXPECT_EQ(0, self->a->ret);
	EXPECT_EQ(0, token_lives(&self->a->tok));
}

/* A publishes (weakly) and holds; B looks it up and tries to pin it. */
static int publish_and_hold(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p))
		return 1;
	if (rp_create_from(p, secret, sizeof(secret), 0, &h))
		return 2;
	me->ret = rp_publish(p, h, &me->tok);
	me->id = rpt_id(p, h);
	return hold_on(me);
}

static int lookup_and_pin(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p))
		return 1;
	me->ret2 = rp_lookup(p, &me->tok, &h);
	me->ret = rp_pin(p, h, &me->tok2);
	rp_close(p);
	return 0;
}

TEST_F(users, pin_of_another_users_object_is_eperm)
{
	HOLD_AS(RPT_UID_A, publish_and_hold, self->a);
	ASSERT_EQ(0, self->a->ret);
	self->b->tok = self->a->tok;
	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, lookup_and_pin, self->b));
	EXPECT_EQ(0, self->b->ret2);
	/* Else B could keep A's object, on A's quota, past A's processes. */
	EXPECT_EQ(-EPERM, self->b->ret);
	EXPECT_EQ(0, release_holder(self));
	EXPECT_EQ(0, token_lives(&self->a->tok));
}

/* Pin two objects, then count the pins the user sees. */
static int pin_two_and_list(void *arg)
{
	struct party *me = arg;
	struct rp_pin_info pins[8];
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p))
		return 1;
	if (rp_create(p, 8, 0, 0, &h) || rp_pin(p, h, &me->tok))
		return 2;
	rp_put(p, h);
	if (rp_create(p, 16, 0, 0, &h) || rp_pin(p, h, &me->tok2))
		return 2;
	rp_put(p, h);
	me->ret = rp_list_pins(p, pins, 8);
	/* Oldest first, with each object's size. */
	me->ret2 = me->ret == 2 &&
		   !memcmp(&pins[0].token, &me->tok, sizeof(me->tok)) &&
		   !memcmp(&pins[1].token, &me->tok2, sizeof(me->tok2)) &&
		   pins[0].size == 8 && pins[1].size == 16;
	rp_close(p);
	return 0;
}

/* List pins, then drop what was listed. */
static int list_and_unpin_all(void *arg)
{
	struct party *me = arg;
	struct rp_pin_info pins[8];
	struct rp_pool *p;
	int i, n;

	if (rp_open(&p))
		return 1;
	n = rp_list_pins(p, pins, 8);
	me->ret = n;
	me->ret2 = 0;
	for (i = 0; i < n && i < 8; i++)
		if (rp_unpin(p, &pins[i].token))
			me->ret2++;
	rp_close(p);
	return 0;
}

TEST_F(users, each_user_lists_its_own_pins)
{
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, pin_two_and_list, self->a));
	EXPECT_EQ(2, self->a->ret);
	EXPECT_EQ(1, self->a->ret2);
	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, list_and_unpin_all, self->b));
	EXPECT_EQ(0, self->b->ret);
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, list_and_unpin_all, self->a));
	EXPECT_EQ(2, self->a->ret);
	EXPECT_EQ(0, self->a->ret2);
}

/* --- quotas --------------------------------------------------------------- */

/* Create small objects until refused; hold them. */
static int fill_quota_and_hold(void *arg)
{
	struct party *me = arg;
	struct rp_stats st;
	struct rp_pool *p;
	rp_handle_t h;
	int ret;

	if (rp_open(&p))
		return 1;
	while (!(ret = rp_create(p, 64, 0, 0, &h)))
		me->n++;
	me->ret = ret;
	if (rp_stats(p, &st))
		return 2;
	me->id = st.user_bytes;
	me->id2 = st.max_user_bytes;
	return hold_on(me);
}

/* A full user may not even open a session (-EDQUOT): a session costs too. */
static int create_one(void *arg)
{
	struct party *me = arg;
	struct rp_pool *p;
	rp_handle_t h;

	me->ret = rp_open(&p);
	if (me->ret)
		return 0;
	me->ret = rp_create(p, 64, 0, 0, &h);
	rp_close(p);
	return 0;
}

TEST_F(users, a_user_over_its_quota_does_not_stop_another)
{
	ASSERT_EQ(0, rpt_param_set_u64("max_user_bytes", 256 << 10));
	HOLD_AS(RPT_UID_A, fill_quota_and_hold, self->a);
	EXPECT_EQ(-EDQUOT, self->a->ret);
	EXPECT_LT(0, self->a->n);
	EXPECT_GE(self->a->id2, self->a->id);

	/* A is full; B is not; A stays refused. */
	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, create_one, self->b));
	EXPECT_EQ(0, self->b->ret);
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, create_one, self->a));
	EXPECT_EQ(-EDQUOT, self->a->ret);

	/* A's processes gone, its charges are returned. */
	EXPECT_EQ(0, release_holder(self));
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, create_one, self->a));
	EXPECT_EQ(0, self->a->ret);
}

TEST_F(users, max_user_objects_is_per_user)
{
	ASSERT_EQ(0, rpt_param_set_u64("max_user_objects", 10));
	HOLD_AS(RPT_UID_A, fill_quota_and_hold, self->a);
	EXPECT_EQ(-EDQUOT, self->a->ret);
	EXPECT_EQ(10, self->a->n);
	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, create_one, self->b));
	EXPECT_EQ(0, self->b->ret);
	EXPECT_EQ(0, release_holder(self));
}

/* A pin costs its user: user_bytes grows with it, and shrinks back. */
static int pin_costs(void *arg)
{
	struct party *me = arg;
	struct rp_stats st0, st1, st2;
	struct rp_pool *p;
	rp_handle_t h;
	rp_token_t tok;

	if (rp_open(&p) || rp_create(p, 8, 0, 0, &h) || rp_stats(p, &st0))
		return 1;
	if (rp_pin(p, h, &tok) || rp_stats(p, &st1))
		return 2;
	if (rp_unpin(p, &tok) || rp_stats(p, &st2))
		return 3;
	me->n = st1.user_pins;
	me->ret = st1.user_bytes > st0.user_bytes;
	me->ret2 = st2.user_bytes < st1.user_bytes && !st2.user_pins;
	rp_close(p);
	return 0;
}

TEST_F(users, a_pin_is_charged_to_its_user)
{
	ASSERT_EQ(0, rpt_run_as(RPT_UID_A, pin_costs, self->a));
	EXPECT_EQ(1, self->a->n);
	EXPECT_EQ(1, self->a->ret);
	EXPECT_EQ(1, self->a->ret2);
}

/* --- what another user can learn ------------------------------------------ */

/* B holds a handle of A's object: B's handle is B's cost, not A's. */
static int lookup_and_hold(void *arg)
{
	struct party *me = arg;
	struct rp_stats st0, st1;
	struct rp_pool *p;
	rp_handle_t h;

	if (rp_open(&p) || rp_stats(p, &st0))
		return 1;
	me->ret = rp_lookup(p, &me->tok, &h);
	if (rp_stats(p, &st1))
		return 2;
	me->n = st1.user_bytes - st0.user_bytes;
	me->id2 = st1.user_objects - st0.user_objects;
	rp_close(p);
	return 0;
}

TEST_F(users, a_handle_to_another_users_object_costs_its_holder)
{
	HOLD_AS(RPT_UID_A, publish_and_hold, self->a);
	self->b->tok = self->a->tok;
	ASSERT_EQ(0, rpt_run_as(RPT_UID_B, lookup_and_hold, self->b));
	EXPECT_EQ(0, self->b->ret);
	/* A handle entry, no object. */
	EXPECT_LT(0, self->b->n);
	EXPECT_GT(256, self->b->n);
	EXPECT_EQ(0, self->b->id2);
	EXPECT_EQ(0, release_holder(self));
}

TEST_HARNESS_MAIN
