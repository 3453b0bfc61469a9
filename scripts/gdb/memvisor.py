"""memvisor.py - GDB commands that understand memvisor's guest memory.

Loaded by `make gdb` (scripts/gdb.sh).  Every command is under the prefix
`mv` (`help mv` lists them):

  mv vms                     every VM: state, RIP, CR3, on the CPU or not,
                             resident / shared / swapped / ballooned pages
  mv p2m VM [GFN [COUNT]]    p2m entries decoded; without GFN, a summary
  mv frame HPA               a pool frame's record and who maps it
  mv slat VM GPA             the EPT/NPT walk, level by level, and the p2m
  mv gwalk VM GVA            the guest's own walk, each table through the
                             SLAT: the two-dimensional walk
  mv gprint VM EXPR          a guest variable, read through that walk
  mv pool, mv swap           the pool, the sharing table, the swap device
  mv where                   hypervisor or guest (which VM), symbolized
  mv break-guest VM FUNC     a hardware breakpoint that stops only in VM
  mv break-fault VM [STATE]  stop in the SLAT-violation handler for VM

Two contexts.  memvisor identity-maps the machine's RAM, so while the CPU
is in the hypervisor a symbol's address is its physical address.  While a
guest runs (QEMU TCG stops wherever the CPU is), GDB sees the guest's
registers, and QEMU 7.2's gdbstub translates GDB's addresses through the
guest's page tables as if guest-physical were host-physical, which reads
the wrong bytes or nothing.  So every command reads by physical address:
it switches QEMU's gdbstub to physical-memory mode
(`maintenance packet Qqemu.PhyMemMode:1`) for its reads and restores the
mode after; guest memory it reads only through its own two-dimensional
walk.  A stub without that mode (not QEMU) still serves the commands while
the CPU is in the hypervisor.

Nothing here changes the machine: the commands read, they never write.
"""

import contextlib
import re
import struct

import gdb

PAGE = 4096
ADDR_MASK = 0x000FFFFFFFFFF000  # bits 51:12 of a page-table entry

# mm/p2m.h
P2M_STATES = ("unpopulated", "private", "shared", "swapped", "ballooned")
P2M_STATE_MASK = 0x7
P2M_VALUE_MASK = ~0xFFF & (2**64 - 1)
P2M_MARK = 0x8
P2M_MAPPED = 0x10
(P2M_UNPOPULATED, P2M_PRIVATE, P2M_SHARED, P2M_SWAPPED,
 P2M_BALLOONED) = range(5)

# mm/pool.h
FRAME_STATES = ("free", "private", "shared", "stale")
FRAME_FREE, FRAME_PRIVATE, FRAME_SHARED, FRAME_STALE = range(4)

# hv/vm.h enum vm_state
VM_STATES = ("loading", "running", "done", "stopped", "runtime-up")

# mm/swap.c: a used slot holds (VM id + 1) << 40 | gfn; a free one bit 63.
SLOT_FREE = 1 << 63

LEVEL_NAMES = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}


class MvError(Exception):
    """What is wrong with a command: printed as its one line."""


# ---------------------------------------------------------------------------
# Reading the machine

def _packet(text):
    """Sends a raw packet to the stub; its reply, or None if unsupported."""
    try:
        out = gdb.execute("maintenance packet " + text, to_string=True)
    except gdb.error as e:
        if "remote target" in str(e):
            raise MvError("not connected: target remote HOST:PORT first "
                          "(make gdb connects)")
        raise
    m = re.search(r'received: "(.*)"', out)
    return m.group(1) if m else None


class Physical:
    """Reads by physical address, in whichever context the CPU stopped."""

    depth = 0
    supported = None  # unknown until the first command asks

    @classmethod
    @contextlib.contextmanager
    def reads(cls):
        if cls.depth:
            yield
            return
        mode = _packet("qqemu.PhyMemMode")
        cls.supported = mode in ("0", "1")
        if cls.supported and mode == "0":
            _packet("Qqemu.PhyMemMode:1")
            gdb.execute("maintenance flush dcache", to_string=True)
        cls.depth = 1
        try:
            yield
        finally:
            cls.depth = 0
            if cls.supported and mode == "0":
                _packet("Qqemu.PhyMemMode:0")
                gdb.execute("maintenance flush dcache", to_string=True)


def read_bytes(pa, n):
    try:
        return bytes(gdb.selected_inferior().read_memory(pa, n))
    except gdb.MemoryError:
        raise MvError("cannot read host-physical 0x%x (%d bytes)" % (pa, n))


def read_u64(pa):
    return struct.unpack("<Q", read_bytes(pa, 8))[0]


def read_u64s(pa, n):
    """n u64s from pa, in chunks the remote protocol carries well."""
    out = []
    chunk = 512
    for i in range(0, n, chunk):
        k = min(chunk, n - i)
        out.extend(struct.unpack("<%dQ" % k, read_bytes(pa + 8 * i, 8 * k)))
    return out


def read_u32s(pa, n):
    out = []
    chunk = 1024
    for i in range(0, n, chunk):
        k = min(chunk, n - i)
        out.extend(struct.unpack("<%dI" % k, read_bytes(pa + 4 * i, 4 * k)))
    return out


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & (2**64 - 1)


# ---------------------------------------------------------------------------
# The hypervisor's symbols and structures

def _objfile_with(symbol):
    for o in gdb.objfiles():
        if o.lookup_global_symbol(symbol) is not None:
            return o
    return None


def hv_objfile():
    o = _objfile_with("hv_main")
    if o is None:
        raise MvError("hv.elf's symbols are not loaded (file build/hv.elf)")
    if not getattr(o, "mv_layout_checked", False):
        check_layout()
        o.mv_layout_checked = True
    return o


# What this file decodes by hand, as hv.elf's debug information describes
# it: a change to the C side that is not made here too is caught at the
# first command, not read as garbage.
LAYOUT = {
    "struct frame_meta": [("gfn", 0, 40), ("owner", 40, 8), ("state", 48, 4),
                          ("hashed", 52, 1), ("scanned", 53, 1),
                          ("walked", 54, 1), ("swapcopy", 55, 1),
                          ("link", 96, 0)],
}
ENUMS = {
    "enum p2m_state": ["P2M_" + n.upper() for n in P2M_STATES],
    "enum frame_state": ["FRAME_" + n.upper() for n in FRAME_STATES],
    "enum vm_state": ["VM_LOADING", "VM_RUNNING", "VM_DONE", "VM_STOPPED",
                      "VM_RUNTIME_UP"],
}


def check_layout():
    for name, want in LAYOUT.items():
        t = gdb.parse_and_eval("(%s *)0" % name).type.target()
        have = {f.name: (f.bitpos, f.bitsize) for f in t.fields()}
        for field, pos, size in want:
            if have.get(field) != (pos, size):
                raise MvError("hv.elf's %s.%s is at bit %s, size %s; "
                              "memvisor.py decodes bit %d, size %d: update "
                              "it" % (name, field, *have.get(field, ("?", "?")),
                                      pos, size))
        if t.sizeof != 16:
            raise MvError("hv.elf's %s is %d bytes; memvisor.py decodes 16"
                          % (name, t.sizeof))
    for name, want in ENUMS.items():
        t = gdb.parse_and_eval("(%s)0" % name).type
        have = [f.name for f in sorted(t.fields(), key=lambda f: f.enumval)]
        if have[:len(want)] != want:
            raise MvError("hv.elf's %s is %s; memvisor.py knows %s: update "
                          "it" % (name, " ".join(have), " ".join(want)))


