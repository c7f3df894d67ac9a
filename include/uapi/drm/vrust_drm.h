/* SPDX-License-Identifier: MIT */
/*
 * Userspace interface of vrust, the sample driver of the Rust DRM layer
 * (samples/rust/vrust/).
 *
 * vrust is a virtual device on the faux bus. Instances are created and destroyed
 * through configfs:
 *
 *	mkdir /sys/kernel/config/vrust/<name>
 *	echo 1 > /sys/kernel/config/vrust/<name>/enabled	(registers the DRM device)
 *	echo 0 > /sys/kernel/config/vrust/<name>/enabled	(unplugs it)
 *	rmdir /sys/kernel/config/vrust/<name>
 *
 * Each instance has a primary node (/dev/dri/cardN) and a render node (/dev/dri/renderDN).
 */
#ifndef __VRUST_DRM_H__
#define __VRUST_DRM_H__

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* Parameters of DRM_IOCTL_VRUST_GET_PARAM. */
/* The version of this interface, VRUST_API_VERSION. */
#define VRUST_PARAM_API_VERSION		0x1
/* The DRM client id of the calling file (as in fdinfo's drm-client-id). */
#define VRUST_PARAM_CLIENT_ID		0x2
/* The node the calling file opened: VRUST_NODE_PRIMARY or VRUST_NODE_RENDER. */
#define VRUST_PARAM_NODE_TYPE		0x3
/* The device-wide value last stored with DRM_IOCTL_VRUST_SET_DEVICE_VALUE (0 at first). */
#define VRUST_PARAM_DEVICE_VALUE	0x4
/* The number of files currently open on this device. */
#define VRUST_PARAM_OPEN_FILES		0x5
/* The number of GEM buffers of this device still allocated (by handles, mappings, dma-bufs). */
#define VRUST_PARAM_LIVE_BUFFERS	0x6

/*
 * 1: the first interface. 2: EXEC is a job: flags, in- and out-syncs (struct drm_vrust_exec
 * grew; a kernel of version 1 ignores the new fields), VRUST_CMD_HANG, sync objects.
 * 3: VM_BIND is a job too: flags (VRUST_BIND_ASYNC, where version 2 had a zero pad), in- and
 * out-syncs (struct drm_vrust_vm_bind grew). A synchronous bind now waits for the file's
 * earlier jobs, and can fail with -EBUSY (VRUST_EXEC_MAX_QUEUED). A kernel of version 2
 * refuses VRUST_BIND_ASYNC but ignores the syncs of a synchronous bind: check the version.
 */
#define VRUST_API_VERSION		3

#define VRUST_NODE_PRIMARY		0
#define VRUST_NODE_RENDER		2

/* The largest buffer DRM_IOCTL_VRUST_REVERSE accepts, in bytes. */
#define VRUST_REVERSE_MAX_LEN		(64 * 1024)

/**
 * struct drm_vrust_get_param - query a parameter of the device or of the caller
 */
/* Flags of a buffer: DRM_IOCTL_VRUST_GEM_CREATE takes the first, GEM_INFO reports all. */
/* The CPU maps the buffer write-combined. */
#define VRUST_BO_WRITE_COMBINED		(1 << 0)
/* The buffer imports another device's dma-buf (DRM_IOCTL_PRIME_FD_TO_HANDLE). */
#define VRUST_BO_IMPORTED		(1 << 1)
/* The buffer was made by DRM_IOCTL_MODE_CREATE_DUMB. */
#define VRUST_BO_DUMB			(1 << 2)

/* GPU VMs (DRM_IOCTL_VRUST_VM_*): the address range of every VM. */
#define VRUST_VM_START			(1ULL << 20)
#define VRUST_VM_SIZE			(1ULL << 40)
/* The most mappings a VM holds; a bind that would leave more fails with -ENOSPC. */
#define VRUST_VM_MAX_MAPPINGS		4096
/* The most VMs a file holds; VM_CREATE fails with -ENOSPC beyond. */
#define VRUST_MAX_VMS_PER_FILE		64

/* Operations of DRM_IOCTL_VRUST_VM_BIND. */
#define VRUST_BIND_MAP			1
#define VRUST_BIND_UNMAP		2
/* Flags of DRM_IOCTL_VRUST_VM_BIND: return once the bind is queued, rather than when done. */
#define VRUST_BIND_ASYNC		(1 << 0)

