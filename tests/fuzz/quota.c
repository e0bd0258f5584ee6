// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, the quota phase: halfway through a run of two users, the
 * parent stops every worker thread between two operations, lowers the
 * per-user limits (max_user_bytes, then max_user_objects) to a little above
 * what the larger of the two users holds, and has a probe process of the
 * first user fill its quota - it must be refused with -EDQUOT, having
 * stayed within the limit - while a probe of the second user, under the
 * same limit, must still create. Then the limits are restored and the
 * workers go on. SPEC §1: a refused call is -EDQUOT for the user's limit;
 * no single user can exhaust the pool for the others.
 */
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>

#include "fuzz.h"

#define PARAMS		"/sys/module/refpool/parameters/"
#define FILL_SIZE	4096
#define FILL_MAX	100000		/* creates before "never refused" */

struct probe_msg {
	uint64_t user_bytes, user_objects;
	uint64_t count;		/* objects made by a fill */
	int err;		/* what stopped the fill, or the create's answer */
};

struct quota_probe {
	pid_t pid;
	int cmd, res;		/* pipe ends of the parent */
};

static void probe_main(uint32_t uid, int cmd, int res)
{
	struct rp_pool *p;
	struct rp_stats st;
	rp_handle_t h;
	char c;

	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid) || rp_open(&p))
		_exit(1);
	while (read(cmd, &c, 1) == 1 && c != 'X') {
		struct probe_msg m = { 0 };
		uint64_t size = c == 'O' ? 0 : FILL_SIZE;

		switch (c) {
		case 'B':	/* fill: objects until refused; they stay */
		case 'O':
			for (m.count = 0; m.count < FILL_MAX; m.count++) {
				m.err = rp_create(p, size, 0, 0, &h);
				if (m.err)
					break;
			}
			break;
		case 'C':	/* one object, kept */
			m.err = rp_create(p, FILL_SIZE, 0, 0, &h);
			break;
		default:	/* 'S': the counters only */
			break;
		}
		if (rp_stats(p, &st) == 0) {
			m.user_bytes = st.user_bytes;
			m.user_objects = st.user_objects;
		}
		if (write(res, &m, sizeof(m)) != sizeof(m))
			break;
	}
	rp_close(p);
	_exit(0);
}

static bool probe_start(struct quota_probe *q, uint32_t uid)
{
	int cmd[2], res[2];

	if (pipe(cmd))
		return false;
	if (pipe(res)) {
		close(cmd[0]);
		close(cmd[1]);
		return false;
	}
	q->pid = fork();
	if (q->pid == 0) {
		close(cmd[1]);
		close(res[0]);
		probe_main(uid, cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	q->cmd = cmd[1];
	q->res = res[0];
	if (q->pid < 0) {
		close(q->cmd);
		close(q->res);
		return false;
	}
	return true;
}

static bool probe_ask(struct quota_probe *q, char c, struct probe_msg *m)
{
	return write(q->cmd, &c, 1) == 1 && read(q->res, m, sizeof(*m)) == sizeof(*m);
}

/* 'X', not the pipe's end: the other probe holds a copy of our write end */
static void probe_end(struct quota_probe *q)
{
	int st;

	if (write(q->cmd, "X", 1) != 1)
		kill(q->pid, SIGKILL);
	close(q->cmd);
	close(q->res);
	waitpid(q->pid, &st, 0);
}

/*
 * One limit: @param lowered to a little above what the larger of the two
 * users holds now (room for the probes' objects); returns the mismatches.
 */
static int quota_one(struct quota_probe *a, struct quota_probe *b, const char *param,
		     char fill, const char *unit)
{
	char path[128], saved[64], val[32];
	struct probe_msg ma, mb;
	uint64_t limit;
	int bad = 0;

	if (!probe_ask(a, 'S', &ma) || !probe_ask(b, 'S', &mb)) {
		printf("MISMATCH quota phase: a probe could not open the device as its user\n");
		return 1;
	}
	if (fill == 'B')
		limit = (ma.user_bytes > mb.user_bytes ? ma.user_bytes : mb.user_bytes) + 64 * FILL_SIZE;
	else
		limit = (ma.user_objects > mb.user_objects ? ma.user_objects : mb.user_objects) + 32;

	snprintf(path, sizeof(path), PARAMS "%s", param);
	if (!read_file(path, saved, sizeof(saved))) {
		printf("refpool-fuzz: quota phase: no %s: not checked\n", path);
		return 0;
	}
	snprintf(val, sizeof(val), "%" PRIu64, limit);
	if (!write_file(path, val)) {
		printf("MISMATCH quota phase: cannot write %s to %s (SPEC §1: writable by root)\n", val, path);
		return 1;
	}
	if (!probe_ask(a, fill, &ma) || !probe_ask(b, 'C', &mb)) {
		printf("MISMATCH quota phase: a probe process died\n");
		bad++;
	} else {
		uint64_t held = fill == 'B' ? ma.user_bytes : ma.user_objects;

		if (ma.err != -EDQUOT) {
			printf("MISMATCH quota phase: uid %u filling %s=%" PRIu64 " %s: %s after %" PRIu64 " creates, SPEC says -EDQUOT\n",
			       opt.uid[0], param, limit, unit, en(ma.err), ma.count);
			bad++;
		}
		if (held > limit) {
			printf("MISMATCH quota phase: uid %u holds %" PRIu64 " %s, over %s=%" PRIu64 "\n",
			       opt.uid[0], held, unit, param, limit);
			bad++;
		}
		if (mb.err) {
			printf("MISMATCH quota phase: uid %u over its %s: uid %u (below it) could not create: %s\n",
			       opt.uid[0], param, opt.uid[1], en(mb.err));
			bad++;
		}
		printf("refpool-fuzz: quota phase: %s=%" PRIu64 ": uid %u refused (%s) after %" PRIu64 " creates at %" PRIu64 " %s; uid %u still creates (%s)\n",
		       param, limit, opt.uid[0], en(ma.err), ma.count, held, unit, opt.uid[1], en(mb.err));
	}
	if (!write_file(path, saved)) {
		printf("MISMATCH quota phase: cannot restore %s to %s\n", path, saved);
		bad++;
	}
	return bad;
}

/* The phase, from the parent; returns the mismatches. */
int quota_phase(void)
{
	const int want = opt.procs * opt.threads;
	struct quota_probe a, b;
	double until = now_s() + 120;
	int bad = 0;

	atomic_store(&shm->pause, 1);
	while (atomic_load(&shm->paused) < want && now_s() < until && !atomic_load(&shm->stop))
		usleep(10000);
	if (atomic_load(&shm->paused) < want) {
		if (!atomic_load(&shm->stop)) {
			printf("MISMATCH quota phase: %d of %d worker threads paused within 120 s\n",
			       atomic_load(&shm->paused), want);
			bad++;
		}
		atomic_store(&shm->pause, 0);
		return bad;
	}
	if (!probe_start(&a, opt.uid[0]))
		goto out;
	if (!probe_start(&b, opt.uid[1])) {
		probe_end(&a);
		goto out;
	}
	bad += quota_one(&a, &b, "max_user_bytes", 'B', "bytes");
	bad += quota_one(&a, &b, "max_user_objects", 'O', "objects");
	probe_end(&a);
	probe_end(&b);
out:
	atomic_store(&shm->pause, 0);
	return bad;
}
