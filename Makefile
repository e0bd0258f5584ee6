# SPDX-License-Identifier: GPL-2.0
#
# refpool: `make` builds the module, the library, the CLI and the selftests.
#   make demo         set up (as root, from Debian's packages), boot the VM, show refpool
#   make check        set up, lint, build, packaging checks (install, DKMS), the selftests
#                     in the VM: "N passed, N failed"
#   make install      library, header, pkg-config file, CLI (PREFIX, DESTDIR)
#   make module       the module only (KDIR= to choose the kernel build tree)
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

all: module lib cli demo-prog selftests

help:
	@sed -n '3,13p' Makefile

module:
	@test -n "$(KDIR)" || { echo "no kernel build tree: run scripts/setup (as root) or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib: $(LIB_A) $(LIB_SO) $(PC)

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

cli: $(CLI)

$(CLI): $(wildcard userspace/cli/*.c userspace/cli/*.h) $(LIB_A)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_A)

demo-prog: $(DEMO)

$(DEMO): userspace/demo/refpool-demo.c $(LIB_A)
	$(CC) $(USER_CFLAGS) -o $@ $< $(LIB_A)

selftests: $(LIB_A)
	@test -n "$(KSRC)" || { echo "no kernel source: run scripts/setup (as root)" >&2; exit 1; }
	$(MAKE) -C selftests KSRC=$(KSRC)

install: lib cli
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

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/refpool.h $(DESTDIR)$(LIBDIR)/librefpool.* \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/refpool.pc $(DESTDIR)$(BINDIR)/refpoolctl

# Set-up installs from Debian's packages and needs root; it is quick when
# everything is there already.
setup:
	scripts/setup

# The VM boots Debian's kernel: build the module for it, whatever KDIR says.
VM_KDIR = $(shell scripts/env.sh --print VM_KDIR)

# The static checks come first: a change that fails them does not land.
# make check tests the test build of the module, with its delay points
# (module/hooks.h); a plain `make module` has none.
check: export REFPOOL_TEST_HOOKS = 1
check: setup
	scripts/lint
	$(MAKE) all KDIR=$(VM_KDIR)
	scripts/check-packaging
	scripts/check

demo: setup
	$(MAKE) all KDIR=$(VM_KDIR)
	scripts/vm-run -- $(CURDIR)/$(DEMO)

clean:
	-test -n "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-test -n "$(KSRC)" && $(MAKE) -C selftests KSRC=$(KSRC) clean
	rm -f $(LIB_OBJS) $(LIB_A) userspace/lib/librefpool.so* $(PC) $(CLI) $(DEMO)

# ---- bench: the benchmark suite (issue "Performance"; see bench/README.md) ----
#   make bench        build bench/refpool-bench, run it in the VM, write
#                     bench/results.json and bench/results.png, print the table
#                     (BENCH_ARGS=--quick for a short smoke run)
#   make bench-prog   build bench/refpool-bench only
BENCH := bench/refpool-bench
BENCH_ARGS ?=

.PHONY: bench bench-prog bench-clean

bench-prog: $(BENCH)

$(BENCH): bench/refpool-bench.c $(LIB_A) userspace/include/refpool.h uapi/linux/refpool.h \
		tests/common.h
	$(CC) $(USER_CFLAGS) -o $@ bench/refpool-bench.c $(LIB_A) -pthread

bench: setup
	$(MAKE) bench-prog
	$(MAKE) module KDIR=$(VM_KDIR)
	bench/run $(BENCH_ARGS)

bench-clean:
	rm -f $(BENCH) bench/vm.log

clean: bench-clean
# ---- end bench -----------------------------------------------------------------

# ---- packaging: man pages, udev rule, DKMS, lint, the Python binding ----------
#   make lint            the static checks of scripts/lint: checkpatch, sparse,
#                        kernel-doc, userspace -Werror, shellcheck, man pages,
#                        python, dkms.conf's version (one step: scripts/lint STEP)
#   make dkms-install    (root) sources to /usr/src/refpool-$(VERSION), then dkms
#                        add, build, install; DKMS_KERNEL=RELEASE for a kernel
#                        other than the running one
#   make dkms-uninstall  (root) dkms remove --all, and the sources go
#   make python-test     the Python binding's unittests and examples in the VM
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

install-man:
	for s in 3 7 8; do install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done

install-udev:
	install -d $(DESTDIR)$(UDEVRULESDIR)
	install -m 644 udev/60-refpool.rules $(DESTDIR)$(UDEVRULESDIR)/60-refpool.rules

uninstall-man:
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))

uninstall-udev:
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-refpool.rules

lint:
	scripts/lint

# What DKMS needs to build the module: the Makefile (its `module` target),
# Kbuild, module/ and uapi/, and dkms.conf with this VERSION.
dkms-source:
	install -d $(DKMS_SRCDIR)/module $(DKMS_SRCDIR)/uapi/linux
	install -m 644 Makefile Kbuild $(DKMS_SRCDIR)/
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf >$(DKMS_SRCDIR)/dkms.conf
	install -m 644 module/Kbuild $(filter-out %.mod.c,$(wildcard module/*.c)) \
		$(wildcard module/*.h) $(DKMS_SRCDIR)/module/
	install -m 644 uapi/linux/refpool.h $(DKMS_SRCDIR)/uapi/linux/

dkms-install: dkms-uninstall
	@k=$(or $(DKMS_KERNEL),$$(uname -r)); test -d /lib/modules/$$k/build || { \
		echo "$@: no /lib/modules/$$k/build: install linux-headers-$$k, or set DKMS_KERNEL=" >&2; exit 1; }
	$(MAKE) dkms-source DESTDIR=
	dkms add -m refpool -v $(VERSION)
	dkms build $(DKMS_ARGS)
	dkms install $(DKMS_ARGS)

dkms-uninstall:
	@test "$$(id -u)" = 0 || { echo "$@: run as root" >&2; exit 1; }
	@command -v dkms >/dev/null || { echo "$@: dkms is missing (apt-get install dkms)" >&2; exit 1; }
	if dkms status -m refpool -v $(VERSION) | grep -q .; then \
		dkms remove -m refpool -v $(VERSION) --all; fi
	rm -rf /usr/src/refpool-$(VERSION)

python-test: setup lib
	scripts/python-test
# ---- end packaging -------------------------------------------------------------

# ---- reliability: stress, fault injection, unload, memcg (issue "Reliability") --
#   make tests          build tests/refpool-fuzz, -faultinject, -leftovers, -memcg
#   make stress         the long model-checked fuzz run (tests/refpool-fuzz --long:
#                       30 min, 6 processes x 4 threads, random kills) on the
#                       Debian kernel; STRESS_ARGS= to change it (--seconds S,
#                       --procs P, --threads T, --seed N, ...). Run it alone.
#   make check-debug    build the debug kernel if missing, then on it: the whole
#                       selftest suite, the bounded fuzz run (60 s), the
#                       fault-injection driver, 100 insmod/rmmod cycles and the
#                       memcg test (tests/check-debug); a summary of figures;
#                       fails on any failure or kernel report (KASAN, lockdep,
#                       kmemleak, refcount_t, WARNING); CHECK_DEBUG_ARGS= passes
#                       options (--bounded: what CI runs, see the README)
# See the comment at the top of each program in tests/ for what it checks.
RELIABILITY_PROGS := tests/refpool-fuzz tests/refpool-faultinject \
	tests/refpool-leftovers tests/refpool-memcg
STRESS_ARGS ?= --long

.PHONY: tests stress check-debug tests-clean

tests: $(RELIABILITY_PROGS)

# The fuzzer is a directory of files (tests/fuzz/fuzz.h says what each holds);
# the others are one file each. Every one shares tests/common.h.
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
TEST_DEPS := $(LIB_A) userspace/include/refpool.h uapi/linux/refpool.h tests/common.h

tests/refpool-fuzz: $(FUZZ_SRCS) tests/fuzz/fuzz.h $(TEST_DEPS)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $(FUZZ_SRCS) $(LIB_A)

$(filter-out tests/refpool-fuzz,$(RELIABILITY_PROGS)): tests/%: tests/%.c $(TEST_DEPS)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $< $(LIB_A)

stress: setup
	$(MAKE) all tests KDIR=$(VM_KDIR)
	scripts/vm-run --timeout 7200 -- $(CURDIR)/tests/refpool-fuzz $(STRESS_ARGS)

check-debug: setup
	$(MAKE) lib cli selftests tests
	tests/check-debug $(CHECK_DEBUG_ARGS)

tests-clean:
	rm -f $(RELIABILITY_PROGS)

clean: tests-clean
# ---- end reliability -----------------------------------------------------------