/* Commands of DRM_IOCTL_VRUST_EXEC, run by the software GPU on a VM's mappings. */
/* Sets len bytes at GPU address dst to the low byte of value. */
#define VRUST_CMD_FILL			1
/* Copies len bytes from GPU address src to GPU address dst (the ranges must not overlap). */
#define VRUST_CMD_COPY			2
/*
 * The GPU hangs at this command: it does nothing more for the job, whose fence signals with
 * -ETIME once the job timeout of the instance passes (configfs attribute job_timeout_ms).
 * For testing what a hung job does to the jobs after it.
 */
#define VRUST_CMD_HANG			3
/* The most commands of one EXEC. */
#define VRUST_EXEC_MAX_CMDS		1024
/*
 * The most bytes the commands of one EXEC may touch, summed over its commands (FILL: len,
 * COPY: len). A command that would go beyond is not run: the EXEC stops before it with -E2BIG,
 * @done counting the commands that ran, and the client submits the rest in another EXEC. A
 * single command longer than this can never run: it fails with -EINVAL (split it).
 */
#define VRUST_EXEC_MAX_BYTES		(64ULL << 30)
/*
 * The most pieces the commands of one EXEC may be cut into, a piece being the part of a
 * command that lies in one mapping (of its source and of its destination): beyond, the EXEC
 * stops with -E2BIG, as for VRUST_EXEC_MAX_BYTES.
 */
#define VRUST_EXEC_MAX_PIECES		65536
/* The most in-syncs of one EXEC. */
#define VRUST_EXEC_MAX_SYNCS		64
/*
 * The most jobs (EXECs and VM_BINDs) a file may have queued and running: one beyond fails
 * with -EBUSY (wait for an earlier job's fence and submit again).
 */
#define VRUST_EXEC_MAX_QUEUED		256

/* Flags of DRM_IOCTL_VRUST_EXEC. */
/* Return once the job is queued, instead of once it completed. */
#define VRUST_EXEC_ASYNC		(1 << 0)
/* Wait also for the fence of the sync file @in_fence_fd. */
#define VRUST_EXEC_IN_FENCE_FD		(1 << 1)
/*
 * Return the job's fence as a new sync file in @out_fence_fd. The sync file is made after the
 * job is queued: when that fails (-ENOMEM), the job still runs and its out-sync gets its fence.
 */
#define VRUST_EXEC_OUT_FENCE_FD		(1 << 2)

/* The largest buffer DRM_IOCTL_VRUST_GEM_CREATE makes, and imports accept, in bytes. */
#define VRUST_BO_MAX_SIZE		(1ULL << 30)

struct drm_vrust_get_param {
	/** @param: in, one of VRUST_PARAM_*; an unknown one fails with -EINVAL */
	__u32 param;
	/** @pad: must be zero */
	__u32 pad;
	/** @value: out, the parameter's value */
	__u64 value;
};

/**
 * struct drm_vrust_counter - add to the calling file's private counter
 *
 * Every open file has its own counter, starting at 0; no file sees another's.
 */
struct drm_vrust_counter {
	/** @add: in, added to the counter; overflowing the counter fails with -EOVERFLOW */
	__u64 add;
	/** @value: out, the counter after the addition */
	__u64 value;
};

/**
 * struct drm_vrust_set_device_value - store a device-wide value (primary node only)
 */
struct drm_vrust_set_device_value {
	/** @value: in, read back with VRUST_PARAM_DEVICE_VALUE */
	__u64 value;
};

/**
 * struct drm_vrust_reverse - copy a user buffer, byte order reversed
 *
 * Reads @len bytes at @src and writes them in reverse order to @dst. @len larger than
 * VRUST_REVERSE_MAX_LEN fails with -EINVAL, a range that wraps around the address
 * space with -EOVERFLOW, an unreadable or unwritable range with -EFAULT.
 */
struct drm_vrust_reverse {
	/** @src: in, user address of the input */
	__u64 src;
	/** @dst: in, user address of the output */
	__u64 dst;
	/** @len: in, number of bytes */
	__u32 len;
	/** @pad: must be zero */
	__u32 pad;
};

