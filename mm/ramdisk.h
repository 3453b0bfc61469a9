/*
 * ramdisk.h - the swap device: a block device of 4 KiB blocks.  mm/swap.c
 * reaches it only through struct blockdev, so a real disk driver could
 * take the RAM-disk's place without touching the swap code.  Pure logic,
 * host-tested (tests/test_swap.c).
 */
#ifndef MM_RAMDISK_H
#define MM_RAMDISK_H

#include "../hv/types.h"

#define BLOCK_SIZE PAGE_SIZE

struct blockdev {
	const char *name;
	u64 nblocks;
	/* Copy one block in or out; a block number >= nblocks panics (a
	 * swap bug must never read or write beyond the device). */
	void (*read)(struct blockdev *d, u64 block, void *buf);
	void (*write)(struct blockdev *d, u64 block, const void *buf);
	void *priv;		/* the driver's */
	u64 reads, writes;
};

/* A RAM-disk of nblocks blocks over mem (nblocks * 4 KiB the caller
 * reserved, outside the guest pool and the hypervisor's own frames). */
void ramdisk_init(struct blockdev *d, void *mem, u64 nblocks);

#endif
