// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, raw ioctls: what the library cannot express - command
 * numbers, struct sizes, reserved fields, result pointers the kernel
 * cannot write - each case against uapi/linux/refpool.h's rules for ABI 2.
 */
#include <sys/mman.h>

#include "fuzz.h"

/* What every case gets: the device, an object of ours (or none), scratch. */
struct raw_ctx {
	int fd;
	int i;			/* model object, or -1 */
	rp_handle_t h;		/* one of its handles, or a number nobody holds */
	uint8_t big[256];
};

/*
 * Make an argument invalid through a reserved field: a flag bit no command
 * defines, or a nonzero pad. Returns false (nothing set) one time in three
 * when @other, for the caller's own kind of invalid field.
 */
static bool bad_flags_or_pad(struct tctx *c, uint32_t *flags, uint32_t *pad, bool other)
{
	switch (rnd(&c->r, other ? 3 : 2)) {
	case 0:
		*flags = 1u << rnd(&c->r, 32);
		return true;
	case 1:
		*pad = 1 + (uint32_t)rnd(&c->r, 100);
		return true;
	default:
		return false;
	}
}

/* A command's number with another size in _IOC_SIZE. */
static unsigned long resized(unsigned long cmd, unsigned size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

static void raw_unknown_nr(struct tctx *c, struct raw_ctx *x)
{
	unsigned nr = 0x18 + (unsigned)rnd(&c->r, 0xe8);

	expect(c, "unknown command number",
	       raw(x->fd, _IOW(REFPOOL_IOC_MAGIC, nr, struct refpool_info_arg), x->big), -ENOTTY);
}

static void raw_other_magic(struct tctx *c, struct raw_ctx *x)
{
	expect(c, "another magic",
	       raw(x->fd, _IOW(REFPOOL_IOC_MAGIC + 1, 4, struct refpool_info_arg), x->big), -ENOTTY);
}

static void raw_wrong_dir(struct tctx *c, struct raw_ctx *x)
{
	expect(c, "INFO with the wrong direction",
	       raw(x->fd, _IOWR(REFPOOL_IOC_MAGIC, 4, struct refpool_info_arg), x->big), -ENOTTY);
}

/* Shorter than the first version, or cutting a field in two: -EINVAL. */
static void raw_bad_size(struct tctx *c, struct raw_ctx *x)
{
	static const unsigned long cmds[] = {
		REFPOOL_IOC_CREATE, REFPOOL_IOC_INFO, REFPOOL_IOC_DUP, REFPOOL_IOC_READ,
		REFPOOL_IOC_LINK, REFPOOL_IOC_BATCH, REFPOOL_IOC_MAP, REFPOOL_IOC_STATS,
	};
	unsigned long cmd = cmds[rnd(&c->r, ARRAY_SIZE(cmds))];
	unsigned size;

	do
		size = 1 + (unsigned)rnd(&c->r, _IOC_SIZE(cmd) + 16);
	while (size >= _IOC_SIZE(cmd) && size % 8 == 0);
	expect(c, "a size below the first version or not a multiple of 8",
	       raw(x->fd, resized(cmd, size), x->big), -EINVAL);
}

/* A newer, longer INFO argument: a zero tail is accepted, a nonzero one -E2BIG. */
static void raw_long_arg(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_info_arg *a = (void *)x->big;
	struct refpool_info info;
	unsigned size = sizeof(*a) + 8 * (1 + (unsigned)rnd(&c->r, 20));
	bool tail = rnd(&c->r, 2);

	if (x->i < 0)
		return;
	a->handle = x->h;
	a->info_size = sizeof(info);
	a->info_ptr = (uintptr_t)&info;
	if (tail)
		x->big[size - 1 - rnd(&c->r, size - sizeof(*a))] = 0xa5;
	if (!tail) {
		if (expect(c, "INFO with a zero tail", raw(x->fd, resized(REFPOOL_IOC_INFO, size), a), 0) &&
		    (info.id != c->o[x->i].id || info.size != c->o[x->i].size))
			report(c, "INFO with a zero tail: id %llu size %llu, model says %" PRIu64 " %" PRIu64,
			       (unsigned long long)info.id, (unsigned long long)info.size,
			       c->o[x->i].id, c->o[x->i].size);
		return;
	}
	expect(c, "INFO with a nonzero tail", raw(x->fd, resized(REFPOOL_IOC_INFO, size), a), -E2BIG);
}

/* A caller's struct refpool_info longer than the kernel's: the rest zero-filled. */
static void raw_long_info(struct tctx *c, struct raw_ctx *x)
{
	uint8_t out[128];
	unsigned size = REFPOOL_INFO_SIZE_VER0 + 8 * (1 + (unsigned)rnd(&c->r, 12)), z;
	struct refpool_info_arg a = { .handle = x->h, .info_size = size, .info_ptr = (uintptr_t)out };

	if (x->i < 0)
		return;
	memset(out, 0xa5, sizeof(out));
	if (!expect(c, "INFO into a longer struct", raw(x->fd, REFPOOL_IOC_INFO, &a), 0))
		return;
	if (((struct refpool_info *)out)->id != c->o[x->i].id)
		report(c, "INFO into a longer struct: id %llu, model says %" PRIu64,
		       (unsigned long long)((struct refpool_info *)out)->id, c->o[x->i].id);
	for (z = sizeof(struct refpool_info); z < size; z++)
		if (out[z]) {
			report(c, "INFO into a %u-byte struct: byte %u is %#x, not zero-filled", size, z, out[z]);
			break;
		}
	for (z = size; z < sizeof(out); z++)
		if (out[z] != 0xa5) {
			report(c, "INFO into a %u-byte struct wrote byte %u, past its end", size, z);
			break;
		}
}

static void raw_short_info(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_info info;
	struct refpool_info_arg a = { .handle = x->h, .info_ptr = (uintptr_t)&info };

	do
		a.info_size = (uint32_t)rnd(&c->r, 2 * sizeof(info));
	while (a.info_size >= REFPOOL_INFO_SIZE_VER0 && a.info_size % 8 == 0);
	expect2(c, "INFO with an info_size below 32 or not a multiple of 8",
		raw(x->fd, REFPOOL_IOC_INFO, &a), -EINVAL, x->i < 0 ? -EBADF : -EINVAL);
}

/* STATS into the first published 120 bytes: nothing written past them. */
static void raw_short_stats(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_stats_arg a = { .stats_ptr = (uintptr_t)x->big };
	bool bad = rnd(&c->r, 2);
	unsigned z;

	memset(x->big, 0xa5, sizeof(x->big));
	if (bad) {
		do
			a.stats_size = (uint32_t)rnd(&c->r, 200);
		while (a.stats_size >= REFPOOL_STATS_MIN_SIZE && a.stats_size % 8 == 0);
		expect(c, "STATS with a stats_size below 120 or not a multiple of 8",
		       raw(x->fd, REFPOOL_IOC_STATS, &a), -EINVAL);
		return;
	}
	a.stats_size = REFPOOL_STATS_MIN_SIZE;
	if (!expect(c, "STATS of the first 120 bytes", raw(x->fd, REFPOOL_IOC_STATS, &a), 0))
		return;
	for (z = REFPOOL_STATS_MIN_SIZE; z < sizeof(x->big); z++)
		if (x->big[z] != 0xa5) {
			report(c, "STATS of 120 bytes wrote byte %u", z);
			break;
		}
}

static void raw_null_arg(struct tctx *c, struct raw_ctx *x)
{
	expect(c, "INFO with a NULL argument", raw(x->fd, REFPOOL_IOC_INFO, NULL), -EFAULT);
}

static void raw_info_pad(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_info info;
	struct refpool_info_arg a = { .handle = x->h, .info_size = sizeof(info),
				      .info_ptr = (uintptr_t)&info };

	bad_flags_or_pad(c, &a.flags, &a.pad, false);
	expect2(c, "INFO with flags or pad", raw(x->fd, REFPOOL_IOC_INFO, &a), -EINVAL,
		x->i < 0 ? -EBADF : -EINVAL);
}

static void raw_dup_flags(struct tctx *c, struct raw_ctx *x)
{
	rp_handle_t out = 0;
	struct refpool_handle_arg a = { .handle = x->h, .flags = 1 + (uint32_t)rnd(&c->r, 100),
					.handle_ptr = (uintptr_t)&out };
	int ret;

	hlock_r();
	ret = raw(x->fd, REFPOOL_IOC_DUP, &a);
	if (ret == 0)
		held_add(c, out);
	hunlock();
	expect(c, "DUP with flags", ret, -EINVAL);
}

static void raw_put_ptr(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_handle_arg a = { .handle = x->h, .handle_ptr = (uintptr_t)x->big };
	int ret;

	hlock_r();
	ret = raw(x->fd, REFPOOL_IOC_PUT, &a);
	if (ret == 0 && x->i >= 0) {
		held_del(x->h);
		del_h(&c->o[x->i], x->h);
	}
	hunlock();
	expect(c, "PUT with a nonzero handle_ptr", ret, -EINVAL);
	if (ret == 0)
		settle(c);
}

static void raw_seal_ptr(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_handle_arg a = { .handle = x->h };

	if (rnd(&c->r, 2))
		a.handle_ptr = (uintptr_t)x->big;
	else
		a.flags = 1u << rnd(&c->r, 32);
	expect(c, "SEAL with flags or a handle_ptr", raw(x->fd, REFPOOL_IOC_SEAL, &a), -EINVAL);
}

static void raw_rw_flags(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_rw a = { .handle = x->h, .flags = 1u << rnd(&c->r, 32), .len = 1,
				.buf = (uintptr_t)x->big };

	expect(c, "READ/WRITE with flags",
	       raw(x->fd, rnd(&c->r, 2) ? REFPOOL_IOC_READ : REFPOOL_IOC_WRITE, &a), -EINVAL);
}

static void raw_export_bad(struct tctx *c, struct raw_ctx *x)
{
	int32_t out = -1;
	struct refpool_fd_arg a = { .handle = x->h, .result_ptr = (uintptr_t)&out };
	int ret;

	if (!bad_flags_or_pad(c, &a.flags, &a.pad, true))
		a.fd = 1 + (int32_t)rnd(&c->r, 100);
	ret = raw(x->fd, REFPOOL_IOC_EXPORT, &a);
	if (ret == 0 && out >= 0)
		close(out);
	expect(c, "EXPORT with flags, pad or an fd", ret, -EINVAL);
}

static void raw_import_bad(struct tctx *c, struct raw_ctx *x)
{
	rp_handle_t out = 0;
	struct refpool_fd_arg a = { .fd = P.devnull, .result_ptr = (uintptr_t)&out };

	if (rnd(&c->r, 2))
		a.pad = 1 + (uint32_t)rnd(&c->r, 100);
	else
		a.handle = 1 + (uint32_t)rnd(&c->r, 100);
	expect(c, "IMPORT with pad or a handle", raw(x->fd, REFPOOL_IOC_IMPORT, &a), -EINVAL);
}

static void raw_publish_flag(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_token_arg a = { .handle = x->h, .flags = 2u << rnd(&c->r, 31),
				       .token_ptr = (uintptr_t)x->big };

	expect(c, "PUBLISH with an unknown flag", raw(x->fd, REFPOOL_IOC_PUBLISH, &a), -EINVAL);
}

static void raw_lookup_flags(struct tctx *c, struct raw_ctx *x)
{
	rp_handle_t out = 0;
	struct refpool_token_arg a = { .flags = 1u << rnd(&c->r, 32), .token_ptr = (uintptr_t)x->big,
				       .handle_ptr = (uintptr_t)&out };

	if (rnd(&c->r, 2)) {
		a.flags = 0;
		a.handle = 1 + (uint32_t)rnd(&c->r, 100);
	}
	expect(c, "LOOKUP with flags or a handle", raw(x->fd, REFPOOL_IOC_LOOKUP, &a), -EINVAL);
}

static void raw_unpin_bad(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_token_arg a = { .token_ptr = (uintptr_t)x->big };

	if (rnd(&c->r, 2))
		a.handle = 1 + (uint32_t)rnd(&c->r, 100);
	else
		a.handle_ptr = (uintptr_t)x->big;
	expect(c, "UNPIN with a handle or a handle_ptr", raw(x->fd, REFPOOL_IOC_UNPIN, &a), -EINVAL);
}

static void raw_intern_flags(struct tctx *c, struct raw_ctx *x)
{
	rp_handle_t out = 0;
	struct refpool_intern a = { .data = (uintptr_t)x->big, .len = 4,
				    .handle_ptr = (uintptr_t)&out };

	bad_flags_or_pad(c, &a.flags, &a.pad, false);
	expect(c, "INTERN with flags or pad", raw(x->fd, REFPOOL_IOC_INTERN, &a), -EINVAL);
}

static void raw_link_bad(struct tctx *c, struct raw_ctx *x)
{
	rp_handle_t out = 0;
	struct refpool_link a = { .parent = x->h };
	bool get = rnd(&c->r, 2);

	if (get) {		/* GET_LINK names no child */
		a.child = 1 + (uint32_t)rnd(&c->r, 100);
		a.handle_ptr = (uintptr_t)&out;
	} else {		/* LINK writes no handle */
		a.handle_ptr = (uintptr_t)&out;
	}
	if (rnd(&c->r, 4) == 0)
		a.flags = 1u << rnd(&c->r, 32);
	expect2(c, get ? "GET_LINK with a child" : "LINK with a handle_ptr",
		raw(x->fd, get ? REFPOOL_IOC_GET_LINK : REFPOOL_IOC_LINK, &a), -EINVAL,
		x->i < 0 ? -EBADF : -EINVAL);
}

static void raw_gc_flags(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_gc a = { .flags = (uint32_t)rnd(&c->r, 2), .pad = 1 };

	if (rnd(&c->r, 2))
		a.pad = 0, a.flags = 1u << rnd(&c->r, 32);
	expect(c, "GC with flags or pad", raw(x->fd, REFPOOL_IOC_GC, &a), -EINVAL);
}

static void raw_map_bad(struct tctx *c, struct raw_ctx *x)
{
	uint64_t addr = 0;
	struct refpool_map a = { .handle = x->h, .prot = PROT_READ, .addr_ptr = (uintptr_t)&addr };
	int ret;

	if (!bad_flags_or_pad(c, &a.flags, &a.pad, true))
		a.prot = (int[]){ PROT_WRITE, PROT_EXEC | PROT_READ, PROT_NONE, 8, PROT_EXEC }[rnd(&c->r, 5)];
	ret = raw(x->fd, REFPOOL_IOC_MAP, &a);
	if (ret == 0 && addr)
		munmap((void *)(uintptr_t)addr, 4096);
	expect2(c, "MAP with flags, pad or a bad prot", ret, -EINVAL, x->i < 0 ? -EBADF : -EINVAL);
}

static void raw_pins_bad(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_pins a = { .pins_ptr = (uintptr_t)x->big, .count = 1,
				  .entry_size = REFPOOL_PIN_INFO_SIZE_VER0 };

	if (!bad_flags_or_pad(c, &a.flags, &a.pad, true)) {
		do
			a.entry_size = (uint32_t)rnd(&c->r, 64);
		while (a.entry_size >= REFPOOL_PIN_INFO_SIZE_VER0 && a.entry_size % 8 == 0);
	}
	expect(c, "PINS with flags, pad or a bad entry_size", raw(x->fd, REFPOOL_IOC_PINS, &a), -EINVAL);
}

static void raw_version(struct tctx *c, struct raw_ctx *x)
{
	const uint64_t known = REFPOOL_FEAT_EVENTS | REFPOOL_FEAT_DMABUF | REFPOOL_FEAT_TEST_HOOKS;
	struct refpool_version v;

	memset(&v, 0xff, sizeof(v));
	if (expect(c, "VERSION", raw(x->fd, REFPOOL_IOC_VERSION, &v), 0) &&
	    (v.major != REFPOOL_ABI_MAJOR || (v.features & ~known)))
		report(c, "VERSION: major %u minor %u features %#llx", v.major, v.minor,
		       (unsigned long long)v.features);
}

/* The kernel never writes an argument back: a read-only one is fine. */
static void raw_ro_arg(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_info_arg *a = (void *)P.ro_arg;
	struct refpool_info info;

	if (x->i < 0)
		return;
	hlock_w();
	mprotect(P.ro_arg, 4096, PROT_READ | PROT_WRITE);
	memset(P.ro_arg, 0, 4096);
	a->handle = x->h;
	a->info_size = sizeof(info);
	a->info_ptr = (uintptr_t)&info;
	mprotect(P.ro_arg, 4096, PROT_READ);
	if (expect(c, "INFO with a read-only argument", raw(x->fd, REFPOOL_IOC_INFO, a), 0) &&
	    info.id != c->o[x->i].id)
		report(c, "INFO with a read-only argument: id %llu, model says %" PRIu64,
		       (unsigned long long)info.id, c->o[x->i].id);
	hunlock();
}

/* DUP whose result cannot be written: -EFAULT, no handle, refs unchanged. */
static void raw_dup_ro_result(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_handle_arg a = { .handle = x->h };
	int before;

	if (x->i < 0 || c->o[x->i].shared)
		return;
	a.handle_ptr = rnd(&c->r, 3) ? (uintptr_t)P.ro_page : rnd(&c->r, 2) ? 0 : (uintptr_t)P.guard;
	hlock_w();
	before = session_handles(c);
	expect(c, "DUP whose handle_ptr cannot be written", raw(x->fd, REFPOOL_IOC_DUP, &a), -EFAULT);
	if (session_handles(c) != before)
		report(c, "DUP refused for its handle_ptr left a handle");
	hunlock();
	check_info(c, x->i, x->h, "rp_info after DUP could not write its handle");
}

/* EXPORT whose fd cannot be written: -EFAULT, and the file is gone (refs). */
static void raw_fd_ro_result(struct tctx *c, struct raw_ctx *x)
{
	struct refpool_fd_arg a = { .handle = x->h, .result_ptr = (uintptr_t)P.ro_page };

	if (x->i < 0 || c->o[x->i].shared)
		return;
	expect(c, "EXPORT whose fd cannot be written", raw(x->fd, REFPOOL_IOC_EXPORT, &a), -EFAULT);
	check_info(c, x->i, x->h, "rp_info after EXPORT could not write its fd");
}

/*
 * The cases, one drawn at a time. Cases that make or drop handles take the
 * process's handle lock as the library calls do.
 */
static const struct {
	const char *name;
	void (*fn)(struct tctx *c, struct raw_ctx *x);
} raw_cases[] = {
	{ "unknown command", raw_unknown_nr },
	{ "another magic", raw_other_magic },
	{ "wrong direction", raw_wrong_dir },
	{ "bad struct size", raw_bad_size },
	{ "longer argument", raw_long_arg },
	{ "longer info", raw_long_info },
	{ "shorter info", raw_short_info },
	{ "stats of 120 bytes", raw_short_stats },
	{ "NULL argument", raw_null_arg },
	{ "INFO flags, pad", raw_info_pad },
	{ "DUP flags", raw_dup_flags },
	{ "PUT handle_ptr", raw_put_ptr },
	{ "SEAL flags, handle_ptr", raw_seal_ptr },
	{ "READ/WRITE flags", raw_rw_flags },
	{ "EXPORT bad", raw_export_bad },
	{ "IMPORT bad", raw_import_bad },
	{ "PUBLISH flag", raw_publish_flag },
	{ "LOOKUP bad", raw_lookup_flags },
	{ "UNPIN bad", raw_unpin_bad },
	{ "INTERN flags, pad", raw_intern_flags },
	{ "LINK, GET_LINK bad", raw_link_bad },
	{ "GC flags, pad", raw_gc_flags },
	{ "MAP bad", raw_map_bad },
	{ "PINS bad", raw_pins_bad },
	{ "VERSION", raw_version },
	{ "read-only argument", raw_ro_arg },
	{ "DUP result unwritable", raw_dup_ro_result },
	{ "EXPORT result unwritable", raw_fd_ro_result },
};

void op_raw(struct tctx *c)
{
	struct raw_ctx x = { .fd = rp_fd(c->p), .i = pick(c, has_h) };
	unsigned k = (unsigned)rnd(&c->r, ARRAY_SIZE(raw_cases));

	x.h = x.i >= 0 ? any_h(c, &c->o[x.i]) : 0x80000001u;
	note(c, k, x.h, 0, 0);
	raw_cases[k].fn(c, &x);
}
