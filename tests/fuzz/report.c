// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-fuzz, reporting: what a thread did lately, and answers that
 * differ from the model.
 */
#include <stdarg.h>

#include "fuzz.h"

void report(struct tctx *c, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	int n, i;

	c->mism++;
	atomic_fetch_add(&shm->mismatches, 1);
	atomic_fetch_add(&shm->op_mismatch[c->cur_op], 1);
	/* the first few of each kind, 40 in all */
	if (atomic_fetch_add(&shm->op_printed[c->cur_op], 1) >= 4 ||
	    atomic_fetch_add(&shm->printed, 1) >= 40)
		return;
	n = snprintf(msg, sizeof(msg), "MISMATCH worker %d.%d thread %d op #%" PRIu64 " %s: ",
		     c->w, c->inc, c->t, c->opno, fuzz_ops[c->cur_op].name);
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	n += snprintf(msg + n, sizeof(msg) - n, "\n  recent ops of this thread (op a b c -> ret):\n");
	for (i = 0; i < NRECENT && n < (int)sizeof(msg) - 200; i++) {
		struct recent *r = &c->rec[(c->opno + 1 + i) % NRECENT];

		if (!r->opno)
			continue;
		n += snprintf(msg + n, sizeof(msg) - n, "    #%" PRIu64 " %s %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " -> %" PRId64 "\n",
			      r->opno, fuzz_ops[r->op].name, r->a, r->b, r->c, r->ret);
	}
	if (write(2, msg, strlen(msg)) < 0)
		return;
}

void note(struct tctx *c, uint64_t a, uint64_t b, uint64_t cc, int64_t ret)
{
	struct recent *r = &c->rec[c->opno % NRECENT];

	r->opno = c->opno;
	r->op = c->cur_op;
	r->a = a;
	r->b = b;
	r->c = cc;
	r->ret = ret;
}

/* The call returned @got; the model says @want (a count or -errno). */
bool expect(struct tctx *c, const char *what, int64_t got, int64_t want)
{
	if (got == want) {
		if (want < 0)
			atomic_fetch_add(&shm->op_einval_like[c->cur_op], 1);
		return true;
	}
	report(c, "%s: got %s, model says %s", what, en(got), en(want));
	return false;
}

bool expect2(struct tctx *c, const char *what, int64_t got, int64_t w1,
	     int64_t w2)
{
	if (got == w1 || got == w2)
		return true;
	report(c, "%s: got %s, model says %s or %s", what, en(got), en(w1), en(w2));
	return false;
}
