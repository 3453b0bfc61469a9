/*
 * guest_regs.c - the debug registers no world switch saves, and the CR4
 * bits a guest may set (guest_regs.h says why).
 */
#include "guest_regs.h"
#include "cr_check.h"

/* Whose DR0-DR3/DR6 the CPU holds now (NULL: nobody's we know of). */
static struct guest_dregs *loaded;
static bool loaded_dr6;

void guest_dregs_init(struct guest_dregs *d)
{
	*d = (struct guest_dregs){ .dr6 = DR6_RESET };
}

void guest_dregs_load(struct guest_dregs *d, bool dr6)
{
	if (loaded == d && (loaded_dr6 || !dr6))
		return;
	write_dr0(d->dr[0]);
	write_dr1(d->dr[1]);
	write_dr2(d->dr[2]);
	write_dr3(d->dr[3]);
	if (dr6)
		write_dr6(d->dr6);
	loaded = d;
	loaded_dr6 = dr6;
}

void guest_dregs_save(struct guest_dregs *d, bool dr6)
{
	d->dr[0] = read_dr0();
	d->dr[1] = read_dr1();
	d->dr[2] = read_dr2();
	d->dr[3] = read_dr3();
	if (dr6)
		d->dr6 = read_dr6();
}

void guest_dregs_forget(struct guest_dregs *d)
{
	if (loaded == d)
		loaded = NULL;
}

u64 *guest_gpr(struct guest_regs *r, unsigned n)
{
	u64 *const regs[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
		&r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
		&r->r12, &r->r13, &r->r14, &r->r15,
	};
	return regs[n & 15];
}

u64 guest_efer_valid_bits(void)
{
	u32 edx = cpuid(0x80000000, 0).eax >= 0x80000001
			  ? cpuid(0x80000001, 0).edx
			  : 0;

	return EFER_GUEST_BITS(edx & (1u << 20), edx & (1u << 11));
}

u64 guest_cr4_valid_bits(void (*adjust)(u32 leaf, u32 subleaf,
					struct cpuid_regs *c))
{
	struct cpuid_regs l1 = cpuid(1, 0), l7 = { 0, 0, 0, 0 };

	if (cpuid(0, 0).eax >= 7)
		l7 = cpuid(7, 0);
	adjust(1, 0, &l1);
	adjust(7, 0, &l7);
	return cr4_valid_bits(&l1, &l7);
}
