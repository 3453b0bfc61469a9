; entry.asm - the hypervisor's first instructions, and its stacks.
;
; hv_entry64 is where every loader jumps, in 64-bit mode with paging on and
; an identity map (UEFI's own, or the multiboot2 stub's), interrupts off and
; RDI = physical address of a struct boot_info.  It switches to our own boot
; stack at once, because the loader's stack lives in memory the frame
; allocator is about to hand out, and calls hv_main(boot_info), which never
; returns.

bits 64
default rel

%define STACK_BOOT_SIZE  (32 * 1024)
%define STACK_IST_SIZE   (8 * 1024)
%define GUARD_SIZE       4096

section .text.entry progbits alloc exec nowrite align=16

global hv_entry64
extern hv_main

hv_entry64:
	cli
	cld				; the C ABI expects DF clear
	lea	rsp, [hv_boot_stack_top]
	xor	ebp, ebp		; a zero frame pointer ends every backtrace
	push	rbp			; fake return address: keeps RSP 16-byte
	push	rbp			; aligned at the call, as the ABI requires
	call	hv_main
.hang:					; hv_main never returns; if it did, stop here
	cli
	hlt
	jmp	.hang

; Stacks, each above an unmapped guard page (the hypervisor's page tables
; leave the guard pages out), so an overflow faults instead of silently
; overwriting whatever lies below.  #DF, NMI and #MC run on their own stacks
; through the TSS's interrupt stack table, so a boot-stack overflow still
; reaches the exception handler.
section .bss.stacks nobits alloc write align=4096

global hv_stacks_start, hv_stacks_end
global hv_boot_stack_bottom, hv_boot_stack_top
global hv_ist_df_top, hv_ist_nmi_top, hv_ist_mc_top
global hv_guard_boot, hv_guard_df, hv_guard_nmi, hv_guard_mc

hv_stacks_start:
hv_guard_boot:		resb GUARD_SIZE
hv_boot_stack_bottom:	resb STACK_BOOT_SIZE
hv_boot_stack_top:
hv_guard_df:		resb GUARD_SIZE
			resb STACK_IST_SIZE
hv_ist_df_top:
hv_guard_nmi:		resb GUARD_SIZE
			resb STACK_IST_SIZE
hv_ist_nmi_top:
hv_guard_mc:		resb GUARD_SIZE
			resb STACK_IST_SIZE
hv_ist_mc_top:
hv_stacks_end:
