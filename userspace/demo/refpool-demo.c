// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-demo: refpool at work, in one short program (`make demo`).
 *
 * Creates objects, shares one with a forked child (which shares the
 * session), shares one with an unrelated process through a token and a
 * mapping, lets a child that opened its own session be killed with SIGKILL
 * while holding a thousand objects, interns the seed's `4` from two
 * processes, collects a cycle, lets a consumer wait for a producer's seal
 * and hear of its SIGKILL through a weak watch, and shows the pool's
 * counters return to where they started.
 */
#include <inttypes.h>
#include <signal.h>
#include <sys/mman.h>
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

/* The unrelated process: look a token up and map the object it names. */
static int consume(const char *token)
{
	struct rp_pool *p;
	rp_token_t tok;
	rp_handle_t h;
	char *map;

	CHECK(rp_open(&p));
	CHECK(rp_token_from_str(token, &tok));
	CHECK(rp_lookup(p, &tok, &h));
	CHECK(rp_map(p, h, PROT_READ | PROT_WRITE, (void **)&map));
	printf("  consumer (pid %d, its own session) maps it: \"%s\"\n",
	       getpid(), map);
	memcpy(map, "HELLO", 5);
	show_info(p, h, "consumer");
	CHECK(rp_unmap(map, 64));
	rp_close(p);
	return 0;
}

/* One event, within 30 s: the demo must not hang if something is wrong. */
static void next_event(struct rp_pool *p, struct rp_event *ev)
{
	int n = rp_read_events(p, ev, 1, 30000);

	CHECK(n);
	if (n == 0) {
		fprintf(stderr, "demo: no event within 30 s\n");
		exit(1);
	}
}

/*
 * The consumer of step 8, an unrelated process: it watches the producer's
 * object by token - weakly, holding nothing - and tells the parent (@tell)
 * what it heard.
 */
static int await_producer(const char *token, int tell)
{
	struct rp_event ev;
	struct rp_pool *p;
	rp_token_t tok;
	rp_handle_t h;
	char buf[64] = "";

	CHECK(rp_open(&p));
	CHECK(rp_token_from_str(token, &tok));
	CHECK(rp_watch_token(p, &tok, RP_EV_SEALED | RP_EV_FREED, 1));
	printf("  consumer (pid %d) watches the token, holding nothing\n",
	       getpid());
	fflush(stdout);
	if (write(tell, "w", 1) != 1)
		return 1;
	next_event(p, &ev);
	if (ev.events != RP_EV_SEALED)
		return 1;
	/* Sealed: the bytes are final, reading them cannot race a write. */
	CHECK(rp_lookup(p, &tok, &h));
	CHECK(rp_read(p, h, 0, buf, sizeof(buf) - 1));
	CHECK(rp_put(p, h));
	printf("  consumer: object %" PRIu64 " is sealed; it reads \"%s\"\n",
	       ev.id, buf);
	fflush(stdout);
	if (write(tell, "s", 1) != 1)
		return 1;
	next_event(p, &ev);
	if (ev.events != RP_EV_FREED)
		return 1;
	printf("  consumer: object %" PRIu64 " was freed: its producer is gone\n",
	       ev.id);
	fflush(stdout);
	rp_close(p);
	return 0;
}

/* The producer of step 8: its own session; seals when told, then waits. */
static void produce(int give, int told)
{
	struct rp_pool *mine;
	rp_token_t tok;
	rp_handle_t o;
	char token[33], c;

	CHECK(rp_open(&mine));
	CHECK(rp_create(mine, 64, 0, 0, &o));
	CHECK(rp_write(mine, o, 0, "the answer is 42", 17));
	CHECK(rp_publish(mine, o, &tok));
	CHECK(rp_token_to_str(&tok, token));
	if (write(give, token, sizeof(token)) != sizeof(token) ||
	    read(told, &c, 1) != 1)
		_exit(1);
	/* Said first: the parent may kill it as soon as the seal is seen. */
	printf("  producer (pid %d) seals its result\n", getpid());
	fflush(stdout);
	CHECK(rp_seal(mine, o));
	pause();
	_exit(0);
}

