#!/usr/bin/env bash
# run-bochs.sh ISO
# Boots the GRUB/multiboot2 ISO in Bochs with an Intel CPU model that has
# VMX with EPT, VPID and unrestricted guest (the CI path for the VMX backend).
#
#   SERIAL=F   serial output to file F (default: a temporary file, shown live)
#   MEGS=256   RAM of the emulated machine, in MiB
#   BOCHS_LOG=F  Bochs's own log (default bochs.log beside the serial log);
#              on a VM-entry failure it explains the failed check
#   CPU_MODEL=corei7_haswell_4770
#
# Exit status: 0 when memvisor printed HV RESULT: PASS, 1 for FAIL, 2 when
# no result line appeared.  Bochs's own exit status says nothing about the
# run (the shutdown port ends it with status 1), so the serial log decides.
#
# Bochs never outlives this script: it runs as a child that every exit path
# (a signal included: a caller's timeout, Ctrl-C) ends and waits for, before
# the work folder it reads is deleted.  Bochs's debugger catches SIGINT, so
# it is ended with SIGTERM, and SIGKILL if that is not enough.
set -euo pipefail

iso=${1:?usage: run-bochs.sh ISO}
for f in /usr/share/bochs/BIOS-bochs-latest /usr/share/vgabios/vgabios.bin; do
	[ -r "$f" ] || { echo "run-bochs.sh: $f missing: run scripts/deps.sh" >&2; exit 2; }
done

bochs_pid=
work=$(mktemp -d /tmp/memvisor-bochs.XXXXXX)
cleanup() {
	if [ -n "$bochs_pid" ]; then
		kill "$bochs_pid" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$bochs_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$bochs_pid" 2>/dev/null || true
		wait "$bochs_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
serial=${SERIAL:-$work/serial.log}
log=${BOCHS_LOG:-$(dirname "$serial")/bochs.log}
: > "$serial"

cat > "$work/bochsrc" <<RC
megs: ${MEGS:-256}
cpu: model=${CPU_MODEL:-corei7_haswell_4770}, count=1, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path="$iso", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev="$serial"
display_library: term
clock: sync=none, time0=local
log: $log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
RC
# The Debian build includes the internal debugger: the rc file's single
# command 'c' makes it run straight away instead of waiting at a prompt.
echo c > "$work/debugger.rc"

show=0
[ -z "${SERIAL:-}" ] && show=1
if [ "$show" = 1 ]; then
	tail -n +1 -f "$serial" --pid=$$ 2>/dev/null &
fi
bochs -q -f "$work/bochsrc" -rc "$work/debugger.rc" < /dev/null > "$work/term.out" 2>&1 &
bochs_pid=$!
wait "$bochs_pid" || true
bochs_pid=
sleep 0.2
if grep -q '^HV RESULT: PASS' <(tr -d '\r' < "$serial"); then
	exit 0
elif grep -q '^HV RESULT: FAIL' <(tr -d '\r' < "$serial"); then
	exit 1
fi
echo "run-bochs.sh: no HV RESULT line; Bochs said:" >&2
tail -n 5 "$log" >&2 || true
exit 2
