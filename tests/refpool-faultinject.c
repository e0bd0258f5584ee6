// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-faultinject: systematic allocation failures in every refpool path.
 *
 *   refpool-faultinject [--max-nth N] [--only NAME] [--list] [--verbose]
 *
 * For each scenario - every ioctl, opening a session, export and import,
 * SCM_RIGHTS, mmap and munmap (a VMA split), fork with a mapping, the
 * collector - the call is repeated with /proc/self/task/TID/fail-nth set to
 * 1, 2, 3 ... so that its 1st, 2nd, 3rd ... allocation fails
 * (Documentation/fault-injection/fault-injection.rst, "Systematic faults
 * using fail-nth"), until a run injects nothing. failslab and
 * fail_page_alloc are set so that every allocation counts
 * (ignore-gfp-wait=N, ignore-gfp-highmem=N, min-order=0), quietly
 * (verbose=0), and only where fail-nth says (probability=0, task-filter=Y).
 *
 * Every injected failure must give a clean error (-ENOMEM, or what the
 * scenario lists: -ENOBUFS for a socket, -EAGAIN for fork...) and change
 * nothing visible: the pool's objects, bytes, interned, user_bytes,
 * intern_hits, intern_bytes_saved, the session's handles, the refs, flags, size and contents of every object the
 * scenario holds, the process's fds and mappings. A fault the call absorbs
 * (it succeeds anyway: a fallback, kmemleak's own pool) must leave a correct
 * result. After every run the scenario lets go of everything and the pool
 * must be back where it was. At the end kmemleak is scanned: no leak.
 *
 * It prints the faults injected per scenario and in total. Exit status: 0
 * pass, 1 failure, 4 (SKIP) when the kernel has no fail-nth (the Debian
 * kernel) or no failslab, 2 usage. Run it alone, as root, on the debug
 * kernel: scripts/vm-run --kernel debug -- tests/refpool-faultinject
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/refpool.h>
#include <refpool.h>

#include "common.h"
#include "vgem.h"

#define MAXH		64

static struct {
	unsigned max_nth;
	const char *only;
	int verbose;
} opt = { .max_nth = 4000 };

static int nth_fd = -1;
static unsigned long failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (failures > 60)
		return;
	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ------------------------------------------------------------------------ */
/* fail-nth and the fault attributes                                          */

static void arm(unsigned n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len) {
		perror("refpool-faultinject: write fail-nth");
		exit(1);
	}
}

/* Stop injecting; true if the armed fault was injected. */
static bool disarm(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0) {
		perror("refpool-faultinject: read fail-nth");
		exit(1);
	}
	if (pwrite(nth_fd, "0", 1, 0) != 1) {
		perror("refpool-faultinject: write fail-nth");
		exit(1);
	}
	return atoi(buf) == 0;
}

struct knob {
	const char *path;
	const char *value;
	char saved[64];
	bool have;
};

static struct knob knobs[] = {
	{ .path = "/sys/kernel/debug/failslab/ignore-gfp-wait", .value = "N" },
	{ .path = "/sys/kernel/debug/failslab/probability", .value = "0" },
	{ .path = "/sys/kernel/debug/failslab/task-filter", .value = "Y" },
	{ .path = "/sys/kernel/debug/failslab/verbose", .value = "0" },
	{ .path = "/sys/kernel/debug/failslab/cache-filter", .value = "N" },
	{ .path = "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", .value = "N" },
	{ .path = "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", .value = "N" },
	{ .path = "/sys/kernel/debug/fail_page_alloc/min-order", .value = "0" },
	{ .path = "/sys/kernel/debug/fail_page_alloc/probability", .value = "0" },
	{ .path = "/sys/kernel/debug/fail_page_alloc/task-filter", .value = "Y" },
	{ .path = "/sys/kernel/debug/fail_page_alloc/verbose", .value = "0" },
};

static void knobs_restore(void)
{
	unsigned k;

	for (k = 0; k < sizeof(knobs) / sizeof(knobs[0]); k++)
		if (knobs[k].have)
			write_file(knobs[k].path, knobs[k].saved);
}

