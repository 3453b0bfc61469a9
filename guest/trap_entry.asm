; trap_entry.asm - exception entry stubs and fault-tolerant memory probes.
;
; Each of the 32 architectural exception vectors (and the two interrupt
; vectors the guest uses) gets a stub that makes the
; stack look the same whether or not the CPU pushed an error code (Intel SDM
; Vol. 3A, 6.13 and table 6-1), pushes the vector, and jumps to trap_common,
; which saves every general register as a struct trap_frame (trap.h) and
; calls trap_dispatch(frame).  On return the registers are reloaded from the
; frame, so C may change RIP or RAX (the probe fixups below do).

bits 64

section .text
extern trap_dispatch

%macro TRAP_NOERR 1
trap_stub_%1:
        push 0                        ; dummy error code
        push %1
        jmp trap_common
%endmacro

%macro TRAP_ERR 1
trap_stub_%1:
        push %1                       ; the CPU already pushed the error
        jmp trap_common
%endmacro

TRAP_NOERR 0                          ; #DE
TRAP_NOERR 1                          ; #DB
TRAP_NOERR 2                          ; NMI
TRAP_NOERR 3                          ; #BP
TRAP_NOERR 4                          ; #OF
TRAP_NOERR 5                          ; #BR
TRAP_NOERR 6                          ; #UD
TRAP_NOERR 7                          ; #NM
TRAP_ERR   8                          ; #DF (error code always 0)
TRAP_NOERR 9
TRAP_ERR   10                         ; #TS
TRAP_ERR   11                         ; #NP
TRAP_ERR   12                         ; #SS
TRAP_ERR   13                         ; #GP
TRAP_ERR   14                         ; #PF
TRAP_NOERR 15
TRAP_NOERR 16                         ; #MF
TRAP_ERR   17                         ; #AC
TRAP_NOERR 18                         ; #MC
TRAP_NOERR 19                         ; #XM
TRAP_NOERR 20                         ; #VE
TRAP_ERR   21                         ; #CP
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR   29                         ; #VC (AMD)
TRAP_ERR   30                         ; #SX (AMD)
TRAP_NOERR 31
; Two interrupt vectors (guest/timer.c): the x2APIC timer's and the APIC's
; spurious vector.  Interrupts push no error code.
TRAP_NOERR 48                         ; TIMER_VECTOR 0x30
TRAP_NOERR 255                        ; SPURIOUS_VECTOR 0xff
global irq_stub_timer, irq_stub_spurious
irq_stub_timer equ trap_stub_48
irq_stub_spurious equ trap_stub_255

; The CPU aligned RSP to 16 before pushing its 5-qword frame (SDM 6.14.2);
; with error code and vector that is 7 qwords, plus 15 registers = 22, so
; RSP is 16-byte aligned again at the call.
trap_common:
        push rax
        push rbx
        push rcx
        push rdx
        push rsi
        push rdi
        push rbp
        push r8
        push r9
        push r10
        push r11
        push r12
        push r13
        push r14
        push r15
        mov rdi, rsp                  ; struct trap_frame *
        cld                           ; the C ABI expects DF=0
        call trap_dispatch
        pop r15
        pop r14
        pop r13
        pop r12
        pop r11
        pop r10
        pop r9
        pop r8
        pop rbp
        pop rdi
        pop rsi
        pop rdx
        pop rcx
        pop rbx
        pop rax
        add rsp, 16                   ; vector and error code
        iretq

; int probe_read_u64(uint64_t va, uint64_t *out)
; int probe_write_u64(uint64_t va, uint64_t value)
; Return 0 when the access completed, 1 when it faulted.  A fault at the
; .access instruction is resumed at .fixup by trap.c (the probe table
; below), the way Linux's exception tables work.  The pt workload uses them
; to prove a translation is really gone after INVLPG.
global probe_read_u64, probe_write_u64
probe_read_u64:
        xor eax, eax
.access:
        mov rdx, [rdi]
        mov [rsi], rdx
        ret
.fixup:
        mov eax, 1
        ret

probe_write_u64:
        xor eax, eax
.access:
        mov [rdi], rsi
        ret
.fixup:
        mov eax, 1
        ret

section .rodata
align 8
global trap_stubs
trap_stubs:
%assign v 0
%rep 32
        dq trap_stub_ %+ v
%assign v v + 1
%endrep

; Pairs of (faulting instruction, where to resume); the linker script
; gathers every .probe_table section between probe_table and
; probe_table_end (C code adds its own with PROBE_TABLE_ENTRY, trap.h).
section .probe_table progbits alloc noexec nowrite align=8
        dq probe_read_u64.access, probe_read_u64.fixup
        dq probe_write_u64.access, probe_write_u64.fixup
