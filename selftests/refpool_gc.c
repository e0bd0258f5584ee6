// SPDX-License-Identifier: GPL-2.0
/*
 * refpool's cycle collector (SPEC §1 Cycles, §2 rp_gc): rp_gc() frees every
 * object that no handle, exported file, mapping or pin reaches, directly or
 * through links - cycles of any shape, and what only they hold - and
 * reports how many died; it never frees a reachable object, also while
 * links change under it. Tokens are weak. Automatic collections follow the
 * gc_threshold module parameter.
 *
 * The tests turn automatic collection off (gc_threshold=0, restored
 * afterwards) when they may, so that each rp_gc() is the collection that
 * frees the test's garbage and its count is exact. Without root they run
 * anyway: then a collection's count may be smaller (an automatic one got
 * there first), but the pool's running total gc_collected must still grow
 * by exactly the garbage made.
 */
#include "refpool_model.h"

#include <pthread.h>
#include <stdatomic.h>

RPT_SAVE_PARAMS("gc_full_interval");

#define SZ	64	/* payload of the objects the tests make */

FIXTURE(gc) {
	struct rp_pool *p;
	struct rp_stats base;
	bool quiet;	/* automatic collection is off */
};

FIXTURE_SETUP(gc)
{
	RPT_OPEN_OR_SKIP(&self->p);
	if (rpm_can_set_threshold()) {
		ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "0"));
		self->quiet = true;
	}
	/* Garbage other programs left, and a collection under way, go now. */
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(gc)
{
	if (self->quiet) {
		EXPECT_EQ(0, rpm_restore_threshold());
	}
	if (self->p)
		rp_close(self->p);
}

/*
 * rp_gc() freed @want objects: exactly, when automatic collection is off;
 * the pool's running total of collected objects moved by exactly @want
 * since the baseline either way; the pool's objects and bytes are back
 * to the baseline plus @d_objects and @d_bytes.
 */
#define GC_EXPECT(want, d_objects, d_bytes) do { \
	uint64_t __n = ~0ULL; \
	struct rp_stats __st; \
	ASSERT_EQ(0, rp_gc(self->p, &__n)); \
	if (self->quiet) { \
		EXPECT_EQ((uint64_t)(want), __n); \
	} else { \
		EXPECT_GE((uint64_t)(want), __n); \
	} \
	GET_STATS(self->p, &__st); \
	EXPECT_EQ(self->base.gc_collected + (want), __st.gc_collected); \
	EXPECT_EQ(self->base.objects + (d_objects), __st.objects); \
	EXPECT_EQ(self->base.bytes + (d_bytes), __st.bytes); \
	self->base.gc_collected += (want); \
} while (0)

/* ---- Cycles of every shape are collected ---- */

TEST_F(gc, self_loop_collected)
{
	rp_handle_t h;

	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 1, &h));
	ASSERT_EQ(0, rp_link(self->p, h, 0, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	/* Reference counting alone cannot free it. */
	EXPECT_POOL_DELTA(self->p, &self->base, 1, SZ, 0);
	GC_EXPECT(1, 0, 0);
}

TEST_F(gc, two_cycle_collected)
{
	rp_handle_t h[2];

	ASSERT_EQ(0, rpm_ring(self->p, 2, SZ, 1, 1, h));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 2));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 0);
	GC_EXPECT(2, 0, 0);
}

TEST_F(gc, ring_of_1000_collected)
{
	rp_handle_t h[1000];

	ASSERT_EQ(0, rpm_ring(self->p, 1000, SZ, 1, 1, h));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 1000));
	EXPECT_POOL_DELTA(self->p, &self->base, 1000, 1000 * SZ, 0);
	GC_EXPECT(1000, 0, 0);
}

/* 20 objects, each linking to all 20 (itself too). */
TEST_F(gc, clique_collected)
{
	rp_handle_t h[20];
	unsigned int i, j;

	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, rpm_create(self->p, SZ, 20, i, &h[i]));
	for (i = 0; i < 20; i++)
		for (j = 0; j < 20; j++)
			ASSERT_EQ(0, rp_link(self->p, h[i], j, h[j]));
	EXPECT_EQ(21, rpm_refs(self->p, h[7]));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 20));
	GC_EXPECT(20, 0, 0);
}

/* Two rings joined both ways, and a figure eight sharing one object. */
TEST_F(gc, tangled_cycles_collected)
{
	rp_handle_t a[5], b[7];

	ASSERT_EQ(0, rpm_ring(self->p, 5, SZ, 2, 1, a));
	ASSERT_EQ(0, rpm_ring(self->p, 7, SZ, 2, 10, b));
	ASSERT_EQ(0, rp_link(self->p, a[2], 1, b[4]));
	ASSERT_EQ(0, rp_link(self->p, b[6], 1, a[0]));
	ASSERT_EQ(0, rp_link(self->p, a[4], 1, a[1]));
	ASSERT_EQ(0, rpm_put_all(self->p, a, 5));
	ASSERT_EQ(0, rpm_put_all(self->p, b, 7));
	GC_EXPECT(12, 0, 0);
}

