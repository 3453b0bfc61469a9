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

section .rodata
global isr_table
isr_table:				; the stub addresses, for the IDT
%assign v 0
%rep 256
	dq	isr_ %+ v
%assign v v+1
%endrep
