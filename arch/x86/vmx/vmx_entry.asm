; vmx_entry.asm - entering a VMX guest and coming back (SDM Vol. 3C 26, 27).
;
; enum vmx_status vmx_enter(struct guest_regs *regs, u64 launched)
;
; VM entry loads the guest's RIP, RSP, RFLAGS, control registers and
; segments from the VMCS, but none of its other general registers: those
; are whatever the CPU holds at VMLAUNCH/VMRESUME, so we load them from
; regs here.  A VM exit in turn loads the host's RIP and RSP from the VMCS
; and nothing else: every general register still holds the guest's value
; when vmx_exit_stub runs, and the stub must save them before it uses any.
;
; The host stack is the caller's: HOST_RSP is written, right before the
; entry, with RSP as it is after our pushes, so at the exit the stack holds
; exactly what vmx_enter pushed and the stub can unwind it and return to
; vmx_enter's caller as if vmx_enter had returned normally.
;
; Stack while the guest runs (top = lowest address = HOST_RSP):
;     [rsp]       regs pointer (to find struct guest_regs at the exit)
;     [rsp+8..]   r15 r14 r13 r12 rbx rbp  (the SysV callee-saved set)
;     [rsp+56]    return address into vmx_vcpu_run
;
; Return value: 0 (VMX_OK) after a VM exit; 1 (VMX_FAIL_INVALID, CF=1) or
; 2 (VMX_FAIL_VALID, ZF=1, reason in VM_INSTRUCTION_ERROR) if VMLAUNCH or
; VMRESUME fell through without entering the guest.

bits 64
default rel

%define HOST_RSP 0x6c14			; VMCS field encoding, SDM Vol. 3D B.4.4

; struct guest_regs (hv/vm.h): the offsets its field order gives.
%define R_RAX	0
%define R_RBX	8
%define R_RCX	16
%define R_RDX	24
%define R_RSI	32
%define R_RDI	40
%define R_RBP	48
%define R_R8	56
%define R_R9	64
%define R_R10	72
%define R_R11	80
%define R_R12	88
%define R_R13	96
%define R_R14	104
%define R_R15	112

section .text

global vmx_enter
global vmx_exit_stub

vmx_enter:
	push	rbp			; callee-saved registers of the caller:
	push	rbx			; the guest is about to overwrite them
	push	r12
	push	r13
	push	r14
	push	r15
	push	rdi			; regs pointer, for the exit stub

	mov	rax, HOST_RSP		; the exit returns to this very stack
	vmwrite	rax, rsp		; (Intel order: field, value)
	jbe	.vmwrite_failed		; CF or ZF: VMWRITE failed (no VMCS?)

	test	rsi, rsi		; launched? (flags survive the MOVs below)

	mov	rax, [rdi + R_RAX]	; guest registers; RDI last, it is the base
	mov	rbx, [rdi + R_RBX]
	mov	rcx, [rdi + R_RCX]
	mov	rdx, [rdi + R_RDX]
	mov	rsi, [rdi + R_RSI]
	mov	rbp, [rdi + R_RBP]
	mov	r8,  [rdi + R_R8]
	mov	r9,  [rdi + R_R9]
	mov	r10, [rdi + R_R10]
	mov	r11, [rdi + R_R11]
	mov	r12, [rdi + R_R12]
	mov	r13, [rdi + R_R13]
	mov	r14, [rdi + R_R14]
	mov	r15, [rdi + R_R15]
	mov	rdi, [rdi + R_RDI]

	jnz	.resume			; ZF from the TEST: launched != 0
	vmlaunch			; success does not come back here: the
	jmp	.failed			; guest runs, and exits to vmx_exit_stub
.resume:
	vmresume

.failed:				; entry failed; CF/ZF say how
	mov	eax, 2			; VMX_FAIL_VALID (ZF=1) unless CF=1
	jnc	.unwind			; MOV leaves the flags alone
	mov	eax, 1			; VMX_FAIL_INVALID
	jmp	.unwind

.vmwrite_failed:
	mov	eax, 2			; as above: CF=1 -> 1, else 2
	jnc	.unwind
	mov	eax, 1

.unwind:				; back to the caller; the guest registers
	pop	rdi			; loaded above are discarded (regs in
	pop	r15			; memory is unchanged)
	pop	r14
	pop	r13
	pop	r12
	pop	rbx
	pop	rbp
	ret

; HOST_RIP.  RSP = HOST_RSP (pointing at the saved regs pointer), every
; other general register holds the guest's value, RFLAGS = 0x2 (SDM 27.5.3:
; so DF is clear, as C expects), interrupts off.
vmx_exit_stub:
	push	rdi			; guest RDI; now [rsp+8] = regs pointer
	mov	rdi, [rsp + 8]
	mov	[rdi + R_RAX], rax
	mov	[rdi + R_RBX], rbx
	mov	[rdi + R_RCX], rcx
	mov	[rdi + R_RDX], rdx
	mov	[rdi + R_RSI], rsi
	mov	[rdi + R_RBP], rbp
	mov	[rdi + R_R8],  r8
	mov	[rdi + R_R9],  r9
	mov	[rdi + R_R10], r10
	mov	[rdi + R_R11], r11
	mov	[rdi + R_R12], r12
	mov	[rdi + R_R13], r13
	mov	[rdi + R_R14], r14
	mov	[rdi + R_R15], r15
	pop	rax			; the guest RDI pushed above
	mov	[rdi + R_RDI], rax
	xor	eax, eax		; VMX_OK: a VM exit
	pop	rdi			; regs pointer (not needed any more)
	pop	r15			; the caller's callee-saved registers
	pop	r14
	pop	r13
	pop	r12
	pop	rbx
	pop	rbp
	ret				; into vmx_vcpu_run, as from vmx_enter
