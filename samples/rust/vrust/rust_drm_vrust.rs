// SPDX-License-Identifier: GPL-2.0

//! vrust: the sample driver of the Rust DRM layer.
//!
//! A virtual DRM device on the faux bus, written as a manual for driver authors: it uses every
//! layer of `kernel::drm` and has no `unsafe`. Its uapi is `include/uapi/drm/vrust_drm.h`.
//!
//! Instances are made at run time through configfs, as vkms does; loading the module also
//! makes one instance, `vrust`:
//!
//! ```text
//! mkdir /sys/kernel/config/vrust/a            # an instance named a
//! echo 1 > /sys/kernel/config/vrust/a/enabled # faux device vrust-a, DRM device registered
//! echo 0 > /sys/kernel/config/vrust/a/connected # display unplugged: hotplug event
//! echo 500 > /sys/kernel/config/vrust/a/job_timeout_ms # GPU jobs of files opened later
//! echo 0 > /sys/kernel/config/vrust/a/enabled # unplugged: open files get -ENODEV
//! rmdir /sys/kernel/config/vrust/a
//! ```
//!
//! An instance's display is configurable as vkms's: directories of planes, CRTCs, encoders and
//! connectors made in its directory before it is enabled ([`config`]), several CRTCs, each with
//! a writeback connector or not, and connectors plugged and unplugged at run time:
//!
//! ```text
//! mkdir /sys/kernel/config/vrust/b /sys/kernel/config/vrust/b/{crtc0,plane0,encoder0,connector0}
//! cd /sys/kernel/config/vrust/b
//! echo 1 > plane0/plane_type; echo crtc0 > plane0/possible_crtcs
//! echo crtc0 > encoder0/possible_crtcs; echo encoder0 > connector0/possible_encoders
//! echo 1 > enabled; echo 2 > connector0/status   # disconnected: hotplug event
//! ```
//!
//! Without object directories an instance has one pipe (one CRTC with a primary, a cursor and an
//! overlay plane, a virtual connector; vblank at the mode's refresh rate, page flips of dumb
//! buffers and of vrust's own buffers, the planes composed in software at every vblank with the
//! frame's CRC in debugfs, a writeback connector) and a render node. The C core adds, on top of the
//! GEM layer: `GEM_CLOSE`, dumb buffers (`MODE_CREATE_DUMB`, `MODE_MAP_DUMB`), `mmap()` of buffers,
//! and PRIME export and import of dma-bufs.
//!
//! # Reading order
//!
//! Each file is one part of the driver and uses one layer of `kernel::drm`:
//!
//! * [`driver`]: the driver: name, types, the ioctl table. Layer: [`drm::Driver`],
//!   [`drm::ioctl::table!`].
//! * [`device`]: per-device data; instances made and unplugged through configfs. Layer:
//!   [`drm::UnregisteredDevice`], [`drm::Registration`].
//! * [`config`]: configurable pipelines: planes, CRTCs, encoders and connectors as configfs
//!   directories, checked into a [`display::Pipeline`]. Layer: `kernel::configfs`.
//! * [`file`]: per-file data: a counter, the file's GPU VMs, its job queue. Layer:
//!   [`drm::DriverFile`].
//! * [`core_ioctls`]: ioctls that only exercise the core layer: `GET_PARAM`, `COUNTER`,
//!   `SET_DEVICE_VALUE`, `REVERSE`. Layer: [`drm::ioctl::handlers`], [`drm::user`].
//! * [`buffers`]: shmem buffers: `GEM_CREATE`, `GEM_INFO`, `GEM_PWRITE`, `GEM_PREAD`; dumb buffers
//!   and imports. Layer: [`drm::gem`].
//! * [`vm`]: GPU address spaces: `VM_CREATE`, `VM_DESTROY`, `VM_BIND`, `VM_QUERY`. Layer:
//!   [`drm::gpuvm`].
//! * [`gpu`]: the software "GPU": jobs of `FILL`, `COPY` and `HANG` commands, resolved through a
//!   VM's mappings. Layer: [`drm::job::Backend`], [`drm::gpuvm::LockedVm`],
//!   [`drm::gem::shmem::VMap`].
//! * [`exec`]: `EXEC`: a job with in- and out-sync objects and implicit sync on its buffers. Layer:
//!   [`drm::job::Queue`], [`drm::syncobj`], [`drm::gem::resv`].
//! * [`display`]: the display: the pipeline's mode objects, made in the KMS phase; the commit tail
//!   in steps. Layer: [`drm::kms::Kms`], [`drm::kms::Setup`], [`drm::kms::Tail`].
//! * [`planes`]: primary, cursor and overlay planes: typed checks, each mapping what it shows.
//!   Layer: [`drm::kms::PlaneImpl`], [`drm::kms::Check`], [`drm::kms::Framebuffer::vmap`].
//! * [`output`]: the CRTC (vblank, its work, CRCs, the background colour) and the virtual connector
//!   (modes up to 3840x2160). Layer: [`drm::kms::CrtcImpl`], [`drm::kms::ConnectorImpl`].
//! * [`compose`]: the composer: the scene of a commit, composed at every vblank into the frame's
//!   CRC and writeback jobs. Layer: [`drm::kms::compose`], [`drm::kms::Crtc::add_crc`].
//! * [`writeback`]: the writeback connector: jobs handed to the CRTC's next frame. Layer:
//!   [`drm::kms::WritebackImpl`], [`drm::kms::WritebackJob`].
//!
//! # The ioctls
//!
//! * `GET_PARAM`: device and client facts (client id, node type, open files, ...);
//! * `COUNTER`: a counter private to the calling file;
//! * `SET_DEVICE_VALUE`: a device-wide value, primary node only (`AUTH`, no `RENDER_ALLOW`);
//! * `REVERSE`: reads a user buffer of checked length and writes it back reversed;
//! * `GEM_CREATE`, `GEM_INFO`: shmem-backed buffers ([`drm::gem::shmem::Object`]) and their
//!   `mmap()` offsets;
//! * `GEM_PWRITE`, `GEM_PREAD`: copies between user memory and a buffer, a page at a time
//!   through the kernel, so that tests can compare the CPU's and the kernel's views;
//! * `VM_CREATE`, `VM_DESTROY`, `VM_BIND`, `VM_QUERY`: GPU virtual address spaces per file
//!   ([`drm::gpuvm`], in immediate mode), with mappings of buffer ranges made and cut by the
//!   split/merge steps; a bind is a job of the file's queue, asynchronous on request;
//! * `EXEC`: a job of `FILL`, `COPY` and `HANG` commands for a software "GPU", which resolves
//!   GPU addresses through a VM's mappings to the buffers' pages when the job is made; the job
//!   waits for its in-sync objects and the buffers' fences, runs from the file's job queue, and
//!   signals its out-sync object (binary or a timeline point); bounded per call
//!   (`VRUST_EXEC_MAX_BYTES`), in chunks between which the GPU reschedules. The C core adds the
//!   sync object ioctls (`SYNCOBJ_*`), as the driver takes sync objects.
//!
//! # A client
//!
//! In C with libdrm; the tests in `tools/testing/selftests/drm-rust/` call every ioctl, with
//! bad inputs too:
//!
//! ```c
//! int fd = open("/dev/dri/renderD128", O_RDWR);
//! struct drm_vrust_counter c = { .add = 5 };
//! ioctl(fd, DRM_IOCTL_VRUST_COUNTER, &c);            // c.value == 5
//! struct drm_vrust_set_device_value v = { .value = 1 };
//! ioctl(fd, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, &v);   // -1, errno EACCES: render node
//! struct drm_vrust_gem_create bo = { .size = 4096 };
//! ioctl(fd, DRM_IOCTL_VRUST_GEM_CREATE, &bo);        // bo.handle names the buffer
//! struct drm_vrust_gem_info info = { .handle = bo.handle + 1 };
//! ioctl(fd, DRM_IOCTL_VRUST_GEM_INFO, &info);        // -1, errno ENOENT: no such handle
//! ```
//!
//! [`drm::Driver`]: kernel::drm::Driver
//! [`drm::DriverFile`]: kernel::drm::DriverFile
//! [`drm::Registration`]: kernel::drm::Registration
//! [`drm::UnregisteredDevice`]: kernel::drm::UnregisteredDevice
//! [`drm::gem`]: kernel::drm::gem
//! [`drm::gem::shmem::Object`]: kernel::drm::gem::shmem::Object
//! [`drm::gem::shmem::VMap`]: kernel::drm::gem::shmem::VMap
//! [`drm::gem::resv`]: kernel::drm::gem::resv
//! [`drm::job::Backend`]: kernel::drm::job::Backend
//! [`drm::job::Queue`]: kernel::drm::job::Queue
//! [`drm::syncobj`]: kernel::drm::syncobj
//! [`drm::gpuvm`]: kernel::drm::gpuvm
//! [`drm::gpuvm::LockedVm`]: kernel::drm::gpuvm::LockedVm
//! [`drm::ioctl::handlers`]: kernel::drm::ioctl::handlers
//! [`drm::kms::Check`]: kernel::drm::kms::Check
//! [`drm::kms::ConnectorImpl`]: kernel::drm::kms::ConnectorImpl
//! [`drm::kms::CrtcImpl`]: kernel::drm::kms::CrtcImpl
//! [`drm::kms::Kms`]: kernel::drm::kms::Kms
//! [`drm::kms::PlaneImpl`]: kernel::drm::kms::PlaneImpl
//! [`drm::kms::Setup`]: kernel::drm::kms::Setup
//! [`drm::kms::Tail`]: kernel::drm::kms::Tail
//! [`drm::ioctl::table!`]: kernel::drm::ioctl::table
//! [`drm::user`]: kernel::drm::user

// The sample is written without `unsafe`: the compiler checks it.
#![forbid(unsafe_code)]

use kernel::prelude::*;

mod buffers;
mod compose;
mod config;
mod core_ioctls;
mod device;
mod display;
mod driver;
mod exec;
mod file;
mod gpu;
mod output;
mod planes;
mod vm;
mod writeback;

module! {
    type: device::VrustModule,
    name: "rust_drm_vrust",
    authors: ["drm-rust maintainers"],
    description: "vrust: sample driver of the Rust DRM layer",
    license: "GPL",
}

/// The allocation flags of memory whose size a client chooses: a failure is the client's
/// `ENOMEM`, not a kernel warning.
fn user_sized() -> kernel::alloc::Flags {
    GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN
}
