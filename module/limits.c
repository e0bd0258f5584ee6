// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the pool's limits, as module parameters.
 *
 * They are writable by root at run time and read afresh at every use, so an
 * administrator can tighten a limit on a live pool: objects already there
 * stay, new ones are refused until the pool is back under the limit.
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
MODULE_PARM_DESC(max_user_bytes, "Most payload bytes one user may hold (default: max_bytes)");

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

/* Fill in the defaults that depend on the machine, unless given at load. */
void rp_limits_init(void)
{
	if (!max_bytes)
		max_bytes = (totalram_pages() << PAGE_SHIFT) / 4;
	if (!max_user_bytes)
		max_user_bytes = max_bytes;
}
