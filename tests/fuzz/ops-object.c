// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, operations on objects and handles: create, intern, dup,
 * put, info, read, write, seal, stats, stale handles.
 */
#include <sched.h>
#include <sys/mman.h>

#include "fuzz.h"

static int new_exclusive(struct tctx *c, rp_handle_t h, uint64_t size, uint32_t nslots,
			 uint32_t flags, const void *data, const char *what)
{
	struct rp_info info;
	int i, ret;

	ret = rp_info(c->p, h, &info);
	if (!expect(c, what, ret, 0))
		return -1;
	if (info.id <= c->max_id)
		report(c, "%s: new object has id %" PRIu64 ", not above %" PRIu64 " already seen",
		       what, info.id, c->max_id);
	i = obj_new(c, info.id, size, nslots, flags, false);
	if (i < 0)
		return -1;
	if (data)
		memcpy(c->o[i].data, data, size);
	add_h(c, i, h);
	check_info(c, i, h, what);
	if (rnd(&c->r, 4) == 0 || size <= 256)
		check_bytes(c, i, h, 0, size, what);
	return i;
}

void op_create(struct tctx *c)
{
	uint64_t size = rand_size(c);
	uint32_t nslots = rand_nslots(c);
	uint32_t flags = rnd(&c->r, 8) == 0 ? RP_SEALED : 0;
	rp_handle_t h = 0;
	int ret;

	if (nfree(c) < 4)
		return;
	hlock_r();
	ret = rp_create(c->p, size, nslots, flags, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, size, nslots, flags, ret);
	if (!expect(c, "rp_create", ret, 0))
		return;
	if (new_exclusive(c, h, size, nslots, flags, NULL, "rp_create") < 0)
		put_raw(c, h);
}

int session_handles(struct tctx *c)
{
	struct rp_stats st;
	int ret = rp_stats(c->p, &st);

	expect(c, "rp_stats", ret, 0);
	return ret ? -1 : (int)st.session_handles;
}

void op_create_bad(struct tctx *c)
{
	uint64_t size = rand_size(c);
	uint32_t nslots = rand_nslots(c), flags = 0;
	int want, ret, before = 0, k = rnd(&c->r, 5);
	bool strict = rnd(&c->r, 8) == 0;
	rp_handle_t h = 0;

	switch (k) {
	case 0:
		flags = 1u << (1 + rnd(&c->r, 31));
		want = -EINVAL;
		break;
	case 1:
		size = shm->max_object_size + 1 + rnd(&c->r, 3) * rnd64(&c->r) % (UINT64_MAX - shm->max_object_size - 1);
		want = -EFBIG;
		break;
	case 2:
		nslots = shm->max_slots + 1 + (uint32_t)rnd(&c->r, UINT32_MAX - shm->max_slots);
		want = -EFBIG;
		break;
	case 3: {
		/*
		 * Nowhere to write the handle: the kernel takes it back. The
		 * handle exists for a moment (session_handles counts it), so
		 * the call holds the handle lock as every handle maker does.
		 */
		struct refpool_create a = { .size = size, .nslots = nslots,
					    .handle_ptr = rnd(&c->r, 2) ? 0 : (uintptr_t)P.ro_page };

		if (strict) {
			hlock_w();
			before = session_handles(c);
		} else {
			hlock_r();
		}
		ret = raw(rp_fd(c->p), REFPOOL_IOC_CREATE, &a);
		if (!strict)
			hunlock();
		goto check;
	}
	default:
		flags = RP_INTERNED | (rnd(&c->r, 2) ? RP_SEALED : 0);
		want = -EINVAL;
		break;
	}
	if (strict) {
		hlock_w();
		before = session_handles(c);
	} else {
		hlock_r();
	}
	ret = rp_create(c->p, size, nslots, flags, &h);
	if (!strict)
		hunlock();
	note(c, size, nslots, flags, ret);
	expect(c, "rp_create(invalid)", ret, want);
	if (strict) {
		if (session_handles(c) != before)
			report(c, "refused rp_create changed session_handles");
		hunlock();
	}
	return;
check:
	note(c, size, nslots, 0, ret);
	expect(c, "CREATE with a handle_ptr the kernel cannot write", ret, -EFAULT);
	if (strict) {
		if (session_handles(c) != before)
			report(c, "CREATE refused for its handle_ptr left a handle");
		hunlock();
	}
}

