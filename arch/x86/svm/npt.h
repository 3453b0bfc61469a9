/* npt.h - the NPT entry format for mm/slat.c (arch/x86/svm/npt.c). */
#ifndef ARCH_X86_SVM_NPT_H
#define ARCH_X86_SVM_NPT_H

#include "../../../mm/slat.h"

extern const struct slat_format npt_format;

#endif
