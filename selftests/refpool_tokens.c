// SPDX-License-Identifier: GPL-2.0
/*
 * refpool tokens: 128-bit names an unrelated process of the same IPC
 * namespace looks up. A published token is weak (no reference, -ENOENT
 * once the object is gone); a pinned one owns one reference until
 * rp_unpin(), so that the object outlives every process. Also the text
 * form of tokens.
 *
 * Pins outlive the test process: every test unpins what it pinned, and
 * the teardown unpins again whatever a failed test left.
 */
#include "refpool_test.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define OBJ_SIZE	200
#define OBJ_SEED	61
#define MAX_PINS	4

FIXTURE(tokens) {
	struct rp_pool *p;
	rp_handle_t h;		/* OBJ_SIZE bytes of pattern OBJ_SEED */
	struct rpt_obj obj;
	struct rp_stats base;	/* taken with the object alive */
	pid_t child;
	rp_token_t pins[MAX_PINS];
	int npins;
};

FIXTURE_SETUP(tokens)
{
	RPT_OPEN_OR_SKIP(&self->p);
	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0,
					&self->h));
	SNAP(self->p, self->h, &self->obj);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(tokens)
{
	int i;

	if (self->child > 0) {
		kill(self->child, SIGKILL);
		rpt_wait(self->child);
	}
	for (i = 0; i < self->npins; i++)
		rp_unpin(self->p, &self->pins[i]);	/* -ENOENT if done */
	if (self->p)
		rp_close(self->p);
}

/* Pin, and remember the token for the teardown. */
#define PIN(p, h, tok) do { \
	ASSERT_EQ(0, rp_pin((p), (h), (tok))); \
	ASSERT_GT(MAX_PINS, self->npins); \
	self->pins[self->npins++] = *(tok); \
} while (0)

/* A token is charged to its publisher until the object dies. */
#define EXPECT_NOTHING_CHANGED() do { \
	EXPECT_POOL_SAME(self->p, &self->base); \
	EXPECT_OBJ_UNCHANGED(self->p, &self->obj); \
} while (0)

#define EXPECT_TOKEN_EQ(a, b)	EXPECT_EQ(0, memcmp((a), (b), sizeof(rp_token_t)))

/* A token nobody published: 128 random bits. */
static void random_token(rp_token_t *tok)
{
	struct rpt_rng r;
	int i;

	rpt_rng_init(&r, rpt_seed());
	for (i = 0; i < 16; i++)
		tok->bytes[i] = (uint8_t)rpt_rand(&r);
}

/* ---- Publish and look up ---- */

TEST_F(tokens, publish_holds_no_reference)
{
	rp_token_t tok, zero;

	memset(&tok, 0, sizeof(tok));
	memset(&zero, 0, sizeof(zero));
	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	EXPECT_NE(0, memcmp(&tok, &zero, sizeof(tok)));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, publish_twice_gives_the_same_token)
{
	rp_token_t a, b, c;
	struct rp_pool *q;
	rp_handle_t d, hq;
	int fd;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &a));
	ASSERT_EQ(0, rp_publish(self->p, self->h, &b));
	EXPECT_TOKEN_EQ(&a, &b);
	/* The token is the object's: another handle, another session. */
	ASSERT_EQ(0, rp_dup(self->p, self->h, &d));
	ASSERT_EQ(0, rp_publish(self->p, d, &c));
	EXPECT_TOKEN_EQ(&a, &c);
	ASSERT_EQ(0, rp_put(self->p, d));
	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rp_import(q, fd, &hq));
	close(fd);
	ASSERT_EQ(0, rp_publish(q, hq, &c));
	EXPECT_TOKEN_EQ(&a, &c);
	rp_close(q);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, different_objects_get_different_tokens)
{
	rp_token_t a, b;
	rp_handle_t h2;

	ASSERT_EQ(0, rpt_create_pattern(self->p, OBJ_SIZE, OBJ_SEED, 0, &h2));
	ASSERT_EQ(0, rp_publish(self->p, self->h, &a));
	ASSERT_EQ(0, rp_publish(self->p, h2, &b));
	EXPECT_NE(0, memcmp(&a, &b, sizeof(a)));
}