static bool knobs_set(void)
{
	unsigned k;

	for (k = 0; k < sizeof(knobs) / sizeof(knobs[0]); k++) {
		knobs[k].have = read_file(knobs[k].path, knobs[k].saved, sizeof(knobs[k].saved));
		if (!knobs[k].have && strstr(knobs[k].path, "failslab"))
			return false;
		if (knobs[k].have && !write_file(knobs[k].path, knobs[k].value)) {
			printf("refpool-faultinject: cannot write %s\n", knobs[k].path);
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* What is visible                                                            */

static struct rp_pool *ctl;	/* a session that only reads the counters */

struct obj_state {
	int ret;
	struct rp_info info;
	uint64_t hash;
};

struct snap {
	struct rp_stats g;	/* through ctl */
	uint64_t handles;	/* of the scenario's session */
	int nfds, nmaps;
	int nh;
	struct obj_state o[MAXH];
};

/* What a scenario holds, and what it must not see change. */
struct ctx {
	struct rp_pool *p;
	rp_handle_t h[MAXH];	/* handles checked by snapshots */
	int nh;
	rp_handle_t made;	/* what a successful call made, to undo */
	rp_handle_t made2[48];
	int nmade2;
	int fd, fd2;		/* exported fds, sockets */
	int sv[2];
	int drm;		/* a vgem DRM file, or 0 */
	void *map;
	size_t maplen;
	rp_token_t tok;
	uint8_t data[16384];
	uint64_t len;
	uint32_t flags;
	uint64_t refs0;		/* refs of the object in flight, before */
	uint64_t watches0;	/* the session's watches before a WATCH */
	uint64_t watches_add;	/* and how many it adds */
	uint64_t collected;	/* what a collection freed */
};

static uint8_t big[1 << 16];

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	int n = 0, ch;

	if (!f)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void take(struct ctx *c, struct snap *s)
{
	struct rp_stats st;
	int k;

	memset(s, 0, sizeof(*s));
	rp_stats(ctl, &s->g);
	if (c->p && rp_stats(c->p, &st) == 0)
		s->handles = st.session_handles;
	s->nfds = count_dir("/proc/self/fd");
	s->nmaps = count_lines("/proc/self/maps");
	s->nh = c->nh;
	for (k = 0; k < c->nh; k++) {
		struct obj_state *o = &s->o[k];

		o->ret = rp_info(c->p, c->h[k], &o->info);
		if (o->ret == 0 && o->info.size <= sizeof(big) &&
		    rp_read(c->p, c->h[k], 0, big, o->info.size) == (int64_t)o->info.size)
			o->hash = fnv(big, o->info.size);
	}
}

/* Differences between two snapshots, as text; empty when none. */
static void diff(const struct snap *a, const struct snap *b, char *out, size_t size)
{
	size_t n = 0;
	int k;

	out[0] = '\0';
#define D(cond, ...) do { if ((cond) && n < size) n += snprintf(out + n, size - n, __VA_ARGS__); } while (0)
	D(a->g.objects != b->g.objects, " objects %" PRIu64 "->%" PRIu64, a->g.objects, b->g.objects);
	D(a->g.bytes != b->g.bytes, " bytes %" PRIu64 "->%" PRIu64, a->g.bytes, b->g.bytes);
	D(a->g.interned != b->g.interned, " interned %" PRIu64 "->%" PRIu64, a->g.interned, b->g.interned);
	D(a->g.user_bytes != b->g.user_bytes, " user_bytes %" PRIu64 "->%" PRIu64, a->g.user_bytes, b->g.user_bytes);
	D(a->g.intern_hits != b->g.intern_hits, " intern_hits %" PRIu64 "->%" PRIu64, a->g.intern_hits, b->g.intern_hits);
	D(a->g.intern_bytes_saved != b->g.intern_bytes_saved, " intern_bytes_saved %" PRIu64 "->%" PRIu64,
	  a->g.intern_bytes_saved, b->g.intern_bytes_saved);
	D(a->handles != b->handles, " session_handles %" PRIu64 "->%" PRIu64, a->handles, b->handles);
	D(a->nfds != b->nfds, " open fds %d->%d", a->nfds, b->nfds);
	D(a->nmaps != b->nmaps, " mappings %d->%d", a->nmaps, b->nmaps);
	for (k = 0; k < a->nh && k < b->nh; k++) {
		const struct obj_state *x = &a->o[k], *y = &b->o[k];

		D(x->ret != y->ret, " handle #%d: rp_info %s->%s", k, en(x->ret), en(y->ret));
		if (x->ret || y->ret)
			continue;
		D(x->info.id != y->info.id, " handle #%d: id %" PRIu64 "->%" PRIu64, k, x->info.id, y->info.id);
		D(x->info.refs != y->info.refs, " id %" PRIu64 ": refs %" PRIu64 "->%" PRIu64, x->info.id,
		  x->info.refs, y->info.refs);
		D(x->info.flags != y->info.flags, " id %" PRIu64 ": flags %#x->%#x", x->info.id,
		  x->info.flags, y->info.flags);
		D(x->info.size != y->info.size, " id %" PRIu64 ": size changed", x->info.id);
		D(x->hash != y->hash, " id %" PRIu64 ": contents changed", x->info.id);
	}
#undef D
}

/* ------------------------------------------------------------------------ */
/* Scenarios                                                                  */

struct scenario {
	const char *name;
	int (*setup)(struct ctx *c);	/* 0 or a reason to give up */
	long (*call)(struct ctx *c);	/* the library call under faults */
	/* a successful call: check it and let go of what it made */
	void (*undo)(struct ctx *c, long ret, const char *name);
	/* after a failed call, beyond the snapshot: 0 or complain */
	void (*after_fail)(struct ctx *c, const char *name);
	int errs[4];
	/* before the snapshot of a failed call: undo what succeeded beside it */
	void (*fixup)(struct ctx *c);
	/*
	 * munmap() that fails to split the second time leaves the first split
	 * done (mm/mmap.c, not refpool): the number of VMAs may change.
	 */
	bool vmas_may_split;			/* errnos a failure may give, ENOMEM first */
};

static rp_handle_t hold(struct ctx *c, rp_handle_t h)
{
	if (c->nh < MAXH)
		c->h[c->nh++] = h;
	return h;
}

static int new_obj(struct ctx *c, uint64_t size, uint32_t nslots, rp_handle_t *h)
{
	int ret = rp_create(c->p, size, nslots, 0, h);

	if (ret)
		return ret;
	if (size) {
		memset(big, 0x5a, size < sizeof(big) ? size : sizeof(big));
		big[0] = (uint8_t)size;
		if (size <= sizeof(big))
			rp_write(c->p, *h, 0, big, size);
	}
	hold(c, *h);
	return 0;
}

/* every scenario starts with one object in its session */
static int setup_base(struct ctx *c)
{
	rp_handle_t h;

	if (rp_open(&c->p))
		return -1;
	return new_obj(c, 40, 2, &h);
}

static void check_new_handle(struct ctx *c, rp_handle_t h, const char *name,
			     uint64_t size, uint32_t flags)
{
	struct rp_info info;
	int ret = rp_info(c->p, h, &info);

	if (ret)
		fail("%s: succeeded under a fault, but its handle %u: rp_info %s", name, h, en(ret));
	else if (info.size != size || info.refs < 1 || (info.flags & flags) != flags)
		fail("%s: succeeded under a fault, but size %" PRIu64 " refs %" PRIu64 " flags %#x",
		     name, info.size, info.refs, info.flags);
}

static void undo_put(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	(void)name;
	rp_put(c->p, c->made);
}

/* open: the session path */
static long call_open(struct ctx *c)
{
	int fd = open("/dev/refpool", O_RDWR | O_CLOEXEC);

	c->fd = fd;
	return fd < 0 ? -errno : 0;
}

static void undo_close_fd(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	(void)name;
	close(c->fd);
}

/* open with no other session and no object of the user: makes its entry */
static int setup_open_alone(struct ctx *c)
{
	rp_close(ctl);
	ctl = NULL;
	c->p = NULL;
	return 0;
}

static long call_version(struct ctx *c)
{
	struct refpool_version v;
	int ret = ioctl(rp_fd(c->p), REFPOOL_IOC_VERSION, &v);

	return ret < 0 ? -errno : 0;
}

static void undo_none(struct ctx *c, long ret, const char *name)
{
	(void)c;
	(void)ret;
	(void)name;
}

#define CREATE_CALL(fname, sz, ns, fl)						\
static long fname(struct ctx *c)						\
{										\
	c->len = sz;								\
	c->flags = fl;								\
	return rp_create(c->p, sz, ns, fl, &c->made);				\
}
CREATE_CALL(call_create_inline, 8, 0, 0)
CREATE_CALL(call_create_slab, 200, 0, 0)
CREATE_CALL(call_create_pages, 3 * 4096 + 5, 0, 0)
CREATE_CALL(call_create_slots, 16, 5, 0)
CREATE_CALL(call_create_maxslots, 0, 4096, RP_SEALED)

static long call_create_from(struct ctx *c)
{
	c->len = 300;
	c->flags = RP_SEALED;
	memset(c->data, 0xc3, c->len);
	return rp_create_from(c->p, c->data, c->len, RP_SEALED, &c->made);
}

static long call_create_from_pages(struct ctx *c)
{
	c->len = 9000;
	memset(c->data, 0x3c, c->len);
	return rp_create_from(c->p, c->data, c->len, 0, &c->made);
}

static void undo_create(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	check_new_handle(c, c->made, name, c->len, c->flags);
	rp_put(c->p, c->made);
}

static int setup_one(struct ctx *c)
{
	return setup_base(c) || new_obj(c, 5000, 3, &c->made2[0]);
}

static long call_dup(struct ctx *c)
{
	return rp_dup(c->p, c->made2[0], &c->made);
}

/* put of the last handle of an object that links to others (a cascade) */
static int setup_chain(struct ctx *c)
{
	rp_handle_t a, b, d;

	if (setup_base(c) || new_obj(c, 100, 2, &a) || rp_create(c->p, 20, 1, 0, &b) ||
	    rp_create(c->p, 5000, 0, 0, &d))
		return -1;
	rp_link(c->p, b, 0, d);
	rp_link(c->p, a, 0, b);
	rp_link(c->p, a, 1, d);
	rp_put(c->p, b);
	rp_put(c->p, d);
	if (rp_dup(c->p, a, &c->made2[0]))
		return -1;
	c->nh--;	/* a itself is not checked: its last handle goes */
	c->made2[1] = a;
	return 0;
}

static long call_put_last(struct ctx *c)
{
	long ret = rp_put(c->p, c->made2[1]);

	if (ret)
		return ret;
	return rp_put(c->p, c->made2[0]);
}

static long call_info(struct ctx *c)
{
	struct rp_info info;

	return rp_info(c->p, c->made2[0], &info);
}

static long call_read(struct ctx *c)
{
	return rp_read(c->p, c->made2[0], 10, big, 4000) == 4000 ? 0 : -EIO;
}

static long call_write_small(struct ctx *c)
{
	return rp_write(c->p, c->made2[0], 5, "hello", 5) == 5 ? 0 : -EIO;
}

static int setup_plain(struct ctx *c)
{
	return setup_base(c) || new_obj(c, 5000, 0, &c->made2[0]);
}

static long call_write_big(struct ctx *c)
{
	int64_t ret;

	memset(c->data, 0x77, 4000);
	ret = rp_write(c->p, c->made2[0], 900, c->data, 4000);
	return ret < 0 ? ret : 0;
}

/* a failed write must leave the contents as they were: the snapshot */
static void undo_write(struct ctx *c, long ret, const char *name)
{
	(void)c;
	(void)ret;
	(void)name;
}

static long call_seal(struct ctx *c)
{
	return rp_seal(c->p, c->made2[0]);
}

static long call_stats(struct ctx *c)
{
	struct rp_stats st;

	return rp_stats(c->p, &st);
}

static long call_export(struct ctx *c)
{
	return rp_export(c->p, c->made2[0], &c->fd);
}

static void undo_export(struct ctx *c, long ret, const char *name)
{
	rp_handle_t h;

	(void)ret;
	if (rp_import(c->p, c->fd, &h))
		fail("%s: succeeded under a fault, but its fd does not import", name);
	else
		rp_put(c->p, h);
	close(c->fd);
}

static int setup_exported(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return rp_export(c->p, c->made2[0], &c->fd2);
}

static long call_import(struct ctx *c)
{
	return rp_import(c->p, c->fd2, &c->made);
}

static long call_publish(struct ctx *c)
{
	return rp_publish(c->p, c->made2[0], &c->tok);
}

static void undo_publish(struct ctx *c, long ret, const char *name)
{
	rp_handle_t h;
	struct rp_info a, b;

	(void)ret;
	if (rp_lookup(c->p, &c->tok, &h)) {
		fail("%s: succeeded under a fault, but its token does not look up", name);
		return;
	}
	rp_info(c->p, h, &a);
	rp_info(c->p, c->made2[0], &b);
	if (a.id != b.id)
		fail("%s: the token names id %" PRIu64 ", not %" PRIu64, name, a.id, b.id);
	rp_put(c->p, h);
}

static int setup_published(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return rp_publish(c->p, c->made2[0], &c->tok);
}

static long call_pin(struct ctx *c)
{
	return rp_pin(c->p, c->made2[0], &c->tok);
}

static void undo_pin(struct ctx *c, long ret, const char *name)
{
	undo_publish(c, ret, name);
	if (rp_unpin(c->p, &c->tok))
		fail("%s: succeeded under a fault, but the token is not pinned", name);
}

static long call_lookup(struct ctx *c)
{
	return rp_lookup(c->p, &c->tok, &c->made);
}

static int setup_pinned(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return rp_pin(c->p, c->made2[0], &c->tok);
}

static long call_unpin(struct ctx *c)
{
	return rp_unpin(c->p, &c->tok);
}

static void undo_unpinned(struct ctx *c, long ret, const char *name)
{
	(void)c;
	(void)ret;
	(void)name;
}

/* a pin a failed unpin left must go at teardown */
static void after_unpin_fail(struct ctx *c, const char *name)
{
	if (rp_unpin(c->p, &c->tok))
		fail("%s: a failed unpin left the token unpinned", name);
}

/* PINS: the user's pins, listed into a buffer */
static long call_list_pins(struct ctx *c)
{
	int ret = rp_list_pins(c->p, (struct rp_pin_info *)(void *)c->data, 8);

	return ret < 0 ? ret : 0;
}

static void undo_list_pins(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	if (rp_unpin(c->p, &c->tok))
		fail("%s: the listed pin could not be unpinned", name);
}

static void after_list_pins_fail(struct ctx *c, const char *name)
{
	undo_list_pins(c, 0, name);
}

/* A scenario for an optional part of the module: 1 (not run) without it. */
static int need_feature(struct ctx *c, uint64_t feature)
{
	struct refpool_version v;

	if (ioctl(rp_fd(c->p), REFPOOL_IOC_VERSION, &v) || !(v.features & feature))
		return 1;
	return 0;
}

static int setup_watchable(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return need_feature(c, REFPOOL_FEAT_EVENTS);
}

static long call_watch(struct ctx *c)
{
	return rp_watch(c->p, c->made2[0], RP_EV_FREED | RP_EV_SEALED, 7);
}

static int setup_watchable_token(struct ctx *c)
{
	if (setup_one(c) || rp_publish(c->p, c->made2[0], &c->tok))
		return -1;
	return need_feature(c, REFPOOL_FEAT_EVENTS);
}

static long call_watch_token(struct ctx *c)
{
	return rp_watch_token(c->p, &c->tok, RP_EV_FREED, 7);
}

static long call_watch_gc(struct ctx *c)
{
	return rp_watch(c->p, 0, RP_EV_GC, 7);
}

static uint64_t session_watches(struct ctx *c)
{
	struct rp_stats st;

	return rp_stats(c->p, &st) ? ~0ULL : st.session_watches;
}

/* a watch made under a fault waits for what it was asked: c->watches_add events */
static void undo_watch(struct ctx *c, long ret, const char *name)
{
	uint64_t n = session_watches(c);

	(void)ret;
	if (n != c->watches0 + c->watches_add)
		fail("%s: succeeded under a fault, but the session has %" PRIu64 " watches, not %" PRIu64,
		     name, n, c->watches0 + c->watches_add);
}

/* a refused watch left no watch and no event behind */
static void after_watch_fail(struct ctx *c, const char *name)
{
	struct rp_stats st;

	if (rp_stats(c->p, &st) || st.session_watches != c->watches0 || st.session_events)
		fail("%s: refused, but the session has %" PRIu64 " watches (was %" PRIu64 "), %" PRIu64 " events",
		     name, st.session_watches, c->watches0, st.session_events);
}

static long call_watch_both(struct ctx *c)
{
	c->watches_add = 2;
	return call_watch(c);
}

/* the object has a watcher: the new watch joins its key's ring */
static int setup_watched(struct ctx *c)
{
	int ret = setup_watchable(c);

	if (ret)
		return ret;
	c->watches0 = 2;
	return rp_watch(c->p, c->made2[0], RP_EV_FREED | RP_EV_SEALED, 1) ? -1 : 0;
}

/* the object is sealed: SEALED fires at once, FREED waits */
static int setup_watchable_sealed(struct ctx *c)
{
	int ret = setup_watchable(c);

	if (ret)
		return ret;
	return rp_seal(c->p, c->made2[0]) ? -1 : 0;
}

static long call_watch_sealed(struct ctx *c)
{
	c->watches_add = 1;	/* SEALED was queued at once */
	return call_watch(c);
}

static void undo_watch_sealed(struct ctx *c, long ret, const char *name)
{
	struct rp_event ev;

	undo_watch(c, ret, name);
	if (rp_read_events(c->p, &ev, 1, 0) != 1 || ev.events != RP_EV_SEALED || ev.cookie != 7)
		fail("%s: succeeded under a fault, but no SEALED event was queued", name);
}

static long call_watch_token1(struct ctx *c)
{
	c->watches_add = 1;
	return call_watch_token(c);
}

static long call_watch_gc1(struct ctx *c)
{
	c->watches_add = 1;
	return call_watch_gc(c);
}

/* the last put of a watched object: FREED is queued, nothing allocated */
static int setup_watched_freed(struct ctx *c)
{
	int ret = setup_watchable(c);

	if (ret)
		return ret;
	if (rp_create(c->p, 16, 0, 0, &c->made))
		return -1;
	return rp_watch(c->p, c->made, RP_EV_FREED, 3) ? -1 : 0;
}

static long call_put_watched(struct ctx *c)
{
	return rp_put(c->p, c->made);
}

static void undo_put_watched(struct ctx *c, long ret, const char *name)
{
	struct rp_event ev;

	(void)ret;
	if (rp_read_events(c->p, &ev, 1, 0) != 1 || ev.events != RP_EV_FREED || ev.cookie != 3)
		fail("%s: no FREED event after the put", name);
}

/* events queued: reading them allocates nothing and loses none */
static int setup_events_queued(struct ctx *c)
{
	int ret = setup_watched_freed(c);

	if (ret)
		return ret;
	return rp_put(c->p, c->made) ? -1 : 0;
}

static long call_read_events(struct ctx *c)
{
	struct rp_event ev[2];
	int ret = rp_read_events(c->p, ev, 2, 0);

	return ret == 1 && ev[0].events == RP_EV_FREED ? 0 : ret < 0 ? ret : -EIO;
}

static int setup_dmabuf(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return need_feature(c, REFPOOL_FEAT_DMABUF);
}

static long call_export_dmabuf(struct ctx *c)
{
	return rp_export_dmabuf(c->p, c->made2[0], O_CLOEXEC | O_RDWR, &c->fd);
}

static int setup_small(struct ctx *c);

/* a dma-buf that succeeded under a fault is the object, and goes with its fd */
static void undo_dmabuf(struct ctx *c, long ret, const char *name)
{
	struct rp_info a, b;
	rp_handle_t h;

	(void)ret;
	if (rp_import(c->p, c->fd, &h)) {
		fail("%s: succeeded under a fault, but its dma-buf does not import", name);
	} else {
		rp_info(c->p, h, &a);
		rp_info(c->p, c->made2[0], &b);
		if (a.id != b.id)
			fail("%s: the dma-buf imports as id %" PRIu64 ", not %" PRIu64, name, a.id, b.id);
		rp_put(c->p, h);
	}
	close(c->fd);
}

/* a small object: the export moves it into pages, the exporter's */
static int setup_dmabuf_small(struct ctx *c)
{
	if (setup_small(c))
		return -1;
	return need_feature(c, REFPOOL_FEAT_DMABUF);
}

/* an object with a dma-buf on fd2 */
static int setup_dmabuf_exported(struct ctx *c)
{
	int ret = setup_dmabuf(c);

	if (ret)
		return ret;
	c->maplen = 5000;	/* setup_one's object */
	return rp_export_dmabuf(c->p, c->made2[0], O_CLOEXEC | O_RDWR, &c->fd2);
}

static long call_import_dmabuf(struct ctx *c)
{
	return rp_import(c->p, c->fd2, &c->made);
}

static long call_mmap_dmabuf(struct ctx *c)
{
	void *m = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd2, 0);

	if (m == MAP_FAILED)
		return -errno;
	c->map = m;
	return 0;
}

/* ... and vgem, to import it: 1 (not run) without vgem */
static int setup_dmabuf_vgem(struct ctx *c)
{
	char path[32];
	int ret = setup_dmabuf_exported(c);

	if (ret)
		return ret;
	c->drm = vgem_open(path, sizeof(path));
	if (c->drm < 0 && vgem_load() == 0)
		c->drm = vgem_open(path, sizeof(path));
	if (c->drm < 0) {
		c->drm = 0;
		return 1;
	}
	return 0;
}

/* PRIME: the device attaches and maps the dma-buf (DMA_BIDIRECTIONAL) */
static long call_prime_import(struct ctx *c)
{
	return vgem_prime_import(c->drm, c->fd2, &c->made);
}

static void undo_prime_import(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	if (vgem_gem_close(c->drm, c->made))
		fail("%s: succeeded under a fault, but GEM_CLOSE of its handle failed", name);
	if (rp_seal(c->p, c->made2[0]))
		fail("%s: after GEM_CLOSE, rp_seal() is refused: the device mapping is still counted", name);
}

static unsigned intern_seq;

static long intern_len(struct ctx *c, uint64_t len)
{
	int ret;

	memset(c->data, 0, len);
	snprintf((char *)c->data, len, "fi-%u-%d", intern_seq, getpid());
	c->len = len;
	ret = rp_intern(c->p, c->data, len, &c->made);
	return ret < 0 ? ret : 0;
}

static int setup_intern_new(struct ctx *c)
{
	intern_seq++;	/* a value nobody has interned */
	return setup_base(c);
}

static long call_intern_small(struct ctx *c)
{
	return intern_len(c, 12);
}

static long call_intern_big(struct ctx *c)
{
	return intern_len(c, 300);
}

static long call_intern_pages(struct ctx *c)
{
	return intern_len(c, 6000);
}

static int setup_intern_existing(struct ctx *c)
{
	rp_handle_t h;

	intern_seq++;
	if (setup_base(c) || intern_len(c, 40))
		return -1;
	h = c->made;
	hold(c, h);
	c->made2[0] = h;
	return 0;
}

static long call_intern_existing(struct ctx *c)
{
	int ret = rp_intern(c->p, c->data, c->len, &c->made);

	return ret < 0 ? ret : 0;
}

static void undo_intern(struct ctx *c, long ret, const char *name)
{
	struct rp_info info;

	(void)ret;
	if (rp_info(c->p, c->made, &info) || info.size != c->len ||
	    info.flags != (RP_SEALED | RP_INTERNED))
		fail("%s: succeeded under a fault, but the object is not right", name);
	else if (rp_read(c->p, c->made, 0, big, c->len) != (int64_t)c->len ||
		 memcmp(big, c->data, c->len))
		fail("%s: succeeded under a fault, but the contents are not the value", name);
	rp_put(c->p, c->made);
}

static int setup_link(struct ctx *c)
{
	if (setup_base(c) || new_obj(c, 30, 4, &c->made2[0]) || new_obj(c, 30, 0, &c->made2[1]) ||
	    new_obj(c, 30, 0, &c->made2[2]))
		return -1;
	return rp_link(c->p, c->made2[0], 1, c->made2[2]);
}

static long call_link(struct ctx *c)
{
	return rp_link(c->p, c->made2[0], 0, c->made2[1]);
}

static long call_link_replace(struct ctx *c)
{
	return rp_link(c->p, c->made2[0], 1, c->made2[1]);
}

static long call_link_clear(struct ctx *c)
{
	return rp_link(c->p, c->made2[0], 1, 0);
}

static long call_get_link(struct ctx *c)
{
	return rp_get_link(c->p, c->made2[0], 1, &c->made);
}

/* garbage: two cycles and a chain hanging off one; one live object */
static int setup_garbage(struct ctx *c)
{
	rp_handle_t a, b, x, y, z;

	if (setup_base(c) || new_obj(c, 10, 1, &c->made2[0]))
		return -1;
	if (rp_create(c->p, 10, 2, 0, &a) || rp_create(c->p, 5000, 1, 0, &b) ||
	    rp_create(c->p, 10, 1, 0, &x) || rp_create(c->p, 10, 0, 0, &y) ||
	    rp_create(c->p, 10, 1, 0, &z))
		return -1;
	rp_link(c->p, a, 0, b);
	rp_link(c->p, b, 0, a);
	rp_link(c->p, a, 1, y);
	rp_link(c->p, x, 0, x);
	rp_link(c->p, z, 0, c->made2[0]);	/* garbage linking to the live one */
	rp_put(c->p, a);
	rp_put(c->p, b);
	rp_put(c->p, x);
	rp_put(c->p, y);
	rp_put(c->p, z);
	return 0;
}

static long call_gc(struct ctx *c)
{
	uint64_t n;

	return rp_gc(c->p, &n);
}

static void undo_gc(struct ctx *c, long ret, const char *name)
{
	struct rp_info info;

	(void)ret;
	/* the live object lost the garbage's link: refs 1 */
	if (rp_info(c->p, c->made2[0], &info) || info.refs != 1)
		fail("%s: after the collection the live object has refs %" PRIu64 ", not 1", name, info.refs);
}

/*
 * The collector makes one event per subscriber when it is done: a fault
 * there loses the event, which the subscriber learns as an OVERFLOW, and
 * the collection itself succeeds.
 */
static int setup_garbage_subscribed(struct ctx *c)
{
	if (setup_garbage(c))
		return -1;
	if (need_feature(c, REFPOOL_FEAT_EVENTS))
		return 1;
	return rp_watch(c->p, 0, RP_EV_GC, 5) ? -1 : 0;
}

static long call_gc_subscribed(struct ctx *c)
{
	return rp_gc(c->p, &c->collected);
}

static void undo_gc_subscribed(struct ctx *c, long ret, const char *name)
{
	struct rp_event ev[4];
	int n;

	undo_gc(c, ret, name);
	n = rp_read_events(c->p, ev, 4, 0);
	if (n != 1 || !((ev[0].events == RP_EV_GC && ev[0].id == c->collected && ev[0].cookie == 5) ||
			(ev[0].events == RP_EV_OVERFLOW && !ev[0].id && !ev[0].cookie)))
		fail("%s: %d events after the collection; the first %#x id %" PRIu64,
		     name, n, n > 0 ? ev[0].events : 0, n > 0 ? ev[0].id : 0);
}

static long call_batch_dup(struct ctx *c)
{
	struct rp_op op = { .op = RP_OP_DUP, .handle = c->made2[0] };
	int ret = rp_batch(c->p, &op, 1);

	if (ret)
		return ret;
	c->made = op.out;
	return op.result;
}

static long call_batch_put(struct ctx *c)
{
	struct rp_op op = { .op = RP_OP_PUT, .handle = c->made2[1] };
	int ret = rp_batch(c->p, &op, 1);

	return ret ? ret : op.result;
}

static int setup_two_handles(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return rp_dup(c->p, c->made2[0], &c->made2[1]);
}

static void undo_batch_put(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	if (rp_put(c->p, c->made2[1]) != -EBADF)
		fail("%s: succeeded under a fault, but the handle is still there", name);
}

/* 40 dups: two chunks; a failed dup leaves the others */
static long call_batch_many(struct ctx *c)
{
	struct rp_op ops[40];
	int k, ret, bad = 0;

	memset(ops, 0, sizeof(ops));
	for (k = 0; k < 40; k++) {
		ops[k].op = RP_OP_DUP;
		ops[k].handle = c->made2[0];
	}
	ret = rp_batch(c->p, ops, 40);
	if (ret)
		return ret;
	c->nmade2 = 0;
	for (k = 0; k < 40; k++) {
		if (ops[k].result == 0)
			c->made2[8 + c->nmade2++] = ops[k].out;
		else if (!bad)
			bad = ops[k].result;
	}
	return bad;
}

static void undo_batch_many(struct ctx *c, long ret, const char *name)
{
	int k;

	(void)ret;
	(void)name;
	for (k = 0; k < c->nmade2; k++)
		rp_put(c->p, c->made2[8 + k]);
	c->nmade2 = 0;
}

/* a batch whose op failed: the ops that succeeded are there; let them go */
static void fixup_batch_many(struct ctx *c)
{
	undo_batch_many(c, 0, "");
}

static int setup_small(struct ctx *c)
{
	return setup_base(c) || new_obj(c, 100, 0, &c->made2[0]);	/* slab payload: mmap promotes it */
}

static long map_prot(struct ctx *c, int prot)
{
	struct rp_info info;

	rp_info(c->p, c->made2[0], &info);
	c->maplen = info.size;
	return rp_map(c->p, c->made2[0], prot, &c->map);
}

static long call_map_ro(struct ctx *c)
{
	return map_prot(c, PROT_READ);
}

static long call_map_rw(struct ctx *c)
{
	return map_prot(c, PROT_READ | PROT_WRITE);
}

static void undo_map(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	if (rp_read(c->p, c->made2[0], 0, big, c->maplen) != (int64_t)c->maplen ||
	    memcmp(big, c->map, c->maplen))
		fail("%s: succeeded under a fault, but the mapping differs from rp_read()", name);
	rp_unmap(c->map, c->maplen);
	c->map = NULL;
	if (rp_seal(c->p, c->made2[0]))
		fail("%s: after unmapping, rp_seal() is refused: a writable mapping was counted twice", name);
}

/* a refused writable map must leave no writable mapping counted */
static void after_map_fail(struct ctx *c, const char *name)
{
	int ret = rp_seal(c->p, c->made2[0]);

	if (ret)
		fail("%s: after the map failed, rp_seal() gives %s: a writable mapping is still counted",
		     name, en(ret));
}

static int setup_mapped(struct ctx *c)
{
	if (setup_base(c) || new_obj(c, 3 * 4096, 0, &c->made2[0]))
		return -1;
	c->maplen = 3 * 4096;
	return rp_map(c->p, c->made2[0], PROT_READ | PROT_WRITE, &c->map);
}

/* munmap of the middle page splits the VMA: allocations, vm_open */
static long call_munmap_middle(struct ctx *c)
{
	return munmap((char *)c->map + 4096, 4096) ? -errno : 0;
}

static void undo_munmap_middle(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	((volatile char *)c->map)[0] = 1;
	((volatile char *)c->map)[2 * 4096] = 2;
	munmap(c->map, 4096);
	munmap((char *)c->map + 2 * 4096, 4096);
	c->map = NULL;
	if (rp_seal(c->p, c->made2[0]))
		fail("%s: after unmapping every piece, rp_seal() is refused: writable mappings miscounted", name);
}

static void after_munmap_fail(struct ctx *c, const char *name)
{
	/* the mapping is whole: write through it, unmap, seal */
	memset(c->map, 0x11, 3 * 4096);
	munmap(c->map, 3 * 4096);
	c->map = NULL;
	if (rp_read(c->p, c->made2[0], 0, big, 3 * 4096) != 3 * 4096 || big[8192] != 0x11)
		fail("%s: writes through the mapping were lost", name);
	if (rp_seal(c->p, c->made2[0]))
		fail("%s: after a failed split and munmap, rp_seal() is refused", name);
}

/* fork copies the writable mapping (vm_open); a failed fork must undo it */
static long call_fork(struct ctx *c)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(((volatile char *)c->map)[1] == 0x5a ? 0 : 1);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void undo_fork(struct ctx *c, long ret, const char *name)
{
	(void)ret;
	munmap(c->map, 3 * 4096);
	c->map = NULL;
	if (rp_seal(c->p, c->made2[0]))
		fail("%s: after the child exited and the mapping went, rp_seal() is refused", name);
}

static void after_fork_fail(struct ctx *c, const char *name)
{
	undo_fork(c, 0, name);
}

static int setup_socket(struct ctx *c)
{
	if (setup_one(c))
		return -1;
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv);
}

static long call_send(struct ctx *c)
{
	return rp_send(c->sv[0], c->p, c->made2[0]);
}

static void undo_send(struct ctx *c, long ret, const char *name)
{
	rp_handle_t h;

	(void)ret;
	if (rp_recv(c->sv[1], c->p, &h))
		fail("%s: succeeded under a fault, but nothing arrived", name);
	else
		rp_put(c->p, h);
}

static unsigned long consumed;

static int setup_grow(struct ctx *c);

static int refs_of(struct ctx *c, rp_handle_t h, uint64_t *refs)
{
	struct rp_info info;
	int ret = rp_info(c->p, h, &info);

	*refs = info.refs;
	return ret;
}

/*
 * The object in flight is not in the snapshot: a receive that fails after
 * taking the message off the socket (the import failed) loses the file,
 * and so its reference. after_recv_fail() tells which happened.
 */
static int setup_sent(struct ctx *c)
{
	int fl;

	if (setup_socket(c))
		return -1;
	c->nh--;
	fl = fcntl(c->sv[1], F_GETFL);
	fcntl(c->sv[1], F_SETFL, fl | O_NONBLOCK);
	return rp_send(c->sv[0], c->p, c->made2[0]) || refs_of(c, c->made2[0], &c->refs0);
}

static void after_recv_fail(struct ctx *c, const char *name)
{
	struct rp_info info;
	rp_handle_t h;
	int ret = rp_recv(c->sv[1], c->p, &h);

	rp_info(c->p, c->made2[0], &info);
	if (ret == 0) {
		/* the message stayed: refs as before */
		if (info.refs != c->refs0)
			fail("%s: the message stayed, but refs are %" PRIu64 ", not %" PRIu64, name,
			     info.refs, c->refs0);
		rp_put(c->p, h);
	} else if (ret == -EAGAIN) {
		/* the message went with its file: only the handle is left */
		consumed++;
		if (info.refs != c->refs0 - 1)
			fail("%s: the message was consumed, but refs are %" PRIu64 ", not %" PRIu64,
			     name, info.refs, c->refs0 - 1);
	} else {
		fail("%s: receiving again gives %s", name, en(ret));
	}
}

static int setup_sent_grow(struct ctx *c)
{
	int fl;

	if (setup_grow(c) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv))
		return -1;
	c->made2[0] = c->made2[1];
	fl = fcntl(c->sv[1], F_GETFL);
	fcntl(c->sv[1], F_SETFL, fl | O_NONBLOCK);
	c->nh = 1;	/* the probe only: the object in flight is checked apart */
	return rp_send(c->sv[0], c->p, c->made2[0]) || refs_of(c, c->made2[0], &c->refs0);
}

