// SPDX-License-Identifier: GPL-2.0
/*
 * refpool links (SPEC §1 Strong references, §2 rp_link/rp_get_link, §3): a
 * parent's slot owns one strong reference to its child; clearing or
 * replacing the link drops it, and an object that dies of it is freed
 * before the call returns; a parent that dies drops its links at once,
 * down a chain of a million objects without recursion in the kernel.
 * Each refused call has its exact errno, argument errors before state
 * errors, and changes nothing (counters, refs, slots, contents).
 */
#include "refpool_model.h"

RPT_SAVE_PARAMS("max_user_objects", "max_user_bytes");

#define SZ	100	/* payload of the objects the tests make */

FIXTURE(links) {
	struct rp_pool *p;
	struct rp_stats base;
};

FIXTURE_SETUP(links)
{
	RPT_OPEN_OR_SKIP(&self->p);
	GET_STATS(self->p, &self->base);
}

FIXTURE_TEARDOWN(links)
{
	if (self->p)
		rp_close(self->p);
	if (geteuid() == 0)
		EXPECT_EQ(0, rpt_params_restore());
}

/* An object of SZ bytes of pattern @seed with @nslots slots. */
#define MK(h, nslots, seed) \
	ASSERT_EQ(0, rpm_create(self->p, SZ, (nslots), (seed), &(h)))

/* ---- Links own references ---- */

TEST_F(links, link_takes_a_reference_to_the_child)
{
	rp_handle_t parent, child;

	MK(parent, 2, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 1, child));
	EXPECT_EQ(2, rpm_refs(self->p, child));
	EXPECT_EQ(1, rpm_refs(self->p, parent));
	EXPECT_EQ(rpm_id(self->p, child), rpm_link_id(self->p, parent, 1));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 2);
}

TEST_F(links, link_keeps_the_child_alive_without_a_handle)
{
	rp_handle_t parent, child, again;
	uint64_t id;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	id = rpm_id(self->p, child);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_put(self->p, child));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 1);
	ASSERT_EQ(0, rp_get_link(self->p, parent, 0, &again));
	EXPECT_EQ(id, rpm_id(self->p, again));
	EXPECT_EQ(0, rpm_check_pattern(self->p, again, SZ, 2));
}

TEST_F(links, get_link_returns_a_new_handle_to_the_child)
{
	rp_handle_t parent, child, got = 0;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_get_link(self->p, parent, 0, &got));
	EXPECT_NE(0, got);
	EXPECT_NE(child, got);
	EXPECT_EQ(rpm_id(self->p, child), rpm_id(self->p, got));
	EXPECT_EQ(3, rpm_refs(self->p, child));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 3);
	/* The new handle owns its own reference. */
	ASSERT_EQ(0, rp_put(self->p, got));
	EXPECT_EQ(2, rpm_refs(self->p, child));
}

TEST_F(links, clearing_a_slot_drops_its_reference)
{
	rp_handle_t parent, child, got = 0;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_link(self->p, parent, 0, 0));
	EXPECT_EQ(1, rpm_refs(self->p, child));
	EXPECT_EQ(-ENOENT, rp_get_link(self->p, parent, 0, &got));
	EXPECT_EQ(0, got);
}

TEST_F(links, clearing_the_last_reference_frees_the_child_at_once)
{
	rp_handle_t parent, child;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_put(self->p, child));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 1);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, 0));
	/* Gone before rp_link() returned. */
	EXPECT_POOL_DELTA(self->p, &self->base, 1, SZ, 1);
}

TEST_F(links, clearing_an_empty_slot_succeeds)
{
	rp_handle_t parent;
	struct rpt_obj o;

	MK(parent, 3, 1);
	SNAP(self->p, parent, &o);
	EXPECT_EQ(0, rp_link(self->p, parent, 2, 0));
	EXPECT_OBJ_UNCHANGED(self->p, &o);
	EXPECT_POOL_DELTA(self->p, &self->base, 1, SZ, 1);
}

TEST_F(links, replacing_a_link_drops_the_old_child)
{
	rp_handle_t parent, a, b;

	MK(parent, 1, 1);
	MK(a, 0, 2);
	MK(b, 0, 3);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, a));
	ASSERT_EQ(0, rp_link(self->p, parent, 0, b));
	EXPECT_EQ(1, rpm_refs(self->p, a));
	EXPECT_EQ(2, rpm_refs(self->p, b));
	EXPECT_EQ(rpm_id(self->p, b), rpm_link_id(self->p, parent, 0));
}