/* Objects without slots that only a cycle holds die with it. */
TEST_F(gc, leaves_of_a_cycle_die_with_it)
{
	rp_handle_t ring[10], leaf;
	unsigned int i, k;

	ASSERT_EQ(0, rpm_ring(self->p, 10, SZ, 4, 1, ring));
	for (i = 0; i < 10; i++) {
		for (k = 1; k < 4; k++) {
			ASSERT_EQ(0, rpm_create(self->p, 1000, 0, i * 4 + k,
						&leaf));
			ASSERT_EQ(0, rp_link(self->p, ring[i], k, leaf));
			ASSERT_EQ(0, rp_put(self->p, leaf));
		}
	}
	ASSERT_EQ(0, rpm_put_all(self->p, ring, 10));
	EXPECT_POOL_DELTA(self->p, &self->base, 40, 10 * SZ + 30 * 1000, 0);
	GC_EXPECT(40, 0, 0);
}

/* An interned leaf dies with the cycle, and leaves the intern table. */
TEST_F(gc, interned_leaf_of_a_cycle_leaves_the_table)
{
	unsigned char val[48];
	rp_handle_t h[3], i;
	struct rp_stats st;
	uint64_t id;

	ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 2, 1, h));
	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &i));
	id = rpm_id(self->p, i);
	ASSERT_EQ(0, rp_link(self->p, h[1], 1, i));
	ASSERT_EQ(0, rp_put(self->p, i));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 3));
	GC_EXPECT(4, 0, 0);
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.interned, st.interned);
	EXPECT_EQ(0, rp_intern(self->p, val, sizeof(val), &i));
	EXPECT_NE(id, rpm_id(self->p, i));
}

/* A garbage cycle may link to a live object: that object stays. */
TEST_F(gc, live_object_linked_from_a_garbage_cycle_stays)
{
	rp_handle_t h[2], live;

	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 99, &live));
	ASSERT_EQ(0, rpm_ring(self->p, 2, SZ, 2, 1, h));
	ASSERT_EQ(0, rp_link(self->p, h[0], 1, live));
	ASSERT_EQ(0, rp_link(self->p, h[1], 1, live));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 2));
	EXPECT_EQ(3, rpm_refs(self->p, live));
	GC_EXPECT(2, 1, SZ);
	EXPECT_EQ(1, rpm_refs(self->p, live));
	EXPECT_EQ(0, rpm_check_pattern(self->p, live, SZ, 99));
}

/* ---- What is reachable stays ---- */

TEST_F(gc, cycle_hanging_off_a_live_object_is_kept)
{
	rp_handle_t root, h[5];

	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 100, &root));
	ASSERT_EQ(0, rpm_ring(self->p, 5, SZ, 1, 1, h));
	ASSERT_EQ(0, rp_link(self->p, root, 0, h[0]));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 5));
	GC_EXPECT(0, 6, 6 * SZ);
	ASSERT_EQ(0, rp_get_link(self->p, root, 0, &h[0]));
	EXPECT_EQ(0, rpm_walk_ring(self->p, h[0], 5, SZ, 1));
	ASSERT_EQ(0, rp_put(self->p, h[0]));

	/* Once its root goes, the cycle is garbage. */
	ASSERT_EQ(0, rp_put(self->p, root));
	EXPECT_POOL_DELTA(self->p, &self->base, 5, 5 * SZ, 0);
	GC_EXPECT(5, 0, 0);
}

TEST_F(gc, cycle_held_by_a_handle_on_one_member_is_kept)
{
	rp_handle_t h[8];

	ASSERT_EQ(0, rpm_ring(self->p, 8, SZ, 1, 1, h));
	ASSERT_EQ(0, rpm_put_all(self->p, h + 1, 7));
	GC_EXPECT(0, 8, 8 * SZ);
	EXPECT_EQ(0, rpm_walk_ring(self->p, h[0], 8, SZ, 1));
	ASSERT_EQ(0, rp_put(self->p, h[0]));
	GC_EXPECT(8, 0, 0);
}

TEST_F(gc, cycle_reachable_only_from_an_exported_fd_is_kept)
{
	rp_handle_t h[4], back;
	int fd;

	ASSERT_EQ(0, rpm_ring(self->p, 4, SZ, 1, 1, h));
	ASSERT_EQ(0, rp_export(self->p, h[2], &fd));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 4));
	GC_EXPECT(0, 4, 4 * SZ);
	ASSERT_EQ(0, rp_import(self->p, fd, &back));
	EXPECT_EQ(0, rpm_check_pattern(self->p, back, SZ, 3));
	ASSERT_EQ(0, rp_put(self->p, back));

	ASSERT_EQ(0, close(fd));
	GC_EXPECT(4, 0, 0);
}

