/*
 * finish.h - how a run ends: exactly one "HV RESULT: PASS" or
 * "HV RESULT: FAIL <reason>" line, then the emulator is told to stop.
 */
#ifndef HV_FINISH_H
#define HV_FINISH_H

#include "types.h"

void __noreturn hv_pass(void);
void __noreturn hv_fail(const char *fmt, ...) __printf(1, 2);
/* An impossible state: prints the reason and a backtrace, then fails. */
void __noreturn panic(const char *fmt, ...) __printf(1, 2);

#endif
