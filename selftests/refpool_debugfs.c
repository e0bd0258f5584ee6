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

/* Count in @seen[] each of @ids[] the objects view lists, reading @chunk bytes a read(). */
static int count_listed(int fd, const uint64_t *ids, int n, int *seen, size_t chunk)
{
	char buf[8192], *line, *nl;
	size_t have = 0;
	ssize_t got;
	int i, lines = 0;

	memset(seen, 0, n * sizeof(*seen));
	for (;;) {
		got = read(fd, buf + have, chunk < sizeof(buf) - have - 1 ?
			   chunk : sizeof(buf) - have - 1);
		if (got < 0)
			return -1;
		if (!got)
			break;
		have += got;
		buf[have] = 0;
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			unsigned long long id;

			*nl = 0;
			lines++;
			if (sscanf(line, "%llu", &id) != 1)
				continue;	/* the header */
			for (i = 0; i < n; i++)
				seen[i] += ids[i] == id;
		}
		have -= line - buf;
		memmove(buf, line, have);
	}
	return lines;
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
	struct rp_info info;
	int i, fd, once;

	for (i = 0; i < PAGED_OBJECTS; i++) {
		ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h[i]));
		ASSERT_EQ(0, rp_info(self->p, h[i], &info));
		ids[i] = info.id;
	}
	fd = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_LT(PAGED_OBJECTS, count_listed(fd, ids, PAGED_OBJECTS, seen, 7));
	for (once = 0, i = 0; i < PAGED_OBJECTS; i++)
		once += seen[i] == 1;
	EXPECT_EQ(PAGED_OBJECTS, once);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	EXPECT_LT(PAGED_OBJECTS, count_listed(fd, ids, PAGED_OBJECTS, seen, 4096));
	for (once = 0, i = 0; i < PAGED_OBJECTS; i++)
		once += seen[i] == 1;
	EXPECT_EQ(PAGED_OBJECTS, once);
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
	rp_handle_t h[PAGED_OBJECTS];
	char buf[8192], *line, *nl;
	struct rp_info info;
	int i, fd, last = -1, kept_once = 0, twice = 0;
	size_t have = 0;
	ssize_t got;

	for (i = 0; i < PAGED_OBJECTS; i++) {
		ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h[i]));
		ASSERT_EQ(0, rp_info(self->p, h[i], &info));
		ids[i] = info.id;
	}
	fd = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	while ((got = read(fd, buf + have, 16)) > 0) {
		have += got;
		buf[have] = 0;
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			unsigned long long id;

			*nl = 0;
			if (sscanf(line, "%llu", &id) != 1)
				continue;	/* the header */
			for (i = 0; i < PAGED_OBJECTS; i++)
				if (ids[i] == id) {
					seen[i]++;
					last = last > i ? last : i;
				}
		}
		have -= line - buf;
		memmove(buf, line, have);
		for (i = 0; i < PAGED_OBJECTS && i <= last + 3; i += 3)
			if (!gone[i]) {
				ASSERT_EQ(0, rp_put(self->p, h[i]));
				gone[i] = true;
			}
	}
	ASSERT_EQ(0, got);
	close(fd);
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
	rp_handle_t h[PAGED_OBJECTS];
	char buf[2][8192];
	size_t have[2] = { 0, 0 };
	bool done[2] = { false, false };
	struct rp_info info;
	int i, k, fd[2], once[2] = { 0, 0 };

	for (i = 0; i < PAGED_OBJECTS; i++) {
		ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h[i]));
		ASSERT_EQ(0, rp_info(self->p, h[i], &info));
		ids[i] = info.id;
	}
	for (k = 0; k < 2; k++) {
		fd[k] = open(DEBUGFS "objects", O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd[k]);
	}
	while (!done[0] || !done[1]) {
		for (k = 0; k < 2; k++) {
			char *line, *nl;
			ssize_t got;

			if (done[k])
				continue;
			ASSERT_GT(sizeof(buf[k]) - 1, have[k] + 5);
			got = read(fd[k], buf[k] + have[k], 5);
			ASSERT_LE(0, got);
			done[k] = !got;
			have[k] += got;
			buf[k][have[k]] = 0;
			for (line = buf[k]; (nl = strchr(line, '\n')); line = nl + 1) {
				unsigned long long id;

				*nl = 0;
				if (sscanf(line, "%llu", &id) != 1)
					continue;	/* the header */
				for (i = 0; i < PAGED_OBJECTS; i++)
					seen[k][i] += ids[i] == id;
			}
			have[k] -= line - buf[k];
			memmove(buf[k], line, have[k]);
		}
	}
	for (k = 0; k < 2; k++) {
		close(fd[k]);
		for (i = 0; i < PAGED_OBJECTS; i++)
			once[k] += seen[k][i] == 1;
	}
	EXPECT_EQ(PAGED_OBJECTS, once[0]);
	EXPECT_EQ(PAGED_OBJECTS, once[1]);
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
	struct rp_info info;
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
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ASSERT_EQ(0, rp_info(self->p, h, &info));
	ids[0] = info.id;
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
