/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vgem, the kernel's virtual GEM driver, as a dma-buf importer and peer for
 * the dma-buf tests, the fuzzer, the fault injector and the benchmark.
 *
 * The few DRM definitions used, as in the kernel's include/uapi/drm/drm.h
 * and drm_mode.h (the host has no libdrm headers; the ioctl numbers encode
 * the struct sizes, which the asserts pin down). vgem_open() finds the vgem
 * device among /dev/dri/card*; when there is none, vgem_load() insmods
 * vgem and what it depends on from the running kernel's modules, so that a
 * program does not depend on who booted the kernel: the debug kernels have
 * vgem built in, vm-run loads it on Debian's, a plain VM may have neither.
 *
 * Every function is static inline and returns 0 (or an fd) or a negative
 * errno; none keeps state.
 */
#ifndef REFPOOL_TESTS_VGEM_H
#define REFPOOL_TESTS_VGEM_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct vgem_drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct vgem_drm_gem_close {
	uint32_t handle;
	uint32_t pad;
};

struct vgem_drm_prime_handle {
	uint32_t handle;
	uint32_t flags;		/* O_CLOEXEC | O_RDWR, for handle to fd */
	int32_t fd;
};

struct vgem_drm_mode_create_dumb {
	uint32_t height;
	uint32_t width;
	uint32_t bpp;
	uint32_t flags;
	uint32_t handle;
	uint32_t pitch;
	uint64_t size;
};

struct vgem_drm_mode_destroy_dumb {
	uint32_t handle;
};

_Static_assert(sizeof(struct vgem_drm_gem_close) == 8, "drm_gem_close");
_Static_assert(sizeof(struct vgem_drm_prime_handle) == 12, "drm_prime_handle");
_Static_assert(sizeof(struct vgem_drm_mode_create_dumb) == 32, "drm_mode_create_dumb");
/* three ints and six pointer-sized fields: padded after the ints on 64-bit */
_Static_assert(sizeof(struct vgem_drm_version) == (sizeof(void *) == 8 ? 64 : 36),
	       "drm_version");

#define DRM_IOCTL_BASE			'd'
#define DRM_IOCTL_VERSION		_IOWR(DRM_IOCTL_BASE, 0x00, struct vgem_drm_version)
#define DRM_IOCTL_GEM_CLOSE		_IOW(DRM_IOCTL_BASE, 0x09, struct vgem_drm_gem_close)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD	_IOWR(DRM_IOCTL_BASE, 0x2d, struct vgem_drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE	_IOWR(DRM_IOCTL_BASE, 0x2e, struct vgem_drm_prime_handle)
#define DRM_IOCTL_MODE_CREATE_DUMB	_IOWR(DRM_IOCTL_BASE, 0xB2, struct vgem_drm_mode_create_dumb)
#define DRM_IOCTL_MODE_DESTROY_DUMB	_IOWR(DRM_IOCTL_BASE, 0xB4, struct vgem_drm_mode_destroy_dumb)

static inline int vgem_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : ret;
}

/* Open /dev/dri/cardN if it is vgem: the fd, or a negative errno. */
static inline int vgem_open_card(int n, char *path, size_t path_len)
{
	struct vgem_drm_version v;
	char name[32];
	int fd;

	snprintf(path, path_len, "/dev/dri/card%d", n);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&v, 0, sizeof(v));
	memset(name, 0, sizeof(name));
	v.name_len = sizeof(name) - 1;
	v.name = name;
	if (vgem_ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 && !strcmp(name, "vgem"))
		return fd;
	close(fd);
	return -ENODEV;
}

/*
 * The first vgem device: an fd (O_RDWR, close-on-exec) and its path in
 * @path, or -ENODEV. Each call opens a new DRM file (its own GEM handles).
 */
static inline int vgem_open(char *path, size_t path_len)
{
	int i, fd;

	for (i = 0; i < 16; i++) {
		fd = vgem_open_card(i, path, path_len);
		if (fd >= 0)
			return fd;
	}
	return -ENODEV;
}

/* A file named @name.ko (or .ko.xz, .ko.zst...; '-' or '_') under @dir. */
static inline int vgem_find_ko(const char *dir, const char *name, char *out,
			       size_t len, int depth)
{
	char alt[64], path[512];
	struct dirent *e;
	size_t n = strlen(name);
	DIR *d;
	int ret = -ENOENT;

	if (depth > 8 || n + 1 > sizeof(alt))
		return -ENOENT;
	memcpy(alt, name, n + 1);
	for (char *c = alt; *c; c++)
		if (*c == '_')
			*c = '-';
	d = opendir(dir);
	if (!d)
		return -errno;
	while (ret && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((!strncmp(e->d_name, name, n) || !strncmp(e->d_name, alt, n)) &&
		    !strncmp(e->d_name + n, ".ko", 3) &&
		    (e->d_name[n + 3] == '\0' || e->d_name[n + 3] == '.')) {
			snprintf(out, len, "%s", path);
			ret = 0;
		} else if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
			struct stat st;

			if (e->d_type == DT_DIR ||
			    (!stat(path, &st) && S_ISDIR(st.st_mode)))
				ret = vgem_find_ko(path, name, out, len, depth + 1);
		}
	}
	closedir(d);
	return ret;
}