void op_create_from(struct tctx *c)
{
	uint64_t len = rand_size(c);
	uint32_t flags = rnd(&c->r, 6) == 0 ? RP_SEALED : 0;
	rp_handle_t h = 0;
	int ret;

	if (nfree(c) < 4)
		return;
	rnd_fill(&c->r, c->buf2, len);
	hlock_r();
	ret = rp_create_from(c->p, c->buf2, len, flags, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	note(c, len, flags, 0, ret);
	if (!expect(c, "rp_create_from", ret, 0))
		return;
	if (new_exclusive(c, h, len, 0, flags, c->buf2, "rp_create_from") < 0)
		put_raw(c, h);
}

void op_create_from_bad(struct tctx *c)
{
	uint64_t len = 1 + rand_size(c);
	const char *what = "NULL";
	const void *ptr = NULL;
	rp_handle_t h = 0;
	int ret, want = -EFAULT, before = 0;
	bool strict = rnd(&c->r, 6) == 0;

	switch (rnd(&c->r, 6)) {
	case 0:
		break;
	case 1:
		len = shm->max_object_size + 1 + rnd(&c->r, 1u << 30);
		ptr = c->buf2;
		what = "too long";
		want = -EFBIG;
		break;
	default:
		ptr = bad_ptr(c, len, &what);
		break;
	}
	if (strict) {
		hlock_w();
		before = session_handles(c);
	} else {
		hlock_r();
	}
	ret = rp_create_from(c->p, ptr, len, 0, &h);
	if (ret == 0)
		held_add(c, h);
	if (!strict)
		hunlock();
	note(c, (uintptr_t)ptr, len, 0, ret);
	if (want == -EFBIG)
		expect2(c, "rp_create_from(length over the limit)", ret, -EFBIG, -EFAULT); /* L7 */
	else if (!expect(c, what, ret, want) && ret == 0)
		report(c, "rp_create_from(%s) made handle %u", what, h);
	if (strict) {
		if (session_handles(c) != before + (ret == 0))
			report(c, "refused rp_create_from(%s) changed session_handles", what);
		hunlock();
	}
	if (ret == 0) {
		hlock_r();
		if (rp_put(c->p, h) == 0)
			held_del(h);
		hunlock();
	}
}

void op_intern_uniq(struct tctx *c)
{
	int k = rnd(&c->r, NUKEYS), i = c->ukey_obj[k], ret, j;
	uint64_t len = ukey_value(c, k, c->buf2);
	struct rp_info info;
	rp_handle_t h = 0;

	if (nfree(c) < 4 || (i >= 0 && c->o[i].nh >= MAXH))
		return;
	hlock_r();
	ret = rp_intern(c->p, c->buf2, len, &h);
	if (ret >= 0)
		held_add(c, h);
	hunlock();
	note(c, k, len, i >= 0 ? c->o[i].id : 0, ret);
	if (ret < 0) {
		expect(c, "rp_intern(unique value)", ret, 0);
		return;
	}
	if (rp_info(c->p, h, &info) != 0) {
		report(c, "rp_info of an interned handle failed");
		return;
	}
	intern_owner_check(c, info.id, ret == 0, "rp_intern(unique value)");
	if (i < 0 && (j = idx_of_id(c, info.id)) >= 0) {
		/* given away, forgotten, then reached again another way */
		if (!c->o[j].shared || c->o[j].state != ST_LIVE || !c->ukey_unknown[k] ||
		    info.id != c->ukey_last[k] || ret != 1)
			report(c, "rp_intern(unique value %d) returned id %" PRIu64 " (%s), model object %s",
			       k, info.id, ret ? "existed" : "created",
			       c->o[j].shared ? "shared" : "exclusive");
		c->o[j].ukey = k;
		c->ukey_obj[k] = j;
		c->ukey_unknown[k] = false;
		if (c->o[j].nh >= MAXH || c->o[j].state != ST_LIVE) {
			put_raw(c, h);
			return;
		}
		add_h(c, j, h);
		check_info(c, j, h, "rp_intern");
		return;
	}
	if (i >= 0 && c->o[i].state == ST_LIVE) {
		expect(c, "rp_intern(value held)", ret, 1);
		if (info.id != c->o[i].id)
			report(c, "rp_intern(value held as id %" PRIu64 ") returned id %" PRIu64, c->o[i].id, info.id);
		add_h(c, i, h);
		check_info(c, i, h, "rp_intern");
		return;
	}
	if (i >= 0 && c->o[i].state == ST_LIMBO) {
		/* L3: garbage holds it - existed (alive again) or created */
		if (ret == 1 && info.id == c->o[i].id) {
			add_h(c, i, h);
			settle(c);
			check_info(c, i, h, "rp_intern(of garbage)");
			return;
		}
		if (ret == 1) {
			report(c, "rp_intern: existed, but id %" PRIu64 " is not %" PRIu64, info.id, c->o[i].id);
			return;
		}
		observed_gone(c, i);
	} else if (c->ukey_unknown[k]) {
		/* we gave it away, then forgot it: others may still hold it */
		if (ret == 1) {
			if (info.id != c->ukey_last[k])
				report(c, "rp_intern: existed as id %" PRIu64 ", the value was id %" PRIu64,
				       info.id, c->ukey_last[k]);
			j = obj_new(c, info.id, len, 0, RP_SEALED | RP_INTERNED, true);
			if (j < 0) {
				put_raw(c, h);
				return;
			}
			memcpy(c->o[j].data, c->buf2, len);
			c->o[j].data_known = 1;
			c->o[j].owner = P.uid;
			c->o[j].ukey = k;
			c->ukey_obj[k] = j;
			add_h(c, j, h);
			check_info(c, j, h, "rp_intern(value given away)");
			return;
		}
	} else {
		expect(c, "rp_intern(value nobody holds)", ret, 0);
	}
	c->ukey_unknown[k] = false;
	if (info.id <= c->ukey_last[k] || info.id <= c->max_id)
		report(c, "rp_intern created id %" PRIu64 ", not above %" PRIu64, info.id,
		       c->max_id > c->ukey_last[k] ? c->max_id : c->ukey_last[k]);
	j = obj_new(c, info.id, len, 0, RP_SEALED | RP_INTERNED, false);
	if (j < 0) {
		put_raw(c, h);
		return;
	}
	memcpy(c->o[j].data, c->buf2, len);
	c->o[j].ukey = k;
	c->ukey_obj[k] = j;
	c->ukey_last[k] = info.id;
	add_h(c, j, h);
	check_info(c, j, h, "rp_intern");
	check_bytes(c, j, h, 0, len, "rp_intern");
}

void op_intern_common(struct tctx *c)
{
	int k = rnd(&c->r, NCOMMON), i, ret;
	uint64_t len = common_value(k, c->buf2);
	struct rp_info info;
	rp_handle_t h = 0;

	if (nfree(c) < 4)
		return;
	hlock_r();
	ret = rp_intern(c->p, c->buf2, len, &h);
	if (ret >= 0)
		held_add(c, h);
	hunlock();
	note(c, k, len, 0, ret);
	if (ret < 0) {
		expect(c, "rp_intern(common value)", ret, 0);
		return;
	}
	if (ret > 1)
		report(c, "rp_intern returned %d", ret);
	if (rp_info(c->p, h, &info) != 0) {
		report(c, "rp_info of an interned handle failed");
		return;
	}
	intern_owner_check(c, info.id, ret == 0, "rp_intern(common value)");
	i = idx_of_id(c, info.id);
	if (i < 0) {
		/* if we hold the value, the kernel must have found it (L4) */
		int j;

		for (j = 0; j < MAXOBJ; j++) {
			struct mobj *o = &c->o[j];

			/* another user's interned object is not ours to find */
			if (o->state == ST_LIVE && (o->flags & RP_INTERNED) && o->owner == P.uid &&
			    o->size == len && !memcmp(o->data, c->buf2, len))
				report(c, "rp_intern(common value %d) gave id %" PRIu64 " while this thread holds id %" PRIu64,
				       k, info.id, o->id);
		}
		i = obj_new(c, info.id, len, 0, RP_SEALED | RP_INTERNED, true);
		if (i < 0) {
			put_raw(c, h);
			return;
		}
		memcpy(c->o[i].data, c->buf2, len);
		c->o[i].data_known = 1;
		c->o[i].owner = P.uid;	/* what our rp_intern returns is our user's */
	} else if (c->o[i].state == ST_LIVE) {
		expect(c, "rp_intern(common value held)", ret, 1);
		if (c->o[i].nh >= MAXH) {
			put_raw(c, h);
			return;
		}
	} else {
		put_raw(c, h);
		return;
	}
	add_h(c, i, h);
	settle(c);
	check_info(c, i, h, "rp_intern(common)");
	check_bytes(c, i, h, 0, len, "rp_intern(common)");
}

void op_intern_bad(struct tctx *c)
{
	uint64_t len = 1 + rnd(&c->r, 6000);
	const char *what = "bad buffer";
	const void *ptr;
	rp_handle_t h = 0;
	int ret;

	if (rnd(&c->r, 3) == 0) {
		len = shm->max_object_size + 1 + rnd64(&c->r) % (1ULL << 40);
		hlock_r();
		ret = rp_intern(c->p, c->buf2, len, &h);
		if (ret >= 0)
			held_add(c, h);
		hunlock();
		note(c, len, 0, 0, ret);
		expect2(c, "rp_intern(length over the limit)", ret, -EFBIG, -EFAULT); /* L7 */
		return;
	}
	ptr = bad_ptr(c, len, &what);
	hlock_r();
	ret = rp_intern(c->p, ptr, len, &h);
	if (ret >= 0)
		held_add(c, h);
	hunlock();
	note(c, (uintptr_t)ptr, len, 0, ret);
	expect(c, what, ret, -EFAULT);
}

void op_dup(struct tctx *c)
{
	int i = pick(c, has_h_room), ret;
	rp_handle_t h, out = 0;

	if (i < 0)
		return;
	h = any_h(c, &c->o[i]);
	hlock_r();
	ret = rp_dup(c->p, h, &out);
	if (ret == 0)
		held_add(c, out);
	hunlock();
	note(c, h, c->o[i].id, out, ret);
	if (!expect(c, "rp_dup", ret, 0))
		return;
	if (out == h)
		report(c, "rp_dup(%u) returned the same handle", h);
	add_h(c, i, out);
	check_info(c, i, out, "rp_info after rp_dup");
}

void op_put(struct tctx *c)
{
	int i = pick(c, has_h);
	rp_handle_t h;

	if (i < 0)
		return;
	h = any_h(c, &c->o[i]);
	note(c, h, c->o[i].id, 0, 0);
	put_handle(c, i, h);
}

void op_info(struct tctx *c)
{
	int i = pick(c, has_h);

	if (i < 0)
		return;
	note(c, c->o[i].id, 0, 0, 0);
	verify_obj(c, i, false);
}

void op_read(struct tctx *c)
{
	int i = pick(c, has_h);
	uint64_t off, len;

	if (i < 0)
		return;
	off = rand_off(c, c->o[i].size);
	len = rand_len(c, c->o[i].size, off);
	note(c, c->o[i].id, off, len, 0);
	check_bytes(c, i, any_h(c, &c->o[i]), off, len, "rp_read");
}

void op_read_bad(struct tctx *c)
{
	int i = pick(c, has_h);
	uint64_t off, len;
	const char *what;
	const void *ptr;
	int64_t ret, want;

	if (i < 0)
		return;
	off = rand_off(c, c->o[i].size);
	len = rand_len(c, c->o[i].size, off);
	ptr = bad_ptr(c, len, &what);
	if (rnd(&c->r, 4) == 0)
		ptr = P.ro_page, what = "read-only page";
	ret = rp_read(c->p, any_h(c, &c->o[i]), off, (void *)ptr, len);
	note(c, c->o[i].id, off, len, ret);
	want = off >= c->o[i].size ? 0 : (int64_t)(len < c->o[i].size - off ? len : c->o[i].size - off);
	if ((uint64_t)want > valid_bytes(ptr))
		want = -EFAULT;
	expect(c, what, ret, want);
}

static bool writable_excl(const struct mobj *o)
{
	return o->nh > 0 && !o->shared;
}

void op_write(struct tctx *c)
{
	int i = pick(c, has_h);
	struct mobj *o;
	uint64_t off, len;
	int64_t ret, want;
	bool in_range;

	if (i < 0)
		return;
	o = &c->o[i];
	if (rnd(&c->r, 6) == 0) {
		off = rand_off(c, o->size);
		len = rand_len(c, o->size, off);
	} else {
		off = o->size ? rnd(&c->r, o->size + 1) : 0;
		len = rnd(&c->r, o->size - off + 1);
	}
	in_range = off <= o->size && len <= o->size - off;
	if (!in_range) {
		/* nothing is written: any bytes */
		ret = rp_write(c->p, any_h(c, o), off, c->buf2, len);
		note(c, o->id, off, len, ret);
		expect(c, "rp_write(out of range)", ret, -ERANGE);
		return;
	}
	if (o->shared) {
		/* identical bytes only (L2) */
		memcpy(c->buf2, o->data + off, len);
		ret = rp_write(c->p, any_h(c, o), off, c->buf2, len);
		note(c, o->id, off, len, ret);
		if (o->flags & RP_SEALED)
			expect(c, "rp_write(sealed shared)", ret, -EPERM);
		else if (ret == -EPERM)
			o->flags |= RP_SEALED;
		else
			expect(c, "rp_write(shared, same bytes)", ret, (int64_t)len);
		return;
	}
	rnd_fill(&c->r, c->buf2, len);
	ret = rp_write(c->p, any_h(c, o), off, c->buf2, len);
	note(c, o->id, off, len, ret);
	want = (o->flags & RP_SEALED) ? -EPERM : (int64_t)len;
	if (expect(c, "rp_write", ret, want) && ret > 0)
		memcpy(o->data + off, c->buf2, len);
	if (rnd(&c->r, 3) == 0)
		check_bytes(c, i, any_h(c, o), off > 8 ? off - 8 : 0, len + 16, "rp_read after rp_write");
}

void op_write_bad(struct tctx *c)
{
	int i = pick(c, writable_excl);
	struct mobj *o;
	uint64_t off, len;
	const char *what;
	const void *ptr;
	int64_t ret, want;

	if (i < 0)
		return;
	o = &c->o[i];
	off = o->size ? rnd(&c->r, o->size + 1) : 0;
	len = rnd(&c->r, o->size - off + 1);
	ptr = bad_ptr(c, len, &what);
	ret = rp_write(c->p, any_h(c, o), off, ptr, len);
	note(c, o->id, off, len, ret);
	if (o->flags & RP_SEALED)
		want = -EPERM;
	else
		want = len > valid_bytes(ptr) ? -EFAULT : (int64_t)len;
	if (expect(c, what, ret, want) && ret > 0)
		memcpy(o->data + off, ptr, len);
	/* a refused write changes nothing */
	check_bytes(c, i, any_h(c, o), off, len, "rp_read after a refused rp_write");
}

void op_seal(struct tctx *c)
{
	int i = pick(c, has_h), ret;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	ret = rp_seal(c->p, any_h(c, o));
	note(c, o->id, wmaps(o), o->shared, ret);
	if (wmaps(o)) {
		expect(c, "rp_seal(writable mapping)", ret, -EBUSY);
	} else if (o->shared) {
		expect2(c, "rp_seal(shared)", ret, 0, -EBUSY);	/* L2 */
	} else {
		expect(c, "rp_seal", ret, 0);
	}
	if (ret == 0)
		o->flags |= RP_SEALED;
}

void op_stats(struct tctx *c)
{
	uint64_t objs = 0, bytes = 0;
	struct rp_stats st = { 0 };
	long nheld;
	int ret, i;

	hlock_w();
	ret = rp_stats(c->p, &st);
	nheld = atomic_load(&P.nheld);
	hunlock();
	note(c, st.objects, st.bytes, st.session_handles, ret);
	if (!expect(c, "rp_stats", ret, 0))
		return;
	if (st.session_handles != (uint64_t)nheld)
		report(c, "rp_stats: session_handles %" PRIu64 ", the process holds %ld",
		       st.session_handles, nheld);
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE) {
			objs++;
			bytes += c->o[i].size;
		}
	/* L6: lower bounds only */
	if (st.objects < objs || st.bytes < bytes)
		report(c, "rp_stats: %" PRIu64 " objects, %" PRIu64 " bytes; this thread alone holds %" PRIu64 " objects, %" PRIu64 " bytes",
		       st.objects, st.bytes, objs, bytes);
	if (st.max_object_size != shm->max_object_size || st.max_slots != shm->max_slots ||
	    st.bytes > st.max_bytes || st.objects > st.max_objects || st.user_bytes > st.max_user_bytes)
		report(c, "rp_stats: limits changed or exceeded: objects %" PRIu64 "/%" PRIu64 " bytes %" PRIu64 "/%" PRIu64 " user %" PRIu64 "/%" PRIu64,
		       st.objects, st.max_objects, st.bytes, st.max_bytes, st.user_bytes, st.max_user_bytes);
	/* a bad pointer: the kernel writes it, so -EFAULT */
	ret = rp_stats(c->p, (struct rp_stats *)(void *)P.guard);
	expect(c, "rp_stats(unmapped buffer)", ret, -EFAULT);
	ret = rp_stats(c->p, (struct rp_stats *)(void *)P.ro_page);
	expect(c, "rp_stats(read-only buffer)", ret, -EFAULT);
}

