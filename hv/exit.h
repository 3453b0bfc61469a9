/* exit.h - handling a normalized VM exit (the core's half of the backend
 * contract in backend.h). */
#ifndef HV_EXIT_H
#define HV_EXIT_H

#include "vm.h"

extern const struct backend_ops *backend;

/* Refused MSR accesses logged one by one per VM; the rest are counted. */
#define MSR_LOG_MAX 8

void exit_handle(struct vm *vm, struct vm_exit *e);
const char *exit_reason_name(enum exit_reason r);
/* Stops a VM that broke the rules; the line says what and where. */
void vm_stop(struct vm *vm, const char *fmt, ...) __printf(2, 3);

#endif
