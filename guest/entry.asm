; entry.asm - the guest's first instructions: the Multiboot v1 header, the
; 32-bit entry, a throwaway identity map, and the switch to 64-bit mode.
;
; State on entry (Multiboot Specification 0.6.96, 3.2 "Machine state"):
; 32-bit protected mode, paging off, flat CS/DS, EAX = 0x2BADB002,
; EBX = physical address of the multiboot info.  No stack, interrupts in an
; unknown state.
;
; The boot map built here identity-maps the first 4 GiB with 2 MiB pages, so
; the C code can read the multiboot info (a 32-bit pointer, anywhere below
; 4 GiB) and fill its real page tables; vm.c then replaces it with the
; final tables (4 KiB pages with proper permissions) and never uses it again.

bits 32

; Multiboot header (spec 3.1.1).  We ask only for memory information
; (flag bit 1).  Bit 16 (the a.out kludge) stays clear: the image is ELF32
; (the build converts the 64-bit link with objcopy -O elf32-i386), and the
; loader takes the load addresses from its program headers.
MB_HEADER_MAGIC   equ 0x1BADB002
MB_FLAG_MEMINFO   equ 1 << 1
MB_HEADER_FLAGS   equ MB_FLAG_MEMINFO
MB_HEADER_CHECK   equ -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

; Paging-entry bits (Intel SDM Vol. 3A, 4.5): present, writable, 2 MiB page.
PTE_P             equ 1 << 0
PTE_W             equ 1 << 1
PTE_PS            equ 1 << 7
BOOT_MAP_PAGES_2M equ 2048            ; 2048 * 2 MiB = 4 GiB
BOOT_MAP_PDS      equ 4               ; one PD maps 1 GiB

CR0_PE            equ 1 << 0
CR0_WP            equ 1 << 16         ; supervisor writes honour read-only
CR0_PG            equ 1 << 31
CR4_PAE           equ 1 << 5          ; long mode requires PAE paging
MSR_EFER          equ 0xC0000080
EFER_LME          equ 1 << 8
EFER_NXE          equ 1 << 11         ; makes PTE bit 63 mean no-execute
CPUID_EXT_MAX     equ 0x80000000
CPUID_EXT_FEATURES equ 0x80000001
CPUID_EDX_NX      equ 1 << 20
CPUID_EDX_LM      equ 1 << 29

BOOT_CS           equ 0x08            ; selectors in boot_gdt below
BOOT_DS           equ 0x10

COM1              equ 0x3F8
COM1_LSR          equ COM1 + 5
LSR_THRE          equ 1 << 5
EXIT_PORT         equ 0xF4
STATUS_BAD_BOOT   equ 6               ; see abi.h

section .multiboot progbits alloc noexec nowrite align=4
mb_header:
        dd MB_HEADER_MAGIC
        dd MB_HEADER_FLAGS
        dd MB_HEADER_CHECK

section .rodata
; Flat 64-bit code and data segments.  The accessed bits are preset so the
; CPU never needs to write this table.
align 8
boot_gdt:
        dq 0                          ; null descriptor
        dq 0x00AF9B000000FFFF         ; 0x08: code, L=1, DPL 0, accessed
        dq 0x00CF93000000FFFF         ; 0x10: data, writable, accessed
boot_gdt_end:
boot_gdt_desc:
        dw boot_gdt_end - boot_gdt - 1
        dd boot_gdt

msg_no_long_mode:
        db "GUEST RESULT: FAIL CPU lacks long mode (CPUID.80000001h:EDX.LM)", 10, 0
msg_no_nx:
        db "GUEST RESULT: FAIL CPU lacks NX (CPUID.80000001h:EDX.NX)", 10, 0

section .bss
align 4096
boot_pml4:      resb 4096
boot_pdpt:      resb 4096
boot_pd:        resb 4096 * BOOT_MAP_PDS

