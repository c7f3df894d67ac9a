// SPDX-License-Identifier: GPL-2.0

//! The device and its instances: per-device data, and instances made, registered and
//! unplugged through configfs (`/sys/kernel/config/vrust/<name>/enabled`), as vkms does.
//!
//! An instance is a faux device with a DRM device on it ([`Live`]). Registering happens in two
//! steps: the device is allocated under the bound parent ([`drm::UnregisteredDevice`]), then
//! registered with userspace, which gives a [`drm::Registration`] held in the parent's devres.
//! Dropping the instance unplugs the device (open files get `ENODEV`), then removes the parent.

use crate::driver::Vrust;
use kernel::{
    c_str,
    configfs::{
        self,
        configfs_attrs, //
    },
    devres::Devres,
    drm, faux, new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::CString,
    sync::{
        atomic::Atomic,
        Mutex, //
    },
};

/// Per-device data.
#[pin_data]
pub(crate) struct VrustData {
    /// The value of `SET_DEVICE_VALUE`, read by `GET_PARAM`.
    #[pin]
    pub(crate) value: Mutex<u64>,
    /// Files open on the device.
    #[pin]
    pub(crate) open_files: Mutex<u64>,
    /// Buffers of the device still allocated.
    pub(crate) live_buffers: Atomic<i64>,
    /// The id of the next buffer.
    pub(crate) next_bo_id: Atomic<u64>,
}

/// A live instance: the DRM device, registered, on its faux parent.
///
/// The fields drop in order: first the registration (unplug), then the parent.
struct Live {
    _drm: Devres<drm::Registration<Vrust>>,
    _parent: faux::Registration,
}

impl Live {
    fn new(name: &CStr) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        let dev = drm::UnregisteredDevice::<Vrust>::new(
            parent.as_ref(),
            try_pin_init!(VrustData {
                value <- new_mutex!(0),
                open_files <- new_mutex!(0),
                live_buffers: Atomic::new(0),
                next_bo_id: Atomic::new(1),
            }),
        )?;
        let dev = dev.modeset(crate::display::setup)?;
        Ok(Self {
            _drm: dev.register()?,
            _parent: parent,
        })
    }
}

/// A configfs instance directory, `/sys/kernel/config/vrust/<name>`.
#[pin_data]
struct Instance {
    /// The faux device name, `vrust-<name>`.
    name: CString,
    /// The live instance while `enabled` is 1.
    #[pin]
    live: Mutex<Option<Live>>,
}

/// The configfs subsystem, `/sys/kernel/config/vrust`.
#[pin_data]
struct Instances {}

#[vtable]
impl configfs::GroupOperations for Instances {
    type Child = Instance;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<Instance>, Error>> {
        let item_type = configfs_attrs! {
            container: configfs::Group<Instance>,
            data: Instance,
            attributes: [
                enabled: 0,
            ],
        };
        let faux_name = CString::try_from_fmt(fmt!("vrust-{}", name.to_str()?))?;
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            try_pin_init!(Instance {
                name: faux_name,
                live <- new_mutex!(None),
            }),
        ))
    }
}

#[vtable]
impl configfs::AttributeOperations<0> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        page[0] = if inst.live.lock().is_some() {
            b'1'
        } else {
            b'0'
        };
        page[1] = b'\n';
        Ok(2)
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let enable = match page.strip_suffix(b"\n").unwrap_or(page) {
            b"1" => true,
            b"0" => false,
            _ => return Err(EINVAL),
        };
        let mut live = inst.live.lock();
        match (enable, live.is_some()) {
            (true, false) => *live = Some(Live::new(&inst.name)?),
            (false, true) => *live = None,
            _ => {}
        }
        Ok(())
    }
}

/// The module: the configfs subsystem, and the instance `vrust` made at load.
#[pin_data]
pub(crate) struct VrustModule {
    #[pin]
    instances: configfs::Subsystem<Instances>,
    default: Live,
}

impl kernel::InPlaceModule for VrustModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let item_type = configfs_attrs! {
            container: configfs::Subsystem<Instances>,
            data: Instances,
            child: Instance,
            attributes: [],
        };
        try_pin_init!(Self {
            instances <- configfs::Subsystem::new(c_str!("vrust"), item_type, try_pin_init!(Instances {})),
            default: Live::new(c_str!("vrust"))?,
        })
    }
}