TEST_F(tokens, lookup_gives_a_new_handle_to_the_same_object)
{
	rp_handle_t a = 0, b = 0;
	rp_token_t tok;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &a));
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &b));
	EXPECT_NE(0, a);
	EXPECT_NE(self->h, a);
	EXPECT_NE(a, b);
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, a));
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, b));
	EXPECT_EQ(3, rpt_refs(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, 0, 0, 2);
	ASSERT_EQ(0, rp_put(self->p, a));
	ASSERT_EQ(0, rp_put(self->p, b));
	EXPECT_NOTHING_CHANGED();
}

/* An unrelated process (own session) finds it by the token's text. */
static int child_looks_up(const char *text, int report)
{
	unsigned char buf[OBJ_SIZE];
	struct rp_pool *q;
	struct rp_info info;
	rp_token_t tok;
	rp_handle_t h;

	if (rp_token_from_str(text, &tok))
		return 10;
	if (rp_open(&q))
		return 11;
	if (rp_lookup(q, &tok, &h))
		return 12;
	if (rp_info(q, h, &info))
		return 13;
	if (rp_read(q, h, 0, buf, OBJ_SIZE) != OBJ_SIZE ||
	    rpt_mismatch(buf, OBJ_SIZE, OBJ_SEED) != -1)
		return 14;
	if (rpt_write_all(report, &info.id, sizeof(info.id)))
		return 15;
	if (rp_put(q, h))
		return 16;
	rp_close(q);
	return 0;
}

TEST_F(tokens, lookup_from_another_process)
{
	char text[33];
	rp_token_t tok;
	uint64_t id = 0;
	int pfd[2];

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_token_to_str(&tok, text));
	ASSERT_EQ(0, pipe(pfd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(child_looks_up(text, pfd[1]));
	EXPECT_EQ(0, rpt_wait(self->child));
	self->child = 0;
	ASSERT_EQ(0, rpt_read_all(pfd[0], &id, sizeof(id)));
	EXPECT_EQ(self->obj.info.id, id);
	EXPECT_NOTHING_CHANGED();
}

/* What lookup returns is a strong handle like any other. */
TEST_F(tokens, looked_up_handle_keeps_object_after_publisher_puts)
{
	rp_handle_t h2 = 0;
	rp_token_t tok;
	unsigned char buf[OBJ_SIZE];

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &h2));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_SAME(self->p, &self->base);
	EXPECT_EQ(1, rpt_refs(self->p, h2));
	ASSERT_EQ(OBJ_SIZE, rp_read(self->p, h2, 0, buf, OBJ_SIZE));
	EXPECT_EQ(-1, rpt_mismatch(buf, OBJ_SIZE, OBJ_SEED));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &h2));
}

TEST_F(tokens, lookup_after_object_gone_enoent)
{
	rp_handle_t out = 0;
	struct rp_stats after;
	rp_token_t tok;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	GET_STATS(self->p, &after);
	EXPECT_EQ(self->base.objects - 1, after.objects);
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &out));
	EXPECT_EQ(0, out);
	EXPECT_POOL_UNCHANGED(self->p, &after);
}

/* A dead object's token also fails in another session. */
TEST_F(tokens, lookup_after_holder_exits_enoent)
{
	rp_handle_t out = 0;
	struct rp_pool *q;
	rp_token_t tok;
	rp_handle_t hq;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rpt_create_pattern(q, 64, 3, 0, &hq));
	ASSERT_EQ(0, rp_publish(q, hq, &tok));
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &out));
	ASSERT_EQ(0, rp_put(self->p, out));
	out = 0;
	rp_close(q);
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &out));
	EXPECT_EQ(0, out);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, lookup_unknown_token_enoent)
{
	rp_handle_t out = 0;
	rp_token_t tok;

	random_token(&tok);
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &out));
	memset(&tok, 0, sizeof(tok));
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &out));
	EXPECT_EQ(0, out);
	EXPECT_NOTHING_CHANGED();
}

/*
 * In a child that moved to a new IPC namespace, run @op on the token:
 * exit with 0 if it failed with -ENOENT, 4 if the namespace cannot be
 * made (not root), 110 if it succeeded, else 10 + the errno it returned.
 */
enum ns_op { NS_LOOKUP_SHARED_SESSION, NS_LOOKUP_NEW_SESSION, NS_UNPIN };

