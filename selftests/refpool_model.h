/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the kselftests of refpool's memory model: interning,
 * links and the cycle collector (refpool_intern.c, refpool_links.c,
 * refpool_gc.c, refpool_gc_stress.c).
 *
 * Include after refpool_test.h. Names start with rpm_ so that they never
 * collide with the shared helpers there.
 */
#ifndef REFPOOL_MODEL_H
#define REFPOOL_MODEL_H

#include "refpool_test.h"

#include <sys/mman.h>
#include <time.h>

#define RPM_GC_THRESHOLD	"gc_threshold"

/* rp_info().id of @h, or 0 (ids start at 1). */
static inline uint64_t rpm_id(struct rp_pool *p, rp_handle_t h)
{
	struct rp_info info;

	return rp_info(p, h, &info) ? 0 : info.id;
}

/* rp_info().refs of @h, or a negative errno. */
static inline int64_t rpm_refs(struct rp_pool *p, rp_handle_t h)
{
	struct rp_info info;
	int ret = rp_info(p, h, &info);

	return ret ? ret : (int64_t)info.refs;
}

/*
 * A value no other test, run or process has interned: @len bytes of
 * pattern, preceded (when there is room) by a 16-byte nonce made of the
 * pid, the time and a counter. rpm_unique(buf, len) gives a new value at
 * every call; equal calls of rpm_value() with the same @nonce give equal
 * bytes.
 */
struct rpm_nonce {
	uint64_t a, b;
};

static inline struct rpm_nonce rpm_new_nonce(void)
{
	static uint64_t counter;
	struct rpm_nonce n;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n.a = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec;
	n.b = ((uint64_t)ts.tv_sec << 20) ^ ++counter ^ 0x5a5a000000000000ULL;
	return n;
}

static inline void rpm_value(void *buf, size_t len, struct rpm_nonce n)
{
	rpt_fill(buf, len, (unsigned int)(n.a ^ n.b));
	memcpy(buf, &n, len < sizeof(n) ? len : sizeof(n));
}

static inline void rpm_unique(void *buf, size_t len)
{
	rpm_value(buf, len, rpm_new_nonce());
}

/* Pool-wide model counters: none moved (besides EXPECT_POOL_UNCHANGED). */
#define EXPECT_MODEL_UNCHANGED(p, before) do { \
	struct rp_stats __rpm_now; \
	ASSERT_EQ(0, rp_stats((p), &__rpm_now)); \
	EXPECT_EQ((before)->objects, __rpm_now.objects); \
	EXPECT_EQ((before)->bytes, __rpm_now.bytes); \
	EXPECT_EQ((before)->session_handles, __rpm_now.session_handles); \
	EXPECT_EQ((before)->user_bytes, __rpm_now.user_bytes); \
	EXPECT_EQ((before)->interned, __rpm_now.interned); \
	EXPECT_EQ((before)->intern_hits, __rpm_now.intern_hits); \
	EXPECT_EQ((before)->intern_bytes_saved, __rpm_now.intern_bytes_saved); \
} while (0)

/* Read all of @h (up to @len bytes) and compare with @want. */
static inline int rpm_bytes_equal(struct rp_pool *p, rp_handle_t h,
				  const void *want, uint64_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	int64_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	n = rp_read(p, h, 0, buf, len);
	if (n < 0)
		ret = (int)n;
	else
		ret = (uint64_t)n == len && !memcmp(buf, want, len) ? 0 : -EIO;
	free(buf);
	return ret;
}

/* Whether @h still holds pattern @seed over its @len bytes. */
static inline int rpm_check_pattern(struct rp_pool *p, rp_handle_t h,
				    uint64_t len, unsigned int seed)
{
	unsigned char buf[4096];

	if (len > sizeof(buf))
		return -E2BIG;
	if (rp_read(p, h, 0, buf, len) != (int64_t)len)
		return -EIO;
	return rpt_mismatch(buf, len, seed) < 0 ? 0 : -EILSEQ;
}

