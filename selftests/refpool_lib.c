// SPDX-License-Identifier: GPL-2.0
/*
 * librefpool's own rules, as the library states them (userspace/include/
 * refpool.h, SPEC 2):
 *
 * - every result pointer goes to the kernel untouched: a bad one is
 *   -EFAULT from the kernel, and the call leaves nothing behind (no
 *   handle, fd, pin or mapping) - one variant per call;
 * - struct rp_info and struct rp_stats travel with their size: an older,
 *   smaller struct gets only its own bytes, a newer, larger one gets zeros
 *   where the kernel knows nothing;
 * - rp_recv() closes every fd a hostile peer sends;
 * - rp_read_events() waits as long as it is told, signals or not;
 * - the library runs clean under valgrind without suppressions
 *   (refpool_lib_calls, run under memcheck).
 */
#include "refpool_test.h"

#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#define OBJ_SIZE	64
#define OBJ_SEED	7
#define GUARD		0xa5

/* Open fds of this process, from /proc/self/fd. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	/* opendir's own fd */
	return n - 1;
}

/* Index of the first byte of @buf that is not @byte, or -1. */
static ssize_t first_not(const void *buf, size_t len, unsigned char byte)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != byte)
			return (ssize_t)i;
	return -1;
}

/* ---- Bad result pointers: -EFAULT from the kernel, nothing left ---- */

enum call {
	C_CREATE, C_CREATE_FROM, C_DUP, C_INFO, C_STATS, C_EXPORT, C_IMPORT,
	C_PUBLISH, C_PIN, C_LOOKUP_OUT, C_LOOKUP_TOKEN, C_UNPIN, C_INTERN,
	C_GET_LINK, C_GC, C_BATCH, C_MAP, C_LIST_PINS, C_RECV, C_WATCH_TOKEN,
	C_READ_EVENTS, C_EXPORT_DMABUF,
};

FIXTURE(result_ptr) {
	struct rp_pool *p;
	rp_handle_t h;		/* an object with one slot, linked to child */
	rp_handle_t child;
	rp_token_t tok;		/* self->h published */
	int fd;			/* self->h exported */
	rp_token_t pin;		/* a pin the call made, to drop after */
	bool pinned;
	struct rp_stats base;
	int64_t refs;
	int fds;
};

FIXTURE_VARIANT(result_ptr) {
	enum call call;
};

FIXTURE_VARIANT_ADD(result_ptr, create) { .call = C_CREATE };
FIXTURE_VARIANT_ADD(result_ptr, create_from) { .call = C_CREATE_FROM };
FIXTURE_VARIANT_ADD(result_ptr, dup) { .call = C_DUP };
FIXTURE_VARIANT_ADD(result_ptr, info) { .call = C_INFO };
FIXTURE_VARIANT_ADD(result_ptr, stats) { .call = C_STATS };
FIXTURE_VARIANT_ADD(result_ptr, export) { .call = C_EXPORT };
FIXTURE_VARIANT_ADD(result_ptr, import) { .call = C_IMPORT };
FIXTURE_VARIANT_ADD(result_ptr, publish) { .call = C_PUBLISH };
FIXTURE_VARIANT_ADD(result_ptr, pin) { .call = C_PIN };
FIXTURE_VARIANT_ADD(result_ptr, lookup_out) { .call = C_LOOKUP_OUT };
FIXTURE_VARIANT_ADD(result_ptr, lookup_token) { .call = C_LOOKUP_TOKEN };
FIXTURE_VARIANT_ADD(result_ptr, unpin) { .call = C_UNPIN };
FIXTURE_VARIANT_ADD(result_ptr, intern) { .call = C_INTERN };
FIXTURE_VARIANT_ADD(result_ptr, get_link) { .call = C_GET_LINK };
FIXTURE_VARIANT_ADD(result_ptr, gc) { .call = C_GC };
FIXTURE_VARIANT_ADD(result_ptr, batch) { .call = C_BATCH };
FIXTURE_VARIANT_ADD(result_ptr, map) { .call = C_MAP };
FIXTURE_VARIANT_ADD(result_ptr, list_pins) { .call = C_LIST_PINS };
FIXTURE_VARIANT_ADD(result_ptr, recv) { .call = C_RECV };
FIXTURE_VARIANT_ADD(result_ptr, watch_token) { .call = C_WATCH_TOKEN };
FIXTURE_VARIANT_ADD(result_ptr, read_events) { .call = C_READ_EVENTS };
FIXTURE_VARIANT_ADD(result_ptr, export_dmabuf) { .call = C_EXPORT_DMABUF };

