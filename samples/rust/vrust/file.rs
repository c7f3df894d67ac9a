// SPDX-License-Identifier: GPL-2.0

//! Per-file data: what each open file of a vrust node has of its own.
//!
//! The layer makes a [`VrustFile`] when a client opens a node ([`drm::DriverFile::open`]) and
//! drops it when the last reference to the file goes; every ioctl handler gets the caller's
//! [`drm::File`], which derefs to it.

use crate::{
    driver::Vrust,
    gpu::GpuQueue,
    vm::VrustVm, //
};
use kernel::{
    drm::{
        self,
        gpuvm,
        job, //
    },
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::Relaxed,
        Arc,
        Mutex, //
    },
};

/// Per-file data.
#[pin_data]
pub(crate) struct VrustFile {
    /// The device.
    pub(crate) dev: ARef<drm::Device<Vrust>>,
    /// The queue of this file's GPU jobs (exec.rs). First, so that it is torn down first: the
    /// job being run is stopped, every fence signalled, and the jobs dropped.
    pub(crate) queue: FileQueue,
    /// Counts the file in the device's open files while it lives.
    _open: OpenFile,
    /// The `COUNTER` of this file.
    #[pin]
    pub(crate) counter: Mutex<u64>,
    /// The GPU VMs of this file.
    #[pin]
    pub(crate) vms: Mutex<VmTable>,
}

/// A file's job queue. When the file closes, the job being run is stopped first, then the
/// queue is torn down: the jobs not run are cancelled and every fence signals.
pub(crate) struct FileQueue(job::Queue<GpuQueue>);

impl core::ops::Deref for FileQueue {
    type Target = job::Queue<GpuQueue>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for FileQueue {
    fn drop(&mut self) {
        self.0.backend().abort();
    }
}

/// The GPU VMs of a file, by id.
#[derive(Default)]
pub(crate) struct VmTable {
    /// The id of the last VM made.
    pub(crate) next_id: u32,
    /// The VMs, with their ids.
    pub(crate) vms: KVec<(u32, Arc<gpuvm::UniqueVm<VrustVm>>)>,
}

impl VrustFile {
    /// The VM `id` of this file.
    pub(crate) fn vm(&self, id: u32) -> Result<Arc<gpuvm::UniqueVm<VrustVm>>> {
        let table = self.vms.lock();
        let (_, vm) = table.vms.iter().find(|(i, _)| *i == id).ok_or(ENOENT)?;
        Ok(vm.clone())
    }
}

impl drm::DriverFile for VrustFile {
    type Driver = Vrust;

    fn open(dev: &drm::Device<Vrust>, client: &drm::Client) -> impl PinInit<Self, Error> {
        let timeout = dev.job_timeout_ms.load(Relaxed);
        // If a field after `_open` fails to initialise, those before it are dropped: the count
        // goes down again (today the fields after it cannot fail).
        try_pin_init!(VrustFile {
            dev: dev.into(),
            queue: FileQueue(crate::exec::new_queue(dev, client.id(), timeout)?),
            _open: OpenFile::new(dev),
            counter <- new_mutex!(0),
            vms <- new_mutex!(VmTable::default()),
        })
    }
}

/// One open file of a device, counted in its `open_files` while this lives.
struct OpenFile(ARef<drm::Device<Vrust>>);

impl OpenFile {
    fn new(dev: &drm::Device<Vrust>) -> Self {
        *dev.open_files.lock() += 1;
        Self(dev.into())
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        *self.0.open_files.lock() -= 1;
    }
}