TEST_F(gc, cycle_reachable_only_from_a_mapping_is_kept)
{
	unsigned char want[SZ];
	rp_handle_t h[3];
	void *addr;

	ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 1, 1, h));
	ASSERT_EQ(0, rp_map(self->p, h[1], PROT_READ, &addr));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 3));
	GC_EXPECT(0, 3, 3 * SZ);
	rpt_fill(want, sizeof(want), 2);
	EXPECT_EQ(0, memcmp(addr, want, sizeof(want)));

	ASSERT_EQ(0, rp_unmap(addr, SZ));
	GC_EXPECT(3, 0, 0);
}

TEST_F(gc, cycle_reachable_only_from_a_pin_is_kept)
{
	rp_handle_t h[3], back;
	rp_token_t tok;

	ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 1, 1, h));
	ASSERT_EQ(0, rp_pin(self->p, h[0], &tok));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 3));
	GC_EXPECT(0, 3, 3 * SZ);
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &back));
	EXPECT_EQ(0, rpm_walk_ring(self->p, back, 3, SZ, 1));
	ASSERT_EQ(0, rp_put(self->p, back));

	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	GC_EXPECT(3, 0, 0);
}

/* A long chain from a handle to a cycle: all of it is reachable. */
TEST_F(gc, cycle_at_the_end_of_a_long_chain_is_kept)
{
	rp_handle_t head, prev, next, ring[3];
	unsigned int i;

	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &head));
	prev = head;
	for (i = 1; i < 5000; i++) {
		ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &next));
		ASSERT_EQ(0, rp_link(self->p, prev, 0, next));
		if (prev != head)
			ASSERT_EQ(0, rp_put(self->p, prev));
		prev = next;
	}
	ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 1, 1, ring));
	ASSERT_EQ(0, rp_link(self->p, prev, 0, ring[0]));
	ASSERT_EQ(0, rp_put(self->p, prev));
	ASSERT_EQ(0, rpm_put_all(self->p, ring, 3));
	GC_EXPECT(0, 5003, 3 * SZ);

	/* Follow the chain to the end: the ring is intact. */
	ASSERT_EQ(0, rp_dup(self->p, head, &prev));
	for (i = 0; i < 5000; i++) {
		ASSERT_EQ(0, rp_get_link(self->p, prev, 0, &next));
		ASSERT_EQ(0, rp_put(self->p, prev));
		prev = next;
	}
	EXPECT_EQ(0, rpm_walk_ring(self->p, prev, 3, SZ, 1));
	ASSERT_EQ(0, rp_put(self->p, prev));

	/* The chain dies by counting; the ring only by collection. */
	ASSERT_EQ(0, rp_put(self->p, head));
	EXPECT_POOL_DELTA(self->p, &self->base, 3, 3 * SZ, 0);
	GC_EXPECT(3, 0, 0);
}

/*
 * A ring of 200 with chords and leaves, held by one handle, through 100
 * collections: every byte and every link as it was built.
 */
TEST_F_TIMEOUT(gc, live_structure_survives_many_collections, 300)
{
	rp_handle_t h[200], leaf, root, cur, next;
	unsigned int i, round;
	uint64_t id[200];

	ASSERT_EQ(0, rpm_ring(self->p, 200, SZ, 3, 1000, h));
	for (i = 0; i < 200; i++) {
		id[i] = rpm_id(self->p, h[i]);
		ASSERT_EQ(0, rp_link(self->p, h[i], 1, h[(i * 7 + 3) % 200]));
		ASSERT_EQ(0, rpm_create(self->p, 16, 0, 5000 + i, &leaf));
		ASSERT_EQ(0, rp_link(self->p, h[i], 2, leaf));
		ASSERT_EQ(0, rp_put(self->p, leaf));
	}
	root = h[0];
	ASSERT_EQ(0, rpm_put_all(self->p, h + 1, 199));

	for (round = 0; round < 100; round++)
		GC_EXPECT(0, 400, 200 * SZ + 200 * 16);

	EXPECT_EQ(0, rpm_walk_ring(self->p, root, 200, SZ, 1000));
	ASSERT_EQ(0, rp_dup(self->p, root, &cur));
	for (i = 0; i < 200; i++) {
		EXPECT_EQ(id[i], rpm_id(self->p, cur));
		EXPECT_EQ(id[(i * 7 + 3) % 200], rpm_link_id(self->p, cur, 1)) {
			TH_LOG("chord of object %u", i);
		}
		ASSERT_EQ(0, rp_get_link(self->p, cur, 2, &leaf));
		EXPECT_EQ(0, rpm_check_pattern(self->p, leaf, 16, 5000 + i));
		ASSERT_EQ(0, rp_put(self->p, leaf));
		ASSERT_EQ(0, rp_get_link(self->p, cur, 0, &next));
		ASSERT_EQ(0, rp_put(self->p, cur));
		cur = next;
	}
	EXPECT_EQ(id[0], rpm_id(self->p, cur));
	ASSERT_EQ(0, rp_put(self->p, cur));
	ASSERT_EQ(0, rp_put(self->p, root));
	GC_EXPECT(400, 0, 0);
}

