// SPDX-License-Identifier: GPL-2.0
/*
 * refpool-bench: how fast and how small refpool is, every figure a ratio to
 * something measured in the same run on the same kernel.
 *
 *   refpool-bench [--json] [--quick] [--target-ms MS] [--rounds N] [--max-rounds N]
 *                 [--sustained-ms MS] [--sustained-rounds N]
 *   refpool-bench --loop NAME ITERATIONS [--trace]    (for bench/profile)
 *
 * Two kinds of timed figures. Sustained ones are what a program's loop
 * sees: runs of at least 20,000 operations and --sustained-ms (200 ms),
 * back to back with nothing between them, so that the work each defers
 * (RCU callbacks, memcg uncharges, table resizes) runs inside it; best of
 * --sustained-rounds (5). Issue 16's goals judge those. Synchronous ones
 * follow:
 *
 * The timed loops are sized once so that one run takes about --target-ms
 * (20 ms), then run in rounds of every loop in turn, so that load on the
 * host (qemu under TCG shares its CPUs) touches every loop alike: at least
 * --rounds (12), and on a busy host more, up to --max-rounds (36), until
 * three rounds in a row improve no loop's best by 3 %. A figure is its best
 * round, a row's ratio the ratio of two such figures: many short runs find
 * the moments when qemu had a CPU to itself, where a few long ones on a
 * shared host move from one `make bench` to the next. The table shows beside a ratio the spread
 * (half the interquartile range) of the same ratio taken round by round:
 * how much noise there was. Work a run leaves behind (RCU callbacks) is let
 * finish between runs, so that it is not charged to the next one. The
 * floor is a null ioctl on /dev/refpool (an unknown command: -ENOTTY) and
 * getppid();
 * the alternatives are memfd, System V shared memory, and GEM buffers of
 * vgem (dumb buffers; PRIME export/import). Each row's goal comes from the
 * "Performance" issue.
 *
 * Needs: /dev/refpool; root for the collector rows (gc_threshold is 0 while
 * they run, then restored), for the memory rows (10^5 objects of one user:
 * max_user_bytes and max_user_objects go up to the pool's limits, then
 * back) and for drop_caches before them; vgem
 * loaded (bench/run does it in the VM) for the GEM rows. A part that cannot
 * run is reported "n/a" with the reason.
 *
 * stdout carries only a JSON document between the lines
 * REFPOOL_BENCH_JSON_BEGIN and REFPOOL_BENCH_JSON_END (bench/run takes it
 * from the VM's console; --json says so explicitly); bench/report.py draws
 * the table from it (`refpool-bench | bench/report.py -`), so the table is
 * drawn in one place. Progress goes to stderr. --quick is a smoke test: 10 ms runs,
 * 5 rounds, sustained runs of 50 ms (and 20,000 operations), 3 of them, the
 * collector up to 10^5 objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/membarrier.h>
#include <linux/udmabuf.h>
#include <linux/refpool.h>
#include <refpool.h>

#include "../tests/common.h"
#include "../tests/vgem.h"

/* The floor: a command number refpool does not have (nr past its table). */
#define RP_NULL_IOCTL	_IO(REFPOOL_IOC_MAGIC, 0xff)

#define KIB		1024ULL
#define MIB		(1024ULL * 1024)
#define PARAMS		"/sys/module/refpool/parameters/"
#define GC_PARAM	PARAMS "gc_threshold"
#define GC_DEADLINE_S	300	/* no third round of 10^6 after this */
#define JSON_BEGIN	"REFPOOL_BENCH_JSON_BEGIN"
#define JSON_END	"REFPOOL_BENCH_JSON_END"

static struct {
	double target_ns;	/* one run of a loop */
	int reps;		/* rounds, at least */
	int max_reps;		/* rounds, at most */
	double sus_ns;		/* one sustained run, at least */
	int sus_reps;		/* sustained rounds */
	bool quick;
} opt = { .target_ns = 20e6, .reps = 12, .max_reps = 36, .sus_ns = 200e6, .sus_reps = 5 };

/* Rounds in a row that must leave every best figure where it was. */
#define STABLE_ROUNDS	3

/* ---- errors and time ------------------------------------------------------ */

/*
 * Module parameters the bench changes while it runs (as root), each
 * restored at exit: the collector off for its rows, and the per-user
 * limits raised to the pool's for the memory rows' 10^5 objects.
 */
static struct saved_param {
	const char *name;
	char value[32];		/* "": not changed */
} saved_params[] = {
	{ .name = "gc_threshold" }, { .name = "max_user_bytes" }, { .name = "max_user_objects" },
};

static void restore_params(void)
{
	char path[128];
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(saved_params); i++) {
		if (!saved_params[i].value[0])
			continue;
		snprintf(path, sizeof(path), PARAMS "%s", saved_params[i].name);
		write_file(path, saved_params[i].value);
		saved_params[i].value[0] = 0;
	}
}

/* Set parameter @name to @value, keeping its value for restore_params(). */
static bool set_param(const char *name, const char *value)
{
	struct saved_param *sp = NULL;
	char path[128], old[32];
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(saved_params); i++)
		if (!strcmp(saved_params[i].name, name))
			sp = &saved_params[i];
	snprintf(path, sizeof(path), PARAMS "%s", name);
	if (!sp || !read_file(path, old, sizeof(old)) || !write_file(path, value))
		return false;
	if (!sp->value[0])
		memcpy(sp->value, old, sizeof(old));
	return true;
}

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("refpool-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);	/* atexit: the module parameters are restored */
}

/* A librefpool call (negative errno) that must succeed. */
static int64_t ok(int64_t ret, const char *what)
{
	if (ret < 0)
		die("%s: %s", what, strerror((int)-ret));
	return ret;
}

/* A libc call (-1 and errno) that must succeed. */
static long sys_ok(long ret, const char *what)
{
	if (ret == -1)
		die("%s: %s", what, strerror(errno));
	return ret;
}

static double now_ns(void);
static double t_start;

__attribute__((format(printf, 1, 2)))
static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench [%5.1fs] ", (now_ns() - t_start) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- measurements: one value per round --------------------------------------- */

#define MAX_ROUNDS	40

enum agg { AGG_MIN, AGG_MAX, AGG_MEDIAN };

/*
 * A measured figure: its value in every round, and how the rounds make one
 * figure (the best time, the best throughput, the median of memory). Rows
 * pair two series round by round, so that a ratio compares figures taken
 * moments apart, under the same load on the host.
 */
struct series {
	const char *name;	/* a string constant */
	const char *unit;	/* a string constant */
	char what[160];
	uint64_t iters;		/* per run; 0 when not a timed loop */
	enum agg agg;
	int nr;
	double v[MAX_ROUNDS];
};

static struct series all_series[96];
static int nseries;

static struct series *series_new(const char *name, const char *unit, enum agg agg,
				 uint64_t iters, const char *what)
{
	struct series *s;

	if (nseries == (int)(sizeof(all_series) / sizeof(all_series[0])))
		die("too many series");
	s = &all_series[nseries++];
	*s = (struct series){ .name = name, .unit = unit, .agg = agg, .iters = iters };
	snprintf(s->what, sizeof(s->what), "%s", what ? what : "");
	return s;
}