/* Run a program and wait: its exit status, or a negative errno. */
static inline int vgem_run(char *const argv[], int out_fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(out_fd >= 0 ? out_fd : null, 1);
			dup2(null, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

/* Where kmod's @name is: 0 and its path in @path, or -ENOENT. */
static inline int vgem_tool(const char *name, char *path, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	unsigned int i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, len, "%s/%s", dirs[i], name);
		if (!access(path, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* The module file of @name: first where DRM's live, then anywhere. */
static inline int vgem_find_module(const char *kdir, const char *name,
				   char *out, size_t len)
{
	char gpu[512];

	snprintf(gpu, sizeof(gpu), "%s/drivers/gpu", kdir);
	if (!vgem_find_ko(gpu, name, out, len, 0))
		return 0;
	return vgem_find_ko(kdir, name, out, len, 0);
}

/* Insmod module @name from @kdir after what it depends on (modinfo). */
static inline int vgem_insmod(const char *kdir, const char *name, int depth)
{
	char ko[512], deps[512], sys[128], modinfo[64], insmod[64];
	int pfd[2], ret;
	ssize_t n;

	snprintf(sys, sizeof(sys), "/sys/module/%s", name);
	if (!access(sys, F_OK))
		return 0;
	if (depth > 16)
		return -ELOOP;
	if (vgem_tool("modinfo", modinfo, sizeof(modinfo)) ||
	    vgem_tool("insmod", insmod, sizeof(insmod)))
		return -ENOENT;
	ret = vgem_find_module(kdir, name, ko, sizeof(ko));
	if (ret)
		return ret;
	if (pipe(pfd))
		return -errno;
	{
		char *argv[] = { modinfo, "-F", "depends", ko, NULL };

		ret = vgem_run(argv, pfd[1]);
	}
	close(pfd[1]);
	n = read(pfd[0], deps, sizeof(deps) - 1);
	close(pfd[0]);
	if (ret)
		return ret < 0 ? ret : -EIO;
	deps[n > 0 ? n : 0] = '\0';
	for (char *save = NULL, *dep = strtok_r(deps, ",\n", &save); dep;
	     dep = strtok_r(NULL, ",\n", &save)) {
		ret = vgem_insmod(kdir, dep, depth + 1);
		if (ret)
			return ret;
	}
	{
		char *argv[] = { insmod, ko, NULL };

		ret = vgem_run(argv, -1);
	}
	/* Loaded meanwhile by someone else is as good. */
	if (ret && access(sys, F_OK))
		return ret < 0 ? ret : -EIO;
	return 0;
}

/*
 * Load vgem (root only) from the running kernel's modules: those under
 * /lib/modules/RELEASE, or, in the project's VM, the unpacked kernel
 * package in $REFPOOL_CACHE/vm/RELEASE. 0 once /dev/dri/card* appears.
 */
static inline int vgem_load(void)
{
	char kdir[512], path[32];
	const char *cache = getenv("REFPOOL_CACHE");
	struct utsname u;
	int i, ret, fd;

	fd = vgem_open(path, sizeof(path));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (uname(&u))
		return -errno;
	snprintf(kdir, sizeof(kdir), "/lib/modules/%s/kernel", u.release);
	ret = vgem_insmod(kdir, "vgem", 0);
	if (ret && cache && *cache) {
		snprintf(kdir, sizeof(kdir), "%s/vm/%s/lib/modules/%s/kernel",
			 cache, u.release, u.release);
		ret = vgem_insmod(kdir, "vgem", 0);
	}
	if (ret)
		return ret;
	/* devtmpfs makes the node once vgem has registered */
	for (i = 0; i < 100; i++) {
		fd = vgem_open(path, sizeof(path));
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(20000);
	}
	return -ENODEV;
}

/* A dumb buffer of at least @size bytes: 8 bpp, up to 4096 pixels a row. */
static inline int vgem_dumb_create(int fd, uint64_t size, uint32_t *handle)
{
	struct vgem_drm_mode_create_dumb c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.bpp = 8;
	c.width = size < 4096 ? (uint32_t)size : 4096;
	c.height = (uint32_t)((size + c.width - 1) / c.width);
	ret = vgem_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	if (ret)
		return ret;
	*handle = c.handle;
	return 0;
}

static inline int vgem_dumb_destroy(int fd, uint32_t handle)
{
	struct vgem_drm_mode_destroy_dumb d = { .handle = handle };

	return vgem_ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
}

/* PRIME export of a GEM handle: a dma-buf fd, or a negative errno. */
static inline int vgem_prime_export(int fd, uint32_t handle, uint32_t flags)
{
	struct vgem_drm_prime_handle args = { .handle = handle, .flags = flags, .fd = -1 };
	int ret = vgem_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &args);

	return ret ? ret : args.fd;
}

/* PRIME import of a dma-buf fd: a GEM handle of @fd's DRM file. */
static inline int vgem_prime_import(int fd, int dmabuf, uint32_t *handle)
{
	struct vgem_drm_prime_handle args = { .fd = dmabuf };
	int ret = vgem_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &args);

	if (ret)
		return ret;
	*handle = args.handle;
	return 0;
}

static inline int vgem_gem_close(int fd, uint32_t handle)
{
	struct vgem_drm_gem_close args = { .handle = handle };

	return vgem_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &args);
}

#endif /* REFPOOL_TESTS_VGEM_H */
