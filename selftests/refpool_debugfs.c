// SPDX-License-Identifier: GPL-2.0
/*
 * refpool debugfs, read while the pool changes under it: the handles view
 * walks one referenced session at a time, so sessions closing meanwhile
 * are neither read after they are freed (KASAN would say) nor kept from
 * closing; the objects view reads each object under a reference. Run
 * under KASAN to mean much; the test itself checks that the views stay
 * well formed and that the readers and writers all finish.
 *
 * Needs root (debugfs).
 */
#include "refpool_test.h"

#include <pthread.h>

#define DEBUGFS		"/sys/kernel/debug/refpool/"
#define ROUNDS		200

FIXTURE(debugfs) {
	struct rp_pool *p;
};

FIXTURE_SETUP(debugfs)
{
	if (geteuid() != 0)
		SETUP_SKIP("needs root for debugfs");
	RPT_OPEN_OR_SKIP(&self->p);
	if (access(DEBUGFS "handles", R_OK))
		SETUP_SKIP("no %s", DEBUGFS);
}

FIXTURE_TEARDOWN(debugfs)
{
	if (self->p)
		rp_close(self->p);
}

struct churn {
	volatile int stop;
	int rounds;
	int bad_lines;
};

/* Open sessions with handles and close them, again and again. */
static void *churn_sessions(void *arg)
{
	struct churn *c = arg;
	struct rp_pool *q;
	rp_handle_t h, d;
	int i, j;

	for (i = 0; i < ROUNDS && !c->stop; i++) {
		if (rp_open(&q))
			break;
		for (j = 0; j < 16; j++)
			if (!rp_create(q, 8, 1, 0, &h) && !rp_dup(q, h, &d))
				rp_link(q, h, 0, d);
		rp_close(q);
		c->rounds++;
	}
	return NULL;
}

/* Read a view whole; count lines that are not @fields numbers/words. */
static int read_view(const char *name, int fields)
{
	char line[512];
	int bad = 0, n;
	FILE *f = fopen(name, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *save, *tok = strtok_r(line, " \n", &save);

		for (n = 0; tok; tok = strtok_r(NULL, " \n", &save))
			n++;
		bad += n != fields;
	}
	fclose(f);
	return bad;
}

TEST_F(debugfs, handles_read_while_sessions_close)
{
	struct churn c = { 0 };
	pthread_t t[2];
	int i, bad;

	ASSERT_EQ(0, pthread_create(&t[0], NULL, churn_sessions, &c));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, churn_sessions, &c));
	for (i = 0; i < ROUNDS; i++) {
		bad = read_view(DEBUGFS "handles", 4);
		ASSERT_LE(0, bad);
		EXPECT_EQ(0, bad);
		if (c.rounds >= 2 * ROUNDS)
			break;
	}
	c.stop = 1;
	ASSERT_EQ(0, pthread_join(t[0], NULL));
	ASSERT_EQ(0, pthread_join(t[1], NULL));
	EXPECT_LT(0, c.rounds);
}

TEST_F(debugfs, objects_read_while_objects_die)
{
	struct churn c = { 0 };
	pthread_t t;
	int i, bad;

	ASSERT_EQ(0, pthread_create(&t, NULL, churn_sessions, &c));
	for (i = 0; i < ROUNDS; i++) {
		bad = read_view(DEBUGFS "objects", 6);
		ASSERT_LE(0, bad);
		EXPECT_EQ(0, bad);
	}
	c.stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
}

#define PAGED_OBJECTS	600

/* Make @n objects of 8 bytes, their handles in @h[] and ids in @ids[]. */
static int make_objects(struct rp_pool *p, rp_handle_t *h, uint64_t *ids, int n)
{
	struct rp_info info;
	int i;

	for (i = 0; i < n; i++) {
		if (rp_create(p, 8, 0, 0, &h[i]) || rp_info(p, h[i], &info))
			return -1;
		ids[i] = info.id;
	}
	return 0;
}

/* A reader of the objects view, a few bytes a read(). */
struct view_reader {
	int fd;
	int lines;	/* whole lines read, the header's included */
	int last;	/* the highest index in ids[] listed so far, or -1 */
	size_t have;	/* bytes of a line not yet whole */
	char buf[8192];
};