def guest_objfile():
    """The guest kernel's symbols (build/guest/guest64.elf), or None."""
    return _objfile_with("guest_main")


def hv_sym(name):
    o = hv_objfile()
    s = o.lookup_global_symbol(name) or o.lookup_static_symbol(name)
    if s is None:
        raise MvError("hv.elf has no symbol '%s' (an older build?)" % name)
    return s.value()


def hv_addr(name):
    return int(hv_sym(name).address)


def cstring(value):
    """A char pointer's string, read (physically) by hand."""
    pa = int(value)
    if not pa:
        return ""
    raw = read_bytes(pa, 64)
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def field_addr(value, *path):
    """The address of value.path..., without reading it."""
    for f in path:
        value = value[f]
    return int(value.address)


def vm_count():
    return int(hv_sym("vm_count"))


def vm_value(n):
    return hv_sym("vms")[n]


def parse_int(text, what):
    try:
        return int(gdb.parse_and_eval(text)) & (2**64 - 1)
    except gdb.error as e:
        raise MvError("%s '%s' is not a number: %s" % (what, text, e))


def get_vm(text):
    """The VM a command names ("1" or "vm1"), checked to exist."""
    t = text[2:] if text.startswith("vm") else text
    if not t.isdigit():
        raise MvError("'%s' is not a VM number (0, 1, ... or vm0, vm1, ...)"
                      % text)
    n = int(t)
    count = vm_count()
    if count == 0:
        raise MvError("no VM exists yet (memvisor creates them in "
                      "run_vms(), after hv_main)")
    if n >= count:
        raise MvError("there is no vm%d: vm0..vm%d exist" % (n, count - 1))
    return VM(n)


def vm_for_breakpoint(text):
    """A VM number for a breakpoint, which may be set before the VMs
    exist: (number, VMs existing now)."""
    t = text[2:] if text.startswith("vm") else text
    if not t.isdigit():
        raise MvError("'%s' is not a VM number (0, 1, ... or vm0, vm1, ...)"
                      % text)
    n = int(t)
    count = vm_count()
    limit = int(hv_sym("vms").type.range()[1]) + 1
    if (count and n >= count) or n >= limit:
        raise MvError("there is no vm%d: %s" % (
            n, "vm0..vm%d exist" % (count - 1) if count
            else "memvisor runs at most %d VMs" % limit))
    return n, count


