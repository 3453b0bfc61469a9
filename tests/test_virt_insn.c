/*
 * test_virt_insn.c - arch/x86/virt_insn.c, the decoder both backends run
 * on an intercepted #UD: every VMX and SVM instruction by its bytes, the
 * two hypercall instructions, near misses that are other instructions,
 * and instructions cut short.  guest_read_insn() is replaced by a guest
 * whose bytes at RIP are readable only up to a given length, so the
 * fetching around the decoder is tested too.
 */
#include "../arch/x86/virt_insn.h"
#include "../hv/vmmem.h"
#include "unit.h"

static u8 guest_bytes[16];
static size_t guest_readable;	/* bytes at RIP before an unmapped page */

int guest_read_insn(struct vcpu *v, u8 *dst, u64 len)
{
	(void)v;
	for (u64 i = 0; i < len; i++) {
		if (i >= guest_readable)
			return -1;
		dst[i] = guest_bytes[i];
	}
	return 0;
}

/* The name decode() gives bytes, "hypercall", or "" if none. */
static const char *decoded(const u8 *b, size_t n)
{
	struct vm_exit e = { .reason = EXIT_EXCEPTION, .insn_len = 77 };

	if (!virt_insn_decode(b, n, &e)) {
		CHECK_EQ(e.reason, EXIT_EXCEPTION);	/* untouched */
		CHECK_EQ(e.insn_len, 77);
		return "";
	}
	if (e.reason == EXIT_HYPERCALL) {
		CHECK_EQ(e.insn_len, HYPERCALL_INSN_LEN);
		return "hypercall";
	}
	CHECK_EQ(e.reason, EXIT_VIRT_INSN);
	CHECK_EQ(e.insn_len, 77);	/* not skipped: #UD is injected */
	return e.insn.name;
}

#define CHECK_DECODES(want, ...)                                            \
	do {                                                                \
		static const u8 b_[] = { __VA_ARGS__ };                     \
		const char *got_ = decoded(b_, sizeof(b_));                 \
		if (strcmp(got_, (want))) {                                 \
			printf("  %s:%d: decoded \"%s\", want \"%s\"\n",    \
			       __FILE__, __LINE__, got_, (want));           \
			unit_failed_checks++;                               \
		}                                                           \
	} while (0)

TEST(virt_insn_vmx_instructions)
{
	CHECK_DECODES("hypercall", 0x0f, 0x01, 0xc1);		/* VMCALL */
	CHECK_DECODES("VMLAUNCH", 0x0f, 0x01, 0xc2);
	CHECK_DECODES("VMRESUME", 0x0f, 0x01, 0xc3);
	CHECK_DECODES("VMXOFF", 0x0f, 0x01, 0xc4);
	CHECK_DECODES("VMFUNC", 0x0f, 0x01, 0xd4);
	CHECK_DECODES("VMXON", 0xf3, 0x0f, 0xc7, 0x30);		/* [rax] */
	CHECK_DECODES("VMCLEAR", 0x66, 0x0f, 0xc7, 0x36);
	CHECK_DECODES("VMPTRLD", 0x0f, 0xc7, 0x70, 0x08);	/* [rax+8] */
	CHECK_DECODES("VMPTRST", 0x0f, 0xc7, 0x38);
	CHECK_DECODES("VMREAD", 0x0f, 0x78, 0xc8);
	CHECK_DECODES("VMWRITE", 0x0f, 0x79, 0xc1);
	CHECK_DECODES("INVEPT", 0x66, 0x0f, 0x38, 0x80, 0x08);
	CHECK_DECODES("INVVPID", 0x66, 0x0f, 0x38, 0x81, 0x08);
}

TEST(virt_insn_svm_instructions)
{
	CHECK_DECODES("hypercall", 0x0f, 0x01, 0xd9);		/* VMMCALL */
	CHECK_DECODES("VMRUN", 0x0f, 0x01, 0xd8);
	CHECK_DECODES("VMLOAD", 0x0f, 0x01, 0xda);
	CHECK_DECODES("VMSAVE", 0x0f, 0x01, 0xdb);
	CHECK_DECODES("STGI", 0x0f, 0x01, 0xdc);
	CHECK_DECODES("CLGI", 0x0f, 0x01, 0xdd);
	CHECK_DECODES("SKINIT", 0x0f, 0x01, 0xde);
	CHECK_DECODES("INVLPGA", 0x0f, 0x01, 0xdf);
}

