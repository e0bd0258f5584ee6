// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, the model of one thread: its objects, the references it
 * holds, what dies when they go; the registry of shared objects and the
 * process's handle bookkeeping.
 */
#include "fuzz.h"

static void reg_put(uint64_t id, uint64_t size, uint32_t nslots, uint32_t flags,
		    uint64_t hash, const uint64_t *slot_id, bool more, uint32_t owner)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) >> (64 - REG_BITS);
	unsigned k;

	for (k = 0; k < 256; k++) {
		struct reg_entry *e = &shm->reg[(h + k) & (REG_SIZE - 1)];
		uint64_t cur = atomic_load(&e->id);

		if (cur == id)
			return;
		if (cur != 0)
			continue;
		if (!atomic_compare_exchange_strong(&e->id, &cur, id)) {
			if (cur == id)
				return;
			continue;
		}
		e->size = size;
		e->nslots = nslots;
		e->flags = flags;
		e->hash = hash;
		e->more_slots = more;
		e->owner = owner;
		memcpy(e->slot_id, slot_id, sizeof(e->slot_id));
		atomic_store(&e->ready, 1);
		return;
	}
}

/*
 * rp_intern() returned object @id (@created: it said so). Interning is per
 * user (SPEC §1): an object another user's rp_intern() created is never the
 * answer, "existed" or not. Creations are recorded for the others' checks.
 */
void intern_owner_check(struct tctx *c, uint64_t id, bool created, const char *what)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) >> (64 - IOWN_BITS);
	unsigned k;

	for (k = 0; k < 64; k++) {
		struct intern_owner *e = &shm->iown[(h + k) & (IOWN_SIZE - 1)];
		uint64_t cur = atomic_load(&e->id);
		uint32_t uid;

		if (cur == 0 && created) {
			if (!atomic_compare_exchange_strong(&e->id, &cur, id))
				continue;
			atomic_store(&e->uid, P.uid + 1);
			return;
		}
		if (cur == 0)
			return;		/* not recorded (yet): nothing to say */
		if (cur != id)
			continue;
		uid = atomic_load(&e->uid);	/* the uid + 1; 0: not written yet */
		if (uid && uid - 1 != P.uid)
			report(c, "%s: uid %u got id %" PRIu64 ", an object uid %u's rp_intern created%s",
			       what, P.uid, id, uid - 1, created ? " (said \"created\")" : "");
		return;
	}
}

const struct reg_entry *reg_get(uint64_t id)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) >> (64 - REG_BITS);
	unsigned k;

	for (k = 0; k < 256; k++) {
		struct reg_entry *e = &shm->reg[(h + k) & (REG_SIZE - 1)];
		uint64_t cur = atomic_load(&e->id);

		if (cur == 0)
			return NULL;
		if (cur == id)
			return atomic_load(&e->ready) ? e : NULL;
	}
	return NULL;
}


/* ------------------------------------------------------------------------ */
/* Handle bookkeeping of the process                                          */

void hlock_r(void)
{
	pthread_rwlock_rdlock(&P.hlock);
}

void hlock_w(void)
{
	pthread_rwlock_wrlock(&P.hlock);
}

void hunlock(void)
{
	pthread_rwlock_unlock(&P.hlock);
}

/* The slot of @h in @s, or of the empty place where it would go. */
static size_t hs_slot(const struct handle_set *s, uint32_t h)
{
	size_t k = (h * 0x9e3779b1u) & (s->cap - 1);

	while (s->num[k] && s->num[k] != h)
		k = (k + 1) & (s->cap - 1);
	return k;
}

static void hs_grow(struct handle_set *s)
{
	struct handle_set big = { .cap = s->cap * 2 };
	size_t k, j;

	big.num = calloc(big.cap, sizeof(*big.num));
	big.count = calloc(big.cap, sizeof(*big.count));
	if (!big.num || !big.count) {
		fprintf(stderr, "refpool-fuzz: out of memory\n");
		_exit(1);
	}
	for (k = 0; k < s->cap; k++) {
		if (!s->num[k])
			continue;
		j = hs_slot(&big, s->num[k]);
		big.num[j] = s->num[k];
		big.count[j] = s->count[k];
	}
	free(s->num);
	free(s->count);
	s->num = big.num;
	s->count = big.count;
	s->cap = big.cap;
}