class SlatFormat:
    """The entry bits of EPT (Intel SDM 29.3.2) or NPT (AMD APM 15.25.5,
    the long-mode page-table format)."""

    def __init__(self, name):
        self.name = name
        self.ept = name == "EPT"

    def present(self, e):
        return bool(e & 7) if self.ept else bool(e & 1)

    def large(self, e):
        return bool(e & (1 << 7))

    def address(self, e):
        return e & ADDR_MASK

    def perms(self, e):
        if self.ept:
            return (("R" if e & 1 else "-") + ("W" if e & 2 else "-") +
                    ("X" if e & 4 else "-"))
        if not e & 1:
            return "---"
        return "R" + ("W" if e & 2 else "-") + ("-" if e >> 63 & 1 else "X")

    def bits(self, e, leaf):
        """The entry's bits in words."""
        if self.ept:
            out = [n for b, n in ((0, "R"), (1, "W"), (2, "X")) if e >> b & 1]
            if leaf:
                types = {0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB"}
                out.append("memtype=" + types.get(e >> 3 & 7,
                                                  "?%d" % (e >> 3 & 7)))
                if e >> 6 & 1:
                    out.append("IPAT")
            for b, n in ((7, "PS"), (8, "A"), (9, "D"), (10, "XU"),
                         (63, "SVE")):
                if e >> b & 1:
                    out.append(n)
            return " ".join(out) or "-"
        names = ((0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"),
                 (5, "A"), (6, "D"), (7, "PAT" if leaf else "PS"), (8, "G"),
                 (63, "NX"))
        return " ".join(n for b, n in names if e >> b & 1) or "-"


class VM:
    """One struct vm of the hypervisor, read on demand."""

    def __init__(self, n):
        self.n = n
        self.v = vm_value(n)
        self.name = "vm%d" % n

    @property
    def npages(self):
        return int(self.v["npages"])

    @property
    def mem_bytes(self):
        return int(self.v["mem_bytes"])

    @property
    def state(self):
        s = int(self.v["state"])
        return VM_STATES[s] if s < len(VM_STATES) else "?%d" % s

    @property
    def image(self):
        try:
            return self.v["image"].string()
        except gdb.error:
            return "?"

    def p2m_entries_pa(self):
        return int(self.v["mem"]["p2m"]["entries"])

    def p2m(self, gfn):
        return read_u64(self.p2m_entries_pa() + 8 * gfn)

    def p2m_all(self):
        return read_u64s(self.p2m_entries_pa(), self.npages)

    def p2m_count(self, state):
        return int(self.v["mem"]["p2m"]["count"][state])

    def slat_root(self):
        return int(self.v["mem"]["slat"]["root"])

    def slat_format(self):
        return SlatFormat(cstring(self.v["mem"]["slat"]["fmt"]["name"]))

    def check_gpa(self, gpa, what="GPA"):
        if gpa >= self.mem_bytes:
            raise MvError("%s 0x%x is beyond %s's RAM (%d MiB: GPAs "
                          "0x0-0x%x)" % (what, gpa, self.name,
                                         self.mem_bytes >> 20,
                                         self.mem_bytes - 1))

    def on_cpu(self):
        return int(hv_sym("vm_on_cpu")) == int(self.v.address)


# ---------------------------------------------------------------------------
# Where the CPU is

class Where:
    """kind: "hv", "guest" or "outside"; vm: the VM in its slice, or None."""

    def __init__(self):
        self.pc = reg("pc")
        start, end = hv_addr("_hv_start"), hv_addr("_hv_end")  # linker.ld
        vm_pa = int(hv_sym("vm_on_cpu"))
        self.vm = None
        if vm_pa:
            base = hv_addr("vms")
            size = hv_sym("vms")[0].type.sizeof
            self.vm = VM((vm_pa - base) // size)
        if start <= self.pc < end:
            self.kind = "hv"
        elif self.vm is not None:
            self.kind = "guest"
        else:
            self.kind = "outside"

    def guest(self, vm):
        """True if the CPU stopped inside this VM."""
        return self.kind == "guest" and self.vm.n == vm.n


def symbolize(pc):
    """'func at file:line (objfile)' for pc, or None."""
    try:
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        block = None
    while block is not None and block.function is None:
        block = block.superblock
    if block is None or block.function is None:
        return None
    fn = block.function
    sal = gdb.find_pc_line(pc)
    where = ""
    if sal.symtab is not None:
        where = " at %s:%d" % (sal.symtab.filename, sal.line)
    obj = fn.symtab.objfile.filename.rsplit("/", 1)[-1]
    off = pc - int(block.start)
    name = fn.print_name + ("+%d" % off if off else "")
    return "%s%s (%s)" % (name, where, obj)


def guest_cpu(vm, where):
    """The VM's rip, cr0, cr3, cr4, efer: live if the CPU is in it, else as
    saved at its last exit; and which."""
    if where.guest(vm):
        return (reg("pc"), reg("cr0"), reg("cr3"), reg("cr4"), reg("efer"),
                "live: the CPU is in %s" % vm.name)
    c = vm.v["vcpu"]
    return (int(c["regs"]["rip"]), int(c["cr0"]), int(c["cr3"]),
            int(c["cr4"]), int(c["efer"]), "as of %s's last exit" % vm.name)


# ---------------------------------------------------------------------------
# Translation

class Step:
    def __init__(self, level, table, index, entry):
        self.level, self.table, self.index, self.entry = \
            level, table, index, entry


def slat_walk(vm, gpa):
    """(steps, hpa or None, why it stopped)."""
    fmt = vm.slat_format()
    table = vm.slat_root()
    steps = []
    for level in (4, 3, 2, 1):
        shift = 12 + 9 * (level - 1)
        index = gpa >> shift & 511
        entry = read_u64(table + 8 * index)
        steps.append(Step(level, table, index, entry))
        if not fmt.present(entry):
            return steps, None, "not present"
        if level > 1 and fmt.large(entry):
            size = 1 << shift
            return steps, (fmt.address(entry) & ~(size - 1)) | \
                (gpa & (size - 1)), None
        table = fmt.address(entry)
    return steps, fmt.address(steps[-1].entry) | (gpa & 0xFFF), None


def p2m_text(vm, gfn, entry=None):
    """What the p2m says about gfn, in words."""
    e = vm.p2m(gfn) if entry is None else entry
    state = e & P2M_STATE_MASK
    value = e & P2M_VALUE_MASK
    name = P2M_STATES[state] if state < len(P2M_STATES) else "?%d" % state
    flags = [f for b, f in ((P2M_MAPPED, "mapped"), (P2M_MARK, "marked"))
             if e & b]
    if state in (P2M_PRIVATE, P2M_SHARED):
        text = "%s HPA 0x%x" % (name, value)
        meta = frame_meta(value)
        if state == P2M_SHARED:
            if value == share_zero_hpa():
                text += " (the zero frame, %d refs)" % \
                    int(hv_sym("guest_share")["zero_refs"])
            elif meta is not None:
                text += " (refcount %d)" % meta["refcount"]
    elif state == P2M_SWAPPED:
        text = "swapped slot %d" % (value // PAGE)
    else:
        text = name
    if flags:
        text += " [%s]" % " ".join(flags)
    return text, state, value


def guest_page_hpa(vm, gpa):
    """Where the bytes of guest page gpa are now, as (hpa, how): through
    the SLAT if it maps the page, else as the p2m says (a swapped page from
    its RAM-disk block); hpa None for a page that has no bytes (reads as
    zeros)."""
    steps, hpa, why = slat_walk(vm, gpa & ~0xFFF)
    if hpa is not None:
        return hpa, "SLAT"
    e = vm.p2m(gpa // PAGE)
    state, value = e & P2M_STATE_MASK, e & P2M_VALUE_MASK
    if state in (P2M_PRIVATE, P2M_SHARED):
        return value, "p2m"
    if state == P2M_SWAPPED:
        dev = hv_sym("guest_swap")["dev"]
        return int(dev["priv"]) + value, "swap"
    return None, P2M_STATES[state]


class GuestWalk:
    """The guest's four-level walk of gva, each table and the final page
    translated through the SLAT."""

    def __init__(self, vm, gva, where):
        self.vm, self.gva = vm, gva
        rip, cr0, cr3, cr4, efer, self.regs_from = guest_cpu(vm, where)
        self.cr3 = cr3
        self.rows = []      # (level, table gpa, index, entry, slat steps,
                            #  table hpa, how)
        self.gpa = None
        self.stop = None    # why it stopped, if it did
        self.slat_reads = 0
        self.guest_reads = 0
        self.final = None   # (slat steps, hpa, how) of the final page
        if not cr0 >> 31 & 1:
            self.mode = "paging off: GVA = GPA"
            self.gpa = gva
            return
        if not efer >> 10 & 1:
            raise MvError("%s has paging on outside long mode (CR0 0x%x, "
                          "CR4 0x%x, EFER 0x%x): mv gwalk walks 4-level "
                          "tables only" % (vm.name, cr0, cr4, efer))
        if cr4 >> 12 & 1:
            raise MvError("%s uses 5-level paging (CR4.LA57): mv gwalk "
                          "walks 4-level tables only" % vm.name)
        top = gva >> 47
        if top not in (0, (1 << 17) - 1):
            raise MvError("GVA 0x%x is not canonical (bits 63:47 must all "
                          "equal bit 47)" % gva)
        self.mode = "4-level paging"
        table = cr3 & ADDR_MASK
        for level in (4, 3, 2, 1):
            shift = 12 + 9 * (level - 1)
            index = gva >> shift & 511
            if table >= vm.mem_bytes:
                self.stop = ("the %s table's GPA 0x%x is beyond %s's RAM"
                             % (LEVEL_NAMES[level], table, vm.name))
                return
            steps, hpa, why = slat_walk(vm, table)
            self.slat_reads += len(steps)
            how = "SLAT"
            if hpa is None:
                hpa, how = guest_page_hpa(vm, table)
            entry = read_u64(hpa + 8 * index) if hpa is not None else 0
            self.guest_reads += 1
            self.rows.append((level, table, index, entry, steps, hpa, how))
            if not entry & 1:
                self.stop = ("the guest's %s entry %d (table at GPA 0x%x) "
                             "is not present" % (LEVEL_NAMES[level], index,
                                                 table))
                return
            if level in (3, 2) and entry >> 7 & 1:
                size = 1 << shift
                self.gpa = (entry & ADDR_MASK & ~(size - 1)) | \
                    (gva & (size - 1))
                break
            table = entry & ADDR_MASK
        else:
            self.gpa = (self.rows[-1][3] & ADDR_MASK) | (gva & 0xFFF)
        if self.gpa >= vm.mem_bytes:
            self.stop = "it maps GPA 0x%x, beyond %s's RAM" % (self.gpa,
                                                                vm.name)
            return
        steps, hpa, why = slat_walk(vm, self.gpa)
        self.slat_reads += len(steps)
        how = "SLAT"
        if hpa is None:
            hpa, how = guest_page_hpa(vm, self.gpa)
        self.final = (steps, hpa, how)

    def hpa(self):
        """The host address of gva's byte now, or None."""
        if self.final is None or self.final[1] is None:
            return None
        hpa, how = self.final[1], self.final[2]
        return hpa if how == "SLAT" else hpa | (self.gpa & 0xFFF)


def guest_flags(e, leaf):
    names = ((0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"),
             (5, "A"), (6, "D"), (7, "PAT" if leaf else "PS"), (8, "G"),
             (63, "NX"))
    return " ".join(n for b, n in names if e >> b & 1) or "-"


def read_guest(vm, gva, n, where):
    """n bytes of the guest's memory at gva, through the 2D walk."""
    out = b""
    while n:
        walk = GuestWalk(vm, gva, where)
        if walk.stop:
            raise MvError("%s: GVA 0x%x does not translate: %s"
                          % (vm.name, gva, walk.stop))
        k = min(n, PAGE - (gva & 0xFFF))
        hpa = walk.hpa()
        out += b"\0" * k if hpa is None else read_bytes(hpa, k)
        gva, n = gva + k, n - k
    return out


# ---------------------------------------------------------------------------
# The pool, sharing and swap

def frame_meta(hpa):
    """The pool record of the frame at hpa as a dict, or None."""
    pool = hv_sym("guest_pool")
    base, n = int(pool["base"]), int(pool["nframes"])
    if not base <= hpa < base + n * PAGE:
        return None
    i = (hpa - base) // PAGE
    return decode_meta(read_bytes(int(pool["meta"]) + 16 * i, 16), i)


def decode_meta(raw, index):
    w, rc, link = struct.unpack("<QII", raw)
    return {"index": index, "gfn": w & (1 << 40) - 1,
            "owner": w >> 40 & 0xFF, "state": w >> 48 & 0xF,
            "hashed": w >> 52 & 1, "scanned": w >> 53 & 1,
            "walked": w >> 54 & 1, "swapcopy": w >> 55 & 1,
            "refcount": rc, "link": link}


def all_meta():
    pool = hv_sym("guest_pool")
    n = int(pool["nframes"])
    raw = b""
    pa = int(pool["meta"])
    for i in range(0, 16 * n, 8192):
        raw += read_bytes(pa + i, min(8192, 16 * n - i))
    return [decode_meta(raw[16 * i:16 * i + 16], i) for i in range(n)]


def share_zero_hpa():
    return int(hv_sym("guest_share")["zero_hpa"])


# ---------------------------------------------------------------------------
# Commands

class MvCommand(gdb.Command):
    """A command whose errors are one line and whose reads are physical."""

    takes_args = True

    def __init__(self, name, complete=gdb.COMPLETE_NONE):
        super().__init__("mv " + name, gdb.COMMAND_DATA, complete)
        self.mv_name = "mv " + name

    def invoke(self, arg, from_tty):
        try:
            args = gdb.string_to_argv(arg)
            if args and not self.takes_args:
                self.usage("(no arguments)")
            with Physical.reads():
                self.check_context()
                self.run(args)
        except MvError as e:
            raise gdb.GdbError("%s: %s" % (self.mv_name, e))
        except gdb.GdbError:
            raise
        except gdb.MemoryError as e:
            raise gdb.GdbError("%s: %s" % (self.mv_name, e))
        except gdb.error as e:
            msg = str(e)
            if "no registers" in msg or "not being run" in msg:
                msg = "no target: connect first (target remote ...)"
            raise gdb.GdbError("%s: %s" % (self.mv_name, msg))
        except Exception as e:  # a bug of ours: still one line
            raise gdb.GdbError("%s: internal error: %s: %s"
                               % (self.mv_name, type(e).__name__, e))

    def check_context(self):
        if not Physical.supported:
            w = Where()
            if w.kind != "hv":
                raise MvError("this GDB stub has no physical-memory mode "
                              "(Qqemu.PhyMemMode) and the CPU is not in "
                              "the hypervisor: stop in the hypervisor "
                              "first (for example hbreak exit_handle)")

    def usage(self, text):
        raise MvError("usage: %s %s" % (self.mv_name, text))


class Mv(gdb.Command):
    """memvisor: commands that decode its VMs, p2m, SLAT and guest walks.

All of them read the machine by physical address, so they answer right
whether GDB stopped in the hypervisor or inside a guest.  VM is a number
(1) or a name (vm1); numbers are GDB expressions (0x2a5000, $rdi)."""

    def __init__(self):
        super().__init__("mv", gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND,
                         prefix=True)


class MvVms(MvCommand):
    """Lists every VM: state, RIP, CR3, whether it is on the CPU, pages.

Usage: mv vms
RIP and CR3 are live when GDB stopped inside that VM, else as saved at
its last exit.  resident = private + shared pages; shared counts guest
pages mapped to a shared frame (the zero frame included)."""

    takes_args = False

    def __init__(self):
        super().__init__("vms")

    def run(self, args):
        n = vm_count()
        if n == 0:
            print("no VM exists yet (memvisor creates them in run_vms(), "
                  "after hv_main)")
            return
        where = Where()
        print("%-4s %-10s %-6s %-18s %-10s %8s %8s %8s %8s  %s" %
              ("VM", "state", "CPU", "RIP", "CR3", "resident", "shared",
               "swapped", "balloon", "image"))
        for i in range(n):
            vm = VM(i)
            rip, cr0, cr3, cr4, efer, src = guest_cpu(vm, where)
            cpu = "-"
            if where.vm is not None and where.vm.n == i:
                cpu = "guest" if where.kind == "guest" else "hv"
            print("%-4s %-10s %-6s 0x%-16x 0x%-8x %8d %8d %8d %8d  %s" %
                  (vm.name, vm.state, cpu, rip, cr3,
                   vm.p2m_count(P2M_PRIVATE) + vm.p2m_count(P2M_SHARED),
                   vm.p2m_count(P2M_SHARED), vm.p2m_count(P2M_SWAPPED),
                   vm.p2m_count(P2M_BALLOONED), vm.image))
        print("CPU: guest = GDB stopped inside that VM; hv = in the "
              "hypervisor during its slice")


class MvP2m(MvCommand):
    """Decodes p2m entries: state, frame or swap slot, flags.

Usage: mv p2m VM GFN [COUNT]
       mv p2m VM          (a summary: pages in each state, the first
                           gfns of each)
A private or shared entry is checked against its frame's record, a
swapped one against its slot's owner."""

    def __init__(self):
        super().__init__("p2m")

    def run(self, args):
        if len(args) not in (1, 2, 3):
            self.usage("VM [GFN [COUNT]]")
        vm = get_vm(args[0])
        if len(args) == 1:
            return self.summary(vm)
        gfn = parse_int(args[1], "GFN")
        count = parse_int(args[2], "COUNT") if len(args) == 3 else 1
        if gfn >= vm.npages:
            raise MvError("gfn 0x%x is beyond %s's RAM (%d pages: gfns "
                          "0x0-0x%x)" % (gfn, vm.name, vm.npages,
                                         vm.npages - 1))
        if count < 1 or count > 4096:
            raise MvError("COUNT %d: want 1 to 4096" % count)
        count = min(count, vm.npages - gfn)
        entries = read_u64s(vm.p2m_entries_pa() + 8 * gfn, count)
        for k, e in enumerate(entries):
            g = gfn + k
            text, state, value = p2m_text(vm, g, e)
            print("%s gfn 0x%x (GPA 0x%x): %s%s" %
                  (vm.name, g, g * PAGE, text, self.check(vm, g, state,
                                                          value)))

    def check(self, vm, gfn, state, value):
        """Its frame's record or its slot, as a cross-check."""
        if state == P2M_PRIVATE:
            m = frame_meta(value)
            if m is None:
                return "; NOT A POOL FRAME"
            ok = (m["state"] == FRAME_PRIVATE and m["owner"] == vm.n + 1
                  and m["gfn"] == gfn)
            return "; frame record: %s vm%d gfn 0x%x (%s)" % (
                FRAME_STATES[m["state"]] if m["state"] < 4 else "?",
                m["owner"] - 1, m["gfn"],
                "agrees" if ok else "DISAGREES")
        if state == P2M_SHARED:
            if value == share_zero_hpa():
                return ""
            m = frame_meta(value)
            if m is None:
                return "; NOT A POOL FRAME"
            ok = m["state"] == FRAME_SHARED
            return "; frame record: %s, group %d, hash 0x%x (%s)" % (
                FRAME_STATES[m["state"]] if m["state"] < 4 else "?",
                m["owner"] - 1, m["gfn"], "agrees" if ok else "DISAGREES")
        if state == P2M_SWAPPED:
            swap = hv_sym("guest_swap")
            slot = value // PAGE
            if not int(swap["dev"]) or slot >= int(swap["nslots"]):
                return "; NO SUCH SLOT"
            o = read_u64(int(swap["slot"]) + 8 * slot)
            if o & SLOT_FREE:
                return "; slot %d is FREE: DISAGREES" % slot
            owner, ogfn = (o >> 40) - 1, o & (1 << 40) - 1
            ok = owner == vm.n and ogfn == gfn
            return "; slot owner vm%d gfn 0x%x (%s); RAM-disk block at " \
                "HPA 0x%x" % (owner, ogfn, "agrees" if ok else "DISAGREES",
                              int(swap["dev"]["priv"]) + slot * PAGE)
        return ""

    def summary(self, vm):
        entries = vm.p2m_all()
        by = {}
        for g, e in enumerate(entries):
            by.setdefault(e & P2M_STATE_MASK, []).append(g)
        print("%s: %d pages (%d MiB), SLAT %s root HPA 0x%x" %
              (vm.name, vm.npages, vm.mem_bytes >> 20,
               vm.slat_format().name, vm.slat_root()))
        for s, name in enumerate(P2M_STATES):
            gfns = by.get(s, [])
            first = " ".join("0x%x" % g for g in gfns[:6])
            print("  %-12s %7d%s" % (name, len(gfns),
                                     ("  first gfns: " + first +
                                      (" ..." if len(gfns) > 6 else ""))
                                     if gfns else ""))
            if len(gfns) != vm.p2m_count(s):
                print("  (the p2m's count for %s says %d: DIFFERS)" %
                      (name, vm.p2m_count(s)))


class MvFrame(MvCommand):
    """Shows a frame's metadata record and who maps it.

Usage: mv frame HPA
The record (mm/pool.h): state, owner, gfn, refcount or checksum, the
hash-chain link; then every guest page the p2m maps to it, and whether
the SLAT has a leaf for it."""

    def __init__(self):
        super().__init__("frame")

    def run(self, args):
        if len(args) != 1:
            self.usage("HPA")
        given = parse_int(args[0], "HPA")
        hpa = given & ~0xFFF
        pool = hv_sym("guest_pool")
        base, n = int(pool["base"]), int(pool["nframes"])
        if hpa == share_zero_hpa():
            print("HPA 0x%x: the zero frame (outside the pool, never "
                  "written): %d guest pages map it" %
                  (hpa, int(hv_sym("guest_share")["zero_refs"])))
            self.mappers(hpa, P2M_SHARED, limit=8)
            return
        m = frame_meta(hpa)
        if m is None:
            raise MvError("HPA 0x%x is not a guest-pool frame (the pool is "
                          "HPA 0x%x-0x%x, %d frames)" %
                          (given, base, base + n * PAGE - 1, n))
        state = FRAME_STATES[m["state"]] if m["state"] < 4 else \
            "?%d" % m["state"]
        print("HPA 0x%x: pool frame %d, %s" % (hpa, m["index"], state))
        if m["state"] == FRAME_PRIVATE:
            print("  owner vm%d, gfn 0x%x; %s; flags:%s" % (
                m["owner"] - 1, m["gfn"],
                "swap slot %d still holds its bytes (a clean copy)" %
                m["refcount"] if m["swapcopy"] else
                "checksum 0x%x%s" % (m["refcount"], "" if m["scanned"]
                                     else " (not scanned)"),
                "".join(" " + f for f in ("hashed", "scanned", "walked",
                                          "swapcopy") if m[f]) or " -"))
        elif m["state"] == FRAME_SHARED:
            print("  sharing group %d, content hash 0x%x, refcount %d; "
                  "flags:%s" % (m["owner"] - 1, m["gfn"], m["refcount"],
                                " hashed" if m["hashed"] else " -"))
        elif m["state"] == FRAME_STALE:
            print("  released by vm%d, waiting for its TLB flush" %
                  (m["owner"] - 1))
        print("  link: %s" % ("frame %d" % (m["link"] - 1) if m["link"]
                              else "end of list"))
        if m["state"] in (FRAME_PRIVATE, FRAME_SHARED):
            found = self.mappers(hpa, P2M_PRIVATE if m["state"] ==
                                 FRAME_PRIVATE else P2M_SHARED)
            want = 1 if m["state"] == FRAME_PRIVATE else m["refcount"]
            print("  %d guest page%s it; the record says %d (%s)" %
                  (found, " maps" if found == 1 else "s map", want,
                   "agrees" if found == want else "DIFFERS"))

    def mappers(self, hpa, state, limit=64):
        found = 0
        for i in range(vm_count()):
            vm = VM(i)
            if vm.state in ("done", "stopped", "runtime-up") and \
                    int(vm.v["finished"]):
                continue
            for g, e in enumerate(vm.p2m_all()):
                if e & P2M_STATE_MASK == state and \
                        e & P2M_VALUE_MASK == hpa:
                    found += 1
                    if found <= limit:
                        steps, leaf, why = slat_walk(vm, g * PAGE)
                        print("  %s gfn 0x%x: p2m %s; SLAT leaf %s" % (
                            vm.name, g, P2M_STATES[state],
                            "%s -> HPA 0x%x" % (vm.slat_format().perms(
                                steps[-1].entry), leaf & ~0xFFF)
                            if leaf is not None else "absent (%s at %s)"
                            % (why, LEVEL_NAMES[steps[-1].level])))
        if found > limit:
            print("  ... and %d more" % (found - limit))
        return found


class MvSlat(MvCommand):
    """Walks the EPT or NPT for a guest-physical address, level by level.

Usage: mv slat VM GPA
Each level: the table's host address, the index, the entry and its bits
(EPT: R W X, memtype, IPAT, PS, A, D; NPT: P RW US PWT PCD A D PS G NX),
then the host address or where and why the walk stops, and what the p2m
says, for comparison."""

    def __init__(self):
        super().__init__("slat")

    def run(self, args):
        if len(args) != 2:
            self.usage("VM GPA")
        vm = get_vm(args[0])
        gpa = parse_int(args[1], "GPA")
        vm.check_gpa(gpa)
        print_slat(vm, gpa)


def print_slat(vm, gpa):
    fmt = vm.slat_format()
    steps, hpa, why = slat_walk(vm, gpa)
    print("%s %s walk of GPA 0x%x (root HPA 0x%x):" %
          (vm.name, fmt.name, gpa, vm.slat_root()))
    print("  %-5s %-12s %5s  %-18s  %s" % ("level", "table HPA", "index",
                                          "entry", "bits"))
    for s in steps:
        leaf = s.level == 1 or (fmt.present(s.entry) and fmt.large(s.entry))
        bits = fmt.bits(s.entry, leaf) if fmt.present(s.entry) else \
            "not present"
        print("  %-5s 0x%-10x %5d  0x%016x  %s" % (LEVEL_NAMES[s.level],
                                                 s.table, s.index, s.entry,
                                                 bits))
    gfn = gpa // PAGE
    text, state, value = p2m_text(vm, gfn)
    if hpa is not None:
        print("GPA 0x%x -> HPA 0x%x (%s)" % (gpa, hpa,
                                             fmt.perms(steps[-1].entry)))
        agree = state in (P2M_PRIVATE, P2M_SHARED) and \
            value == hpa & ~0xFFF
        print("p2m: gfn 0x%x %s: %s" % (gfn, text, "agrees" if agree
                                        else "DIFFERS"))
    else:
        print("the walk stops at the %s entry %d: %s; an access exits "
              "(%s violation)" % (LEVEL_NAMES[steps[-1].level],
                                  steps[-1].index, why,
                                  "EPT" if fmt.ept else "nested page fault"))
        print("p2m: gfn 0x%x %s: %s" % (gfn, text, {
            P2M_UNPOPULATED: "the first touch populates it (demand-zero)",
            P2M_PRIVATE: "its frame is kept; the next touch maps it again",
            P2M_SHARED: "the next touch maps the shared frame read-only",
            P2M_SWAPPED: "the next touch swaps it in",
            P2M_BALLOONED: "ballooned: a touch gives it a zeroed frame",
        }.get(state, "?")))


class MvGwalk(MvCommand):
    """The guest's own page-table walk, with each step through the SLAT.

Usage: mv gwalk VM GVA
From the guest's CR3 (live if GDB stopped in that VM, else as of its
last exit): each level's guest-physical table address, its index and
entry, then the final GPA; every guest table page and the final page is
translated through the EPT/NPT to a host address.  A TLB miss under nested
paging reads up to 24 entries: 4 guest entries, and 5 SLAT walks of 4
(one per guest table and one for the final page)."""

    def __init__(self):
        super().__init__("gwalk")

    def run(self, args):
        if len(args) != 2:
            self.usage("VM GVA")
        vm = get_vm(args[0])
        gva = parse_int(args[1], "GVA")
        walk = GuestWalk(vm, gva, Where())
        fmt = vm.slat_format().name
        print("%s: GVA 0x%x, guest CR3 0x%x, %s (registers %s)" %
              (vm.name, gva, walk.cr3, walk.mode, walk.regs_from))
        if walk.rows:
            print("  %-5s %-10s %5s  %-18s  %-16s  %-22s %s" % (
                "guest", "table GPA", "index", "guest entry", "flags",
                "table HPA (%s)" % fmt, "entries read"))
        for level, table, index, entry, steps, hpa, how in walk.rows:
            leaf = level == 1 or (entry & 1 and entry >> 7 & 1)
            print("  %-5s 0x%-8x %5d  0x%016x  %-16s  %-22s %d %s + 1 guest" % (
                LEVEL_NAMES[level], table, index, entry,
                guest_flags(entry, leaf) if entry & 1 else "not present",
                self.hpa_text(hpa, how), len(steps), fmt))
        if walk.stop:
            raise MvError("%s: GVA 0x%x is not mapped: %s (walk stopped "
                          "after %d of 4 guest levels)" %
                          (vm.name, gva, walk.stop, len(walk.rows)))
        steps, hpa, how = walk.final
        print("  %-5s 0x%-8x %5s  %-18s  %-16s  %-22s %d %s" % (
            "page", walk.gpa & ~0xFFF, "", "", "",
            self.hpa_text(hpa, how), len(steps), fmt))
        final = walk.hpa()
        print("GVA 0x%x -> GPA 0x%x -> HPA %s" %
              (gva, walk.gpa, "0x%x" % final if final is not None else
               "none (%s: reads as zeros)" % how))
        if how != "SLAT":
            print("the final page has no %s leaf: the access exits "
                  "(p2m: %s)" % (fmt, p2m_text(vm, walk.gpa // PAGE)[0]))
        total = walk.guest_reads + walk.slat_reads
        print("%d entries read for this translation: %d guest entries + "
              "%d %s entries (%d nested walks); a full 2D walk of 4-level "
              "tables reads 24" % (total, walk.guest_reads, walk.slat_reads,
                                   fmt, len(walk.rows) + 1))

    @staticmethod
    def hpa_text(hpa, how):
        if how == "SLAT":
            return "0x%x" % (hpa & ~0xFFF)
        if hpa is None:
            return "none (%s)" % how
        return "0x%x (no leaf: %s)" % (hpa & ~0xFFF, how)


class MvGprint(MvCommand):
    """Prints a guest variable, read through the two-dimensional walk.

Usage: mv gprint VM EXPR
EXPR is a guest kernel variable (from its symbols, build/guest/
guest64.elf) followed by any of .field, ->field, [index], with an
optional leading *: for example cfg.touch_bytes or dup_pages->base.
Pointers are followed through the guest's memory, never GDB's view of
it, so the value is right in either context."""

    def __init__(self):
        super().__init__("gprint")

    def run(self, args):
        if len(args) < 2:
            self.usage("VM EXPR")
        vm = get_vm(args[0])
        expr = "".join(args[1:])
        where = Where()
        addr, typ = self.locate(vm, expr, where)
        raw = read_guest(vm, addr, typ.sizeof, where)
        print("%s %s = %s" % (vm.name, expr,
                              show(gdb.Value(raw, typ), vm, where)))

    def locate(self, vm, expr, where):
        m = re.match(r"(\*?)([A-Za-z_]\w*)(.*)$", expr)
        if not m:
            raise MvError("'%s': want a variable, then .field, ->field or "
                          "[index]" % expr)
        deref, name, rest = m.groups()
        obj = guest_objfile()
        if obj is None:
            raise MvError("the guest's symbols are not loaded "
                          "(add-symbol-file build/guest/guest64.elf)")
        sym = obj.lookup_global_symbol(name) or \
            obj.lookup_static_symbol(name)
        if sym is None or not sym.is_variable:
            raise MvError("no variable '%s' in the guest's symbols (%s)"
                          % (name, obj.filename.rsplit("/", 1)[-1]))
        addr = int(sym.value().address)
        typ = sym.type
        pos = 0
        token = re.compile(r"\s*(?:(\.|->)\s*([A-Za-z_]\w*)|\[\s*(\w+)\s*\])")
        while pos < len(rest):
            t = token.match(rest, pos)
            if not t:
                raise MvError("'%s': cannot read '%s'" % (expr, rest[pos:]))
            pos = t.end()
            op, ident, index = t.groups()
            base = typ.strip_typedefs()
            if op == "->":
                if base.code != gdb.TYPE_CODE_PTR:
                    raise MvError("'%s' is not a pointer" % expr[:len(
                        expr) - len(rest) + t.start()])
                addr = self.pointer(vm, addr, where)
                typ = base.target()
                base = typ.strip_typedefs()
            if op:
                if base.code not in (gdb.TYPE_CODE_STRUCT,
                                     gdb.TYPE_CODE_UNION):
                    raise MvError("'%s' is not a struct" % expr)
                f = [f for f in base.fields() if f.name == ident]
                if not f:
                    raise MvError("%s has no field '%s'" % (base, ident))
                if f[0].bitsize:
                    raise MvError("'%s' is a bit-field" % ident)
                addr += f[0].bitpos // 8
                typ = f[0].type
            else:
                i = int(index, 0)
                if base.code == gdb.TYPE_CODE_PTR:
                    addr = self.pointer(vm, addr, where)
                elif base.code != gdb.TYPE_CODE_ARRAY:
                    raise MvError("'%s' is neither an array nor a pointer"
                                  % expr)
                typ = base.target()
                addr += i * typ.sizeof
        if deref:
            if typ.strip_typedefs().code != gdb.TYPE_CODE_PTR:
                raise MvError("'%s' is not a pointer" % expr[1:])
            addr = self.pointer(vm, addr, where)
            typ = typ.strip_typedefs().target()
        return addr, typ

    @staticmethod
    def pointer(vm, addr, where):
        return struct.unpack("<Q", read_guest(vm, addr, 8, where))[0]


def show(value, vm, where, depth=0):
    """A value, with pointers as addresses (GDB would follow a char * into
    memory it cannot read right)."""
    t = value.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        return "0x%x" % (int(value) & (2**64 - 1))
    if t.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) and depth < 3:
        parts = ["%s = %s" % (f.name, show(value[f], vm, where, depth + 1))
                 for f in t.fields() if f.name]
        return "{" + ", ".join(parts) + "}"
    if t.code == gdb.TYPE_CODE_ARRAY:
        lo, hi = t.range()
        items = [show(value[i], vm, where, depth + 1)
                 for i in range(lo, min(hi, lo + 15) + 1)]
        return "{" + ", ".join(items) + (", ..." if hi > lo + 15 else "") \
            + "}"
    return str(value)


class MvPool(MvCommand):
    """The guest pool: frames by state, the free list, the sharing table.

Usage: mv pool"""

    takes_args = False

    def __init__(self):
        super().__init__("pool")

    def run(self, args):
        pool = hv_sym("guest_pool")
        n = int(pool["nframes"])
        if not n:
            print("the guest pool is not set up yet (guest_pool_init, "
                  "after hv_main)")
            return
        base = int(pool["base"])
        st = pool["st"]
        print("pool: %d frames (%d MiB) at HPA 0x%x-0x%x; %d free, high "
              "water %d used; %d allocs, %d frees, %d failures" % (
                  n, n * PAGE >> 20, base, base + n * PAGE - 1,
                  int(st["free"]), int(st["high_water"]), int(st["allocs"]),
                  int(st["frees"]), int(st["failures"])))
        metas = all_meta()
        counts = [0] * 16
        for m in metas:
            counts[m["state"]] += 1
        print("  by record: " + ", ".join("%s %d" % (FRAME_STATES[s],
                                                     counts[s])
                                          for s in range(4)))
        # The free list, followed no further than there are frames.
        k, i, seen = 0, int(pool["free_head"]), 0
        while i and seen <= n:
            if i - 1 >= n:
                print("  free list: link %d is outside the pool: BROKEN" % i)
                break
            k += 1
            seen += 1
            i = metas[i - 1]["link"]
        print("  free list: %d frames (%s st.free)" % (
            k, "matches" if k == int(st["free"]) else "DIFFERS FROM"))
        share = hv_sym("guest_share")
        if not int(share["on"]):
            print("sharing: off")
            return
        nb = int(share["nbuckets"])
        buckets = read_u32s(int(share["buckets"]), nb)
        used = [b for b in buckets if b]
        longest, hashed = 0, 0
        for head in used:
            length, i = 0, head
            while i and length <= n:
                length += 1
                i = metas[i - 1]["link"] if i - 1 < n else 0
            longest = max(longest, length)
            hashed += length
        sst = share["st"]
        print("sharing: table of %d buckets, %d used (%.1f%%), %d frames "
              "hashed, longest chain %d" % (nb, len(used),
                                            100.0 * len(used) / nb, hashed,
                                            longest))
        print("  zero frame HPA 0x%x: %d guest pages; shared frames now %d; "
              "merges %d (zero %d), COW breaks %d, frames freed %d" % (
                  int(share["zero_hpa"]), int(share["zero_refs"]),
                  int(sst["frames_shared"]), int(sst["merges"]),
                  int(sst["zero_merges"]), int(sst["cow_breaks"]),
                  int(sst["frames_freed"])))
        print("  scanner at vm%d gfn 0x%x; %d pages hashed, %d full scans" % (
            int(share["cursor_vm"]), int(share["cursor_gfn"]),
            int(sst["scanned"]), int(sst["full_scans"])))
        stale = sum(int(VM(i).v["mem"]["nstale"]) for i in range(vm_count()))
        print("  stale frames waiting for a TLB flush: %d" % stale)


class MvSwap(MvCommand):
    """The swap device: slots in use, by VM, swapped or clean copies.

Usage: mv swap"""

    takes_args = False

    def __init__(self):
        super().__init__("swap")

    def run(self, args):
        swap = hv_sym("guest_swap")
        if not int(swap["dev"]):
            print("swapping is off (swap=0)")
            return
        dev = swap["dev"]
        n = int(swap["nslots"])
        st = swap["st"]
        print("swap: %s, %d slots (%d MiB) at HPA 0x%x; %d used, high "
              "water %d; watermarks low %d / high %d free frames" % (
                  cstring(dev["name"]), n, n * PAGE >> 20, int(dev["priv"]),
                  int(swap["used"]), int(swap["high_water"]),
                  int(swap["low"]), int(swap["high"])))
        slots = read_u64s(int(swap["slot"]), n)
        per = {}
        used = 0
        for slot, o in enumerate(slots):
            if o & SLOT_FREE:
                continue
            used += 1
            per.setdefault((o >> 40) - 1, []).append((slot, o & (1 << 40) - 1))
        print("  used slots counted: %d (%s)" % (
            used, "matches" if used == int(swap["used"]) else "DIFFERS"))
        for owner in sorted(per):
            if owner >= vm_count():
                print("  vm%d: %d slots of a VM that does not exist: BAD" %
                      (owner, len(per[owner])))
                continue
            vm = VM(owner)
            entries = vm.p2m_all()
            swapped = sum(1 for slot, g in per[owner] if g < len(entries)
                          and entries[g] & P2M_STATE_MASK == P2M_SWAPPED
                          and entries[g] >> 12 == slot)
            print("  %s: %d slots: %d swapped pages, %d clean copies of "
                  "resident pages; first slots %s" % (
                      vm.name, len(per[owner]), swapped,
                      len(per[owner]) - swapped,
                      " ".join("%d=gfn 0x%x" % p for p in per[owner][:3])))
        print("  clock hand at vm%d gfn 0x%x; %d swap-outs, %d swap-ins, %d "
              "zero drops, %d clean drops, %d rounds" % (
                  int(swap["hand_vm"]), int(swap["hand_gfn"]),
                  int(st["swap_outs"]), int(st["swap_ins"]),
                  int(st["zero_drops"]), int(st["clean_drops"]),
                  int(st["rounds"])))


class MvWhere(MvCommand):
    """Where the CPU stopped: in the hypervisor or inside a VM (which one).

Usage: mv where
The RIP is symbolized from the matching symbol file: hv.elf in the
hypervisor, the guest kernel's (guest64.elf) inside a VM."""

    takes_args = False

    def __init__(self):
        super().__init__("where")

    def run(self, args):
        w = Where()
        sym = symbolize(w.pc)
        if w.kind == "hv":
            during = ("during %s's slice" % w.vm.name if w.vm is not None
                      else "between slices (no VM on the CPU)")
            print("in the hypervisor, %s: RIP 0x%x %s" %
                  (during, w.pc, sym or "(no symbol)"))
        elif w.kind == "guest":
            vm = w.vm
            if sym is None or sym.endswith("(hv.elf)"):
                sym = "(no symbol: load the symbols of %s)" % vm.image
            print("inside %s (guest %s): RIP 0x%x %s; CR3 0x%x" %
                  (vm.name, vm.image, w.pc, sym, reg("cr3")))
        else:
            print("outside memvisor: RIP 0x%x (firmware or the loader; no "
                  "VM is on the CPU)%s" % (w.pc, " " + sym if sym else ""))


class GuestBreakpoint(gdb.Breakpoint):
    """A hardware breakpoint on a guest address that stops only when the
    CPU is inside one VM (the guests share one kernel image)."""

    def __init__(self, addr, vm_n, label):
        super().__init__("*0x%x" % addr, type=gdb.BP_HARDWARE_BREAKPOINT)
        self.vm_n = vm_n
        self.label = label

    def stop(self):
        try:
            with Physical.reads():
                w = Where()
                return w.kind == "guest" and w.vm.n == self.vm_n
        except (MvError, gdb.error) as e:
            print("mv break-guest: cannot tell the VM (%s): stopping" % e)
            return True


class MvBreakGuest(MvCommand):
    """Sets a hardware breakpoint in a guest function that stops only in VM.

Usage: mv break-guest VM FUNCTION
FUNCTION is looked up in the guest kernel's symbols (not the
hypervisor's, which has functions of the same names).  Every VM runs the
same kernel at the same addresses: the breakpoint's condition reads which
VM is on the CPU (hv/run.c vm_on_cpu) and lets the others run on.  A
hardware breakpoint writes nothing into guest memory.  Delete it with
`delete N`."""

    def __init__(self):
        super().__init__("break-guest")

    def run(self, args):
        if len(args) != 2:
            self.usage("VM FUNCTION")
        n, count = vm_for_breakpoint(args[0])
        obj = guest_objfile()
        if obj is None:
            raise MvError("the guest's symbols are not loaded "
                          "(add-symbol-file build/guest/guest64.elf)")
        sym = obj.lookup_global_symbol(args[1]) or \
            obj.lookup_static_symbol(args[1])
        if sym is None or not sym.is_function:
            raise MvError("no function '%s' in the guest's symbols (%s)" %
                          (args[1], obj.filename.rsplit("/", 1)[-1]))
        addr = int(sym.value().address)
        bp = GuestBreakpoint(addr, n, args[1])
        print("breakpoint %d: %s (0x%x, guest %s), stops only in vm%d%s" %
              (bp.number, args[1], addr, obj.filename.rsplit("/", 1)[-1], n,
               "" if count else " (no VM exists yet)"))


class FaultBreakpoint(gdb.Breakpoint):
    """A hardware breakpoint on gmem_fault() (mm/gmem.c, the SLAT
    violation's one decision point) that stops only for one VM, and only
    for pages in one p2m state if asked."""

    ACCESS = ((1, "read"), (2, "write"), (4, "exec"), (8, "page-walk"))

    def __init__(self, vm_n, state):
        super().__init__("*0x%x" % int(hv_sym("gmem_fault").address),
                         type=gdb.BP_HARDWARE_BREAKPOINT)
        self.vm_n, self.state = vm_n, state

    def stop(self):
        try:
            with Physical.reads():
                # At the entry: gmem_fault(g, gfn, access, present, ...)
                if vm_count() <= self.vm_n:
                    return False
                vm = VM(self.vm_n)
                if reg("rdi") != field_addr(vm.v, "mem"):
                    return False
                gfn, access = reg("rsi"), reg("rdx")
                text, state, value = p2m_text(vm, gfn)
                if self.state is not None and state != self.state:
                    return False
                print("%s SLAT violation: %s GPA 0x%x (gfn 0x%x), %s; p2m "
                      "before: %s" % (
                          vm.name, "+".join(n for b, n in self.ACCESS
                                            if access & b) or "?",
                          gfn * PAGE, gfn,
                          "leaf present" if reg("rcx") & 0xFF else
                          "no leaf", text))
                return True
        except (MvError, gdb.error) as e:
            print("mv break-fault: cannot decode the fault (%s): stopping"
                  % e)
            return True


class MvBreakFault(MvCommand):
    """Stops in the SLAT-violation handler for one VM's faults.

Usage: mv break-fault VM [STATE]
A hardware breakpoint on gmem_fault() (mm/gmem.c), where every EPT/NPT
violation is decided, that stops only for VM, and with STATE
(unpopulated, private, shared, swapped, ballooned) only for a page in
that p2m state: shared catches copy-on-write breaks, swapped catches
swap-ins.  At the stop, `finish` runs the decision; the leaf is mapped by
gmem_map() right after."""

    def __init__(self):
        super().__init__("break-fault")

    def run(self, args):
        if len(args) not in (1, 2):
            self.usage("VM [unpopulated|private|shared|swapped|ballooned]")
        n, count = vm_for_breakpoint(args[0])
        state = None
        if len(args) == 2:
            if args[1] not in P2M_STATES:
                raise MvError("unknown state '%s' (want one of: %s)" %
                              (args[1], " ".join(P2M_STATES)))
            state = P2M_STATES.index(args[1])
        bp = FaultBreakpoint(n, state)
        print("breakpoint %d: gmem_fault for vm%d's SLAT violations%s" %
              (bp.number, n, " on %s pages" % args[1] if state is not None
               else ""))


def register():
    Mv()
    for cls in (MvVms, MvP2m, MvFrame, MvSlat, MvGwalk, MvGprint, MvPool,
                MvSwap, MvWhere, MvBreakGuest, MvBreakFault):
        cls()


register()