static void series_add(struct series *s, double v)
{
	if (s->nr == MAX_ROUNDS)
		die("%s: more than %d rounds", s->name, MAX_ROUNDS);
	s->v[s->nr++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of @n values, which it sorts in place. */
static double median_sort(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of a series' rounds (at most MAX_ROUNDS values). */
static double median(const double *v, int n)
{
	double tmp[MAX_ROUNDS];

	if (n > MAX_ROUNDS)
		die("median of %d values: at most %d", n, MAX_ROUNDS);
	if (n > 0)
		memcpy(tmp, v, n * sizeof(*v));
	return median_sort(tmp, n);
}

/* Half the interquartile range (the whole range below 4 values), over the median. */
static double spread(const double *v, int n)
{
	double tmp[MAX_ROUNDS], m = median(v, n);

	if (n < 2 || !(m > 0))
		return NAN;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	if (n < 4)
		return (tmp[n - 1] - tmp[0]) / 2 / m;
	return (tmp[(3 * n) / 4] - tmp[n / 4]) / 2 / m;
}

static double series_value(const struct series *s)
{
	double best;
	int i;

	if (!s || s->nr == 0)
		return NAN;
	if (s->agg == AGG_MEDIAN)
		return median(s->v, s->nr);
	best = s->v[0];
	for (i = 1; i < s->nr; i++)
		if (s->agg == AGG_MIN ? s->v[i] < best : s->v[i] > best)
			best = s->v[i];
	return best;
}

static struct series *series_get(const char *name)
{
	int i;

	for (i = 0; i < nseries; i++)
		if (!strcmp(all_series[i].name, name))
			return &all_series[i];
	die("no series %s", name);
}

static void series_show(const struct series *s)
{
	if (s->nr == 0)
		progress("%-22s not measured: %s", s->name, s->what);
	else
		progress("%-22s %12.1f %-7s (%s of %d; spread %.0f%%)", s->name,
			 series_value(s), s->unit,
			 s->agg == AGG_MEDIAN ? "median" : "best", s->nr,
			 100 * spread(s->v, s->nr));
}

static char notes[24][320];
static int nnotes;

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
	va_list ap;

	if (nnotes == (int)(sizeof(notes) / sizeof(notes[0])))
		return;
	va_start(ap, fmt);
	vsnprintf(notes[nnotes], sizeof(notes[0]), fmt, ap);
	va_end(ap);
	progress("note: %s", notes[nnotes]);
	nnotes++;
}

/* ---- the timing harness -------------------------------------------------- */

typedef void (*loop_fn)(uint64_t n);

static double time_loop(loop_fn fn, uint64_t n)
{
	double t0 = now_ns();

	fn(n);
	return now_ns() - t0;
}

/*
 * Between two runs: let the work a run left behind (RCU callbacks freeing
 * what it released, workqueue items) finish before the next run starts, so
 * that it is not charged to that run. membarrier(MEMBARRIER_CMD_GLOBAL)
 * waits for an RCU grace period; the sleep lets the callbacks run.
 */
static double settle_ns;	/* time spent settling, for the progress line */
static int nsettle;

static void settle(void)
{
	static bool have_membarrier = true;
	double t0 = now_ns();

	nsettle++;
	if (have_membarrier &&
	    syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == -1)
		have_membarrier = false;
	usleep(opt.target_ns / 1e3 / 10 > 2000 ? (useconds_t)(opt.target_ns / 1e3 / 10) : 2000);
	settle_ns += now_ns() - t0;
}

/*
 * How many iterations make one run last about opt.target_ns: grow from 1
 * until a run takes an eighth of that, then scale.
 */
static uint64_t calibrate(loop_fn fn)
{
	uint64_t n = 1;
	double t;

	fn(1);	/* warm up: first-touch faults, slab caches, the icache */
	for (;;) {
		t = time_loop(fn, n);
		if (t >= opt.target_ns / 8 || n >= (1ULL << 32))
			break;
		n *= t < opt.target_ns / 256 ? 16 : 4;
	}
	n = (uint64_t)((double)n * opt.target_ns / t);
	return n ? n : 1;
}

/* ---- state the loops share ------------------------------------------------ */

static struct rp_pool *pool;
static int pool_fd;
static rp_handle_t h_small;	/* 16 B, for dup/put and info */
static rp_handle_t h_sealed;	/* 16 B, sealed, for the floors of handle calls */
static rp_handle_t h_big;	/* 64 KiB, for read and write */
static rp_handle_t h_exp;	/* 4 KiB, for export/import */
static uint64_t cur_size;	/* object size of the create and intern loops */
static unsigned char *buf;	/* scratch, 1 MiB */
static unsigned char ival_hit[4096];	/* the live intern value: 'E's */
static unsigned char ival[4096];	/* fresh intern values */
static uint64_t ival_tag;	/* makes "new" intern values unique to this run */
static uint64_t ival_counter;

static rp_handle_t h_map;	/* 1 MiB, for the mapping loops */
static int dmabuf_fd = -1;	/* h_map's dma-buf */
static int udmabuf_fd = -1;	/* 1 MiB udmabuf of a memfd, if the kernel has it */
static char udmabuf_why[200] = "udmabuf not probed";
static int drm_fd = -1, drm_fd2 = -1;	/* vgem, opened twice */
static uint32_t gem_exp;		/* 4 KiB dumb buffer for PRIME */
static char drm_path[32];
static char vgem_why[200] = "vgem not probed";

/* ---- the loops ------------------------------------------------------------ */

static void loop_null_ioctl(uint64_t n)
{
	while (n--)
		if (ioctl(pool_fd, RP_NULL_IOCTL, 0) != -1 || errno != ENOTTY)
			die("null ioctl: expected ENOTTY, got %s", strerror(errno));
}

static void loop_getppid(uint64_t n)
{
	while (n--)
		syscall(SYS_getppid);
}

static void loop_dup_put(uint64_t n)
{
	rp_handle_t h;

	while (n--) {
		ok(rp_dup(pool, h_small, &h), "rp_dup");
		ok(rp_put(pool, h), "rp_put");
	}
}

/*
 * One iteration: an rp_batch() of BATCH_OPS dups of one handle, then one of
 * BATCH_OPS puts of the handles it made: 2 * BATCH_OPS operations.
 */
#define BATCH_OPS	64

/* Fill @ops with BATCH_OPS ops @op, of @handles[i] or, without it, @h. */
static void batch_fill(struct rp_op *ops, uint32_t op, const rp_handle_t *handles,
		       rp_handle_t h)
{
	int i;

	memset(ops, 0, BATCH_OPS * sizeof(*ops));
	for (i = 0; i < BATCH_OPS; i++) {
		ops[i].op = op;
		ops[i].handle = handles ? handles[i] : h;
	}
}

static void loop_batch_dup_put(uint64_t n)
{
	struct rp_op ops[BATCH_OPS];
	rp_handle_t got[BATCH_OPS];
	int i;

	while (n--) {
		batch_fill(ops, RP_OP_DUP, NULL, h_small);
		ok(rp_batch(pool, ops, BATCH_OPS), "rp_batch (dup)");
		for (i = 0; i < BATCH_OPS; i++) {
			ok(ops[i].result, "rp_batch: RP_OP_DUP");
			got[i] = ops[i].out;
		}
		batch_fill(ops, RP_OP_PUT, got, 0);
		ok(rp_batch(pool, ops, BATCH_OPS), "rp_batch (put)");
		for (i = 0; i < BATCH_OPS; i++)
			ok(ops[i].result, "rp_batch: RP_OP_PUT");
	}
}

/*
 * The floors of the handle rows: rp_seal of a sealed object looks its
 * handle up, takes and drops a call reference, and changes nothing, so
 * two of them are what any two calls on a handle cost at the least
 * (dup + put does that and changes the table), and a batch of them what
 * any batched op costs at the least.
 */
static void loop_seal_seal(uint64_t n)
{
	while (n--) {
		ok(rp_seal(pool, h_sealed), "rp_seal");
		ok(rp_seal(pool, h_sealed), "rp_seal");
	}
}

static void loop_batch_seal(uint64_t n)
{
	struct rp_op ops[BATCH_OPS];
	int i;

	while (n--) {
		batch_fill(ops, RP_OP_SEAL, NULL, h_sealed);
		ok(rp_batch(pool, ops, BATCH_OPS), "rp_batch (seal)");
		for (i = 0; i < BATCH_OPS; i++)
			ok(ops[i].result, "rp_batch: RP_OP_SEAL");
	}
}

static void loop_info(uint64_t n)
{
	struct rp_info info;

	while (n--)
		ok(rp_info(pool, h_small, &info), "rp_info");
}

static void loop_read(uint64_t n)
{
	while (n--)
		if (ok(rp_read(pool, h_big, 0, buf, cur_size), "rp_read") != (int64_t)cur_size)
			die("rp_read: short read");
}

static void loop_write(uint64_t n)
{
	while (n--)
		ok(rp_write(pool, h_big, 0, buf, cur_size), "rp_write");
}

static void loop_create_put(uint64_t n)
{
	rp_handle_t h;

	while (n--) {
		ok(rp_create(pool, cur_size, 0, 0, &h), "rp_create");
		ok(rp_put(pool, h), "rp_put");
	}
}

static void loop_memfd(uint64_t n)
{
	int fd;

	while (n--) {
		fd = sys_ok(memfd_create("bench", MFD_CLOEXEC), "memfd_create");
		sys_ok(ftruncate(fd, cur_size), "ftruncate");
		close(fd);
	}
}

static void loop_memfd_mmap(uint64_t n)
{
	void *m;
	int fd;

	while (n--) {
		fd = sys_ok(memfd_create("bench", MFD_CLOEXEC), "memfd_create");
		sys_ok(ftruncate(fd, cur_size), "ftruncate");
		m = mmap(NULL, cur_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			die("mmap memfd: %s", strerror(errno));
		*(volatile unsigned char *)m = 1;
		munmap(m, cur_size);
		close(fd);
	}
}

static void loop_shm(uint64_t n)
{
	int id;

	while (n--) {
		id = sys_ok(shmget(IPC_PRIVATE, cur_size, IPC_CREAT | 0600), "shmget");
		sys_ok(shmctl(id, IPC_RMID, NULL), "shmctl(IPC_RMID)");
	}
}

static int vgem_create(uint64_t size, uint32_t *handle)
{
	return vgem_dumb_create(drm_fd, size, handle);
}

static int vgem_destroy(uint32_t handle)
{
	return vgem_dumb_destroy(drm_fd, handle);
}

static void loop_vgem_dumb(uint64_t n)
{
	uint32_t h = 0;

	while (n--) {
		ok(vgem_create(cur_size, &h), "DRM_IOCTL_MODE_CREATE_DUMB");
		ok(vgem_destroy(h), "DRM_IOCTL_MODE_DESTROY_DUMB");
	}
}

static void loop_export_import(uint64_t n)
{
	rp_handle_t h;
	int fd;

	while (n--) {
		ok(rp_export(pool, h_exp, &fd), "rp_export");
		ok(rp_import(pool, fd, &h), "rp_import");
		close(fd);
		ok(rp_put(pool, h), "rp_put");
	}
}

static void loop_prime(uint64_t n)
{
	uint32_t h = 0;
	int fd;

	while (n--) {
		fd = ok(vgem_prime_export(drm_fd, gem_exp, O_CLOEXEC | O_RDWR),
			"DRM_IOCTL_PRIME_HANDLE_TO_FD");
		ok(vgem_prime_import(drm_fd2, fd, &h), "DRM_IOCTL_PRIME_FD_TO_HANDLE");
		close(fd);
		ok(vgem_gem_close(drm_fd2, h), "DRM_IOCTL_GEM_CLOSE");
	}
}

/* A refpool dma-buf that vgem imports: attach, sg table, DMA mapping. */
static void loop_dmabuf_prime(uint64_t n)
{
	uint32_t h = 0;
	int fd;

	while (n--) {
		ok(rp_export_dmabuf(pool, h_exp, O_CLOEXEC | O_RDWR, &fd), "rp_export_dmabuf");
		ok(vgem_prime_import(drm_fd2, fd, &h), "DRM_IOCTL_PRIME_FD_TO_HANDLE");
		close(fd);
		ok(vgem_gem_close(drm_fd2, h), "DRM_IOCTL_GEM_CLOSE");
	}
}

/* The export's share of dmabuf_prime: a dma-buf made and dropped. */
static void loop_dmabuf_export(uint64_t n)
{
	int fd;

	while (n--) {
		ok(rp_export_dmabuf(pool, h_exp, O_CLOEXEC | O_RDWR, &fd), "rp_export_dmabuf");
		close(fd);
	}
}

/* Map @len bytes of @fd shared and writable, write a byte a page, unmap. */
static void map_touch(int fd, size_t len)
{
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size_t off;

	if (m == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	for (off = 0; off < len; off += 4096)
		m[off] = (unsigned char)off;
	munmap(m, len);
}

static void loop_map_touch_rp_map(uint64_t n)
{
	unsigned char *m;
	size_t off;
	void *addr;

	while (n--) {
		ok(rp_map(pool, h_map, PROT_READ | PROT_WRITE, &addr), "rp_map");
		m = addr;
		for (off = 0; off < MIB; off += 4096)
			m[off] = (unsigned char)off;
		ok(rp_unmap(addr, MIB), "rp_unmap");
	}
}

static void loop_map_touch_dmabuf(uint64_t n)
{
	while (n--)
		map_touch(dmabuf_fd, MIB);
}

static void loop_map_touch_udmabuf(uint64_t n)
{
	while (n--)
		map_touch(udmabuf_fd, MIB);
}

static void loop_intern_hit(uint64_t n)
{
	rp_handle_t h;

	while (n--) {
		if (ok(rp_intern(pool, ival_hit, cur_size, &h), "rp_intern") != 1)
			die("rp_intern: an existing value was created anew");
		ok(rp_put(pool, h), "rp_put");
	}
}

static void loop_intern_new(uint64_t n)
{
	rp_handle_t h;

	while (n--) {
		ival_counter++;
		memcpy(ival, &ival_counter, sizeof(ival_counter));
		memcpy(ival + 8, &ival_tag, sizeof(ival_tag));
		if (ok(rp_intern(pool, ival, cur_size, &h), "rp_intern") != 0)
			die("rp_intern: a fresh value already existed");
		ok(rp_put(pool, h), "rp_put");
	}
}

/* ---- vgem ------------------------------------------------------------------ */

static void bench_vgem_open(void)
{
	int ret;

	drm_fd = vgem_open(drm_path, sizeof(drm_path));
	if (drm_fd < 0) {
		snprintf(vgem_why, sizeof(vgem_why),
			 "no vgem device in /dev/dri (load vgem: bench/run does it in the VM)");
		return;
	}
	drm_fd2 = open(drm_path, O_RDWR | O_CLOEXEC);
	if (drm_fd2 < 0) {
		snprintf(vgem_why, sizeof(vgem_why), "second open of %s: %s",
			 drm_path, strerror(errno));
		goto fail;
	}
	ret = vgem_create(4096, &gem_exp);
	if (ret < 0) {
		snprintf(vgem_why, sizeof(vgem_why),
			 "DRM_IOCTL_MODE_CREATE_DUMB on %s: %s", drm_path, strerror(-ret));
		goto fail;
	}
	vgem_why[0] = 0;
	progress("vgem at %s: dumb buffers (DRM_IOCTL_MODE_CREATE_DUMB) work", drm_path);
	return;
fail:
	close(drm_fd);
	if (drm_fd2 >= 0)
		close(drm_fd2);
	drm_fd = drm_fd2 = -1;
}

/* A 1 MiB udmabuf of a memfd, the kernel's own dma-buf of user memory. */
static void udmabuf_open(void)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = MIB };
	int dev, mfd;

	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		snprintf(udmabuf_why, sizeof(udmabuf_why),
			 "no /dev/udmabuf (CONFIG_UDMABUF): %s", strerror(errno));
		return;
	}
	mfd = sys_ok(memfd_create("bench-udmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING),
		     "memfd_create");
	sys_ok(ftruncate(mfd, MIB), "ftruncate");
	/* udmabuf wants the memfd's size fixed */
	sys_ok(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), "F_ADD_SEALS");
	c.memfd = (uint32_t)mfd;
	udmabuf_fd = ioctl(dev, UDMABUF_CREATE, &c);
	if (udmabuf_fd < 0)
		snprintf(udmabuf_why, sizeof(udmabuf_why), "UDMABUF_CREATE: %s", strerror(errno));
	else
		udmabuf_why[0] = 0;
	close(mfd);
	close(dev);
}

/* ---- the timed loops ------------------------------------------------------------ */

struct loop {
	const char *name;
	const char *what;
	loop_fn fn;
	uint64_t size;		/* cur_size while it runs */
	bool gem;		/* needs vgem */
	bool udmabuf;		/* needs /dev/udmabuf */
	bool sustained;		/* also measured sustained (a goal of issue 16 uses it) */
	unsigned int per;	/* operations an iteration (0: 1); figures are per operation */
	uint64_t n;		/* iterations a run */
	struct series *s;
	uint64_t sus_n;		/* iterations a sustained run */
	struct series *sus;	/* "sus_" name: the sustained figure */
};

#define LOOP(nm, wh, f, sz, g) { .name = nm, .what = wh, .fn = f, .size = sz, .gem = g }
/* A loop that a goal of issue 16 uses: measured synchronous and sustained. */
#define SLOOP(nm, wh, f, sz) { .name = nm, .what = wh, .fn = f, .size = sz, .sustained = true }
#define CREATE_LOOP(nm, wh, f, sz, sus) { .name = nm, .what = wh, .fn = f, .size = sz, .sustained = sus }
/* @sr: refpool's loop sustained too, @sa: the alternatives' */
#define CREATE_LOOPS(sz, tag, sr, sa) \
	CREATE_LOOP("create_put_" tag, "rp_create (zero-filled) + rp_put", loop_create_put, sz, sr), \
	CREATE_LOOP("memfd_" tag, "memfd_create + ftruncate + close", loop_memfd, sz, sa), \
	CREATE_LOOP("shm_" tag, "shmget(IPC_PRIVATE) + shmctl(IPC_RMID)", loop_shm, sz, sa), \
	LOOP("vgem_dumb_" tag, "vgem DRM_IOCTL_MODE_CREATE_DUMB + DESTROY_DUMB (8 bpp)", \
	     loop_vgem_dumb, sz, true)

static struct loop loops[] = {
	SLOOP("null_ioctl", "ioctl(/dev/refpool, unknown command) = -ENOTTY",
	      loop_null_ioctl, 0),
	LOOP("getppid", "syscall(SYS_getppid)", loop_getppid, 0, false),
	SLOOP("dup_put", "rp_dup + rp_put of one handle", loop_dup_put, 0),
	{ .name = "batch_dup_put_64",
	  .what = "rp_batch of 64 RP_OP_DUP of one handle + rp_batch of 64 RP_OP_PUT, per operation",
	  .fn = loop_batch_dup_put, .per = 2 * BATCH_OPS, .sustained = true },
	SLOOP("seal_seal", "rp_seal + rp_seal of a sealed object (two calls that only look a handle up)",
	      loop_seal_seal, 0),
	{ .name = "batch_seal_64",
	  .what = "rp_batch of 64 RP_OP_SEAL of a sealed object, per operation",
	  .fn = loop_batch_seal, .per = BATCH_OPS, .sustained = true },
	LOOP("info", "rp_info", loop_info, 0, false),
	LOOP("read_64", "rp_read 64 B", loop_read, 64, false),
	LOOP("write_64", "rp_write 64 B", loop_write, 64, false),
	LOOP("read_64k", "rp_read 64 KiB", loop_read, 64 * KIB, false),
	LOOP("write_64k", "rp_write 64 KiB", loop_write, 64 * KIB, false),
	CREATE_LOOPS(16, "16", true, true),
	CREATE_LOOPS(4 * KIB, "4k", true, false),
	SLOOP("memfd_mmap_4k", "memfd_create + ftruncate + mmap + touch + munmap + close",
	      loop_memfd_mmap, 4 * KIB),
	CREATE_LOOPS(MIB, "1m", false, false),
	LOOP("export_import", "rp_export + rp_import + close + rp_put (4 KiB object)",
	     loop_export_import, 0, false),
	LOOP("prime_export_import",
	     "vgem PRIME_HANDLE_TO_FD + PRIME_FD_TO_HANDLE (2nd open) + close + GEM_CLOSE (4 KiB)",
	     loop_prime, 0, true),
	LOOP("dmabuf_prime",
	     "rp_export_dmabuf + vgem PRIME_FD_TO_HANDLE + close + GEM_CLOSE (4 KiB object)",
	     loop_dmabuf_prime, 0, true),
	LOOP("dmabuf_export", "rp_export_dmabuf + close (4 KiB object)",
	     loop_dmabuf_export, 0, false),
	LOOP("map_touch_1m_rp_map", "rp_map 1 MiB writable + write a byte a page + rp_unmap",
	     loop_map_touch_rp_map, 0, false),
	LOOP("map_touch_1m_dmabuf",
	     "mmap of the object's dma-buf, 1 MiB writable + write a byte a page + munmap",
	     loop_map_touch_dmabuf, 0, false),
	{ .name = "map_touch_1m_udmabuf",
	  .what = "mmap of a memfd's udmabuf, 1 MiB writable + write a byte a page + munmap",
	  .fn = loop_map_touch_udmabuf, .udmabuf = true },
	SLOOP("intern_hit_16", "rp_intern of a live 16 B value + rp_put", loop_intern_hit, 16),
	LOOP("intern_hit_4k", "rp_intern of a live 4 KiB value + rp_put", loop_intern_hit, 4096, false),
	LOOP("intern_new_16", "rp_intern of a fresh 16 B value + rp_put (it dies)",
	     loop_intern_new, 16, false),
	LOOP("intern_new_4k", "rp_intern of a fresh 4 KiB value + rp_put (it dies)",
	     loop_intern_new, 4096, false),
};

#undef CREATE_LOOPS
#undef CREATE_LOOP
#undef SLOOP
#undef LOOP

static uint64_t loop_per(const struct loop *l)
{
	return l->per ? l->per : 1;
}

/*
 * Sustained figures, what a user's loop sees: the loops that issue 16's
 * goals use, each run for at least SUS_MIN_OPS operations and
 * opt.sus_ns, long enough that the work it defers (RCU callbacks freeing
 * what it released, memcg uncharges, the handle table's resizes) runs
 * inside it and is charged to it. The loops take turns, round after round,
 * with nothing between two runs: no warm-up call, no RCU wait, no sleep,
 * so what one run leaves behind lands in the next, as in a program. A
 * figure is its best of opt.sus_reps rounds. Runs only after the
 * synchronous rounds, which size them.
 */
#define SUS_MIN_OPS	20000

static void run_sustained(void)
{
	static char names[ARRAY_SIZE(loops)][48];
	const int nloops = (int)ARRAY_SIZE(loops);
	uint64_t min_iters;
	struct loop *l;
	char what[160];
	int k, rd;

	for (k = 0; k < nloops; k++) {
		l = &loops[k];
		if (!l->sustained)
			continue;
		snprintf(names[k], sizeof(names[k]), "sus_%s", l->name);
		if (!l->n) {
			l->sus = series_new(names[k], "ns/op", AGG_MIN, 0, l->s->what);
			continue;
		}
		min_iters = (SUS_MIN_OPS + loop_per(l) - 1) / loop_per(l);
		l->sus_n = (uint64_t)(opt.sus_ns / (series_value(l->s) * (double)loop_per(l)));
		if (l->sus_n < min_iters)
			l->sus_n = min_iters;
		snprintf(what, sizeof(what), "%s; sustained: runs back to back, nothing between",
			 l->what);
		l->sus = series_new(names[k], "ns/op", AGG_MIN, l->sus_n, what);
	}
	progress("sustained: %d rounds of runs of >= %.0f ms and >= %d operations, back to back",
		 opt.sus_reps, opt.sus_ns / 1e6, SUS_MIN_OPS);
	for (rd = 0; rd < opt.sus_reps; rd++) {
		for (k = 0; k < nloops; k++) {
			l = &loops[k];
			if (!l->sustained || !l->sus_n)
				continue;
			cur_size = l->size;
			series_add(l->sus, time_loop(l->fn, l->sus_n) /
					   (double)(l->sus_n * loop_per(l)));
		}
		progress("sustained round %d done", rd + 1);
	}
	for (k = 0; k < nloops; k++)
		if (loops[k].sus)
			series_show(loops[k].sus);
}

/*
 * Size every loop once, then run opt.reps rounds of every loop in turn:
 * whatever else the host runs meanwhile (qemu under TCG shares it) touches
 * all of them alike, and a row's ratio compares two runs of one round.
 */
static void run_loops(const char *no_vgem)
{
	const int nloops = (int)ARRAY_SIZE(loops);
	rp_handle_t keep16, keep4k;
	struct loop *l;
	int k, rd, stable;

	/* the values intern_hit finds, alive all along */
	ok(rp_intern(pool, ival_hit, 16, &keep16), "rp_intern");
	ok(rp_intern(pool, ival_hit, 4096, &keep4k), "rp_intern");
	for (k = 0; k < nloops; k++) {
		l = &loops[k];
		if (l->gem && no_vgem) {
			l->s = series_new(l->name, "ns/op", AGG_MIN, 0, no_vgem);
			continue;
		}
		if (l->udmabuf && udmabuf_fd < 0) {
			l->s = series_new(l->name, "ns/op", AGG_MIN, 0, udmabuf_why);
			continue;
		}
		cur_size = l->size;
		l->n = calibrate(l->fn);
		settle();
		l->s = series_new(l->name, "ns/op", AGG_MIN, l->n, l->what);
	}
	progress("%d loops sized; rounds of ~%.0f ms each", nloops, opt.target_ns / 1e6);
	/*
	 * At least opt.reps rounds; on a busy host more, up to opt.max_reps,
	 * until STABLE_ROUNDS rounds in a row improve no loop's best by more
	 * than 3 %: a best figure is only worth something once it stops moving.
	 */
	for (rd = 0, stable = 0; rd < opt.max_reps; rd++) {
		bool improved = false;
		double before, per_iter;

		for (k = 0; k < nloops; k++) {
			l = &loops[k];
			if (!l->n)
				continue;
			cur_size = l->size;
			before = series_value(l->s);
			l->fn(1);	/* untimed: what the first call after a pause costs */
			series_add(l->s, time_loop(l->fn, l->n) / (double)(l->n * loop_per(l)));
			if (rd > 0 && series_value(l->s) < before * 0.97)
				improved = true;
			/* sized on a slow first run? size it on the best one */
			per_iter = series_value(l->s) * (double)loop_per(l);
			if (opt.target_ns / per_iter > 2.0 * (double)l->n)
				l->s->iters = l->n = (uint64_t)(opt.target_ns / per_iter);
			settle();
		}
		stable = improved ? 0 : stable + 1;
		progress("round %d done%s", rd + 1, improved ? "" : " (no best moved by 3%)");
		if (rd + 1 >= opt.reps && stable >= STABLE_ROUNDS)
			break;
	}
	progress("%d rounds; settling between runs took %.1f ms on average",
		 rd < opt.max_reps ? rd + 1 : rd, settle_ns / 1e6 / (nsettle ? nsettle : 1));
	if (rd == opt.max_reps && opt.max_reps > opt.reps)
		note("the timed loops were still improving after %d rounds: the host is busy, "
		     "figures are noisy", opt.max_reps);
	for (k = 0; k < nloops; k++)
		series_show(loops[k].s);
	run_sustained();
	ok(rp_put(pool, keep16), "rp_put");
	ok(rp_put(pool, keep4k), "rp_put");
}

/* ---- the collector --------------------------------------------------------- */

/* The per-user limits up to the pool's, for as long as the bench runs. */
static bool raise_user_limits(void)
{
	char bytes[32], objects[32];

	return read_file(PARAMS "max_bytes", bytes, sizeof(bytes)) &&
	       read_file(PARAMS "max_objects", objects, sizeof(objects)) &&
	       set_param("max_user_bytes", bytes) && set_param("max_user_objects", objects);
}

/* Build @nobj / 2 two-object cycles, drop them, time one rp_gc(): ns. */
static double gc_once(uint64_t nobj, uint64_t *collected)
{
	rp_handle_t a, b;
	double t0;
	uint64_t i;

	for (i = 0; i < nobj / 2; i++) {
		ok(rp_create(pool, 0, 1, 0, &a), "rp_create (1 slot)");
		ok(rp_create(pool, 0, 1, 0, &b), "rp_create (1 slot)");
		ok(rp_link(pool, a, 0, b), "rp_link");
		ok(rp_link(pool, b, 0, a), "rp_link");
		ok(rp_put(pool, a), "rp_put");
		ok(rp_put(pool, b), "rp_put");
	}
	settle();
	t0 = now_ns();
	ok(rp_gc(pool, collected), "rp_gc");
	return now_ns() - t0;
}

/*
 * Collector time per object at 10^4, 10^5 and 10^6 garbage objects, with
 * automatic collections off. The sizes take turns, round by round, so that
 * the ratio of two sizes compares runs close in time.
 */
static void gc_measure(void)
{
	static const uint64_t sizes[3] = { 10000, 100000, 1000000 };
	static const int reps[3] = { 5, 3, 3 };
	static const char *const names[3] = { "gc_1e4", "gc_1e5", "gc_1e6" };
	int i, r, nsizes = opt.quick ? 2 : 3;
	struct series *s[3];
	char what[160];
	uint64_t got;
	double t;

	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof(what),
			 "one rp_gc over %" PRIu64 " garbage objects (two-object cycles), per object",
			 sizes[i]);
		s[i] = series_new(names[i], "ns/obj", AGG_MIN, 0, what);
	}
	if (!set_param("gc_threshold", "0")) {
		for (i = 0; i < 3; i++)
			snprintf(s[i]->what, sizeof(s[i]->what),
				 "not measured: cannot set %s to 0 (not root?)", GC_PARAM);
		note("collector rows not measured: cannot set %s to 0 (not root?)", GC_PARAM);
		return;
	}
	if (opt.quick)
		snprintf(s[2]->what, sizeof(s[2]->what), "not measured: --quick");
	ok(rp_gc(pool, NULL), "rp_gc");	/* start from a clean heap */
	sleep(1);	/* and let the frees of the memory rows finish */
	for (r = 0; r < reps[0]; r++) {
		/* a busy host makes 10^6 slow: keep `make bench` within its budget */
		if (r >= 2 && r < reps[nsizes - 1] && now_ns() - t_start > GC_DEADLINE_S * 1e9) {
			note("collector: stopped after %d rounds, %.0f s into the run (busy host)",
			     r, (now_ns() - t_start) / 1e9);
			break;
		}
		for (i = 0; i < nsizes; i++) {
			if (r >= reps[i])
				continue;
			t = gc_once(sizes[i], &got);
			progress("  rp_gc over %" PRIu64 " objects: %.1f ms, collected %" PRIu64,
				 sizes[i], t / 1e6, got);
			if (got != sizes[i])
				note("%s: rp_gc collected %" PRIu64 " objects, expected %" PRIu64,
				     names[i], got, sizes[i]);
			series_add(s[i], t / (double)sizes[i]);
		}
	}
	restore_params();
	for (i = 0; i < 3; i++)
		series_show(s[i]);
}

