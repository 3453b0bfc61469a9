; isr.asm - the 256 interrupt entry points and the common save/restore path.
;
; The CPU pushes SS, RSP, RFLAGS, CS, RIP and, for some exceptions, an error
; code.  Each stub makes the frame uniform by pushing a dummy error code
; where the CPU pushed none, then the vector number, and jumps to
; isr_common, which saves every general register and calls
; trap_dispatch(struct trap_frame *) (arch/x86/trap.h has the layout, which
; must match the push order below).  If trap_dispatch returns, the frame is
; restored and the interrupted code resumes with IRETQ.

bits 64
default rel

section .text

extern trap_dispatch

; Vectors for which the CPU pushes an error code (SDM Vol. 3A 6.13):
; #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.
%macro ISR 1
isr_%1:
%if (%1 = 8) || (%1 = 10) || (%1 = 11) || (%1 = 12) || (%1 = 13) || (%1 = 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
	push	qword %1		; the CPU pushed the error code
%else
	push	qword 0			; dummy error code
	push	qword %1
%endif
	jmp	isr_common
%endmacro

%assign v 0
%rep 256
	ISR v
%assign v v+1
%endrep

isr_common:
	cld
	push	rax
	push	rbx
	push	rcx
	push	rdx
	push	rsi
	push	rdi
	push	rbp
	push	r8
	push	r9
	push	r10
	push	r11
	push	r12
	push	r13
	push	r14
	push	r15
	mov	rdi, rsp		; struct trap_frame *
	mov	rbp, rsp		; realign the stack for the C call, keep
	and	rsp, -16		; the frame address in the callee-saved RBP
	call	trap_dispatch
	mov	rsp, rbp
	pop	r15
	pop	r14
	pop	r13
	pop	r12
	pop	r11
	pop	r10
	pop	r9
	pop	r8
	pop	rbp
	pop	rdi
	pop	rsi
	pop	rdx
	pop	rcx
	pop	rbx
	pop	rax
	add	rsp, 16			; vector and error code
	iretq

;
; void trap_deliver_nmi(void) - the NMI handler, entered as the CPU would
; enter it: SS, RSP, RFLAGS, CS pushed here, RIP by the CALL, so that the
; handler's IRETQ comes back to the LEAVE below (and ends NMI blocking).
; The CPU aligns RSP to 16 bytes before it pushes a frame; so do we.
global trap_deliver_nmi
trap_deliver_nmi:
	push	rbp
	mov	rbp, rsp
	and	rsp, -16
	mov	rax, ss
	push	rax			; SS
	push	rbp			; RSP after IRETQ: the frame pointer
	pushfq				; RFLAGS (IF is 0 here, and stays 0)
	mov	rax, cs
	push	rax			; CS
	call	[rel isr_table + 2 * 8]	; RIP; isr_2 ... IRETQ
	leave
	ret

;
; int nmi_latch_take(void (*send)(void)) - trap_block_nmis() in trap.c has
; pointed the NMI gate at nmi_latch; send() raises an NMI, and nmi_latch,
; on the NMI's IST stack, abandons that frame and returns 1 from here
; without IRETQ, so the CPU goes on blocking NMIs.  The NMI may arrive
; anywhere in send(), so every callee-saved register is saved here and
; restored by nmi_latch.
global nmi_latch_take, nmi_latch
nmi_latch_take:
	push	rbp
	mov	rbp, rsp
	push	rbx
	push	r12
	push	r13
	push	r14
	push	r15
	sub	rsp, 8			; 16-byte alignment for the call
	mov	[rel latch_rsp], rsp
	call	rdi
	mov	ecx, 100000000		; the NMI comes at an instruction
.wait:	pause				; boundary soon after the ICR write;
	dec	ecx			; if it never does, say so (0)
	jnz	.wait
	xor	eax, eax
	jmp	latch_out
nmi_latch:
	mov	eax, 1			; taken, and still blocked
latch_out:
	mov	rsp, [rel latch_rsp]
	add	rsp, 8
	pop	r15
	pop	r14
	pop	r13
	pop	r12
	pop	rbx
	pop	rbp
	ret

section .bss
latch_rsp:	resq 1

section .rodata
global isr_table
isr_table:				; the stub addresses, for the IDT
%assign v 0
%rep 256
	dq	isr_ %+ v
%assign v v+1
%endrep
