/*
 * vmcb.h - the virtual machine control block (AMD APM Vol. 2, Appendix B,
 * "Layout of VMCB"), as byte offsets into the 4 KiB page.  Names follow the
 * APM.  Only the fields memvisor uses are listed.
 */
#ifndef ARCH_X86_SVM_VMCB_H
#define ARCH_X86_SVM_VMCB_H

/* Control area (Table B-1). */
#define VMCB_INTERCEPT_CR 0x000		/* u32: reads 15:0, writes 31:16 */
#define VMCB_INTERCEPT_EXC 0x008	/* u32: one bit per vector */
#define VMCB_INTERCEPT_MISC1 0x00c	/* u32 */
#define VMCB_INTERCEPT_MISC2 0x010	/* u32 */
#define VMCB_IOPM_BASE_PA 0x040		/* u64 */
#define VMCB_MSRPM_BASE_PA 0x048	/* u64 */
#define VMCB_GUEST_ASID 0x058		/* u32 */
#define VMCB_TLB_CONTROL 0x05c		/* u8 */
#define VMCB_VINTR 0x060		/* u64: V_TPR, V_IRQ, ..., V_INTR_MASKING */
#define VMCB_INTERRUPT_SHADOW 0x068	/* u64 */
#define VMCB_EXITCODE 0x070		/* u64 */
#define VMCB_EXITINFO1 0x078		/* u64 */
#define VMCB_EXITINFO2 0x080		/* u64 */
#define VMCB_EXITINTINFO 0x088		/* u64 */
#define VMCB_NP_ENABLE 0x090		/* u64: bit 0 nested paging */
#define VMCB_EVENTINJ 0x0a8		/* u64 */
#define VMCB_N_CR3 0x0b0		/* u64: nested page table root */
#define VMCB_CLEAN_BITS 0x0c0		/* u32 */
#define VMCB_NRIP 0x0c8			/* u64: next RIP (NRIP save) */

/* INTERCEPT_CR: bit n intercepts reads of CRn, bit 16 + n writes. */
#define INTERCEPT_CR_READ(n) (1u << (n))
#define INTERCEPT_CR_WRITE(n) (1u << (16 + (n)))

/* INTERCEPT_MISC1 bits (vector 3 in the APM). */
#define INTERCEPT_INTR (1u << 0)
#define INTERCEPT_NMI (1u << 1)
#define INTERCEPT_VINTR (1u << 4)	/* a virtual interrupt is taken */
#define INTERCEPT_CPUID (1u << 18)
#define INTERCEPT_INVD (1u << 22)
#define INTERCEPT_HLT (1u << 24)
#define INTERCEPT_INVLPG (1u << 25)
#define INTERCEPT_INVLPGA (1u << 26)
#define INTERCEPT_IOIO_PROT (1u << 27)
#define INTERCEPT_MSR_PROT (1u << 28)
#define INTERCEPT_SHUTDOWN (1u << 31)
/* INTERCEPT_MISC2 bits (vector 4). */
#define INTERCEPT_VMRUN (1u << 0)
#define INTERCEPT_VMMCALL (1u << 1)
#define INTERCEPT_VMLOAD (1u << 2)
#define INTERCEPT_VMSAVE (1u << 3)
#define INTERCEPT_STGI (1u << 4)
#define INTERCEPT_CLGI (1u << 5)
#define INTERCEPT_SKINIT (1u << 6)
#define INTERCEPT_XSETBV (1u << 13)

#define TLB_CONTROL_DO_NOTHING 0
#define TLB_CONTROL_FLUSH_ALL 1		/* every ASID's entries */
#define TLB_CONTROL_FLUSH_ASID 3	/* this guest's entries (FlushByAsid) */
#define VINTR_MASKING (1ull << 24)
#define VINTR_TPR_MASK 0xfull	/* V_TPR: the guest's CR8 */
/* A virtual interrupt request (APM 15.21.4), used only as an interrupt
 * window: V_IRQ with the highest priority, ignoring V_TPR, taken when the
 * guest can take interrupts, and intercepted (VMEXIT_VINTR) before it is
 * delivered. */
#define VINTR_V_IRQ (1ull << 8)
#define VINTR_PRIO_MAX (0xfull << 16)
#define VINTR_IGN_TPR (1ull << 20)
/* INTERRUPT_SHADOW bit 0: the guest is in an STI or MOV SS shadow. */
#define INTERRUPT_SHADOW_ACTIVE 1ull