/* ---- Tokens are weak ---- */

TEST_F(gc, token_does_not_keep_a_cycle_alive)
{
	rp_handle_t h[2], out = 0;
	rp_token_t tok;

	ASSERT_EQ(0, rpm_ring(self->p, 2, SZ, 1, 1, h));
	ASSERT_EQ(0, rp_publish(self->p, h[0], &tok));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 2));
	GC_EXPECT(2, 0, 0);
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &out));
	EXPECT_EQ(0, out);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/* Looked up before a collection, the cycle is reachable again. */
TEST_F(gc, token_lookup_before_collection_makes_a_cycle_reachable)
{
	rp_handle_t h[4], back;
	rp_token_t tok;

	ASSERT_EQ(0, rpm_ring(self->p, 4, SZ, 1, 1, h));
	ASSERT_EQ(0, rp_publish(self->p, h[0], &tok));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 4));
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &back));
	GC_EXPECT(0, 4, 4 * SZ);
	EXPECT_EQ(0, rpm_walk_ring(self->p, back, 4, SZ, 1));
	ASSERT_EQ(0, rp_put(self->p, back));
	GC_EXPECT(4, 0, 0);
}

/* ---- Whose garbage: sessions that ended ---- */

TEST_F(gc, cycle_of_a_closed_session_is_collected)
{
	rp_handle_t h[6];
	struct rp_pool *q;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rpm_ring(q, 6, SZ, 1, 1, h));
	rp_close(q);
	EXPECT_POOL_DELTA(self->p, &self->base, 6, 6 * SZ, 0);
	GC_EXPECT(6, 0, 0);
}

TEST_F_TIMEOUT(gc, cycle_of_a_killed_process_is_collected, 60)
{
	int ready[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		rp_handle_t h[50];
		struct rp_pool *q;

		close(ready[0]);
		if (rp_open(&q) || rpm_ring(q, 50, SZ, 1, 1, h))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(-1, rpt_wait(pid));
	EXPECT_POOL_DELTA(self->p, &self->base, 50, 50 * SZ, 0);
	GC_EXPECT(50, 0, 0);
}

/* ---- The call and its counters ---- */

TEST_F(gc, collected_may_be_null)
{
	rp_handle_t h[3];
	struct rp_stats st;

	ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 1, 1, h));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 3));
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.gc_collected + 3, st.gc_collected);
}

TEST_F(gc, nothing_to_collect_collects_nothing)
{
	rp_handle_t h[3];

	/* A live cycle and a live tree: nothing is garbage. */
	ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 2, 1, h));
	GC_EXPECT(0, 3, 3 * SZ);
	GC_EXPECT(0, 3, 3 * SZ);
	EXPECT_EQ(0, rpm_walk_ring(self->p, h[0], 3, SZ, 1));
}

TEST_F(gc, each_call_is_one_more_run)
{
	rp_handle_t h;
	struct rp_stats st;
	uint64_t n;

	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 1, &h));
	ASSERT_EQ(0, rp_link(self->p, h, 0, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(0, rp_gc(self->p, &n));
	ASSERT_EQ(0, rp_gc(self->p, &n));
	ASSERT_EQ(0, rp_gc(self->p, &n));
	GET_STATS(self->p, &st);
	if (self->quiet) {
		EXPECT_EQ(self->base.gc_runs + 3, st.gc_runs);
	} else {
		EXPECT_LE(self->base.gc_runs + 3, st.gc_runs);
	}
	EXPECT_EQ(self->base.gc_collected + 1, st.gc_collected);
	EXPECT_LE(self->base.gc_time_ns, st.gc_time_ns);
	/* The last two found nothing left. */
	EXPECT_EQ(0, n);
}

TEST_F(gc, unknown_flag_or_pad_einval)
{
	struct refpool_gc args;
	struct rp_stats st;
	rp_handle_t h;

	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 1, &h));
	ASSERT_EQ(0, rp_link(self->p, h, 0, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	memset(&args, 0, sizeof(args));
	args.flags = 1;
	EXPECT_EQ(-EINVAL, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_GC, &args));
	memset(&args, 0, sizeof(args));
	args.pad = 1;
	EXPECT_EQ(-EINVAL, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_GC, &args));
	/* No collection ran: the garbage is still there. */
	GET_STATS(self->p, &st);
	if (self->quiet) {
		EXPECT_EQ(self->base.gc_runs, st.gc_runs);
	}
	EXPECT_EQ(self->base.objects + 1, st.objects);
	GC_EXPECT(1, 0, 0);
}

