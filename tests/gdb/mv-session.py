"""mv-session.py - the scripted GDB session of scripts/gdb-test.sh that
drives memvisor's GDB helpers (scripts/gdb/memvisor.py) through a real
run: vm1's first demand fault on its heap (guest context), the SLAT
violation it causes (hypervisor context), the leaf appearing, the guest's
two-dimensional walk of the address, a shared and a swapped p2m entry,
and bad input.  It prints every command and its output; gdb-test.sh
checks them against the hypervisor's own log (slat_trace=) and the
guest's console.  Errors of a command are printed as "ERROR: ..." and the
session goes on, so that each check fails on its own."""

import re

import gdb


def run(cmd):
    """Runs a command, echoes it and its output; the output."""
    print("(gdb) " + cmd, flush=True)
    try:
        out = gdb.execute(cmd, to_string=True)
    except gdb.error as e:
        out = "ERROR: %s\n" % e
    print(out, end="", flush=True)
    return out


def value(out, pattern):
    m = re.search(pattern, out)
    return int(m.group(1), 0) if m else None


run("mv vms")
# Set before the VMs exist: it waits for vm1.
run("mv break-guest 1 vm_handle_demand_fault")
run("continue")
run("mv where")
gva = int(gdb.parse_and_eval("$rdi")) & ~0xFFF   # the guest's CR2
print("KNOWN GVA=0x%x" % gva)
run("mv gprint 1 cfg.dup_pages")
run("mv gprint 1 cfg.seed")
run("mv gwalk 1 0x%x" % gva)          # not mapped yet: the guest faults
run("delete")

# The guest's handler zeroes a fresh frame before it maps it: that store
# is vm1's next violation on an unpopulated page.
run("mv break-fault 1 unpopulated")
run("continue")
run("mv where")
gfn = int(gdb.parse_and_eval("$rsi"))
gpa = gfn * 4096
print("FAULT GPA=0x%x" % gpa)
run("mv slat 1 0x%x" % gpa)
run("delete")
run("thbreak *gmem_map")
run("continue")
run("finish")
run("mv slat 1 0x%x" % gpa)           # the leaf is there now

# The guest maps the frame at the faulting address and goes on; at its
# next heap fault the first page translates all the way.
run("mv break-guest 1 vm_handle_demand_fault")
run("continue")
run("mv gwalk 1 0x%x" % gva)
run("mv slat 1 0x%x" % gpa)
run("delete")

# Later, with shared and swapped pages about.
run("mv break-guest 1 work_verify_all")
run("continue")
run("delete")
run("mv vms")
run("mv p2m 1")
shared = swapped = None
out = run("mv p2m 1 0 4096")
for line in out.splitlines():
    m = re.match(r"vm1 gfn (0x[0-9a-f]+) \(GPA [^)]*\): (shared|swapped) ",
                 line)
    if not m:
        continue
    if m.group(2) == "shared" and "zero frame" not in line and not shared:
        shared = m.group(1)
    if m.group(2) == "swapped" and not swapped:
        swapped = m.group(1)
print("PICKED shared=%s swapped=%s" % (shared, swapped))
if shared:
    out = run("mv p2m 1 %s" % shared)
    hpa = value(out, r"shared HPA (0x[0-9a-f]+)")
    if hpa:
        run("mv frame 0x%x" % hpa)
if swapped:
    run("mv p2m 1 %s" % swapped)
run("mv swap")
run("mv pool")

# Bad input: one line each, no traceback.
for cmd in ("mv p2m 9 0", "mv p2m 1 0x99999", "mv slat 1 0x7000000",
            "mv slat x 0", "mv gwalk 1 0x123456789000",
            "mv gwalk 1 0x800000000000", "mv frame 0x1234",
            "mv gprint 1 no_such_variable", "mv gprint 1 cfg.no_such_field",
            "mv break-guest 1 no_such_function", "mv break-fault 1 bogus",
            "mv p2m"):
    run(cmd)
print("BAD INPUT DONE")
run("continue")
