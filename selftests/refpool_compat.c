// SPDX-License-Identifier: GPL-2.0
/*
 * An old binary: built against librefpool 0.1's header
 * (compat/refpool-0.1.h, as released) and linked against the current
 * shared library, as a program built before 0.2 runs after an upgrade.
 * Its calls reach the REFPOOL_0.1 symbols with the 0.1 structs (struct
 * rp_info of 32 bytes, struct rp_stats of 120, struct rp_op of 16): each
 * must work as it did, and nothing may be written past those structs
 * (guard bytes after each).
 */
#include "kselftest_harness.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "compat/refpool-0.1.h"

#define GUARD		0xa5
#define GUARD_LEN	64

/* Index of the first byte of @buf that is not the guard, or -1. */
static ssize_t guard_broken(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != GUARD)
			return (ssize_t)i;
	return -1;
}

FIXTURE(old) {
	struct rp_pool *p;
	rp_handle_t h;
};

FIXTURE_SETUP(old)
{
	const char *dev = getenv("REFPOOL_DEVICE");
	int ret = rp_open(&self->p);

	if (ret == -ENOENT) {
		/* The 6.1 harness would run the body anyway: leave now. */
		SKIP(_exit(255), "%s missing: is refpool.ko loaded?",
		     dev && *dev ? dev : "/dev/refpool");
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, rp_create_from(self->p, "old binary", 11, 0, &self->h));
}

FIXTURE_TEARDOWN(old)
{
	if (self->p)
		rp_close(self->p);
}

/* The test is only worth something against the shared library. */
TEST(linked_against_the_shared_library)
{
	Dl_info where;

	ASSERT_NE(0, dladdr((void *)rp_stats, &where));
	EXPECT_NE(NULL, strstr(where.dli_fname, "librefpool.so"))
		TH_LOG("rp_stats comes from %s", where.dli_fname);
}

TEST_F(old, info_writes_only_the_0_1_struct)
{
	struct {
		struct rp_info info;
		unsigned char guard[GUARD_LEN];
	} buf;

	ASSERT_EQ(32, sizeof(buf.info));
	memset(&buf, GUARD, sizeof(buf));
	ASSERT_EQ(0, rp_info(self->p, self->h, &buf.info));
	EXPECT_EQ(11, buf.info.size);
	EXPECT_EQ(1, buf.info.refs);
	EXPECT_NE(0, buf.info.id);
	EXPECT_EQ(0, buf.info.flags);
	EXPECT_EQ(-1, guard_broken(buf.guard, sizeof(buf.guard)));
}

TEST_F(old, stats_writes_only_the_0_1_struct)
{
	struct {
		struct rp_stats st;
		unsigned char guard[GUARD_LEN];
	} buf;

	ASSERT_EQ(120, sizeof(buf.st));
	memset(&buf, GUARD, sizeof(buf));
	ASSERT_EQ(0, rp_stats(self->p, &buf.st));
	EXPECT_LE(1, buf.st.objects);
	EXPECT_EQ(1, buf.st.session_handles);
	EXPECT_NE(0, buf.st.max_objects);
	EXPECT_NE(0xa5a5a5a5a5a5a5a5ULL, buf.st.gc_time_ns);
	EXPECT_EQ(-1, guard_broken(buf.guard, sizeof(buf.guard)));
}

/* 16-byte ops, as 0.1 had them: the op after the last is never touched. */
TEST_F(old, batch_of_0_1_ops_writes_only_them)
{
	struct rp_op ops[3];

	ASSERT_EQ(16, sizeof(ops[0]));
	memset(ops, 0, 2 * sizeof(ops[0]));
	memset(&ops[2], GUARD, sizeof(ops[2]));
	ops[0].op = RP_OP_DUP;
	ops[0].handle = self->h;
	ops[1].op = RP_OP_SEAL;
	ops[1].handle = self->h;
	ASSERT_EQ(0, rp_batch(self->p, ops, 2));
	EXPECT_EQ(0, ops[0].result);
	EXPECT_NE(0, ops[0].out);
	EXPECT_EQ(0, ops[1].result);
	EXPECT_EQ(-1, guard_broken((unsigned char *)&ops[2], sizeof(ops[2])));
	ASSERT_EQ(0, rp_put(self->p, ops[0].out));
}

/* The rest of 0.1's calls, each as a 0.1 program used it. */
TEST_F(old, the_other_calls_work_as_they_did)
{
	rp_handle_t h2, child, got;
	uint64_t collected;
	rp_token_t tok;
	char text[33], buf[11];
	void *map;
	int fd, sv[2];

	ASSERT_EQ(0, rp_dup(self->p, self->h, &h2));
	EXPECT_EQ(11, rp_read(self->p, h2, 0, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "old binary", 11));
	EXPECT_EQ(3, rp_write(self->p, h2, 0, "OLD", 3));
	ASSERT_EQ(0, rp_export(self->p, self->h, &fd));
	ASSERT_EQ(0, rp_import(self->p, fd, &got));
	close(fd);
	ASSERT_EQ(0, rp_put(self->p, got));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, rp_send(sv[0], self->p, self->h));
	ASSERT_EQ(0, rp_recv(sv[1], self->p, &got));
	close(sv[0]);
	close(sv[1]);
	ASSERT_EQ(0, rp_put(self->p, got));
	ASSERT_EQ(0, rp_map(self->p, self->h, PROT_READ, &map));
	EXPECT_EQ(0, memcmp(map, "OLD binary", 11));
	ASSERT_EQ(0, rp_unmap(map, 11));
	ASSERT_EQ(0, rp_publish(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_token_to_str(&tok, text));
	ASSERT_EQ(0, rp_token_from_str(text, &tok));
	ASSERT_EQ(0, rp_lookup(self->p, &tok, &got));
	ASSERT_EQ(0, rp_put(self->p, got));
	ASSERT_EQ(0, rp_pin(self->p, self->h, &tok));
	ASSERT_EQ(0, rp_unpin(self->p, &tok));
	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &child));
	ASSERT_LE(0, rp_intern(self->p, "old", 3, &got));
	ASSERT_EQ(0, rp_link(self->p, child, 0, got));
	ASSERT_EQ(0, rp_put(self->p, got));
	ASSERT_EQ(0, rp_get_link(self->p, child, 0, &got));
	ASSERT_EQ(0, rp_put(self->p, got));
	ASSERT_EQ(0, rp_put(self->p, child));
	ASSERT_EQ(0, rp_seal(self->p, h2));
	ASSERT_EQ(0, rp_gc(self->p, &collected));
	ASSERT_EQ(0, rp_put(self->p, h2));
	EXPECT_STREQ("Bad handle or file descriptor", rp_strerror(-EBADF));
	EXPECT_LE(0, rp_fd(self->p));
}

TEST_HARNESS_MAIN