TEST_F(links, replacing_the_last_reference_frees_the_old_child_at_once)
{
	rp_handle_t parent, a, b;

	MK(parent, 1, 1);
	MK(a, 0, 2);
	MK(b, 0, 3);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, a));
	ASSERT_EQ(0, rp_put(self->p, a));
	EXPECT_POOL_DELTA(self->p, &self->base, 3, 3 * SZ, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, b));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 2);
}

TEST_F(links, relinking_the_same_child_keeps_one_reference)
{
	rp_handle_t parent, child;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_put(self->p, child));
	/* The slot's own child, through a handle got from the slot. */
	ASSERT_EQ(0, rp_get_link(self->p, parent, 0, &child));
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	EXPECT_EQ(2, rpm_refs(self->p, child));
	ASSERT_EQ(0, rp_put(self->p, child));
	EXPECT_POOL_DELTA(self->p, &self->base, 2, 2 * SZ, 1);
	EXPECT_NE(0, rpm_link_id(self->p, parent, 0));
}

TEST_F(links, child_in_two_slots_has_two_references)
{
	rp_handle_t parent, child;

	MK(parent, 4, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_link(self->p, parent, 3, child));
	EXPECT_EQ(3, rpm_refs(self->p, child));
	EXPECT_EQ(rpm_link_id(self->p, parent, 0),
		  rpm_link_id(self->p, parent, 3));
	ASSERT_EQ(0, rp_link(self->p, parent, 0, 0));
	EXPECT_EQ(2, rpm_refs(self->p, child));
}

TEST_F(links, object_may_link_to_itself)
{
	rp_handle_t h, got;

	MK(h, 1, 1);
	ASSERT_EQ(0, rp_link(self->p, h, 0, h));
	EXPECT_EQ(2, rpm_refs(self->p, h));
	ASSERT_EQ(0, rp_get_link(self->p, h, 0, &got));
	EXPECT_EQ(rpm_id(self->p, h), rpm_id(self->p, got));
	ASSERT_EQ(0, rp_put(self->p, got));
	ASSERT_EQ(0, rp_link(self->p, h, 0, 0));
	EXPECT_EQ(1, rpm_refs(self->p, h));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, SZ, 1);
}

TEST_F(links, sealed_and_interned_children_may_be_linked)
{
	unsigned char val[64];
	rp_handle_t parent, sealed, interned;

	MK(parent, 2, 1);
	ASSERT_EQ(0, rpt_create_pattern(self->p, SZ, 2, RP_SEALED, &sealed));
	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &interned));
	EXPECT_EQ(0, rp_link(self->p, parent, 0, sealed));
	EXPECT_EQ(0, rp_link(self->p, parent, 1, interned));
	EXPECT_EQ(2, rpm_refs(self->p, sealed));
	EXPECT_EQ(2, rpm_refs(self->p, interned));
}

/* Sealing freezes the slots: what they hold stays, and can be read. */
TEST_F(links, sealed_parent_keeps_its_links)
{
	rp_handle_t parent, child, got;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_seal(self->p, parent));
	ASSERT_EQ(0, rp_put(self->p, child));
	ASSERT_EQ(0, rp_get_link(self->p, parent, 0, &got));
	EXPECT_EQ(0, rpm_check_pattern(self->p, got, SZ, 2));
	EXPECT_EQ(2, rpm_refs(self->p, got));
	EXPECT_EQ(-EPERM, rp_link(self->p, parent, 0, 0));
	EXPECT_EQ(2, rpm_refs(self->p, got));
}

/* ---- Dying parents drop their links at once ---- */

TEST_F(links, put_parent_frees_children_held_only_by_it)
{
	rp_handle_t parent, c[3];
	unsigned int i;

	MK(parent, 3, 1);
	for (i = 0; i < 3; i++) {
		MK(c[i], 0, 10 + i);
		ASSERT_EQ(0, rp_link(self->p, parent, i, c[i]));
		ASSERT_EQ(0, rp_put(self->p, c[i]));
	}
	EXPECT_POOL_DELTA(self->p, &self->base, 4, 4 * SZ, 1);
	ASSERT_EQ(0, rp_put(self->p, parent));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(links, put_parent_keeps_children_held_elsewhere)
{
	rp_handle_t parent, kept, gone;

	MK(parent, 2, 1);
	MK(kept, 0, 2);
	MK(gone, 0, 3);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, kept));
	ASSERT_EQ(0, rp_link(self->p, parent, 1, gone));
	ASSERT_EQ(0, rp_put(self->p, gone));
	ASSERT_EQ(0, rp_put(self->p, parent));
	EXPECT_EQ(1, rpm_refs(self->p, kept));
	EXPECT_EQ(0, rpm_check_pattern(self->p, kept, SZ, 2));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, SZ, 1);
}