FIXTURE_SETUP(result_ptr)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rp_create(self->p, OBJ_SIZE, 1, 0, &self->h));
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &self->child));
	ASSERT_EQ(0, rp_link(self->p, self->h, 0, self->child));
	ASSERT_EQ(0, rp_publish(self->p, self->h, &self->tok));
	ASSERT_EQ(0, rp_export(self->p, self->h, &self->fd));
	GET_STATS(self->p, &self->base);
	self->refs = rpt_refs(self->p, self->h);
	self->fds = count_fds();
}

FIXTURE_TEARDOWN(result_ptr)
{
	/* Pins outlive the session: leave none behind. */
	if (self->pinned)
		rp_unpin(self->p, &self->pin);
	if (self->p)
		rp_close(self->p);
}

/* Run the variant's call with a result (or token) pointer of @bad. */
static int call_with(struct __test_metadata *_metadata,
		     FIXTURE_DATA(result_ptr) *self, enum call call, void *bad)
{
	static const char value[] = "refpool_lib result_ptr intern";
	int sv[2], ret;

	switch (call) {
	case C_CREATE:
		return rp_create(self->p, 16, 0, 0, bad);
	case C_CREATE_FROM:
		return rp_create_from(self->p, "sixteen bytes...", 16, 0, bad);
	case C_DUP:
		return rp_dup(self->p, self->h, bad);
	case C_INFO:
		return rp_info_sz(self->p, self->h, bad, sizeof(struct rp_info));
	case C_STATS:
		return rp_stats_sz(self->p, bad, sizeof(struct rp_stats));
	case C_EXPORT:
		return rp_export(self->p, self->h, bad);
	case C_IMPORT:
		return rp_import(self->p, self->fd, bad);
	case C_PUBLISH:
		return rp_publish(self->p, self->h, bad);
	case C_PIN:
		return rp_pin(self->p, self->h, bad);
	case C_LOOKUP_OUT:
		return rp_lookup(self->p, &self->tok, bad);
	case C_LOOKUP_TOKEN:
		return rp_lookup(self->p, bad, &(rp_handle_t){ 0 });
	case C_UNPIN:
		return rp_unpin(self->p, bad);
	case C_INTERN:
		return rp_intern(self->p, value, sizeof(value), bad);
	case C_GET_LINK:
		return rp_get_link(self->p, self->h, 0, bad);
	case C_GC:
		return rp_gc(self->p, bad);
	case C_BATCH:
		return rp_batch(self->p, bad, 1);
	case C_MAP:
		return rp_map(self->p, self->h, PROT_READ, bad);
	case C_LIST_PINS:
		/* One pin to write: the count alone would need no pointer. */
		ret = rp_pin(self->p, self->child, &self->pin);
		if (ret)
			return ret;
		self->pinned = true;
		GET_STATS(self->p, &self->base);
		return rp_list_pins(self->p, bad, 1);
	case C_RECV:
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					0, sv));
		ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
		ret = rp_recv(sv[1], self->p, bad);
		close(sv[0]);
		close(sv[1]);
		return ret;
	case C_WATCH_TOKEN:
		return rp_watch_token(self->p, bad, RP_EV_FREED, 1);
	case C_READ_EVENTS:
		ret = rp_watch(self->p, self->h, RP_EV_SEALED, 1);
		if (ret)
			return ret;
		ASSERT_EQ(0, rp_seal(self->p, self->h));
		return rp_read_events(self->p, bad, 1, 0);
	case C_EXPORT_DMABUF:
		return rp_export_dmabuf(self->p, self->h, O_CLOEXEC | O_RDWR,
					bad);
	}
	return -ENOSYS;
}

