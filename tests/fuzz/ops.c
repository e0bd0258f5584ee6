// SPDX-License-Identifier: GPL-2.0
/*
 * The operations of refpool-fuzz: one row each, a name (what reports and
 * --weight use), how often it is chosen, and the function that makes the
 * call and checks it against the model. To add an operation, write its
 * function in the ops-*.c file of its concern, declare it in fuzz.h and add
 * its row here. The order and the weights decide which operation a seed
 * draws: changing them changes what a given --seed replays.
 */
#include "fuzz.h"

struct op fuzz_ops[] = {
	/* objects and handles: ops-object.c */
	{ "create",		60, op_create },
	{ "create(bad)",	12, op_create_bad },
	{ "create_from",	40, op_create_from },
	{ "create_from(bad)",	10, op_create_from_bad },
	{ "intern(unique)",	20, op_intern_uniq },
	{ "intern(common)",	15, op_intern_common },
	{ "intern(bad)",	 6, op_intern_bad },
	{ "dup",		30, op_dup },
	{ "put",		90, op_put },
	{ "info",		30, op_info },
	{ "read",		40, op_read },
	{ "read(bad)",		10, op_read_bad },
	{ "write",		40, op_write },
	{ "write(bad)",		10, op_write_bad },
	{ "seal",		10, op_seal },
	/* mappings: ops-map.c */
	{ "map",		15, op_map },
	{ "map:write",		20, op_map_write },
	{ "map:read",		10, op_map_read },
	{ "unmap",		15, op_unmap },
	{ "mprotect",		 3, op_mprotect },
	/* exported files and sockets: ops-fd.c */
	{ "export",		12, op_export },
	{ "import",		10, op_import },
	{ "close(fd)",		14, op_close_fd },
	{ "import(bad)",	 5, op_import_bad },
	{ "send(self)",		 8, op_send_self },
	{ "recv(self)",		 8, op_recv_self },
	{ "send(ring)",		 8, op_send_ring },
	{ "recv(ring)",		10, op_recv_ring },
	{ "send/recv(err)",	 3, op_sock_err },
	/* tokens and pins: ops-token.c */
	{ "publish",		10, op_publish },
	{ "lookup",		12, op_lookup },
	{ "publish(board)",	 5, op_post_board },
	{ "lookup(board)",	10, op_lookup_board },
	{ "lookup(bad)",	 4, op_lookup_bad },
	{ "pin",		 5, op_pin },
	{ "unpin",		 5, op_unpin },
	/* isolation between the two users: ops-token.c */
	{ "pin(other user)",	 3, op_pin_other },
	{ "unpin(other user)",	 3, op_unpin_other },
	/* links and the collector: ops-link.c */
	{ "link",		60, op_link },
	{ "link(bad)",		 8, op_link_bad },
	{ "get_link",		25, op_get_link },
	{ "gc",			 3, op_gc },
	/* counters, stale handles, raw ioctls, checks: ops-object.c, ops-raw.c */
	{ "stats",		 4, op_stats },
	{ "stale handle",	 8, op_stale },
	{ "stale(race)",	 3, op_stale_race },
	{ "raw ioctl",		15, op_raw },
	{ "verify",		 4, op_verify },
	/* batches: ops-batch.c */
	{ "batch",		15, op_batch },
	{ "batch(bad)",		 4, op_batch_bad },
	{ "batch(race)",	 3, op_batch_race },
	/* lifecycle events: ops-events.c */
	{ "watch",		10, op_watch },
	{ "watch(token)",	 5, op_watch_token },
	{ "watch(gc)",		 1, op_watch_gc },
	{ "watch(bad)",		 4, op_watch_bad },
	{ "read_events",	 8, op_read_events },
	/* dma-bufs, as fds and mappings: ops-dmabuf.c */
	{ "dmabuf",		 8, op_dmabuf },
};

const unsigned fuzz_nops = ARRAY_SIZE(fuzz_ops);

_Static_assert(ARRAY_SIZE(fuzz_ops) <= MAX_OPS, "raise MAX_OPS in fuzz.h");

/* The index of the operation called @name; -1 if there is none. */
int op_index(const char *name)
{
	unsigned k;

	for (k = 0; k < fuzz_nops; k++)
		if (!strcmp(fuzz_ops[k].name, name))
			return k;
	return -1;
}

/* An operation at random, each as likely as its weight. */
int op_pick(struct rng *r)
{
	unsigned total = 0, x, k;

	for (k = 0; k < fuzz_nops; k++)
		total += fuzz_ops[k].weight;
	x = rnd(r, total);
	for (k = 0; k < fuzz_nops; k++) {
		if (x < fuzz_ops[k].weight)
			return k;
		x -= fuzz_ops[k].weight;
	}
	return op_index("info");
}