static long call_recv(struct ctx *c)
{
	return rp_recv(c->sv[1], c->p, &c->made);
}

/*
 * A session with 63 handles and none put keeps no spare entry (see
 * module/handle.c), so a call that makes a handle allocates its entry.
 */
static int setup_grow(struct ctx *c)
{
	rp_handle_t h;
	int k;

	if (setup_link(c))
		return -1;
	for (k = 0; k < 70; k++) {
		if (rp_dup(c->p, c->made2[1], &h))
			return -1;
		if (h == 63)
			break;
	}
	if (rp_publish(c->p, c->made2[1], &c->tok) || rp_export(c->p, c->made2[1], &c->fd2))
		return -1;
	return h == 63 ? 0 : -1;
}

static long call_dup1(struct ctx *c)
{
	return rp_dup(c->p, c->made2[1], &c->made);
}

static long call_import2(struct ctx *c)
{
	return rp_import(c->p, c->fd2, &c->made);
}

static long call_batch_dup1(struct ctx *c)
{
	c->made2[0] = c->made2[1];
	return call_batch_dup(c);
}

static const struct scenario scenarios[] = {
	{ "open /dev/refpool", setup_base, call_open, undo_close_fd, NULL, { ENOMEM, ENFILE }, NULL, false },
	{ "open (no session of the user)", setup_open_alone, call_open, undo_close_fd, NULL, { ENOMEM, ENFILE }, NULL, false },
	{ "VERSION", setup_base, call_version, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "CREATE (inline)", setup_base, call_create_inline, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "CREATE (slab payload)", setup_base, call_create_slab, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "CREATE (pages)", setup_base, call_create_pages, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "CREATE (slots)", setup_base, call_create_slots, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "CREATE (4096 slots, sealed)", setup_base, call_create_maxslots, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "CREATE from data (sealed)", setup_base, call_create_from, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "CREATE from data (pages)", setup_base, call_create_from_pages, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "DUP", setup_one, call_dup, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "DUP (the handle table grows)", setup_grow, call_dup1, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "IMPORT (the handle table grows)", setup_grow, call_import2, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "LOOKUP (the handle table grows)", setup_grow, call_lookup, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "GET_LINK (the handle table grows)", setup_grow, call_get_link, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "BATCH dup (the handle table grows)", setup_grow, call_batch_dup1, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "CREATE (the handle table grows)", setup_grow, call_create_inline, undo_create, NULL, { ENOMEM }, NULL, false },
	{ "PUT (last ref, links cascade)", setup_chain, call_put_last, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "INFO", setup_one, call_info, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "READ", setup_one, call_read, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "WRITE (stack bounce)", setup_one, call_write_small, undo_write, NULL, { ENOMEM }, NULL, false },
	{ "WRITE (heap bounce, pages)", setup_plain, call_write_big, undo_write, NULL, { ENOMEM }, NULL, false },
	{ "SEAL", setup_one, call_seal, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "STATS", setup_base, call_stats, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "EXPORT", setup_one, call_export, undo_export, NULL, { ENOMEM, ENFILE }, NULL, false },
	{ "IMPORT", setup_exported, call_import, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "PUBLISH (new token)", setup_one, call_publish, undo_publish, NULL, { ENOMEM }, NULL, false },
	{ "PUBLISH (existing token)", setup_published, call_publish, undo_publish, NULL, { ENOMEM }, NULL, false },
	{ "PUBLISH with PIN", setup_one, call_pin, undo_pin, NULL, { ENOMEM }, NULL, false },
	{ "LOOKUP", setup_published, call_lookup, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "UNPIN", setup_pinned, call_unpin, undo_unpinned, after_unpin_fail, { ENOMEM }, NULL, false },
	{ "PINS (list)", setup_pinned, call_list_pins, undo_list_pins, after_list_pins_fail, { ENOMEM }, NULL, false },
	{ "WATCH (object)", setup_watchable, call_watch_both, undo_watch, after_watch_fail, { ENOMEM }, NULL, false },
	{ "WATCH (object with watchers: the ring)", setup_watched, call_watch_both, undo_watch, after_watch_fail, { ENOMEM }, NULL, false },
	{ "WATCH (sealed object: SEALED at once)", setup_watchable_sealed, call_watch_sealed, undo_watch_sealed, after_watch_fail, { ENOMEM }, NULL, false },
	{ "WATCH (token)", setup_watchable_token, call_watch_token1, undo_watch, after_watch_fail, { ENOMEM }, NULL, false },
	{ "WATCH (collector)", setup_watchable, call_watch_gc1, undo_watch, after_watch_fail, { ENOMEM }, NULL, false },
	{ "PUT (watched: FREED queued)", setup_watched_freed, call_put_watched, undo_put_watched, NULL, { ENOMEM }, NULL, false },
	{ "READ_EVENTS", setup_events_queued, call_read_events, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "GC (a subscriber: its event is made)", setup_garbage_subscribed, call_gc_subscribed, undo_gc_subscribed, NULL, { ENOMEM }, NULL, false },
	{ "EXPORT_DMABUF", setup_dmabuf, call_export_dmabuf, undo_dmabuf, NULL, { ENOMEM, ENFILE }, NULL, false },
	{ "EXPORT_DMABUF (promotes)", setup_dmabuf_small, call_export_dmabuf, undo_dmabuf, NULL, { ENOMEM, ENFILE }, NULL, false },
	{ "IMPORT (a dma-buf)", setup_dmabuf_exported, call_import_dmabuf, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "mmap of a dma-buf (writable)", setup_dmabuf_exported, call_mmap_dmabuf, undo_map, after_map_fail, { ENOMEM }, NULL, false },
	{ "PRIME import of a dma-buf (attach, map)", setup_dmabuf_vgem, call_prime_import, undo_prime_import, after_map_fail, { ENOMEM }, NULL, false },
	{ "INTERN (new, 12 bytes)", setup_intern_new, call_intern_small, undo_intern, NULL, { ENOMEM }, NULL, false },
	{ "INTERN (new, 300 bytes)", setup_intern_new, call_intern_big, undo_intern, NULL, { ENOMEM }, NULL, false },
	{ "INTERN (new, 6000 bytes)", setup_intern_new, call_intern_pages, undo_intern, NULL, { ENOMEM }, NULL, false },
	{ "INTERN (existing)", setup_intern_existing, call_intern_existing, undo_intern, NULL, { ENOMEM }, NULL, false },
	{ "LINK", setup_link, call_link, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "LINK (replace)", setup_link, call_link_replace, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "LINK (clear)", setup_link, call_link_clear, undo_none, NULL, { ENOMEM }, NULL, false },
	{ "GET_LINK", setup_link, call_get_link, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "GC (collector, garbage present)", setup_garbage, call_gc, undo_gc, NULL, { ENOMEM }, NULL, false },
	{ "BATCH (dup)", setup_one, call_batch_dup, undo_put, NULL, { ENOMEM }, NULL, false },
	{ "BATCH (put)", setup_two_handles, call_batch_put, undo_batch_put, NULL, { ENOMEM }, NULL, false },
	{ "BATCH (40 dups, 2 chunks)", setup_one, call_batch_many, undo_batch_many, NULL, { ENOMEM }, fixup_batch_many, false },
	{ "mmap read-only (promotes)", setup_small, call_map_ro, undo_map, NULL, { ENOMEM }, NULL, false },
	{ "mmap writable (promotes)", setup_small, call_map_rw, undo_map, after_map_fail, { ENOMEM }, NULL, false },
	{ "mmap writable (pages)", setup_one, call_map_rw, undo_map, after_map_fail, { ENOMEM }, NULL, false },
	{ "munmap (splits a writable mapping)", setup_mapped, call_munmap_middle, undo_munmap_middle, after_munmap_fail, { ENOMEM }, NULL, true },
	{ "fork (with a writable mapping)", setup_mapped, call_fork, undo_fork, after_fork_fail, { ENOMEM, EAGAIN }, NULL, false },
	{ "SCM_RIGHTS send", setup_socket, call_send, undo_send, NULL, { ENOMEM, ENOBUFS }, NULL, false },
	{ "SCM_RIGHTS receive", setup_sent, call_recv, undo_put, after_recv_fail, { ENOMEM, ENOBUFS, EBADMSG, EMFILE }, NULL, false },
	{ "SCM_RIGHTS receive (table grows)", setup_sent_grow, call_recv, undo_put, after_recv_fail, { ENOMEM, ENOBUFS, EBADMSG, EMFILE }, NULL, false },
};

