#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# refpoolctl, the debugfs views, the tracepoints and the Python binding,
# as a user drives them. One TAP line per check; kselftest's runner
# prefixes them with "# ", as it does the harness programs' lines.

# Physical paths: the runner reaches this file through a symbolic link.
here=$(cd "$(dirname "$0")" && pwd -P)
top=$(dirname "$here")
ctl=$top/userspace/cli/refpoolctl
dbg=/sys/kernel/debug/refpool
n=0
failed=0

check() {
	name=$1
	shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $n tools.$name"
	else
		echo "not ok $n tools.$name"
		failed=1
	fi
}

echo "TAP version 13"
echo "1..34"

tok=$(echo "shared from a shell" | "$ctl" publish)
check publish_prints_a_token sh -c "echo '$tok' | grep -Eq '^[0-9a-f]{32}$'"
check cat_returns_the_bytes sh -c "[ \"\$('$ctl' cat $tok)\" = 'shared from a shell' ]"
check info_json_is_sealed sh -c "'$ctl' --json info $tok | grep -q '\"flags\": 1'"
check ls_lists_the_object sh -c "'$ctl' ls | grep -q sealed"
check show_by_id sh -c "id=\$('$ctl' ls | awk 'NR==2 {print \$1}'); '$ctl' show \$id"
check put_drops_the_pin "$ctl" put "$tok"
check cat_after_put_fails sh -c "! '$ctl' cat $tok"
check bad_token_exit_1 sh -c "'$ctl' cat nothex; [ \$? -eq 1 ]"
check unknown_command_exit_2 sh -c "'$ctl' frobnicate; [ \$? -eq 2 ]"
t2=$("$ctl" create 16)
check write_then_cat sh -c "printf xyz | '$ctl' write $t2 2 && '$ctl' cat $t2 | od -c | grep -q 'x   y   z'"
"$ctl" put "$t2" >/dev/null 2>&1
check stats_json sh -c "'$ctl' --json stats | grep -q '\"objects\": 0'"
check gc_json sh -c "'$ctl' --json gc | grep -q collected"
check watch_counts sh -c "[ \$('$ctl' watch 2 | wc -l) -eq 2 ]"
check debugfs_summary grep -q '^objects 0$' "$dbg/summary"

# Options anywhere, as getopt permutes them; -- ends them.
check json_after_the_command sh -c "'$ctl' stats --json | grep -q '\"objects\": 0'"
check double_dash_ends_options sh -c "'$ctl' info -- --json; [ \$? -eq 1 ]"
check unknown_option_exit_2 sh -c "'$ctl' stats --frobnicate; [ \$? -eq 2 ]"

t3=$("$ctl" create 24)
check pins_lists_the_pin sh -c "'$ctl' pins | grep -q '^$t3 .* 24\$'"
check pins_json sh -c "'$ctl' pins --json | python3 -c 'import json, sys; \
assert [p for p in json.load(sys.stdin) if p[\"token\"] == \"$t3\" and p[\"size\"] == 24]'"
"$ctl" put "$t3" >/dev/null 2>&1

# dmabuf: the object as a dma-buf on fd 3, as systemd passes fds.
feats=$("$ctl" version | awk '$1 == "features" { print $2 }')
if [ $(( ${feats:-0} & 2 )) -ne 0 ]; then	# REFPOOL_FEAT_DMABUF
	t4=$(printf 'hello dma' | "$ctl" publish)
	# shellcheck disable=SC2016 # the inner sh expands them
	check dmabuf_fd3_as_systemd_passes_it "$ctl" dmabuf "$t4" -- sh -c \
		'[ "$LISTEN_FDS" = 1 ] && [ "$LISTEN_PID" = $$ ] &&
		 [ "$LISTEN_FDNAMES" = refpool-dmabuf ] &&
		 grep -q "^exp_name:.refpool" /proc/self/fdinfo/3'
	check dmabuf_read_only_maps_the_bytes "$ctl" dmabuf --read-only "$t4" -- python3 -c \
		'import fcntl, mmap, os
