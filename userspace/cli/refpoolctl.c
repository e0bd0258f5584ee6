// SPDX-License-Identifier: GPL-2.0
/*
 * refpoolctl: look at and drive /dev/refpool from a shell.
 *
 * A shell script shares an object through a pinned token: `publish` stores
 * a file (or stdin) as a sealed object whose token owns a reference, so it
 * outlives this process; any process of the same IPC namespace can `cat`
 * it; `put` drops the pin, and the object goes with its last reference;
 * `pins` lists the calling user's.
 *
 * `ls` and `show` read the module's debugfs files (root only): they list
 * every object, and which processes hold handles to it.
 *
 * Options may come anywhere on the line, as getopt permutes them (`stats
 * --json` and `--json stats` are the same); `--` ends them. JSON goes
 * through one writer that escapes every string: process names and other
 * text from the system may hold quotes, backslashes and control bytes.
 *
 * `dmabuf TOKEN -- CMD ARGS...` runs CMD with the object as a dma-buf on
 * fd 3, passed as systemd passes sockets, so that a program that reads its
 * fds with sd_listen_fds(3) (or LISTEN_FDS by hand) takes it: GPU, video
 * and RDMA code import a dma-buf, not a token.
 *
 * Exit status: 0 success, 1 the call failed (message on stderr), 2 usage;
 * dmabuf: CMD's, or 126 (CMD could not run) or 127 (not found).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/refpool.h>
#include "refpool.h"

#define MAX_INPUT_DEFAULT (64ULL << 20)
#define DEBUGFS_DIR "/sys/kernel/debug/refpool"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- JSON: the one writer ------------------------------------------------ */

#define JSON_MAX_DEPTH 8

/*
 * A JSON document on stdout, built value by value: objects and arrays
 * nest, members are "key": value. @first[d] says whether depth d has had a
 * member yet (for the commas); a document ends with a newline.
 */
struct json {
	int depth;
	bool first[JSON_MAX_DEPTH];
};

/* One byte of a string as JSON wants it: escaped if it must be. */
static void json_escape_byte(unsigned char ch)
{
	switch (ch) {
	case '"':
		fputs("\\\"", stdout);
		break;
	case '\\':
		fputs("\\\\", stdout);
		break;
	case '\n':
		fputs("\\n", stdout);
		break;
	case '\t':
		fputs("\\t", stdout);
		break;
	case '\r':
		fputs("\\r", stdout);
		break;
	default:
		if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
}

/* Length of the valid UTF-8 sequence at @s (1 to 4), or 0 if it is not. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and what lies past Unicode. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return n;
}

/* A JSON string: valid UTF-8 passes, a byte that is not becomes U+FFFD. */
static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", stdout);
			s++;
		} else if (n == 1) {
			json_escape_byte(*s++);
		} else {
			fwrite(s, 1, n, stdout);
			s += n;
		}
	}
	putchar('"');
}

/* Before any value: the comma and the key a member needs. */
static void json_member(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputs(", ", stdout);
		j->first[j->depth] = false;
	}
	if (key) {
		json_string(key);
		fputs(": ", stdout);
	}
}

static void json_open(struct json *j, const char *key, char bracket)
{
	json_member(j, key);
	putchar(bracket);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct json *j, char bracket)
{
	putchar(bracket);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		putchar('\n');
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	printf("%" PRIu64, v);
}

static void json_bool(struct json *j, const char *key, bool v)
{
	json_member(j, key);
	fputs(v ? "true" : "false", stdout);
}

static void json_str(struct json *j, const char *key, const char *s)
{
	json_member(j, key);
	json_string(s);
}

/* ---- Commands -------------------------------------------------------------- */

struct ctl {
	struct rp_pool *pool;
	bool json;
	bool read_only;
	uint32_t wait_for;	/* wait: RP_EV_SEALED and/or RP_EV_FREED */
	int timeout_ms;		/* wait: -1 forever */
	int argc;
	char **argv;
};

