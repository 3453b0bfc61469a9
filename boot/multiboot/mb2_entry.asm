; mb2_entry.asm - the multiboot2 path: GRUB (under Bochs, or any BIOS
; machine) loads hv.elf and enters here in 32-bit protected mode.
;
; Machine state on entry (Multiboot2 spec, section 3.3 "I386 machine state"):
; EAX = 0x36d76289, EBX = physical address of the multiboot2 information
; structure, protected mode with paging off, flat 4 GiB segments, interrupts
; off, and an undefined GDT (so we load our own before touching a segment
; register).
;
; Steps: check the magic and that the CPU has long mode, identity-map the
; first 4 GiB with 2 MiB pages, enable PAE + EFER.LME + paging, far-jump to
; 64-bit code, let mb2_boot_info() (C) turn the multiboot2 tags into a
; struct boot_info, then enter the hypervisor through hv_entry64 exactly as
; the UEFI loader does.  Before long mode there is no C, so the two early
; failures print a fixed message on COM1 themselves.

%define MB2_MAGIC          0xe85250d6	; header magic (spec 3.1.1)
%define MB2_ARCH_I386      0
%define MB2_BOOT_MAGIC     0x36d76289	; EAX on entry (spec 3.3)
%define MB2_TAG_END        0
%define MB2_TAG_INFO_REQ   1
%define MB2_TAG_ENTRY      3
%define MB2_TAG_MOD_ALIGN  6
%define MB2_INFO_CMDLINE   1
%define MB2_INFO_MODULE    3
%define MB2_INFO_MMAP      6

%define CR0_PE             (1 << 0)
%define CR0_PG             (1 << 31)
%define CR4_PAE            (1 << 5)
%define MSR_EFER           0xc0000080
%define EFER_LME           (1 << 8)
%define PTE_P              (1 << 0)
%define PTE_W              (1 << 1)
%define PTE_PS             (1 << 7)
%define CPUID_EXT_LM       (1 << 29)	; CPUID 0x80000001 EDX

%define COM1               0x3f8
%define SEG_CODE64         0x08
%define SEG_DATA           0x10

section .multiboot2 progbits alloc noexec nowrite align=8

; The header must lie 8-byte aligned within the file's first 32 KiB; the
; linker script puts this section first.
mb2_header:
	dd	MB2_MAGIC
	dd	MB2_ARCH_I386
	dd	mb2_header_end - mb2_header
	dd	-(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	align	8			; information request: what we rely on
	dw	MB2_TAG_INFO_REQ, 0
	dd	8 + 3 * 4
	dd	MB2_INFO_CMDLINE, MB2_INFO_MODULE, MB2_INFO_MMAP

	align	8			; enter at the 32-bit stub below, not
	dw	MB2_TAG_ENTRY, 0	; at the ELF entry (the 64-bit one the
	dd	12			; UEFI loader uses)
	dd	mb2_entry32

	align	8			; page-aligned modules
	dw	MB2_TAG_MOD_ALIGN, 0
	dd	8

	align	8
	dw	MB2_TAG_END, 0
	dd	8
mb2_header_end:

section .text progbits alloc exec nowrite align=16
bits 32

global mb2_entry32
extern hv_boot_stack_top
extern hv_entry64
extern mb2_boot_info

mb2_entry32:
	cli
	cld
	mov	esp, hv_boot_stack_top
	mov	ebp, ebx		; keep the MBI address: CPUID clobbers EBX
	cmp	eax, MB2_BOOT_MAGIC
	jne	.not_multiboot2

	mov	eax, 0x80000000		; is there an extended leaf 0x80000001,
	cpuid				; and does it report long mode?
	cmp	eax, 0x80000001
	jb	.no_long_mode
	mov	eax, 0x80000001
	cpuid
	test	edx, CPUID_EXT_LM
	jz	.no_long_mode

	; PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 512 2 MiB
	; pages each: identity map of 0..4 GiB.  Enough to reach the image,
	; the multiboot2 structures and GRUB's modules, which all lie low.
	mov	edi, mb2_pml4
	mov	ecx, (6 * 4096) / 4
	xor	eax, eax
	rep	stosd
	mov	dword [mb2_pml4], mb2_pdpt + (PTE_P | PTE_W)
	mov	edi, mb2_pdpt
	mov	eax, mb2_pd + (PTE_P | PTE_W)
	mov	ecx, 4
.fill_pdpt:
	mov	[edi], eax
	add	eax, 4096
	add	edi, 8
	loop	.fill_pdpt
	mov	edi, mb2_pd		; 2048 entries: 2 MiB * i, present,
	mov	eax, PTE_P | PTE_W | PTE_PS	; writable, large
	xor	edx, edx		; high dword of the physical address
	mov	ecx, 2048
.fill_pd:
	mov	[edi], eax
	mov	[edi + 4], edx
	add	eax, 0x200000
	adc	edx, 0
	add	edi, 8
	loop	.fill_pd

	mov	eax, cr4		; PAE is required for long mode
	or	eax, CR4_PAE
	mov	cr4, eax
	mov	eax, mb2_pml4
	mov	cr3, eax
	mov	ecx, MSR_EFER		; long mode enable; it becomes active
	rdmsr				; when paging is turned on
	or	eax, EFER_LME
	wrmsr
	mov	eax, cr0
	or	eax, CR0_PG | CR0_PE
	mov	cr0, eax
	lgdt	[mb2_gdt_ptr]		; a 64-bit code segment to jump into
	jmp	SEG_CODE64:.long_mode

.not_multiboot2:
	mov	esi, msg_not_mb2
	jmp	.die
.no_long_mode:
	mov	esi, msg_no_lm
.die:					; print [esi] on COM1, then stop
	mov	dx, COM1 + 5		; LSR: wait until the transmitter is empty
.wait:
	in	al, dx
	test	al, 0x20
	jz	.wait
	mov	dx, COM1
	lodsb
	test	al, al
	jz	.halt
	out	dx, al
	jmp	.die
.halt:
	hlt
	jmp	.halt

bits 64
.long_mode:
	mov	ax, SEG_DATA
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	xor	eax, eax
	mov	fs, ax
	mov	gs, ax
	mov	esp, hv_boot_stack_top	; 32-bit writes zero the upper half,
					; which is undefined after the switch
	mov	edi, ebp		; mb2_boot_info(mbi) -> struct boot_info *
	xor	ebp, ebp		; and end backtraces there
	call	mb2_boot_info
	mov	rdi, rax
	jmp	hv_entry64

section .rodata progbits alloc noexec nowrite align=8

msg_not_mb2:	db "memvisor: not started by a multiboot2 loader (bad EAX magic)", 13, 10
		db "HV RESULT: FAIL not started by a multiboot2 loader", 13, 10, 0
msg_no_lm:	db "memvisor: this CPU has no long mode (CPUID 0x80000001 EDX.LM = 0)", 13, 10
		db "HV RESULT: FAIL CPU has no long mode", 13, 10, 0

align 8
mb2_gdt:
	dq	0			; null
	dq	0x00af9a000000ffff	; 0x08: 64-bit code, present, DPL 0
	dq	0x00cf92000000ffff	; 0x10: data, present, writable
mb2_gdt_ptr:
	dw	mb2_gdt_ptr - mb2_gdt - 1
	dd	mb2_gdt

section .bss.pagetables nobits alloc write align=4096

mb2_pml4:	resb 4096
mb2_pdpt:	resb 4096
mb2_pd:		resb 4 * 4096
