// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, Raw ioctls: what the library cannot express (sizes,
 * directions, reserved fields, read-only arguments).
 */
#include <sys/mman.h>

#include "fuzz.h"

/* Raw ioctls: what the library cannot express. */
void op_raw(struct tctx *c)
{
	int fd = rp_fd(c->p), i = pick(c, has_h), ret, k = rnd(&c->r, 22);
	rp_handle_t h = i >= 0 ? any_h(c, &c->o[i]) : 0x80000001u;
	uint8_t big[256];

	memset(big, 0, sizeof(big));
	switch (k) {
	case 0:
		ret = raw(fd, _IOWR(REFPOOL_IOC_MAGIC, 0x12 + rnd(&c->r, 0xed), struct refpool_info), big);
		expect(c, "unknown command number", ret, -ENOTTY);
		break;
	case 1:
		ret = raw(fd, _IOWR(REFPOOL_IOC_MAGIC + 1, 4, struct refpool_info), big);
		expect(c, "another magic", ret, -ENOTTY);
		break;
	case 2:
		ret = raw(fd, _IOW(REFPOOL_IOC_MAGIC, 4, struct refpool_info), big);
		expect(c, "INFO with the wrong direction", ret, -ENOTTY);
		break;
	case 3:
		ret = raw(fd, _IOC(_IOC_READ | _IOC_WRITE, REFPOOL_IOC_MAGIC, 4, 8 + rnd(&c->r, 32)), big);
		expect(c, "INFO shorter than its first version", ret, -EINVAL);
		break;
	case 4: {	/* a newer, longer struct: zero tail accepted, nonzero refused */
		struct refpool_info *a = (void *)big;
		unsigned size = 48 + 8 * rnd(&c->r, 20);
		bool tail = rnd(&c->r, 2);

		if (i < 0)
			return;
		a->handle = h;
		if (tail)
			big[size - 1 - rnd(&c->r, size - 40)] = 0xa5;
		ret = raw(fd, _IOC(_IOC_READ | _IOC_WRITE, REFPOOL_IOC_MAGIC, 4, size), big);
		if (tail) {
			expect(c, "INFO with a nonzero tail", ret, -E2BIG);
		} else if (expect(c, "INFO with a zero tail", ret, 0)) {
			unsigned z;

			if (a->id != c->o[i].id || a->size != c->o[i].size)
				report(c, "INFO with a zero tail: id %llu size %llu, model says %" PRIu64 " %" PRIu64,
				       (unsigned long long)a->id, (unsigned long long)a->size, c->o[i].id, c->o[i].size);
			for (z = 40; z < size; z++)
				if (big[z])
					report(c, "INFO with a zero tail: byte %u of the tail is %#x", z, big[z]);
		}
		break;
	}
	case 5:
		ret = raw(fd, REFPOOL_IOC_INFO, NULL);
		expect(c, "INFO with a NULL argument", ret, -EFAULT);
		break;
	case 6: {
		struct refpool_info a = { .handle = h, .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_INFO, &a);
		expect2(c, "INFO with nonzero pad", ret, -EINVAL, i < 0 ? -EBADF : -EINVAL);
		break;
	}
	case 7: {
		struct refpool_handle_arg a = { .handle = h, .flags = 1 + rnd(&c->r, 100) };

		hlock_r();
		ret = raw(fd, REFPOOL_IOC_DUP, &a);
		if (ret == 0)
			held_add(c, a.out);
		hunlock();
		expect(c, "DUP with flags", ret, -EINVAL);
		break;
	}
	case 8: {
		struct refpool_handle_arg a = { .handle = h, .out = 1 + rnd(&c->r, 100) };

		hlock_r();
		ret = raw(fd, REFPOOL_IOC_PUT, &a);
		if (ret == 0 && i >= 0) {
			held_del(h);
			del_h(&c->o[i], h);
		}
		hunlock();
		expect(c, "PUT with nonzero out", ret, -EINVAL);
		if (ret == 0)
			settle(c);
		break;
	}
	case 9: {
		struct refpool_handle_arg a = { .handle = h, .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_SEAL, &a);
		expect(c, "SEAL with nonzero pad", ret, -EINVAL);
		break;
	}
	case 10: {
		struct refpool_rw a = { .handle = h, .flags = 1u << rnd(&c->r, 32), .len = 1,
					.buf = (uintptr_t)big };

		ret = raw(fd, rnd(&c->r, 2) ? REFPOOL_IOC_READ : REFPOOL_IOC_WRITE, &a);
		expect(c, "READ/WRITE with flags", ret, -EINVAL);
		break;
	}
	case 11: {
		struct refpool_fd_arg a = { .handle = h, .flags = 1 };

		ret = raw(fd, REFPOOL_IOC_EXPORT, &a);
		if (ret == 0)
			close(a.fd);
		expect(c, "EXPORT with flags", ret, -EINVAL);
		break;
	}
	case 12: {
		struct refpool_fd_arg a = { .fd = P.devnull, .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_IMPORT, &a);
		expect(c, "IMPORT with nonzero pad", ret, -EINVAL);
		break;
	}
	case 13: {
		struct refpool_token_arg a = { .handle = h, .flags = 2u << rnd(&c->r, 31) };

		ret = raw(fd, REFPOOL_IOC_PUBLISH, &a);
		expect(c, "PUBLISH with an unknown flag", ret, -EINVAL);
		break;
	}
	case 14: {
		struct refpool_token_arg a = { .flags = 1 };

		ret = raw(fd, REFPOOL_IOC_LOOKUP, &a);
		expect(c, "LOOKUP with flags", ret, -EINVAL);
		break;
	}
	case 15: {
		struct refpool_token_arg a = { .handle = 1 + rnd(&c->r, 100) };

		ret = raw(fd, REFPOOL_IOC_UNPIN, &a);
		expect(c, "UNPIN with nonzero handle", ret, -EINVAL);
		break;
	}
	case 16: {
		struct refpool_intern a = { .data = (uintptr_t)big, .len = 4, .flags = 1 };

		ret = raw(fd, REFPOOL_IOC_INTERN, &a);
		expect(c, "INTERN with flags", ret, -EINVAL);
		break;
	}
	case 17: {
		struct refpool_link a = { .parent = h, .child = 1 };

		ret = raw(fd, REFPOOL_IOC_GET_LINK, &a);
		expect(c, "GET_LINK with nonzero child", ret, -EINVAL);
		break;
	}
	case 18: {
		struct refpool_gc a = { .flags = rnd(&c->r, 2), .pad = 1 };

		ret = raw(fd, REFPOOL_IOC_GC, &a);
		expect(c, "GC with flags or pad", ret, -EINVAL);
		break;
	}
	case 19: {
		struct refpool_version v;

		memset(&v, 0xff, sizeof(v));
		ret = raw(fd, REFPOOL_IOC_VERSION, &v);
		if (expect(c, "VERSION", ret, 0) && (v.major != REFPOOL_ABI_MAJOR ||
		    (v.features & 7) != 7))
			report(c, "VERSION: major %u features %#llx", v.major, (unsigned long long)v.features);
		break;
	}
	case 20: {
		/* results written back on success only: a read-only argument */
		struct refpool_create *a = (void *)P.ro_page;
		int before;

		hlock_w();
		before = session_handles(c);
		ret = raw(fd, REFPOOL_IOC_CREATE, a);	/* ro_page holds zeroes */
		expect(c, "CREATE with a read-only argument", ret, -EFAULT);
		if (session_handles(c) != before)
			report(c, "CREATE that failed to write back left a handle");
		hunlock();
		break;
	}
	default: {
		/* DUP with a read-only argument: no handle, refs unchanged */
		struct refpool_handle_arg *a = (void *)P.ro_arg;

		if (i < 0 || c->o[i].shared)
			return;
		hlock_w();
		mprotect(P.ro_arg, 4096, PROT_READ | PROT_WRITE);
		memset(P.ro_arg, 0, 4096);
		a->handle = h;
		mprotect(P.ro_arg, 4096, PROT_READ);
		ret = raw(fd, REFPOOL_IOC_DUP, a);
		hunlock();
		expect(c, "DUP with a read-only argument", ret, -EFAULT);
		check_info(c, i, h, "rp_info after DUP failed to write back");
		break;
	}
	}
	note(c, k, h, 0, 0);
}