/* ---- Concurrency ---- */

struct gc_caller {
	struct rp_pool *p;
	uint64_t collected;
	int ret;
	atomic_int *go;
};

static void *gc_caller_fn(void *arg)
{
	struct gc_caller *c = arg;

	while (!atomic_load(c->go))
		;
	c->ret = rp_gc(c->p, &c->collected);
	return NULL;
}

/* Collections at once free each object once, and all of them. */
TEST_F_TIMEOUT(gc, concurrent_collections_free_each_object_once, 120)
{
	struct gc_caller callers[4];
	pthread_t tid[4];
	atomic_int go = 0;
	rp_handle_t h[300];
	uint64_t sum = 0;
	unsigned int i;
	struct rp_stats st;

	ASSERT_EQ(0, rpm_ring(self->p, 300, SZ, 1, 1, h));
	ASSERT_EQ(0, rpm_put_all(self->p, h, 300));
	for (i = 0; i < 4; i++) {
		callers[i] = (struct gc_caller){ .p = self->p, .go = &go };
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, gc_caller_fn,
					    &callers[i]));
	}
	atomic_store(&go, 1);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(tid[i], NULL));
		EXPECT_EQ(0, callers[i].ret);
		sum += callers[i].collected;
	}
	if (self->quiet) {
		EXPECT_EQ(300, sum);
	}
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.gc_collected + 300, st.gc_collected);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.bytes, st.bytes);
}

/*
 * A builder thread keeps moving references between handles and links
 * while the test collects: each new node is linked in and its handle put
 * at once, so that during a collection it is reachable through a link
 * only; nodes are also moved from one list to the other. Nothing may be
 * freed: at the end both lists hold every node, with its bytes.
 */
#define BUILD_MAX	20000	/* nodes at most */
#define BUILD_RUNS	50	/* collections while building, at least */

struct builder {
	struct rp_pool *p;
	rp_handle_t heads[2];	/* slot 0: first node of the list */
	unsigned int max;	/* nodes at most */
	atomic_int stop;
	atomic_int done;
	unsigned int built;
	int err;
};

static void *builder_fn(void *arg)
{
	struct builder *b = arg;
	unsigned int i;

	for (i = 0; i < b->max && !b->err && !atomic_load(&b->stop); i++) {
		rp_handle_t head = b->heads[i % 2], node, first;

		if (rpm_create(b->p, SZ, 2, 20000 + i, &node)) {
			b->err = 1;
			break;
		}
		/* node -> old first; head -> node; drop the handle. */
		if (!rp_get_link(b->p, head, 0, &first)) {
			if (rp_link(b->p, node, 0, first) || rp_put(b->p, first))
				b->err = 2;
		}
		if (rp_link(b->p, head, 0, node) || rp_put(b->p, node))
			b->err = 3;
		/* Every node also links back to the list's head: cycles. */
		if (!rp_get_link(b->p, head, 0, &node)) {
			if (rp_link(b->p, node, 1, head) || rp_put(b->p, node))
				b->err = 4;
		}
	}
	b->built = i;
	atomic_store(&b->done, 1);
	return NULL;
}

TEST_F_TIMEOUT(gc, collections_racing_a_builder_free_nothing_reachable, 600)
{
	struct builder b = { .p = self->p, .max = rpt_scaled(BUILD_MAX, 500) };
	unsigned int l, k, n, runs = 0, seen = 0;
	rp_handle_t cur, next;
	struct rp_stats st;
	pthread_t tid;
	uint64_t c;

	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &b.heads[0]));
	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &b.heads[1]));
	ASSERT_EQ(0, pthread_create(&tid, NULL, builder_fn, &b));
	while (!atomic_load(&b.done)) {
		ASSERT_EQ(0, rp_gc(self->p, &c));
		EXPECT_EQ(0, c);
		if (++runs == BUILD_RUNS)
			atomic_store(&b.stop, 1);
	}
	ASSERT_EQ(0, pthread_join(tid, NULL));
	ASSERT_EQ(0, b.err);
	n = b.built;
	TH_LOG("%u collections while building %u nodes", runs, n);

	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + 2 + n, st.objects);
	EXPECT_EQ(self->base.gc_collected, st.gc_collected);
	/* List l holds nodes l, l + 2, ... newest first. */
	for (l = 0; l < 2; l++) {
		ASSERT_EQ(0, rp_dup(self->p, b.heads[l], &cur));
		for (k = 0; !rp_get_link(self->p, cur, 0, &next); k++) {
			unsigned int i = n - 1 - l - 2 * k;

			if (n % 2 == 0)
				i = n - 2 + l - 2 * k;
			ASSERT_EQ(0, rp_put(self->p, cur));
			cur = next;
			EXPECT_EQ(0, rpm_check_pattern(self->p, cur, SZ,
						       20000 + i)) {
				TH_LOG("node %u", i);
			}
			EXPECT_EQ(rpm_id(self->p, b.heads[l]),
				  rpm_link_id(self->p, cur, 1));
			seen++;
		}
		ASSERT_EQ(0, rp_put(self->p, cur));
	}
	EXPECT_EQ(n, seen);
	ASSERT_EQ(0, rp_put(self->p, b.heads[0]));
	ASSERT_EQ(0, rp_put(self->p, b.heads[1]));
	GC_EXPECT(2 + n, 0, 0);
}

