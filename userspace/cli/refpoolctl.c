// SPDX-License-Identifier: GPL-2.0
/*
 * refpoolctl: look at and drive /dev/refpool from a shell.
 *
 * A shell script shares an object through a pinned token: `publish` stores
 * a file (or stdin) as a sealed object whose token owns a reference, so it
 * outlives this process; any process of the same IPC namespace can `cat`
 * it; `put` drops the pin, and the object goes with its last reference.
 *
 * `ls` and `show` read the module's debugfs files (root only): they list
 * every object, and which processes hold handles to it.
 *
 * Exit status: 0 success, 1 the call failed (message on stderr), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/refpool.h>
#include "refpool.h"

#define MAX_INPUT_DEFAULT (64ULL << 20)
#define DEBUGFS_DIR "/sys/kernel/debug/refpool"

struct field {
	const char *name;
	uint64_t value;
};

struct ctl {
	struct rp_pool *pool;
	int json;
	int argc;
	char **argv;
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

static int cmd_stats(struct ctl *c)
{
	struct rp_stats st;
	int ret = rp_stats(c->pool, &st);

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
	print_fields(f, sizeof(f) / sizeof(f[0]), c->json);
	return 0;
}

static int cmd_version(struct ctl *c)
{
	struct refpool_version v;

	memset(&v, 0, sizeof(v));
	if (ioctl(rp_fd(c->pool), REFPOOL_IOC_VERSION, &v) < 0)
		return -errno;
	const struct field f[] = {
		{ "abi_major", v.major },
		{ "abi_minor", v.minor },
		{ "features", v.features },
	};
	print_fields(f, sizeof(f) / sizeof(f[0]), c->json);
	return 0;
}

static int cmd_gc(struct ctl *c)
{
	uint64_t collected;
	int ret = rp_gc(c->pool, &collected);

	if (ret < 0)
		return ret;
	const struct field f[] = { { "collected", collected } };
	print_fields(f, 1, c->json);
	return 0;
}

/* Read all of a stream into memory, up to @max bytes. */
static int slurp(FILE *in, uint64_t max, char **out, uint64_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap), *bigger;

	if (!buf)
		return -ENOMEM;
	while ((got = fread(buf + n, 1, cap - n, in)) > 0) {
		n += got;
		if (n > max) {
			free(buf);
			return -EFBIG;
		}
		if (n == cap) {
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	if (ferror(in)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int cmd_publish(struct ctl *c)
{
	const char *path = c->argc > 0 ? c->argv[0] : "-";
	struct rp_stats st;
	rp_handle_t h;
	rp_token_t tok;
	char str[33], *data;
	uint64_t len;
	FILE *in;
	int ret;

	ret = rp_stats(c->pool, &st);
	if (ret < 0)
		return ret;
	in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!in) {
		fprintf(stderr, "refpoolctl: %s: %s\n", path, strerror(errno));
		return -ENOENT;
	}
	ret = slurp(in, st.max_object_size ? st.max_object_size :
		    MAX_INPUT_DEFAULT, &data, &len);
	if (in != stdin)
		fclose(in);
	if (ret < 0)
		return ret;
	ret = rp_create_from(c->pool, data, len, RP_SEALED, &h);
	free(data);
	if (ret < 0)
		return ret;
	/* The pin keeps the object once this session ends. */
	ret = rp_pin(c->pool, h, &tok);
	if (ret < 0)
		return ret;
	rp_token_to_str(&tok, str);
	if (c->json)
		printf("{\"token\": \"%s\", \"size\": %" PRIu64 "}\n", str, len);
	else
		printf("%s\n", str);
	return 0;
}

static int lookup_arg(struct ctl *c, rp_token_t *tok, rp_handle_t *h)
{
	int ret;

	if (c->argc != 1)
		return -EINVAL;
	ret = rp_token_from_str(c->argv[0], tok);
	if (ret < 0)
		return ret;
	return h ? rp_lookup(c->pool, tok, h) : 0;
}

static int cmd_cat(struct ctl *c)
{
	char buf[1 << 16];
	uint64_t off = 0;
	rp_token_t tok;
	rp_handle_t h;
	int64_t n;
	int ret;

	ret = lookup_arg(c, &tok, &h);
	if (ret < 0)
		return ret;
	while ((n = rp_read(c->pool, h, off, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, n, stdout) != (size_t)n)
			return -EIO;
		off += n;
	}
	return n < 0 ? (int)n : 0;
}

static int cmd_info(struct ctl *c)
{
	struct rp_info info;
	rp_token_t tok;
	rp_handle_t h;
	int ret;

	ret = lookup_arg(c, &tok, &h);
	if (ret < 0)
		return ret;
	ret = rp_info(c->pool, h, &info);
	if (ret < 0)
		return ret;
	/* Not the handle this command holds while it looks. */
	const struct field f[] = {
		{ "id", info.id },
		{ "size", info.size },
		{ "refs", info.refs - 1 },
		{ "nslots", info.nslots },
		{ "flags", info.flags },
	};
	print_fields(f, sizeof(f) / sizeof(f[0]), c->json);
	return 0;
}

static int cmd_create(struct ctl *c)
{
	char str[33], *end;
	unsigned long long size;
	rp_token_t tok;
	rp_handle_t h;
	int ret;

	errno = 0;
	size = strtoull(c->argv[0], &end, 0);
	if (errno || *end || end == c->argv[0])
		return -EINVAL;
	ret = rp_create(c->pool, size, 0, 0, &h);
	if (ret < 0)
		return ret;
	ret = rp_pin(c->pool, h, &tok);
	if (ret < 0)
		return ret;
	rp_token_to_str(&tok, str);
	if (c->json)
		printf("{\"token\": \"%s\", \"size\": %llu}\n", str, size);
	else
		printf("%s\n", str);
	return 0;
}

static int cmd_write(struct ctl *c)
{
	unsigned long long off = 0;
	rp_token_t tok;
	rp_handle_t h;
	uint64_t len;
	char *data, *end;
	int64_t n;
	int ret;

	if (c->argc == 2) {
		errno = 0;
		off = strtoull(c->argv[1], &end, 0);
		if (errno || *end || end == c->argv[1])
			return -EINVAL;
		c->argc = 1;
	}
	ret = lookup_arg(c, &tok, &h);
	if (ret < 0)
		return ret;
	ret = slurp(stdin, MAX_INPUT_DEFAULT, &data, &len);
	if (ret < 0)
		return ret;
	n = rp_write(c->pool, h, off, data, len);
	free(data);
	return n < 0 ? (int)n : 0;
}

/* Which pids hold a handle to object @id, from debugfs' handles file. */
static void print_holders(FILE *handles, uint64_t id, int json)
{
	char line[256], comm[64];
	unsigned long long hid;
	unsigned long handle;
	int pid, n = 0;

	rewind(handles);
	if (!fgets(line, sizeof(line), handles))
		return;
	while (fgets(line, sizeof(line), handles)) {
		if (sscanf(line, "%d %63s %lu %llu", &pid, comm, &handle,
			   &hid) != 4 || hid != id)
			continue;
		if (json)
			printf("%s{\"pid\": %d, \"comm\": \"%s\", \"handle\": %lu}",
			       n ? ", " : "", pid, comm, handle);
		else
			printf("%s%d/%s", n ? "," : "", pid, comm);
		n++;
	}
	if (!n && !json)
		printf("-");
}

/* List objects (all, or the one with id @want) with their holders. */
static int list_objects(struct ctl *c, int want_one, uint64_t want)
{
	FILE *objs = fopen(DEBUGFS_DIR "/objects", "r");
	FILE *handles = fopen(DEBUGFS_DIR "/handles", "r");
	unsigned long long id, size;
	unsigned int refs, flags, nslots, links;
	char line[256];
	int n = 0, ret = 0;

	if (!objs || !handles) {
		ret = -errno;
		fprintf(stderr, "refpoolctl: %s: %s (root, debugfs mounted?)\n",
			DEBUGFS_DIR, strerror(errno));
		goto out;
	}
	if (c->json)
		printf("[");
	else
		printf("%-10s %12s %6s %-16s %6s %6s %s\n", "ID", "SIZE",
		       "REFS", "FLAGS", "SLOTS", "LINKS", "HOLDERS");
	if (!fgets(line, sizeof(line), objs))
		goto out;
	while (fgets(line, sizeof(line), objs)) {
		if (sscanf(line, "%llu %llu %u %x %u %u", &id, &size, &refs,
			   &flags, &nslots, &links) != 6)
			continue;
		if (want_one && id != want)
			continue;
		if (c->json) {
			printf("%s{\"id\": %llu, \"size\": %llu, \"refs\": %u, "
			       "\"sealed\": %s, \"interned\": %s, \"nslots\": %u, "
			       "\"links\": %u, \"holders\": [", n ? ", " : "",
			       id, size, refs,
			       flags & RP_SEALED ? "true" : "false",
			       flags & RP_INTERNED ? "true" : "false",
			       nslots, links);
			print_holders(handles, id, 1);
			printf("]}");
		} else {
			printf("%-10llu %12llu %6u %-16s %6u %6u ", id, size,
			       refs, flags & RP_INTERNED ? "sealed,interned" :
			       flags & RP_SEALED ? "sealed" : "-", nslots,
			       links);
			print_holders(handles, id, 0);
			printf("\n");
		}
		n++;
	}
	if (c->json)
		printf("]\n");
	if (want_one && !n)
		ret = -ENOENT;
out:
	if (objs)
		fclose(objs);
	if (handles)
		fclose(handles);
	return ret;
}

static int cmd_ls(struct ctl *c)
{
	return list_objects(c, 0, 0);
}

static int cmd_show(struct ctl *c)
{
	unsigned long long id;
	char *end;

	errno = 0;
	id = strtoull(c->argv[0], &end, 0);
	if (errno || *end || end == c->argv[0] || !id)
		return -EINVAL;
	return list_objects(c, 1, id);
}

static int cmd_watch(struct ctl *c)
{
	long count = c->argc > 0 ? strtol(c->argv[0], NULL, 0) : -1;
	struct rp_stats st;
	int ret, i;

	for (i = 0; count < 0 || i < count; i++) {
		ret = rp_stats(c->pool, &st);
		if (ret < 0)
			return ret;
		if (c->json)
			printf("{\"objects\": %llu, \"bytes\": %llu, "
			       "\"interned\": %llu, \"gc_runs\": %llu, "
			       "\"gc_collected\": %llu}\n",
			       (unsigned long long)st.objects,
			       (unsigned long long)st.bytes,
			       (unsigned long long)st.interned,
			       (unsigned long long)st.gc_runs,
			       (unsigned long long)st.gc_collected);
		else
			printf("objects %-10llu bytes %-14llu interned %-8llu "
			       "gc_runs %-8llu gc_collected %llu\n",
			       (unsigned long long)st.objects,
			       (unsigned long long)st.bytes,
			       (unsigned long long)st.interned,
			       (unsigned long long)st.gc_runs,
			       (unsigned long long)st.gc_collected);
		fflush(stdout);
		if (count < 0 || i + 1 < count)
			sleep(1);
	}
	return 0;
}

static int cmd_put(struct ctl *c)
{
	rp_token_t tok;
	int ret = lookup_arg(c, &tok, NULL);

	return ret < 0 ? ret : rp_unpin(c->pool, &tok);
}

static const struct command {
	const char *name;
	int (*fn)(struct ctl *c);
	int min_args, max_args;
	const char *usage;
} commands[] = {
	{ "stats", cmd_stats, 0, 0, "stats              the pool's counters and limits" },
	{ "version", cmd_version, 0, 0, "version            the module's ABI version and features" },
	{ "gc", cmd_gc, 0, 0, "gc                 run a full collection" },
	{ "ls", cmd_ls, 0, 0, "ls                 every object: id, size, refs, flags, links, holders" },
	{ "show", cmd_show, 1, 1, "show ID            one object, by id" },
	{ "watch", cmd_watch, 0, 1, "watch [COUNT]      the counters every second (COUNT times)" },
	{ "publish", cmd_publish, 0, 1, "publish [FILE]     store FILE (or stdin) sealed; print its pinned token" },
	{ "create", cmd_create, 1, 1, "create SIZE        a zero-filled object; print its pinned token" },
	{ "write", cmd_write, 1, 2, "write TOKEN [OFF]  write stdin into the object at OFF" },
	{ "cat", cmd_cat, 1, 1, "cat TOKEN          write the object's bytes to stdout" },
	{ "info", cmd_info, 1, 1, "info TOKEN         id, size, refs, slots, flags" },
	{ "put", cmd_put, 1, 1, "put TOKEN          drop the pin; the object goes with its last reference" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: refpoolctl [--json] COMMAND [ARGS]\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "The device is $REFPOOL_DEVICE, else /dev/refpool.\n"
		"Exit status: 0 success, 1 the call failed, 2 usage.\n");
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct ctl c = { .json = 0 };
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--json")) {
			c.json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "refpoolctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i < argc) {
		size_t k;

		for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
			if (!strcmp(argv[i], commands[k].name))
				cmd = &commands[k];
	}
	if (!cmd) {
		if (i < argc)
			fprintf(stderr, "refpoolctl: unknown command %s\n", argv[i]);
		usage(stderr);
		return 2;
	}
	c.argc = argc - i - 1;
	c.argv = argv + i + 1;
	if (c.argc < cmd->min_args || c.argc > cmd->max_args) {
		fprintf(stderr, "usage: refpoolctl %s\n", cmd->usage);
		return 2;
	}

	ret = rp_open(&c.pool);
	if (ret < 0) {
		fprintf(stderr, "refpoolctl: cannot open the device: %s\n",
			rp_strerror(ret));
		return 1;
	}
	ret = cmd->fn(&c);
	rp_close(c.pool);
	if (ret < 0) {
		fprintf(stderr, "refpoolctl: %s: %s\n", cmd->name,
			ret == -EINVAL && c.argc ? "bad argument (a token is 32 hex digits)" :
			rp_strerror(ret));
		return 1;
	}
	return 0;
}