/* A tree of 1 + 4 + 16 + 64 objects, held by its root's handle only. */
TEST_F(links, put_root_frees_a_whole_tree)
{
	rp_handle_t level[2][64], root, c;
	unsigned int d, i, k, n = 1, count = 1;

	MK(root, 4, 0);
	level[0][0] = root;
	for (d = 0; d < 3; d++) {
		for (i = 0; i < n; i++) {
			for (k = 0; k < 4; k++) {
				MK(c, d < 2 ? 4 : 0, count);
				ASSERT_EQ(0, rp_link(self->p, level[d % 2][i], k, c));
				level[(d + 1) % 2][i * 4 + k] = c;
				count++;
			}
			if (d)
				ASSERT_EQ(0, rp_put(self->p, level[d % 2][i]));
		}
		n *= 4;
	}
	ASSERT_EQ(0, rpm_put_all(self->p, level[1], n));
	ASSERT_EQ(85, count);
	EXPECT_POOL_DELTA(self->p, &self->base, 85, 85 * SZ, 1);
	ASSERT_EQ(0, rp_put(self->p, root));
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

TEST_F(links, child_got_from_a_slot_outlives_its_parent)
{
	rp_handle_t parent, child, got;

	MK(parent, 1, 1);
	MK(child, 0, 2);
	ASSERT_EQ(0, rp_link(self->p, parent, 0, child));
	ASSERT_EQ(0, rp_put(self->p, child));
	ASSERT_EQ(0, rp_get_link(self->p, parent, 0, &got));
	ASSERT_EQ(0, rp_put(self->p, parent));
	EXPECT_EQ(1, rpm_refs(self->p, got));
	EXPECT_EQ(0, rpm_check_pattern(self->p, got, SZ, 2));
	EXPECT_POOL_DELTA(self->p, &self->base, 1, SZ, 1);
}

TEST_F(links, closing_the_session_frees_a_linked_structure)
{
	rp_handle_t a, b, c;
	struct rp_pool *q;
	struct rp_stats st;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rpm_create(q, SZ, 1, 1, &a));
	ASSERT_EQ(0, rpm_create(q, SZ, 1, 2, &b));
	ASSERT_EQ(0, rpm_create(q, SZ, 0, 3, &c));
	ASSERT_EQ(0, rp_link(q, a, 0, b));
	ASSERT_EQ(0, rp_link(q, b, 0, c));
	ASSERT_EQ(0, rp_put(q, b));
	ASSERT_EQ(0, rp_put(q, c));
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + 3, st.objects);
	rp_close(q);
	EXPECT_POOL_UNCHANGED(self->p, &self->base);
}

/*
 * A chain of a million objects, each linking slot 0 to the next, held by
 * its head only: putting the head frees them all, in the kernel, without
 * recursion (which would overflow the kernel stack long before).
 */
#define CHAIN	1000000

TEST_F_TIMEOUT(links, chain_of_a_million_freed_by_putting_its_head, 900)
{
	unsigned int i, chain = rpt_scaled(CHAIN, 1000);
	rp_handle_t head, prev, next;
	struct rp_stats st;

	if (self->base.max_objects < self->base.objects + chain)
		SKIP(return, "max_objects %llu leaves no room for %u objects",
		     (unsigned long long)self->base.max_objects, chain);
	/* One user's default share of the pool is a quarter: lift it. */
	if (rpt_param_set_u64("max_user_objects", self->base.max_objects) ||
	    rpt_param_set_u64("max_user_bytes", UINT64_MAX >> 1))
		SKIP(return, "needs root to lift the user's limits");
	if (chain != CHAIN)
		TH_LOG("a chain of %u objects ($REFPOOL_SCALE)", chain);
	ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &head));
	prev = head;
	for (i = 1; i < chain; i++) {
		ASSERT_EQ(0, rp_create(self->p, 0, 1, 0, &next)) {
			TH_LOG("object %u of the chain", i);
		}
		ASSERT_EQ(0, rp_link(self->p, prev, 0, next));
		if (prev != head)
			ASSERT_EQ(0, rp_put(self->p, prev));
		prev = next;
	}
	/* The tail gets an 8-byte payload child: its bytes go too. */
	ASSERT_EQ(0, rpm_create(self->p, 8, 0, 5, &next));
	ASSERT_EQ(0, rp_link(self->p, prev, 0, next));
	ASSERT_EQ(0, rp_put(self->p, next));
	ASSERT_EQ(0, rp_put(self->p, prev));

	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects + chain + 1, st.objects);
	EXPECT_EQ(self->base.bytes + 8, st.bytes);
	EXPECT_EQ(self->base.session_handles + 1, st.session_handles);
	EXPECT_EQ(1, rpm_refs(self->p, head));

	ASSERT_EQ(0, rp_put(self->p, head));
	/* All of it gone before rp_put() returned. */
	GET_STATS(self->p, &st);
	EXPECT_EQ(self->base.objects, st.objects);
	EXPECT_EQ(self->base.bytes, st.bytes);
	EXPECT_EQ(self->base.user_bytes, st.user_bytes);
	if (st.objects != self->base.objects) {
		/* Say how long the rest took, and spare the next tests. */
		uint64_t t0 = rpt_now_ms(), left = st.objects - self->base.objects;
		int ret = rpt_wait_pool(self->p, &self->base, 0, 0, 120000, &st);

		TH_LOG("rp_put() returned with %llu objects of the chain alive; %s after %llu ms more",
		       (unsigned long long)left,
		       ret ? "still not freed" : "all freed",
		       (unsigned long long)(rpt_now_ms() - t0));
	}
}