/*
 * rp_gc() waits for a collection that started after the call: one under
 * way (started before the garbage existed) is not enough. Another process
 * keeps long collections running (a large live structure makes them
 * long) while this one makes garbage and collects.
 */
TEST_F_TIMEOUT(gc, call_during_another_collection_gets_a_new_one, 300)
{
	rp_handle_t big, prev, next, h[3];
	atomic_int *stop;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &big));
	prev = big;
	for (i = 1; i < rpt_scaled(20000, 1000); i++) {
		ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &next));
		ASSERT_EQ(0, rp_link(self->p, prev, 0, next));
		if (prev != big)
			ASSERT_EQ(0, rp_put(self->p, prev));
		prev = next;
	}
	ASSERT_EQ(0, rp_put(self->p, prev));
	GET_STATS(self->p, &self->base);

	stop = rpm_shared(sizeof(*stop));
	ASSERT_NE(NULL, stop);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rp_pool *q;

		if (rp_open(&q))
			_exit(1);
		while (!atomic_load(stop))
			if (rp_gc(q, NULL))
				_exit(2);
		_exit(0);
	}
	for (i = 0; i < 10; i++) {
		rpt_sleep_us(37000 * i);
		ASSERT_EQ(0, rpm_ring(self->p, 3, SZ, 1, i, h));
		ASSERT_EQ(0, rpm_put_all(self->p, h, 3));
		ASSERT_EQ(0, rp_gc(self->p, NULL));
		EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 0);
	}
	atomic_store(stop, 1);
	EXPECT_EQ(0, rpt_wait(pid));
}

/*
 * Putting the head of a long acyclic chain frees the whole chain before
 * rp_put() returns (SPEC §2: objects drop before the call that released
 * the last reference returns), also while a collection is scanning it.
 * Each attempt puts the head at another moment of a collection that
 * another process runs.
 */
#define RACE_CHAIN	50000
#define RACE_TRIES	12

TEST_F_TIMEOUT(gc, chain_put_during_a_collection_frees_it_before_returning, 600)
{
	unsigned int try, late = 0, len = rpt_scaled(RACE_CHAIN, 2000);
	uint64_t max_left = 0, gc_ms;
	atomic_int *ctl;	/* [0] stop, [1] collections started */
	struct rp_stats st;
	struct rpt_rng rng;

	ctl = rpm_shared(2 * sizeof(*ctl));
	ASSERT_NE(NULL, ctl);
	rpt_rng_init(&rng, rpt_seed());
	for (try = 0; try < RACE_TRIES; try++) {
		rp_handle_t head, prev, next;
		unsigned int i;
		pid_t pid;

		ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &head));
		prev = head;
		for (i = 1; i < len; i++) {
			ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &next));
			ASSERT_EQ(0, rp_link(self->p, prev, 0, next));
			if (prev != head)
				ASSERT_EQ(0, rp_put(self->p, prev));
			prev = next;
		}
		ASSERT_EQ(0, rp_put(self->p, prev));
		/* How long one collection of it takes here. */
		gc_ms = rpt_now_ms();
		ASSERT_EQ(0, rp_gc(self->p, NULL));
		gc_ms = rpt_now_ms() - gc_ms + 1;

		atomic_store(&ctl[0], 0);
		atomic_store(&ctl[1], 0);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			struct rp_pool *q;

			if (rp_open(&q))
				_exit(1);
			while (!atomic_load(&ctl[0])) {
				atomic_fetch_add(&ctl[1], 1);
				if (rp_gc(q, NULL))
					_exit(2);
			}
			_exit(0);
		}
		while (!atomic_load(&ctl[1]))
			;
		rpt_sleep_us(1000 * rpt_rand_below(&rng, gc_ms));
		ASSERT_EQ(0, rp_put(self->p, head));
		GET_STATS(self->p, &st);
		atomic_store(&ctl[0], 1);
		EXPECT_EQ(0, rpt_wait(pid));
		if (st.objects != self->base.objects) {
			late++;
			if (st.objects - self->base.objects > max_left)
				max_left = st.objects - self->base.objects;
		}
		/* Whatever was left, let it go before the next try. */
		EXPECT_EQ(0, rpt_wait_pool(self->p, &self->base, 0, 0, 120000,
					   &st));
	}
	EXPECT_EQ(0, late) {
		TH_LOG("%u of %u puts of a %u-object chain's head returned with objects alive (up to %llu)",
		       late, RACE_TRIES, len,
		       (unsigned long long)max_left);
	}
}