static int child_in_new_ipc_ns(struct rp_pool *p, const rp_token_t *tok,
			       enum ns_op op)
{
	struct rp_pool *q = p;
	rp_handle_t out = 0;
	int ret;

	if (unshare(CLONE_NEWIPC))
		return errno == EPERM ? 4 : 3;
	if (op == NS_LOOKUP_NEW_SESSION && rp_open(&q))
		return 5;
	if (op == NS_UNPIN) {
		ret = rp_unpin(q, tok);
		if (!ret)
			return 110;
	} else {
		ret = rp_lookup(q, tok, &out);
		if (!ret) {
			/* Found it: give the handle back, report. */
			rp_put(q, out);
			return 110;
		}
		if (out)
			return 6;
	}
	return ret == -ENOENT ? 0 : 10 + (ret < 0 ? -ret : 100);
}

static int run_in_new_ipc_ns(struct rp_pool *p, const rp_token_t *tok,
			     enum ns_op op)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(child_in_new_ipc_ns(p, tok, op));
	return pid < 0 ? -1 : rpt_wait(pid);
}

#define EXPECT_ENOENT_IN_NEW_NS(op) do { \
	int __st = run_in_new_ipc_ns(self->p, &tok, (op)); \
	if (__st == 4) \
		SKIP(return, "unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN"); \
	EXPECT_EQ(0, __st) { \
		TH_LOG("child status %d (110: the call succeeded, 10+N: -N), want -ENOENT", \
		       __st); \
	} \
} while (0)

TEST_F(tokens, lookup_from_other_ipc_namespace_enoent)
{
	rp_token_t tok;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	EXPECT_ENOENT_IN_NEW_NS(NS_LOOKUP_SHARED_SESSION);
	EXPECT_ENOENT_IN_NEW_NS(NS_LOOKUP_NEW_SESSION);
	EXPECT_NOTHING_CHANGED();
}

/* A token published in another namespace is not found from this one. */
TEST_F(tokens, token_of_other_ipc_namespace_not_found_here)
{
	rp_token_t ours, theirs;
	rp_handle_t out = 0;
	int pfd[2], st;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &ours));
	ASSERT_EQ(0, pipe(pfd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		rp_token_t t;

		if (unshare(CLONE_NEWIPC))
			_exit(errno == EPERM ? 4 : 3);
		if (rp_publish(self->p, self->h, &t))
			_exit(5);
		_exit(rpt_write_all(pfd[1], &t, sizeof(t)) ? 6 : 0);
	}
	st = rpt_wait(self->child);
	self->child = 0;
	if (st == 4)
		SKIP(return, "unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN");
	ASSERT_EQ(0, st);
	ASSERT_EQ(0, rpt_read_all(pfd[0], &theirs, sizeof(theirs)));
	EXPECT_NE(0, memcmp(&ours, &theirs, sizeof(ours)));
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &theirs, &out));
	EXPECT_EQ(0, out);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, publish_bad_handle_ebadf)
{
	rp_token_t tok, orig;
	rp_handle_t gone;

	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &gone));
	ASSERT_EQ(0, rp_put(self->p, gone));
	memset(&tok, 0xa5, sizeof(tok));
	orig = tok;
	EXPECT_EQ(-EBADF, rp_publish(self->p, 0, &tok));
	EXPECT_EQ(-EBADF, rp_publish(self->p, gone, &tok));
	EXPECT_EQ(-EBADF, rp_publish(self->p, self->h + 1000, &tok));
	EXPECT_TOKEN_EQ(&orig, &tok);
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, publish_null_token_efault)
{
	EXPECT_EQ(-EFAULT, rp_publish(self->p, self->h, NULL));
	EXPECT_EQ(-EFAULT, rp_pin(self->p, self->h, NULL));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, lookup_null_pointers_efault)
{
	rp_handle_t out = 0;
	rp_token_t tok;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	EXPECT_EQ(-EFAULT, rp_lookup(self->p, NULL, &out));
	EXPECT_EQ(-EFAULT, rp_lookup(self->p, &tok, NULL));
	EXPECT_EQ(0, out);
	EXPECT_NOTHING_CHANGED();
}

/* ---- Text form ---- */

