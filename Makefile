# memvisor - top-level build.  `make help` lists the targets.
#
# Outputs (all under build/):
#   hv.elf         the hypervisor (linked twice: the second link embeds the
#                  symbol table generated from the first, for backtraces)
#   BOOTX64.EFI    the UEFI loader (GNU-EFI)
#   guest.elf      the guest kernel (guest/guest.mk)
#   memtest.bin    Debian's memtest86+ (a bzImage: the Linux boot protocol)
#   esp.img        FAT ESP for QEMU/OVMF: loader, hv.elf, hv.cfg, modules
#   memvisor.iso   GRUB multiboot2 ISO for Bochs
#   tests/<group>  host unit-test binaries
#
# Every object has a .d dependency file (-MMD), so after an edit `make`
# rebuilds only what depends on it.

BUILD ?= build
CC ?= gcc
HOSTCC ?= gcc
LD ?= ld
NASM ?= nasm
OBJCOPY ?= objcopy

# The hypervisor's default command line and modules (make run, esp.img, ISO).
HV_CFG ?= boot/hv.cfg
# The ESP and the ISO hold $(HV_CFG): this file names the one they were
# built with, so that `make run HV_CFG=other.cfg` rebuilds them.
HV_CFG_NAME := $(BUILD)/hv-cfg.name
$(shell mkdir -p $(BUILD) && (echo '$(HV_CFG)' | cmp -s - $(HV_CFG_NAME) || echo '$(HV_CFG)' > $(HV_CFG_NAME)))
MODULES ?= $(BUILD)/guest.elf $(BUILD)/memtest.bin
# Debian's memtest86+ package (scripts/deps.sh installs it), copied under a
# name without '+' for the ESP and the hv command line.
MEMTEST_BIN ?= /boot/memtest86+x64.bin

WARN := -Wall -Wextra -Werror
# Freestanding, no red zone (interrupts arrive on the same stack), no
# SSE/x87 (we never save the guest's or our own FPU state), frame pointers
# kept for backtraces.
HV_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-builtin \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-fno-stack-protector -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-common -MMD -MP
HV_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack \
	--no-warn-rwx-segments -T linker.ld
NASMFLAGS := -f elf64 -g -F dwarf -w+all

