/*
 * platform.c - ending the run on whichever emulator we are on.
 *
 * We do not detect the emulator; both exits are harmless elsewhere:
 *   - QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,
 *     iosize=0x04) ends QEMU with status (code << 1) | 1 on a write to 0xf4;
 *   - Bochs ends when the string "Shutdown" is written to port 0x8900.
 * On real hardware neither port does anything and we halt with interrupts
 * off: the result line is already on the console.
 */
#include "platform.h"
#include "cpu.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900

void platform_exit(u32 code)
{
	cli();
	outl(QEMU_DEBUG_EXIT_PORT, code);
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	for (;;)
		hlt();
}