TEST_F(result_ptr, bad_pointer_efault_leaves_nothing)
{
	void *bad = rpt_noaccess();
	struct rp_stats now;
	int ret;

	ASSERT_NE(NULL, bad);
	ret = call_with(_metadata, self, variant->call, bad);
	if (ret == -ENOTTY)
		SKIP(return, "the module has no such command yet");
	EXPECT_EQ(-EFAULT, ret);
	GET_STATS(self->p, &now);
	EXPECT_EQ(self->base.objects, now.objects);
	EXPECT_EQ(self->base.bytes, now.bytes);
	EXPECT_EQ(self->base.session_handles, now.session_handles);
	EXPECT_EQ(self->base.user_pins, now.user_pins);
	EXPECT_EQ(self->base.intern_hits, now.intern_hits);
	/* No fd installed, no mapping or file holding the object. */
	EXPECT_EQ(self->fds, count_fds());
	EXPECT_EQ(self->refs, rpt_refs(self->p, self->h));
}

/* A NULL result pointer is the kernel's -EFAULT too, not a library check. */
TEST_F(result_ptr, null_pointer_efault)
{
	int ret;

	/* With room for entries, a NULL array is the kernel's to define. */
	if (variant->call == C_LIST_PINS)
		SKIP(return, "NULL means no entries for rp_list_pins()");
	ret = call_with(_metadata, self, variant->call, NULL);
	if (ret == -ENOTTY)
		SKIP(return, "the module has no such command yet");
	/* NULL is "not wanted" for rp_gc()'s count. */
	EXPECT_EQ(variant->call == C_GC ? 0 : -EFAULT, ret);
	EXPECT_EQ(self->fds, count_fds());
	EXPECT_EQ(self->refs, rpt_refs(self->p, self->h));
}

/* ---- Structs that grow ---- */

FIXTURE(sized) {
	struct rp_pool *p;
	rp_handle_t h;
};

FIXTURE_SETUP(sized)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
}

FIXTURE_TEARDOWN(sized)
{
	if (self->p)
		rp_close(self->p);
}

/* The first struct rp_info was 32 bytes: not one byte more is written. */
TEST_F(sized, info_of_the_first_size_writes_only_it)
{
	unsigned char buf[64];
	struct rp_info full;

	memset(buf, GUARD, sizeof(buf));
	ASSERT_EQ(0, rp_info_sz(self->p, self->h, (struct rp_info *)buf,
				REFPOOL_INFO_SIZE_VER0));
	ASSERT_EQ(0, rp_info(self->p, self->h, &full));
	EXPECT_EQ(0, memcmp(buf, &full, REFPOOL_INFO_SIZE_VER0));
	EXPECT_EQ(-1, first_not(buf + REFPOOL_INFO_SIZE_VER0,
				sizeof(buf) - REFPOOL_INFO_SIZE_VER0, GUARD));
}

/* A newer program's larger struct: the fields the kernel lacks read 0. */
TEST_F(sized, info_of_a_larger_struct_zero_fills_the_tail)
{
	struct {
		struct rp_info info;
		uint64_t later[3];
		unsigned char guard[8];
	} big;

	memset(&big, GUARD, sizeof(big));
	ASSERT_EQ(0, rp_info_sz(self->p, self->h, &big.info,
				offsetof(typeof(big), guard)));
	EXPECT_EQ(OBJ_SIZE, big.info.size);
	EXPECT_NE(0, big.info.id);
	EXPECT_EQ(-1, rpt_nonzero(big.later, sizeof(big.later)));
	EXPECT_EQ(-1, first_not(big.guard, sizeof(big.guard), GUARD));
}

TEST_F(sized, info_of_a_size_below_the_first_einval)
{
	unsigned char buf[64];

	memset(buf, GUARD, sizeof(buf));
	EXPECT_EQ(-EINVAL, rp_info_sz(self->p, self->h, (struct rp_info *)buf,
				      REFPOOL_INFO_SIZE_VER0 - 8));
	EXPECT_EQ(-1, first_not(buf, sizeof(buf), GUARD));
}

