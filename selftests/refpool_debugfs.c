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
