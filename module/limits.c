// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the pool's limits, as module parameters.
 *
 * They are writable by root at run time and read afresh at every charge,
 * so an administrator can tighten a limit on a live pool: what is there
 * stays, new charges are refused until the pool or the user is back under
 * the limit.
 *
 * The pool's limits count payload bytes and objects; a user's count every
 * kernel byte the user causes (see struct rp_user), and default to a
 * quarter of the pool's, so that no one unprivileged user can take it all.
 *
 * Copyright (C) 2026 The refpool authors
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>

#include "refpool.h"

static unsigned long max_objects = 1048576;
module_param(max_objects, ulong, 0644);
MODULE_PARM_DESC(max_objects, "Most live objects in the pool (default 1048576)");

static unsigned long max_bytes;
module_param(max_bytes, ulong, 0644);
MODULE_PARM_DESC(max_bytes, "Most payload bytes in the pool (default: a quarter of RAM)");

static unsigned long max_object_size = 64UL << 20;
module_param(max_object_size, ulong, 0644);
MODULE_PARM_DESC(max_object_size, "Largest payload of one object, at most 1 GiB (default 64 MiB)");

static unsigned int max_slots = 4096;
module_param(max_slots, uint, 0644);
MODULE_PARM_DESC(max_slots, "Most reference slots of one object (default 4096)");

static unsigned long max_user_bytes;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes, "Most kernel bytes one user may be charged, everything counted (default: max_bytes / 4)");

static unsigned long max_user_objects;
module_param(max_user_objects, ulong, 0644);
MODULE_PARM_DESC(max_user_objects, "Most live objects one user may own (default: max_objects / 4)");

u64 rp_limit_objects(void)
{
	return READ_ONCE(max_objects);
}

u64 rp_limit_bytes(void)
{
	return READ_ONCE(max_bytes);
}

/* The cap keeps every size and offset arithmetic far from overflow. */
u64 rp_limit_object_size(void)
{
	return min_t(u64, READ_ONCE(max_object_size), RP_OBJECT_SIZE_CAP);
}

u32 rp_limit_slots(void)
{
	return READ_ONCE(max_slots);
}

u64 rp_limit_user_bytes(void)
{
	return READ_ONCE(max_user_bytes);
}

u64 rp_limit_user_objects(void)
{
	return READ_ONCE(max_user_objects);
}

/* Fill in the defaults that depend on the machine, unless given at load. */
void rp_limits_init(void)
{
	/* In u64: on 32 bits, RAM in bytes does not fit an unsigned long. */
	u64 ram = (u64)totalram_pages() << PAGE_SHIFT;

	if (!max_bytes)
		max_bytes = min_t(u64, ram / 4, ULONG_MAX);
	if (!max_user_bytes)
		max_user_bytes = max_bytes / 4;
	if (!max_user_objects)
		max_user_objects = max_objects / 4;
}