struct field {
	const char *name;
	uint64_t value;
};

/* Named numbers: one JSON object, or "name value" lines. */
static void print_fields(const struct ctl *c, const struct field *f, size_t n)
{
	struct json j = { 0 };
	size_t i;

	if (!c->json) {
		for (i = 0; i < n; i++)
			printf("%-20s %" PRIu64 "\n", f[i].name, f[i].value);
		return;
	}
	json_open(&j, NULL, '{');
	for (i = 0; i < n; i++)
		json_u64(&j, f[i].name, f[i].value);
	json_close(&j, '}');
}

/*
 * Every counter of struct rp_stats, in its order (scripts/check-stats-layout
 * holds this table to the uapi's struct refpool_stats).
 */
#define STAT(f) { #f, offsetof(struct rp_stats, f) }
static const struct stat_field {
	const char *name;
	size_t offset;
} stat_fields[] = {
	STAT(objects),
	STAT(bytes),
	STAT(interned),
	STAT(intern_hits),
	STAT(gc_runs),
	STAT(gc_collected),
	STAT(session_handles),
	STAT(max_objects),
	STAT(max_bytes),
	STAT(max_object_size),
	STAT(max_slots),
	STAT(max_user_bytes),
	STAT(user_bytes),
	STAT(intern_bytes_saved),
	STAT(gc_time_ns),
	STAT(user_objects),
	STAT(max_user_objects),
	STAT(user_pins),
	STAT(session_watches),
	STAT(session_events),
	STAT(dmabufs),
};
#undef STAT

_Static_assert(ARRAY_SIZE(stat_fields) * sizeof(uint64_t) ==
	       sizeof(struct rp_stats), "every counter is in stat_fields");

static int cmd_stats(struct ctl *c)
{
	struct field f[ARRAY_SIZE(stat_fields)];
	struct rp_stats st;
	size_t i;
	int ret = rp_stats(c->pool, &st);

	if (ret < 0)
		return ret;
	for (i = 0; i < ARRAY_SIZE(stat_fields); i++) {
		f[i].name = stat_fields[i].name;
		memcpy(&f[i].value, (const char *)&st + stat_fields[i].offset,
		       sizeof(uint64_t));
	}
	print_fields(c, f, ARRAY_SIZE(f));
	return 0;
}

static int cmd_version(struct ctl *c)
{
	struct refpool_version v = { .major = 0 };

	if (ioctl(rp_fd(c->pool), REFPOOL_IOC_VERSION, &v) < 0)
		return -errno;
	const struct field f[] = {
		{ "abi_major", v.major },
		{ "abi_minor", v.minor },
		{ "features", v.features },
	};
	print_fields(c, f, ARRAY_SIZE(f));
	return 0;
}

static int cmd_gc(struct ctl *c)
{
	uint64_t collected;
	int ret = rp_gc(c->pool, &collected);

	if (ret < 0)
		return ret;
	const struct field f[] = { { "collected", collected } };
	print_fields(c, f, 1);
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

/* Pin @h and print its token (and @size, in JSON). */
static int pin_and_print(struct ctl *c, rp_handle_t h, uint64_t size)
{
	struct json j = { 0 };
	rp_token_t tok;
	char str[33];
	int ret;

	/* The pin keeps the object once this session ends. */
	ret = rp_pin(c->pool, h, &tok);
	if (ret < 0)
		return ret;
	rp_token_to_str(&tok, str);
	if (!c->json) {
		printf("%s\n", str);
		return 0;
	}
	json_open(&j, NULL, '{');
	json_str(&j, "token", str);
	json_u64(&j, "size", size);
	json_close(&j, '}');
	return 0;
}

static int cmd_publish(struct ctl *c)
{
	const char *path = c->argc > 0 ? c->argv[0] : "-";
	struct rp_stats st;
	rp_handle_t h;
	uint64_t len;
	char *data;
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
	return pin_and_print(c, h, len);
}

static int lookup_arg(struct ctl *c, rp_token_t *tok, rp_handle_t *h)
{
	int ret;

	if (c->argc < 1)
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
	print_fields(c, f, ARRAY_SIZE(f));
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || end == s || *s == '-')
		return -EINVAL;
	*v = x;
	return 0;
}