/* A handle number no thread of this process holds: every call is -EBADF. */
void op_stale(struct tctx *c)
{
	rp_handle_t h, out = 0;
	struct rp_info info;
	int ret = 0, k = rnd(&c->r, 10), fd = -1;
	rp_token_t t;
	uint8_t b[8];

	hlock_w();
	if (c->nput && rnd(&c->r, 2))
		h = c->put_h[rnd(&c->r, c->nput)];
	else if (rnd(&c->r, 3) == 0)
		h = 0;
	else if (rnd(&c->r, 2))
		h = 1 + (rp_handle_t)rnd(&c->r, 64);
	else
		h = 0x80000000u + (rp_handle_t)rnd(&c->r, 0x7fffffff);
	if (h && held_by_process(h)) {
		hunlock();
		return;
	}
	switch (k) {
	case 0: ret = rp_info(c->p, h, &info); break;
	case 1: ret = rp_dup(c->p, h, &out); break;
	case 2: ret = rp_put(c->p, h); break;
	case 3: ret = (int)rp_read(c->p, h, 0, b, sizeof(b)); break;
	case 4: ret = (int)rp_write(c->p, h, 0, b, 1); break;
	case 5: ret = rp_seal(c->p, h); break;
	case 6: ret = rp_export(c->p, h, &fd); break;
	case 7: ret = rp_publish(c->p, h, &t); break;
	case 8: ret = rp_get_link(c->p, h, 0, &out); break;
	default: ret = rp_link(c->p, h, 0, 0); break;
	}
	hunlock();
	note(c, h, k, 0, ret);
	if (!expect(c, "a call on a handle this session does not hold", ret, -EBADF)) {
		if (ret == 0 && fd >= 0)
			close(fd);
	}
}

