// SPDX-License-Identifier: GPL-2.0
/*
 * The cycle collector under load, from several processes at once:
 *
 *  - writers churn cyclic garbage: rings of random length, slots, payload
 *    sizes, chords, plain and interned leaves, a published token for one
 *    member; and acyclic chains that die by counting alone;
 *  - collectors call rp_gc() back to back (and automatic collections run
 *    too when gc_threshold may be lowered);
 *  - a looker looks the writers' tokens up: a member is either gone
 *    (-ENOENT) or whole, bytes and ring neighbour, and looking it up makes
 *    it reachable again until the looker lets go;
 *  - a checker keeps a live ring of 1000 objects with chords and 1000
 *    self-linked pendants it keeps swapping between ring members (so that
 *    for a moment a pendant is held by a handle only), and verifies every
 *    byte and link after every pass.
 *
 * At the end everyone lets go; after one more rp_gc() the pool's counters
 * are back to the baseline, and gc_collected grew by exactly the cyclic
 * garbage made - each object freed by a collection once, none reachable.
 *
 * REFPOOL_STRESS_SECS sets how long the load runs (default 50 seconds);
 * REFPOOL_SEED replays a run.
 */
#include "refpool_model.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

#define NWRITERS	3
#define NCOLLECTORS	2
#define NTOKENS		64
#define NVALUES		16	/* interned values the writers share */
#define RING		1000	/* the checker's live ring */
#define RING_SZ		32
#define PEND_SZ		16
#define RING_SEED	100000
#define PEND_SEED	200000
#define WRITER_PAUSE_US	5000
#define LOOKER_PAUSE_US	500

struct tok_entry {
	atomic_uint seq;	/* odd while written */
	rp_token_t tok;
	unsigned int base;	/* member k of the ring: pattern base + k */
	unsigned int idx;
	unsigned int len;
	unsigned int size;
};

struct shared {
	atomic_int stop;
	atomic_int errors;
	char msg[512];		/* the first error */
	struct rpm_nonce values;	/* the interned values' nonce */
	struct {
		atomic_ulong rings, ring_objs, leaves, interned_created;
		atomic_ulong chains, tokens;
	} w[NWRITERS];
	struct {
		atomic_ulong runs, collected;
	} g[NCOLLECTORS];
	atomic_ulong rounds, swaps, checked;
	atomic_ulong lookups, found, gone;
	struct tok_entry toks[NTOKENS];
};

static void fail(struct shared *sh, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&sh->errors, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
	va_end(ap);
}

/* The load goes on until the test says stop, or is gone itself. */
static pid_t test_pid;

static bool running(struct shared *sh)
{
	return !atomic_load(&sh->stop) && getppid() == test_pid;
}

#define CHECK(sh, cond, ...) do { \
	if (!(cond)) { \
		fail((sh), __VA_ARGS__); \
		goto out; \
	} \
} while (0)

/* ---- Writers ---- */

static void interned_value(struct shared *sh, unsigned int k,
			   unsigned char *buf, size_t len)
{
	struct rpm_nonce n = sh->values;

	n.b ^= (uint64_t)k << 40;
	rpm_value(buf, len, n);
}

static void publish(struct shared *sh, struct rp_pool *p, rp_handle_t h,
		    unsigned int slot, unsigned int base, unsigned int idx,
		    unsigned int len, unsigned int size)
{
	struct tok_entry *e = &sh->toks[slot % NTOKENS];
	rp_token_t tok;

	if (rp_publish(p, h, &tok)) {
		fail(sh, "rp_publish of a ring member failed");
		return;
	}
	atomic_fetch_add(&e->seq, 1);
	e->tok = tok;
	e->base = base;
	e->idx = idx;
	e->len = len;
	e->size = size;
	atomic_fetch_add(&e->seq, 1);
}