/* ---- kernel memory --------------------------------------------------------- */

struct mem {
	long long total, free, buffers, cached, shmem, slab;
	long long pcp;		/* free pages on per-CPU lists, kB */
};

/* Free pages parked on per-CPU lists: "count:" in /proc/zoneinfo's pagesets. */
static long long read_pcp_kb(void)
{
	long long sum = 0, v;
	char line[256];
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %lld", &v) == 1)
			sum += v;
	fclose(f);
	return sum * (sysconf(_SC_PAGESIZE) / 1024);
}

static void read_meminfo(struct mem *m)
{
	char key[64];
	long long v;
	FILE *f;

	memset(m, 0, sizeof(*m));
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fscanf(f, "%63s %lld%*[^\n]", key, &v) == 2) {
		if (!strcmp(key, "MemTotal:"))
			m->total = v;
		else if (!strcmp(key, "MemFree:"))
			m->free = v;
		else if (!strcmp(key, "Buffers:"))
			m->buffers = v;
		else if (!strcmp(key, "Cached:"))
			m->cached = v;
		else if (!strcmp(key, "Shmem:"))
			m->shmem = v;
		else if (!strcmp(key, "Slab:"))
			m->slab = v;
	}
	fclose(f);
	m->pcp = read_pcp_kb();
}

