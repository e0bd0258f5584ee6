// SPDX-License-Identifier: GPL-2.0
/*
 * refpool_lib_calls: every call of librefpool, each at least once with
 * success, and every result used in a branch - what memcheck needs to see
 * to report a result the library failed to mark as written.
 * refpool_lib's valgrind.every_call_is_clean runs it under
 *
 *   valgrind --error-exitcode=1 --leak-check=full refpool_lib_calls
 *
 * with no suppressions. Calls the module does not have yet (-ENOTTY:
 * events, dma-bufs) are reported and skipped. Exit status: 0 every call
 * as expected, 2 one was not (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <refpool.h>

static int failed;

/* @what returned @ret, and @want was expected. */
static int expect(const char *what, int64_t ret, int64_t want)
{
	if (ret == want)
		return 1;
	fprintf(stderr, "refpool_lib_calls: %s: %lld (%s), want %lld\n", what,
		(long long)ret, rp_strerror((int)ret), (long long)want);
	failed = 1;
	return 0;
}

/* A call the module may not have yet: -ENOTTY is a skip, not a failure. */
static int optional(const char *what, int ret)
{
	if (ret == -ENOTTY) {
		fprintf(stderr, "refpool_lib_calls: %s: not in this module\n",
			what);
		return 0;
	}
	return expect(what, ret, 0);
}

static void objects(struct rp_pool *p)
{
	struct rp_info info, old;
	struct rp_stats st, st0;
	rp_handle_t h, h2, interned;
	char buf[16];
	uint64_t collected;

	if (!expect("rp_create", rp_create(p, 16, 1, 0, &h), 0))
		return;
	expect("rp_write", rp_write(p, h, 0, "hello, valgrind", 16), 16);
	expect("rp_read", rp_read(p, h, 0, buf, sizeof(buf)), 16);
	if (memcmp(buf, "hello, valgrind", 16))
		expect("rp_read's bytes", 1, 0);
	expect("rp_dup", rp_dup(p, h, &h2), 0);
	if (h2 == h || h2 == 0)
		expect("rp_dup's handle", h2, h + 1);
	expect("rp_info", rp_info(p, h, &info), 0);
	if (info.refs != 2 || info.size != 16 || info.nslots != 1 ||
	    info.flags || !info.id)
		expect("rp_info's fields", (int64_t)info.refs, 2);
	/* The 0.1 symbols, as a binary built before the macros calls them. */
	expect("(rp_info)", (rp_info)(p, h, &old), 0);
	if (old.id != info.id)
		expect("(rp_info)'s id", (int64_t)old.id, (int64_t)info.id);
	expect("rp_info_sz", rp_info_sz(p, h2, &old, sizeof(old)), 0);
	if (old.id != info.id)
		expect("rp_info_sz's id", (int64_t)old.id, (int64_t)info.id);
	expect("rp_intern", rp_intern(p, "4", 1, &interned) >= 0, 1);
	expect("rp_link", rp_link(p, h, 0, interned), 0);
	expect("rp_put", rp_put(p, interned), 0);
	expect("rp_get_link", rp_get_link(p, h, 0, &interned), 0);
	if (interned == 0)
		expect("rp_get_link's handle", 0, 1);
	expect("rp_put", rp_put(p, interned), 0);
	expect("rp_seal", rp_seal(p, h2), 0);
	expect("rp_gc", rp_gc(p, &collected), 0);
	if (collected > (1ULL << 40))
		expect("rp_gc's count", (int64_t)collected, 0);
	expect("rp_stats", rp_stats(p, &st), 0);
	if (st.objects == 0 || st.session_handles < 2 || st.user_objects == 0)
		expect("rp_stats's counters", (int64_t)st.objects, 1);
	expect("(rp_stats)", (rp_stats)(p, &st0), 0);
	expect("rp_stats_sz", rp_stats_sz(p, &st0, sizeof(st0)), 0);
	if (st0.max_objects != st.max_objects)
		expect("rp_stats_sz's limit", (int64_t)st0.max_objects,
		       (int64_t)st.max_objects);
	expect("rp_put", rp_put(p, h2), 0);
	expect("rp_put", rp_put(p, h), 0);
}

static void batches(struct rp_pool *p)
{
	struct rp_op ops[2];
	rp_handle_t h;

	if (!expect("rp_create_from", rp_create_from(p, "b", 1, RP_SEALED, &h), 0))
		return;
	memset(ops, 0, sizeof(ops));
	ops[0].op = RP_OP_DUP;
	ops[0].handle = h;
	ops[1].op = RP_OP_PUT;
	ops[1].handle = h;
	expect("rp_batch", rp_batch(p, ops, 2), 0);
	if (ops[0].result || ops[1].result || !ops[0].out)
		expect("rp_batch's results", ops[0].result, 0);
	expect("rp_put", rp_put(p, ops[0].out), 0);
}