static int writer(struct shared *sh, unsigned int w, uint64_t seed)
{
	unsigned int held_base = 0, held_len = 0, held_size = 0;
	struct rp_pool *p;
	struct rpt_rng rng;
	unsigned int round = 0;
	rp_handle_t h[20], x;
	int held_fd = -1;
	int ret;

	rpt_rng_init(&rng, seed + w);
	if (rp_open(&p)) {
		fail(sh, "writer %u: rp_open failed", w);
		return 1;
	}
	while (running(sh)) {
		unsigned int len = 1 + rpt_rand_below(&rng, 20);
		unsigned int nslots = 1 + rpt_rand_below(&rng, 4);
		unsigned int size = rpt_rand_below(&rng, 301);
		unsigned int base = (w << 26) + (round++ << 5);
		unsigned int i, s, objs = len, leaves = 0, created = 0;

		CHECK(sh, !rpm_ring(p, len, size, nslots, base, h),
		      "writer %u: building a ring of %u failed", w, len);
		/* Each extra slot gets at most one link, never replaced. */
		for (i = 0; i < len; i++) {
			for (s = 1; s < nslots; s++) {
				unsigned int kind = rpt_rand_below(&rng, 4);

				if (kind == 1) {
					ret = rp_link(p, h[i], s,
						      h[rpt_rand_below(&rng, len)]);
				} else if (kind == 2) {
					ret = rpm_create(p, 8 + rpt_rand_below(&rng, 57),
							 0, base + 31, &x);
					if (!ret)
						ret = rp_link(p, h[i], s, x);
					if (!ret)
						ret = rp_put(p, x);
					leaves++;
				} else if (kind == 3) {
					unsigned char val[40];

					interned_value(sh, rpt_rand_below(&rng, NVALUES),
						       val, sizeof(val));
					ret = rp_intern(p, val, sizeof(val), &x);
					if (ret == 0)
						created++;
					if (ret >= 0)
						ret = rp_link(p, h[i], s, x);
					if (!ret)
						ret = rp_put(p, x);
				} else {
					ret = 0;
				}
				CHECK(sh, !ret, "writer %u: slot %u kind %u: %d",
				      w, s, kind, ret);
			}
		}
		i = rpt_rand_below(&rng, len);
		publish(sh, p, h[i], w * 1000 + round, base, i, len, size);

		/*
		 * The ring kept since the last round by an exported file of
		 * its first member only: it must be whole. Then let it go.
		 */
		if (held_fd >= 0) {
			ret = rp_import(p, held_fd, &x);
			CHECK(sh, !ret, "writer %u: import: %d", w, ret);
			ret = rpm_walk_ring(p, x, held_len, held_size, held_base);
			CHECK(sh, !ret, "writer %u: ring %#x held by a file only: wrong at step %d of %u",
			      w, held_base, ret, held_len);
			CHECK(sh, !rp_put(p, x) && !close(held_fd),
			      "writer %u: put", w);
			held_fd = -1;
		}
		if (!rpt_rand_below(&rng, 3)) {
			ret = rp_export(p, h[0], &held_fd);
			CHECK(sh, !ret, "writer %u: export: %d", w, ret);
			held_base = base;
			held_len = len;
			held_size = size;
		}
		CHECK(sh, !rpm_put_all(p, h, len), "writer %u: put failed", w);
		atomic_fetch_add(&sh->w[w].rings, 1);
		atomic_fetch_add(&sh->w[w].ring_objs, objs);
		atomic_fetch_add(&sh->w[w].leaves, leaves);
		atomic_fetch_add(&sh->w[w].interned_created, created);
		atomic_fetch_add(&sh->w[w].tokens, 1);

		/* An acyclic chain, dropped from the head: counting frees it. */
		len = 1 + rpt_rand_below(&rng, 10);
		CHECK(sh, !rp_create(p, 16, 1, 0, &h[0]), "writer %u: create", w);
		for (i = 1; i < len; i++) {
			CHECK(sh, !rp_create(p, 16, 1, 0, &h[i]) &&
			      !rp_link(p, h[i - 1], 0, h[i]),
			      "writer %u: chain", w);
		}
		CHECK(sh, !rpm_put_all(p, h + 1, len - 1) && !rp_put(p, h[0]),
		      "writer %u: chain put", w);
		atomic_fetch_add(&sh->w[w].chains, 1);
		/*
		 * Let the collectors keep up: many short collections race
		 * the checker more often than a few long ones.
		 */
		rpt_sleep_us(WRITER_PAUSE_US);
	}
out:
	if (held_fd >= 0)
		close(held_fd);
	rp_close(p);
	return 0;
}