/* Intern "4" in a new session, print the object's id. */
static int intern_four(const char *who)
{
	struct rp_info info;
	struct rp_pool *p;
	rp_handle_t h;
	int existed;

	CHECK(rp_open(&p));
	existed = rp_intern(p, "4", 1, &h);
	CHECK(existed);
	CHECK(rp_info(p, h, &info));
	printf("  %s (pid %d): b = 4 -> object id %" PRIu64 " (%s)\n", who,
	       getpid(), info.id, existed ? "already there" : "created");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const char greeting[] = "hello from the parent";
	struct rp_stats start, end;
	struct rp_pool *p;
	rp_handle_t h, h2, a, b, four;
	rp_token_t tok;
	char buf[64], token[33];
	int pipefd[2], tell[2], go[2], status;
	uint64_t collected;
	pid_t pid, producer;

	if (argc == 3 && !strcmp(argv[1], "consume"))
		return consume(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "await"))
		return await_producer(argv[2], atoi(argv[3]));

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

	printf("4. an unrelated process finds an object by token and maps it\n");
	CHECK(rp_create(p, 64, 0, 0, &a));
	CHECK(rp_write(p, a, 0, "hello through a token", 22));
	CHECK(rp_publish(p, a, &tok));
	CHECK(rp_token_to_str(&tok, token));
	printf("  producer publishes token %s\n", token);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "consume", token, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	CHECK(rp_read(p, a, 0, buf, sizeof(buf)));
	printf("  producer reads back: \"%s\"\n", buf);
	CHECK(rp_put(p, a));
	printf("  after the producer's put, the token names nothing: %s\n",
	       rp_strerror(rp_lookup(p, &tok, &a)));

	printf("5. a child with its own session makes 1000 objects and is killed\n");
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

	printf("6. a = 4; b = 4: equal values share one object\n");
	CHECK(rp_intern(p, "4", 1, &four));
	printf("  parent (pid %d): a = 4 -> interned\n", getpid());
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(intern_four("child "));
	waitpid(pid, &status, 0);
	show_info(p, four, "parent");
	CHECK(rp_put(p, four));

	printf("7. a cycle that reference counting cannot free\n");
	CHECK(rp_create(p, 16, 1, 0, &a));
	CHECK(rp_create(p, 16, 1, 0, &b));
	CHECK(rp_link(p, a, 0, b));
	CHECK(rp_link(p, b, 0, a));
	CHECK(rp_put(p, a));
	CHECK(rp_put(p, b));
	show_stats(p, "cycle, no handles");
	CHECK(rp_gc(p, &collected));
	printf("  rp_gc() collected %" PRIu64 " objects\n", collected);
	show_stats(p, "after gc");

	printf("8. a consumer waits for a producer's seal, then hears of its SIGKILL\n");
	fflush(stdout);
	if (pipe(pipefd) || pipe(tell) || pipe(go))
		return 1;
	producer = fork();
	if (producer == 0)
		produce(pipefd[1], go[0]);
	if (read(pipefd[0], token, sizeof(token)) != sizeof(token))
		return 1;
	pid = fork();
	if (pid == 0) {
		char fd[16];

		snprintf(fd, sizeof(fd), "%d", tell[1]);
		execl("/proc/self/exe", argv[0], "await", token, fd, (char *)NULL);
		_exit(127);
	}
	if (read(tell[0], buf, 1) != 1 || write(go[1], "s", 1) != 1 ||
	    read(tell[0], buf, 1) != 1)
		return 1;
	printf("  the producer is killed (SIGKILL)\n");
	fflush(stdout);
	kill(producer, SIGKILL);
	waitpid(producer, &status, 0);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 1;

	printf("9. the parent lets go\n");
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