static void sharing(struct rp_pool *p)
{
	rp_handle_t h, h2;
	int fd, sv[2];
	char *map;

	if (!expect("rp_create", rp_create(p, 4096, 0, 0, &h), 0))
		return;
	expect("rp_export", rp_export(p, h, &fd), 0);
	if (fd < 0)
		return;
	expect("rp_import", rp_import(p, fd, &h2), 0);
	if (h2 == 0)
		expect("rp_import's handle", 0, 1);
	close(fd);
	expect("rp_put", rp_put(p, h2), 0);
	if (!expect("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					       0, sv), 0))
		return;
	expect("rp_send", rp_send(sv[0], p, h), 0);
	expect("rp_recv", rp_recv(sv[1], p, &h2), 0);
	if (h2 == 0)
		expect("rp_recv's handle", 0, 1);
	close(sv[0]);
	close(sv[1]);
	expect("rp_put", rp_put(p, h2), 0);
	/* The mapping the kernel made: written and read through. */
	if (expect("rp_map", rp_map(p, h, PROT_READ | PROT_WRITE,
				    (void **)&map), 0)) {
		memcpy(map + 4000, "mapped", 7);
		if (map[0] != 0 || strcmp(map + 4000, "mapped"))
			expect("rp_map's bytes", 1, 0);
		expect("rp_unmap", rp_unmap(map, 4096), 0);
	}
	if (optional("rp_export_dmabuf",
		     rp_export_dmabuf(p, h, O_CLOEXEC | O_RDWR, &fd))) {
		expect("rp_import of a dma-buf", rp_import(p, fd, &h2), 0);
		if (h2 == 0)
			expect("rp_import's handle", 0, 1);
		close(fd);
		expect("rp_put", rp_put(p, h2), 0);
	}
	expect("rp_put", rp_put(p, h), 0);
}

static void tokens(struct rp_pool *p)
{
	struct rp_pin_info pins[64];
	rp_token_t tok, tok2;
	rp_handle_t h, h2;
	char text[33];
	int n, i, found = 0;

	if (!expect("rp_create", rp_create(p, 8, 0, 0, &h), 0))
		return;
	expect("rp_publish", rp_publish(p, h, &tok), 0);
	expect("rp_token_to_str", rp_token_to_str(&tok, text), 0);
	if (strlen(text) != 32)
		expect("rp_token_to_str's length", (int64_t)strlen(text), 32);
	expect("rp_token_from_str", rp_token_from_str(text, &tok2), 0);
	if (memcmp(&tok, &tok2, sizeof(tok)))
		expect("the token's round trip", 1, 0);
	expect("rp_lookup", rp_lookup(p, &tok2, &h2), 0);
	if (h2 == 0)
		expect("rp_lookup's handle", 0, 1);
	expect("rp_put", rp_put(p, h2), 0);
	expect("rp_pin", rp_pin(p, h, &tok2), 0);
	n = rp_list_pins(p, pins, 64);
	expect("rp_list_pins", n > 0, 1);
	for (i = 0; i < n && i < 64; i++)
		if (!memcmp(&pins[i].token, &tok2, sizeof(tok2)) && pins[i].size == 8)
			found = 1;
	expect("rp_list_pins lists the pin", found, 1);
	expect("rp_unpin", rp_unpin(p, &tok2), 0);
	expect("rp_put", rp_put(p, h), 0);
}

static void events(struct rp_pool *p)
{
	struct rp_event ev[4];
	rp_handle_t h;
	rp_token_t tok;
	int n;

	if (!expect("rp_create", rp_create(p, 8, 0, 0, &h), 0))
		return;
	expect("rp_events_fd", rp_events_fd(p), rp_fd(p));
	expect("rp_publish", rp_publish(p, h, &tok), 0);
	if (optional("rp_watch", rp_watch(p, h, RP_EV_SEALED, 7))) {
		expect("rp_watch_token",
		       rp_watch_token(p, &tok, RP_EV_FREED, 8), 0);
		expect("rp_seal", rp_seal(p, h), 0);
		n = rp_read_events(p, ev, 4, 5000);
		expect("rp_read_events", n, 1);
		if (n == 1 && (ev[0].cookie != 7 || ev[0].events != RP_EV_SEALED ||
			       ev[0].reserved))
			expect("rp_read_events's event", (int64_t)ev[0].cookie, 7);
		expect("rp_put", rp_put(p, h), 0);
		n = rp_read_events(p, ev, 4, 5000);
		expect("rp_read_events", n, 1);
		if (n == 1 && (ev[0].cookie != 8 || ev[0].events != RP_EV_FREED))
			expect("rp_read_events's event", (int64_t)ev[0].cookie, 8);
		return;
	}
	expect("rp_put", rp_put(p, h), 0);
}

int main(void)
{
	const char *dev = getenv("REFPOOL_DEVICE");
	struct rp_pool *p, *q;

	if (!expect("rp_open", rp_open(&p), 0))
		return 2;
	if (!expect("rp_open_path", rp_open_path(dev && *dev ? dev :
						 "/dev/refpool", &q), 0))
		return 2;
	if (rp_fd(q) < 0 || rp_fd(q) == rp_fd(p))
		expect("rp_fd", rp_fd(q), rp_fd(p) + 1);
	rp_close(q);
	objects(p);
	batches(p);
	sharing(p);
	tokens(p);
	events(p);
	if (strcmp(rp_strerror(-EBADF), "Bad handle or file descriptor"))
		expect("rp_strerror", 1, 0);
	rp_close(p);
	return failed ? 2 : 0;
}
