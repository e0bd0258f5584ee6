// SPDX-License-Identifier: GPL-2.0
/*
 * refpoolctl: look at and drive /dev/refpool from a shell.
 *
 *   refpoolctl [--json] stats      the pool's counters and limits
 *   refpoolctl [--json] version    the module's ABI version and features
 *
 * Exit status: 0 success, 1 the call failed (message on stderr), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/refpool.h>
#include "refpool.h"

struct field {
	const char *name;
	uint64_t value;
};

static void print_fields(const struct field *f, size_t n, int json)
{
	size_t i;

	if (json)
		putchar('{');
	for (i = 0; i < n; i++) {
		if (json)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "", f[i].name,
			       f[i].value);
		else
			printf("%-20s %" PRIu64 "\n", f[i].name, f[i].value);
	}
	if (json)
		printf("}\n");
}

static int cmd_stats(struct rp_pool *p, int json)
{
	struct rp_stats st;
	int ret = rp_stats(p, &st);

	if (ret < 0)
		return ret;
	const struct field f[] = {
		{ "objects", st.objects },
		{ "bytes", st.bytes },
		{ "interned", st.interned },
		{ "intern_hits", st.intern_hits },
		{ "intern_bytes_saved", st.intern_bytes_saved },
		{ "gc_runs", st.gc_runs },
		{ "gc_collected", st.gc_collected },
		{ "gc_time_ns", st.gc_time_ns },
		{ "user_bytes", st.user_bytes },
		{ "max_objects", st.max_objects },
		{ "max_bytes", st.max_bytes },
		{ "max_object_size", st.max_object_size },
		{ "max_slots", st.max_slots },
		{ "max_user_bytes", st.max_user_bytes },
	};
	print_fields(f, sizeof(f) / sizeof(f[0]), json);
	return 0;
}

static int cmd_version(struct rp_pool *p, int json)
{
	struct refpool_version v;

	memset(&v, 0, sizeof(v));
	if (ioctl(rp_fd(p), REFPOOL_IOC_VERSION, &v) < 0)
		return -errno;
	const struct field f[] = {
		{ "abi_major", v.major },
		{ "abi_minor", v.minor },
		{ "features", v.features },
	};
	print_fields(f, sizeof(f) / sizeof(f[0]), json);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: refpoolctl [--json] COMMAND\n"
		"commands:\n"
		"  stats     the pool's counters and limits\n"
		"  version   the module's ABI version and features\n"
		"The device is $REFPOOL_DEVICE, else /dev/refpool.\n");
}

int main(int argc, char **argv)
{
	struct rp_pool *p;
	const char *cmd = NULL;
	int json = 0, i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!cmd) {
			cmd = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!cmd || (strcmp(cmd, "stats") && strcmp(cmd, "version"))) {
		usage(stderr);
		return 2;
	}

	ret = rp_open(&p);
	if (ret < 0) {
		fprintf(stderr, "refpoolctl: cannot open the device: %s\n",
			rp_strerror(ret));
		return 1;
	}
	ret = !strcmp(cmd, "stats") ? cmd_stats(p, json) : cmd_version(p, json);
	rp_close(p);
	if (ret < 0) {
		fprintf(stderr, "refpoolctl: %s: %s\n", cmd, rp_strerror(ret));
		return 1;
	}
	return 0;
}