struct drm_vrust_gem_create {
	/**
	 * @size: in, bytes, rounded up to whole pages; 0 or above VRUST_BO_MAX_SIZE fails
	 * with -EINVAL
	 */
	__u64 size;
	/** @flags: in, 0 or VRUST_BO_WRITE_COMBINED; others fail with -EINVAL */
	__u32 flags;
	/** @handle: out, the handle of the new buffer in the calling file */
	__u32 handle;
};

struct drm_vrust_gem_info {
	/** @handle: in, a buffer handle of the calling file; an unknown one fails with -ENOENT */
	__u32 handle;
	/** @flags: out, VRUST_BO_* */
	__u32 flags;
	/** @size: out, the size in bytes */
	__u64 size;
	/** @offset: out, the offset to mmap() the buffer at, on the node the file opened */
	__u64 offset;
	/** @id: out, a number unique to the buffer on this device (VM_QUERY reports it) */
	__u64 id;
};

/*
 * Argument of DRM_IOCTL_VRUST_GEM_PWRITE and DRM_IOCTL_VRUST_GEM_PREAD: the kernel copies
 * between user memory and the buffer, one page of the buffer at a time (only the pages of the
 * range are touched; an imported buffer is reached through a mapping of its dma-buf).
 */
struct drm_vrust_gem_rw {
	/** @handle: in, a buffer handle of the calling file; an unknown one fails with -ENOENT */
	__u32 handle;
	/** @pad: must be zero */
	__u32 pad;
	/** @offset: in, byte offset in the buffer; the range must be inside it, or -EINVAL */
	__u64 offset;
	/** @size: in, number of bytes */
	__u64 size;
	/** @ptr: in, user address of the data */
	__u64 ptr;
};

struct drm_vrust_vm_create {
	/** @vm_id: out, the id of the new VM in the calling file (never 0) */
	__u32 vm_id;
	/** @pad: must be zero */
	__u32 pad;
};

struct drm_vrust_vm_destroy {
	/** @vm_id: in, a VM of the calling file; an unknown one fails with -ENOENT */
	__u32 vm_id;
	/** @pad: must be zero */
	__u32 pad;
};

/* A sync object and point that an EXEC or VM_BIND waits for (or signals). */
struct drm_vrust_sync {
	/** @handle: a sync object of the calling file */
	__u32 handle;
	/** @pad: must be zero */
	__u32 pad;
	/** @point: a timeline point, or 0 for a binary sync object */
	__u64 point;
};

/*
 * Argument of DRM_IOCTL_VRUST_VM_BIND. MAP maps @range bytes of buffer @handle at @offset to
 * GPU address @addr, replacing what was mapped there; UNMAP removes the mappings of
 * [@addr, @addr + @range), cutting those across its edges. Addresses, offsets and lengths must
 * be page aligned, non-zero, inside the VM and (MAP) inside the buffer, or -EINVAL.
 *
 * A bind is a job of the file's queue, as an EXEC is (at most VRUST_EXEC_MAX_QUEUED of them,
 * or -EBUSY): it changes the VM once the fences of @in_syncs have signalled and the file's
 * earlier jobs have run, and its fence goes to @out_sync. A bind that fails once queued
 * changes nothing and signals its fence with the error: -ENOSPC (the VM would hold more than
 * VRUST_VM_MAX_MAPPINGS mappings), -ENODEV (the VM was destroyed, the device unplugged), or the
 * error of an in-sync. Without VRUST_BIND_ASYNC the ioctl returns when the bind is done, with
 * that error (or -EINTR when the caller is being killed, the bind staying queued), and a
 * buffer whose last mapping it removed is gone; with it, once the bind is queued.
 *
 * An EXEC resolves its addresses when it is submitted, against the mappings of that moment,
 * whatever binds are queued before it: to use what an asynchronous bind maps, or to stop
 * using what it unmaps, wait for the bind's fence before submitting the EXEC. An EXEC already
 * queued keeps the buffers it resolved, whatever a later bind unmaps.
 */
