// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, operations on mappings: map, write and read through them,
 * unmap (whole or in part), mprotect.
 */
#include <sys/mman.h>

#include "fuzz.h"

static bool mappable(const struct mobj *o)
{
	return o->nh > 0 && o->nmap < MAXM && o->size <= MAX_MAP_SIZE;
}

void op_map(struct tctx *c)
{
	int i = pick(c, mappable), ret, prot;
	struct rp_info info;
	struct mapping *m;
	struct mobj *o;
	void *addr = NULL;
	rp_handle_t h;
	uint64_t k = rnd(&c->r, 12);

	if (i < 0)
		return;
	o = &c->o[i];
	prot = k < 5 ? PROT_READ : k < 11 ? PROT_READ | PROT_WRITE :
	       (int[]){ PROT_WRITE, PROT_EXEC | PROT_READ, PROT_NONE, 8 }[rnd(&c->r, 4)];
	h = any_h(c, o);
	/* the mapping is as long as the kernel says: never touch past it */
	if (rp_info(c->p, h, &info) == 0 && info.size != o->size) {
		check_info(c, i, h, "rp_info before rp_map");
		return;
	}
	ret = rp_map(c->p, h, prot, &addr);
	note(c, o->id, prot, o->size, ret);
	if (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE)) {
		expect(c, "rp_map(bad prot)", ret, -EINVAL);
		return;
	}
	if (!o->size) {
		expect(c, "rp_map(empty object)", ret, -EINVAL);
		return;
	}
	if (prot & PROT_WRITE) {
		if (o->flags & RP_SEALED) {
			expect(c, "rp_map(sealed, writable)", ret, -EPERM);
			return;
		}
		if (o->shared && ret == -EPERM) {	/* L2 */
			o->flags |= RP_SEALED;
			return;
		}
	}
	if (!expect(c, "rp_map", ret, 0))
		return;
	m = &o->map[o->nmap++];
	m->addr = addr;
	m->len = (o->size + 4095) & ~(size_t)4095;
	m->rw = !!(prot & PROT_WRITE);
	m->npages = m->len / 4096;
	m->mapped = malloc(m->npages);
	memset(m->mapped, 1, m->npages);
	m->left = m->npages;
	if ((!o->shared || o->data_known) && memcmp(addr, o->data, o->size))
		report(c, "rp_map: id %" PRIu64 " mapping differs from the model", o->id);
	check_info(c, i, any_h(c, o), "rp_info after rp_map");
}

static bool has_map(const struct mobj *o)
{
	return o->nmap > 0;
}

void op_map_write(struct tctx *c)
{
	int i = pick(c, has_map), n, k;
	struct mapping *m;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	m = &o->map[rnd(&c->r, o->nmap)];
	if (!m->rw || !o->size)
		return;
	n = 1 + rnd(&c->r, 8);
	for (k = 0; k < n; k++) {
		uint64_t off = rnd(&c->r, o->size);
		uint64_t len = 1 + rnd(&c->r, o->size - off < 300 ? o->size - off : 300);
		uint64_t p;

		/* only pages still mapped */
		for (p = off / 4096; p <= (off + len - 1) / 4096; p++)
			if (!m->mapped[p])
				break;
		if (p <= (off + len - 1) / 4096)
			continue;
		if (o->shared) {
			memcpy(m->addr + off, o->data + off, len);	/* same bytes */
		} else {
			rnd_fill(&c->r, m->addr + off, len);
			memcpy(o->data + off, m->addr + off, len);
		}
		note(c, o->id, off, len, 0);
	}
	if (o->nh && rnd(&c->r, 2))
		check_bytes(c, i, any_h(c, o), 0, o->size, "rp_read after writing through a mapping");
}

void op_map_read(struct tctx *c)
{
	int i = pick(c, has_map);
	struct mapping *m;
	struct mobj *o;
	uint32_t p;

	if (i < 0)
		return;
	o = &c->o[i];
	m = &o->map[rnd(&c->r, o->nmap)];
	note(c, o->id, (uintptr_t)m->addr, m->left, 0);
	if (o->shared && !o->data_known)
		return;
	for (p = 0; p < m->npages; p++) {
		uint64_t off = (uint64_t)p * 4096;
		uint64_t len = o->size - off < 4096 ? o->size - off : 4096;

		if (m->mapped[p] && memcmp(m->addr + off, o->data + off, len)) {
			report(c, "mapping of id %" PRIu64 " page %u differs from the model", o->id, p);
			return;
		}
		/* the tail of the last page past the size reads as zeroes */
		if (m->mapped[p] && len < 4096) {
			uint64_t z;

			for (z = len; z < 4096; z++)
				if (m->addr[off + z] && !m->rw) {
					report(c, "mapping of id %" PRIu64 ": byte %" PRIu64 " past the end is %#x",
					       o->id, off + z, m->addr[off + z]);
					return;
				}
		}
	}
}

void drop_map(struct tctx *c, int i, int k)
{
	struct mobj *o = &c->o[i];

	free(o->map[k].mapped);
	o->map[k] = o->map[--o->nmap];
	settle(c);
}

void op_unmap(struct tctx *c)
{
	int i = pick(c, has_map), k, ret;
	struct mapping *m;
	struct mobj *o;
	uint32_t p, first = 0, n = 0, k2;

	if (i < 0)
		return;
	o = &c->o[i];
	k = rnd(&c->r, o->nmap);
	m = &o->map[k];
	if (m->left == m->npages && (m->npages < 2 || rnd(&c->r, 2))) {
		ret = rp_unmap(m->addr, o->size);
		note(c, o->id, (uintptr_t)m->addr, o->size, ret);
		expect(c, "rp_unmap", ret, 0);
		drop_map(c, i, k);
		if (o->state == ST_LIVE && o->nh && rnd(&c->r, 2))
			check_info(c, i, any_h(c, o), "rp_info after rp_unmap");
		return;
	}
	/* one run of mapped pages */
	p = rnd(&c->r, m->npages);
	while (p < m->npages && !m->mapped[p])
		p++;
	if (p == m->npages)
		for (p = 0; !m->mapped[p]; p++)
			;
	first = p;
	k2 = 1 + rnd(&c->r, 2);
	while (p < m->npages && m->mapped[p] && n < k2) {
		n++;
		p++;
	}
	ret = rp_unmap(m->addr + (size_t)first * 4096, (uint64_t)n * 4096);
	note(c, o->id, first, n, ret);
	expect(c, "rp_unmap(part)", ret, 0);
	memset(m->mapped + first, 0, n);
	m->left -= n;
	if (!m->left)
		drop_map(c, i, k);
	if (o->state == ST_LIVE && o->nh)
		check_info(c, i, any_h(c, o), "rp_info after a partial rp_unmap");
}

void op_mprotect(struct tctx *c)
{
	int i = pick(c, has_map), k, ret;
	struct mapping *m;
	struct mobj *o;

	if (i < 0)
		return;
	o = &c->o[i];
	for (k = 0; k < o->nmap; k++)
		if (!o->map[k].rw && o->map[k].left == o->map[k].npages)
			break;
	if (k == o->nmap)
		return;
	m = &o->map[k];
	ret = mprotect(m->addr, m->len, PROT_READ | PROT_WRITE) ? -errno : 0;
	note(c, o->id, (uintptr_t)m->addr, m->len, ret);
	expect(c, "mprotect(read-only mapping, PROT_WRITE)", ret, -EACCES);
}