/* ---- Collectors ---- */

static int collector(struct shared *sh, unsigned int g)
{
	struct rp_pool *p;
	uint64_t n;
	int ret;

	if (rp_open(&p)) {
		fail(sh, "collector %u: rp_open failed", g);
		return 1;
	}
	while (running(sh)) {
		ret = rp_gc(p, &n);
		if (ret) {
			fail(sh, "collector %u: rp_gc: %d", g, ret);
			break;
		}
		atomic_fetch_add(&sh->g[g].runs, 1);
		atomic_fetch_add(&sh->g[g].collected, n);
	}
	rp_close(p);
	return 0;
}

/* ---- The looker: tokens of garbage ---- */

static int looker(struct shared *sh, uint64_t seed)
{
	struct rp_pool *p;
	struct rpt_rng rng;
	int ret;

	rpt_rng_init(&rng, seed ^ 0x10c4e7);
	if (rp_open(&p)) {
		fail(sh, "looker: rp_open failed");
		return 1;
	}
	while (running(sh)) {
		struct tok_entry *e = &sh->toks[rpt_rand_below(&rng, NTOKENS)];
		struct tok_entry copy;
		unsigned int s1, s2;
		rp_handle_t m, nb;

		rpt_sleep_us(LOOKER_PAUSE_US);

		s1 = atomic_load(&e->seq);
		if (!s1 || s1 % 2)
			continue;
		memcpy((void *)&copy.tok, (const void *)&e->tok,
		       sizeof(copy) - offsetof(struct tok_entry, tok));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load(&e->seq);
		if (s1 != s2)
			continue;

		atomic_fetch_add(&sh->lookups, 1);
		ret = rp_lookup(p, &copy.tok, &m);
		if (ret == -ENOENT) {
			atomic_fetch_add(&sh->gone, 1);
			continue;
		}
		CHECK(sh, !ret, "looker: rp_lookup: %d", ret);
		atomic_fetch_add(&sh->found, 1);
		/* Alive, so whole: its bytes and its ring neighbour's. */
		ret = rpm_check_pattern(p, m, copy.size, copy.base + copy.idx);
		CHECK(sh, !ret, "looker: member %u of ring %#x: bytes %d",
		      copy.idx, copy.base, ret);
		ret = rp_get_link(p, m, 0, &nb);
		CHECK(sh, !ret, "looker: member %u of ring %#x: slot 0: %d",
		      copy.idx, copy.base, ret);
		ret = rpm_check_pattern(p, nb, copy.size,
					copy.base + (copy.idx + 1) % copy.len);
		CHECK(sh, !ret, "looker: neighbour of member %u of ring %#x: %d",
		      copy.idx, copy.base, ret);
		CHECK(sh, !rp_put(p, nb) && !rp_put(p, m), "looker: put");
	}
out:
	rp_close(p);
	return 0;
}

/* ---- The checker: a live structure ---- */

struct live {
	struct rp_pool *p;
	rp_handle_t root;
	uint64_t rid[RING], pid[RING];
	unsigned int perm[RING];	/* the pendant at ring member i */
};