void handle_set_init(struct handle_set *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->cap = 1024;
	s->n = 0;
	s->num = calloc(s->cap, sizeof(*s->num));
	s->count = calloc(s->cap, sizeof(*s->count));
	if (!s->num || !s->count) {
		fprintf(stderr, "refpool-fuzz: out of memory\n");
		_exit(1);
	}
}

/*
 * A call made handle @h: it must be a number this session never handed
 * out before (SPEC §1: a put handle's number is not reused within 2^31
 * allocations, so a stale handle never names another object).
 */
void held_add(struct tctx *c, rp_handle_t h)
{
	struct handle_set *s = &P.handles;
	uint32_t was = 0;
	bool seen;
	size_t k;

	if (h == 0) {
		report(c, "a call returned handle 0");
		return;
	}
	pthread_mutex_lock(&s->lock);
	k = hs_slot(s, h);
	seen = s->num[k] == h;
	if (seen) {
		was = s->count[k];
	} else {
		s->num[k] = h;
		s->n++;
	}
	s->count[k]++;
	if (s->n * 2 > s->cap)
		hs_grow(s);
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&P.nheld, 1);
	if (seen)
		report(c, "new handle %u: the session handed this number out before (%s)", h,
		       was ? "it is still held" : "it was put since; SPEC: not reused within 2^31 allocations");
}

void held_del(rp_handle_t h)
{
	struct handle_set *s = &P.handles;
	size_t k;

	pthread_mutex_lock(&s->lock);
	k = hs_slot(s, h);
	if (s->num[k] == h && s->count[k])
		s->count[k]--;
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_sub(&P.nheld, 1);
}

/* Whether a thread of this process holds @h (exact with hlock_w()). */
bool held_by_process(rp_handle_t h)
{
	struct handle_set *s = &P.handles;
	bool held;
	size_t k;

	pthread_mutex_lock(&s->lock);
	k = hs_slot(s, h);
	held = s->num[k] == h && s->count[k];
	pthread_mutex_unlock(&s->lock);
	return held;
}

/* ------------------------------------------------------------------------ */
/* Model helpers                                                              */

static int nholds(const struct mobj *o)
{
	return o->nh + o->nfd + o->nmap + o->nflight + o->npin;
}

int wmaps(const struct mobj *o)
{
	int i, n = 0;

	for (i = 0; i < o->nmap; i++)
		n += o->map[i].rw;
	return n;
}

int idx_of_id(struct tctx *c, uint64_t id)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state != ST_FREE && c->o[i].id == id)
			return i;
	return -1;
}

int nfree(struct tctx *c)
{
	int i, n = 0;

	for (i = 0; i < MAXOBJ; i++)
		n += c->o[i].state == ST_FREE;
	return n;
}

static void seen_id(struct tctx *c, uint64_t id)
{
	if (id > c->max_id)
		c->max_id = id;
}

/* A new model object for @id (size/nslots known), linked into slots that name it. */
int obj_new(struct tctx *c, uint64_t id, uint64_t size, uint32_t nslots,
	    uint32_t flags, bool shared)
{
	struct mobj *o;
	int i, j;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_FREE)
			break;
	if (i == MAXOBJ)
		return -1;
	o = &c->o[i];
	memset(o, 0, sizeof(*o));
	o->state = ST_LIVE;
	o->shared = shared;
	o->id = id;
	o->size = size;
	o->nslots = nslots;
	o->flags = flags;
	o->ukey = -1;
	/* what this thread creates is its user's; callers set it for others */
	o->owner = shared ? UID_UNKNOWN : P.uid;
	o->data = calloc(1, size ? size : 1);
	o->slot = malloc(sizeof(*o->slot) * (nslots ? nslots : 1));
	o->slot_id = calloc(nslots ? nslots : 1, sizeof(*o->slot_id));
	if (!o->data || !o->slot || !o->slot_id) {
		fprintf(stderr, "refpool-fuzz: out of memory\n");
		_exit(1);
	}
	for (j = 0; j < (int)nslots; j++)
		o->slot[j] = SLOT_EMPTY;
	seen_id(c, id);
	/* Slots of other model objects that name this id now point here. */
	for (j = 0; j < MAXOBJ; j++) {
		struct mobj *q = &c->o[j];
		uint32_t s;

		if (q->state == ST_FREE || j == i)
			continue;
		for (s = 0; s < q->nslots; s++)
			if (q->slot[s] == SLOT_OTHER && q->slot_id[s] == id)
				q->slot[s] = i;
	}
	return i;
}

