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
//! echo 0 > /sys/kernel/config/vrust/a/enabled # unplugged: open files get -ENODEV
//! rmdir /sys/kernel/config/vrust/a
//! ```
//!
//! Each instance has a primary node and a render node, and these ioctls:
//!
//! * `GET_PARAM`: device and client facts (client id, node type, open files, ...);
//! * `COUNTER`: a counter private to the calling file;
//! * `SET_DEVICE_VALUE`: a device-wide value, primary node only (`AUTH`, no `RENDER_ALLOW`);
//! * `REVERSE`: reads a user buffer of checked length and writes it back reversed.
//!
//! A client, in C with libdrm:
//!
//! ```c
//! int fd = open("/dev/dri/renderD128", O_RDWR);
//! struct drm_vrust_counter c = { .add = 5 };
//! ioctl(fd, DRM_IOCTL_VRUST_COUNTER, &c);            // c.value == 5
//! struct drm_vrust_set_device_value v = { .value = 1 };
//! ioctl(fd, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, &v);   // -1, errno EACCES: render node
//! ```

use kernel::{
    c_str,
    configfs::{
        self,
        configfs_attrs, //
    },
    device::DeviceContext,
    devres::Devres,
    drm::{
        self,
        ioctl, //
    },
    faux,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    uapi, //
};

module! {
    type: VrustModule,
    name: "rust_drm_vrust",
    authors: ["drm-rust maintainers"],
    description: "vrust: sample driver of the Rust DRM layer",
    license: "GPL",
}

/// The driver.
struct Vrust;

/// Per-device data.
#[pin_data]
struct VrustData {
    /// The value of `SET_DEVICE_VALUE`, read by `GET_PARAM`.
    #[pin]
    value: Mutex<u64>,
    /// Files open on the device.
    #[pin]
    open_files: Mutex<u64>,
}

/// Per-file data.
#[pin_data(PinnedDrop)]
struct VrustFile {
    /// The device, to count open files.
    dev: ARef<drm::Device<Vrust>>,
    /// The `COUNTER` of this file.
    #[pin]
    counter: Mutex<u64>,
}

impl drm::DriverFile for VrustFile {
    type Driver = Vrust;

    fn open(dev: &drm::Device<Vrust>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        try_pin_init!(VrustFile {
            dev: dev.into(),
            counter <- new_mutex!(0),
        })
        // Counted once the file is sure to open; the drop uncounts it.
        .pin_chain(|file| {
            *file.dev.open_files.lock() += 1;
            Ok(())
        })
    }
}

#[pinned_drop]
impl PinnedDrop for VrustFile {
    fn drop(self: Pin<&mut Self>) {
        *self.dev.open_files.lock() -= 1;
    }
}

impl Vrust {
    fn get_param(
        dev: &drm::Registered<'_, Self>,
        arg: &mut uapi::drm_vrust_get_param,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        arg.value = match arg.param {
            uapi::VRUST_PARAM_API_VERSION => uapi::VRUST_API_VERSION.into(),
            uapi::VRUST_PARAM_CLIENT_ID => file.client().id(),
            uapi::VRUST_PARAM_NODE_TYPE => match file.client().node() {
                drm::Node::Primary => uapi::VRUST_NODE_PRIMARY.into(),
                drm::Node::Render => uapi::VRUST_NODE_RENDER.into(),
                drm::Node::Accel => return Err(EINVAL),
            },
            uapi::VRUST_PARAM_DEVICE_VALUE => *dev.value.lock(),
            uapi::VRUST_PARAM_OPEN_FILES => *dev.open_files.lock(),
            _ => return Err(EINVAL),
        };
        Ok(0)
    }

    fn counter(
        _dev: &drm::Registered<'_, Self>,
        arg: &mut uapi::drm_vrust_counter,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let mut counter = file.counter.lock();
        *counter = counter.checked_add(arg.add).ok_or(EOVERFLOW)?;
        arg.value = *counter;
        Ok(0)
    }

    fn set_device_value(
        dev: &drm::Registered<'_, Self>,
        arg: &uapi::drm_vrust_set_device_value,
        _file: &drm::File<Self>,
    ) -> Result<u32> {
        *dev.value.lock() = arg.value;
        Ok(0)
    }

    fn reverse(
        _dev: &drm::Registered<'_, Self>,
        arg: &uapi::drm_vrust_reverse,
        _file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.pad != 0 || arg.len > uapi::VRUST_REVERSE_MAX_LEN {
            return Err(EINVAL);
        }
        let len = usize::try_from(arg.len)?;
        for addr in [arg.src, arg.dst] {
            addr.checked_add(u64::from(arg.len)).ok_or(EOVERFLOW)?;
        }
        let src = UserPtr::from_addr(usize::try_from(arg.src).map_err(|_| EFAULT)?);
        let dst = UserPtr::from_addr(usize::try_from(arg.dst).map_err(|_| EFAULT)?);

        // Up to 64 KiB: no need for physically contiguous memory.
        let mut buf = KVVec::with_capacity(len, GFP_KERNEL)?;
        UserSlice::new(src, len).read_all(&mut buf, GFP_KERNEL)?;
        buf.reverse();
        UserSlice::new(dst, len).writer().write_slice(&buf)?;
        Ok(0)
    }
}

#[vtable]
impl drm::Driver for Vrust {
    type Data = VrustData;
    type File = VrustFile;
    type Object = drm::gem::NoGem;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"vrust",
        desc: c"Sample driver of the Rust DRM layer",
    };

    const IOCTLS: &'static [ioctl::Desc<Self>] = kernel::drm_ioctls! { Vrust:
        (IOWR, DRM_IOCTL_VRUST_GET_PARAM, drm_vrust_get_param, Vrust::get_param, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_COUNTER, drm_vrust_counter, Vrust::counter, RENDER_ALLOW),
        (IOW, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, drm_vrust_set_device_value,
            Vrust::set_device_value, AUTH),
        (IOW, DRM_IOCTL_VRUST_REVERSE, drm_vrust_reverse, Vrust::reverse, RENDER_ALLOW),
    };
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
            }),
        )?;
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

#[pin_data]
struct VrustModule {
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
