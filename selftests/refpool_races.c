// SPDX-License-Identifier: GPL-2.0
/*
 * refpool races: each race window of the trust-model review, held open by
 * a delay point of the test build (make module REFPOOL_TEST_HOOKS=1;
 * /sys/kernel/debug/refpool/hooks) while another thread does what the race
 * needs. Deterministic: the window is seconds long, not a hope.
 *
 * Skipped with a module built without the delay points.
 */
#include "refpool_test.h"

#include <pthread.h>
#include <sys/wait.h>

/* How long a delay point holds a window open. */
#define WINDOW_MS	1500

FIXTURE(races) {
	struct rp_pool *p;
	struct rp_stats base;
};

FIXTURE_SETUP(races)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root for debugfs");
	RPT_OPEN_OR_SKIP(&self->p);
	if (!rpt_have_hooks(self->p))
		SETUP_SKIP("not a test build (REFPOOL_TEST_HOOKS=1)");
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(races)
{
	static const char *const hooks[] = {
		"publish", "lookup", "get_link", "gc_settle", "batch", "seal",
		"handle",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		rpt_hook_arm(hooks[i], 0, 0);
	if (self->p)
		rp_close(self->p);
}

#define ARM(name, n)	ASSERT_EQ(0, rpt_hook_arm((name), WINDOW_MS, (n)))

/* A call made from another thread, with its result. */
struct call {
	struct rp_pool *p;
	rp_handle_t h;
	rp_handle_t out;
	uint32_t slot;
	rp_token_t tok;
	int ret;
	int cpu;
	struct rp_op *ops;
	uint32_t count;
};

/* Start @fn on @c and return once it sits at delay point @hook. */
static int start_at_hook(pthread_t *t, void *(*fn)(void *), struct call *c,
			 const char *hook)
{
	long hits = rpt_hook_hits(hook);
	int ret;

	if (hits < 0)
		return hits;
	ret = pthread_create(t, NULL, fn, c);
	if (ret)
		return -ret;
	return rpt_hook_wait(hook, hits, 10 * WINDOW_MS);
}

static void *do_publish(void *arg)
{
	struct call *c = arg;

	c->ret = rp_publish(c->p, c->h, &c->tok);
	return NULL;
}

/*
 * A publish that runs while the object's last handle is put: it holds its
 * own reference, so it returns the object's own token, and once it is
 * done the token names nothing - never another object's (the review's
 * use-after-free handed out a reused token's key).
 */
TEST_F(races, publish_while_the_last_handle_is_put)
{
	struct call c = { .p = self->p };
	rp_handle_t other;
	rp_token_t other_tok;
	pthread_t t;
	int i;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &c.h));
	ARM("publish", 1);
	ASSERT_EQ(0, start_at_hook(&t, do_publish, &c, "publish"));
	ASSERT_EQ(0, rp_put(self->p, c.h));
	/* Tokens of other objects, to take the freed memory if it is. */
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &other));
		ASSERT_EQ(0, rp_pin(self->p, other, &other_tok));
		ASSERT_EQ(0, rp_put(self->p, other));
		ASSERT_EQ(0, rp_unpin(self->p, &other_tok));
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, c.ret);
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &c.tok, &other));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

static void *do_lookup(void *arg)
{
	struct call *c = arg;

	rpt_pin_cpu(c->cpu);
	c->ret = rp_lookup(c->p, &c->tok, &c->out);
	return NULL;
}

/*
 * A stale lookup: it has read the token's object, which then dies and
 * whose memory a new object takes (same CPU, so the slab hands the same
 * slot back). The lookup must see that the memory is another object now:
 * -ENOENT, and the new objects untouched.
 */
TEST_F(races, lookup_of_an_object_freed_and_reused_meanwhile)
{
	struct call c = { .p = self->p, .cpu = 1 };
	rp_handle_t h, fresh[16];
	pthread_t t;
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, rpt_pin_cpu(0));
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ASSERT_EQ(0, rp_publish(self->p, h, &c.tok));
	ARM("lookup", 1);
	ASSERT_EQ(0, start_at_hook(&t, do_lookup, &c, "lookup"));
	ASSERT_EQ(0, rp_put(self->p, h));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &fresh[i]));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-ENOENT, c.ret);
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(1, rpt_refs(self->p, fresh[i]));
		ASSERT_EQ(0, rp_put(self->p, fresh[i]));
	}
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