static int live_build(struct shared *sh, struct live *l)
{
	static rp_handle_t r[RING], pd[RING];
	unsigned int i;

	for (i = 0; i < RING; i++) {
		if (rpm_create(l->p, RING_SZ, 3, RING_SEED + i, &r[i]) ||
		    rpm_create(l->p, PEND_SZ, 1, PEND_SEED + i, &pd[i]) ||
		    rp_link(l->p, pd[i], 0, pd[i])) {
			fail(sh, "checker: building object %u failed", i);
			return -1;
		}
		l->rid[i] = rpm_id(l->p, r[i]);
		l->pid[i] = rpm_id(l->p, pd[i]);
		l->perm[i] = i;
	}
	for (i = 0; i < RING; i++) {
		if (rp_link(l->p, r[i], 0, r[(i + 1) % RING]) ||
		    rp_link(l->p, r[i], 1, r[(i * 7 + 3) % RING]) ||
		    rp_link(l->p, r[i], 2, pd[i])) {
			fail(sh, "checker: linking object %u failed", i);
			return -1;
		}
	}
	l->root = r[0];
	if (rpm_put_all(l->p, r + 1, RING - 1) || rpm_put_all(l->p, pd, RING)) {
		fail(sh, "checker: put failed");
		return -1;
	}
	return 0;
}

/* Member i, whole? Its pendant, and its pendant's own link? */
static int live_check_one(struct shared *sh, struct live *l, rp_handle_t cur,
			  unsigned int i)
{
	unsigned int j = l->perm[i];
	rp_handle_t pd;
	int ret = -1;

	if (rpm_id(l->p, cur) != l->rid[i]) {
		fail(sh, "checker: member %u has id %llu, not %llu", i,
		     (unsigned long long)rpm_id(l->p, cur),
		     (unsigned long long)l->rid[i]);
		return -1;
	}
	if (rpm_check_pattern(l->p, cur, RING_SZ, RING_SEED + i)) {
		fail(sh, "checker: bytes of member %u changed", i);
		return -1;
	}
	if (rpm_link_id(l->p, cur, 1) != l->rid[(i * 7 + 3) % RING]) {
		fail(sh, "checker: chord of member %u changed", i);
		return -1;
	}
	if (rp_get_link(l->p, cur, 2, &pd)) {
		fail(sh, "checker: pendant of member %u missing", i);
		return -1;
	}
	if (rpm_id(l->p, pd) != l->pid[j])
		fail(sh, "checker: member %u holds pendant id %llu, not %llu",
		     i, (unsigned long long)rpm_id(l->p, pd),
		     (unsigned long long)l->pid[j]);
	else if (rpm_check_pattern(l->p, pd, PEND_SZ, PEND_SEED + j))
		fail(sh, "checker: bytes of pendant %u changed", j);
	else if (rpm_link_id(l->p, pd, 0) != l->pid[j])
		fail(sh, "checker: self-link of pendant %u changed", j);
	else
		ret = 0;
	rp_put(l->p, pd);
	return ret;
}

/* Swap the pendants of members a (handle ha) and b (handle hb). */
static int live_swap(struct shared *sh, struct live *l, rp_handle_t ha,
		     unsigned int a, rp_handle_t hb, unsigned int b)
{
	rp_handle_t pa, pb;
	unsigned int t;

	if (rp_get_link(l->p, ha, 2, &pa) || rp_get_link(l->p, hb, 2, &pb)) {
		fail(sh, "checker: swap %u %u: get_link", a, b);
		return -1;
	}
	/* For a moment pa is held by its handle and its own link only. */
	if (rp_link(l->p, ha, 2, pb) || rp_link(l->p, hb, 2, pa) ||
	    rp_put(l->p, pa) || rp_put(l->p, pb)) {
		fail(sh, "checker: swap %u %u: link", a, b);
		return -1;
	}
	t = l->perm[a];
	l->perm[a] = l->perm[b];
	l->perm[b] = t;
	return 0;
}

