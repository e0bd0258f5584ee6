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
 * The view pages through the hash table in reads much smaller than a
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
