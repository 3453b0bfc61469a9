/*
 * virt_insn.h - recognizing a virtualization instruction, Intel's VMX or
 * AMD's SVM, from its bytes (arch/x86/virt_insn.c).  For both backends:
 * a guest's virtualization instructions of the CPU's own vendor exit as
 * such, but the other vendor's are plain invalid opcodes, so they reach a
 * backend as an intercepted #UD.  Decoding them here, once, makes the
 * guest ABI's "either vendor's hypercall instruction works" and the report
 * of a guest trying nested virtualization the same on both backends; the
 * core sees only EXIT_HYPERCALL or EXIT_VIRT_INSN with a name.
 */
#ifndef ARCH_X86_VIRT_INSN_H
#define ARCH_X86_VIRT_INSN_H

#include "../../hv/backend.h"

/* The bytes the decoder looks at: up to two prefixes (66, F3), 0F, the
 * opcode and the ModRM byte or a third opcode byte. */
#define VIRT_INSN_MAX_BYTES 6

/* VMCALL (0F 01 C1) and VMMCALL (0F 01 D9) are three bytes long. */
#define HYPERCALL_INSN_LEN 3

/*
 * If bytes[0..n) begin with a virtualization instruction, describes it in
 * e and returns true: VMCALL and VMMCALL become EXIT_HYPERCALL (with
 * insn_len), every other one EXIT_VIRT_INSN with its name.  Anything else
 * (also an instruction cut short by n): false, e untouched.  Pure.
 */
bool virt_insn_decode(const u8 *bytes, size_t n, struct vm_exit *e);

/*
 * The same for the instruction at the guest's RIP that raised an
 * intercepted #UD, read from guest memory through the guest's own page
 * tables.  Neither backend has the bytes from the CPU: VMX never offers
 * them, and SVM's decode assists fill the VMCB's instruction bytes only on
 * #NPF and #PF intercepts (APM Vol. 2, "Decode Assists"), not on #UD.
 */
bool virt_insn_at_ud(struct vcpu *v, struct vm_exit *e);

#endif
