// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-leftovers: leave objects behind on purpose, for an unload test.
 *
 *   refpool-leftovers [--gc]
 *   refpool-leftovers --hold READY_FILE
 *
 * A child process builds, then dies (exit without closing anything):
 *
 *  - a garbage cycle of three objects, one with its payload in pages, one
 *    that was mapped (promoted) and one carrying a (weak) token;
 *  - a pinned object in pages that links to itself, to a second cycle of
 *    two (one of them sealed) and to an interned value (the pin keeps the
 *    four of them alive);
 *  - an interned value held by a pin alone;
 *  - a handle in flight in a socket whose ends are then closed;
 *  - plain objects with handles, a dup, an exported fd and a mapping, all
 *    dropped by the kernel when the process ends.
 *
 * Then the parent checks that exactly what the pins and the garbage hold is
 * left: LEFT_PINNED + LEFT_GARBAGE objects (LEFT_PINNED with --gc, after
 * rp_gc()), on top of what was there before. With the module unloaded
 * after it, rmmod must free all of it, cleanly.
 *
 * --hold: keep an exported object's fd and a mapping of another object (no
 * session open), create READY_FILE, and wait to be killed: meanwhile the
 * module cannot be unloaded.
 *
 * Exit status: 0 as expected, 1 otherwise, 4 (SKIP) without the device.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <refpool.h>

#include "common.h"

#define LEFT_GARBAGE	3
#define LEFT_PINNED	5	/* pinned object, its cycle of 2, 2 interned */

static int step(const char *what, int ret)
{
	if (ret < 0) {
		fprintf(stderr, "refpool-leftovers: %s: %s\n", what, rp_strerror(ret));
		exit(1);
	}
	return ret;
}

static void build(void)
{
	rp_handle_t a, b, c, p, x, y, i1, i2, o1, o2, o3;
	struct rp_pool *pool;
	char value[64];
	rp_token_t tok;
	void *map;
	int fd, sv[2];

	step("rp_open", rp_open(&pool));

	/* garbage: a -> b -> c -> a */
	step("create a", rp_create(pool, 10000, 1, 0, &a));
	step("create b", rp_create(pool, 100, 1, 0, &b));
	step("create c", rp_create(pool, 8, 2, 0, &c));
	step("map b", rp_map(pool, b, PROT_READ | PROT_WRITE, &map));
	memcpy(map, "promoted", 8);
	step("unmap b", rp_unmap(map, 100));
	step("publish c", rp_publish(pool, c, &tok));
	step("link a", rp_link(pool, a, 0, b));
	step("link b", rp_link(pool, b, 0, c));
	step("link c", rp_link(pool, c, 0, a));

	/* a pinned object holding a cycle and an interned value */
	snprintf(value, sizeof(value), "leftover-%d-linked", getpid());
	step("intern 1", rp_intern(pool, value, strlen(value), &i1));
	step("create p", rp_create(pool, 2 * 4096 + 1, 3, 0, &p));
	step("create x", rp_create(pool, 16, 1, 0, &x));
	step("create y", rp_create(pool, 17, 1, 0, &y));
	step("link x", rp_link(pool, x, 0, y));
	step("link y", rp_link(pool, y, 0, x));
	step("seal y", rp_seal(pool, y));
	step("link p0", rp_link(pool, p, 0, x));
	step("link p1", rp_link(pool, p, 1, i1));
	step("link p2", rp_link(pool, p, 2, p));
	step("pin p", rp_pin(pool, p, &tok));

	/* an interned value held by its pin alone */
	snprintf(value, sizeof(value), "leftover-%d-alone", getpid());
	step("intern 2", rp_intern(pool, value, strlen(value), &i2));
	step("pin i2", rp_pin(pool, i2, &tok));

	/* in flight in a socket that goes away */
	step("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ? -1 : 0);
	step("send", rp_send(sv[0], pool, b));
	close(sv[0]);
	close(sv[1]);

	/* what dies with the process */
	step("create o1", rp_create(pool, 5000, 0, 0, &o1));
	step("create o2", rp_create_from(pool, "plain", 5, 0, &o2));
	step("dup", rp_dup(pool, o1, &o3));
	step("export", rp_export(pool, o2, &fd));
	step("map", rp_map(pool, o1, PROT_READ, &map));
	_exit(0);	/* nothing closed: the kernel does it */
}

static int hold(const char *ready)
{
	struct rp_pool *pool;
	rp_handle_t h, m;
	void *map;
	FILE *f;
	int fd;

	step("rp_open", rp_open(&pool));
	step("create", rp_create(pool, 100, 0, 0, &h));
	step("create", rp_create(pool, 5000, 0, 0, &m));
	step("export", rp_export(pool, h, &fd));
	step("map", rp_map(pool, m, PROT_READ | PROT_WRITE, &map));
	rp_close(pool);	/* the session goes; the file and the mapping stay */
	f = fopen(ready, "w");
	if (f)
		fclose(f);
	for (;;)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	bool gc = argc > 1 && !strcmp(argv[1], "--gc");
	struct rp_stats before, after;
	struct rp_pool *pool;
	uint64_t collected = 0, want;
	int st, k;
	pid_t pid;

	if (argc > 2 && !strcmp(argv[1], "--hold"))
		return hold(argv[2]);
	if (rp_open(&pool)) {
		printf("SKIP refpool-leftovers: no /dev/refpool\n");
		return KSFT_SKIP;
	}
	step("rp_stats", rp_stats(pool, &before));
	pid = fork();
	if (pid == 0) {
		rp_close(pool);
		build();
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "refpool-leftovers: the builder failed\n");
		return 1;
	}
	if (gc)
		step("rp_gc", rp_gc(pool, &collected));
	want = before.objects + LEFT_PINNED + (gc ? 0 : LEFT_GARBAGE);
	/* the socket's file may be released by a deferred fput() */
	for (k = 0; k < 50; k++) {
		step("rp_stats", rp_stats(pool, &after));
		if (after.objects == want)
			break;
		usleep(20000);
	}
	rp_close(pool);
	printf("refpool-leftovers: left %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned%s\n",
	       after.objects - before.objects, after.bytes - before.bytes,
	       after.interned - before.interned, gc ? " (after rp_gc)" : "");
	if (after.objects != want || after.interned != before.interned + 2 ||
	    (gc && collected < LEFT_GARBAGE)) {
		fprintf(stderr, "refpool-leftovers: expected %" PRIu64 " objects and %" PRIu64 " interned, have %" PRIu64 " and %" PRIu64 "%s\n",
			want, before.interned + 2, after.objects, after.interned,
			gc && collected < LEFT_GARBAGE ? "; rp_gc collected too few" : "");
		return 1;
	}
	return 0;
}
