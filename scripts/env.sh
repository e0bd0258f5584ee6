#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Paths shared by the refpool scripts and the top-level Makefile.
#
#   . scripts/env.sh               define the variables below in a bash script
#   scripts/env.sh --print NAME    print one of them (for $(shell ...) in make)
#   scripts/env.sh --make          print "NAME := value" lines for make to include
#
# REFPOOL_CACHE  downloads and builds, outside the checkout so that a fresh
#                clone on the same machine reuses them
# KVER           release of the Debian kernel the VM boots (recorded by
#                scripts/setup in $REFPOOL_CACHE/kver, never hard-coded)
# VM_KDIR        headers the module is built against for the VM
# VM_ROOT        the unpacked linux-image-$KVER package (vmlinuz, lib/modules)
# KSRC           the unpacked linux-source-6.1 (kselftest_harness.h, lib.mk,
#                checkpatch.pl, the debug kernel's source)
# DEBUG_DIR      the KASAN debug kernel: $DEBUG_DIR/bzImage, built tree in
#                $DEBUG_DIR/build (scripts/build-debug-kernel, vm-run --kernel debug)
# DEBUG_KCSAN_DIR  the KCSAN debug kernel, laid out the same way
#                (build-debug-kernel --flavour kcsan, vm-run --kernel kcsan)
# KDIR           where `make module` builds by default: the running kernel's
#                build tree if there is one (a real machine, for insmod), else
#                VM_KDIR; a KDIR set in the environment wins.
#
# Each variable already set in the environment is kept, so that a caller can
# point any of them elsewhere.

# Print "image RELEASE" and "headers RELEASE" for the kernel releases that
# the Debian metapackages linux-image-amd64 and linux-headers-amd64 depend
# on, from apt's package lists (one apt-cache call: it is the slow part).
# Nothing if apt does not know them (no lists yet: run apt-get update first).
refpool_meta_kvers() {
	apt-cache depends linux-image-amd64 linux-headers-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-\(image\|headers\)-\([0-9][^ ]*-amd64\)$/\1 \2/p'
}

refpool_env() {
	REFPOOL_CACHE=${REFPOOL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/refpool}
	if [[ -z ${KVER:-} ]]; then
		if [[ -s $REFPOOL_CACHE/kver ]]; then
			KVER=$(<"$REFPOOL_CACHE/kver")
		else
			# setup has not run yet: guess what it would pick, unrecorded
			KVER=$(refpool_meta_kvers | sed -n 's/^headers //p')
		fi
	fi
	VM_KDIR=${VM_KDIR:-/usr/src/linux-headers-$KVER}
	VM_ROOT=${VM_ROOT:-$REFPOOL_CACHE/vm/$KVER}
	KSRC=${KSRC:-$REFPOOL_CACHE/linux-source-6.1}
	DEBUG_DIR=${DEBUG_DIR:-$REFPOOL_CACHE/debug}
	DEBUG_KCSAN_DIR=${DEBUG_KCSAN_DIR:-$REFPOOL_CACHE/debug-kcsan}
	if [[ -z ${KDIR:-} ]]; then
		KDIR=/lib/modules/$(uname -r)/build
		[[ -d $KDIR ]] || KDIR=$VM_KDIR
	fi
}

REFPOOL_ENV_VARS=(REFPOOL_CACHE KVER VM_KDIR VM_ROOT KSRC DEBUG_DIR DEBUG_KCSAN_DIR KDIR)
refpool_env

# Executed rather than sourced: print what was asked for.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	case ${1:-} in
	--print)
		[[ $# -eq 2 && " ${REFPOOL_ENV_VARS[*]} " == *" $2 "* ]] ||
			{ echo "usage: $0 --print {${REFPOOL_ENV_VARS[*]}}" >&2; exit 2; }
		printf '%s\n' "${!2}"
		;;
	--make)
		for v in "${REFPOOL_ENV_VARS[@]}"; do
			printf '%s := %s\n' "$v" "${!v}"
		done
		;;
	*)
		echo "usage: $0 --print NAME | --make   (or source it from bash)" >&2
		exit 2
		;;
	esac
fi