static void *do_get_link(void *arg)
{
	struct call *c = arg;

	c->ret = rp_get_link(c->p, c->h, c->slot, &c->out);
	return NULL;
}

/*
 * GET_LINK from a parent whose last handle is put meanwhile, while a full
 * collection runs: the call holds the parent, so the cycle it is in is
 * reachable and must not be collected - the child it returns keeps its
 * own link (the review's collector cleared it).
 */
TEST_F(races, get_link_while_the_parent_is_dropped_and_collected)
{
	struct call c = { .p = self->p, .slot = 0 };
	rp_handle_t child, back;
	uint64_t collected = 1;
	pthread_t t;

	ASSERT_EQ(0, rp_create(self->p, 8, 1, 0, &c.h));
	ASSERT_EQ(0, rp_create(self->p, 8, 1, 0, &child));
	ASSERT_EQ(0, rp_link(self->p, c.h, 0, child));
	ASSERT_EQ(0, rp_link(self->p, child, 0, c.h));
	ASSERT_EQ(0, rp_put(self->p, child));
	ARM("get_link", 1);
	ASSERT_EQ(0, start_at_hook(&t, do_get_link, &c, "get_link"));
	ASSERT_EQ(0, rp_put(self->p, c.h));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	EXPECT_EQ(0, collected);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, c.ret);
	/* The child's slot still holds the parent. */
	EXPECT_EQ(0, rp_get_link(self->p, c.out, 0, &back));
	ASSERT_EQ(0, rp_put(self->p, back));
	ASSERT_EQ(0, rp_put(self->p, c.out));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	EXPECT_EQ(2, collected);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

static void *do_batch(void *arg)
{
	struct call *c = arg;

	c->ret = rp_batch(c->p, c->ops, c->count);
	return NULL;
}

/*
 * The op array is unmapped while the batch runs (after the kernel pinned
 * it): every op still runs and every result is delivered, to the pages the
 * kernel holds. Nothing is half done.
 */
TEST_F(races, batch_array_unmapped_mid_call)
{
	struct call c = { .p = self->p, .count = 3 };
	rp_handle_t h, h2, probe;
	struct rp_stats now;
	pthread_t t;

	c.ops = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c.ops);
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ASSERT_EQ(0, rp_dup(self->p, h, &h2));
	c.ops[0] = (struct rp_op){ .op = RP_OP_DUP, .handle = h };
	c.ops[1] = (struct rp_op){ .op = RP_OP_PUT, .handle = h2 };
	c.ops[2] = (struct rp_op){ .op = RP_OP_SEAL, .handle = h };
	ARM("batch", 1);
	ASSERT_EQ(0, start_at_hook(&t, do_batch, &c, "batch"));
	ASSERT_EQ(0, munmap(c.ops, 4096));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, c.ret);
	/* Every op took effect: one handle made, one put, sealed. */
	GET_STATS(self->p, &now);
	EXPECT_EQ(self->base.session_handles + 2, now.session_handles);
	EXPECT_EQ(-EBADF, rp_dup(self->p, h2, &probe));
	EXPECT_EQ(-EPERM, rp_write(self->p, h, 0, "x", 1));
	ASSERT_EQ(0, rp_put(self->p, h));
}

/*
 * A token lookup waiting while the collector judges its object is
 * killable: the process dies at once, not when the collection ends.
 */