/*
 * A handle put while another thread uses it (issue 17): the other thread's
 * calls see the object or -EBADF, and once the put has returned only
 * -EBADF, whatever this thread creates meanwhile: a put number is never
 * handed out again, so it never names another object.
 */
struct stale_racer {
	struct rp_pool *p;
	rp_handle_t h;
	uint64_t id;
	_Atomic int put_done;	/* the put returned */
	_Atomic int stop;
	int other;		/* calls that saw another object */
	int late;		/* calls that began after the put and still saw it */
	int odd;		/* errors other than -EBADF */
	uint64_t other_id;
	int calls;
};

static void *stale_racer_main(void *arg)
{
	struct stale_racer *s = arg;
	struct rp_info info;
	uint8_t b[8];

	while (!atomic_load(&s->stop) && s->calls < 20000) {
		int after = atomic_load(&s->put_done);
		bool is_info = s->calls++ & 1;
		int ret = is_info ? rp_info(s->p, s->h, &info) :
			  (int)rp_read(s->p, s->h, 0, b, sizeof(b));

		if (ret == -EBADF)
			continue;
		if (ret < 0) {
			s->odd++;
			continue;
		}
		if (after)
			s->late++;
		if (is_info && info.id != s->id) {
			s->other++;
			s->other_id = info.id;
		}
	}
	return NULL;
}

