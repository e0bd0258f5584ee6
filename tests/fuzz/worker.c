// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, the workers: processes of threads that run operations, then
 * let go of everything and check that nothing is left.
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "fuzz.h"

/* The worker process this is (each forked worker has its own copy). */
struct proc P;

/* Let go of everything, checking as it goes. */
static void release_all(struct tctx *c)
{
	int i, k;

	c->cur_op = op_index("verify");
	/* what is in flight in our own socket comes back first */
	for (k = 0; c->nflight && k < 8; k++)
		op_recv_self(c);
	while (c->nflight)	/* the kernel did not give it back: forget it */
		c->o[c->flight[--c->nflight]].nflight--;
	for (i = 0; i < MAXOBJ; i++) {
		struct mobj *o = &c->o[i];

		if (o->state == ST_FREE)
			continue;
		while (o->state != ST_FREE && o->nmap) {
			k = o->nmap - 1;
			if (o->map[k].left == o->map[k].npages)
				rp_unmap(o->map[k].addr, o->size);
			else
				for (uint32_t p = 0; p < o->map[k].npages; p++)
					if (o->map[k].mapped[p])
						munmap(o->map[k].addr + (size_t)p * 4096, 4096);
			drop_map(c, i, k);
		}
		while (o->state != ST_FREE && o->nfd) {
			close(o->fd[--o->nfd]);
			settle(c);
		}
		while (o->state != ST_FREE && o->npin) {
			int ret = rp_unpin(c->p, &o->pin[o->npin - 1]);

			expect(c, "rp_unpin (at the end)", ret, 0);
			o->npin--;
			settle(c);
		}
		while (o->state != ST_FREE && o->nh)
			put_handle(c, i, o->h[o->nh - 1]);
	}
}

static void *thread_main(void *arg)
{
	struct tctx *c = arg;
	int i, k;

	for (k = 0; k < NUKEYS; k++)
		c->ukey_obj[k] = -1;
	c->buf = malloc(BUF_SIZE);
	c->buf2 = malloc(BUF_SIZE);
	if (!c->buf || !c->buf2 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, c->selfsock)) {
		fprintf(stderr, "refpool-fuzz: thread set-up failed\n");
		_exit(1);
	}
	c->p = P.p;
	while (!atomic_load(&shm->stop)) {
		uint64_t n;

		if (atomic_load(&shm->pause)) {
			/* the parent measures the users' quotas: stay still */
			atomic_fetch_add(&shm->paused, 1);
			while (atomic_load(&shm->pause) && !atomic_load(&shm->stop))
				usleep(2000);
			atomic_fetch_sub(&shm->paused, 1);
			continue;
		}
		n = atomic_fetch_add(&shm->ops, 1);

		if (opt.ops && n >= opt.ops) {
			atomic_store(&shm->stop, 1);
			break;
		}
		c->opno++;
		c->cur_op = op_pick(&c->r);
		atomic_fetch_add(&shm->op_count[c->cur_op], 1);
		fuzz_ops[c->cur_op].fn(c);
	}

	/* The end: everything exact, then let go, then nothing must be left. */
	c->cur_op = op_index("verify");
	verify_all(c, true);
	c->cur_op = op_index("gc");
	op_gc(c);
	c->cur_op = op_index("verify");
	verify_all(c, false);
	release_all(c);
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE)
			report(c, "id %" PRIu64 " still live in the model after letting go", c->o[i].id);
	/* our own garbage goes with our rp_gc(); its tokens die */
	c->cur_op = op_index("gc");
	op_gc(c);
	c->cur_op = op_index("lookup");
	for (i = 0; i < c->ndead; i++)
		lookup_tok(c, -1, &c->dead[i], "rp_lookup(token of a dead object, at the end)");
	close(c->selfsock[0]);
	close(c->selfsock[1]);
	free(c->buf);
	free(c->buf2);
	return NULL;
}

void worker(int w, int inc)
{
	pthread_rwlockattr_t attr;
	pthread_t th[MAX_THREADS];
	struct tctx *ctx;
	struct rp_stats st;
	int t, ret;

	memset(&P, 0, sizeof(P));
	P.w = w;
	P.inc = inc;
	P.uid = shm->w[w].uid;
	/* a user of its own, as any local user could be (SPEC §1: users) */
	if (P.uid != geteuid() &&
	    (setgroups(0, NULL) || setresgid(P.uid, P.uid, P.uid) || setresuid(P.uid, P.uid, P.uid))) {
		fprintf(stderr, "refpool-fuzz: worker %d: cannot become uid %u: %s\n", w, P.uid,
			strerror(errno));
		_exit(1);
	}
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&P.hlock, &attr);
	handle_set_init(&P.handles);
	P.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	P.rw_page = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (P.devnull < 0 || P.rw_page == MAP_FAILED) {
		fprintf(stderr, "refpool-fuzz: worker set-up failed\n");
		_exit(1);
	}
	P.guard = P.rw_page + 4096;
	P.ro_page = P.rw_page + 8192;
	P.ro_arg = P.rw_page + 12288;
	mprotect(P.guard, 4096, PROT_NONE);
	mprotect(P.ro_page, 4096, PROT_READ);
	mprotect(P.ro_arg, 4096, PROT_READ);
	ret = rp_open(&P.p);
	if (ret) {
		fprintf(stderr, "refpool-fuzz: worker %d: rp_open: %s\n", w, rp_strerror(ret));
		_exit(1);
	}
	ctx = calloc(opt.threads, sizeof(*ctx));
	for (t = 0; t < opt.threads; t++) {
		ctx[t].pr = &P;
		ctx[t].w = w;
		ctx[t].inc = inc;
		ctx[t].t = t;
		rng_seed(&ctx[t].r, opt.seed ^ ((uint64_t)w << 40) ^ ((uint64_t)inc << 20) ^ (uint64_t)t);
		if (pthread_create(&th[t], NULL, thread_main, &ctx[t])) {
			fprintf(stderr, "refpool-fuzz: pthread_create failed\n");
			_exit(1);
		}
	}
	for (t = 0; t < opt.threads; t++)
		pthread_join(th[t], NULL);
	/* every thread let go: the session holds nothing */
	ret = rp_stats(P.p, &st);
	if (ret || st.session_handles || atomic_load(&P.nheld)) {
		ctx[0].cur_op = op_index("stats");
		report(&ctx[0], "at the end: rp_stats %s, session_handles %" PRIu64 ", model %ld",
		       en(ret), st.session_handles, atomic_load(&P.nheld));
	}
	rp_close(P.p);
	_exit(0);
}
