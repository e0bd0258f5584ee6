// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz: a model-checked stress and fuzz test of /dev/refpool.
 *
 *   refpool-fuzz [--seed N] [--ops N] [--procs P] [--threads T]
 *                [--seconds S] [--kill-ms MS] [--no-kill] [--long]
 *                [--no-lib-probes] [--quiet] [--weight OPERATION=N]...
 *                [--uids A,B | --one-user] [--no-quota]
 *
 * Defaults: the bounded run, 4 processes x 3 threads for 60 s, a kill every
 * 2.5 s on average (about 60 s under TCG); --long is 30 minutes with 6 x 4
 * (make stress). --ops N stops after N operations in all.
 *
 * P worker processes (fork; as root, of two users in turn: uid 1000 and
 * 1001, or --uids) of T threads each issue random valid and invalid calls -
 * every call of librefpool, and raw ioctls for what the library cannot
 * express - and check every answer against a userspace model. The parent
 * SIGKILLs a random worker every --kill-ms (on average) and starts it
 * again; halfway, it runs the quota phase (quota.c; --no-quota skips it).
 * At the end every worker lets go of everything, the parent drops what
 * killed workers left behind (their pins; the sockets holding their
 * handles in flight), runs rp_gc(), and the pool's objects, bytes and
 * interned counts must be back where they were before the run. The pool's
 * counters are global: run it alone.
 *
 * Exit status: 0 when no answer differed from the model and the pool came
 * back to its baseline; 1 on any mismatch; 2 on bad usage; 4 (kselftest's
 * SKIP) when /dev/refpool cannot be opened.
 *
 * What it checks, and where the model lets concurrency through, is at the
 * top of fuzz.h; the operations are the table in ops.c.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "fuzz.h"

struct fuzz_opt opt = {
	.procs = 4,
	.threads = 3,
	.seconds = 60,
	.kill_ms = 2500,
	.lib_probes = 1,
};

struct shm *shm;

/* ------------------------------------------------------------------------ */
/* The parent                                                                 */

static pid_t spawn(int w)
{
	int inc = atomic_fetch_add(&shm->w[w].incarnation, 1);
	pid_t pid = fork();

	if (pid < 0) {
		perror("refpool-fuzz: fork");
		exit(1);
	}
	if (pid == 0)
		worker(w, inc);
	atomic_store(&shm->w[w].pid, pid);
	return pid;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: refpool-fuzz [--seed N] [--ops N] [--procs P] [--threads T] [--seconds S]\n"
		"                    [--kill-ms MS] [--no-kill] [--long] [--no-lib-probes] [--quiet]\n"
		"                    [--weight OPERATION=N]... [--uids A,B | --one-user] [--no-quota]\n"
		"  defaults: --procs 4 --threads 3 --seconds 60 --kill-ms 2500 (bounded run);\n"
		"  --long: --seconds 1800 --procs 6 --threads 4. The pool's counters are\n"
		"  global: run it alone. As root, workers alternate between uid 1000 and 1001\n"
		"  (--uids A,B; --one-user keeps them root) with a quota phase halfway\n"
		"  (--no-quota). Exit 0: no mismatch; 1: mismatches; 4: no device.\n");
	exit(2);
}