static int cmd_create(struct ctl *c)
{
	uint64_t size;
	rp_handle_t h;
	int ret;

	ret = parse_u64(c->argv[0], &size);
	if (ret < 0)
		return ret;
	ret = rp_create(c->pool, size, 0, 0, &h);
	if (ret < 0)
		return ret;
	return pin_and_print(c, h, size);
}

static int cmd_write(struct ctl *c)
{
	uint64_t off = 0, len;
	rp_token_t tok;
	rp_handle_t h;
	char *data;
	int64_t n;
	int ret;

	if (c->argc == 2) {
		ret = parse_u64(c->argv[1], &off);
		if (ret < 0)
			return ret;
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

/*
 * One line of debugfs' handles file, "pid comm handle id": the comm is
 * what lies between the first field and the last two, spaces and all.
 */
static bool parse_holder(char *line, int *pid, char **comm,
			 unsigned long *handle, unsigned long long *id)
{
	char *first, *last, *end;

	line[strcspn(line, "\n")] = '\0';
	first = strchr(line, ' ');
	last = strrchr(line, ' ');
	if (!first || !last || last == first)
		return false;
	*last = '\0';
	end = strrchr(line, ' ');
	if (!end || end == first || sscanf(line, "%d", pid) != 1 ||
	    sscanf(end + 1, "%lu", handle) != 1 ||
	    sscanf(last + 1, "%llu", id) != 1)
		return false;
	*end = '\0';
	*comm = first + 1;
	return true;
}

/* Which processes hold a handle to object @id, from debugfs' handles file. */
static void print_holders(const struct ctl *c, struct json *j, FILE *handles,
			  uint64_t id)
{
	unsigned long long hid;
	unsigned long handle;
	char line[512], *comm;
	int pid, n = 0;

	rewind(handles);
	if (!fgets(line, sizeof(line), handles))
		return;
	while (fgets(line, sizeof(line), handles)) {
		if (!parse_holder(line, &pid, &comm, &handle, &hid) ||
		    hid != id)
			continue;
		if (c->json) {
			json_open(j, NULL, '{');
			json_u64(j, "pid", (uint64_t)pid);
			json_str(j, "comm", comm);
			json_u64(j, "handle", handle);
			json_close(j, '}');
		} else {
			printf("%s%d/%s", n ? "," : "", pid, comm);
		}
		n++;
	}
	if (!n && !c->json)
		printf("-");
}

/* List objects (all, or the one with id @want) with their holders. */
static int list_objects(struct ctl *c, bool want_one, uint64_t want)
{
	FILE *objs = fopen(DEBUGFS_DIR "/objects", "r");
	FILE *handles = fopen(DEBUGFS_DIR "/handles", "r");
	unsigned long long id, size;
	unsigned int refs, flags, nslots, links;
	struct json j = { 0 };
	char line[256];
	int n = 0, ret = 0;

	if (!objs || !handles) {
		ret = -errno;
		fprintf(stderr, "refpoolctl: %s: %s (root, debugfs mounted?)\n",
			DEBUGFS_DIR, strerror(errno));
		goto out;
	}
	if (c->json)
		json_open(&j, NULL, '[');
	else
		printf("%-10s %12s %6s %-16s %6s %6s %s\n", "ID", "SIZE",
		       "REFS", "FLAGS", "SLOTS", "LINKS", "HOLDERS");
	/* The header line. */
	if (!fgets(line, sizeof(line), objs))
		line[0] = '\0';
	while (fgets(line, sizeof(line), objs)) {
		if (sscanf(line, "%llu %llu %u %x %u %u", &id, &size, &refs,
			   &flags, &nslots, &links) != 6)
			continue;
		if (want_one && id != want)
			continue;
		if (c->json) {
			json_open(&j, NULL, '{');
			json_u64(&j, "id", id);
			json_u64(&j, "size", size);
			json_u64(&j, "refs", refs);
			json_bool(&j, "sealed", flags & REFPOOL_OBJ_SEALED);
			json_bool(&j, "interned", flags & REFPOOL_OBJ_INTERNED);
			json_u64(&j, "nslots", nslots);
			json_u64(&j, "links", links);
			json_open(&j, "holders", '[');
			print_holders(c, &j, handles, id);
			json_close(&j, ']');
			json_close(&j, '}');
		} else {
			printf("%-10llu %12llu %6u %-16s %6u %6u ", id, size,
			       refs, flags & REFPOOL_OBJ_INTERNED ? "sealed,interned" :
			       flags & REFPOOL_OBJ_SEALED ? "sealed" : "-", nslots,
			       links);
			print_holders(c, &j, handles, id);
			printf("\n");
		}
		n++;
	}
	if (c->json)
		json_close(&j, ']');
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
	return list_objects(c, false, 0);
}

static int cmd_show(struct ctl *c)
{
	uint64_t id;

	if (parse_u64(c->argv[0], &id) < 0 || !id)
		return -EINVAL;
	return list_objects(c, true, id);
}

static int cmd_watch(struct ctl *c)
{
	uint64_t count = 0;
	struct rp_stats st;
	uint64_t i;
	int ret;

	if (c->argc > 0 && parse_u64(c->argv[0], &count) < 0)
		return -EINVAL;
	for (i = 0; c->argc == 0 || i < count; i++) {
		ret = rp_stats(c->pool, &st);
		if (ret < 0)
			return ret;
		const struct field f[] = {
			{ "objects", st.objects },
			{ "bytes", st.bytes },
			{ "interned", st.interned },
			{ "gc_runs", st.gc_runs },
			{ "gc_collected", st.gc_collected },
		};
		if (c->json) {
			print_fields(c, f, ARRAY_SIZE(f));
		} else {
			size_t k;

			for (k = 0; k < ARRAY_SIZE(f); k++)
				printf("%s%s %-10" PRIu64, k ? " " : "",
				       f[k].name, f[k].value);
			printf("\n");
		}
		fflush(stdout);
		if (c->argc == 0 || i + 1 < count)
			sleep(1);
	}
	return 0;
}

/* wait's answers that are not errors of a call: exit 1, with their message. */
#define WAIT_TIMED_OUT	(-ETIMEDOUT)	/* the time ran out */
#define WAIT_NEVER	(-ECANCELED)	/* freed, so never to be sealed */

static int print_event(const struct ctl *c, const char *what, uint64_t id)
{
	struct json j = { 0 };

	if (!c->json) {
		printf("%s\n", what);
		return 0;
	}
	json_open(&j, NULL, '{');
	json_str(&j, "event", what);
	json_u64(&j, "id", id);
	json_close(&j, '}');
	return 0;
}

/*
 * Wait until the object of TOKEN is sealed or freed, as asked. The watch
 * is of both events whatever was asked: an object freed unsealed will
 * never be sealed, which is an answer too (exit 1). A token that names no
 * live object counts as freed: tokens are weak, so the kernel cannot tell
 * a freed object's token from one never published.
 */
static int cmd_wait(struct ctl *c)
{
	struct rp_event ev;
	rp_token_t tok;
	int ret;

	ret = lookup_arg(c, &tok, NULL);
	if (ret < 0)
		return ret;
	ret = rp_watch_token(c->pool, &tok, RP_EV_SEALED | RP_EV_FREED, 0);
	if (ret == -ENOENT && (c->wait_for & RP_EV_FREED))
		return print_event(c, "freed", 0);
	if (ret < 0)
		return ret;
	for (;;) {
		/* Two events at most are queued: SEALED, FREED. */
		ret = rp_read_events(c->pool, &ev, 1, c->timeout_ms);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return WAIT_TIMED_OUT;
		if (ev.events & c->wait_for)
			return print_event(c, ev.events == RP_EV_SEALED ?
					   "sealed" : "freed", ev.id);
		if (ev.events == RP_EV_FREED)
			return WAIT_NEVER;
	}
}

static int cmd_put(struct ctl *c)
{
	rp_token_t tok;
	int ret = lookup_arg(c, &tok, NULL);

	return ret < 0 ? ret : rp_unpin(c->pool, &tok);
}

/* The calling user's pins, all of them even if some come meanwhile. */
static int cmd_pins(struct ctl *c)
{
	struct rp_pin_info *pins = NULL, *bigger;
	struct json j = { 0 };
	uint32_t room = 0;
	char str[33];
	int n, i;

	for (;;) {
		n = rp_list_pins(c->pool, pins, room);
		if (n < 0 || (uint32_t)n <= room)
			break;
		room = (uint32_t)n + 16;
		bigger = realloc(pins, room * sizeof(*pins));
		if (!bigger) {
			n = -ENOMEM;
			break;
		}
		pins = bigger;
	}
	if (n < 0) {
		free(pins);
		return n;
	}
	if (c->json)
		json_open(&j, NULL, '[');
	else
		printf("%-32s %10s %12s\n", "TOKEN", "ID", "SIZE");
	for (i = 0; i < n; i++) {
		rp_token_to_str(&pins[i].token, str);
		if (c->json) {
			json_open(&j, NULL, '{');
			json_str(&j, "token", str);
			json_u64(&j, "id", pins[i].id);
			json_u64(&j, "size", pins[i].size);
			json_close(&j, '}');
		} else {
			printf("%s %10" PRIu64 " %12" PRIu64 "\n", str,
			       pins[i].id, pins[i].size);
		}
	}
	if (c->json)
		json_close(&j, ']');
	free(pins);
	return 0;
}

/* The first fd systemd passes (sd_listen_fds(3)'s SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

/*
 * Run CMD with the object's dma-buf as fd 3 and LISTEN_FDS=1, LISTEN_PID
 * its pid (this process's: exec keeps it) and LISTEN_FDNAMES, as
 * sd_listen_fds(3) wants them. The session, and its handle, end before
 * CMD runs: the dma-buf holds the object, for as long as CMD keeps fd 3
 * (or a mapping, or a device import of it).
 */
static int cmd_dmabuf(struct ctl *c)
{
	char pid[24];
	rp_token_t tok;
	rp_handle_t h;
	int fd, ret;

	ret = lookup_arg(c, &tok, &h);
	if (ret < 0)
		return ret;
	/* Not close-on-exec: it is for CMD. */
	ret = rp_export_dmabuf(c->pool, h, c->read_only ? 0 : O_RDWR, &fd);
	if (ret < 0)
		return ret;
	/* The session may be fd 3 itself: it goes first. */
	rp_close(c->pool);
	c->pool = NULL;
	if (fd != LISTEN_FDS_START) {
		if (dup2(fd, LISTEN_FDS_START) < 0)
			return -errno;
		close(fd);
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("LISTEN_FDS", "1", 1) || setenv("LISTEN_PID", pid, 1) ||
	    setenv("LISTEN_FDNAMES", "refpool-dmabuf", 1))
		return -errno;
	fflush(stdout);
	execvp(c->argv[1], c->argv + 1);
	ret = errno;
	fprintf(stderr, "refpoolctl: dmabuf: %s: %s\n", c->argv[1], strerror(ret));
	exit(ret == ENOENT ? 127 : 126);
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
	{ "pins", cmd_pins, 0, 0, "pins               the calling user's pins: token, id, size" },
	{ "wait", cmd_wait, 1, 1, "wait TOKEN --sealed|--freed [--timeout S]\n"
	  "                     until the object is sealed or freed; 1 on timeout" },
	{ "dmabuf", cmd_dmabuf, 2, 1 << 20,
	  "dmabuf TOKEN -- CMD [ARGS]  run CMD with the object as a dma-buf on fd 3\n"
	  "                   (LISTEN_FDS=1, as systemd passes fds; --read-only: not O_RDWR)" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: refpoolctl [--json] COMMAND [ARGS] [OPTIONS]\n"
		"Options may come before or after the command; -- ends them.\n"
		"commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "The device is $REFPOOL_DEVICE, else /dev/refpool.\n"
		"Exit status: 0 success, 1 the call failed, 2 usage;\n"
		"dmabuf: CMD's, or 126 (CMD could not run) or 127 (not found).\n");
}

/* wait's --timeout: seconds (a fraction too), in milliseconds. */
static int parse_timeout(const char *s, int *ms)
{
	char *end;
	double sec;

	errno = 0;
	sec = strtod(s, &end);
	if (errno || end == s || *end || !(sec >= 0) || sec * 1000 > INT_MAX)
		return -EINVAL;
	*ms = (int)(sec * 1000 + 0.5);
	return 0;
}

/*
 * Split argv into options and operands, getopt-style with permutation:
 * an option may come anywhere, "--" ends them, a lone "-" is an operand
 * (stdin). The operands are moved to the front of argv, in order; returns
 * their count, -1 to exit 0 (help) or -2 on a usage error.
 */
static int parse_args(int argc, char **argv, struct ctl *c)
{
	bool options = true;
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (options && !strcmp(a, "--")) {
			options = false;
		} else if (options && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--json")) {
				c->json = true;
			} else if (!strcmp(a, "--read-only")) {
				c->read_only = true;
			} else if (!strcmp(a, "--sealed")) {
				c->wait_for |= RP_EV_SEALED;
			} else if (!strcmp(a, "--freed")) {
				c->wait_for |= RP_EV_FREED;
			} else if (!strcmp(a, "--timeout") ||
				   !strncmp(a, "--timeout=", 10)) {
				const char *v = a[9] == '=' ? a + 10 :
						i + 1 < argc ? argv[++i] : "";

				if (parse_timeout(v, &c->timeout_ms) < 0) {
					fprintf(stderr, "refpoolctl: --timeout takes seconds, not '%s'\n", v);
					return -2;
				}
			} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
				usage(stdout);
				return -1;
			} else {
				fprintf(stderr, "refpoolctl: unknown option %s\n", a);
				usage(stderr);
				return -2;
			}
		} else {
			argv[n++] = a;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct ctl c = { .json = false, .timeout_ms = -1 };
	size_t k;
	int n, ret;

	n = parse_args(argc, argv, &c);
	if (n < 0)
		return n == -1 ? 0 : 2;
	for (k = 0; n > 0 && k < ARRAY_SIZE(commands); k++)
		if (!strcmp(argv[0], commands[k].name))
			cmd = &commands[k];
	if (!cmd) {
		if (n > 0)
			fprintf(stderr, "refpoolctl: unknown command %s\n", argv[0]);
		usage(stderr);
		return 2;
	}
	c.argc = n - 1;
	c.argv = argv + 1;
	if (c.argc < cmd->min_args || c.argc > cmd->max_args ||
	    (cmd->fn == cmd_wait) != (c.wait_for != 0) ||
	    (cmd->fn != cmd_wait && c.timeout_ms != -1)) {
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
	if (c.pool)
		rp_close(c.pool);
	fflush(stdout);
	if (cmd->fn == cmd_wait && (ret == WAIT_TIMED_OUT || ret == WAIT_NEVER)) {
		fprintf(stderr, "refpoolctl: wait: %s\n", ret == WAIT_NEVER ?
			"the object was freed unsealed" : "timed out");
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "refpoolctl: %s: %s\n", cmd->name,
			ret == -EINVAL && c.argc ? "bad argument (a token is 32 hex digits)" :
			rp_strerror(ret));
		return 1;
	}
	return 0;
}