/* One pass round the ring: check each member, swapping some pendants. */
static int live_pass(struct shared *sh, struct live *l, struct rpt_rng *rng,
		     bool swap)
{
	rp_handle_t cur, next, held = 0;
	unsigned int i, hi = 0;
	int ret = -1;

	if (rp_dup(l->p, l->root, &cur)) {
		fail(sh, "checker: dup of the root");
		return -1;
	}
	for (i = 0; i < RING; i++) {
		if (live_check_one(sh, l, cur, i))
			goto out;
		atomic_fetch_add(&sh->checked, 1);
		if (swap && held && !rpt_rand_below(rng, 4)) {
			if (live_swap(sh, l, held, hi, cur, i))
				goto out;
			atomic_fetch_add(&sh->swaps, 1);
		}
		if (swap && (!held || !rpt_rand_below(rng, 16))) {
			if (held)
				rp_put(l->p, held);
			if (rp_dup(l->p, cur, &held)) {
				fail(sh, "checker: dup");
				held = 0;
				goto out;
			}
			hi = i;
		}
		if (rp_get_link(l->p, cur, 0, &next)) {
			fail(sh, "checker: ring broken after member %u", i);
			goto out;
		}
		rp_put(l->p, cur);
		cur = next;
	}
	if (rpm_id(l->p, cur) != l->rid[0])
		fail(sh, "checker: the ring does not close");
	else
		ret = 0;
out:
	if (held)
		rp_put(l->p, held);
	rp_put(l->p, cur);
	return ret;
}

static int checker(struct shared *sh, uint64_t seed, int ready)
{
	static struct live l;
	struct rpt_rng rng;

	rpt_rng_init(&rng, seed ^ 0xc4ec);
	if (rp_open(&l.p)) {
		fail(sh, "checker: rp_open failed");
		return 1;
	}
	if (!live_build(sh, &l)) {
		if (write(ready, "r", 1) != 1)
			fail(sh, "checker: pipe");
		while (running(sh) && !atomic_load(&sh->errors)) {
			if (live_pass(sh, &l, &rng, true))
				break;
			atomic_fetch_add(&sh->rounds, 1);
		}
		/* After the last collection under load: still whole. */
		if (!atomic_load(&sh->errors) && !live_pass(sh, &l, &rng, false))
			atomic_fetch_add(&sh->rounds, 1);
	}
	close(ready);
	rp_close(l.p);	/* the whole structure becomes garbage */
	return 0;
}

/* ---- The test ---- */

FIXTURE(stress) {
	struct rp_pool *p;
	struct rp_stats base;
	bool threshold_set;
};

FIXTURE_SETUP(stress)
{
	RPT_OPEN_OR_SKIP(&self->p);
	/* Automatic collections join in, often, when we may ask for it. */
	if (rpm_can_set_threshold()) {
		ASSERT_EQ(0, rpt_param_set(RPM_GC_THRESHOLD, "100"));
		self->threshold_set = true;
	}
	ASSERT_EQ(0, rp_gc(self->p, NULL));
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->threshold_set) {
		EXPECT_EQ(0, rpm_restore_threshold());
	}
	if (self->p)
		rp_close(self->p);
}

static unsigned int stress_secs(void)
{
	const char *env = getenv("REFPOOL_STRESS_SECS");
	unsigned int s = env && *env ? (unsigned int)strtoul(env, NULL, 0) : 0;

	return s ? s : 50;
}