TEST_F(tokens, token_to_str_is_32_lowercase_hex)
{
	rp_token_t tok = { { 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
			     0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x3f } };
	char text[40];

	memset(text, 'X', sizeof(text));
	ASSERT_EQ(0, rp_token_to_str(&tok, text));
	EXPECT_EQ('\0', text[32]);
	EXPECT_STREQ("000123456789abcdeffedcba9876543f", text);
	EXPECT_EQ('X', text[33]);	/* 33 bytes written, no more */
}

TEST_F(tokens, token_str_round_trip)
{
	rp_token_t tok, back;
	rp_handle_t h2 = 0;
	char text[33];

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_token_to_str(&tok, text));
	EXPECT_EQ(32, strlen(text));
	EXPECT_EQ(32, strspn(text, "0123456789abcdef"));
	memset(&back, 0, sizeof(back));
	ASSERT_EQ(0, rp_token_from_str(text, &back));
	EXPECT_TOKEN_EQ(&tok, &back);
	ASSERT_EQ(0, rp_lookup(self->p, &back, &h2));
	EXPECT_EQ(self->obj.info.id, rpt_id(self->p, h2));
	ASSERT_EQ(0, rp_put(self->p, h2));
}

TEST_F(tokens, token_from_str_accepts_either_case)
{
	rp_token_t lower, upper, mixed;

	ASSERT_EQ(0, rp_token_from_str("00112233445566778899aabbccddeeff",
				       &lower));
	ASSERT_EQ(0, rp_token_from_str("00112233445566778899AABBCCDDEEFF",
				       &upper));
	ASSERT_EQ(0, rp_token_from_str("00112233445566778899aAbBcCdDeEfF",
				       &mixed));
	EXPECT_EQ(0x00, lower.bytes[0]);
	EXPECT_EQ(0x11, lower.bytes[1]);
	EXPECT_EQ(0xaa, lower.bytes[10]);
	EXPECT_EQ(0xff, lower.bytes[15]);
	EXPECT_TOKEN_EQ(&lower, &upper);
	EXPECT_TOKEN_EQ(&lower, &mixed);
}

FIXTURE(bad_token_str) {
	rp_token_t tok;
};

FIXTURE_VARIANT(bad_token_str) {
	const char *s;
};

FIXTURE_VARIANT_ADD(bad_token_str, digits_31) {
	"0123456789abcdef0123456789abcde" };
FIXTURE_VARIANT_ADD(bad_token_str, digits_33) {
	"0123456789abcdef0123456789abcdef0" };
FIXTURE_VARIANT_ADD(bad_token_str, non_hex) {
	"0123456789abcdefg123456789abcdef" };
FIXTURE_VARIANT_ADD(bad_token_str, non_hex_last) {
	"0123456789abcdef0123456789abcdez" };
FIXTURE_VARIANT_ADD(bad_token_str, empty) { "" };
FIXTURE_VARIANT_ADD(bad_token_str, leading_space) {
	" 0123456789abcdef0123456789abcde" };
FIXTURE_VARIANT_ADD(bad_token_str, trailing_newline) {
	"0123456789abcdef0123456789abcdef\n" };
FIXTURE_VARIANT_ADD(bad_token_str, hex_prefix) {
	"0x0123456789abcdef0123456789abcd" };

FIXTURE_SETUP(bad_token_str)
{
	memset(&self->tok, 0x5a, sizeof(self->tok));
}

FIXTURE_TEARDOWN(bad_token_str)
{
}

TEST_F(bad_token_str, einval)
{
	rp_token_t orig = self->tok;

	EXPECT_EQ(-EINVAL, rp_token_from_str(variant->s, &self->tok));
	EXPECT_TOKEN_EQ(&orig, &self->tok);
}

/* ---- Pins ---- */

TEST_F(tokens, pin_adds_one_reference)
{
	rp_token_t pinned, published;

	PIN(self->p, self->h, &pinned);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	EXPECT_POOL_SAME(self->p, &self->base);
	/* The pinned token is the object's token in this namespace. */
	ASSERT_EQ(0, rp_publish(self->p, self->h, &published));
	EXPECT_TOKEN_EQ(&pinned, &published);
	EXPECT_EQ(2, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, rp_unpin(self->p, &pinned));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, pin_twice_adds_nothing)
{
	rp_token_t a, b, c;
	rp_handle_t d;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &a));
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	PIN(self->p, self->h, &b);
	ASSERT_EQ(0, rp_dup(self->p, self->h, &d));
	PIN(self->p, d, &c);
	EXPECT_TOKEN_EQ(&a, &b);
	EXPECT_TOKEN_EQ(&a, &c);
	/* h, d and one pin. */
	EXPECT_EQ(3, rpt_refs(self->p, self->h));
	ASSERT_EQ(0, rp_put(self->p, d));
	ASSERT_EQ(0, rp_unpin(self->p, &a));
	EXPECT_NOTHING_CHANGED();
}