/* ---- Refused links change nothing ---- */

/*
 * A parent with a child in slot 0, and a free object to link: what a
 * refused call must leave as it was.
 */
struct scene {
	rp_handle_t parent, child, spare;
	struct rpt_obj parent_o, child_o, spare_o;
	struct rp_stats st;
};

static void scene_make(struct __test_metadata *_metadata, struct rp_pool *p,
		       struct scene *s, uint32_t flags)
{
	ASSERT_EQ(0, rpm_create(p, SZ, 2, 1, &s->parent));
	ASSERT_EQ(0, rpm_create(p, SZ, 0, 2, &s->child));
	ASSERT_EQ(0, rpm_create(p, SZ, 0, 3, &s->spare));
	ASSERT_EQ(0, rp_link(p, s->parent, 0, s->child));
	if (flags & RP_SEALED)
		ASSERT_EQ(0, rp_seal(p, s->parent));
	SNAP(p, s->parent, &s->parent_o);
	SNAP(p, s->child, &s->child_o);
	SNAP(p, s->spare, &s->spare_o);
	GET_STATS(p, &s->st);
}

#define EXPECT_SCENE_UNCHANGED(p, s) do { \
	EXPECT_OBJ_UNCHANGED((p), &(s)->parent_o); \
	EXPECT_OBJ_UNCHANGED((p), &(s)->child_o); \
	EXPECT_OBJ_UNCHANGED((p), &(s)->spare_o); \
	EXPECT_EQ((s)->child_o.info.id, rpm_link_id((p), (s)->parent, 0)); \
	EXPECT_EQ(0, rpm_link_id((p), (s)->parent, 1)); \
	EXPECT_MODEL_UNCHANGED((p), &(s)->st); \
} while (0)

TEST_F(links, slot_past_the_last_erange)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.parent, 2, s.spare));
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.parent, UINT32_MAX, s.spare));
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.parent, 2, 0));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, parent_without_slots_erange)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.child, 0, s.spare));
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.child, 0, s.child));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, sealed_parent_eperm)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, RP_SEALED);
	EXPECT_EQ(-EPERM, rp_link(self->p, s.parent, 1, s.spare));
	EXPECT_EQ(-EPERM, rp_link(self->p, s.parent, 0, s.spare));
	EXPECT_EQ(-EPERM, rp_link(self->p, s.parent, 0, 0));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, interned_parent_erange)
{
	unsigned char val[32];
	rp_handle_t i, c;
	struct rpt_obj io, co;

	rpm_unique(val, sizeof(val));
	ASSERT_EQ(0, rp_intern(self->p, val, sizeof(val), &i));
	MK(c, 0, 1);
	SNAP(self->p, i, &io);
	SNAP(self->p, c, &co);
	GET_STATS(self->p, &self->base);
	/* Interned objects have no slots: the slot is out of range first. */
	EXPECT_EQ(-ERANGE, rp_link(self->p, i, 0, c));
	EXPECT_OBJ_UNCHANGED(self->p, &io);
	EXPECT_OBJ_UNCHANGED(self->p, &co);
	EXPECT_MODEL_UNCHANGED(self->p, &self->base);
}