/* The first struct rp_stats was 120 bytes (15 counters). */
TEST_F(sized, stats_of_the_first_size_writes_only_it)
{
	unsigned char buf[sizeof(struct rp_stats) + 16];
	struct rp_stats *st = (struct rp_stats *)buf;

	memset(buf, GUARD, sizeof(buf));
	ASSERT_EQ(0, rp_stats_sz(self->p, st, REFPOOL_STATS_MIN_SIZE));
	EXPECT_NE(0, st->objects);
	EXPECT_NE(0, st->session_handles);
	EXPECT_NE(0, st->max_objects);
	EXPECT_EQ(-1, first_not(buf + REFPOOL_STATS_MIN_SIZE,
				sizeof(buf) - REFPOOL_STATS_MIN_SIZE, GUARD));
}

TEST_F(sized, stats_of_a_larger_struct_zero_fills_the_tail)
{
	struct {
		struct rp_stats st;
		uint64_t later[4];
		unsigned char guard[8];
	} big;

	memset(&big, GUARD, sizeof(big));
	ASSERT_EQ(0, rp_stats_sz(self->p, &big.st,
				 offsetof(typeof(big), guard)));
	EXPECT_NE(0, big.st.objects);
	EXPECT_NE(0, big.st.user_objects);
	EXPECT_EQ(-1, rpt_nonzero(big.later, sizeof(big.later)));
	EXPECT_EQ(-1, first_not(big.guard, sizeof(big.guard), GUARD));
}

TEST_F(sized, stats_of_a_size_below_the_first_einval)
{
	unsigned char buf[sizeof(struct rp_stats)];

	memset(buf, GUARD, sizeof(buf));
	EXPECT_EQ(-EINVAL, rp_stats_sz(self->p, (struct rp_stats *)buf,
				       REFPOOL_STATS_MIN_SIZE - 8));
	EXPECT_EQ(-1, first_not(buf, sizeof(buf), GUARD));
}

/* The macros pass the struct's own size: the whole struct is written. */
TEST_F(sized, the_macros_fill_the_whole_struct)
{
	struct rp_stats st;
	struct rp_info info;

	memset(&st, GUARD, sizeof(st));
	memset(&info, GUARD, sizeof(info));
	ASSERT_EQ(0, rp_stats(self->p, &st));
	ASSERT_EQ(0, rp_info(self->p, self->h, &info));
	/* Fields past the first 120 bytes hold counters, not the guard. */
	EXPECT_NE(0xa5a5a5a5a5a5a5a5ULL, st.dmabufs);
	EXPECT_NE(0xa5a5a5a5a5a5a5a5ULL, st.user_objects);
	EXPECT_EQ(0, info.flags);
}

/* ---- rp_recv() and a hostile peer ---- */

FIXTURE(recv) {
	struct rp_pool *p;
	struct rp_stats base;
	int fds;
};

FIXTURE_SETUP(recv)
{
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
	self->fds = count_fds();
}

FIXTURE_TEARDOWN(recv)
{
	if (self->p)
		rp_close(self->p);
}

/*
 * Send @len bytes (0 or 1) carrying an exported object's fd and a pipe's
 * read end; the sender keeps nothing, so only the message holds the
 * object.
 */
static int send_hostile(struct rp_pool *p, int sock, size_t len)
{
	int fds[2], pfd[2], ret;
	rp_handle_t h;

	ret = rp_create(p, 4096, 0, 0, &h);
	if (ret)
		return ret;
	ret = rp_export(p, h, &fds[0]);
	rp_put(p, h);
	if (ret)
		return ret;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fds[1] = pfd[0];
	ret = rpt_send_fds_len(sock, fds, 2, len);
	close(fds[0]);
	close(pfd[0]);
	close(pfd[1]);
	return ret;
}

/* Every fd of the message closed, no handle made, the object freed. */
#define EXPECT_ALL_CLOSED() do { \
	struct rp_stats __now; \
	EXPECT_EQ(self->fds, count_fds()); \
	GET_STATS(self->p, &__now); \
	EXPECT_EQ(self->base.session_handles, __now.session_handles); \
	EXPECT_POOL_SETTLES(self->p, &self->base, 0, 0); \
} while (0)

static void hostile_empty_message(struct __test_metadata *_metadata,
				  FIXTURE_DATA(recv) *self, int type)
{
	rp_handle_t out = 0;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, send_hostile(self->p, sv[0], 0));
	EXPECT_EQ(-EBADMSG, rp_recv(sv[1], self->p, &out));
	EXPECT_EQ(0, out);
	close(sv[0]);
	close(sv[1]);
	EXPECT_ALL_CLOSED();
}