/*
 * Memory in use, in bytes, except clean file cache and free pages:
 * MemTotal - MemFree - per-CPU free pages - Buffers - (Cached - Shmem).
 * It counts slab, page tables, kernel stacks, vmalloc, percpu, anonymous
 * memory and shmem pages (a memfd's pages are Shmem, inside Cached), so
 * nothing an object costs escapes it; the page cache of the host's files
 * (read over 9p) does not count, nor do free pages that MemFree misses
 * because they wait on a CPU's list (megabytes, as much as the objects).
 */
static long long mem_used(const struct mem *m)
{
	return (m->total - m->free - m->pcp - m->buffers - (m->cached - m->shmem)) * 1024;
}

static bool can_drop_caches = true;

/* Let RCU-deferred frees finish and drop clean caches before a baseline. */
static void mem_settle(void)
{
	FILE *f;

	sync();
	if (can_drop_caches) {
		f = fopen("/proc/sys/vm/drop_caches", "w");
		if (!f || fputs("3", f) < 0 || fclose(f) != 0)
			can_drop_caches = false;
	}
	usleep(500 * 1000);
}

#define MEM_REPS 3

/* Slab caches and their memory (slabs x pages a slab), from /proc/slabinfo. */
#define MAX_SLABS	512

struct slabs {
	int n;
	char name[MAX_SLABS][40];
	long long bytes[MAX_SLABS];
};

static bool read_slabs(struct slabs *sl)
{
	long long objsize, pages, nslabs;
	char line[512], name[40];
	FILE *f = fopen("/proc/slabinfo", "r");

	sl->n = 0;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f) && sl->n < MAX_SLABS) {
		if (sscanf(line, "%39s %*d %*d %lld %*d %lld : tunables %*d %*d %*d"
			   " : slabdata %*d %lld", name, &objsize, &pages, &nslabs) != 4)
			continue;
		memcpy(sl->name[sl->n], name, sizeof(name));
		sl->bytes[sl->n++] = nslabs * pages * sysconf(_SC_PAGESIZE);
	}
	fclose(f);
	return sl->n > 0;
}

/*
 * Note the slab caches that grew most between @a and @b, per object of
 * @count: where a memory row's bytes went (SLUB may merge a cache into
 * another of its size and flags, which then shows under that one's name).
 * What meminfo's Slab grew by (@slab_growth bytes) beyond all caches is
 * kmalloc()s of whole pages, which no cache holds: the hash tables' bucket
 * arrays, and their old arrays until a grace period has passed.
 */
static void note_slab_growth(const char *row, const struct slabs *a, const struct slabs *b,
			     uint64_t count, double slab_growth)
{
	char out[400];
	double g[MAX_SLABS], caches = 0;
	int i, j, k, best, len;

	for (i = 0; i < b->n; i++) {
		g[i] = (double)b->bytes[i];
		for (j = 0; j < a->n; j++)
			if (!strcmp(a->name[j], b->name[i]))
				g[i] -= (double)a->bytes[j];
		g[i] /= (double)count;
		caches += g[i];
	}
	len = snprintf(out, sizeof(out), "%s: slab growth per object by cache:", row);
	for (k = 0; k < 6; k++) {
		best = -1;
		for (i = 0; i < b->n; i++)
			if (g[i] >= 1 && (best < 0 || g[i] > g[best]))
				best = i;
		if (best < 0)
			break;
		len += snprintf(out + len, sizeof(out) - (size_t)len, " %s %.0f B", b->name[best],
				g[best]);
		if (len >= (int)sizeof(out))
			break;
		g[best] = 0;
	}
	if (len < (int)sizeof(out))
		snprintf(out + len, sizeof(out) - (size_t)len,
			 "; in no cache (page-sized kmallocs: bucket arrays) %.0f B",
			 slab_growth / (double)count - caches);
	note("%s", out);
}

/*
 * Kernel memory per refpool object of @size bytes, @count of them at once:
 * right after the last create (@name), and at rest (@rest_name): once
 * RCU has freed what the creates replaced (bucket arrays a table outgrew).
 */
static void mem_refpool(const char *name, const char *slab_name, const char *rest_name,
			uint64_t size, uint64_t count)
{
	static struct slabs slabs[2];
	struct mem before, after, rest;
	struct series *s, *sl, *rs;
	bool have_slabs = false;
	char what[160];
	rp_handle_t *h;
	uint64_t i;
	int r;

	snprintf(what, sizeof(what),
		 "rp_create_from %" PRIu64 " B x %" PRIu64 ": growth of memory in use, per object",
		 size, count);
	s = series_new(name, "B/obj", AGG_MEDIAN, 0, what);
	sl = series_new(slab_name, "B/obj", AGG_MEDIAN, 0, "its Slab part");
	rs = series_new(rest_name, "B/obj", AGG_MEDIAN, 0,
			"the same, half a second later (RCU has freed what the creates replaced)");
	h = calloc(count, sizeof(*h));
	if (!h)
		die("out of memory");
	memset(buf, 0x5a, size);
	for (r = 0; r < MEM_REPS; r++) {
		mem_settle();
		if (r == 0)
			have_slabs = read_slabs(&slabs[0]);
		read_meminfo(&before);
		for (i = 0; i < count; i++)
			ok(rp_create_from(pool, buf, size, 0, &h[i]), "rp_create_from");
		read_meminfo(&after);
		if (r == 0 && have_slabs && read_slabs(&slabs[1]))
			note_slab_growth(name, &slabs[0], &slabs[1], count,
					 (double)(after.slab - before.slab) * 1024);
		series_add(s, (double)(mem_used(&after) - mem_used(&before)) / (double)count);
		series_add(sl, (double)(after.slab - before.slab) * 1024 / (double)count);
		mem_settle();
		read_meminfo(&rest);
		series_add(rs, (double)(mem_used(&rest) - mem_used(&before)) / (double)count);
		for (i = 0; i < count; i++)
			ok(rp_put(pool, h[i]), "rp_put");
	}
	free(h);
	series_show(s);
	series_show(sl);
	series_show(rs);
}

/* The same for memfds of @size bytes with one byte written (a page exists). */
static void mem_memfd(const char *name, const char *slab_name, uint64_t size,
		      uint64_t count)
{
	struct mem before, after;
	struct series *s, *sl;
	char what[160];
	uint64_t i;
	int *fds;
	int r;

	snprintf(what, sizeof(what),
		 "memfd_create + ftruncate %" PRIu64 " + write 1 B, x %" PRIu64 " open at once, per memfd",
		 size, count);
	s = series_new(name, "B/obj", AGG_MEDIAN, 0, what);
	sl = series_new(slab_name, "B/obj", AGG_MEDIAN, 0, "its Slab part");
	fds = calloc(count, sizeof(*fds));
	if (!fds)
		die("out of memory");
	for (r = 0; r < MEM_REPS; r++) {
		mem_settle();
		read_meminfo(&before);
		for (i = 0; i < count; i++) {
			fds[i] = sys_ok(memfd_create("bench", MFD_CLOEXEC), "memfd_create");
			sys_ok(ftruncate(fds[i], size), "ftruncate");
			if (pwrite(fds[i], "x", 1, 0) != 1)
				die("pwrite memfd: %s", strerror(errno));
		}
		read_meminfo(&after);
		series_add(s, (double)(mem_used(&after) - mem_used(&before)) / (double)count);
		series_add(sl, (double)(after.slab - before.slab) * 1024 / (double)count);
		for (i = 0; i < count; i++)
			close(fds[i]);
	}
	free(fds);
	series_show(s);
	series_show(sl);
}

/* ---- lifecycle events ---------------------------------------------------------- */

/*
 * The latency of a FREED event: from the rp_put() in this process to the
 * return of poll() on the events fd in another, against a pipe write here
 * waking a poll() on the pipe there. The waiter is one child, on the other
 * CPU, with a session of its own; each time it is told (over a pipe) what
 * to wait for, gets ready, says so, and polls. Only then, once its state in
 * /proc says it sleeps, the parent takes the time and puts (or writes);
 * the waiter takes the time as poll() returns and sends it back. The
 * object comes to the waiter with rp_send(), so that it can watch by
 * handle and put its own reference: the parent's put is the last one, and
 * the object has no token to drop on the way.
 */
