/* platform.h - leaving the emulator (or stopping the machine). */
#ifndef ARCH_X86_PLATFORM_H
#define ARCH_X86_PLATFORM_H

#include "../../hv/types.h"

void __noreturn platform_exit(u32 code);

#endif