/* ---- Automatic collection: the gc_threshold parameter ---- */

FIXTURE(gc_auto) {
	struct rp_pool *p;
	struct rp_stats base;
	rp_handle_t spare;	/* a live object whose slot the tests churn */
};

FIXTURE_SETUP(gc_auto)
{
	if (!rpm_can_set_threshold())
		SETUP_SKIP("needs root and a writable %s/%s", RPT_PARAM_DIR,
			   RPM_GC_THRESHOLD);
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "0"));
	/* A clean start: no garbage left, the operation count reset. */
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &self->spare));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(gc_auto)
{
	EXPECT_EQ(0, rpm_restore_threshold());
	EXPECT_EQ(0, rpt_params_restore());
	if (self->p)
		rp_close(self->p);
}

/* @n link operations that change nothing else: link and clear a slot. */
static int churn(struct rp_pool *p, rp_handle_t h, unsigned int n)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = rp_link(p, h, 0, i % 2 ? 0 : h);
	if (!ret && n % 2)
		ret = rp_link(p, h, 0, 0);
	return ret;
}

/*
 * Wait up to @ms for the running total at @off in struct rp_stats to reach
 * @want; return the stats then.
 */
static int wait_total(struct rp_pool *p, size_t off, uint64_t want,
		      unsigned int ms, struct rp_stats *st)
{
	uint64_t end = rpt_now_ms() + ms, total;

	for (;;) {
		if (rp_stats(p, st))
			return -1;
		memcpy(&total, (const char *)st + off, sizeof(total));
		if (total >= want)
			return 0;
		if (rpt_now_ms() >= end)
			return -ETIMEDOUT;
		rpt_sleep_us(10000);
	}
}

/* Wait for gc_runs to pass @runs. */
static int wait_runs(struct rp_pool *p, uint64_t runs, unsigned int ms,
		     struct rp_stats *st)
{
	return wait_total(p, offsetof(struct rp_stats, gc_runs), runs + 1, ms,
			  st);
}

/*
 * Wait for gc_collected to reach @want. A collection adds its dead to
 * gc_collected once it has freed them all, so the pool's objects can be
 * back to the baseline a moment before the total shows them: a test that
 * waited for the objects waits for this too.
 */
static int wait_collected(struct rp_pool *p, uint64_t want, unsigned int ms,
			  struct rp_stats *st)
{
	return wait_total(p, offsetof(struct rp_stats, gc_collected), want, ms,
			  st);
}

TEST_F(gc_auto, default_threshold_is_700)
{
	const char *params = getenv("REFPOOL_MODULE_PARAMS");

	if (params && strstr(params, RPM_GC_THRESHOLD))
		SKIP(return, "loaded with %s", params);
	EXPECT_STREQ("700", rpm_saved_threshold);
}

TEST_F_TIMEOUT(gc_auto, threshold_starts_collections_without_rp_gc, 120)
{
	rp_handle_t h[10];
	struct rp_stats st;
	unsigned int i;

	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, rpm_create(self->p, SZ, 1, i, &h[i]));
		ASSERT_EQ(0, rp_link(self->p, h[i], 0, h[i]));
		ASSERT_EQ(0, rp_put(self->p, h[i]));
	}
	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "50"));
	ASSERT_EQ(0, churn(self->p, self->spare, 60));
	EXPECT_EQ(0, wait_runs(self->p, self->base.gc_runs, 30000, &st));
	/* A collection of the young frees the young garbage. */
	EXPECT_EQ(0, rpt_wait_pool(self->p, &self->base, 0, 0, 30000, &st));
	EXPECT_EQ(0, wait_collected(self->p, self->base.gc_collected + 10,
				    5000, &st));
	EXPECT_EQ(self->base.gc_collected + 10, st.gc_collected);
}

TEST_F_TIMEOUT(gc_auto, threshold_zero_means_never, 120)
{
	rp_handle_t h;
	struct rp_stats st;

	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 1, &h));
	ASSERT_EQ(0, rp_link(self->p, h, 0, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	ASSERT_EQ(0, churn(self->p, self->spare, 3000));
	rpt_sleep_us(1000000);
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.gc_runs, st.gc_runs);
	EXPECT_EQ(self->base.objects + 1, st.objects);
}