assert fcntl.fcntl(3, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
m = mmap.mmap(3, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
assert m[:10] == b"hello dma\0", m[:10]'
	# the pin goes while CMD runs: fd 3 keeps the object until CMD exits
	objects_are() {
		"$ctl" stats | awk -v n="$1" '$1 == "objects" { ok = $2 == n } END { exit !ok }'
	}
	dmabuf_keeps() {
		"$ctl" dmabuf "$t4" -- sh -c "'$ctl' put $t4 && '$ctl' stats |
			awk '\$1 == \"objects\" { ok = \$2 == 1 } END { exit !ok }'" &&
			objects_are 0
	}
	check dmabuf_keeps_the_object dmabuf_keeps
	check dmabuf_command_not_found_exit_127 sh -c \
		"'$ctl' create 8 | { read -r t; '$ctl' dmabuf \$t -- /nonexistent; r=\$?; '$ctl' put \$t; [ \$r -eq 127 ]; }"
else
	for t in dmabuf_fd3_as_systemd_passes_it dmabuf_read_only_maps_the_bytes \
		dmabuf_keeps_the_object dmabuf_command_not_found_exit_127; do
		n=$((n + 1))
		echo "ok $n tools.$t # SKIP the module has no dma-buf support"
	done
fi

# A process whose name holds a quote, a backslash, a space, a control byte
# and a byte that is not UTF-8 holds a handle: ls --json stays valid JSON,
# with the name escaped (the bad byte as U+FFFD).
check json_escapes_process_names python3 - "$top/userspace/lib/librefpool.so.0" "$ctl" <<'EOF'
import ctypes, json, subprocess, sys
ctypes.CDLL(None).prctl(15, b'q"b\\ c\x01\xff', 0, 0, 0)  # PR_SET_NAME
lib = ctypes.CDLL(sys.argv[1])
pool, h = ctypes.c_void_p(), ctypes.c_uint32()
assert lib.rp_open(ctypes.byref(pool)) == 0
assert lib.rp_create(pool, ctypes.c_uint64(8), 0, 0, ctypes.byref(h)) == 0
objs = json.loads(subprocess.run([sys.argv[2], "ls", "--json"], check=True,
                                 capture_output=True).stdout)
comms = [x["comm"] for o in objs for x in o["holders"]]
assert 'q"b\\ c\x01\ufffd' in comms, comms
EOF

# wait: 0 when it happened, 1 on timeout or when it never can, 2 usage.
t4=$("$ctl" publish /dev/null)
check wait_sealed_at_once sh -c "[ \"\$('$ctl' wait $t4 --sealed)\" = sealed ]"
t5=$("$ctl" create 8)
check wait_freed_when_put sh -c "(sleep 1; '$ctl' put $t5) & '$ctl' wait $t5 --freed --timeout 30 | grep -qx freed"
check wait_gone_counts_as_freed "$ctl" wait "$t5" --freed
check wait_timeout_exit_1 sh -c "'$ctl' wait $t4 --freed --timeout 0.2; [ \$? -eq 1 ]"
"$ctl" put "$t4" >/dev/null 2>&1
t6=$("$ctl" create 8)
check wait_sealed_but_freed_exit_1 sh -c "(sleep 1; '$ctl' put $t6) & '$ctl' wait $t6 --sealed --timeout 30; [ \$? -eq 1 ]"
check wait_without_event_exit_2 sh -c "'$ctl' wait $t6; [ \$? -eq 2 ]"

tr=/sys/kernel/debug/tracing
if [ -d "$tr/events/refpool" ]; then
	echo > "$tr/trace"
	echo 1 > "$tr/events/refpool/enable"
	"$ctl" create 8 | xargs "$ctl" put
	echo 0 > "$tr/events/refpool/enable"
	check tracepoints_fire sh -c "grep -q refpool_create '$tr/trace' && grep -q refpool_free '$tr/trace'"
else
	n=$((n + 1))
	echo "ok $n tools.tracepoints_fire # SKIP no tracefs"
fi

# udev/60-refpool.rules as udev applies it (udevadm test runs the rules and
# sets the node's owner and mode), from /run/udev/rules.d, which overrides
# the packaged /usr/lib/udev/rules.d: first the rule as shipped, then the
# group-only variant its comment tells an admin to write.
udev_apply() {
	mkdir -p /run/udev/rules.d &&
		cp "$1" /run/udev/rules.d/60-refpool.rules &&
		udevadm test --action=add /class/misc/refpool >/run/udev-test.log 2>&1 &&
		grep -q "60-refpool.rules:[0-9]* MODE $2" /run/udev-test.log &&
		[ "$(stat -c %a:%G /dev/refpool)" = "$3" ]
}
if command -v udevadm >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	sed 's/GROUP="root", MODE="0666"/GROUP="disk", MODE="0660"/' \
		"$top/udev/60-refpool.rules" >/run/60-refpool-group.rules
	check udev_group_variant_applies udev_apply /run/60-refpool-group.rules 0660 660:disk
	check udev_rule_gives_mode_0666 udev_apply "$top/udev/60-refpool.rules" 0666 666:root
	rm -f /run/udev/rules.d/60-refpool.rules /run/60-refpool-group.rules
else
	for t in udev_group_variant_applies udev_rule_gives_mode_0666; do
		n=$((n + 1))
		echo "ok $n tools.$t # SKIP no udevadm, or not root"
	done
fi

if command -v python3 >/dev/null 2>&1; then
	check python_binding python3 -m unittest discover -s "$top/python" -q
else
	n=$((n + 1))
	echo "ok $n tools.python_binding # SKIP no python3"
fi
exit $failed