/* The pin alone keeps it: every session gone, lookup still finds it. */
TEST_F(tokens, pinned_object_outlives_its_session)
{
	unsigned char buf[64];
	rp_handle_t hq, h2 = 0;
	struct rp_pool *q;
	rp_token_t tok;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rpt_create_pattern(q, 64, 62, 0, &hq));
	PIN(q, hq, &tok);
	rp_close(q);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 64, 0);

	ASSERT_EQ(0, rp_lookup(self->p, &tok, &h2));
	EXPECT_EQ(2, rpt_refs(self->p, h2));
	ASSERT_EQ(64, rp_read(self->p, h2, 0, buf, 64));
	EXPECT_EQ(-1, rpt_mismatch(buf, 64, 62));
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	EXPECT_EQ(1, rpt_refs(self->p, h2));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_NOTHING_CHANGED();
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &h2));
}

/* A creator pins its object and is killed; a new process finds it. */
static int child_pins_and_waits(int report)
{
	struct rp_pool *q;
	rp_token_t tok;
	rp_handle_t h;

	if (rp_open(&q))
		return 10;
	if (rpt_create_pattern(q, 5000, 63, 0, &h))
		return 11;
	if (rp_pin(q, h, &tok))
		return 12;
	if (rpt_write_all(report, &tok, sizeof(tok)))
		return 13;
	for (;;)
		pause();
}

static int child_finds_pinned(const rp_token_t *tok)
{
	unsigned char buf[5000];
	struct rp_pool *q;
	rp_handle_t h;

	if (rp_open(&q))
		return 10;
	if (rp_lookup(q, tok, &h))
		return 11;
	if (rp_read(q, h, 0, buf, sizeof(buf)) != sizeof(buf))
		return 12;
	return rpt_mismatch(buf, sizeof(buf), 63) == -1 ? 0 : 13;
}

TEST_F(tokens, pinned_object_survives_creator_sigkill)
{
	rp_handle_t h2 = 0;
	rp_token_t tok;
	int pfd[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(child_pins_and_waits(pfd[1]));
	ASSERT_EQ(0, rpt_read_all(pfd[0], &tok, sizeof(tok)));
	self->pins[self->npins++] = tok;
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	EXPECT_EQ(-1, rpt_wait(self->child));
	self->child = 0;
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 5000, 0);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(child_finds_pinned(&tok));
	EXPECT_EQ(0, rpt_wait(pid));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, 5000, 0);

	ASSERT_EQ(0, rp_lookup(self->p, &tok, &h2));
	EXPECT_EQ(2, rpt_refs(self->p, h2));
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	EXPECT_EQ(1, rpt_refs(self->p, h2));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_NOTHING_CHANGED();
	h2 = 0;
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &h2));
	EXPECT_EQ(0, h2);
}

TEST_F(tokens, unpin_of_published_not_pinned_enoent)
{
	rp_handle_t h2 = 0;
	rp_token_t tok;

	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	EXPECT_EQ(-ENOENT, rp_unpin(self->p, &tok));
	EXPECT_NOTHING_CHANGED();
	/* Still a valid (weak) token. */
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &h2));
	ASSERT_EQ(0, rp_put(self->p, h2));
}

TEST_F(tokens, unpin_unknown_token_enoent)
{
	rp_token_t tok;

	random_token(&tok);
	EXPECT_EQ(-ENOENT, rp_unpin(self->p, &tok));
	EXPECT_NOTHING_CHANGED();
}

TEST_F(tokens, unpin_twice_enoent)
{
	rp_token_t tok;

	PIN(self->p, self->h, &tok);
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	EXPECT_NOTHING_CHANGED();
	EXPECT_EQ(-ENOENT, rp_unpin(self->p, &tok));
	EXPECT_NOTHING_CHANGED();
}