/*
 * One read() of up to @chunk bytes: count in @seen[] each of @ids[] that
 * the lines it completes list. Return read()'s value.
 */
static ssize_t read_some(struct view_reader *r, size_t chunk,
			 const uint64_t *ids, int n, int *seen)
{
	char *line, *nl;
	ssize_t got;
	int i;

	if (chunk > sizeof(r->buf) - r->have - 1)
		chunk = sizeof(r->buf) - r->have - 1;
	got = read(r->fd, r->buf + r->have, chunk);
	if (got <= 0)
		return got;
	r->have += got;
	r->buf[r->have] = 0;
	for (line = r->buf; (nl = strchr(line, '\n')); line = nl + 1) {
		unsigned long long id;

		*nl = 0;
		r->lines++;
		if (sscanf(line, "%llu", &id) != 1)
			continue;	/* the header */
		for (i = 0; i < n; i++) {
			if (ids[i] != id)
				continue;
			seen[i]++;
			r->last = i > r->last ? i : r->last;
		}
	}
	r->have -= line - r->buf;
	memmove(r->buf, line, r->have);
	return got;
}

/* Count in @seen[] each of @ids[] the objects view lists, reading @chunk bytes a read(). */
static int count_listed(int fd, const uint64_t *ids, int n, int *seen, size_t chunk)
{
	static struct view_reader r;
	ssize_t got;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	r.last = -1;
	memset(seen, 0, n * sizeof(*seen));
	while ((got = read_some(&r, chunk, ids, n, seen)) > 0)
		;
	return got < 0 ? -1 : r.lines;
}

/* How many of @seen[n] are exactly 1. */
static int listed_once(const int *seen, int n)
{
	int i, once = 0;

	for (i = 0; i < n; i++)
		once += seen[i] == 1;
	return once;
}

/*
 * The view pages through the objects in reads much smaller than a
 * seq_file buffer: each read stops at an object and the next one starts
 * there, so a still heap is listed whole, each object once; a seek back
 * to 0 starts the walk over.
 */
TEST_F(debugfs, objects_read_in_small_pieces_lists_each_object_once)
{
	static uint64_t ids[PAGED_OBJECTS];
	static int seen[PAGED_OBJECTS];
	rp_handle_t h[PAGED_OBJECTS];
	int i, fd;

	ASSERT_EQ(0, make_objects(self->p, h, ids, PAGED_OBJECTS));
	fd = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_LT(PAGED_OBJECTS, count_listed(fd, ids, PAGED_OBJECTS, seen, 7));
	EXPECT_EQ(PAGED_OBJECTS, listed_once(seen, PAGED_OBJECTS));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	EXPECT_LT(PAGED_OBJECTS, count_listed(fd, ids, PAGED_OBJECTS, seen, 4096));
	EXPECT_EQ(PAGED_OBJECTS, listed_once(seen, PAGED_OBJECTS));
	close(fd);
	for (i = 0; i < PAGED_OBJECTS; i++)
		ASSERT_EQ(0, rp_put(self->p, h[i]));
}

/*
 * Objects go while a reader pages through the view, around its place: the
 * one it stopped at, those just before and just after (every third
 * object, up to one past the last listed). Those left are each listed
 * once, and no object twice.
 */
TEST_F(debugfs, objects_listed_once_while_others_die_around_the_walk)
{
	static uint64_t ids[PAGED_OBJECTS];
	static int seen[PAGED_OBJECTS];
	static bool gone[PAGED_OBJECTS];
	static struct view_reader r = { .last = -1 };
	rp_handle_t h[PAGED_OBJECTS];
	int i, kept_once = 0, twice = 0;
	ssize_t got;

	ASSERT_EQ(0, make_objects(self->p, h, ids, PAGED_OBJECTS));
	r.fd = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, r.fd);
	while ((got = read_some(&r, 16, ids, PAGED_OBJECTS, seen)) > 0) {
		for (i = 0; i < PAGED_OBJECTS && i <= r.last + 3; i += 3)
			if (!gone[i]) {
				ASSERT_EQ(0, rp_put(self->p, h[i]));
				gone[i] = true;
			}
	}
	ASSERT_EQ(0, got);
	close(r.fd);
	for (i = 0; i < PAGED_OBJECTS; i++) {
		twice += seen[i] > 1;
		kept_once += !gone[i] && seen[i] == 1;
		if (!gone[i])
			ASSERT_EQ(0, rp_put(self->p, h[i]));
	}
	EXPECT_EQ(0, twice);
	EXPECT_EQ(PAGED_OBJECTS - PAGED_OBJECTS / 3, kept_once);
}