/* The id of the child in @parent's @slot, or 0 (empty slot or error). */
static inline uint64_t rpm_link_id(struct rp_pool *p, rp_handle_t parent,
				   uint32_t slot)
{
	rp_handle_t c;
	uint64_t id;

	if (rp_get_link(p, parent, slot, &c))
		return 0;
	id = rpm_id(p, c);
	rp_put(p, c);
	return id;
}

/*
 * Create an object of @size bytes filled with pattern @seed and with
 * @nslots slots (rpt_create_pattern() makes none).
 */
static inline int rpm_create(struct rp_pool *p, uint64_t size, uint32_t nslots,
			     unsigned int seed, rp_handle_t *out)
{
	unsigned char *buf;
	int ret;

	ret = rp_create(p, size, nslots, 0, out);
	if (ret || !size)
		return ret;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	rpt_fill(buf, size, seed);
	ret = rp_write(p, *out, 0, buf, size) == (int64_t)size ? 0 : -EIO;
	free(buf);
	return ret;
}

/*
 * Build a ring of @n objects of @size bytes (pattern @seed + i) and
 * @nslots >= 1 slots, slot 0 of each linked to the next. Their handles go
 * to @h (n of them); return 0 or the first error.
 */
static inline int rpm_ring(struct rp_pool *p, unsigned int n, uint64_t size,
			   uint32_t nslots, unsigned int seed, rp_handle_t *h)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = rpm_create(p, size, nslots, seed + i, &h[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = rp_link(p, h[i], 0, h[(i + 1) % n]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Follow slot 0 from @start @n times: object k on the way must hold
 * pattern @seed + k over @size bytes, and the walk must end where it
 * began (a ring of @n made by rpm_ring() from its first object).
 * Return 0, or the step that was wrong plus one.
 */
static inline int rpm_walk_ring(struct rp_pool *p, rp_handle_t start,
				unsigned int n, uint64_t size, unsigned int seed)
{
	uint64_t first = rpm_id(p, start);
	rp_handle_t cur, next;
	unsigned int k;

	if (rp_dup(p, start, &cur))
		return 1;
	for (k = 0; k < n; k++) {
		if (rpm_check_pattern(p, cur, size, seed + k) ||
		    rp_get_link(p, cur, 0, &next)) {
			rp_put(p, cur);
			return k + 1;
		}
		rp_put(p, cur);
		cur = next;
	}
	k = rpm_id(p, cur) == first ? 0 : n + 1;
	rp_put(p, cur);
	return k;
}

/* Put every handle of @h; return the first error. */
static inline int rpm_put_all(struct rp_pool *p, rp_handle_t *h,
			      unsigned int n)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		int r = rp_put(p, h[i]);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

/*
 * gc_threshold: saved when the program starts, restored when it ends (in
 * the harness's process) and by the fixtures' teardowns.
 */
static char rpm_saved_threshold[64];
static bool rpm_have_threshold;

static void __attribute__((constructor)) rpm_save_threshold(void)
{
	rpm_have_threshold = !rpt_param_get(RPM_GC_THRESHOLD,
					    rpm_saved_threshold,
					    sizeof(rpm_saved_threshold));
}

static inline int rpm_restore_threshold(void)
{
	return rpm_have_threshold ?
	       rpt_param_set(RPM_GC_THRESHOLD, rpm_saved_threshold) : 0;
}

static void __attribute__((destructor)) rpm_restore_threshold_at_exit(void)
{
	rpm_restore_threshold();
}

/* Whether this process may change gc_threshold. */
static inline bool rpm_can_set_threshold(void)
{
	char path[256];

	snprintf(path, sizeof(path), RPT_PARAM_DIR "/" RPM_GC_THRESHOLD);
	return rpm_have_threshold && geteuid() == 0 && !access(path, W_OK);
}

/* Shared anonymous memory for counters between a test and its children. */
static inline void *rpm_shared(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	memset(m, 0, len);
	return m;
}

#endif /* REFPOOL_MODEL_H */