/*
 * Lowered below the operations already counted, the threshold still
 * starts a collection after that many more.
 */
TEST_F_TIMEOUT(gc_auto, lowered_threshold_still_starts_collections, 120)
{
	struct rp_stats st;

	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "1000"));
	ASSERT_EQ(0, churn(self->p, self->spare, 500));
	GET_STATS(self->p, &st);
	ASSERT_EQ(self->base.gc_runs, st.gc_runs);
	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "100"));
	ASSERT_EQ(0, churn(self->p, self->spare, 200));
	EXPECT_EQ(0, wait_runs(self->p, self->base.gc_runs, 30000, &st)) {
		TH_LOG("no collection after 500 operations at threshold 1000, then 200 at 100");
	}
}

/*
 * Automatic collections after every link operation while a live ring is
 * built (each member linked in, then its handle put): none is freed.
 */
TEST_F_TIMEOUT(gc_auto, collections_during_building_keep_it_whole, 300)
{
	rp_handle_t first, prev, next;
	unsigned int n;
	struct rp_stats st;

	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "1"));
	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 0, &first));
	prev = first;
	/* Build until a few collections ran meanwhile: n objects so far. */
	for (n = 1; n < rpt_scaled(BUILD_MAX, 500); n++) {
		ASSERT_EQ(0, rpm_create(self->p, SZ, 1, n, &next));
		ASSERT_EQ(0, rp_link(self->p, prev, 0, next));
		if (prev != first)
			ASSERT_EQ(0, rp_put(self->p, prev));
		prev = next;
		if (n % 16 == 0) {
			GET_STATS(self->p, &st);
			if (n >= 300 && st.gc_runs >= self->base.gc_runs + 5) {
				n++;
				break;
			}
		}
	}
	ASSERT_EQ(0, rp_link(self->p, prev, 0, first));
	ASSERT_EQ(0, rp_put(self->p, prev));
	EXPECT_EQ(0, wait_runs(self->p, self->base.gc_runs, 30000, &st));
	TH_LOG("%llu collections while building %u", (unsigned long long)
	       (st.gc_runs - self->base.gc_runs), n);
	EXPECT_EQ(self->base.gc_collected, st.gc_collected);
	EXPECT_EQ(self->base.objects + n, st.objects);
	EXPECT_EQ(0, rpm_walk_ring(self->p, first, n, SZ, 0));

	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "0"));
	ASSERT_EQ(0, rp_put(self->p, first));
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.gc_collected + n, st.gc_collected);
}

/*
 * A cycle of old objects - survivors of collections - dropped at once,
 * with no link operation after it: automatic collection frees it within
 * gc_full_interval seconds without any call (SPEC: old generation
 * included). A young collection never scans the old generation, and with
 * no link operations none would run at all.
 */
TEST_F_TIMEOUT(gc_auto, old_garbage_is_freed_within_gc_full_interval, 120)
{
	rp_handle_t h[8];
	struct rp_stats st;
	unsigned int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, rpm_create(self->p, SZ, 1, i, &h[i]));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, rp_link(self->p, h[i], 0, h[(i + 1) % 8]));
	/* Two collections: the ring is old now. */
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	GET_STATS(self->p, &self->base);
	ASSERT_EQ(0, rpt_param_set("gc_full_interval", "1"));
	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "700"));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, rp_put(self->p, h[i]));
	EXPECT_EQ(0, rpt_wait_pool(self->p, &self->base, -8, -8 * SZ, 20000,
				   &st));
	EXPECT_EQ(0, wait_collected(self->p, self->base.gc_collected + 8,
				    5000, &st));
	EXPECT_EQ(self->base.gc_collected + 8, st.gc_collected);
}

/*
 * Garbage made while automatic collection is off (gc_threshold 0) starts
 * no timer; turned back on, the time bound starts then: it is freed within
 * gc_full_interval seconds without any call.
 */
TEST_F_TIMEOUT(gc_auto, garbage_made_while_off_is_freed_once_turned_on, 120)
{
	rp_handle_t h;
	struct rp_stats st;

	ASSERT_EQ(0, rpt_param_set("gc_full_interval", "1"));
	ASSERT_EQ(0, rpm_create(self->p, SZ, 1, 1, &h));
	ASSERT_EQ(0, rp_link(self->p, h, 0, h));
	ASSERT_EQ(0, rp_put(self->p, h));
	GET_STATS(self->p, &st);
	ASSERT_EQ(self->base.objects + 1, st.objects);
	ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "700"));
	EXPECT_EQ(0, rpt_wait_pool(self->p, &self->base, 0, 0, 20000, &st));
	EXPECT_EQ(0, wait_collected(self->p, self->base.gc_collected + 1,
				    5000, &st));
	EXPECT_EQ(self->base.gc_collected + 1, st.gc_collected);
}

TEST_HARNESS_MAIN
