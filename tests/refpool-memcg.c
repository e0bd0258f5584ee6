// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-memcg: the pool's memory is charged to its creator's cgroup.
 *
 *   refpool-memcg [--limit-mb N] [--object-kb K]
 *
 * Puts a child process in a cgroup v2 limited to N MiB (default 32,
 * memory.max, no swap) - mounting cgroup2 at /sys/fs/cgroup and enabling
 * the memory controller first if needed - and lets it create K KiB objects
 * (default 1024, payload in pages) until that fails. The child reports
 * after each object, over a pipe: objects, the pool's bytes, and the
 * cgroup's memory.current. Checks:
 *
 *  - the pool never holds more than the limit for the child: its last
 *    report is below 2 x N MiB (it stops near N MiB), and it got at least
 *    a quarter of N MiB (the limit, not something else, stopped it);
 *  - memory.current tracks the objects: it grows with the pool's bytes
 *    (at least 90% of them are charged) and stays at most memory.max;
 *  - how creating stops is reported: -ENOMEM from rp_create(), or the
 *    child OOM-killed (SIGKILL, counted in memory.events oom_kill);
 *  - once the child is gone, the pool is back to its baseline and the
 *    cgroup's memory.current drops back below 2 MiB.
 *
 * Exit status: 0 pass, 1 fail, 4 (SKIP) without root, cgroup2's memory
 * controller or the device. Run it alone (the pool's counters are global):
 *   scripts/vm-run -- tests/refpool-memcg
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <refpool.h>

#include "common.h"

#define CG_ROOT	"/sys/fs/cgroup"
#define CG	CG_ROOT "/refpool-memcg"

struct report {
	uint64_t objects;	/* objects the child holds */
	uint64_t pool_bytes;	/* rp_stats().bytes */
	uint64_t current;	/* memory.current */
	int err;		/* 0, or the errno that stopped it (last report) */
};

/* One "key value" line of a flat-keyed file such as memory.events. */
static uint64_t read_key(const char *path, const char *key)
{
	char buf[1024], *p;
	size_t len = strlen(key);

	if (!read_file_to(path, buf, sizeof(buf), false))
		return UINT64_MAX;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, len) && p[len] == ' ')
			return strtoull(p + len + 1, NULL, 10);
	return UINT64_MAX;
}

/* cgroup2 mounted, the memory controller on for children of the root. */
static const char *cgroup_setup(void)
{
	char buf[512];

	if (!read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf))) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			return "cannot mount cgroup2 at " CG_ROOT;
		if (!read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)))
			return "no cgroup.controllers after mounting cgroup2";
	}
	if (!strstr(buf, "memory"))
		return "cgroup2 has no memory controller (cgroup v1 has it, or CONFIG_MEMCG is off)";
	if (!write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller in " CG_ROOT "/cgroup.subtree_control";
	rmdir(CG);
	if (mkdir(CG, 0755) && errno != EEXIST)
		return "cannot create " CG;
	return NULL;
}