#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static void teardown(struct ctx *c)
{
	if (c->map)
		munmap(c->map, c->maplen);
	if (c->fd2 > 0)
		close(c->fd2);
	if (c->sv[0] > 0)
		close(c->sv[0]);
	if (c->sv[1] > 0)
		close(c->sv[1]);
	if (c->drm > 0)
		close(c->drm);
	if (c->p)
		rp_close(c->p);	/* every handle goes with the session */
	memset(c, 0, sizeof(*c));
}

static bool err_ok(const struct scenario *s, long ret)
{
	unsigned k;

	for (k = 0; k < 4 && s->errs[k]; k++)
		if (ret == -s->errs[k])
			return true;
	return false;
}

struct result {
	unsigned long faults, errors, absorbed, runs;
};

/* The pool's own counters, to compare before and after each run. */
static bool pool_counts(struct rp_stats *st)
{
	struct rp_pool *p;
	int ret;

	if (ctl)
		return rp_stats(ctl, st) == 0;
	if (rp_open(&p))
		return false;
	ret = rp_stats(p, st);
	rp_close(p);
	return ret == 0;
}

static void run_scenario(const struct scenario *s, struct result *r)
{
	struct rp_stats g0, g1;
	struct snap a, b;
	char d[1024];
	unsigned n;

	for (n = 1; n <= opt.max_nth; n++) {
		struct ctx c;
		bool injected, alone;
		long ret;

		memset(&c, 0, sizeof(c));
		if (!pool_counts(&g0)) {
			fail("%s: rp_stats failed", s->name);
			return;
		}
		ret = s->setup(&c);
		if (ret > 0) {
			printf("refpool-faultinject: %s: not run, the module lacks that part\n", s->name);
			teardown(&c);
			return;
		}
		if (ret) {
			fail("%s: set-up failed", s->name);
			teardown(&c);
			return;
		}
		alone = !ctl;
		take(&c, &a);
		arm(n);
		ret = s->call(&c);
		injected = disarm();
		r->runs++;
		if (injected)
			r->faults++;
		if (ret == 0) {
			if (injected)
				r->absorbed++;
			s->undo(&c, ret, s->name);
		} else if (!injected) {
			fail("%s: failed with %s with no fault injected (fail-nth %u)", s->name, en(ret), n);
		} else {
			r->errors++;
			if (!err_ok(s, ret))
				fail("%s: fault %u gave %s, expected -%s", s->name, n, en(ret),
				     strerrorname_np(s->errs[0]));
			if (s->fixup)
				s->fixup(&c);
			take(&c, &b);
			if (s->vmas_may_split && b.nmaps == a.nmaps + 1)
				b.nmaps = a.nmaps;
			diff(&a, &b, d, sizeof(d));
			if (d[0])
				fail("%s: fault %u (%s) changed:%s", s->name, n, en(ret), d);
			if (s->after_fail)
				s->after_fail(&c, s->name);
			if (opt.verbose)
				printf("  %s: fault %u -> %s\n", s->name, n, en(ret));
		}
		if (alone && rp_open(&ctl)) {
			fail("%s: cannot reopen the control session", s->name);
			exit(1);
		}
		teardown(&c);
		/* everything the run made is gone again */
		if (pool_counts(&g1) && (g1.objects != g0.objects || g1.bytes != g0.bytes ||
					 g1.interned != g0.interned || g1.user_bytes != g0.user_bytes)) {
			uint64_t col = 0;

			/* garbage a failed call left would be a leak of the call, too */
			if (ctl)
				rp_gc(ctl, &col);
			pool_counts(&g1);
			fail("%s: fail-nth %u (%s%s): after letting go, the pool has %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned, was %" PRIu64 ", %" PRIu64 ", %" PRIu64 "%s",
			     s->name, n, injected ? "injected, " : "", en(ret), g1.objects, g1.bytes,
			     g1.interned, g0.objects, g0.bytes, g0.interned,
			     col ? " (garbage was left: rp_gc collected some)" : "");
		}
		if (!injected)
			return;
	}
	fail("%s: still injecting at fail-nth %u", s->name, opt.max_nth);
}