struct waiter {
	pid_t pid;
	int cmd;		/* parent -> waiter: 'E' event, 'P' pipe, 'Q' quit */
	int ack;		/* waiter -> parent: ready, then the time */
	int sock;		/* the parent's end: objects for the waiter */
	int wake[2];		/* the pipe the pipe rows write */
};

static void waiter_main(struct waiter *w, int cmd, int ack, int sock, int cpu)
{
	struct rp_pool *wp;
	struct rp_event ev[4];
	struct pollfd pfd;
	rp_handle_t h;
	double t1;
	char c;

	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	ok(rp_open(&wp), "waiter: rp_open");
	while (read(cmd, &c, 1) == 1 && c != 'Q') {
		if (c == 'E') {
			ok(rp_recv(sock, wp, &h), "waiter: rp_recv");
			ok(rp_watch(wp, h, RP_EV_FREED, 1), "waiter: rp_watch");
			ok(rp_put(wp, h), "waiter: rp_put");
			pfd = (struct pollfd){ .fd = rp_events_fd(wp), .events = POLLIN };
		} else {
			pfd = (struct pollfd){ .fd = w->wake[0], .events = POLLIN };
		}
		if (write(ack, "r", 1) != 1)
			_exit(1);
		sys_ok(poll(&pfd, 1, -1), "waiter: poll");
		t1 = now_ns();
		if (c == 'E') {
			if (ok(rp_read_events(wp, ev, 4, 0), "waiter: rp_read_events") != 1)
				die("waiter: one event expected");
		} else if (read(w->wake[0], &c, 1) != 1) {
			_exit(1);
		}
		if (write(ack, &t1, sizeof(t1)) != sizeof(t1))
			_exit(1);
	}
	rp_close(wp);
	_exit(0);
}

static void waiter_start(struct waiter *w, int ncpu)
{
	int cmd[2], ack[2], sv[2];

	sys_ok(pipe(cmd), "pipe");
	sys_ok(pipe(ack), "pipe");
	sys_ok(pipe(w->wake), "pipe");
	sys_ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	w->pid = sys_ok(fork(), "fork");
	if (!w->pid) {
		close(cmd[1]);
		close(ack[0]);
		close(sv[0]);
		waiter_main(w, cmd[0], ack[1], sv[1], ncpu > 1 ? 1 : -1);
	}
	close(cmd[0]);
	close(ack[1]);
	close(sv[1]);
	w->cmd = cmd[1];
	w->ack = ack[0];
	w->sock = sv[0];
}

static void waiter_stop(struct waiter *w)
{
	if (write(w->cmd, "Q", 1) != 1)
		die("waiter: %s", strerror(errno));
	waitpid(w->pid, NULL, 0);
	close(w->cmd);
	close(w->ack);
	close(w->sock);
	close(w->wake[0]);
	close(w->wake[1]);
}

/* Whether process @pid sleeps: its state in /proc/PID/stat is 'S'. */
static bool sleeping(pid_t pid)
{
	char path[64], line[512], *p;
	bool ret = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')))
		ret = p[1] == ' ' && p[2] == 'S';
	fclose(f);
	return ret;
}

/* One wake-up through an event ('E') or a pipe ('P'): its latency, in ns. */
static double wake_once(struct waiter *w, char mode)
{
	rp_handle_t h = 0;
	double t0, t1;
	char c;

	if (mode == 'E') {
		ok(rp_create(pool, 16, 0, 0, &h), "rp_create");
		ok(rp_send(w->sock, pool, h), "rp_send");
	}
	if (write(w->cmd, &mode, 1) != 1 || read(w->ack, &c, 1) != 1)
		die("waiter: %s", strerror(errno));
	while (!sleeping(w->pid))
		sched_yield();
	t0 = now_ns();
	if (mode == 'E')
		ok(rp_put(pool, h), "rp_put");
	else if (write(w->wake[1], "w", 1) != 1)
		die("pipe: %s", strerror(errno));
	if (read(w->ack, &t1, sizeof(t1)) != sizeof(t1))
		die("waiter: %s", strerror(errno));
	return t1 - t0;
}

/*
 * Rounds of @per wake-ups of each kind, taking turns; a round's figure is
 * its median wake-up, the row's the best round, as for the timed loops.
 */
static void wake_measure(int ncpu)
{
	int per = opt.quick ? 20 : 60;
	struct series *ev, *pp;
	double e[200], q[200];
	struct waiter w;
	char what[160];
	int r, i;

	snprintf(what, sizeof(what),
		 "rp_put here -> poll() returns on the events fd in another process%s; median of %d",
		 ncpu > 1 ? " (other CPU)" : "", per);
	ev = series_new("event_wake", "ns", AGG_MIN, per, what);
	snprintf(what, sizeof(what),
		 "write(pipe) here -> poll() returns on the pipe in another process%s; median of %d",
		 ncpu > 1 ? " (other CPU)" : "", per);
	pp = series_new("pipe_wake", "ns", AGG_MIN, per, what);
	waiter_start(&w, ncpu);
	wake_once(&w, 'E');	/* warm up: the first wake-ups pay for page faults */
	wake_once(&w, 'P');
	for (r = 0; r < opt.reps; r++) {
		for (i = 0; i < per; i++) {
			e[i] = wake_once(&w, 'E');
			q[i] = wake_once(&w, 'P');
		}
		series_add(ev, median_sort(e, per));
		series_add(pp, median_sort(q, per));
		settle();
	}
	waiter_stop(&w);
	series_show(ev);
	series_show(pp);
}

/*
 * The cost of a put that frees an object with a FREED watch, against one
 * that frees an unwatched object: PUT_BATCH objects made (and watched)
 * first, then only their puts are timed. The watches are this session's;
 * nobody polls it, so the figure is the put's own work (the lookup,
 * queueing the event) and not a wake-up. The batch stays below
 * max_session_events, and the events are read after each batch, untimed.
 * PUT_STANDING watches of objects that live on stand all along, as in a
 * program that watches what it uses: without them each batch would empty
 * the watch table, and the puts would pay for shrinking it every time
 * (measured: 1.32x instead of 1.21x, in one run on a busy host).
 * Each series keeps the median of its rounds, not the best: the session's
 * handle table and the object table still shrink during a batch, in a
 * worker that sometimes runs outside the timed window, and that round
 * then takes half as long (one round in twelve, on either side: the best
 * of each made the ratio 2.0x in one run and 0.74x in another, while the
 * median of the rounds' ratios was 1.19x-1.21x).
 */
#define PUT_BATCH	2048
#define PUT_STANDING	4096

static double put_batch(bool watched)
{
	static rp_handle_t h[PUT_BATCH];
	static struct rp_event ev[PUT_BATCH];
	double t0, t;
	int i, got;

	for (i = 0; i < PUT_BATCH; i++) {
		ok(rp_create(pool, 16, 0, 0, &h[i]), "rp_create");
		if (watched)
			ok(rp_watch(pool, h[i], RP_EV_FREED, i), "rp_watch");
	}
	settle();
	t0 = now_ns();
	for (i = 0; i < PUT_BATCH; i++)
		ok(rp_put(pool, h[i]), "rp_put");
	t = now_ns() - t0;
	if (watched) {
		got = (int)ok(rp_read_events(pool, ev, PUT_BATCH, 0), "rp_read_events");
		if (got != PUT_BATCH)
			die("put_watched: %d events, not %d", got, PUT_BATCH);
	}
	settle();
	return t / PUT_BATCH;
}

static void put_measure(void)
{
	static rp_handle_t standing[PUT_STANDING];
	struct series *wd, *uw;
	int r;

	for (r = 0; r < PUT_STANDING; r++) {
		ok(rp_create(pool, 16, 0, 0, &standing[r]), "rp_create");
		/* SEALED: they go unfired when the objects go, at the end */
		ok(rp_watch(pool, standing[r], RP_EV_SEALED, r), "rp_watch");
	}
	wd = series_new("put_watched", "ns/op", AGG_MEDIAN, PUT_BATCH,
			"rp_put freeing a 16 B object with a FREED watch (the event queued)");
	uw = series_new("put_unwatched", "ns/op", AGG_MEDIAN, PUT_BATCH,
			"rp_put freeing a 16 B object nobody watches");
	put_batch(true);	/* warm up: slabs, the table's buckets */
	for (r = 0; r < opt.reps; r++) {
		series_add(wd, put_batch(true));
		series_add(uw, put_batch(false));
	}
	for (r = 0; r < PUT_STANDING; r++)
		ok(rp_put(pool, standing[r]), "rp_put");
	series_show(wd);
	series_show(uw);
}

/*
 * Kernel memory per watch: @count watches, on as many objects (the table
 * holds each, with its share of the bucket array) or all on one object
 * (its ring: no table entry but the first). The objects are made before
 * the baseline; the watches and objects are in a session of their own,
 * which then closes.
 */
static void mem_watches(const char *name, const char *slab_name, uint64_t count,
			bool one_object)
{
	struct mem before, after;
	struct rp_pool *wp;
	struct series *s, *sl;
	char what[160];
	rp_handle_t *h;
	uint64_t i, nobj = one_object ? 1 : count;
	int r;

	snprintf(what, sizeof(what), "rp_watch FREED x %" PRIu64 " %s: growth of memory in use, per watch",
		 count, one_object ? "of one object" : "of as many objects");
	s = series_new(name, "B/watch", AGG_MEDIAN, 0, what);
	sl = series_new(slab_name, "B/watch", AGG_MEDIAN, 0, "its Slab part");
	h = calloc(nobj, sizeof(*h));
	if (!h)
		die("out of memory");
	for (r = 0; r < MEM_REPS; r++) {
		ok(rp_open(&wp), "rp_open");
		for (i = 0; i < nobj; i++)
			ok(rp_create(wp, 16, 0, 0, &h[i]), "rp_create");
		mem_settle();
		read_meminfo(&before);
		for (i = 0; i < count; i++)
			ok(rp_watch(wp, h[one_object ? 0 : i], RP_EV_FREED, i), "rp_watch");
		read_meminfo(&after);
		series_add(s, (double)(mem_used(&after) - mem_used(&before)) / (double)count);
		series_add(sl, (double)(after.slab - before.slab) * 1024 / (double)count);
		rp_close(wp);
	}
	free(h);
	series_show(s);
	series_show(sl);
}

/* ---- threads ------------------------------------------------------------------ */

/* What the threads rows' pairs are: two floors, then the row itself. */
enum thr_op { THR_GETPPID, THR_NULL_IOCTL, THR_DUP_PUT, THR_OPS };

static const struct {
	const char *name, *desc;
} thr_ops[THR_OPS] = {
	[THR_GETPPID] = { "getppid", "pairs of getppid()" },
	[THR_NULL_IOCTL] = { "null_ioctl", "pairs of null ioctls" },
	[THR_DUP_PUT] = { "dup_put", "rp_dup + rp_put pairs" },
};

struct worker {
	pthread_t tid;
	int cpu;
	enum thr_op op;		/* what a pair is */
	rp_handle_t h;
	uint64_t iters;
	double t0, t1;
	int err;
};

static pthread_barrier_t start_line;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	rp_handle_t h;
	uint64_t i;
	int ret;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);	/* best effort */
	pthread_barrier_wait(&start_line);
	w->t0 = now_ns();
	for (i = 0; i < w->iters; i++) {
		if (w->op == THR_GETPPID) {
			syscall(SYS_getppid);
			syscall(SYS_getppid);
			ret = 0;
		} else if (w->op == THR_NULL_IOCTL) {
			ret = 0;
			if ((ioctl(pool_fd, RP_NULL_IOCTL, 0) != -1 || errno != ENOTTY) ||
			    (ioctl(pool_fd, RP_NULL_IOCTL, 0) != -1 || errno != ENOTTY))
				ret = errno ? -errno : -EINVAL;
		} else {
			ret = rp_dup(pool, w->h, &h);
			if (ret == 0)
				ret = rp_put(pool, h);
		}
		if (ret < 0) {
			w->err = ret;
			break;
		}
	}
	w->t1 = now_ns();
	return NULL;
}

