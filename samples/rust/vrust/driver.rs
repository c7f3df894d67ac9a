// SPDX-License-Identifier: GPL-2.0

//! The driver: its name, its types, and its ioctl table.
//!
//! Everything the C core needs to know about vrust is here, as the items of one
//! [`drm::Driver`] implementation: the layer builds the C `struct drm_driver` from them at
//! compile time, and derives the driver features from what they name (GEM from the object type,
//! a render node from the `RENDER_ALLOW` ioctls).

use crate::{
    buffers::{
        Bo,
        Buffers, //
    },
    core_ioctls::CoreIoctls,
    device::VrustData,
    exec::Gpu,
    file::VrustFile,
    vm::Vms,
};
use kernel::{
    device::DeviceContext,
    drm::{
        self,
        ioctl, //
    },
    faux,
    prelude::*, //
};

/// The driver.
pub(crate) struct Vrust;

#[vtable]
impl drm::Driver for Vrust {
    type Data = VrustData;
    type File = VrustFile;
    type Object = Bo;
    // The display: `Vrust` implements `kms::Kms` (display.rs).
    type Kms = Self;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"vrust",
        desc: c"Sample driver of the Rust DRM layer",
    };

    // In the order of the command numbers of `include/uapi/drm/vrust_drm.h`; each handler says
    // its command and permissions where it is defined.
    // `EXEC` takes sync objects, binary and timeline ones: the C core's sync object ioctls.
    const SYNCOBJ: drm::syncobj::Support = drm::syncobj::Support::Timeline;

    const IOCTLS: &'static [ioctl::Desc<Self>] = drm::ioctl::table![
        CoreIoctls::get_param,
        CoreIoctls::counter,
        CoreIoctls::set_device_value,
        CoreIoctls::reverse,
        Buffers::gem_create,
        Buffers::gem_info,
        Buffers::gem_pwrite,
        Buffers::gem_pread,
        Vms::vm_create,
        Vms::vm_destroy,
        Vms::vm_bind,
        Vms::vm_query,
        Gpu::exec,
    ];
}