static void child(int wfd, uint64_t object_size)
{
	struct report r = { 0 };
	struct rp_pool *p;
	struct rp_stats st;
	char pid[32];
	rp_handle_t h;
	int ret;

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (!write_file(CG "/cgroup.procs", pid))
		_exit(3);
	/* opened inside the cgroup: the session is charged here too */
	if (rp_open(&p))
		_exit(3);
	for (;;) {
		ret = rp_create(p, object_size, 0, 0, &h);
		if (ret == 0) {
			/* touch nothing: the pages are the kernel's, charged at creation */
			r.objects++;
		}
		rp_stats(p, &st);
		r.pool_bytes = st.bytes;
		r.current = read_u64(CG "/memory.current");
		r.err = ret ? -ret : 0;
		if (write(wfd, &r, sizeof(r)) != sizeof(r))
			_exit(3);
		if (ret)
			_exit(0);	/* the error is reported: the kernel drops the rest */
		if (r.objects > 4096)
			_exit(KSFT_SKIP);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "limit-mb", required_argument, 0, 'l' },
		{ "object-kb", required_argument, 0, 'o' },
		{ 0, 0, 0, 0 },
	};
	uint64_t limit_mb = 32, object_kb = 1024, limit, oom0, oom1, max_current = 0;
	struct report r, last = { 0 };
	struct rp_stats base, after;
	struct rp_pool *p;
	const char *why;
	int ch, pfd[2], st, fails = 0, nreports = 0, k;
	char buf[64];
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'l': limit_mb = strtoull(optarg, NULL, 0); break;
		case 'o': object_kb = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: refpool-memcg [--limit-mb N] [--object-kb K]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	limit = limit_mb << 20;
	if (geteuid() != 0) {
		printf("SKIP refpool-memcg: needs root\n");
		return KSFT_SKIP;
	}
	if (rp_open(&p)) {
		printf("SKIP refpool-memcg: no /dev/refpool\n");
		return KSFT_SKIP;
	}
	rp_gc(p, NULL);
	rp_stats(p, &base);
	why = cgroup_setup();
	if (why) {
		printf("SKIP refpool-memcg: %s\n", why);
		return KSFT_SKIP;
	}
	snprintf(buf, sizeof(buf), "%" PRIu64, limit);
	if (!write_file(CG "/memory.max", buf)) {
		printf("SKIP refpool-memcg: cannot set " CG "/memory.max\n");
		return KSFT_SKIP;
	}
	write_file(CG "/memory.swap.max", "0");
	oom0 = read_key(CG "/memory.events", "oom_kill");
	printf("refpool-memcg: cgroup %s, memory.max %" PRIu64 " MiB; objects of %" PRIu64 " KiB; pool before: %" PRIu64 " objects, %" PRIu64 " bytes\n",
	       CG, limit_mb, object_kb, base.objects, base.bytes);

	if (pipe(pfd))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		rp_close(p);
		child(pfd[1], object_kb << 10);
	}
	close(pfd[1]);
	printf("refpool-memcg: %8s %14s %16s\n", "objects", "pool MiB", "memory.current MiB");
	while (read(pfd[0], &r, sizeof(r)) == sizeof(r)) {
		nreports++;
		if (r.current != UINT64_MAX && r.current > max_current)
			max_current = r.current;
		/* every 4 MiB, and the end */
		if (r.err || (r.objects * object_kb) % 4096 == 0)
			printf("refpool-memcg: %8" PRIu64 " %14.1f %16.1f%s%s\n", r.objects,
			       (r.pool_bytes - base.bytes) / 1048576.0, r.current / 1048576.0,
			       r.err ? "  rp_create: -" : "", r.err ? strerrorname_np(r.err) : "");
		/* the cgroup pays for what the pool holds for the child */
		if (!r.err && r.current != UINT64_MAX &&
		    r.current < (r.pool_bytes - base.bytes) / 10 * 9) {
			printf("FAIL memory.current %" PRIu64 " < 90%% of the pool's %" PRIu64 " bytes: not charged\n",
			       r.current, r.pool_bytes - base.bytes);
			fails++;
		}
		last = r;
	}
	close(pfd[0]);
	waitpid(pid, &st, 0);
	oom1 = read_key(CG "/memory.events", "oom_kill");

	if (WIFSIGNALED(st))
		printf("refpool-memcg: the child was killed by signal %d (%s) after %" PRIu64 " objects (%.1f MiB in the pool); memory.events oom_kill %" PRIu64 " -> %" PRIu64 ": %s\n",
		       WTERMSIG(st), strsignal(WTERMSIG(st)), last.objects, last.objects * object_kb / 1024.0, oom0, oom1,
		       oom1 > oom0 ? "OOM-killed by the cgroup's OOM killer" : "not an OOM kill");
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && last.err)
		printf("refpool-memcg: rp_create() failed with -%s after %" PRIu64 " objects (%.1f MiB in the pool); the child was not killed (oom_kill %" PRIu64 " -> %" PRIu64 ")\n",
		       strerrorname_np(last.err), last.objects, last.objects * object_kb / 1024.0, oom0, oom1);
	else {
		printf("FAIL the child ended with status %d after %d reports\n",
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1, nreports);
		fails++;
	}
	if (WIFEXITED(st) && last.err && last.err != ENOMEM) {
		printf("FAIL rp_create() stopped with -%s, not -ENOMEM\n", strerrorname_np(last.err));
		fails++;
	}
	if (WIFSIGNALED(st) && (WTERMSIG(st) != SIGKILL || oom1 <= oom0)) {
		printf("FAIL the child died of something else than the cgroup's OOM killer\n");
		fails++;
	}
	if (last.objects * (object_kb << 10) >= 2 * limit) {
		printf("FAIL the pool held %" PRIu64 " MiB for a child limited to %" PRIu64 " MiB\n",
		       last.objects * object_kb >> 10, limit_mb);
		fails++;
	}
	if (last.objects * (object_kb << 10) < limit / 4) {
		printf("FAIL creating stopped after %" PRIu64 " KiB, far below the limit: something else stopped it\n",
		       last.objects * object_kb);
		fails++;
	}
	if (max_current > limit) {
		printf("FAIL memory.current reached %" PRIu64 ", above memory.max %" PRIu64 "\n", max_current, limit);
		fails++;
	}

	/* the child is gone: so are its objects and their charge */
	for (k = 0; k < 100; k++) {
		rp_stats(p, &after);
		if (after.objects == base.objects && after.bytes == base.bytes)
			break;
		usleep(50000);
	}
	rp_close(p);
	printf("refpool-memcg: after the child: pool %" PRIu64 " objects, %" PRIu64 " bytes (baseline %" PRIu64 ", %" PRIu64 "); memory.current %.1f MiB\n",
	       after.objects, after.bytes, base.objects, base.bytes,
	       read_u64(CG "/memory.current") / 1048576.0);
	if (after.objects != base.objects || after.bytes != base.bytes) {
		printf("FAIL the pool did not come back to its baseline\n");
		fails++;
	}
	for (k = 0; k < 50 && read_u64(CG "/memory.current") >= 2 << 20; k++)
		usleep(100000);
	if (read_u64(CG "/memory.current") >= 2 << 20) {
		printf("FAIL memory.current stays at %" PRIu64 " bytes after the child is gone\n",
		       read_u64(CG "/memory.current"));
		fails++;
	}
	rmdir(CG);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}