/*
 * Two readers paging through the view in turns, each a few bytes a read:
 * each walk steps over the other's place in the lists, so both list each
 * object once.
 */
TEST_F(debugfs, two_readers_in_turns_list_each_object_once)
{
	static uint64_t ids[PAGED_OBJECTS];
	static int seen[2][PAGED_OBJECTS];
	static struct view_reader r[2] = { { .last = -1 }, { .last = -1 } };
	rp_handle_t h[PAGED_OBJECTS];
	bool done[2] = { false, false };
	ssize_t got;
	int i, k;

	ASSERT_EQ(0, make_objects(self->p, h, ids, PAGED_OBJECTS));
	for (k = 0; k < 2; k++) {
		r[k].fd = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, r[k].fd);
	}
	while (!done[0] || !done[1]) {
		for (k = 0; k < 2; k++) {
			if (done[k])
				continue;
			got = read_some(&r[k], 5, ids, PAGED_OBJECTS, seen[k]);
			ASSERT_LE(0, got);
			done[k] = !got;
		}
	}
	for (k = 0; k < 2; k++) {
		close(r[k].fd);
		EXPECT_EQ(PAGED_OBJECTS, listed_once(seen[k], PAGED_OBJECTS));
	}
	for (i = 0; i < PAGED_OBJECTS; i++)
		ASSERT_EQ(0, rp_put(self->p, h[i]));
}

struct other_user {
	uint64_t id;		/* its object's, once made */
	int release[2];		/* a pipe: it holds the object until EOF */
};

/* As another user: make an object, say its id, hold it until released. */
static int hold_an_object(void *arg)
{
	struct other_user *o = arg;
	struct rp_pool *q;
	struct rp_info info;
	rp_handle_t h;
	char c;

	close(o->release[1]);
	if (rp_open(&q) || rp_create(q, 8, 0, 0, &h) || rp_info(q, h, &info))
		return 1;
	__atomic_store_n(&o->id, info.id, __ATOMIC_RELEASE);
	while (read(o->release[0], &c, 1) > 0)
		;
	rp_close(q);
	return 0;
}

/* The view lists every user's objects, not only its reader's. */
TEST_F(debugfs, objects_lists_the_objects_of_every_user)
{
	struct other_user *o = rpt_shared(sizeof(*o));
	uint64_t ids[2];
	int seen[2], fd, i;
	rp_handle_t h;
	pid_t pid;

	ASSERT_NE(NULL, o);
	ASSERT_EQ(0, pipe(o->release));
	pid = rpt_spawn_as(RPT_UID_A, hold_an_object, o);
	ASSERT_LT(0, pid);
	close(o->release[0]);
	for (i = 0; i < 5000 && !__atomic_load_n(&o->id, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	ASSERT_NE(0, o->id);
	ASSERT_EQ(0, make_objects(self->p, &h, &ids[0], 1));
	ids[1] = o->id;
	fd = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_LT(2, count_listed(fd, ids, 2, seen, 4096));
	close(fd);
	EXPECT_EQ(1, seen[0]);
	EXPECT_EQ(1, seen[1]);
	close(o->release[1]);
	EXPECT_EQ(0, rpt_wait(pid));
	ASSERT_EQ(0, rp_put(self->p, h));
	munmap(o, sizeof(*o));
}

TEST_F(debugfs, summary_names_the_stats_fields)
{
	static const char *const want[] = {
		"objects", "bytes", "interned", "gc_runs", "max_user_bytes",
		"max_user_objects", "sessions",
	};
	char line[256], name[64];
	unsigned long long v;
	unsigned int i, found = 0;
	FILE *f = fopen(DEBUGFS "summary", "re");

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		ASSERT_EQ(2, sscanf(line, "%63s %llu", name, &v));
		for (i = 0; i < ARRAY_SIZE(want); i++)
			found += !strcmp(name, want[i]);
	}
	fclose(f);
	EXPECT_EQ(ARRAY_SIZE(want), found);
}

TEST_HARNESS_MAIN
