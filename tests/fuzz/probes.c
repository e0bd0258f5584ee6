// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, library probes: bad output pointers, each call in a child
 * process.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fuzz.h"

struct probe {
	const char *name;
	int (*fn)(struct rp_pool *p, rp_handle_t h);
};

#define BADP ((void *)16)

static int pr_create(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_create(p, 8, 0, 0, BADP); }
static int pr_create_from(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_create_from(p, "x", 1, 0, BADP); }
static int pr_intern(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_intern(p, "probe", 5, BADP); }
static int pr_dup(struct rp_pool *p, rp_handle_t h) { return rp_dup(p, h, BADP); }
static int pr_info(struct rp_pool *p, rp_handle_t h) { return rp_info(p, h, (struct rp_info *)BADP); }
static int pr_read(struct rp_pool *p, rp_handle_t h) { return (int)rp_read(p, h, 0, BADP, 8); }
static int pr_write(struct rp_pool *p, rp_handle_t h) { return (int)rp_write(p, h, 0, BADP, 8); }
static int pr_stats(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_stats(p, (struct rp_stats *)BADP); }
static int pr_export(struct rp_pool *p, rp_handle_t h) { return rp_export(p, h, BADP); }
static int pr_map(struct rp_pool *p, rp_handle_t h) { return rp_map(p, h, PROT_READ, BADP); }
static int pr_publish(struct rp_pool *p, rp_handle_t h) { return rp_publish(p, h, BADP); }
static int pr_pin(struct rp_pool *p, rp_handle_t h) { return rp_pin(p, h, BADP); }
static int pr_lookup(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_lookup(p, BADP, (rp_handle_t *)BADP); }
static int pr_unpin(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_unpin(p, BADP); }
static int pr_get_link(struct rp_pool *p, rp_handle_t h) { return rp_get_link(p, h, 0, BADP); }
static int pr_gc(struct rp_pool *p, rp_handle_t h) { (void)h; return rp_gc(p, BADP); }
	/* with one pin to list, so that the kernel has something to write */
static int pr_list_pins(struct rp_pool *p, rp_handle_t h)
{
	rp_token_t t;
	int ret;

	if (rp_pin(p, h, &t))
		return 0;
	ret = rp_list_pins(p, BADP, 4);
	rp_unpin(p, &t);
	return ret;
}

/* the module may be built without events (REFPOOL_FEAT_EVENTS): then n/a */
static int pr_watch_token(struct rp_pool *p, rp_handle_t h)
{
	struct refpool_version v;

	(void)h;
	if (raw(rp_fd(p), REFPOOL_IOC_VERSION, &v) || !(v.features & REFPOOL_FEAT_EVENTS))
		return -EFAULT;
	return rp_watch_token(p, BADP, RP_EV_FREED, 1);
}

static const struct probe probes[] = {
	{ "rp_create(out=16)", pr_create },
	{ "rp_create_from(out=16)", pr_create_from },
	{ "rp_intern(out=16)", pr_intern },
	{ "rp_dup(out=16)", pr_dup },
	{ "rp_info(info=16)", pr_info },
	{ "rp_read(buf=16)", pr_read },
	{ "rp_write(buf=16)", pr_write },
	{ "rp_stats(st=16)", pr_stats },
	{ "rp_export(fd=16)", pr_export },
	{ "rp_map(addr=16)", pr_map },
	{ "rp_publish(tok=16)", pr_publish },
	{ "rp_pin(tok=16)", pr_pin },
	{ "rp_lookup(tok=16)", pr_lookup },
	{ "rp_unpin(tok=16)", pr_unpin },
	{ "rp_get_link(out=16)", pr_get_link },
	{ "rp_gc(collected=16)", pr_gc },
	{ "rp_list_pins(pins=16)", pr_list_pins },
	{ "rp_watch_token(tok=16)", pr_watch_token },
};

const unsigned n_lib_probes = ARRAY_SIZE(probes);

/* Each probe in a child: returns the number of probes that crashed. */
int lib_probes(void)
{
	unsigned k;
	int bad = 0;

	for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
		int st, pfd[2];
		pid_t pid;
		int ret = 0;

		if (pipe(pfd))
			return bad;
		pid = fork();
		if (pid == 0) {
			struct rp_pool *p;
			rp_handle_t h = 0;

			close(pfd[0]);
			/* slot 0 links the object to itself: rp_get_link finds it */
			if (rp_open(&p) || rp_create(p, 8, 1, 0, &h) || rp_link(p, h, 0, h))
				_exit(3);
			ret = probes[k].fn(p, h);
			if (write(pfd[1], &ret, sizeof(ret)) != sizeof(ret))
				_exit(3);
			_exit(0);
		}
		close(pfd[1]);
		if (read(pfd[0], &ret, sizeof(ret)) != sizeof(ret))
			ret = 1;
		close(pfd[0]);
		waitpid(pid, &st, 0);
		if (WIFSIGNALED(st)) {
			printf("MISMATCH library: %s crashed with %s; SPEC.md §2: a bad result pointer goes to the kernel, which answers -EFAULT\n",
			       probes[k].name, strsignal(WTERMSIG(st)));
			bad++;
		} else if (WEXITSTATUS(st) == 0 && ret != -EFAULT) {
			printf("MISMATCH library: %s returned %s, SPEC.md says -EFAULT\n",
			       probes[k].name, en(ret));
			bad++;
		}
	}
	return bad;
}