/* dup+put pairs per second of @nthreads threads, each on its own object. */
static double threads_run(struct worker *w, int nthreads, uint64_t iters, int ncpu)
{
	double start = INFINITY, end = 0;
	int i, ret;

	if (pthread_barrier_init(&start_line, NULL, nthreads))
		die("pthread_barrier_init");
	for (i = 0; i < nthreads; i++) {
		w[i].cpu = i % ncpu;
		w[i].iters = iters;
		w[i].err = 0;
		ret = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].err)
			die("thread %d: %s: %s", i, thr_ops[w[i].op].name,
			    strerror(-w[i].err));
		if (w[i].t0 < start)
			start = w[i].t0;
		if (w[i].t1 > end)
			end = w[i].t1;
	}
	pthread_barrier_destroy(&start_line);
	return (double)nthreads * (double)iters / ((end - start) / 1e9);
}

/*
 * One kind of pair (null ioctls, or dup + put) in threads_measure(): its
 * workers and its series, synchronous and sustained, for 1 and n threads,
 * and the scaling (n threads / 1 thread) round by round.
 */
struct thr_kind {
	struct worker *w;
	uint64_t iters, sus_iters;
	struct series *one, *many, *sus_one, *sus_many, *scale, *sus_scale;
};

static void thr_kind_init(struct thr_kind *k, int nthreads, enum thr_op thr_op)
{
	const char *op = thr_ops[thr_op].name, *desc = thr_ops[thr_op].desc;
	static const char *const loop[THR_OPS] = {
		[THR_GETPPID] = "getppid", [THR_NULL_IOCTL] = "null_ioctl",
		[THR_DUP_PUT] = "dup_put",
	};
	/* what a pair took in its own loop: sizes the runs */
	double pair_ns = (thr_op == THR_DUP_PUT ? 1 : 2) *
			 series_value(series_get(loop[thr_op]));
	/* series keep their name's pointer: one set of names per kind */
	static char names[THR_OPS][6][48];
	char (*name)[48] = names[thr_op], what[6][160];
	int i;

	k->w = calloc(nthreads, sizeof(*k->w));
	if (!k->w)
		die("out of memory");
	for (i = 0; i < nthreads; i++) {
		k->w[i].op = thr_op;
		ok(rp_create(pool, 16, 0, 0, &k->w[i].h), "rp_create");
	}
	snprintf(name[0], sizeof(name[0]), "%s_1thread", op);
	snprintf(name[1], sizeof(name[1]), "%s_nthreads", op);
	snprintf(name[2], sizeof(name[2]), "sus_%s_1thread", op);
	snprintf(name[3], sizeof(name[3]), "sus_%s_nthreads", op);
	snprintf(name[4], sizeof(name[4]), "%s_scaling", op);
	snprintf(name[5], sizeof(name[5]), "sus_%s_scaling", op);
	snprintf(what[0], sizeof(what[0]), "%s per second, 1 thread", desc);
	snprintf(what[1], sizeof(what[1]),
		 "%s per second, %d threads of one session, each on its own object",
		 desc, nthreads);
	snprintf(what[2], sizeof(what[2]), "%s per second, 1 thread; sustained", desc);
	snprintf(what[3], sizeof(what[3]),
		 "%s per second, %d threads, each on its own object; sustained",
		 desc, nthreads);
	snprintf(what[4], sizeof(what[4]), "%s: throughput of %d threads / 1 thread, by round",
		 desc, nthreads);
	snprintf(what[5], sizeof(what[5]), "%s: the same, sustained", desc);
	k->iters = (uint64_t)(opt.target_ns / pair_ns);
	if (k->iters < 1000)
		k->iters = 1000;
	k->sus_iters = (uint64_t)(opt.sus_ns / pair_ns);
	if (k->sus_iters < SUS_MIN_OPS)
		k->sus_iters = SUS_MIN_OPS;
	k->one = series_new(name[0], "pairs/s", AGG_MAX, k->iters, what[0]);
	k->many = series_new(name[1], "pairs/s", AGG_MAX, k->iters, what[1]);
	k->sus_one = series_new(name[2], "pairs/s", AGG_MAX, k->sus_iters, what[2]);
	k->sus_many = series_new(name[3], "pairs/s", AGG_MAX, k->sus_iters, what[3]);
	k->scale = series_new(name[4], "x", AGG_MEDIAN, 0, what[4]);
	k->sus_scale = series_new(name[5], "x", AGG_MEDIAN, 0, what[5]);
}

/* One round of a kind: 1 thread, then n; @sus: the sustained runs. */
static void thr_kind_round(struct thr_kind *k, int nthreads, int ncpu, bool sus)
{
	double one, many;

	if (!sus)
		settle();
	one = threads_run(k->w, 1, sus ? k->sus_iters : k->iters, ncpu);
	if (!sus)
		settle();
	many = threads_run(k->w, nthreads, sus ? k->sus_iters : k->iters, ncpu);
	series_add(sus ? k->sus_one : k->one, one);
	series_add(sus ? k->sus_many : k->many, many);
	series_add(sus ? k->sus_scale : k->scale, many / one);
}

static void thr_kind_done(struct thr_kind *k, int nthreads)
{
	int i;

	for (i = 0; i < nthreads; i++)
		ok(rp_put(pool, k->w[i].h), "rp_put");
	free(k->w);
	series_show(k->one);
	series_show(k->many);
	series_show(k->sus_one);
	series_show(k->sus_many);
	series_show(k->scale);
	series_show(k->sus_scale);
}

/*
 * Throughput of 1 and of @nthreads threads, each on its own object and
 * handle of one session, making dup + put pairs; and two floors: the same
 * with pairs of null ioctls on the session's fd (what the machine gives
 * threads making system calls into refpool that do nothing, each taking a
 * reference on the shared file), and with pairs of getppid() (what it gives
 * threads making any system call at all). How well two vCPUs run together
 * moves from moment to moment (other VMs, qemu's own threads), so the
 * kinds' rounds alternate: each round measures all three, 1 thread then n,
 * and the scaling of each is kept round by round, so that the row can be
 * read against its floors of the same moments.
 */
static void threads_measure(int nthreads, int ncpu)
{
	struct thr_kind k[THR_OPS];
	int i, r;

	for (i = 0; i < THR_OPS; i++)
		thr_kind_init(&k[i], nthreads, i);
	for (i = 0; i < THR_OPS; i++)		/* warm up */
		threads_run(k[i].w, nthreads, k[i].iters / 10, ncpu);
	for (r = 0; r < opt.reps; r++)
		for (i = 0; i < THR_OPS; i++)
			thr_kind_round(&k[i], nthreads, ncpu, false);
	/* sustained, as run_sustained(): long runs, back to back */
	for (r = 0; r < opt.sus_reps; r++)
		for (i = 0; i < THR_OPS; i++)
			thr_kind_round(&k[i], nthreads, ncpu, true);
	for (i = 0; i < THR_OPS; i++)
		thr_kind_done(&k[i], nthreads);
}

/* ---- the rows: what is compared with what, against which goal ----------------- */

enum goal_kind { NO_GOAL, GOAL_LE, GOAL_GE };

/*
 * One line of the table: a figure (series a), what it is compared with
 * (series b times vs_scale), the ratio factor * a/b (or factor * b/a for a
 * speedup) of the two figures, and the goal. For a paired row (both series
 * measured round by round, side by side) the ratio is also taken round by
 * round: the spread of those ratios says how much the host's load moved
 * the figure, and their median is kept in the JSON.
 */
struct row_def {
	const char *group;
	const char *name;
	const char *a, *b;	/* the series compared */
	const char *vs;		/* how the table names b */
	double vs_scale;
	double factor;
	bool inv;		/* ratio = b / a: a speedup */
	bool paired;
	const char *ratio_def;
	enum goal_kind goal;
	double goal_value;
	bool goal_on_value;	/* the goal bounds the figure, not the ratio */
	const char *goal_unit;
	bool per_cpu;		/* "%d" in name and ratio_def; goal_value per CPU */
	bool sus;		/* also sustained: series "sus_" a and b; the goal judges it */
};

/* A row's ratio from one pair of series: the synchronous or the sustained one. */
struct row_fig {
	const struct series *a, *b;
	double value, vs_value, ratio, ratio_spread, ratio_median;
	int pairs;
	const char *why;	/* not measured: the reason */
};

struct row {
	struct row_def d;
	struct row_fig f;	/* the synchronous figure (the only one without d.sus) */
	struct row_fig sus;	/* the sustained one, with d.sus */
};

static struct row rows[48];
static int nrows;

static void row_fig(struct row_fig *f, const struct row_def *d, const char *a, const char *b)
{
	double q[MAX_ROUNDS], x, y;
	int i;

	*f = (struct row_fig){ .a = series_get(a), .b = series_get(b) };
	f->value = series_value(f->a);
	f->vs_value = series_value(f->b) * d->vs_scale;
	f->ratio = d->factor * (d->inv ? f->vs_value / f->value : f->value / f->vs_value);
	f->ratio_spread = f->ratio_median = NAN;
	if (d->paired) {
		f->pairs = f->a->nr < f->b->nr ? f->a->nr : f->b->nr;
		for (i = 0; i < f->pairs; i++) {
			x = f->a->v[i];
			y = f->b->v[i] * d->vs_scale;
			q[i] = d->factor * (d->inv ? y / x : x / y);
		}
		if (f->pairs) {
			f->ratio_median = median(q, f->pairs);
			f->ratio_spread = spread(q, f->pairs);
		}
	}
	if (f->a->nr == 0)
		f->why = f->a->what;
	else if (f->b->nr == 0)
		f->why = f->b->what;
}

static void add_row(const struct row_def *d)
{
	char sa[64], sb[64];
	struct row *r;

	if (nrows == (int)ARRAY_SIZE(rows))
		die("too many rows");
	r = &rows[nrows++];
	*r = (struct row){ .d = *d };
	if (!r->d.goal_unit)
		r->d.goal_unit = "";
	row_fig(&r->f, d, d->a, d->b);
	if (d->sus) {
		snprintf(sa, sizeof(sa), "sus_%s", d->a);
		snprintf(sb, sizeof(sb), "sus_%s", d->b);
		row_fig(&r->sus, d, sa, sb);
	}
}

/* The figure the goal judges: the sustained one where there is one. */
static const struct row_fig *judged(const struct row *r)
{
	return r->d.sus ? &r->sus : &r->f;
}

/* How many times better than the goal (>= 1: met); NAN without a goal. */
static double headroom(const struct row *r)
{
	double x = r->d.goal_on_value ? judged(r)->value : judged(r)->ratio;

	if (r->d.goal == NO_GOAL || isnan(x) || x <= 0)
		return NAN;
	return r->d.goal == GOAL_LE ? r->d.goal_value / x : x / r->d.goal_value;
}

static const char *verdict(const struct row *r)
{
	double h = headroom(r);

	if (r->d.goal == NO_GOAL)
		return "-";
	if (isnan(h))
		return "n/a";
	return h >= 1 ? "PASS" : "MISS";
}

static void goal_text(const struct row *r, char *out, size_t len)
{
	if (r->d.goal == NO_GOAL)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%s %g%s", r->d.goal == GOAL_LE ? "<=" : ">=",
			 r->d.goal_value, r->d.goal_on_value ? r->d.goal_unit : "");
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void json_key_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, ", \"%s\": ", key);
	json_str(f, v);
}

static void json_key_num(FILE *f, const char *key, double v)
{
	fprintf(f, ", \"%s\": ", key);
	json_num(f, v);
}

/* A row's figure, ratio and spread: the fields of "rows" and of their "sustained". */
static void json_row_fig(FILE *f, const struct row_fig *rf)
{
	json_key_num(f, "value", rf->value);
	json_key_num(f, "vs_value", rf->vs_value);
	json_key_num(f, "ratio", rf->ratio);
	json_key_num(f, "ratio_spread", rf->ratio_spread);
	json_key_num(f, "ratio_median_of_rounds", rf->ratio_median);
	fprintf(f, ", \"pairs\": %d", rf->pairs);
	if (rf->why)
		json_key_str(f, "why", rf->why);
}

