# SPDX-License-Identifier: GPL-2.0
#
# refpool: `make` builds the module, the library, the CLI and the selftests.
#   make demo         set up (as root, from Debian's packages), boot the VM, show refpool
#   make check        set up, build, run the selftests in the VM: "N passed, N failed"
#   make install      library, header, pkg-config file, CLI (PREFIX, DESTDIR)
#   make module       the module only (KDIR= to choose the kernel build tree)
#
# The module builds against /lib/modules/$(uname -r)/build when it exists (a
# real machine, for insmod), else against the headers of the kernel the VM
# boots; KDIR= overrides. scripts/env.sh knows the paths; scripts/setup
# installs what is missing.

VERSION := 0.1.0
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
	userspace/lib/model.c userspace/lib/strerror.c
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
	@sed -n '3,12p' Makefile

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

$(PC): userspace/lib/refpool.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

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
	install -m 644 $(PC) $(DESTDIR)$(LIBDIR)/pkgconfig/refpool.pc
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

check: setup
	$(MAKE) all KDIR=$(VM_KDIR)
	scripts/check

demo: setup
	$(MAKE) all KDIR=$(VM_KDIR)
	scripts/vm-run -- $(CURDIR)/$(DEMO)

clean:
	-test -n "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-test -n "$(KSRC)" && $(MAKE) -C selftests KSRC=$(KSRC) clean
	rm -f $(LIB_OBJS) $(LIB_A) userspace/lib/librefpool.so* $(PC) $(CLI) $(DEMO)
