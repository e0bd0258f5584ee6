/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refpool: named delay points that make race windows deterministic.
 *
 * A test build of the module (make module REFPOOL_TEST_HOOKS=1, which
 * `make check` uses) compiles them in; a selftest arms one through
 * /sys/kernel/debug/refpool/hooks ("NAME MILLISECONDS [COUNT]"), and the
 * next COUNT (default 1) calls that pass the point sleep there (or spin,
 * at points inside an RCU read-side section: rp_hook_spin()), so that
 * another thread can do what the race needs meanwhile; reading the file
 * tells how many calls have reached each point, so that the test knows the
 * window is open. In any other build
 * they are nothing at all.
 *
 * Copyright (C) 2026 The refpool authors
 */
#ifndef _REFPOOL_HOOKS_H
#define _REFPOOL_HOOKS_H

/* The points; names in hooks.c's table. */
enum rp_hook {
	RP_HOOK_PUBLISH,	/* publish: the token is found, no lock held */
	RP_HOOK_LOOKUP,		/* token lookup: the object read, not yet held */
	RP_HOOK_GET_LINK,	/* get_link: the parent held, the child not yet */
	RP_HOOK_GC_SETTLE,	/* collector: candidates doomed, not yet settled */
	RP_HOOK_BATCH,		/* batch: the array pinned, no op run yet */
	RP_HOOK_SEAL,		/* seal: no writable mapping, pins not yet checked */
	RP_HOOK_HANDLE,		/* handle lookup: the entry found, not yet read */
	RP_HOOK_COUNT
};

#ifdef REFPOOL_TEST_HOOKS
void rp_hook(enum rp_hook hook);
void rp_hook_spin(enum rp_hook hook);
void rp_hooks_init(void);
#define RP_TEST_HOOKS	1
#else
static inline void rp_hook(enum rp_hook hook) { }
static inline void rp_hook_spin(enum rp_hook hook) { }
static inline void rp_hooks_init(void) { }
#define RP_TEST_HOOKS	0
#endif

#endif /* _REFPOOL_HOOKS_H */
