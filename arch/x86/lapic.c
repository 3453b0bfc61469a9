/*
 * lapic.c - the hypervisor's interrupt sources: none but one timer.
 *
 * The 8259 PICs come out of the BIOS mapped onto vectors 0x08-0x0f, where
 * a spurious IRQ 7 would look like exception 15; they are remapped to
 * 0x20-0x2f and fully masked.  The local APIC (SDM Vol. 3A ch. 11) is
 * enabled with a spurious vector and every LVT entry masked except the
 * timer, which runs one-shot on VEC_TIMER.
 *
 * The hypervisor runs with RFLAGS.IF = 0.  When the timer fires while a
 * guest runs, the CPU exits (VMX external-interrupt exiting; SVM INTR
 * intercept) and leaves the interrupt pending; the core then opens a
 * one-instruction window (sti; nop; cli) in which timer_interrupt() below
 * takes it and sends the EOI.
 *
 * Calibration: the PIT's channel 2 counts 10 ms (its input is 1.193182 MHz
 * on every PC) while we watch the TSC and the APIC timer's count.
 */
#include "lapic.h"
#include "cpu.h"
#include "paging.h"
#include "trap.h"
#include "../../hv/fmt.h"

#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR 0x000ffffffffff000ull

/* Local APIC registers (SDM Vol. 3A Table 11-1), byte offsets. */
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define TIMER_DIV_16 0x3
/* ICR (SDM Vol. 3A 11.6.1): delivery mode NMI, physical destination, no
 * shorthand ("self" allows only fixed delivery), level assert, edge. */
#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_DELIVERY_PENDING (1u << 12)

/* 8259 PIC (ports and initialization words). */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086 0x01

/* 8254 PIT channel 2, gated through port 0x61 (no speaker). */
#define PIT_HZ 1193182ull
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_CH2_MODE0_LOHI 0xb0
#define PORT_61 0x61
#define PORT_61_GATE2 0x01
#define PORT_61_SPEAKER 0x02
#define PORT_61_OUT2 0x20
#define CALIBRATE_MS 10

u64 tsc_per_us;
u64 tsc_khz;
static u64 lapic_ticks_per_us;	/* at divide-by-16 */
static volatile u32 *lapic;
static volatile bool fired;

static u32 lapic_read(u32 reg)
{
	return lapic[reg / 4];
}

static void lapic_write(u32 reg, u32 v)
{
	lapic[reg / 4] = v;
}

static void pic_remap_and_mask(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, VEC_PIC_BASE);		/* ICW2: vector base */
	outb(PIC2_DATA, VEC_PIC_BASE + 8);
	outb(PIC1_DATA, 1u << 2);		/* ICW3: slave on IRQ 2 */
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, 0xff);			/* mask everything */
	outb(PIC2_DATA, 0xff);
}

static void timer_interrupt(struct trap_frame *f)
{
	(void)f;
	fired = true;
	lapic_write(LAPIC_EOI, 0);
}

/* Spurious vectors get no EOI (SDM 11.9); a masked PIC can still raise
 * its spurious IRQ 7/15. */
static void ignore_interrupt(struct trap_frame *f)
{
	(void)f;
}

static int calibrate(char *err, size_t errlen)
{
	u64 count = PIT_HZ * CALIBRATE_MS / 1000;
	u8 p61 = inb(PORT_61);

	outb(PORT_61, (u8)((p61 & ~PORT_61_SPEAKER) & ~PORT_61_GATE2));
	outb(PIT_CMD, PIT_CH2_MODE0_LOHI);
	outb(PIT_CH2, (u8)count);
	outb(PIT_CH2, (u8)(count >> 8));
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);

	outb(PORT_61, (u8)((p61 & ~PORT_61_SPEAKER) | PORT_61_GATE2));
	u32 apic0 = lapic_read(LAPIC_TIMER_CUR);
	u64 tsc0 = rdtsc();
	u64 spins = 0;
	while (!(inb(PORT_61) & PORT_61_OUT2)) {
		if (++spins > 1000000000ull) {
			fmt_snprintf(err, errlen, "the PIT never counted down: "
				     "cannot calibrate the timer");
			return -1;
		}
	}
	u64 tsc1 = rdtsc();
	u32 apic1 = lapic_read(LAPIC_TIMER_CUR);
	outb(PORT_61, p61);
	lapic_write(LAPIC_TIMER_INIT, 0);

	tsc_per_us = (tsc1 - tsc0) / (CALIBRATE_MS * 1000);
	tsc_khz = (tsc1 - tsc0) / CALIBRATE_MS;
	lapic_ticks_per_us = (apic0 - apic1) / (CALIBRATE_MS * 1000);
	if (!tsc_per_us || !lapic_ticks_per_us) {
		fmt_snprintf(err, errlen, "timer calibration failed: TSC %llu, "
			     "APIC timer %u ticks in %d ms",
			     (unsigned long long)(tsc1 - tsc0), apic0 - apic1,
			     CALIBRATE_MS);
		return -1;
	}
	return 0;
}

int lapic_init(char *err, size_t errlen)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);

	pic_remap_and_mask();
	for (int v = 0; v < 16; v++)
		trap_set_handler((u8)(VEC_PIC_BASE + v), ignore_interrupt);
	trap_set_handler(VEC_SPURIOUS, ignore_interrupt);
	trap_set_handler(VEC_TIMER, timer_interrupt);

	if (!(cpuid(1, 0).edx & (1u << 9))) {	/* CPUID.1:EDX.APIC */
		fmt_snprintf(err, errlen, "no local APIC");
		return -1;
	}
	wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
	paging_map_mmio(base & APIC_BASE_ADDR, PAGE_SIZE);
	lapic = (volatile u32 *)(base & APIC_BASE_ADDR);

	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	return calibrate(err, errlen);
}

void lapic_timer_arm(u64 us)
{
	u64 ticks = us * lapic_ticks_per_us;

	fired = false;
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);	/* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INIT, (u32)MIN(ticks, 0xffffffffull));
}

void lapic_timer_arm_until(u64 tsc)
{
	u64 now = rdtsc();
	u64 us = tsc > now ? (tsc - now + tsc_per_us - 1) / tsc_per_us : 1;

	lapic_timer_arm(us ? us : 1);
}

/*
 * Nothing to run before tsc (every VM asleep in HLT): halt the CPU until
 * the timer says it is time.  STI; HLT is one step for interrupts (the
 * STI shadow covers the HLT), so a tick that fired before it still ends
 * the HLT instead of being taken just before it.  Another interrupt (a
 * spurious one) ends a HLT early: the loop halts again.
 */
void lapic_wait_until(u64 tsc)
{
	lapic_timer_arm_until(tsc);
	while (rdtsc() < tsc && !fired)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	lapic_timer_stop();
}

void lapic_self_nmi(void)
{
	lapic_write(LAPIC_ICR_HI, lapic_read(LAPIC_ID) & 0xff000000u);
	lapic_write(LAPIC_ICR_LO, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
	while (lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING)
		;
}

/*
 * Writing 0 to the initial count stops the countdown, but a tick that has
 * already fired stays pending in the IRR while the hypervisor runs with
 * IF=0: left there, it would exit the next guest at its first entry and
 * end that slice after one exit.  So take it now, in the same window the
 * core opens after an external-interrupt exit, and forget it.
 */
bool lapic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_INIT, 0);
	__asm__ volatile("sti; nop; cli" ::: "memory");
	return lapic_timer_fired();
}

bool lapic_timer_fired(void)
{
	bool f = fired;
	fired = false;
	return f;
}