# The virtualization backends built in (a missing one is reported at boot).
BACKENDS ?= vmx svm
HV_C_SRCS := $(wildcard hv/*.c hv/dev/*.c mm/*.c arch/x86/*.c \
	$(BACKENDS:%=arch/x86/%/*.c)) boot/memmap.c boot/multiboot/mb2_info.c
HV_ASM_SRCS := $(wildcard arch/x86/*.asm $(BACKENDS:%=arch/x86/%/*.asm)) \
	boot/multiboot/mb2_entry.asm
HV_OBJS := $(HV_C_SRCS:%.c=$(BUILD)/hv/%.o) $(HV_ASM_SRCS:%.asm=$(BUILD)/hv/%.o)

# GNU-EFI (Debian's gnu-efi package layout).
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 $(WARN) -Wno-unused-parameter \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -ffreestanding -fno-builtin -fpic \
	-fshort-wchar -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-maccumulate-outgoing-args -DGNU_EFI_USE_MS_ABI -MMD -MP
EFI_SRCS := boot/uefi/loader.c boot/memmap.c boot/elf_check.c hv/fmt.c
EFI_OBJS := $(EFI_SRCS:%.c=$(BUILD)/uefi/%.o)

UNIT_TESTS :=
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -Itests -fsanitize=address,undefined \
	-fno-sanitize-recover=all -MMD -MP

.PHONY: all deps help run run-bochs gdb test test-long bench unit fuzz clean

# Installs missing Debian packages first (scripts/deps.sh; quick when
# nothing is missing), so `make run` and `make test` are the whole setup on
# a fresh machine.  SKIP_DEPS=1 skips the check.
ifneq ($(SKIP_DEPS),1)
ifneq ($(filter-out help clean,$(or $(MAKECMDGOALS),all)),)
DEPS_STATUS := $(shell scripts/deps.sh >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error scripts/deps.sh failed: the build dependencies are missing)
endif
endif
endif

all: $(BUILD)/hv.elf $(BUILD)/BOOTX64.EFI $(BUILD)/guest.elf $(BUILD)/memtest.bin \
	$(BUILD)/esp.img $(BUILD)/memvisor.iso

help:
	@echo "memvisor make targets:"
	@echo "  make            build hv.elf, BOOTX64.EFI, guest.elf, memtest.bin, esp.img, memvisor.iso"
	@echo "  make run        boot the default configuration in QEMU (OVMF, TCG with SVM+NPT);"
	@echo "                  KVM=1 for -enable-kvm -cpu host (Intel VMX+EPT on a nested-KVM host);"
	@echo "                  keeps the serial log in build/run-serial.log and plots its [stat]"
	@echo "                  lines into build/run-memory.png (scripts/plot-stats)"
	@echo "  make run-bochs  boot the GRUB/multiboot2 ISO in Bochs (Intel VMX+EPT CPU model)"
	@echo "  make gdb        start QEMU halted with a GDB stub and attach GDB with hv.elf's and the"
	@echo "                  guest's symbols and the mv commands (docs/debugging.md;"
	@echo "                  HV_CFG=boot/gdb-demo.cfg is its walkthrough's configuration)"
	@echo "  make test       host unit tests, native guest tests, boot scenarios on QEMU and"
	@echo "                  Bochs, and a scripted GDB session; ends with 'N passed, N failed'"
	@echo "  make test-long  longer boot scenarios (tests/long): a whole memtest86+ pass and more, about 5 minutes"
	@echo "  make bench      boot the benchmark scenarios (tests/bench) on build/bench/hv.elf, the"
	@echo "                  instrumented build, under QEMU -icount and Bochs; print what each exit and"
	@echo "                  memory operation costs against its limit, EPT/NPT against shadow paging; write"
	@echo "                  build/bench/results.json and bench.png (about 6 minutes; BENCH=names)"
	@echo "  make unit       host unit tests only"
	@echo "  make fuzz       the randomized model tests for 10^7 steps from a random, printed seed"
	@echo "  make clean      remove build/"
	@echo "Variables: HV_CFG=file (hypervisor command line, default boot/hv.cfg),"
	@echo "           KVM=1 (run), GDB_PORT=1234 (gdb), SKIP_DEPS=1 (no package check)"

# --- the hypervisor ----------------------------------------------------------

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

$(BUILD)/hv/ksyms0.asm: scripts/gen-ksyms.sh
	@mkdir -p $(dir $@)
	scripts/gen-ksyms.sh > $@

$(BUILD)/hv/ksyms.asm: $(BUILD)/hv.pass1.elf scripts/gen-ksyms.sh
	scripts/gen-ksyms.sh $< > $@

$(BUILD)/hv/ksyms0.o $(BUILD)/hv/ksyms.o: %.o: %.asm
	$(NASM) $(NASMFLAGS) $< -o $@

$(BUILD)/hv.pass1.elf: $(HV_OBJS) $(BUILD)/hv/ksyms0.o linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS) $(BUILD)/hv/ksyms0.o

# The second link must not move any function: the table describes the first.
$(BUILD)/hv.elf: $(HV_OBJS) $(BUILD)/hv/ksyms.o linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS) $(BUILD)/hv/ksyms.o
	@cmp -s <(nm -n $(BUILD)/hv.pass1.elf | grep ' [Tt] ') \
		<(nm -n $@ | grep ' [Tt] ') || \
		{ echo "error: function addresses moved between the two links of hv.elf"; rm -f $@; exit 1; }

# The benchmark build (make bench): the same sources with -DMV_BENCH, which
# compiles in the probes of hv/bench.h.  Only the files that include it
# (directly: no header does) are compiled again; every other object, and
# the assembly, is shared.
BENCH_BUILD := $(BUILD)/bench
BENCH_C_SRCS := $(sort $(shell grep -l '^\#include ".*bench\.h"' $(HV_C_SRCS)) hv/bench.c)
BENCH_OBJS := $(BENCH_C_SRCS:%.c=$(BENCH_BUILD)/hv/%.o) \
	$(patsubst %.c,$(BUILD)/hv/%.o,$(filter-out $(BENCH_C_SRCS),$(HV_C_SRCS))) \
	$(HV_ASM_SRCS:%.asm=$(BUILD)/hv/%.o)

$(BENCH_BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -DMV_BENCH -c $< -o $@

$(BENCH_BUILD)/hv.pass1.elf: $(BENCH_OBJS) $(BUILD)/hv/ksyms0.o linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(BENCH_OBJS) $(BUILD)/hv/ksyms0.o

$(BENCH_BUILD)/ksyms.asm: $(BENCH_BUILD)/hv.pass1.elf scripts/gen-ksyms.sh
	scripts/gen-ksyms.sh $< > $@

$(BENCH_BUILD)/ksyms.o: $(BENCH_BUILD)/ksyms.asm
	$(NASM) $(NASMFLAGS) $< -o $@

$(BENCH_BUILD)/hv.elf: $(BENCH_OBJS) $(BENCH_BUILD)/ksyms.o linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_BUILD)/ksyms.o
	@cmp -s <(nm -n $(BENCH_BUILD)/hv.pass1.elf | grep ' [Tt] ') \
		<(nm -n $@ | grep ' [Tt] ') || \
		{ echo "error: function addresses moved between the two links of $@"; rm -f $@; exit 1; }

# --- the UEFI loader ---------------------------------------------------------

$(BUILD)/uefi/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/uefi/loader.so: $(EFI_OBJS)
	$(LD) -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $^ -L$(EFI_LIB) -lefi -lgnuefi -o $@

$(BUILD)/BOOTX64.EFI: $(BUILD)/uefi/loader.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
		-j .rela -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 \
		--subsystem=10 $< $@

# --- the guest ---------------------------------------------------------------

include guest/guest.mk

# --- boot media --------------------------------------------------------------

$(BUILD)/memtest.bin: $(MEMTEST_BIN)
	@mkdir -p $(dir $@)
	cp $< $@

$(MEMTEST_BIN):
	@echo "$@ is missing: install Debian's memtest86+ package (scripts/deps.sh does)" >&2
	@false

# A bad bzImage for the loader's refusal scenario: memtest86+ with its
# boot protocol version (the setup header's 0x206) set to 2.01.
$(BUILD)/bzimage-old.bin: $(BUILD)/memtest.bin
	cp $< $@.tmp
	printf '\001\002' | dd of=$@.tmp bs=1 seek=$$((0x206)) conv=notrunc status=none
	mv $@.tmp $@

$(BUILD)/esp.img: $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(HV_CFG) $(HV_CFG_NAME) $(MODULES) scripts/mkesp.sh
	scripts/mkesp.sh $@ $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(HV_CFG) $(MODULES)

$(BUILD)/memvisor.iso: $(BUILD)/hv.elf $(HV_CFG) $(HV_CFG_NAME) $(MODULES) scripts/mkiso.sh scripts/cfg-to-cmdline.sh
	scripts/mkiso.sh $@ $(BUILD)/hv.elf $(HV_CFG) $(MODULES)

# --- host unit tests ---------------------------------------------------------

UNIT_TESTS += hv
UNIT_hv_SRCS := tests/test_fmt.c tests/test_memmap.c tests/test_elf_check.c \
	tests/test_frame.c tests/test_cmdline.c tests/test_pool.c hv/fmt.c \
	boot/memmap.c boot/elf_check.c mm/frame.c mm/pool.c mm/p2m.c \
	hv/cmdline.c hv/config.c tests/test_virt_insn.c arch/x86/virt_insn.c \
	tests/test_cr_check.c arch/x86/cr_check.c tests/test_vlapic.c hv/vlapic.c \
	tests/test_regex.c hv/regex.c tests/test_vconsole.c hv/vconsole.c \
	tests/test_modrm.c arch/x86/modrm.c

# Guest memory: the p2m, the SLAT tables in the backends' real entry
# formats, and the multiboot v1 loader (with
# tests/fake_vmmem.c standing in for hv/vmmem.c; libc's string functions).
UNIT_TESTS += mm
UNIT_mm_SRCS := tests/test_p2m.c tests/test_slat.c tests/test_loader.c \
	tests/test_linux_boot.c tests/fake_vmmem.c mm/p2m.c mm/slat.c \
	tests/test_gwalk.c mm/gwalk.c \
	arch/x86/svm/npt.c \
	arch/x86/vmx/ept_format.c hv/guest_load.c hv/linux_boot.c hv/fmt.c

# The real hypervisor core's memory path: hv/exit.c (SLAT violations,
# hypercalls), hv/hypercall.c, hv/vmmem.c, hv/hvmem.c and mm/gmem.c, over
# identity-mapped host memory and a recording backend (tests/stub_hv.c).
# tests/test_share.c: page sharing and copy-on-write (mm/share.c);
# tests/test_swap.c: swapping to the RAM-disk (mm/swap.c, mm/ramdisk.c);
# tests/test_reclaim.c: the reclaim policy and the balloon (mm/reclaim.c,
# mm/balloon.c);
# tests/test_dev.c: the emulated PC devices (hv/dev/) and the port
# dispatch through exit_handle();
# tests/test_gmem.c is the randomized model test with a model TLB;
# GMEM_STEPS and GMEM_SEED override its bounded default run.
UNIT_TESTS += gmem
UNIT_gmem_SRCS := tests/test_hypercall.c tests/test_share.c tests/test_swap.c \
	tests/test_shadow.c mm/shadow.c \
	tests/test_gmem.c tests/test_reclaim.c tests/test_dev.c \
	tests/stub_hv.c \
	$(wildcard hv/dev/*.c) \
	hv/exit.c hv/hypercall.c hv/vmmem.c hv/hvmem.c hv/fmt.c mm/gmem.c \
	mm/gwalk.c hv/vintr.c hv/vlapic.c hv/vconsole.c hv/regex.c \
	arch/x86/vmx/ept_format.c \
	mm/share.c mm/swap.c mm/ramdisk.c mm/slat.c mm/p2m.c mm/pool.c mm/frame.c \
	mm/balloon.c mm/reclaim.c \
	arch/x86/svm/npt.c

define unit_group
$(BUILD)/tests/$(1): $$(patsubst %.c,$(BUILD)/host/%.o,tests/unit_main.c $$(UNIT_$(1)_SRCS))
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(HOST_CFLAGS) $$^ -o $$@
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_group,$(t))))

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -Iguest -c $< -o $@

UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/%)

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

# The randomized model tests, long: 10^7 steps (FUZZ_STEPS) from a random
# seed (FUZZ_SEED), printed so a failure can be replayed with
# `make fuzz FUZZ_SEED=N`.
FUZZ_STEPS ?= 10000000
ifeq ($(FUZZ_SEED),)
FUZZ_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
fuzz: $(BUILD)/tests/gmem
	@echo "fuzz: GMEM_SEED=$(FUZZ_SEED) GMEM_STEPS=$(FUZZ_STEPS)"
	@GMEM_SEED=$(FUZZ_SEED) GMEM_STEPS=$(FUZZ_STEPS) scripts/run-unit.sh $<

# --- running -----------------------------------------------------------------

# make run shows the serial output and keeps it in $(RUN_LOG), then draws
# its [stat] lines into $(RUN_PNG) (scripts/plot-stats).  A plot that
# cannot be drawn says why but does not change the run's status.
RUN_LOG := $(BUILD)/run-serial.log
RUN_PNG := $(BUILD)/run-memory.png
run: $(BUILD)/esp.img
	@rm -f $(RUN_PNG)
	@scripts/run-qemu.sh $(BUILD)/esp.img | tee $(RUN_LOG); status=$${PIPESTATUS[0]}; \
	if scripts/plot-stats $(RUN_LOG) $(RUN_PNG); then \
		echo "make run: serial log in $(RUN_LOG), memory plot in $(RUN_PNG)"; \
	else \
		echo "make run: no memory plot (plot-stats failed, above); serial log in $(RUN_LOG)"; \
	fi; \
	exit $$status

run-bochs: $(BUILD)/memvisor.iso
	scripts/run-bochs.sh $(BUILD)/memvisor.iso

gdb: $(BUILD)/esp.img $(BUILD)/hv.elf $(BUILD)/guest/guest64.elf
	scripts/gdb.sh $(BUILD)/esp.img $(BUILD)/hv.elf $(BUILD)/guest/guest64.elf

# make test builds with TEST_JOBS jobs (CI runs a plain `make test` on two
# cores), then runs everything (scripts/test-all.sh).
TEST_JOBS ?= 2
test:
	$(MAKE) -j$(TEST_JOBS) all $(UNIT_BINS) $(BUILD)/bzimage-old.bin $(BENCH_BUILD)/hv.elf
	scripts/test-all.sh

# Longer runs than make test can afford (tests/long/*.scn): memtest86+'s
# whole pass, bit-fade test included, on QEMU/SVM, and the Bochs runs of
# scenarios whose logic the vendor-neutral core owns.
test-long: all
	scripts/boot-test.sh -j 2 tests/long/*.scn

# The benchmarks (scripts/bench.sh): every scenario of tests/bench and the
# guest alone, or only BENCH="name ...".
BENCH ?=
bench: all $(BENCH_BUILD)/hv.elf
	scripts/bench.sh $(BENCH)

clean:
	rm -rf $(BUILD)

SHELL := /bin/bash
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