TEST_F(recv, empty_message_with_fds_on_seqpacket_closes_them)
{
	hostile_empty_message(_metadata, self, SOCK_SEQPACKET);
}

TEST_F(recv, empty_message_with_fds_on_dgram_closes_them)
{
	hostile_empty_message(_metadata, self, SOCK_DGRAM);
}

/* One byte, as rp_send() sends, but two fds: not rp_send()'s message. */
TEST_F(recv, two_fds_ebadmsg_closes_both)
{
	rp_handle_t out = 0;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, send_hostile(self->p, sv[0], 1));
	EXPECT_EQ(-EBADMSG, rp_recv(sv[1], self->p, &out));
	EXPECT_EQ(0, out);
	close(sv[0]);
	close(sv[1]);
	EXPECT_ALL_CLOSED();
}

/* An end of file with nothing in it is the peer gone. */
TEST_F(recv, closed_peer_epipe)
{
	rp_handle_t out = 0;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	close(sv[0]);
	EXPECT_EQ(-EPIPE, rp_recv(sv[1], self->p, &out));
	close(sv[1]);
	EXPECT_EQ(self->fds, count_fds());
}

/* ---- Events: the fd, and the time rp_read_events() waits ---- */

FIXTURE(events) {
	struct rp_pool *p;
};

FIXTURE_SETUP(events)
{
	RPT_OPEN_OR_SKIP(&self->p);
}

FIXTURE_TEARDOWN(events)
{
	if (self->p)
		rp_close(self->p);
}

TEST_F(events, events_fd_is_the_session_fd)
{
	EXPECT_EQ(rp_fd(self->p), rp_events_fd(self->p));
	EXPECT_EQ(-EINVAL, rp_events_fd(NULL));
}

#define WAIT_MS	300

TEST_F(events, read_with_nothing_queued_times_out)
{
	struct rp_event ev[4];
	uint64_t start = rpt_now_ms();
	int ret;

	ret = rp_read_events(self->p, ev, 4, WAIT_MS);
	if (ret == -ENOTTY)
		SKIP(return, "the module has no events yet");
	EXPECT_EQ(0, ret);
	EXPECT_LE(WAIT_MS, rpt_now_ms() - start);
}

TEST_F(events, read_with_timeout_0_does_not_wait)
{
	struct rp_event ev[4];
	uint64_t start = rpt_now_ms();
	int ret;

	ret = rp_read_events(self->p, ev, 4, 0);
	if (ret == -ENOTTY)
		SKIP(return, "the module has no events yet");
	EXPECT_EQ(0, ret);
	EXPECT_GT(WAIT_MS, rpt_now_ms() - start);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal in the middle: the wait goes on for the time left. */
TEST_F(events, read_interrupted_waits_for_the_time_left)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	struct rp_event ev[4];
	uint64_t start;
	int ret;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	start = rpt_now_ms();
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ret = rp_read_events(self->p, ev, 4, WAIT_MS);
	if (ret == -ENOTTY)
		SKIP(return, "the module has no events yet");
	EXPECT_EQ(0, ret);
	EXPECT_LE(WAIT_MS, rpt_now_ms() - start);
}

/* A queued event is read at once, whatever the timeout. */
TEST_F(events, read_returns_a_queued_event)
{
	struct rp_event ev[4];
	rp_handle_t h;
	int ret;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &h));
	ret = rp_watch(self->p, h, RP_EV_SEALED, 42);
	if (ret == -ENOTTY)
		SKIP(return, "the module has no events yet");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, rp_seal(self->p, h));
	ASSERT_EQ(1, rp_read_events(self->p, ev, 4, -1));
	EXPECT_EQ(42, ev[0].cookie);
	EXPECT_EQ(rpt_id(self->p, h), ev[0].id);
	EXPECT_EQ(RP_EV_SEALED, ev[0].events);
	EXPECT_EQ(0, ev[0].reserved);
}

/* ---- Sessions and pins ---- */

/* Not refpool's device: it does not know the version command. */
TEST(open_a_device_that_is_not_refpool_enotty)
{
	struct rp_pool *q = NULL;

	EXPECT_EQ(-ENOTTY, rp_open_path("/dev/null", &q));
	EXPECT_EQ(NULL, q);
}