void op_stale_race(struct tctx *c)
{
	struct stale_racer s = { .p = c->p };
	rp_handle_t h = 0, more[4];
	struct rp_info info;
	int k, n = 0, ret;
	pthread_t th;

	hlock_r();
	ret = rp_create(c->p, 16, 0, 0, &h);
	if (ret == 0)
		held_add(c, h);
	hunlock();
	if (!expect(c, "rp_create", ret, 0))
		return;
	if (!expect(c, "rp_info", rp_info(c->p, h, &info), 0)) {
		put_raw(c, h);
		return;
	}
	s.h = h;
	s.id = info.id;
	if (pthread_create(&th, NULL, stale_racer_main, &s)) {
		put_raw(c, h);
		return;
	}
	for (k = (int)rnd(&c->r, 20000); k > 0; k--)
		sched_yield();
	put_raw(c, h);
	atomic_store(&s.put_done, 1);
	/* new objects the number could name if it were handed out again */
	for (k = 0; k < 4; k++) {
		hlock_r();
		ret = rp_create(c->p, 16, 0, 0, &more[n]);
		if (ret == 0)
			held_add(c, more[n++]);
		hunlock();
	}
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	note(c, h, s.calls, s.late, s.other);
	if (s.other)
		report(c, "handle %u of id %" PRIu64 ", put by another thread, named id %" PRIu64,
		       h, s.id, s.other_id);
	if (s.late)
		report(c, "handle %u: %d calls begun after rp_put returned still reached the object",
		       h, s.late);
	if (s.odd)
		report(c, "handle %u being put: %d calls failed with something else than -EBADF",
		       h, s.odd);
	while (n)
		put_raw(c, more[--n]);
}

void op_verify(struct tctx *c)
{
	note(c, 0, 0, 0, 0);
	verify_all(c, rnd(&c->r, 2));
}