static bool get_stats(struct rp_stats *st)
{
	struct rp_pool *p;
	bool ok;

	if (rp_open(&p))
		return false;
	ok = rp_stats(p, st) == 0;
	rp_close(p);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, 0, 's' },
		{ "ops", required_argument, 0, 'o' },
		{ "procs", required_argument, 0, 'p' },
		{ "threads", required_argument, 0, 't' },
		{ "seconds", required_argument, 0, 'S' },
		{ "kill-ms", required_argument, 0, 'k' },
		{ "no-kill", no_argument, 0, 'K' },
		{ "long", no_argument, 0, 'L' },
		{ "no-lib-probes", no_argument, 0, 'N' },
		{ "quiet", no_argument, 0, 'q' },
		{ "weight", required_argument, 0, 'w' },
		{ "uids", required_argument, 0, 'u' },
		{ "one-user", no_argument, 0, '1' },
		{ "no-quota", no_argument, 0, 'Q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	pid_t pids[MAX_PROCS];
	uint64_t kills = 0, crashes = 0, lib_bad = 0, quota_bad = 0, total_mism;
	struct rp_stats base, st;
	struct rng r;
	double t0, deadline, next_kill, t_end, t_wait;
	bool seeded = false, back = false;
	struct rp_pool *p;
	int ch, w, k, ret;
	unsigned i;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': opt.seed = strtoull(optarg, NULL, 0); seeded = true; break;
		case 'o': opt.ops = strtoull(optarg, NULL, 0); break;
		case 'p': opt.procs = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'S': opt.seconds = atof(optarg); break;
		case 'k': opt.kill_ms = atoi(optarg); break;
		case 'K': opt.kill_ms = 0; break;
		case 'L': opt.seconds = 1800; opt.procs = 6; opt.threads = 4; break;
		case 'N': opt.lib_probes = 0; break;
		case 'q': opt.quiet = 1; break;
		case 'u':
			if (sscanf(optarg, "%u,%u", &opt.uid[0], &opt.uid[1]) != 2 || opt.uid[0] == opt.uid[1])
				usage();
			opt.nuids = 2;
			break;
		case '1': opt.nuids = -1; break;
		case 'Q': opt.quota = -1; break;
		case 'w': {
			char *eq = strrchr(optarg, '=');
			int o = -1;

			if (eq) {
				*eq = '\0';
				o = op_index(optarg);
			}
			if (o < 0) {
				fprintf(stderr, "refpool-fuzz: --weight NAME=N, NAME one of:");
				for (i = 0; i < fuzz_nops; i++)
					fprintf(stderr, " '%s'", fuzz_ops[i].name);
				fprintf(stderr, "\n");
				return 2;
			}
			fuzz_ops[o].weight = atoi(eq + 1);
			break;
		}
		default: usage();
		}
	}
	if (optind != argc || opt.procs < 1 || opt.procs > MAX_PROCS ||
	    opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds <= 0)
		usage();
	/* two users by default when we can be them: the pool is multi-user */
	if (opt.nuids == 0 && geteuid() == 0) {
		opt.uid[0] = 1000;
		opt.uid[1] = 1001;
		opt.nuids = 2;
	}
	if (opt.nuids < 0 || opt.procs < 2)
		opt.nuids = 0;
	opt.quota = opt.quota == 0 && opt.nuids == 2 && geteuid() == 0;
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt.seed = (uint64_t)ts.tv_sec * 1000003 ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	ret = rp_open(&p);
	if (ret) {
		printf("SKIP refpool-fuzz: cannot open the device: %s\n", rp_strerror(ret));
		return KSFT_SKIP;
	}
	rp_close(p);
	/* a stable baseline: what earlier users left as garbage goes first */
	if (rp_open(&p) == 0) {
		rp_gc(p, NULL);
		rp_close(p);
	}
	if (!get_stats(&base)) {
		printf("refpool-fuzz: rp_stats failed\n");
		return 1;
	}
	printf("refpool-fuzz: seed %#" PRIx64 ", %d processes x %d threads, %.0f s%s%s, kills every ~%d ms\n",
	       opt.seed, opt.procs, opt.threads, opt.seconds,
	       opt.ops ? ", ops limit " : "", opt.ops ? "set" : "", opt.kill_ms);
	if (opt.nuids)
		printf("refpool-fuzz: workers run as uid %u and %u, alternately%s\n", opt.uid[0], opt.uid[1],
		       opt.quota ? "; a quota phase halfway" : "");
	printf("refpool-fuzz: baseline: %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned\n",
	       base.objects, base.bytes, base.interned);

	if (opt.lib_probes) {
		lib_bad = lib_probes();
		printf("refpool-fuzz: library bad-pointer probes: %u run, %" PRIu64 " mismatches\n",
		       n_lib_probes, lib_bad);
		/* the probes' objects were garbage (linked to themselves); pins
		 * a crashed probe made stay, and count in the new baseline */
		if (rp_open(&p) == 0) {
			rp_gc(p, NULL);
			rp_close(p);
		}
		get_stats(&base);
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		perror("refpool-fuzz: mmap");
		return 1;
	}
	shm->max_object_size = base.max_object_size;
	shm->max_slots = (uint32_t)base.max_slots;
	for (w = 0; w < opt.procs; w++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv)) {
			perror("refpool-fuzz: socketpair");
			return 1;
		}
		shm->inbox[w][0] = sv[0];
		shm->inbox[w][1] = sv[1];
		shm->w[w].uid = opt.nuids ? opt.uid[w % 2] : geteuid();
	}

	rng_seed(&r, opt.seed ^ 0xfeedULL);
	t0 = now_s();
	deadline = t0 + opt.seconds;
	for (w = 0; w < opt.procs; w++)
		pids[w] = spawn(w);
	next_kill = t0 + (opt.kill_ms ? (opt.kill_ms / 2 + rnd(&r, opt.kill_ms + 1)) / 1000.0 : 1e9);

	while (!atomic_load(&shm->stop) && now_s() < deadline) {
		int st2;
		pid_t pid = waitpid(-1, &st2, WNOHANG);

		if (opt.quota && pid <= 0 && now_s() >= t0 + opt.seconds / 2) {
			quota_bad = quota_phase();
			opt.quota = 0;
			continue;
		}

		if (pid > 0) {
			for (w = 0; w < opt.procs && pids[w] != pid; w++)
				;
			if (w < opt.procs) {
				if (WIFSIGNALED(st2) || WEXITSTATUS(st2)) {
					printf("MISMATCH worker %d (pid %d) died on its own: %s %d\n", w, pid,
					       WIFSIGNALED(st2) ? "signal" : "status",
					       WIFSIGNALED(st2) ? WTERMSIG(st2) : WEXITSTATUS(st2));
					crashes++;
				}
				pids[w] = atomic_load(&shm->stop) ? 0 : spawn(w);
			}
			continue;
		}
		if (now_s() >= next_kill) {
			w = rnd(&r, opt.procs);
			if (pids[w] > 0 && kill(pids[w], SIGKILL) == 0) {
				int st3;

				waitpid(pids[w], &st3, 0);
				if (!WIFSIGNALED(st3) || WTERMSIG(st3) != SIGKILL) {
					printf("MISMATCH worker %d (pid %d) died on its own before the kill: %s %d\n",
					       w, pids[w], WIFSIGNALED(st3) ? "signal" : "status",
					       WIFSIGNALED(st3) ? WTERMSIG(st3) : WEXITSTATUS(st3));
					crashes++;
				} else {
					kills++;
				}
				pids[w] = spawn(w);
			}
			next_kill = now_s() + (opt.kill_ms / 2 + rnd(&r, opt.kill_ms + 1)) / 1000.0;
		}
		usleep(20000);
	}
	atomic_store(&shm->stop, 1);
	t_end = now_s();
	/* every worker lets go and checks itself; give them time under TCG */
	for (w = 0, t_wait = now_s() + 300; w < opt.procs; w++) {
		double until = t_wait;
		int st2;

		while (pids[w] > 0) {
			pid_t pid = waitpid(pids[w], &st2, WNOHANG);

			if (pid == pids[w]) {
				if (WIFSIGNALED(st2) || WEXITSTATUS(st2)) {
					printf("MISMATCH worker %d (pid %d) ended with %s %d\n", w, pid,
					       WIFSIGNALED(st2) ? "signal" : "status",
					       WIFSIGNALED(st2) ? WTERMSIG(st2) : WEXITSTATUS(st2));
					crashes++;
				}
				pids[w] = 0;
			} else if (now_s() > until) {
				printf("MISMATCH worker %d (pid %d) did not finish within 300 s of the end: killed\n", w, pids[w]);
				crashes++;
				kill(pids[w], SIGKILL);
			} else {
				usleep(20000);
			}
		}
	}

	/* What killed workers left: handles in flight in the inboxes, pins. */
	for (w = 0; w < opt.procs; w++) {
		close(shm->inbox[w][0]);
		close(shm->inbox[w][1]);
	}
	if (rp_open(&p) == 0) {
		uint64_t unpinned = 0;

		for (w = 0; w < opt.procs; w++) {
			uint64_t n = atomic_load(&shm->w[w].npins);

			for (i = 0; i < n && i < PIN_N; i++)
				unpinned += rp_unpin(p, &shm->w[w].pins[i]) == 0;
		}
		/* L8: deferred fput() of files that were in flight */
		for (k = 0; k < 100; k++) {
			rp_gc(p, NULL);
			if (rp_stats(p, &st) == 0 && st.objects == base.objects &&
			    st.bytes == base.bytes && st.interned == base.interned) {
				back = true;
				break;
			}
			usleep(200000);
		}
		printf("refpool-fuzz: after the run: %" PRIu64 " pins of killed workers dropped; pool %s baseline after %d s: %" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64 " interned (baseline %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")\n",
		       unpinned, back ? "back to" : "NOT back to", k / 5, st.objects, st.bytes,
		       st.interned, base.objects, base.bytes, base.interned);
		rp_close(p);
	}

	if (!opt.quiet) {
		printf("refpool-fuzz: %-22s %10s %10s %10s\n", "operation", "calls", "refused", "mismatch");
		for (i = 0; i < fuzz_nops; i++)
			printf("refpool-fuzz: %-22s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", fuzz_ops[i].name,
			       atomic_load(&shm->op_count[i]), atomic_load(&shm->op_einval_like[i]),
			       atomic_load(&shm->op_mismatch[i]));
	}
	printf("refpool-fuzz: batches whose array was taken away meanwhile: %" PRIu64 " refused whole, %" PRIu64 " ran whole\n",
	       atomic_load(&shm->race_refused), atomic_load(&shm->race_ran));
	total_mism = atomic_load(&shm->mismatches) + crashes + lib_bad + quota_bad + !back;
	printf("refpool-fuzz: seed %#" PRIx64 ": %" PRIu64 " operations in %.1f s, %" PRIu64 " kills, %" PRIu64 " model mismatches (%" PRIu64 " in workers, %" PRIu64 " worker crashes, %" PRIu64 " library, %" PRIu64 " quota, %d leak)\n",
	       opt.seed, atomic_load(&shm->ops), t_end - t0, kills, total_mism,
	       atomic_load(&shm->mismatches), crashes, lib_bad, quota_bad, !back);
	printf("%s\n", total_mism ? "FAIL" : "PASS");
	return total_mism ? 1 : 0;
}
