/*
 * gdt.c - our own GDT and TSS, replacing whatever the loader left.
 *
 * Long mode ignores segment bases and limits, so the GDT holds only what the
 * CPU still insists on: a 64-bit code segment, a data segment for SS/DS, and
 * a TSS descriptor.  The TSS matters for one thing here, the interrupt stack
 * table: #DF, NMI and #MC switch to known-good stacks, so a fault caused by
 * a broken stack pointer can still be reported.
 */
#include "gdt.h"
#include "../../hv/string.h"

/* The 64-bit TSS (SDM Vol. 3A 8.7, Figure 8-11). */
struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

struct gdt_ptr {
	u16 limit;
	u64 base;
} __packed;

/* Descriptor bits (SDM Vol. 3A 3.4.5). */
#define DESC_P (1ull << 47)
#define DESC_S (1ull << 44)		/* code/data, not system */
#define DESC_CODE (0xaull << 40)	/* execute/read */
#define DESC_DATA (0x2ull << 40)	/* read/write */
#define DESC_L (1ull << 53)		/* 64-bit code */
#define DESC_G (1ull << 55)
#define DESC_DB (1ull << 54)
#define DESC_LIMIT_MAX (0xfull << 48 | 0xffff)
#define DESC_TSS_AVAIL (0x9ull << 40)

extern u8 hv_ist_df_top[], hv_ist_nmi_top[], hv_ist_mc_top[];

static struct tss64 tss __aligned(16);
static u64 gdt[5] __aligned(16);

void gdt_init(void)
{
	u64 base = (u64)&tss, limit = sizeof(tss) - 1;
	struct gdt_ptr ptr = { sizeof(gdt) - 1, (u64)gdt };

	memset(&tss, 0, sizeof(tss));
	tss.ist[IST_DF - 1] = (u64)hv_ist_df_top;
	tss.ist[IST_NMI - 1] = (u64)hv_ist_nmi_top;
	tss.ist[IST_MC - 1] = (u64)hv_ist_mc_top;
	tss.iomap_base = sizeof(tss);	/* no I/O bitmap */

	gdt[0] = 0;
	gdt[GDT_CODE64 / 8] = DESC_P | DESC_S | DESC_CODE | DESC_L | DESC_G |
			      DESC_LIMIT_MAX;
	gdt[GDT_DATA / 8] = DESC_P | DESC_S | DESC_DATA | DESC_DB | DESC_G |
			    DESC_LIMIT_MAX;
	/* A 16-byte system descriptor: low half as usual, high half = base 63:32. */
	gdt[GDT_TSS / 8] = DESC_P | DESC_TSS_AVAIL | (limit & 0xffff) |
			   ((base & 0xffffff) << 16) |
			   (((base >> 24) & 0xff) << 56) |
			   (((limit >> 16) & 0xf) << 48);
	gdt[GDT_TSS / 8 + 1] = base >> 32;

	/*
	 * CS can only be reloaded by a far transfer: push the selector and a
	 * return address and "return" to the next instruction.
	 */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "ltr %w3"
			 :
			 : "m"(ptr), "i"(GDT_CODE64), "r"(GDT_DATA),
			   "r"(GDT_TSS)
			 : "rax", "memory");
}