/* Other instructions that share the escape bytes, and the guest's own
 * #UD. */
TEST(virt_insn_others)
{
	CHECK_DECODES("", 0x0f, 0x0b);				/* UD2 */
	CHECK_DECODES("", 0x0f, 0x01, 0xd0);			/* XGETBV */
	CHECK_DECODES("", 0x0f, 0x01, 0xf8);			/* SWAPGS */
	CHECK_DECODES("", 0x0f, 0xc7, 0xf0);		/* RDRAND eax: mod 3 */
	CHECK_DECODES("", 0x0f, 0xc7, 0x08);		/* CMPXCHG8B: /1 */
	CHECK_DECODES("", 0x66, 0x0f, 0xc7, 0x38);	/* /7 with a prefix */
	CHECK_DECODES("", 0x0f, 0x38, 0x80, 0x08);	/* INVEPT needs 66 */
	CHECK_DECODES("", 0x66, 0x0f, 0x38, 0x82, 0x08);	/* INVPCID */
	CHECK_DECODES("", 0x90, 0x0f, 0x01, 0xc1);		/* not at RIP */
	/* A hypercall is taken unprefixed only: its length is fixed. */
	CHECK_DECODES("", 0x66, 0x0f, 0x01, 0xc1);
	/* Three prefixes are more than the decoder looks through. */
	CHECK_DECODES("", 0x66, 0x66, 0xf3, 0x0f, 0xc7, 0x30);
}

/* Cut short, an instruction is not guessed at. */
TEST(virt_insn_truncated)
{
	static const u8 vmxon[] = { 0xf3, 0x0f, 0xc7, 0x30 };
	static const u8 vmcall[] = { 0x0f, 0x01, 0xc1 };
	static const u8 vmread[] = { 0x66, 0x0f, 0x78 };

	for (size_t n = 0; n < sizeof(vmxon); n++)
		CHECK(!strcmp(decoded(vmxon, n), ""));
	CHECK(!strcmp(decoded(vmxon, 3 + 1), "VMXON"));
	for (size_t n = 0; n < sizeof(vmcall); n++)
		CHECK(!strcmp(decoded(vmcall, n), ""));
	CHECK(!strcmp(decoded(vmread, 2), ""));
	CHECK(!strcmp(decoded(vmread, 3), "VMREAD"));
}

/* The instruction is read from the guest, as far as it is mapped. */
TEST(virt_insn_at_ud_fetching)
{
	static const u8 vmxon[] = { 0xf3, 0x0f, 0xc7, 0x30, 0x90, 0x90 };
	struct vm_exit e;

	/* From guest memory alone. */
	memcpy(guest_bytes, vmxon, sizeof(vmxon));
	guest_readable = sizeof(guest_bytes);
	e = (struct vm_exit){ .reason = EXIT_EXCEPTION };
	CHECK(virt_insn_at_ud(NULL, &e));
	CHECK_EQ(e.reason, EXIT_VIRT_INSN);
	CHECK(!strcmp(e.insn.name, "VMXON"));

	/* The instruction ends just before an unmapped page. */
	guest_readable = 4;
	e = (struct vm_exit){ .reason = EXIT_EXCEPTION };
	CHECK(virt_insn_at_ud(NULL, &e));
	CHECK(e.reason == EXIT_VIRT_INSN && !strcmp(e.insn.name, "VMXON"));
	guest_readable = 3;
	e = (struct vm_exit){ .reason = EXIT_EXCEPTION };
	CHECK(!virt_insn_at_ud(NULL, &e));
	CHECK_EQ(e.reason, EXIT_EXCEPTION);
	guest_readable = 0;
	CHECK(!virt_insn_at_ud(NULL, &e));

	/* A VMCALL from the guest is a hypercall of known length. */
	static const u8 vmcall[] = { 0x0f, 0x01, 0xc1, 0x90, 0x90, 0x90 };
	memcpy(guest_bytes, vmcall, sizeof(vmcall));
	guest_readable = sizeof(guest_bytes);
	e = (struct vm_exit){ .reason = EXIT_EXCEPTION };
	CHECK(virt_insn_at_ud(NULL, &e));
	CHECK_EQ(e.reason, EXIT_HYPERCALL);
	CHECK_EQ(e.insn_len, 3);
}