struct drm_vrust_vm_bind {
	/** @vm_id: in, a VM of the calling file, or -ENOENT */
	__u32 vm_id;
	/** @op: in, VRUST_BIND_MAP or VRUST_BIND_UNMAP */
	__u32 op;
	/** @handle: in, MAP: a buffer handle of the calling file, or -ENOENT; UNMAP: 0 */
	__u32 handle;
	/** @flags: in, VRUST_BIND_* */
	__u32 flags;
	/** @addr: in, GPU address */
	__u64 addr;
	/** @range: in, length in bytes */
	__u64 range;
	/** @offset: in, MAP: offset in the buffer; UNMAP: 0 */
	__u64 offset;
	/** @num_in_syncs: in, entries at @in_syncs, at most VRUST_EXEC_MAX_SYNCS */
	__u32 num_in_syncs;
	/** @pad: must be zero */
	__u32 pad;
	/** @in_syncs: in, user address of an array of struct drm_vrust_sync to wait for */
	__u64 in_syncs;
	/** @out_sync: in, where the bind's fence goes; handle 0 for nowhere */
	struct drm_vrust_sync out_sync;
};

/* One mapping, as DRM_IOCTL_VRUST_VM_QUERY reports it. */
struct drm_vrust_vm_mapping {
	/** @addr: GPU address */
	__u64 addr;
	/** @range: length in bytes */
	__u64 range;
	/** @offset: offset in the buffer */
	__u64 offset;
	/** @bo_id: the buffer's id (DRM_IOCTL_VRUST_GEM_INFO) */
	__u64 bo_id;
};

struct drm_vrust_vm_query {
	/** @vm_id: in, a VM of the calling file, or -ENOENT */
	__u32 vm_id;
	/** @count: in, room in @mappings; out, the number of mappings (all of them) */
	__u32 count;
	/** @mappings: in, user address of an array of struct drm_vrust_vm_mapping, by address */
	__u64 mappings;
};

/* One command of DRM_IOCTL_VRUST_EXEC. */
struct drm_vrust_cmd {
	/** @op: VRUST_CMD_FILL, VRUST_CMD_COPY or VRUST_CMD_HANG */
	__u32 op;
	/** @value: FILL: the byte (low 8 bits) */
	__u32 value;
	/** @src: COPY: GPU source address */
	__u64 src;
	/** @dst: GPU destination address */
	__u64 dst;
	/** @len: bytes */
	__u64 len;
};

/*
 * Argument of DRM_IOCTL_VRUST_EXEC: a job of @count commands, run in order on VM @vm_id by the
 * GPU, in the order of the file's jobs (EXECs and VM_BINDs), once the fences of @in_syncs and
 * the fences of the buffers it touches (their reservation objects: implicit sync, with other
 * drivers too) have signalled. Its fence goes into the reservation objects of those buffers
 * and, when @out_sync is not 0, into that sync object.
 *
 * The addresses are resolved when the EXEC is made, against the mappings of that moment: an
 * address that is not mapped stops the stream with -EFAULT; commands beyond
 * VRUST_EXEC_MAX_BYTES or VRUST_EXEC_MAX_PIECES stop it with -E2BIG; an unknown command, or
 * one after a VRUST_CMD_HANG that is not a valid command, with -EINVAL.
 *
 * An in-sync must have a fence: a binary sync object without one, or a timeline point not
 * submitted yet, is -EINVAL (there is no wait for submission). A job whose in-sync signalled
 * with an error does not run, and its fence gets that error; the fences of its buffers only
 * order it. An out-sync timeline point at or below the last one is still added.
 *
 * Without VRUST_EXEC_ASYNC, the commands before such a stop run, the EXEC returns when they have
 * (or with -EINTR when the caller is being killed, the job going on), and @done says how many
 * completed; @out_sync gets the fence of the commands that ran. With VRUST_EXEC_ASYNC, any such
 * error fails the EXEC with nothing queued; otherwise it returns once the job is queued, @done is 0
 * and the outcome is the fence's. The work is done in bounded chunks, between which other tasks get
 * the CPU.
 */
