// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, operations on exported files and UNIX sockets: export,
 * import, close, send and receive handles.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "fuzz.h"

static bool exportable(const struct mobj *o)
{
	return o->nh > 0 && o->nfd < MAXF;
}

void op_export(struct tctx *c)
{
	int i = pick(c, exportable), fd = -1, ret, fl;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	ret = rp_export(c->p, any_h(c, o), &fd);
	note(c, o->id, fd, 0, ret);
	if (!expect(c, "rp_export", ret, 0))
		return;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || !(fl & FD_CLOEXEC))
		report(c, "rp_export: fd %d is not close-on-exec", fd);
	o->fd[o->nfd++] = fd;
	check_info(c, i, any_h(c, o), "rp_info after rp_export");
}

static bool has_fd(const struct mobj *o)
{
	return o->nfd > 0;
}

void op_import(struct tctx *c)
{
	int i = pick(c, has_fd), ret;
	rp_handle_t h = 0;
	struct mobj *o;
	int fd;

	if (i < 0 || c->o[i].nh >= MAXH)
		return;
	o = &c->o[i];
	fd = o->fd[rnd(&c->r, o->nfd)];
	hlock_r();
	ret = rp_import(c->p, fd, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, o->id, fd, h, ret);
	if (!expect(c, "rp_import", ret, 0))
		return;
	add_h(c, i, h);
	check_info(c, i, h, "rp_info after rp_import");
}

void op_close_fd(struct tctx *c)
{
	int i = pick(c, has_fd), k, ret;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	k = rnd(&c->r, o->nfd);
	ret = close(o->fd[k]) ? -errno : 0;
	note(c, o->id, o->fd[k], 0, ret);
	expect(c, "close(exported fd)", ret, 0);
	o->fd[k] = o->fd[--o->nfd];
	settle(c);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info after closing an exported fd");
}

void op_import_bad(struct tctx *c)
{
	rp_handle_t h = 0;
	int fd, want, ret, k = rnd(&c->r, 4);

	switch (k) {
	case 0:
		fd = -1 - (int)rnd(&c->r, 1000);
		want = -EBADF;
		break;
	case 1:
		fd = (1 << 20) + (int)rnd(&c->r, 1 << 20);	/* above any RLIMIT_NOFILE here */
		want = -EBADF;
		break;
	case 2:
		fd = P.devnull;
		want = -EINVAL;
		break;
	default:
		fd = rp_fd(c->p);	/* the session itself is not an object */
		want = -EINVAL;
		break;
	}
	hlock_r();
	ret = rp_import(c->p, fd, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, fd, 0, 0, ret);
	expect(c, "rp_import(not an object fd)", ret, want);
}

static bool sendable(const struct mobj *o)
{
	return o->nh > 0;
}

void op_send_self(struct tctx *c)
{
	int i = pick(c, sendable), ret;
	struct mobj *o;

	if (i < 0 || c->nflight >= 4)
		return;
	o = &c->o[i];
	ret = rp_send(c->selfsock[1], c->p, any_h(c, o));
	note(c, o->id, c->nflight, 0, ret);
	if (!expect(c, "rp_send(own socket)", ret, 0))
		return;
	c->flight[c->nflight++] = i;
	o->nflight++;
	check_info(c, i, any_h(c, o), "rp_info after rp_send");
}

void op_recv_self(struct tctx *c)
{
	rp_handle_t h = 0;
	int i, ret;

	hlock_r();
	ret = rp_recv(c->selfsock[0], c->p, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, c->nflight, h, 0, ret);
	if (!c->nflight) {
		expect(c, "rp_recv(own socket, empty)", ret, -EAGAIN);
		return;
	}
	if (!expect(c, "rp_recv(own socket)", ret, 0))
		return;
	i = c->flight[0];
	memmove(c->flight, c->flight + 1, sizeof(c->flight[0]) * --c->nflight);
	c->o[i].nflight--;
	if (c->o[i].nh >= MAXH) {
		struct rp_info info;

		if (rp_info(c->p, h, &info) == 0 && info.id != c->o[i].id)
			report(c, "rp_recv: id %" PRIu64 ", sent id %" PRIu64, info.id, c->o[i].id);
		put_raw(c, h);
		return;
	}
	add_h(c, i, h);
	check_info(c, i, h, "rp_recv(own socket)");
	if (rnd(&c->r, 3) == 0)
		check_bytes(c, i, h, 0, c->o[i].size, "rp_read after rp_recv");
}

void op_send_ring(struct tctx *c)
{
	int i = pick(c, sendable), ret, to;
	struct mobj *o;

	if (i < 0 || opt.procs < 2)
		return;
	o = &c->o[i];
	if (o->size > 65536 && rnd(&c->r, 4))
		return;
	to = (c->w + 1 + rnd(&c->r, opt.procs - 1)) % opt.procs;
	share(c, i);
	ret = rp_send(shm->inbox[to][1], c->p, any_h(c, o));
	note(c, o->id, to, 0, ret);
	if (ret != 0 && ret != -EAGAIN && ret != -ETOOMANYREFS)	/* L5 */
		expect(c, "rp_send(to another worker)", ret, 0);
}

void op_recv_ring(struct tctx *c)
{
	rp_handle_t h = 0;
	int ret;

	if (nfree(c) < 4)
		return;
	hlock_r();
	ret = rp_recv(shm->inbox[c->w][0], c->p, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, h, 0, 0, ret);
	if (ret == -EAGAIN)	/* L5 */
		return;
	if (!expect(c, "rp_recv(from another worker)", ret, 0))
		return;
	adopt(c, h, 0, "rp_recv(from another worker)");
}

void op_sock_err(struct tctx *c)
{
	int sv[2], ret, i = pick(c, has_h);
	rp_handle_t h = 0;
	char byte = 'x';

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	switch (rnd(&c->r, 4)) {
	case 0:
		if (i < 0)
			break;
		/* closed peer: -EPIPE, and no SIGPIPE (it would kill us) */
		close(sv[1]);
		sv[1] = -1;
		ret = rp_send(sv[0], c->p, any_h(c, &c->o[i]));
		note(c, c->o[i].id, 0, 0, ret);
		expect(c, "rp_send(closed peer)", ret, -EPIPE);
		check_info(c, i, any_h(c, &c->o[i]), "rp_info after a failed rp_send");
		break;
	case 1:
		close(sv[1]);
		sv[1] = -1;
		hlock_r();
		ret = rp_recv(sv[0], c->p, &h);
		if (ret == 0)
			held_add(c, h);
		hunlock();
		note(c, 1, 0, 0, ret);
		expect(c, "rp_recv(closed peer)", ret, -EPIPE);
		break;
	case 2:
		if (write(sv[1], &byte, 1) != 1)
			break;
		hlock_r();
		ret = rp_recv(sv[0], c->p, &h);
		if (ret == 0)
			held_add(c, h);
		hunlock();
		note(c, 2, 0, 0, ret);
		expect(c, "rp_recv(message without an fd)", ret, -EBADMSG);
		break;
	default:
		if (i < 0)
			break;
		ret = rp_send(P.devnull, c->p, any_h(c, &c->o[i]));
		note(c, c->o[i].id, 3, 0, ret);
		expect(c, "rp_send(not a socket)", ret, -ENOTSOCK);
		check_info(c, i, any_h(c, &c->o[i]), "rp_info after a failed rp_send");
		break;
	}
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}
