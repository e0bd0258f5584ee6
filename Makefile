# SPDX-License-Identifier: GPL-2.0
#
# refpool: `make` builds the module, the library, the CLI and the selftests;
# `make help` lists every target. A target's description is the "## " comment
# on its rule line, which `make help` prints: a .PHONY target without one
# makes `make help` fail, so the list cannot fall behind the Makefile.
#
# The module builds against /lib/modules/$(uname -r)/build when it exists (a
# real machine, for insmod), else against the headers of the kernel the VM
# boots; KDIR= overrides. scripts/env.sh knows the paths; scripts/setup
# installs what is missing.

VERSION := 0.2.0
SOVERSION := 0

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

KDIR ?= $(shell scripts/env.sh --print KDIR 2>/dev/null)
KSRC ?= $(shell scripts/env.sh --print KSRC 2>/dev/null)

CC ?= cc
AR ?= ar
USER_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -D_GNU_SOURCE \
	-Iuapi -Iuserspace/include $(CFLAGS)

LIB_SRCS := userspace/lib/refpool.c userspace/lib/share.c userspace/lib/token.c \
	userspace/lib/model.c userspace/lib/events.c userspace/lib/strerror.c
LIB_OBJS := $(LIB_SRCS:.c=.o)
LIB_A := userspace/lib/librefpool.a
LIB_SO := userspace/lib/librefpool.so.$(VERSION)
LIB_MAP := userspace/lib/librefpool.map
CLI := userspace/cli/refpoolctl
DEMO := userspace/demo/refpool-demo
PC := userspace/lib/refpool.pc

.PHONY: all module lib cli demo-prog selftests install uninstall check demo \
	setup clean help

# ---- build: the module, the library, the CLI, the demo, the selftests --------

all: module lib cli demo-prog selftests ## (the default) everything below in this section

# Every .PHONY target with its "## " text, under the "# ---- NAME ----" line
# of its section; the targets without one are named on stderr, and fail it.
help: ## this list
	@awk 'function flush() { if (sec != "" && body != "") printf "\n%s:\n%s", sec, body; body = "" } \
	/^# ---- end / { next } \
	/^# ---- / { flush(); sec = $$0; sub(/^# ---- /, "", sec); sub(/ -*$$/, "", sec); next } \
	/^\.PHONY:/ { phony = 1 } \
	phony { line = $$0; sub(/^\.PHONY:/, "", line); sub(/\\$$/, "", line); \
		n = split(line, t, /[ \t]+/); for (i = 1; i <= n; i++) if (t[i] != "") want[t[i]] = 1; \
		if ($$0 !~ /\\$$/) phony = 0; next } \
	/^[A-Za-z0-9_.-]+:.*## / { name = $$0; sub(/:.*/, "", name); text = $$0; sub(/^[^#]*## /, "", text); \
		body = body sprintf("  make %-16s %s\n", name, text); done[name] = 1 } \
	END { flush(); for (w in want) if (!(w in done)) { print "help: no \"## \" description for " w > "/dev/stderr"; bad = 1 } \
		exit bad }' $(firstword $(MAKEFILE_LIST))

