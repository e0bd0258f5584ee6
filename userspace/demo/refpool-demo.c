// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-demo: refpool at work, in one short program (`make demo`).
 *
 * Creates objects, shares one with a forked child (which shares the
 * session), lets another child that opened its own session be killed
 * with SIGKILL while holding a thousand objects, and shows the pool's
 * counters return to where they started.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refpool.h"

#define CHECK(call)							\
	do {								\
		int64_t _r = (call);					\
		if (_r < 0) {						\
			fprintf(stderr, "demo: %s: %s\n", #call,	\
				rp_strerror((int)_r));			\
			exit(1);					\
		}							\
	} while (0)

static void show_stats(struct rp_pool *p, const char *when)
{
	struct rp_stats st;

	CHECK(rp_stats(p, &st));
	printf("  [%s] pool: %" PRIu64 " objects, %" PRIu64
	       " bytes; this session: %" PRIu64 " handles\n",
	       when, st.objects, st.bytes, st.session_handles);
}

static void show_info(struct rp_pool *p, rp_handle_t h, const char *who)
{
	struct rp_info info;

	CHECK(rp_info(p, h, &info));
	printf("  %s: handle %u -> object id %" PRIu64 ", %" PRIu64
	       " bytes, refs %" PRIu64 "%s\n", who, h, info.id, info.size,
	       info.refs, info.flags & RP_SEALED ? ", sealed" : "");
}

int main(void)
{
	static const char greeting[] = "hello from the parent";
	struct rp_stats start, end;
	struct rp_pool *p;
	rp_handle_t h, h2;
	char buf[64];
	int pipefd[2], status;
	pid_t pid;

	CHECK(rp_open(&p));
	CHECK(rp_stats(p, &start));
	printf("1. a session on /dev/refpool\n");
	show_stats(p, "start");

	printf("2. an object, and a second handle to it\n");
	CHECK(rp_create_from(p, greeting, sizeof(greeting), 0, &h));
	CHECK(rp_dup(p, h, &h2));
	show_info(p, h, "parent");

	printf("3. a forked child shares the session: it writes, dups, exits\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static const char reply[] = "hello from the child!";
		rp_handle_t mine;

		CHECK(rp_write(p, h, 0, reply, sizeof(reply)));
		CHECK(rp_dup(p, h, &mine));
		show_info(p, mine, "child ");
		CHECK(rp_put(p, mine));
		rp_close(p);	/* closes the child's fd only */
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(rp_read(p, h, 0, buf, sizeof(buf)));
	printf("  parent reads: \"%s\"\n", buf);
	CHECK(rp_seal(p, h));
	show_info(p, h, "parent");
	printf("  sealed, a write is refused: %s\n",
	       rp_strerror((int)rp_write(p, h, 0, "x", 1)));

	printf("4. a child with its own session makes 1000 objects and is killed\n");
	fflush(stdout);
	if (pipe(pipefd))
		return 1;
	pid = fork();
	if (pid == 0) {
		struct rp_pool *mine;
		rp_handle_t o;
		int i;

		CHECK(rp_open(&mine));
		for (i = 0; i < 1000; i++)
			CHECK(rp_create(mine, 4096, 0, 0, &o));
		show_stats(mine, "child ");
		fflush(stdout);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(pipefd[0], buf, 1) != 1)
		return 1;
	show_stats(p, "before kill");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	show_stats(p, "after kill ");

	printf("5. the parent lets go\n");
	CHECK(rp_put(p, h));
	CHECK(rp_put(p, h2));
	CHECK(rp_stats(p, &end));
	show_stats(p, "end");
	rp_close(p);

	if (end.objects != start.objects || end.bytes != start.bytes) {
		printf("demo: FAILED: the pool did not return to where it started\n");
		return 1;
	}
	printf("demo: every object and byte returned to the pool\n");
	return 0;
}
