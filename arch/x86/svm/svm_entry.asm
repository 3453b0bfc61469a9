; svm_entry.asm - one trip into an SVM guest and back.
;
; void svm_enter(u64 vmcb_pa, struct guest_regs *regs, u64 host_vmcb_pa)
;
; VMRUN loads and saves only part of the guest state from the VMCB; the
; rest (FS, GS, TR, LDTR, KernelGSBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER)
; moves with VMLOAD/VMSAVE.  So: VMLOAD the guest's, VMRUN, VMSAVE the
; guest's, VMLOAD our own back (saved once at enable time) - above all TR,
; whose IST stacks our exception handlers need.  RAX must hold the VMCB's
; address for all three instructions; the guest's RAX lives in the VMCB,
; the other general registers are swapped here (struct guest_regs in
; hv/vm.h; the offsets below must match it).  GIF is cleared around the
; switch so no interrupt lands half-way (APM 15.17).

bits 64
default rel

%define R_RAX 0
%define R_RBX 8
%define R_RCX 16
%define R_RDX 24
%define R_RSI 32
%define R_RDI 40
%define R_RBP 48
%define R_R8 56
%define R_R9 64
%define R_R10 72
%define R_R11 80
%define R_R12 88
%define R_R13 96
%define R_R14 104
%define R_R15 112

section .text
global svm_enter

svm_enter:
	push	rbp			; the callee-saved registers of the
	push	rbx			; System V ABI: the guest will
	push	r12			; overwrite them
	push	r13
	push	r14
	push	r15
	push	rdx			; [rsp+8]: host VMCB (for VMLOAD after)
	push	rsi			; [rsp]:   struct guest_regs *

	clgi				; GIF=0: no interrupt until VMRUN
	sti				; host IF=1: with V_INTR_MASKING the
					; host's IF decides whether a physical
					; interrupt (our timer) exits the guest
	mov	rax, rdi		; RAX = guest VMCB for VMLOAD/VMRUN/VMSAVE
	mov	rbx, [rsi + R_RBX]	; the guest's registers (RSI last: it
	mov	rcx, [rsi + R_RCX]	; is the pointer)
	mov	rdx, [rsi + R_RDX]
	mov	rdi, [rsi + R_RDI]
	mov	rbp, [rsi + R_RBP]
	mov	r8, [rsi + R_R8]
	mov	r9, [rsi + R_R9]
	mov	r10, [rsi + R_R10]
	mov	r11, [rsi + R_R11]
	mov	r12, [rsi + R_R12]
	mov	r13, [rsi + R_R13]
	mov	r14, [rsi + R_R14]
	mov	r15, [rsi + R_R15]
	mov	rsi, [rsi + R_RSI]

	vmload				; (RAX) guest FS/GS/TR/LDTR/syscall MSRs
	vmrun				; (RAX) run until #VMEXIT; RAX is ours again
	vmsave				; (RAX) keep the guest's hidden state

	push	rax			; free a register for the regs pointer
	mov	rax, [rsp + 8]		; struct guest_regs *
	mov	[rax + R_RBX], rbx
	mov	[rax + R_RCX], rcx
	mov	[rax + R_RDX], rdx
	mov	[rax + R_RSI], rsi
	mov	[rax + R_RDI], rdi
	mov	[rax + R_RBP], rbp
	mov	[rax + R_R8], r8
	mov	[rax + R_R9], r9
	mov	[rax + R_R10], r10
	mov	[rax + R_R11], r11
	mov	[rax + R_R12], r12
	mov	[rax + R_R13], r13
	mov	[rax + R_R14], r14
	mov	[rax + R_R15], r15
	pop	rax			; (the guest VMCB; not needed)

	mov	rax, [rsp + 8]		; our own TR, FS, GS, ... back
	vmload				; (RAX)
	cli				; the hypervisor runs with IF=0; a
	stgi				; pending timer stays pending for the
					; core to take (hv/exit.c)

	add	rsp, 16
	pop	r15
	pop	r14
	pop	r13
	pop	r12
	pop	rbx
	pop	rbp
	ret