TEST_F_TIMEOUT(stress, cyclic_garbage_churn_never_frees_live_objects, 280)
{
	unsigned int secs = stress_secs(), i, nchild = 0;
	uint64_t seed = rpt_seed(), expected = 0, manual_runs = 0;
	uint64_t manual_collected = 0, rings = 0, chains = 0;
	pid_t pids[NWRITERS + NCOLLECTORS + 2];
	struct shared *sh;
	struct rp_stats st;
	int ready[2], status;
	uint64_t n;
	char c;

	sh = rpm_shared(sizeof(*sh));
	ASSERT_NE(NULL, sh);
	sh->values = rpm_new_nonce();
	test_pid = getpid();
	ASSERT_EQ(0, pipe(ready));
	TH_LOG("seed %llu (REFPOOL_SEED replays), %u s of load",
	       (unsigned long long)seed, secs);

	/* The checker first: its structure is built before the load. */
	pids[nchild] = fork();
	ASSERT_LE(0, pids[nchild]);
	if (!pids[nchild]) {
		close(ready[0]);
		_exit(checker(sh, seed, ready[1]));
	}
	nchild++;
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1)) {
		TH_LOG("checker: %s", sh->msg);
	}
	close(ready[0]);

	for (i = 0; i < NWRITERS + NCOLLECTORS + 1; i++) {
		pids[nchild] = fork();
		ASSERT_LE(0, pids[nchild]);
		if (!pids[nchild]) {
			if (i < NWRITERS)
				_exit(writer(sh, i, seed));
			if (i < NWRITERS + NCOLLECTORS)
				_exit(collector(sh, i - NWRITERS));
			_exit(looker(sh, seed));
		}
		nchild++;
	}

	for (i = 0; i < secs * 10 && !atomic_load(&sh->errors); i++)
		rpt_sleep_us(100000);
	atomic_store(&sh->stop, 1);
	for (i = 0; i < nchild; i++) {
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
			TH_LOG("child %u: status %#x", i, status);
		}
	}
	EXPECT_EQ(0, atomic_load(&sh->errors)) {
		TH_LOG("%d errors; the first: %s", atomic_load(&sh->errors),
		       sh->msg);
	}

	/* Everyone let go: one more collection frees the rest. */
	ASSERT_EQ(0, rp_gc(self->p, &n));
	GET_STATS(self->p, &st);

	for (i = 0; i < NWRITERS; i++) {
		expected += atomic_load(&sh->w[i].ring_objs) +
			    atomic_load(&sh->w[i].leaves) +
			    atomic_load(&sh->w[i].interned_created);
		rings += atomic_load(&sh->w[i].rings);
		chains += atomic_load(&sh->w[i].chains);
	}
	expected += 2 * RING;	/* the checker's ring and pendants */
	for (i = 0; i < NCOLLECTORS; i++) {
		manual_runs += atomic_load(&sh->g[i].runs);
		manual_collected += atomic_load(&sh->g[i].collected);
	}
	TH_LOG("%llu collections (%llu by rp_gc under load), %llu objects collected",
	       (unsigned long long)(st.gc_runs - self->base.gc_runs),
	       (unsigned long long)manual_runs,
	       (unsigned long long)(st.gc_collected - self->base.gc_collected));
	TH_LOG("%.1f ms per collection on average",
	       st.gc_runs > self->base.gc_runs ?
	       (st.gc_time_ns - self->base.gc_time_ns) / 1e6 /
	       (st.gc_runs - self->base.gc_runs) : 0.0);
	TH_LOG("writers: %llu rings, %llu chains; checker: %lu passes, %lu members checked, %lu pendant swaps",
	       (unsigned long long)rings, (unsigned long long)chains,
	       atomic_load(&sh->rounds), atomic_load(&sh->checked),
	       atomic_load(&sh->swaps));
	TH_LOG("looker: %lu lookups, %lu found alive, %lu gone",
	       atomic_load(&sh->lookups), atomic_load(&sh->found),
	       atomic_load(&sh->gone));

	EXPECT_LE(2, atomic_load(&sh->rounds));
	EXPECT_LT(0, manual_runs);
	EXPECT_LT(0, rings);
	EXPECT_EQ(expected, st.gc_collected - self->base.gc_collected);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.bytes, st.bytes);
	EXPECT_EQ(self->base.interned, st.interned);
	EXPECT_EQ(self->base.user_bytes, st.user_bytes);
}

TEST_HARNESS_MAIN