; The kernel stack, with an unmapped guard page below it (vm.c leaves
; stack_guard out of the final map) so an overflow faults instead of
; silently overwriting .bss.  #DF runs on its own stack (IST1, desc.c).
global stack_guard, stack_top, df_stack_top
stack_guard:    resb 4096
                resb 16384
stack_top:
                resb 4096
df_stack_top:

section .text.boot progbits alloc exec nowrite align=16
global _start
extern guest_main
extern __bss_start, __bss_end
_start:
        cli
        cld
        mov ebp, eax                  ; multiboot magic, checked in C
        mov esi, ebx                  ; multiboot info address

        ; Clear .bss ourselves: it holds the stack and the boot tables, and
        ; this way the guest does not depend on the loader zeroing it.
        mov edi, __bss_start
        mov ecx, __bss_end
        sub ecx, edi
        shr ecx, 2                    ; the linker script aligns to 4 KiB
        xor eax, eax
        rep stosd
        mov esp, stack_top

        ; Long mode and NX must exist (CPUID leaf 80000001h, EDX).
        mov eax, CPUID_EXT_MAX
        cpuid
        cmp eax, CPUID_EXT_FEATURES
        jb .no_long_mode
        mov eax, CPUID_EXT_FEATURES
        cpuid                         ; clobbers EBX: info is in ESI
        test edx, CPUID_EDX_LM
        jz .no_long_mode
        test edx, CPUID_EDX_NX
        jz .no_nx

        ; PML4[0] -> PDPT; PDPT[0..3] -> four PDs.
        mov eax, boot_pdpt
        or eax, PTE_P | PTE_W
        mov [boot_pml4], eax
        mov edi, boot_pdpt
        mov eax, boot_pd
        or eax, PTE_P | PTE_W
        mov ecx, BOOT_MAP_PDS
.fill_pdpt:
        mov [edi], eax                ; high dword already 0 from .bss
        add eax, 4096
        add edi, 8
        loop .fill_pdpt

        ; PD entries: 2 MiB identity pages over [0, 4 GiB).
        mov edi, boot_pd
        mov eax, PTE_P | PTE_W | PTE_PS
        mov ecx, BOOT_MAP_PAGES_2M
.fill_pd:
        mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .fill_pd

        ; The order is the SDM's (Vol. 3A, 10.8.5 "Initializing IA-32e
        ; Mode"): PAE on, CR3 loaded, EFER.LME set, then paging on.
        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, boot_pml4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_LME | EFER_NXE
        wrmsr
        mov eax, cr0
        or eax, CR0_PE | CR0_WP | CR0_PG
        mov cr0, eax                  ; now in compatibility mode

        ; A far jump through a 64-bit code segment enters 64-bit mode.
        lgdt [boot_gdt_desc]
        jmp BOOT_CS:long_mode_entry

.no_long_mode:
        mov esi, msg_no_long_mode
        jmp boot_fail
.no_nx:
        mov esi, msg_no_nx
        ; fall through

; Prints the NUL-terminated string at ESI on COM1 and exits with
; STATUS_BAD_BOOT: the C console is not usable before 64-bit mode.
boot_fail:
        lodsb
        test al, al
        jz .exit
        mov bl, al
        mov dx, COM1_LSR
.wait:
        in al, dx
        test al, LSR_THRE
        jz .wait
        mov al, bl
        mov dx, COM1
        out dx, al
        jmp boot_fail
.exit:
        mov al, STATUS_BAD_BOOT
        out EXIT_PORT, al
.halt:
        hlt
        jmp .halt

bits 64
long_mode_entry:
        mov ax, BOOT_DS
        mov ds, ax
        mov es, ax
        mov ss, ax
        xor eax, eax
        mov fs, ax
        mov gs, ax
        mov rsp, stack_top
        mov edi, ebp                  ; guest_main(magic, info_pa):
        mov esi, esi                  ; 32-bit moves zero the upper halves
        call guest_main
.hang:                                ; guest_main never returns
        cli
        hlt
        jmp .hang