TEST_F(races, lookup_waiting_for_the_collector_is_killable)
{
	rp_handle_t a, b;
	rp_token_t tok;
	uint64_t t0, collected;
	pid_t pid, gc;
	int status;
	long hits;

	ASSERT_EQ(0, rp_create(self->p, 8, 1, 0, &a));
	ASSERT_EQ(0, rp_create(self->p, 8, 1, 0, &b));
	ASSERT_EQ(0, rp_link(self->p, a, 0, b));
	ASSERT_EQ(0, rp_link(self->p, b, 0, a));
	ASSERT_EQ(0, rp_publish(self->p, a, &tok));
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	ASSERT_EQ(0, rpt_hook_arm("gc_settle", 4 * WINDOW_MS, 1));

	/* The collection, from another process: it stops after the doom. */
	hits = rpt_hook_hits("gc_settle");
	ASSERT_LE(0, hits);
	gc = fork();
	ASSERT_LE(0, gc);
	if (gc == 0) {
		struct rp_pool *q;

		if (rp_open(&q))
			_exit(1);
		rp_gc(q, &collected);
		_exit(0);
	}
	ASSERT_EQ(0, rpt_hook_wait("gc_settle", hits, 10 * WINDOW_MS));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rp_pool *q;
		rp_handle_t h;

		if (rp_open(&q))
			_exit(1);
		rp_lookup(q, &tok, &h);
		_exit(0);
	}
	ASSERT_EQ(0, rpt_wait_in_kernel(pid, "rp_gc_wait_doomed", WINDOW_MS));
	t0 = rpt_now_ms();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	/* Well before the collection's window closed. */
	EXPECT_GT(t0 + 2 * WINDOW_MS, rpt_now_ms());
	EXPECT_EQ(0, rpt_wait(gc));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
}

static void *do_seal(void *arg)
{
	struct call *c = arg;

	c->ret = rp_seal(c->p, c->h);
	return NULL;
}

/*
 * A seal that has found no writable mapping races with a new writable
 * mapping: one of them loses, never both win.
 */
TEST_F(races, seal_against_a_new_writable_mapping)
{
	struct call c = { .p = self->p };
	struct rp_info info;
	void *addr = NULL;
	pthread_t t;
	int ret;

	ASSERT_EQ(0, rp_create(self->p, 4096, 0, 0, &c.h));
	ARM("seal", 1);
	ASSERT_EQ(0, start_at_hook(&t, do_seal, &c, "seal"));
	ret = rp_map(self->p, c.h, PROT_READ | PROT_WRITE, &addr);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, rp_info(self->p, c.h, &info));
	if (ret == 0) {
		/* The mapping won: the seal saw it. */
		EXPECT_EQ(-EBUSY, c.ret);
		EXPECT_FALSE(info.flags & RP_SEALED);
		ASSERT_EQ(0, rp_unmap(addr, 4096));
	} else {
		EXPECT_EQ(-EPERM, ret);
		EXPECT_EQ(0, c.ret);
		EXPECT_TRUE(info.flags & RP_SEALED);
	}
	ASSERT_EQ(0, rp_put(self->p, c.h));
}

static void *do_seal_pinned(void *arg)
{
	struct call *c = arg;

	rpt_pin_cpu(c->cpu);
	c->ret = rp_seal(c->p, c->h);
	return NULL;
}

/*
 * A call has found its handle's entry, which its handle's put then leaves
 * to the session's spare entries, and a dup of another object's handle
 * takes for its new number. The call must not reach that other object:
 * -EBADF, and the other object unsealed.
 */
TEST_F(races, call_whose_handle_entry_is_reused_meanwhile)
{
	struct call c = { .p = self->p, .cpu = 1 };
	rp_handle_t y, y2;
	struct rp_info info;
	pthread_t t;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, rpt_pin_cpu(0));
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &c.h));
	ASSERT_EQ(0, rp_create(self->p, 16, 0, 0, &y));
	ARM("handle", 1);
	ASSERT_EQ(0, start_at_hook(&t, do_seal_pinned, &c, "handle"));
	ASSERT_EQ(0, rp_put(self->p, c.h));
	/* the entry the put left: the last one kept, the first one taken */
	ASSERT_EQ(0, rp_dup(self->p, y, &y2));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EBADF, c.ret);
	ASSERT_EQ(0, rp_info(self->p, y2, &info));
	EXPECT_EQ(16, info.size);
	EXPECT_FALSE(info.flags & RP_SEALED);
	ASSERT_EQ(0, rp_put(self->p, y2));
	ASSERT_EQ(0, rp_put(self->p, y));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_HARNESS_MAIN