/* EVENTINJ / EXITINTINFO (APM 15.20). */
#define EVENT_VECTOR_MASK 0xffull
#define EVENT_TYPE_MASK (7ull << 8)
#define EVENT_TYPE_INTR (0ull << 8)	/* external interrupt */
#define EVENT_TYPE_EXCEPTION (3ull << 8)
#define EVENT_ERROR_VALID (1ull << 11)
#define EVENT_VALID (1ull << 31)

/* State save area (Table B-2), offsets from the start of the VMCB. */
#define VMCB_ES 0x400			/* each segment: u16 selector, */
#define VMCB_CS 0x410			/* u16 attrib, u32 limit, u64 base */
#define VMCB_SS 0x420
#define VMCB_DS 0x430
#define VMCB_FS 0x440
#define VMCB_GS 0x450
#define VMCB_GDTR 0x460
#define VMCB_LDTR 0x470
#define VMCB_IDTR 0x480
#define VMCB_TR 0x490
#define VMCB_CPL 0x4cb			/* u8 */
#define VMCB_EFER 0x4d0
#define VMCB_CR4 0x548
#define VMCB_CR3 0x550
#define VMCB_CR0 0x558
#define VMCB_DR7 0x560
#define VMCB_DR6 0x568
#define VMCB_RFLAGS 0x570
#define VMCB_RIP 0x578
#define VMCB_RSP 0x5d8
#define VMCB_RAX 0x5f8
#define VMCB_CR2 0x640
#define VMCB_G_PAT 0x668

/* EXITINFO1 of a MOV-CR intercept with decode assists (APM 15.33.2):
 * bit 63 says it was a MOV, bits 3:0 name the GPR. */
#define CR_INFO_MOV (1ull << 63)
#define CR_INFO_GPR_MASK 0xfull

#define ATTR_L (1u << 9)		/* CS.L in the VMCB attribute format */

#define SEG_SELECTOR 0
#define SEG_ATTRIB 2
#define SEG_LIMIT 4
#define SEG_BASE 8
#define SEG_SIZE 0x10			/* ES, CS, SS, DS, FS, GS in order */
#define SEG_ATTR_L (1u << 9)		/* descriptor bit 53 */
#define SEG_ATTR_DB (1u << 10)		/* descriptor bit 54 */

/* Exit codes (APM Appendix C). */
#define VMEXIT_CR0_READ 0x00		/* + n for CRn */
#define VMEXIT_CR0_WRITE 0x10		/* + n for CRn */
#define VMEXIT_EXCP_BASE 0x40
#define VMEXIT_INTR 0x60
#define VMEXIT_NMI 0x61
#define VMEXIT_VINTR 0x64
#define VMEXIT_CPUID 0x72
#define VMEXIT_INVD 0x76
#define VMEXIT_HLT 0x78
#define VMEXIT_INVLPG 0x79
#define VMEXIT_INVLPGA 0x7a
#define VMEXIT_IOIO 0x7b
#define VMEXIT_MSR 0x7c
#define VMEXIT_SHUTDOWN 0x7f
#define VMEXIT_VMRUN 0x80
#define VMEXIT_VMMCALL 0x81
#define VMEXIT_VMLOAD 0x82
#define VMEXIT_VMSAVE 0x83
#define VMEXIT_STGI 0x84
#define VMEXIT_CLGI 0x85
#define VMEXIT_SKINIT 0x86
#define VMEXIT_XSETBV 0x8d
#define VMEXIT_NPF 0x400
#define VMEXIT_INVALID (~0ull)

/* IOIO EXITINFO1 (APM 15.10.2). */
#define IOIO_TYPE_IN (1ull << 0)
#define IOIO_STR (1ull << 2)
#define IOIO_REP (1ull << 3)
#define IOIO_SZ8 (1ull << 4)
#define IOIO_SZ16 (1ull << 5)
#define IOIO_SZ32 (1ull << 6)
#define IOIO_A16 (1ull << 7)
#define IOIO_A32 (1ull << 8)
#define IOIO_A64 (1ull << 9)
#define IOIO_PORT_SHIFT 16

/* Nested page fault EXITINFO1: a #PF error code (APM 15.25.6). */
#define NPF_P (1ull << 0)
#define NPF_RW (1ull << 1)
#define NPF_ID (1ull << 4)
/* Bit 33: the fault happened during the guest's page-table walk, not at
 * its final translation (APM Vol. 2, 15.25.6). */
#define NPF_GUEST_PT_WALK (1ull << 33)

#endif