module: ## the module only (KDIR= chooses the kernel build tree)
	@test -n "$(KDIR)" || { echo "no kernel build tree: run scripts/setup (as root) or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib: $(LIB_A) $(LIB_SO) $(PC) ## librefpool.a, librefpool.so, refpool.pc

userspace/lib/%.o: userspace/lib/%.c userspace/lib/internal.h \
		userspace/include/refpool.h uapi/linux/refpool.h
	$(CC) $(USER_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) $(LIB_MAP)
	$(CC) -shared -o $@ $(LIB_OBJS) -Wl,-soname,librefpool.so.$(SOVERSION) \
		-Wl,--version-script=$(LIB_MAP) -Wl,-z,defs $(LDFLAGS)
	ln -sf librefpool.so.$(VERSION) userspace/lib/librefpool.so.$(SOVERSION)
	ln -sf librefpool.so.$(SOVERSION) userspace/lib/librefpool.so

make_pc = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	userspace/lib/refpool.pc.in > $(1)

$(PC): userspace/lib/refpool.pc.in Makefile
	$(call make_pc,$@)

cli: $(CLI) ## refpoolctl

$(CLI): $(wildcard userspace/cli/*.c userspace/cli/*.h) $(LIB_A)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_A)

demo-prog: $(DEMO) ## userspace/demo/refpool-demo

$(DEMO): userspace/demo/refpool-demo.c $(LIB_A)
	$(CC) $(USER_CFLAGS) -o $@ $< $(LIB_A)

selftests: $(LIB_A) ## the kselftest programs (selftests/), 64- and 32-bit (selftests/m32/)
	@test -n "$(KSRC)" || { echo "no kernel source: run scripts/setup (as root)" >&2; exit 1; }
	$(MAKE) -C selftests KSRC=$(KSRC)

# ---- install (PREFIX=, DESTDIR=) ----------------------------------------------

install: lib cli ## library, header, pkg-config file, CLI, man pages, udev rule
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 644 userspace/include/refpool.h $(DESTDIR)$(INCLUDEDIR)/refpool.h
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/librefpool.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/librefpool.so.$(VERSION)
	ln -sf librefpool.so.$(VERSION) $(DESTDIR)$(LIBDIR)/librefpool.so.$(SOVERSION)
	ln -sf librefpool.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/librefpool.so
	@# made here, not from $(PC): that one has the PREFIX of the last build
	$(call make_pc,$(DESTDIR)$(LIBDIR)/pkgconfig/refpool.pc)
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/refpool.pc
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/refpoolctl

uninstall: ## what make install installed
	rm -f $(DESTDIR)$(INCLUDEDIR)/refpool.h $(DESTDIR)$(LIBDIR)/librefpool.* \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/refpool.pc $(DESTDIR)$(BINDIR)/refpoolctl

# ---- set-up and the checks ---------------------------------------------------

# Set-up installs from Debian's packages and needs root; it is quick when
# everything is there already.
setup: ## (root) install what is missing from Debian's packages, unpack the VM's kernel
	scripts/setup

# The VM boots Debian's kernel: build the module for it, whatever KDIR says.
VM_KDIR = $(shell scripts/env.sh --print VM_KDIR)

# The static checks come first: a change that fails them does not land.
# make check tests the test build of the module, with its delay points
# (module/hooks.h); a plain `make module` has none.
check: export REFPOOL_TEST_HOOKS = 1
check: setup ## lint, build, packaging checks, the selftests (64- and 32-bit), then the Python binding's tests, in the VM
	scripts/lint
	$(MAKE) all KDIR=$(VM_KDIR)
	scripts/check-packaging
	scripts/check
	scripts/python-test

demo: setup ## build everything and show refpool at work in the VM
	$(MAKE) all KDIR=$(VM_KDIR)
	scripts/vm-run -- $(CURDIR)/$(DEMO)

clean: ## remove what the build made in the checkout (not the caches)
	-test -n "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-test -n "$(KSRC)" && $(MAKE) -C selftests KSRC=$(KSRC) clean
	rm -f $(LIB_OBJS) $(LIB_A) userspace/lib/librefpool.so* $(PC) $(CLI) $(DEMO)

# ---- benchmarks (bench/README.md) ------------------------------------------------
BENCH := bench/refpool-bench
BENCH_ARGS ?=

.PHONY: bench bench-prog bench-clean

bench-prog: $(BENCH) ## bench/refpool-bench only

$(BENCH): bench/refpool-bench.c $(LIB_A) userspace/include/refpool.h uapi/linux/refpool.h \
		tests/common.h tests/vgem.h
	$(CC) $(USER_CFLAGS) -o $@ bench/refpool-bench.c $(LIB_A) -pthread

bench: setup ## run the benchmark in the VM: bench/results.json, .png, the table (BENCH_ARGS=--quick)
	$(MAKE) bench-prog
	$(MAKE) module KDIR=$(VM_KDIR)
	bench/run $(BENCH_ARGS)

bench-clean: ## remove the benchmark program and its VM log
	rm -f $(BENCH) bench/vm.log

clean: bench-clean
# ---- end benchmarks ------------------------------------------------------------

# ---- packaging: man pages, udev rule, DKMS, lint, the Python binding ----------
# `make install` also installs the man pages under $(MANDIR) and the udev rule
# under $(UDEVRULESDIR), which is not under PREFIX: udev reads only
# /usr/lib/udev/rules.d (packages) and /etc/udev/rules.d (the admin's).
MANDIR ?= $(PREFIX)/share/man
UDEVRULESDIR ?= /usr/lib/udev/rules.d
DKMS_KERNEL ?=
DKMS_SRCDIR = $(DESTDIR)/usr/src/refpool-$(VERSION)
DKMS_ARGS = -m refpool -v $(VERSION) $(if $(DKMS_KERNEL),-k $(DKMS_KERNEL))
MAN_PAGES := $(wildcard man/*.[378])

.PHONY: lint install-man install-udev uninstall-man uninstall-udev dkms-source \
	dkms-install dkms-uninstall python-test

install: install-man install-udev
uninstall: uninstall-man uninstall-udev

install-man: ## the man pages under $(MANDIR)
	for s in 3 7 8; do install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done

install-udev: ## the udev rule under $(UDEVRULESDIR)
	install -d $(DESTDIR)$(UDEVRULESDIR)
	install -m 644 udev/60-refpool.rules $(DESTDIR)$(UDEVRULESDIR)/60-refpool.rules

uninstall-man: ## what install-man installed
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))

uninstall-udev: ## what install-udev installed
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-refpool.rules

lint: ## checkpatch, sparse, kernel-doc, -Werror, shellcheck, man, python, dkms.conf (scripts/lint STEP: one)
	scripts/lint

# What DKMS needs to build the module: the Makefile (its `module` target),
# Kbuild, module/ and uapi/, and dkms.conf with this VERSION.
dkms-source: ## what DKMS builds from, into $(DESTDIR)/usr/src/refpool-$(VERSION)
	install -d $(DKMS_SRCDIR)/module $(DKMS_SRCDIR)/uapi/linux
	install -m 644 Makefile Kbuild $(DKMS_SRCDIR)/
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf >$(DKMS_SRCDIR)/dkms.conf
	install -m 644 module/Kbuild $(filter-out %.mod.c,$(wildcard module/*.c)) \
		$(wildcard module/*.h) $(DKMS_SRCDIR)/module/
	install -m 644 uapi/linux/refpool.h $(DKMS_SRCDIR)/uapi/linux/

dkms-install: dkms-uninstall ## (root) dkms add, build, install (DKMS_KERNEL=RELEASE: another kernel)
	@k=$(or $(DKMS_KERNEL),$$(uname -r)); test -d /lib/modules/$$k/build || { \
		echo "$@: no /lib/modules/$$k/build: install linux-headers-$$k, or set DKMS_KERNEL=" >&2; exit 1; }
	$(MAKE) dkms-source DESTDIR=
	dkms add -m refpool -v $(VERSION)
	dkms build $(DKMS_ARGS)
	dkms install $(DKMS_ARGS)

dkms-uninstall: ## (root) dkms remove --all, and the sources go
	@test "$$(id -u)" = 0 || { echo "$@: run as root" >&2; exit 1; }
	@command -v dkms >/dev/null || { echo "$@: dkms is missing (apt-get install dkms)" >&2; exit 1; }
	if dkms status -m refpool -v $(VERSION) | grep -q .; then \
		dkms remove -m refpool -v $(VERSION) --all; fi
	rm -rf /usr/src/refpool-$(VERSION)

python-test: setup lib ## the Python binding's unittests and examples in the VM
	scripts/python-test
# ---- end packaging -------------------------------------------------------------

# ---- stress, fault injection and the debug kernels (tests/README.md) ---------
# See the comment at the top of each program in tests/ for what it checks, and
# tests/check-debug's for its steps and options.
RELIABILITY_PROGS := tests/refpool-fuzz tests/refpool-faultinject \
	tests/refpool-leftovers tests/refpool-memcg
STRESS_ARGS ?= --long

.PHONY: tests stress check-debug tests-clean

tests: $(RELIABILITY_PROGS) ## tests/refpool-fuzz, -faultinject, -leftovers, -memcg

# The fuzzer is a directory of files (tests/fuzz/fuzz.h says what each holds);
# the others are one file each. Every one shares tests/common.h.
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
TEST_DEPS := $(LIB_A) userspace/include/refpool.h uapi/linux/refpool.h tests/common.h \
	     tests/vgem.h

tests/refpool-fuzz: $(FUZZ_SRCS) tests/fuzz/fuzz.h $(TEST_DEPS)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $(FUZZ_SRCS) $(LIB_A)

$(filter-out tests/refpool-fuzz,$(RELIABILITY_PROGS)): tests/%: tests/%.c $(TEST_DEPS)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $< $(LIB_A)

stress: setup ## the 30-minute model-checked fuzz run on the Debian kernel, alone (STRESS_ARGS=)
	$(MAKE) all tests KDIR=$(VM_KDIR)
	scripts/vm-run --timeout 7200 -- $(CURDIR)/tests/refpool-fuzz $(STRESS_ARGS)

check-debug: setup ## KASAN and KCSAN debug kernels (built when stale): suite, fuzz, faults... (CHECK_DEBUG_ARGS=)
	$(MAKE) lib cli selftests tests
	tests/check-debug $(CHECK_DEBUG_ARGS)

tests-clean: ## remove the programs of tests/
	rm -f $(RELIABILITY_PROGS)

clean: tests-clean
# ---- end stress, fault injection and the debug kernels -------------------------

# ---- 32-bit: librefpool and the selftests built with -m32 -----------------------
# The selftests again as 32-bit programs (gcc-multilib), into selftests/m32/
# with a 32-bit librefpool.a of their own; `make check` runs them in the VM
# after the 64-bit ones, on the same 64-bit kernel (its compat ioctl paths).
LIB32_DIR := userspace/lib/m32
LIB32_OBJS := $(patsubst userspace/lib/%.c,$(LIB32_DIR)/%.o,$(LIB_SRCS))
LIB32_A := $(LIB32_DIR)/librefpool.a

.PHONY: lib-m32 selftests-m32 m32-clean

selftests: selftests-m32

lib-m32: $(LIB32_A) ## the 32-bit librefpool.a that the -m32 selftests link

$(LIB32_DIR)/%.o: userspace/lib/%.c userspace/lib/internal.h \
		userspace/include/refpool.h uapi/linux/refpool.h
	@mkdir -p $(@D)
	@printf 'int main(void) { return 0; }\n' | $(CC) -m32 -x c -o /dev/null - 2>/dev/null || \
		{ echo "$(CC) -m32 cannot link a program: install gcc-multilib (scripts/setup)" >&2; exit 1; }
	$(CC) -m32 $(USER_CFLAGS) -fvisibility=hidden -c -o $@ $<

$(LIB32_A): $(LIB32_OBJS)
	$(AR) rcs $@ $^

selftests-m32: $(LIB32_A) ## the selftest programs built with -m32, into selftests/m32/
	@test -n "$(KSRC)" || { echo "no kernel source: run scripts/setup (as root)" >&2; exit 1; }
	$(MAKE) -C selftests KSRC=$(KSRC) M32=1

m32-clean: ## remove the 32-bit library and selftests
	rm -rf $(LIB32_DIR)
	-test -n "$(KSRC)" && $(MAKE) -C selftests KSRC=$(KSRC) M32=1 clean

clean: m32-clean
# ---- end 32-bit --------------------------------------------------------------------

# ---- python: the binding's package, and its benchmark (see python/README.md) -
#   make install         also installs the Python package (install-python) where
#                        Debian's python3 finds it: /usr/lib/python3/dist-packages
#                        for PREFIX=/usr, else PREFIX/lib/python3.X/dist-packages
#                        (on Debian's sys.path for /usr/local); PYTHONDIR= overrides
#   make bench-python    a 256 MiB numpy array to 4 worker processes, three ways
#                        (refpool.dumps/loads, pickling, shared_memory), in one VM
#                        run: time, each worker's peak RSS, the ratios to the goals
# The package's version is the library's: python/setup.py reads VERSION above.
PYTHON ?= /usr/bin/python3
PYTHONDIR ?= $(shell $(PYTHON) -c 'import sys; p = sys.argv[1].rstrip("/"); \
	print("/usr/lib/python3/dist-packages" if p == "/usr" else \
	"%s/lib/python%d.%d/dist-packages" % ((p,) + sys.version_info[:2]))' $(PREFIX))
PYBUILD := python/build
BENCH_PYTHON_ARGS ?=

.PHONY: install-python uninstall-python bench-python python-clean

install: install-python
uninstall: uninstall-python

# setup.py's build_py writes refpool/_build.py (version, LIBDIR) beside the
# sources; egg_info the metadata importlib.metadata and pip read.
install-python: ## the Python package, where Debian's python3 finds it (PYTHONDIR=)
	rm -rf $(PYBUILD)
	cd python && env -u PYTHONDONTWRITEBYTECODE REFPOOL_LIBDIR=$(LIBDIR) $(PYTHON) \
		setup.py -q build_py -d $(CURDIR)/$(PYBUILD)/lib egg_info -e $(CURDIR)/$(PYBUILD)
	rm -rf $(DESTDIR)$(PYTHONDIR)/refpool $(DESTDIR)$(PYTHONDIR)/refpool-*.egg-info
	install -d $(DESTDIR)$(PYTHONDIR)/refpool $(DESTDIR)$(PYTHONDIR)/refpool-$(VERSION).egg-info
	install -m 644 $(PYBUILD)/lib/refpool/*.py $(DESTDIR)$(PYTHONDIR)/refpool/
	install -m 644 $(PYBUILD)/refpool.egg-info/* $(DESTDIR)$(PYTHONDIR)/refpool-$(VERSION).egg-info/

uninstall-python: ## remove the Python package
	rm -rf $(DESTDIR)$(PYTHONDIR)/refpool $(DESTDIR)$(PYTHONDIR)/refpool-$(VERSION).egg-info

bench-python: setup lib ## a 256 MiB numpy array to 4 workers, three ways, in one VM run
	scripts/vm-run --memory 4096 -- $(PYTHON) $(CURDIR)/python/bench/numpy_to_workers.py $(BENCH_PYTHON_ARGS)

python-clean: ## remove the Python package's build
	rm -rf $(PYBUILD)

clean: python-clean
# ---- end python ----------------------------------------------------------------
