// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Sync files: a fence as a file descriptor, for userspace and other drivers (`sync_file`).
//!
//! [`Export`] turns a fence into a new file descriptor of the calling process in steps, so that
//! an ioctl can reserve the descriptor ([`FdReservation`]) before it commits to its result, make
//! the sync file once it has the fence (which can only fail for memory), and hand the number
//! out last; [`fence_of_fd`] takes the fence out of a sync file a client
//! passes in.
//!
//! C header: [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h)

use super::Fence;
use crate::{
    bindings,
    prelude::*,
    sync::aref::ARef,
    types::NotThreadSafe, //
};
use core::ptr::NonNull;

/// A file descriptor reserved in the calling process for a sync file, not installed.
///
/// Reserve it before the point past which an ioctl cannot fail (it can fail with `EMFILE`),
/// then make the sync file with [`FdReservation::create`]. Dropped, the descriptor is released.
///
/// # Invariants
///
/// `fd` is a descriptor reserved in the current process with `get_unused_fd_flags()`.
pub struct FdReservation {
    fd: u32,
    _not_send: NotThreadSafe,
}

impl FdReservation {
    /// Reserves a close-on-exec descriptor.
    pub fn new() -> Result<Self> {
        // SAFETY: Always safe to call; reserves a descriptor in the current process.
        let fd = unsafe { bindings::get_unused_fd_flags(bindings::O_CLOEXEC) };
        let fd = u32::try_from(fd).map_err(|_| Error::from_errno(fd))?;
        // INVARIANT: reserved above.
        Ok(Self {
            fd,
            _not_send: NotThreadSafe,
        })
    }

    /// Makes the sync file of `fence` for the descriptor. Fails only with `ENOMEM`.
    pub fn create(self, fence: &Fence) -> Result<Export> {
        // SAFETY: `fence` is initialised with a reference held; the sync file takes its own.
        let sync = unsafe { bindings::sync_file_create(fence.as_raw()) };
        if sync.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `fd` is reserved (moved out of `self`, which is not dropped), `file` is
        // the sync file's file with its reference.
        let this = core::mem::ManuallyDrop::new(self);
        Ok(Export {
            fd: this.fd,
            // SAFETY: `sync` is a new sync file, whose `file` is set.
            file: unsafe { (*sync).file },
            _not_send: NotThreadSafe,
        })
    }
}

impl Drop for FdReservation {
    fn drop(&mut self) {
        // SAFETY: Reserved and not installed (type invariant).
        unsafe { bindings::put_unused_fd(self.fd) };
    }
}

/// A sync file being exported: a reserved file descriptor and the file, not installed yet.
///
/// [`Export::install`] makes the descriptor visible to the process; dropping an `Export`
/// instead releases both, and the process never sees them. It belongs to the task that
/// reserved the descriptor (it is not `Send`): descriptors are per process.
///
/// # Invariants
///
/// `fd` is a descriptor reserved in the current process with `get_unused_fd_flags()`; `file`
/// is the file of a sync file, with the reference `sync_file_create()` returned.
pub struct Export {
    fd: u32,
    file: *mut bindings::file,
    _not_send: NotThreadSafe,
}

impl Export {
    /// Prepares a sync file for `fence`: [`FdReservation::new`] then [`FdReservation::create`].
    pub fn new(fence: &Fence) -> Result<Self> {
        FdReservation::new()?.create(fence)
    }

    /// Installs the descriptor in the process and returns its number. Cannot fail: do it
    /// last, once nothing else in the ioctl can.
    pub fn install(self) -> u32 {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `fd` is reserved and `file` holds a reference, which `fd_install()` takes
        // over (type invariants); `this` is not dropped, so neither is released again.
        unsafe { bindings::fd_install(this.fd, this.file) };
        this.fd
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        // SAFETY: Not installed: the reservation and the file's reference are still ours.
        unsafe {
            bindings::put_unused_fd(self.fd);
            bindings::fput(self.file);
        }
    }
}

/// The fence of the sync file at descriptor `fd` of the calling process (for a sync file
/// that merges several fences, a fence array of them); `EINVAL` when `fd` is not a sync file.
pub fn fence_of_fd(fd: i32) -> Result<ARef<Fence>> {
    // SAFETY: Always safe to call; returns a new reference or NULL.
    let f = unsafe { bindings::sync_file_get_fence(fd) };
    let f = NonNull::new(f).ok_or(EINVAL)?;
    // SAFETY: `sync_file_get_fence()` returned a reference, handed over here.
    Ok(unsafe { Fence::from_raw_owned(f) })
}
