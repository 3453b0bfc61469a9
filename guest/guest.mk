# guest.mk - builds the guest kernel, $(BUILD)/guest.elf, and declares the
# guest's host unit-test group.  Included by the top-level Makefile, which
# defines BUILD; every variable here starts with GUEST_ so nothing collides
# with the hypervisor's build.
#
# The kernel is linked as ELF64 and converted to ELF32 (objcopy -O
# elf32-i386): QEMU's multiboot loader, like the spec, takes ELF32 images
# (an ELF64 one is refused unless the a.out-kludge address fields are used).
# The converted image keeps the 64-bit code bytes; only the container
# changes, and every address in it is below 4 GiB.

# Whatever the includer's default goal is (or is going to be), this file
# must not change it: saved here, restored at the end.
GUEST_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

GUEST_CC      ?= gcc
GUEST_LD      ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_NASM    ?= nasm

GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-mcmodel=small -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -fno-tree-loop-distribute-patterns \
	-fno-omit-frame-pointer -MMD -MP -Iguest
GUEST_NASMFLAGS := -f elf64 -g -Wall
GUEST_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 \
	-z noexecstack -T guest/linker.ld

GUEST_C_SRCS   := $(wildcard guest/*.c)
GUEST_ASM_SRCS := $(wildcard guest/*.asm)
GUEST_C_OBJS   := $(patsubst guest/%.c,$(BUILD)/guest/%.o,$(GUEST_C_SRCS))
GUEST_ASM_OBJS := $(patsubst guest/%.asm,$(BUILD)/guest/%.asm.o,$(GUEST_ASM_SRCS))
GUEST_OBJS     := $(GUEST_C_OBJS) $(GUEST_ASM_OBJS)

# Helpers with no inline assembly and no guest-only headers: the host
# compiler builds them into the unit tests.
GUEST_PURE_SRCS := guest/balloon_step.c guest/cmdline.c guest/format.c guest/frames.c \
	guest/mb.c guest/pattern.c guest/pt.c guest/region.c

# Static pattern rules: they win over any generic $(BUILD)/%.o rule of the
# includer, and a change to this file's flags rebuilds the guest.
$(GUEST_C_OBJS): $(BUILD)/guest/%.o: guest/%.c guest/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_ASM_OBJS): $(BUILD)/guest/%.asm.o: guest/%.asm guest/guest.mk
	@mkdir -p $(@D)
	$(GUEST_NASM) $(GUEST_NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

$(BUILD)/guest/guest64.elf: $(GUEST_OBJS) guest/linker.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

$(BUILD)/guest.elf: $(BUILD)/guest/guest64.elf
	$(GUEST_OBJCOPY) -O elf32-i386 $< $@

UNIT_TESTS += guest
UNIT_guest_SRCS := $(wildcard tests/test_guest_*.c) $(GUEST_PURE_SRCS)

-include $(GUEST_OBJS:.o=.d)

.DEFAULT_GOAL := $(GUEST_SAVED_DEFAULT_GOAL)