struct drm_vrust_exec {
	/** @vm_id: in, a VM of the calling file, or -ENOENT */
	__u32 vm_id;
	/** @count: in, number of commands, at most VRUST_EXEC_MAX_CMDS */
	__u32 count;
	/** @cmds: in, user address of an array of struct drm_vrust_cmd */
	__u64 cmds;
	/** @done: out, commands completed */
	__u32 done;
	/** @pad: must be zero */
	__u32 pad;
	/** @flags: in, VRUST_EXEC_* */
	__u32 flags;
	/** @num_in_syncs: in, entries at @in_syncs, at most VRUST_EXEC_MAX_SYNCS */
	__u32 num_in_syncs;
	/** @in_syncs: in, user address of an array of struct drm_vrust_sync to wait for */
	__u64 in_syncs;
	/** @out_sync: in, where the job's fence goes; handle 0 for nowhere */
	struct drm_vrust_sync out_sync;
	/** @in_fence_fd: in, with VRUST_EXEC_IN_FENCE_FD: a sync file to wait for, or -EINVAL */
	__s32 in_fence_fd;
	/**
	 * @out_fence_fd: out, with VRUST_EXEC_OUT_FENCE_FD and success: a new sync file (close on
	 * exec) of the job's fence; -1 otherwise
	 */
	__s32 out_fence_fd;
};

#define DRM_VRUST_GET_PARAM		0x00
#define DRM_VRUST_COUNTER		0x01
#define DRM_VRUST_SET_DEVICE_VALUE	0x02
#define DRM_VRUST_REVERSE		0x03
#define DRM_VRUST_GEM_CREATE		0x04
#define DRM_VRUST_GEM_INFO		0x05
#define DRM_VRUST_GEM_PWRITE		0x06
#define DRM_VRUST_GEM_PREAD		0x07
#define DRM_VRUST_VM_CREATE		0x08
#define DRM_VRUST_VM_DESTROY		0x09
#define DRM_VRUST_VM_BIND		0x0a
#define DRM_VRUST_VM_QUERY		0x0b
#define DRM_VRUST_EXEC			0x0c

/* Note: an enum rather than macros, so that Rust bindgen resolves the values. */
enum {
	DRM_IOCTL_VRUST_GET_PARAM = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_GET_PARAM,
					     struct drm_vrust_get_param),
	DRM_IOCTL_VRUST_COUNTER = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_COUNTER,
					   struct drm_vrust_counter),
	DRM_IOCTL_VRUST_SET_DEVICE_VALUE = DRM_IOW(DRM_COMMAND_BASE + DRM_VRUST_SET_DEVICE_VALUE,
						   struct drm_vrust_set_device_value),
	DRM_IOCTL_VRUST_REVERSE = DRM_IOW(DRM_COMMAND_BASE + DRM_VRUST_REVERSE,
					  struct drm_vrust_reverse),
	DRM_IOCTL_VRUST_GEM_CREATE = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_GEM_CREATE,
					      struct drm_vrust_gem_create),
	DRM_IOCTL_VRUST_GEM_INFO = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_GEM_INFO,
					    struct drm_vrust_gem_info),
	DRM_IOCTL_VRUST_GEM_PWRITE = DRM_IOW(DRM_COMMAND_BASE + DRM_VRUST_GEM_PWRITE,
					     struct drm_vrust_gem_rw),
	DRM_IOCTL_VRUST_GEM_PREAD = DRM_IOW(DRM_COMMAND_BASE + DRM_VRUST_GEM_PREAD,
					    struct drm_vrust_gem_rw),
	DRM_IOCTL_VRUST_VM_CREATE = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_VM_CREATE,
					     struct drm_vrust_vm_create),
	DRM_IOCTL_VRUST_VM_DESTROY = DRM_IOW(DRM_COMMAND_BASE + DRM_VRUST_VM_DESTROY,
					     struct drm_vrust_vm_destroy),
	DRM_IOCTL_VRUST_VM_BIND = DRM_IOW(DRM_COMMAND_BASE + DRM_VRUST_VM_BIND,
					  struct drm_vrust_vm_bind),
	DRM_IOCTL_VRUST_VM_QUERY = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_VM_QUERY,
					    struct drm_vrust_vm_query),
	DRM_IOCTL_VRUST_EXEC = DRM_IOWR(DRM_COMMAND_BASE + DRM_VRUST_EXEC,
					struct drm_vrust_exec),
};

#if defined(__cplusplus)
}
#endif

#endif /* __VRUST_DRM_H__ */