static void dead_token(struct tctx *c, const rp_token_t *t)
{
	c->dead[c->dead_next] = *t;
	c->dead_next = (c->dead_next + 1) % NDEADTOK;
	if (c->ndead < NDEADTOK)
		c->ndead++;
}

/* Drop a model object: @dead says the object is known to be gone. */
void obj_drop(struct tctx *c, int i, bool dead)
{
	struct mobj *o = &c->o[i];
	int j, k;

	events_forget(c, o->id, dead && !o->shared);

	if (dead && !o->shared) {
		for (k = 0; k < o->ntok; k++)
			dead_token(c, &o->tok[k]);
	}
	for (j = 0; j < NUKEYS; j++)
		if (c->ukey_obj[j] == i) {
			c->ukey_obj[j] = -1;
			/* a shared one may live on in other processes */
			c->ukey_unknown[j] = !dead || o->shared;
		}
	for (j = 0; j < MAXOBJ; j++) {
		struct mobj *q = &c->o[j];
		uint32_t s;

		if (q->state == ST_FREE)
			continue;
		for (s = 0; s < q->nslots; s++)
			if (q->slot[s] == i)
				q->slot[s] = SLOT_OTHER;
	}
	free(o->data);
	free(o->slot);
	free(o->slot_id);
	memset(o, 0, sizeof(*o));
	o->state = ST_FREE;
}

/* Links into @i from model objects in state @st (or any state if st < 0). */
static int in_links(struct tctx *c, int i, int st)
{
	int j, n = 0;

	for (j = 0; j < MAXOBJ; j++) {
		struct mobj *q = &c->o[j];
		uint32_t s;

		if (q->state == ST_FREE || (st >= 0 && q->state != st))
			continue;
		for (s = 0; s < q->nslots; s++)
			n += q->slot[s] == i;
	}
	return n;
}

static void mark_from(struct tctx *c, int i)
{
	struct mobj *o = &c->o[i];
	uint32_t s;

	if (o->mark)
		return;
	o->mark = 1;
	for (s = 0; s < o->nslots; s++)
		if (o->slot[s] >= 0)
			mark_from(c, o->slot[s]);
}

/*
 * After references went: exclusive objects with no reference left die
 * (their links go with them, and so on); the ones no hold reaches are
 * garbage (limbo); shared objects nothing of ours reaches are forgotten.
 */
void settle(struct tctx *c)
{
	bool again = true;
	int i;

	while (again) {
		again = false;
		for (i = 0; i < MAXOBJ; i++) {
			struct mobj *o = &c->o[i];

			if (o->state == ST_FREE || nholds(o) || in_links(c, i, -1))
				continue;
			obj_drop(c, i, true);
			again = true;
		}
	}
	for (i = 0; i < MAXOBJ; i++)
		c->o[i].mark = 0;
	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state != ST_FREE && nholds(&c->o[i]))
			mark_from(c, i);
	for (i = 0; i < MAXOBJ; i++) {
		struct mobj *o = &c->o[i];

		if (o->state == ST_FREE)
			continue;
		if (o->mark)
			o->state = ST_LIVE;
		else if (o->shared)
			obj_drop(c, i, false);	/* only our garbage links to it */
		else
			o->state = ST_LIMBO;
	}
}

/* The object @i is seen gone (a garbage object): so is whatever links to it. */
void observed_gone(struct tctx *c, int i)
{
	int j;
	bool again = true;

	c->o[i].mark = 2;
	while (again) {
		again = false;
		for (j = 0; j < MAXOBJ; j++) {
			struct mobj *q = &c->o[j];
			uint32_t s;

			if (q->state != ST_LIMBO || q->mark == 2)
				continue;
			for (s = 0; s < q->nslots; s++)
				if (q->slot[s] >= 0 && c->o[q->slot[s]].mark == 2) {
					q->mark = 2;
					again = true;
					break;
				}
		}
	}
	for (j = 0; j < MAXOBJ; j++)
		if (c->o[j].state == ST_LIMBO && c->o[j].mark == 2)
			obj_drop(c, j, true);
	settle(c);
}