static void print_json(FILE *f, const char *kernel, int ncpu, const char *cgroup)
{
	static const char *const aggs[] = { "best (min)", "best (max)", "median" };
	char gl[32];
	int i, j;

	fprintf(f, "%s\n{\n  \"schema\": 2,\n  \"kernel\": ", JSON_BEGIN);
	json_str(f, kernel);
	fprintf(f, ",\n  \"cpus\": %d,\n  \"target_ms\": %g,\n  \"min_rounds\": %d,\n"
		"  \"max_rounds\": %d,\n  \"sustained_ms\": %g,\n  \"sustained_rounds\": %d,\n"
		"  \"sustained_min_ops\": %d,\n  \"quick\": %s,\n",
		ncpu, opt.target_ns / 1e6, opt.reps, opt.max_reps, opt.sus_ns / 1e6, opt.sus_reps,
		SUS_MIN_OPS, opt.quick ? "true" : "false");
	fputs("  \"cgroup\": ", f);
	json_str(f, cgroup);
	fputs(",\n", f);
	fputs("  \"vgem\": ", f);
	json_str(f, vgem_why[0] ? vgem_why : drm_path);
	fputs(",\n  \"series\": [\n", f);
	for (i = 0; i < nseries; i++) {
		const struct series *s = &all_series[i];

		fputs("    {\"name\": ", f);
		json_str(f, s->name);
		json_key_num(f, "value", series_value(s));
		json_key_str(f, "unit", s->unit);
		json_key_str(f, "of_rounds", aggs[s->agg]);
		fprintf(f, ", \"iters\": %" PRIu64, s->iters);
		json_key_str(f, "what", s->what);
		fputs(", \"rounds\": [", f);
		for (j = 0; j < s->nr; j++) {
			if (j)
				fputs(", ", f);
			json_num(f, s->v[j]);
		}
		fprintf(f, "]}%s\n", i + 1 < nseries ? "," : "");
	}
	fputs("  ],\n  \"rows\": [\n", f);
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		goal_text(r, gl, sizeof(gl));
		fputs("    {\"name\": ", f);
		json_str(f, r->d.name);
		json_key_str(f, "group", r->d.group);
		json_key_str(f, "unit", r->f.a->unit);
		json_key_str(f, "vs", r->d.vs);
		json_key_str(f, "ratio_def", r->d.ratio_def);
		json_row_fig(f, &r->f);
		fputs(", \"sustained\": ", f);
		if (r->d.sus) {
			fputs("{\"series\": ", f);
			json_str(f, r->sus.a->name);
			json_key_str(f, "vs_series", r->sus.b->name);
			json_row_fig(f, &r->sus);
			fputs("}", f);
		} else {
			fputs("null", f);
		}
		json_key_str(f, "goal", gl);
		json_key_str(f, "goal_on", r->d.goal == NO_GOAL ? "" :
			     r->d.goal_on_value ? "value" : "ratio");
		json_key_str(f, "judged_on", r->d.goal == NO_GOAL ? "" :
			     r->d.sus ? "sustained" : "main");
		json_key_num(f, "headroom", headroom(r));
		json_key_str(f, "result", verdict(r));
		fprintf(f, "}%s\n", i + 1 < nrows ? "," : "");
	}
	fputs("  ],\n  \"notes\": [", f);
	for (i = 0; i < nnotes; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		json_str(f, notes[i]);
	}
	fprintf(f, "%s]\n}\n%s\n", nnotes ? "\n  " : "", JSON_END);
}

/* ---- main -------------------------------------------------------------------- */

static void usage(void)
{
	fputs("usage: refpool-bench [--json] [--quick] [--target-ms MS] [--rounds N] [--max-rounds N]\n"
	      "                     [--sustained-ms MS] [--sustained-rounds N]\n"
	      "       refpool-bench --loop NAME ITERATIONS\n", stderr);
	exit(2);
}

#define G_FLOOR		"floor"
#define G_HANDLE	"one handle"
#define G_CREATE	"create + destroy (ratio: speedup = alternative / refpool)"
#define G_SHARE		"sharing"
#define G_DMABUF	"dma-buf"
#define G_INTERN	"interning"
#define G_GC		"collector (ns per object)"
#define G_MEM		"kernel memory (bytes per object)"
#define G_THR		"threads (pairs per second)"
#define G_EVENTS	"lifecycle events"

/* A row against a floor or a peer measured round by round beside it. */
#define PAIRED(grp, sa, sb)							\
	.group = grp, .name = sa, .a = sa, .b = sb, .vs = sb, .vs_scale = 1,	\
	.factor = 1, .paired = true, .ratio_def = sa " / " sb
/* A call that makes and drops something, against two null ioctls. */
#define VS_2_NULL(grp, sa)							\
	.group = grp, .name = sa, .a = sa, .b = "null_ioctl", .vs = "2x null_ioctl", \
	.vs_scale = 2, .factor = 1, .paired = true, .ratio_def = sa " / (2 null_ioctl)"
/* A create row: the alternative's time over refpool's, a speedup. */
#define SPEEDUP(nm, sa, sb)							\
	.group = G_CREATE, .name = nm, .a = sa, .b = sb, .vs = sb,		\
	.vs_scale = 1, .factor = 1, .inv = true, .paired = true,		\
	.ratio_def = sb " / " sa

/*
 * The table's rows, in the order shown. A goal bounds the ratio (or, with
 * goal_on_value, the figure itself); the goals come from the
 * "Performance" issue. The threads row's name, definition and goal depend
 * on the CPU count: "%d" in them is the number of CPUs, and its goal is
 * goal_value per CPU.
 */
static const struct row_def row_defs[] = {
	{ PAIRED(G_FLOOR, "null_ioctl", "getppid") },

	{ VS_2_NULL(G_HANDLE, "dup_put"),
	  .goal = GOAL_LE, .goal_value = 1.5, .sus = true },
	{ .group = G_HANDLE, .name = "batch_dup_put_64", .a = "batch_dup_put_64",
	  .b = "null_ioctl", .vs = "null_ioctl", .vs_scale = 1, .factor = 1, .paired = true,
	  .ratio_def = "batch_dup_put_64 per operation / null_ioctl",
	  .goal = GOAL_LE, .goal_value = 0.25, .sus = true },
	/* The floors of the two rows above: calls that only look a handle up. */
	{ VS_2_NULL(G_HANDLE, "seal_seal"), .sus = true },
	{ .group = G_HANDLE, .name = "batch_seal_64", .a = "batch_seal_64",
	  .b = "null_ioctl", .vs = "null_ioctl", .vs_scale = 1, .factor = 1, .paired = true,
	  .ratio_def = "batch_seal_64 per operation / null_ioctl", .sus = true },
	{ PAIRED(G_HANDLE, "info", "null_ioctl") },
	{ PAIRED(G_HANDLE, "read_64", "null_ioctl") },
	{ PAIRED(G_HANDLE, "write_64", "null_ioctl") },
	{ PAIRED(G_HANDLE, "read_64k", "null_ioctl") },
	{ PAIRED(G_HANDLE, "write_64k", "null_ioctl") },

	{ SPEEDUP("create_16_vs_memfd", "create_put_16", "memfd_16"),
	  .goal = GOAL_GE, .goal_value = 3, .sus = true },
	{ SPEEDUP("create_16_vs_shm", "create_put_16", "shm_16"),
	  .goal = GOAL_GE, .goal_value = 4, .sus = true },
	{ SPEEDUP("create_16_vs_vgem", "create_put_16", "vgem_dumb_16"),
	  .goal = GOAL_GE, .goal_value = 2 },
	{ SPEEDUP("create_4k_vs_memfd_mmap", "create_put_4k", "memfd_mmap_4k"),
	  .goal = GOAL_GE, .goal_value = 3, .sus = true },
	{ SPEEDUP("create_4k_vs_memfd", "create_put_4k", "memfd_4k") },
	{ SPEEDUP("create_4k_vs_shm", "create_put_4k", "shm_4k") },
	{ SPEEDUP("create_4k_vs_vgem", "create_put_4k", "vgem_dumb_4k") },
	{ SPEEDUP("create_1m_vs_memfd", "create_put_1m", "memfd_1m") },
	{ SPEEDUP("create_1m_vs_shm", "create_put_1m", "shm_1m") },
	{ SPEEDUP("create_1m_vs_vgem", "create_put_1m", "vgem_dumb_1m") },

	{ PAIRED(G_SHARE, "export_import", "prime_export_import"),
	  .goal = GOAL_LE, .goal_value = 1 },

	{ PAIRED(G_DMABUF, "dmabuf_prime", "prime_export_import"),
	  .goal = GOAL_LE, .goal_value = 1 },
	{ PAIRED(G_DMABUF, "dmabuf_export", "export_import") },
	{ PAIRED(G_DMABUF, "map_touch_1m_dmabuf", "map_touch_1m_rp_map"),
	  .goal = GOAL_LE, .goal_value = 1.1 },
	{ .group = G_DMABUF, .name = "map_touch_1m_dmabuf_vs_udmabuf",
	  .a = "map_touch_1m_dmabuf", .b = "map_touch_1m_udmabuf",
	  .vs = "map_touch_1m_udmabuf", .vs_scale = 1, .factor = 1, .paired = true,
	  .ratio_def = "map_touch_1m_dmabuf / map_touch_1m_udmabuf" },

	{ VS_2_NULL(G_INTERN, "intern_hit_16"),
	  .goal = GOAL_LE, .goal_value = 1.7, .sus = true },
	{ VS_2_NULL(G_INTERN, "intern_hit_4k") },
	{ VS_2_NULL(G_INTERN, "intern_new_16") },
	{ VS_2_NULL(G_INTERN, "intern_new_4k") },

	{ .group = G_GC, .name = "gc_1e4", .a = "gc_1e4", .b = "null_ioctl", .vs = "null_ioctl",
	  .vs_scale = 1, .factor = 1, .ratio_def = "gc_1e4 per object / null_ioctl" },
	{ .group = G_GC, .name = "gc_1e5", .a = "gc_1e5", .b = "gc_1e4", .vs = "gc_1e4",
	  .vs_scale = 1, .factor = 10, .paired = true, .ratio_def = "time(10^5) / time(10^4)" },
	{ .group = G_GC, .name = "gc_1e6", .a = "gc_1e6", .b = "gc_1e5", .vs = "gc_1e5",
	  .vs_scale = 1, .factor = 10, .paired = true, .ratio_def = "time(10^6) / time(10^5)",
	  .goal = GOAL_LE, .goal_value = 12 },

	{ .group = G_MEM, .name = "mem_16", .a = "mem_16", .b = "mem_memfd_16", .vs = "memfd_16",
	  .vs_scale = 1, .factor = 1, .ratio_def = "mem_16 / mem_memfd_16",
	  .goal = GOAL_LE, .goal_value = 128, .goal_on_value = true, .goal_unit = " B" },
	{ .group = G_MEM, .name = "mem_16_rest", .a = "mem_16_rest", .b = "mem_16", .vs = "mem_16",
	  .vs_scale = 1, .factor = 1, .ratio_def = "mem_16_rest / mem_16: what stays once RCU has run" },
	{ .group = G_MEM, .name = "mem_4k", .a = "mem_4k", .b = "mem_memfd_4k", .vs = "memfd_4k",
	  .vs_scale = 1, .factor = 1, .ratio_def = "mem_4k / mem_memfd_4k" },

	{ PAIRED(G_EVENTS, "event_wake", "pipe_wake"),
	  .goal = GOAL_LE, .goal_value = 1.5 },
	{ PAIRED(G_EVENTS, "put_watched", "put_unwatched"),
	  .goal = GOAL_LE, .goal_value = 1.2 },
	{ .group = G_EVENTS, .name = "mem_watch", .a = "mem_watch", .b = "mem_16", .vs = "mem_16",
	  .vs_scale = 1, .factor = 1, .ratio_def = "mem_watch / mem_16",
	  .goal = GOAL_LE, .goal_value = 64, .goal_on_value = true, .goal_unit = " B" },
	{ .group = G_EVENTS, .name = "mem_watch_one_object", .a = "mem_watch_one_object",
	  .b = "mem_16", .vs = "mem_16", .vs_scale = 1, .factor = 1,
	  .ratio_def = "mem_watch_one_object / mem_16" },

	{ .group = G_THR, .name = "getppid_%dthreads", .a = "getppid_nthreads",
	  .b = "getppid_1thread", .vs = "1 thread", .vs_scale = 1, .factor = 1, .paired = true,
	  .ratio_def = "getppid(): throughput(%d threads) / throughput(1 thread)",
	  .per_cpu = true, .sus = true },
	{ .group = G_THR, .name = "null_ioctl_%dthreads", .a = "null_ioctl_nthreads",
	  .b = "null_ioctl_1thread", .vs = "1 thread", .vs_scale = 1, .factor = 1, .paired = true,
	  .ratio_def = "null ioctls: throughput(%d threads) / throughput(1 thread)",
	  .per_cpu = true, .sus = true },
	{ .group = G_THR, .name = "dup_put_%dthreads", .a = "dup_put_nthreads",
	  .b = "dup_put_1thread", .vs = "1 thread", .vs_scale = 1, .factor = 1, .paired = true,
	  .ratio_def = "throughput(%d threads) / throughput(1 thread)",
	  .goal = GOAL_GE, .goal_value = 0.8, .per_cpu = true, .sus = true },
	/* The row against its floor, round by round: 1 is as well as the machine allows. */
	{ .group = G_THR, .name = "dup_put_%dthreads_vs_floor", .a = "dup_put_scaling",
	  .b = "null_ioctl_scaling", .vs = "the floor's scaling", .vs_scale = 1, .factor = 1,
	  .paired = true, .ratio_def = "scaling of dup + put / scaling of null ioctls, by round",
	  .per_cpu = true, .sus = true },
};

