#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/unload-cycles.sh MODULE_PATH [CYCLES] — load and unload refpool
# CYCLES times (default 100), with objects left behind on purpose each time
# so that rmmod must free them. Runs where the module may be loaded, as
# root; in the VM with nothing loaded for it:
#
#   scripts/vm-run --no-module -- tests/unload-cycles.sh module/refpool.ko
#   scripts/vm-run --kernel debug --no-module -- tests/unload-cycles.sh KO
#
# Each cycle: insmod (gc_threshold=0: no automatic collection, so garbage
# stays for rmmod), /dev/refpool appears, tests/refpool-leftovers leaves a
# garbage cycle, a pinned object holding a cycle and an interned value, a
# pinned interned value and a handle that was in flight (every other cycle
# it runs rp_gc() first, so rmmod meets garbage or not); every 10th cycle a
# process holding an exported fd (then a mapping) must make rmmod fail, and
# it succeeds once that process is gone. Then rmmod, and: /sys/module/refpool
# is gone, the slab cache refpool_object is gone (/proc/slabinfo and
# /sys/kernel/slab), the kernel log has no new BUG/WARNING/KASAN/lockdep/
# refcount_t/leak line. At the end, with kmemleak (debug kernel): a scan
# finds nothing.
#
# Prints one line per 10 cycles and a summary; exit 0 pass, 1 fail, 4 skip
# (not root, or the module already loaded). REFPOOL_LEFTOVERS= points to
# another build of refpool-leftovers.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ko=${1:-}
cycles=${2:-100}
[[ -n $ko && -f $ko ]] || { echo "usage: $0 MODULE_PATH [CYCLES]" >&2; exit 2; }
[[ $cycles =~ ^[0-9]+$ ]] || { echo "usage: $0 MODULE_PATH [CYCLES]" >&2; exit 2; }
leftovers=${REFPOOL_LEFTOVERS:-$here/refpool-leftovers}
[[ -x $leftovers ]] || { echo "unload-cycles: $leftovers is not built (make tests)" >&2; exit 2; }
if ((EUID != 0)); then echo "SKIP unload-cycles: needs root"; exit 4; fi
if [[ -d /sys/module/refpool ]]; then
	echo "SKIP unload-cycles: refpool is loaded already (use scripts/vm-run --no-module)"
	exit 4
fi
PATH=$PATH:/usr/sbin:/sbin

pattern='BUG:|WARNING:|Oops|KASAN|UBSAN|possible recursive locking|lockdep|circular locking'
pattern+='|refcount_t:|list_add corruption|list_del corruption|kernel BUG|general protection'
pattern+='|kmemleak:.*suspected|soft lockup|hard LOCKUP|blocked for more than|Kernel panic'
pattern+='|Objects remaining|cache.*still has objects|kmem_cache_destroy'

fails=0 freed=0 refused=0
fail() { echo "unload-cycles: FAIL cycle $i: $*"; fails=$((fails + 1)); }

log_lines() { dmesg | wc -l; }
new_reports() { dmesg | tail -n +"$(($1 + 1))" | grep -E "$pattern"; }

slab_present() {
	[[ -e /sys/kernel/slab/refpool_object ]] && return 0
	grep -q '^refpool_object ' /proc/slabinfo 2>/dev/null
}

kmemleak=/sys/kernel/debug/kmemleak
if [[ -w $kmemleak ]]; then
	echo scan >"$kmemleak"
	echo clear >"$kmemleak"
fi

SECONDS=0
for ((i = 1; i <= cycles; i++)); do
	base=$(log_lines)
	if ! insmod "$ko" gc_threshold=0 max_objects=$((1000 + i)); then
		fail "insmod failed"
		break
	fi
	for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -c /dev/refpool ]] && break; sleep 0.1; done
	[[ -c /dev/refpool ]] || fail "no /dev/refpool after insmod"

	if ((i % 2)); then
		out=$("$leftovers" 2>&1) || fail "leftovers: $out"
	else
		out=$("$leftovers" --gc 2>&1) || fail "leftovers --gc: $out"
	fi
	left=$(sed -n 's/^refpool-leftovers: left \([0-9]*\) objects.*/\1/p' <<<"$out")
	[[ $left =~ ^[0-9]+$ ]] && freed=$((freed + left))

	if ((i % 10 == 0)); then
		# a process holding an exported fd and a mapping keeps the module
		rm -f /tmp/unload-holder.ready
		"$leftovers" --hold /tmp/unload-holder.ready &
		hpid=$!
		for _ in $(seq 50); do [[ -e /tmp/unload-holder.ready ]] && break; sleep 0.1; done
		if rmmod refpool 2>/dev/null; then
			fail "rmmod succeeded while a process held an exported object"
			kill "$hpid" 2>/dev/null
			wait "$hpid" 2>/dev/null
			insmod "$ko" gc_threshold=0 || break
		else
			refused=$((refused + 1))
		fi
		kill "$hpid" 2>/dev/null
		wait "$hpid" 2>/dev/null
		rm -f /tmp/unload-holder.ready
	fi

	ok=
	for _ in $(seq 40); do
		if rmmod refpool 2>/dev/null; then ok=1; break; fi
		sleep 0.1	# a deferred fput() of the socket's file
	done
	[[ -n $ok ]] || fail "rmmod failed: $(rmmod refpool 2>&1)"
	[[ ! -d /sys/module/refpool ]] || fail "/sys/module/refpool is still there"
	[[ ! -e /dev/refpool ]] || fail "/dev/refpool is still there"
	if slab_present; then fail "the slab cache refpool_object is still there"; fi
	if reports=$(new_reports "$base") && [[ -n $reports ]]; then
		fail "kernel log:"
		printf '  %s\n' "$reports" | head -n 20
	fi
	if ((i % 10 == 0)); then
		echo "unload-cycles: $i cycles, ${SECONDS}s, $freed objects left for rmmod so far, $fails failures"
	fi
	((fails < 5)) || break
done

leaks=-
if [[ -w $kmemleak ]]; then
	sleep 6	# kmemleak reports objects older than 5 s
	echo scan >"$kmemleak"
	echo scan >"$kmemleak"
	leaks=$(grep -c '^unreferenced object' "$kmemleak")
	if ((leaks > 0)); then
		i=end
		fail "kmemleak: $leaks unreferenced objects"
		head -n 40 "$kmemleak" | sed 's/^/  /'
	fi
fi
echo "unload-cycles: $((i > cycles ? cycles : i)) of $cycles insmod/rmmod cycles in ${SECONDS}s; $freed objects freed by rmmod; rmmod refused $refused times while an object was held; kmemleak: ${leaks} leaks; $fails failures"
((fails == 0)) && echo PASS || echo FAIL
((fails == 0))
