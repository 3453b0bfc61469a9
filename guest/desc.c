/*
 * desc.c - descriptor tables: the GDT the guest runs on after boot (kernel
 * and user segments), a TSS for the #DF stack and the stack of interrupts
 * from ring 3, and the 256-entry IDT.
 *
 * At boot only the 32 exception vectors are present; guest/timer.c adds
 * its two interrupt vectors (desc_set_gate) before it enables interrupts.
 * Any other interrupt hits a not-present gate and becomes a #GP that
 * trap.c reports, instead of running random code.
 *
 * #DF uses IST1 so a kernel-stack overflow (a #PF on the guard page, which
 * cannot push its frame) still reaches a handler that can print.
 */
#include "desc.h"

#include <stdint.h>

#include "trap.h"

#define TSS_SEL 0x18

/* Segment descriptors (Intel SDM Vol. 3A, 3.4.5): flat, present, DPL 0,
 * accessed preset; code has L=1 (64-bit). */
#define GDT_CODE64 0x00AF9B000000FFFFull
#define GDT_DATA 0x00CF93000000FFFFull
/* The same with DPL 3, for the hostile actions that run code in ring 3. */
#define GDT_USER_CODE64 0x00AFFB000000FFFFull
#define GDT_USER_DATA 0x00CFF3000000FFFFull
#define GDT_TSS_TYPE 0x9ull /* available 64-bit TSS (SDM 8.2.3) */
#define GDT_PRESENT (1ull << 47)

/* IDT gate (SDM 6.14.1): present, DPL 0, 64-bit interrupt gate (type 0xE),
 * so IF is cleared on entry. */
#define IDT_INTERRUPT_GATE 0x8E
#define IDT_DPL_SHIFT 5
#define DF_IST 1

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct table_register {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t trap_stubs[32];
extern char df_stack_top[];

static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));

/* A 64-bit TSS descriptor takes two GDT slots (SDM 8.2.3, figure 8-4). */
static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
	slot[0] = (limit & 0xFFFFull) | ((base & 0xFFFFFFull) << 16) |
		  (GDT_TSS_TYPE << 40) | GDT_PRESENT |
		  (((uint64_t)limit >> 16 & 0xF) << 48) |
		  ((base >> 24 & 0xFF) << 56);
	slot[1] = base >> 32;
}

static void set_gate(int vector, uint64_t handler, int ist, int dpl)
{
	idt[vector] = (struct idt_gate){
		.offset_low = (uint16_t)handler,
		.selector = KERNEL_CS,
		.ist = (uint8_t)ist,
		.type_attr = (uint8_t)(IDT_INTERRUPT_GATE | dpl << IDT_DPL_SHIFT),
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_high = (uint32_t)(handler >> 32),
	};
}

static void load_gdt(void)
{
	struct table_register r = { sizeof(gdt) - 1, (uint64_t)gdt };

	gdt[0] = 0;
	gdt[1] = GDT_CODE64;
	gdt[2] = GDT_DATA;
	tss.ist[DF_IST - 1] = (uint64_t)df_stack_top;
	tss.iomap_base = sizeof(tss); /* no I/O bitmap */
	set_tss_descriptor(&gdt[3], (uint64_t)&tss, sizeof(tss) - 1);
	gdt[5] = GDT_USER_CODE64;
	gdt[6] = GDT_USER_DATA;

	/* CS can only be reloaded by a far transfer: push the new CS and a
	 * return address, then LRETQ. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(r), "i"(KERNEL_CS), "r"(KERNEL_DS), "r"(TSS_SEL)
			 : "rax", "memory");
}

static void load_idt(void)
{
	struct table_register r = { sizeof(idt) - 1, (uint64_t)idt };

	for (int v = 0; v < 32; v++)
		set_gate(v, trap_stubs[v], v == VEC_DF ? DF_IST : 0, 0);
	__asm__ volatile("lidt %0" : : "m"(r) : "memory");
}

void desc_init(void)
{
	load_gdt();
	load_idt();
}

void desc_set_kernel_stack(uint64_t rsp0)
{
	tss.rsp[0] = rsp0;
}

void desc_set_gate(int vector, uint64_t handler, int dpl)
{
	set_gate(vector, handler, 0, dpl);
}

void desc_reset_gate(int vector)
{
	if (vector < 32)
		set_gate(vector, trap_stubs[vector], vector == VEC_DF ? DF_IST : 0,
			 0);
	else
		idt[vector] = (struct idt_gate){ 0 };
}

void desc_triple_fault(void)
{
	struct table_register empty = { 0, 0 };

	/* With no gate for #UD the CPU tries #GP, then #DF, both also
	 * missing: a triple fault, i.e. shutdown (SDM 6.15, "Interrupt 8"). */
	__asm__ volatile("lidt %0\n\t"
			 "ud2"
			 :
			 : "m"(empty)
			 : "memory");
	__builtin_unreachable();
}