/*
 * Lookup is confined to the publisher's namespace, but a pin is its
 * user's wherever it was made: it may be dropped from any namespace.
 */
TEST_F(tokens, unpin_from_other_ipc_namespace_works_for_its_user)
{
	rp_token_t tok;
	int st;

	PIN(self->p, self->h, &tok);
	st = run_in_new_ipc_ns(self->p, &tok, NS_UNPIN);
	if (st == 4)
		SKIP(return, "unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN");
	EXPECT_EQ(110, st) {
		TH_LOG("child status %d (110: the call succeeded, 10+N: -N)", st);
	}
	EXPECT_EQ(1, rpt_refs(self->p, self->h));
	EXPECT_EQ(-ENOENT, rp_unpin(self->p, &tok));
}

TEST_F(tokens, unpin_null_token_efault)
{
	rp_token_t tok;

	PIN(self->p, self->h, &tok);
	SNAP(self->p, self->h, &self->obj);
	EXPECT_EQ(-EFAULT, rp_unpin(self->p, NULL));
	EXPECT_NOTHING_CHANGED();
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
}

TEST_F(tokens, pin_bad_handle_ebadf)
{
	rp_token_t tok, orig;

	memset(&tok, 0xa5, sizeof(tok));
	orig = tok;
	EXPECT_EQ(-EBADF, rp_pin(self->p, 0, &tok));
	EXPECT_EQ(-EBADF, rp_pin(self->p, self->h + 1000, &tok));
	EXPECT_TOKEN_EQ(&orig, &tok);
	EXPECT_NOTHING_CHANGED();
}

/* After unpin the token is weak again: it dies with the last handle. */
TEST_F(tokens, unpinned_token_dies_with_the_object)
{
	rp_handle_t out = 0;
	rp_token_t tok;

	PIN(self->p, self->h, &tok);
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	ASSERT_EQ(0, rp_put(self->p, self->h));
	EXPECT_POOL_DELTA(self->p, &self->base, -1, -OBJ_SIZE, -1);
	EXPECT_EQ(-ENOENT, rp_lookup(self->p, &tok, &out));
	EXPECT_EQ(0, out);
}

/*
 * A namespace that is gone leaves its tokens behind while the object
 * lives; a new namespace must not find them, even when it reuses the dead
 * one's memory and inode number (which the kernel does readily).
 */
static unsigned long ipc_ns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/ipc", &st) ? 0 : (unsigned long)st.st_ino;
}

struct ns_result {
	unsigned long ino;
	rp_token_t tok;
	int ret;
};

static int child_in_fresh_ns(struct rp_pool *p, rp_handle_t h, bool publish,
			     const rp_token_t *tok, int report)
{
	struct ns_result res;
	rp_handle_t out = 0;

	memset(&res, 0, sizeof(res));
	if (unshare(CLONE_NEWIPC))
		return errno == EPERM ? 4 : 3;
	res.ino = ipc_ns_inode();
	if (publish) {
		res.ret = rp_publish(p, h, &res.tok);
	} else {
		res.ret = rp_lookup(p, tok, &out);
		if (!res.ret)
			rp_put(p, out);
	}
	return rpt_write_all(report, &res, sizeof(res)) ? 5 : 0;
}