#undef PAIRED
#undef VS_2_NULL
#undef SPEEDUP

static void build_rows(int ncpu)
{
	static char names[ARRAY_SIZE(row_defs)][2][80];
	struct row_def d;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(row_defs); i++) {
		d = row_defs[i];
		if (d.per_cpu) {
			snprintf(names[i][0], sizeof(names[i][0]), d.name, ncpu);
			snprintf(names[i][1], sizeof(names[i][1]), d.ratio_def, ncpu);
			d.name = names[i][0];
			d.ratio_def = names[i][1];
			d.goal_value *= ncpu;
		}
		add_row(&d);
	}
}

/*
 * --loop NAME ITERATIONS [--trace]: run one timed loop once, for bench/profile.
 * With --trace, ftrace records only while the loop runs (tracing_on is 1
 * around it, not around the setup). Prints the loop's ns per operation.
 */
#define TRACING_ON	"/sys/kernel/tracing/tracing_on"

static int loop_mode(int argc, char **argv)
{
	bool trace = argc == 5 && !strcmp(argv[4], "--trace");
	rp_handle_t keep;
	struct loop *l = NULL;
	uint64_t n;
	double t;
	unsigned i;

	if ((argc != 4 && !trace) || !(n = strtoull(argv[3], NULL, 10)))
		usage();
	for (i = 0; i < ARRAY_SIZE(loops); i++)
		if (!strcmp(loops[i].name, argv[2]))
			l = &loops[i];
	if (!l || l->gem || l->udmabuf)
		die("--loop: no loop %s (vgem and udmabuf loops excluded)", argv[2]);
	buf = aligned_alloc(4096, MIB);
	if (!buf)
		die("out of memory");
	memset(buf, 0x5a, MIB);
	memset(ival_hit, 'E', sizeof(ival_hit));
	ival_tag = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 40);
	ok(rp_open(&pool), "rp_open /dev/refpool");
	pool_fd = rp_fd(pool);
	ok(rp_create(pool, 16, 0, 0, &h_small), "rp_create");
	ok(rp_create(pool, 16, 0, RP_SEALED, &h_sealed), "rp_create (sealed)");
	ok(rp_create(pool, 64 * KIB, 0, 0, &h_big), "rp_create");
	ok(rp_create(pool, 4 * KIB, 0, 0, &h_exp), "rp_create");
	ok(rp_create(pool, MIB, 0, 0, &h_map), "rp_create");
	ok(rp_export_dmabuf(pool, h_map, O_CLOEXEC | O_RDWR, &dmabuf_fd), "rp_export_dmabuf");
	ok(rp_intern(pool, ival_hit, l->size ? l->size : 16, &keep), "rp_intern");
	cur_size = l->size;
	l->fn(n / 10 + 1);	/* warm up, untraced */
	if (trace && !write_file(TRACING_ON, "1"))
		die("%s: %s", TRACING_ON, strerror(errno));
	t = time_loop(l->fn, n);
	if (trace)
		write_file(TRACING_ON, "0");
	printf("%s %" PRIu64 " %.1f\n", l->name, n * loop_per(l), t / (double)(n * loop_per(l)));
	rp_close(pool);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t mem_count = 100000, memfd_count = 10000;
	const char *no_vgem;
	struct utsname uts;
	char kernel[200], cgroup[200];
	struct rlimit rl;
	int i, ncpu;

	if (argc > 1 && !strcmp(argv[1], "--loop"))
		return loop_mode(argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			/* the only output; the option stays for bench/run */
		} else if (!strcmp(argv[i], "--quick")) {
			opt.quick = true;
			opt.target_ns = 10e6;
			opt.reps = 5;
			opt.max_reps = 5;
			opt.sus_ns = 50e6;
			opt.sus_reps = 3;
		} else if (!strcmp(argv[i], "--sustained-ms") && i + 1 < argc) {
			opt.sus_ns = atof(argv[++i]) * 1e6;
			if (!(opt.sus_ns > 0))
				usage();
		} else if (!strcmp(argv[i], "--sustained-rounds") && i + 1 < argc) {
			opt.sus_reps = atoi(argv[++i]);
			if (opt.sus_reps < 1 || opt.sus_reps > MAX_ROUNDS)
				usage();
		} else if (!strcmp(argv[i], "--target-ms") && i + 1 < argc) {
			opt.target_ns = atof(argv[++i]) * 1e6;
			if (!(opt.target_ns > 0))
				usage();
		} else if ((!strcmp(argv[i], "--rounds") || !strcmp(argv[i], "--reps")) &&
			   i + 1 < argc) {
			opt.reps = atoi(argv[++i]);
			if (opt.reps < 1 || opt.reps > MAX_ROUNDS)
				usage();
			if (opt.max_reps < opt.reps)
				opt.max_reps = opt.reps;
		} else if (!strcmp(argv[i], "--max-rounds") && i + 1 < argc) {
			opt.max_reps = atoi(argv[++i]);
			if (opt.max_reps < 1 || opt.max_reps > MAX_ROUNDS)
				usage();
			if (opt.reps > opt.max_reps)
				opt.reps = opt.max_reps;
		} else {
			usage();
		}
	}
	t_start = now_ns();
	atexit(restore_params);
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&uts);
	snprintf(kernel, sizeof(kernel), "%s %s", uts.release, uts.version);
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	/* where memcg charges go: nowhere in the root cgroup ("0::/") */
	if (!read_file("/proc/self/cgroup", cgroup, sizeof(cgroup)))
		snprintf(cgroup, sizeof(cgroup), "unknown");
	cgroup[strcspn(cgroup, "\n")] = 0;
	if (!strcmp(cgroup, "0::/"))
		note("the bench runs in the root cgroup: no memcg charges in any figure "
		     "(bench/run puts it in a child cgroup with the memory controller)");
	/* memfds are fds: room for the memory rows' 10^4 at once */
	rl.rlim_cur = rl.rlim_max = memfd_count + 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < memfd_count + 64) {
			memfd_count = rl.rlim_cur > 1088 ? rl.rlim_cur - 64 : 1024;
			note("RLIMIT_NOFILE is %llu: memfd memory measured over %" PRIu64 " memfds",
			     (unsigned long long)rl.rlim_cur, memfd_count);
		}
	}
	buf = aligned_alloc(4096, MIB);
	if (!buf)
		die("out of memory");
	memset(buf, 0x5a, MIB);
	memset(ival_hit, 'E', sizeof(ival_hit));
	ival_tag = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 40);

	/*
	 * Stay on CPU 0: a process that has run on both vCPUs makes every
	 * munmap() send a TLB-shootdown IPI to the other one, whose qemu
	 * thread may be asleep (the threads rows pin their own threads).
	 */
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set) == -1)
			note("sched_setaffinity(CPU 0): %s", strerror(errno));
	}
	ok(rp_open(&pool), "rp_open /dev/refpool");
	pool_fd = rp_fd(pool);
	ok(rp_create(pool, 16, 0, 0, &h_small), "rp_create");
	ok(rp_create(pool, 16, 0, RP_SEALED, &h_sealed), "rp_create (sealed)");
	ok(rp_create(pool, 64 * KIB, 0, 0, &h_big), "rp_create");
	ok(rp_create(pool, 4 * KIB, 0, 0, &h_exp), "rp_create");
	ok(rp_create(pool, MIB, 0, 0, &h_map), "rp_create");
	ok(rp_export_dmabuf(pool, h_map, O_CLOEXEC | O_RDWR, &dmabuf_fd), "rp_export_dmabuf");
	bench_vgem_open();
	udmabuf_open();
	if (udmabuf_fd < 0)
		note("udmabuf row not measured: %s", udmabuf_why);
	no_vgem = vgem_why[0] ? vgem_why : NULL;
	if (no_vgem)
		note("GEM rows not measured: %s", no_vgem);
	progress("kernel %s, %d CPUs", uts.release, ncpu);

	run_loops(no_vgem);

	if (ncpu > 1) {
		threads_measure(ncpu, ncpu);
	} else {
		static const char *const none[] = {
			"null_ioctl_1thread", "null_ioctl_nthreads",
			"sus_null_ioctl_1thread", "sus_null_ioctl_nthreads",
			"dup_put_1thread", "dup_put_nthreads",
			"sus_dup_put_1thread", "sus_dup_put_nthreads",
			"null_ioctl_scaling", "sus_null_ioctl_scaling",
			"getppid_1thread", "getppid_nthreads",
			"sus_getppid_1thread", "sus_getppid_nthreads",
			"getppid_scaling", "sus_getppid_scaling",
			"dup_put_scaling", "sus_dup_put_scaling",
		};

		for (unsigned int k = 0; k < ARRAY_SIZE(none); k++)
			series_new(none[k], "pairs/s", AGG_MAX, 0, "one CPU: no parallel run");
	}

	wake_measure(ncpu);
	put_measure();

	/* 10^5 objects of one user: more than a user may hold by default */
	if (!raise_user_limits())
		note("could not raise max_user_bytes and max_user_objects to the pool's limits (not root?): "
		     "the memory rows may be refused");
	mem_refpool("mem_16", "mem_16_slab", "mem_16_rest", 16, mem_count);
	mem_refpool("mem_4k", "mem_4k_slab", "mem_4k_rest", 4096, mem_count);
	mem_memfd("mem_memfd_16", "mem_memfd_16_slab", 16, memfd_count);
	mem_watches("mem_watch", "mem_watch_slab", mem_count, false);
	mem_watches("mem_watch_one_object", "mem_watch_one_object_slab", mem_count, true);
	mem_memfd("mem_memfd_4k", "mem_memfd_4k_slab", 4096, memfd_count);
	if (!can_drop_caches)
		note("could not write /proc/sys/vm/drop_caches (not root?): memory rows are noisier");

	/* last: 10^6 objects take the most time and memory */
	gc_measure();

	build_rows(ncpu);
	print_json(stdout, kernel, ncpu, cgroup);

	ok(rp_put(pool, h_small), "rp_put");
	ok(rp_put(pool, h_sealed), "rp_put");
	ok(rp_put(pool, h_big), "rp_put");
	ok(rp_put(pool, h_exp), "rp_put");
	close(dmabuf_fd);
	if (udmabuf_fd >= 0)
		close(udmabuf_fd);
	ok(rp_put(pool, h_map), "rp_put");
	rp_close(pool);
	if (drm_fd >= 0) {
		vgem_destroy(gem_exp);
		close(drm_fd);
		close(drm_fd2);
	}
	return 0;
}