/* Own rp_gc() returned: every garbage object of ours is gone. */
void gc_done(struct tctx *c)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIMBO)
			obj_drop(c, i, true);
	settle(c);
}

/*
 * The range of refs the model allows: exact for an exclusive object but
 * for links from garbage (L3), a lower bound for a shared one (L1).
 */
void refs_range(struct tctx *c, int i, uint64_t *lo, uint64_t *hi)
{
	struct mobj *o = &c->o[i];

	*lo = nholds(o) + in_links(c, i, ST_LIVE);
	*hi = o->shared ? UINT64_MAX : *lo + in_links(c, i, ST_LIMBO);
}

int pick(struct tctx *c, bool (*ok)(const struct mobj *o))
{
	int cand[MAXOBJ], n = 0, i;

	for (i = 0; i < MAXOBJ; i++)
		if (c->o[i].state == ST_LIVE && ok(&c->o[i]))
			cand[n++] = i;
	return n ? cand[rnd(&c->r, n)] : -1;
}

bool has_h(const struct mobj *o)
{
	return o->nh > 0;
}

bool has_h_room(const struct mobj *o)
{
	return o->nh > 0 && o->nh < MAXH;
}

rp_handle_t any_h(struct tctx *c, const struct mobj *o)
{
	return o->h[rnd(&c->r, o->nh)];
}

void add_h(struct tctx *c, int i, rp_handle_t h)
{
	struct mobj *o = &c->o[i];

	o->h[o->nh++] = h;
	(void)c;
}

/* Remove handle @h from the model object (not from the kernel). */
void del_h(struct mobj *o, rp_handle_t h)
{
	int k;

	for (k = 0; k < o->nh; k++)
		if (o->h[k] == h) {
			o->h[k] = o->h[--o->nh];
			return;
		}
}

/* Put a handle in the kernel and the model. Caller holds no lock. */
void put_handle(struct tctx *c, int i, rp_handle_t h)
{
	int ret;

	hlock_r();
	ret = rp_put(c->p, h);
	if (ret == 0)
		held_del(h);
	hunlock();
	expect(c, "rp_put", ret, 0);
	/* refused or not, the model lets go of it: nothing may loop on it */
	del_h(&c->o[i], h);
	if (ret == 0) {
		if (c->nput < 8)
			c->put_h[c->nput++] = h;
		else
			c->put_h[rnd(&c->r, 8)] = h;
	}
	settle(c);
}

/* Put a handle the model does not keep. */
void put_raw(struct tctx *c, rp_handle_t h)
{
	int ret;

	hlock_r();
	ret = rp_put(c->p, h);
	if (ret == 0)
		held_del(h);
	hunlock();
	expect(c, "rp_put", ret, 0);
}

/* Registry record of a (now shared) object. */
static void reg_obj(struct tctx *c, int i)
{
	struct mobj *o = &c->o[i];
	uint64_t sid[REG_SLOTS] = { 0 };
	bool more = false;
	uint32_t s;

	for (s = 0; s < o->nslots; s++) {
		uint64_t v = 0;

		if (o->slot[s] >= 0)
			v = c->o[o->slot[s]].id;
		else if (o->slot[s] == SLOT_OTHER)
			v = o->slot_id[s];
		else if (o->slot[s] == SLOT_UNKNOWN)
			more = true;
		if (s < REG_SLOTS)
			sid[s] = v;
		else if (v)
			more = true;
	}
	if (o->nslots > REG_SLOTS && o->slot[0] == SLOT_UNKNOWN)
		more = true;
	reg_put(o->id, o->size, o->nslots, o->flags, fnv(o->data, o->size), sid, more, o->owner);
}

/* Make @i and everything it reaches shared, recording each in the registry. */
void share(struct tctx *c, int i)
{
	struct mobj *o = &c->o[i];
	uint32_t s;

	if (o->shared)
		return;
	o->shared = 1;
	o->data_known = 1;
	for (s = 0; s < o->nslots; s++)
		if (o->slot[s] >= 0)
			share(c, o->slot[s]);
	reg_obj(c, i);
}