TEST(list_pins_counts_and_writes_up_to_max)
{
	struct rp_pin_info pins[3];
	struct rp_pool *p;
	rp_token_t tok[2];
	rp_handle_t h[2];
	int before, i;

	RPT_OPEN_OR_SKIP(&p);
	before = rp_list_pins(p, NULL, 0);
	ASSERT_LE(0, before);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, rp_create(p, 100 + i, 0, 0, &h[i]));
		ASSERT_EQ(0, rp_pin(p, h[i], &tok[i]));
	}
	EXPECT_EQ(before + 2, rp_list_pins(p, NULL, 0));
	memset(pins, GUARD, sizeof(pins));
	/* Room for one: the count says all, one entry is written. */
	EXPECT_EQ(before + 2, rp_list_pins(p, pins, 1));
	EXPECT_EQ(-1, first_not(&pins[1], 2 * sizeof(pins[0]), GUARD));
	if (before == 0) {
		/* Oldest first: ours, in order, with their ids and sizes. */
		ASSERT_EQ(2, rp_list_pins(p, pins, 3));
		for (i = 0; i < 2; i++) {
			EXPECT_EQ(0, memcmp(&tok[i], &pins[i].token,
					    sizeof(tok[i])));
			EXPECT_EQ(rpt_id(p, h[i]), pins[i].id);
			EXPECT_EQ(100 + i, pins[i].size);
		}
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, rp_unpin(p, &tok[i]));
	EXPECT_EQ(before, rp_list_pins(p, NULL, 0));
	rp_close(p);
}

TEST(batch_returns_0_when_every_op_ran)
{
	struct rp_op ops[2] = {
		{ .op = RP_OP_DUP },
		{ .op = RP_OP_PUT, .handle = 0 },
	};
	struct rp_pool *p;
	rp_handle_t h;

	RPT_OPEN_OR_SKIP(&p);
	ASSERT_EQ(0, rp_create(p, 8, 0, 0, &h));
	ops[0].handle = h;
	ASSERT_EQ(0, rp_batch(p, ops, 2));
	EXPECT_EQ(0, ops[0].result);
	EXPECT_NE(0, ops[0].out);
	/* A failed op is its own result, not the call's. */
	EXPECT_EQ(-EBADF, ops[1].result);
	ASSERT_EQ(0, rp_put(p, ops[0].out));
	rp_close(p);
}

/* ---- valgrind: every call, no suppressions ---- */

/* The helper program beside this one: refpool_lib_calls. */
static int helper_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/refpool_lib_calls") > len)
		return -ENAMETOOLONG;
	strcpy(slash, "/refpool_lib_calls");
	return 0;
}

static const char *find_valgrind(void)
{
	static const char *const where[] = {
		"/usr/bin/valgrind", "/usr/local/bin/valgrind",
	};
	size_t i;

	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (!access(where[i], X_OK))
			return where[i];
	return NULL;
}

FIXTURE(valgrind) {
	int unused;
};

FIXTURE_SETUP(valgrind)
{
}

FIXTURE_TEARDOWN(valgrind)
{
}

/* memcheck makes the program tens of times slower, more under TCG. */
#define VALGRIND_TIMEOUT	240

TEST_F_TIMEOUT(valgrind, every_call_is_clean, VALGRIND_TIMEOUT)
{
	const char *valgrind = find_valgrind();
	char helper[PATH_MAX];
	pid_t pid;

	if (!valgrind)
		SKIP(return, "valgrind is not installed");
	if (access(rpt_device(), R_OK | W_OK))
		SKIP(return, "%s missing: is refpool.ko loaded?", rpt_device());
	ASSERT_EQ(0, helper_path(helper, sizeof(helper)));
	ASSERT_EQ(0, access(helper, X_OK)) TH_LOG("%s: not built", helper);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execl(valgrind, valgrind, "-q", "--error-exitcode=1",
		      "--leak-check=full", helper, (char *)NULL);
		_exit(127);
	}
	/* valgrind's status, or the helper's own (2: a call failed). */
	EXPECT_EQ(0, rpt_wait(pid));
}

TEST_HARNESS_MAIN