/* ------------------------------------------------------------------------ */

static int kmemleak_report(bool print)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	char line[512];
	FILE *f;
	int n = 0;

	if (!write_file(path, "scan"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		n += !strncmp(line, "unreferenced object", 19);
		if (print && n && n <= 10)
			printf("  kmemleak: %s", line);
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "max-nth", required_argument, 0, 'n' },
		{ "only", required_argument, 0, 'o' },
		{ "list", no_argument, 0, 'l' },
		{ "verbose", no_argument, 0, 'v' },
		{ 0, 0, 0, 0 },
	};
	struct result res[NSCEN], tot = { 0 };
	struct rp_stats base, end;
	char path[64];
	unsigned k;
	int ch, leaks;
	double t0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': opt.max_nth = atoi(optarg); break;
		case 'o': opt.only = optarg; break;
		case 'v': opt.verbose = 1; break;
		case 'l':
			for (k = 0; k < NSCEN; k++)
				printf("%s\n", scenarios[k].name);
			return 0;
		default:
			fprintf(stderr, "usage: refpool-faultinject [--max-nth N] [--only NAME] [--list] [--verbose]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	nth_fd = open(path, O_RDWR | O_CLOEXEC);
	if (nth_fd < 0) {
		printf("SKIP refpool-faultinject: no %s (a kernel without CONFIG_FAULT_INJECTION: use the debug kernel)\n", path);
		return KSFT_SKIP;
	}
	if (access("/sys/kernel/debug/failslab", F_OK)) {
		printf("SKIP refpool-faultinject: no /sys/kernel/debug/failslab (CONFIG_FAILSLAB, debugfs)\n");
		return KSFT_SKIP;
	}
	if (rp_open(&ctl)) {
		printf("SKIP refpool-faultinject: cannot open /dev/refpool\n");
		return KSFT_SKIP;
	}
	if (!knobs_set()) {
		knobs_restore();
		printf("SKIP refpool-faultinject: cannot set the failslab attributes\n");
		return KSFT_SKIP;
	}
	atexit(knobs_restore);
	/* faults in page faults of our own memory would be noise: no page faults */
	if (mlockall(MCL_CURRENT))
		perror("refpool-faultinject: mlockall (going on)");
	/* what earlier runs left is not ours */
	rp_gc(ctl, NULL);
	leaks = kmemleak_report(false);
	write_file("/sys/kernel/debug/kmemleak", "clear");
	rp_stats(ctl, &base);
	t0 = now_s();
	printf("refpool-faultinject: %zu scenarios; pool before: %" PRIu64 " objects, %" PRIu64 " bytes%s\n",
	       NSCEN, base.objects, base.bytes, leaks < 0 ? "; no kmemleak" : "");

	for (k = 0; k < NSCEN; k++) {
		unsigned long f0 = failures;

		memset(&res[k], 0, sizeof(res[k]));
		if (opt.only && !strstr(scenarios[k].name, opt.only))
			continue;
		run_scenario(&scenarios[k], &res[k]);
		printf("refpool-faultinject: %-36s %5lu faults injected: %5lu errors, %4lu absorbed%s\n",
		       scenarios[k].name, res[k].faults, res[k].errors, res[k].absorbed,
		       failures > f0 ? "  FAIL" : "");
		tot.faults += res[k].faults;
		tot.errors += res[k].errors;
		tot.absorbed += res[k].absorbed;
		tot.runs += res[k].runs;
	}

	rp_gc(ctl, NULL);
	rp_stats(ctl, &end);
	if (end.objects != base.objects || end.bytes != base.bytes || end.interned != base.interned)
		fail("at the end the pool has %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned; before: %" PRIu64 ", %" PRIu64 ", %" PRIu64,
		     end.objects, end.bytes, end.interned, base.objects, base.bytes, base.interned);
	rp_close(ctl);
	ctl = NULL;
	knobs_restore();
	/* kmemleak reports objects older than 5 s */
	leaks = -1;
	if (!access("/sys/kernel/debug/kmemleak", F_OK)) {
		sleep(6);
		kmemleak_report(false);
		leaks = kmemleak_report(true);
		if (leaks > 0)
			fail("kmemleak: %d unreferenced objects (first ones above)", leaks);
	}
	if (consumed)
		printf("refpool-faultinject: note: %lu failed receives consumed their message (the import failed after recvmsg): the reference in flight is lost, by the library's design\n",
		       consumed);
	printf("refpool-faultinject: %lu faults injected in %lu runs (%lu clean errors, %lu absorbed), %.0f s; kmemleak: %s; %lu failures\n",
	       tot.faults, tot.runs, tot.errors, tot.absorbed, now_s() - t0,
	       leaks < 0 ? "not available" : leaks ? "LEAKS" : "clean", failures);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