TEST_F_TIMEOUT(tokens, token_of_dead_ipc_namespace_not_found_in_new_one, 90)
{
	const int rounds = 16;
	int i, st, found = 0, reused = 0;
	struct ns_result pub, look;
	int pfd[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	for (i = 0; i < rounds; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(child_in_fresh_ns(self->p, self->h, true, NULL,
						pfd[1]));
		st = rpt_wait(pid);
		if (st == 4)
			SKIP(return, "unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN");
		ASSERT_EQ(0, st);
		ASSERT_EQ(0, rpt_read_all(pfd[0], &pub, sizeof(pub)));
		ASSERT_EQ(0, pub.ret);
		/* A dead namespace is freed by a work item after RCU. */
		rpt_sleep_us(100000);

		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(child_in_fresh_ns(self->p, self->h, false,
						&pub.tok, pfd[1]));
		ASSERT_EQ(0, rpt_wait(pid));
		ASSERT_EQ(0, rpt_read_all(pfd[0], &look, sizeof(look)));
		rpt_sleep_us(100000);
		if (look.ino == pub.ino)
			reused++;
		if (look.ret != -ENOENT) {
			TH_LOG("round %d: namespace %lu (the publisher's was %lu) looked up a dead namespace's token: %d, want -ENOENT",
			       i, look.ino, pub.ino, look.ret);
			found++;
		}
	}
	TH_LOG("%d rounds, %d of them in a namespace that reused the dead one's inode number",
	       rounds, reused);
	EXPECT_EQ(0, found);
	EXPECT_NOTHING_CHANGED();
}

/*
 * Lookups racing with the object's last put: each either fails with
 * -ENOENT or returns a handle to that very object, which then lives on
 * until put; nothing is left behind.
 */
struct race {
	struct rp_pool *p;
	volatile int stop;
	volatile uint64_t gen;		/* bumped when tok/id change */
	rp_token_t tok;
	uint64_t id;
	int found, gone, wrong;
};

static void *racing_lookups(void *data)
{
	struct race *rc = data;

	while (!rc->stop) {
		uint64_t gen = __atomic_load_n(&rc->gen, __ATOMIC_ACQUIRE);
		struct rp_info info;
		rp_token_t tok;
		rp_handle_t h;
		uint64_t id;
		int ret;

		/* A seqlock: odd while the writer changes tok and id. */
		if (gen & 1)
			continue;
		memcpy(&tok, (const void *)&rc->tok, sizeof(tok));
		id = __atomic_load_n(&rc->id, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&rc->gen, __ATOMIC_RELAXED) != gen || !id)
			continue;
		ret = rp_lookup(rc->p, &tok, &h);
		if (ret == -ENOENT) {
			rc->gone++;
			continue;
		}
		if (ret) {
			rc->wrong++;
			continue;
		}
		if (rp_info(rc->p, h, &info) || info.id != id)
			rc->wrong++;
		else
			rc->found++;
		if (rp_put(rc->p, h))
			rc->wrong++;
	}
	return NULL;
}

TEST_F_TIMEOUT(tokens, lookup_racing_with_last_put, 300)
{
	struct race rc = { .p = self->p };
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, racing_lookups, &rc));
	for (i = 0; i < 1000; i++) {
		rp_token_t tok;
		rp_handle_t h;

		ASSERT_EQ(0, rp_create(self->p, i % 3 ? 64 : 5000, 0, 0, &h));
		ASSERT_EQ(0, rp_publish(self->p, h, &tok));
		__atomic_add_fetch(&rc.gen, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memcpy((void *)&rc.tok, &tok, sizeof(tok));
		__atomic_store_n(&rc.id, rpt_id(self->p, h), __ATOMIC_RELAXED);
		__atomic_add_fetch(&rc.gen, 1, __ATOMIC_RELEASE);
		if (i % 2)
			sched_yield();
		ASSERT_EQ(0, rp_put(self->p, h));
	}
	rc.stop = 1;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%d lookups found the object, %d found it gone", rc.found,
	       rc.gone);
	EXPECT_EQ(0, rc.wrong);
	EXPECT_NOTHING_CHANGED();
}

/*
 * Publishing opens nothing in the caller's mount namespace: a FIFO
 * mounted over /proc/self/ns/ipc there (which an open() of that path
 * would block on, and which FUSE could fake) changes nothing.
 */
static int publish_under_a_fifo(struct rp_pool *p, rp_handle_t h)
{
	char fifo[] = "/tmp/refpool-fifo-XXXXXX", ns[64];
	rp_token_t tok;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 4;
	if (!mkdtemp(fifo))
		return 5;
	strcat(fifo, "/f");
	snprintf(ns, sizeof(ns), "/proc/%d/ns/ipc", getpid());
	if (mkfifo(fifo, 0600) || mount(fifo, ns, NULL, MS_BIND, NULL))
		return 4;
	alarm(20);
	return rp_publish(p, h, &tok) ? 6 : 0;
}

TEST_F(tokens, publish_opens_nothing_in_the_callers_mounts)
{
	pid_t pid;
	int st;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(publish_under_a_fifo(self->p, self->h));
	st = rpt_wait(pid);
	if (st == 4)
		SKIP(return, "cannot mount over /proc/PID/ns/ipc here");
	EXPECT_EQ(0, st) {
		TH_LOG("child status %d (-1: killed by the alarm, blocked)", st);
	}
}

TEST_HARNESS_MAIN
