/*
 * ramdisk.c - a block device in host memory: block n is the 4 KiB at
 * mem + n * 4096.  Bounds are checked on every access.
 */
#include "ramdisk.h"
#include "gmem.h"	/* panic() */

static u8 *block_at(struct blockdev *d, u64 block, const char *op)
{
	if (block >= d->nblocks)
		panic("%s: %s of block %llu, but the device has %llu", d->name,
		      op, (unsigned long long)block,
		      (unsigned long long)d->nblocks);
	return (u8 *)d->priv + block * BLOCK_SIZE;
}

static void ramdisk_read(struct blockdev *d, u64 block, void *buf)
{
	__builtin_memcpy(buf, block_at(d, block, "read"), BLOCK_SIZE);
	d->reads++;
}

static void ramdisk_write(struct blockdev *d, u64 block, const void *buf)
{
	__builtin_memcpy(block_at(d, block, "write"), buf, BLOCK_SIZE);
	d->writes++;
}

void ramdisk_init(struct blockdev *d, void *mem, u64 nblocks)
{
	*d = (struct blockdev){ .name = "ramdisk", .nblocks = nblocks,
				.read = ramdisk_read, .write = ramdisk_write,
				.priv = mem };
}