TEST_F(links, bad_parent_ebadf)
{
	struct rp_pool *q;
	rp_handle_t other, dead;
	struct scene s;

	ASSERT_EQ(0, rp_open(&q));
	ASSERT_EQ(0, rp_create(q, 8, 4, 0, &other));
	scene_make(_metadata, self->p, &s, 0);
	/* A handle number this session no longer holds. */
	ASSERT_EQ(0, rp_create(self->p, 8, 4, 0, &dead));
	ASSERT_EQ(0, rp_put(self->p, dead));
	EXPECT_EQ(-EBADF, rp_link(self->p, 0, 0, s.spare));
	EXPECT_EQ(-EBADF, rp_link(self->p, dead, 0, s.spare));
	EXPECT_EQ(-EBADF, rp_link(self->p, 0xfffffff0, 0, s.spare));
	/* Only a handle of this session counts, whatever its number. */
	if (other != s.parent && other != s.child && other != s.spare)
		EXPECT_EQ(-EBADF, rp_link(self->p, other, 0, s.spare));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
	EXPECT_EQ(1, rpm_refs(q, other));
	rp_close(q);
}

TEST_F(links, bad_child_ebadf)
{
	rp_handle_t dead;
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	/* A handle number this session no longer holds. */
	ASSERT_EQ(0, rp_create(self->p, 8, 0, 0, &dead));
	ASSERT_EQ(0, rp_put(self->p, dead));
	EXPECT_EQ(-EBADF, rp_link(self->p, s.parent, 1, dead));
	EXPECT_EQ(-EBADF, rp_link(self->p, s.parent, 0, dead));
	EXPECT_EQ(-EBADF, rp_link(self->p, s.parent, 1, 0xfffffff0));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

/* Argument errors before state errors: bad handle, then range, then seal. */
TEST_F(links, bad_child_before_slot_past_the_last)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-EBADF, rp_link(self->p, s.parent, 2, 0xfffffff0));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, bad_child_before_sealed_parent)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, RP_SEALED);
	EXPECT_EQ(-EBADF, rp_link(self->p, s.parent, 1, 0xfffffff0));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, slot_past_the_last_before_sealed_parent)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, RP_SEALED);
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.parent, 2, s.spare));
	EXPECT_EQ(-ERANGE, rp_link(self->p, s.parent, 7, 0));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, link_unknown_flag_einval)
{
	struct refpool_link args;
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	memset(&args, 0, sizeof(args));
	args.parent = s.parent;
	args.slot = 1;
	args.child = s.spare;
	args.flags = 1;
	EXPECT_EQ(-EINVAL, rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_LINK, &args));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

/* ---- Refused reads of a slot change nothing ---- */

TEST_F(links, get_link_of_an_empty_slot_enoent)
{
	rp_handle_t out = 0;
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-ENOENT, rp_get_link(self->p, s.parent, 1, &out));
	EXPECT_EQ(0, out);
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, get_link_past_the_last_slot_erange)
{
	rp_handle_t out = 0;
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-ERANGE, rp_get_link(self->p, s.parent, 2, &out));
	EXPECT_EQ(-ERANGE, rp_get_link(self->p, s.parent, UINT32_MAX, &out));
	EXPECT_EQ(-ERANGE, rp_get_link(self->p, s.child, 0, &out));
	EXPECT_EQ(0, out);
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, get_link_bad_parent_ebadf)
{
	rp_handle_t out = 0;
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-EBADF, rp_get_link(self->p, 0, 0, &out));
	EXPECT_EQ(-EBADF, rp_get_link(self->p, 0xfffffff0, 0, &out));
	EXPECT_EQ(0, out);
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_F(links, get_link_null_out_efault)
{
	struct scene s;

	scene_make(_metadata, self->p, &s, 0);
	EXPECT_EQ(-EFAULT, rp_get_link(self->p, s.parent, 0, NULL));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

/* The new handle cannot reach the caller: no handle, no reference. */
TEST_F(links, get_link_result_not_writable_efault)
{
	struct refpool_link args;
	struct scene s;
	void *ro;

	scene_make(_metadata, self->p, &s, 0);
	ro = mmap(NULL, getpagesize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(&args, 0, sizeof(args));
	args.parent = s.parent;
	args.slot = 0;
	args.handle_ptr = (uintptr_t)ro;
	EXPECT_EQ(-EFAULT,
		  rpt_ioctl(rp_fd(self->p), REFPOOL_IOC_GET_LINK, &args));
	EXPECT_SCENE_UNCHANGED(self->p, &s);
}

TEST_HARNESS_MAIN
