// SPDX-License-Identifier: GPL-2.0

//! The device and its instances: per-device data, and instances made, registered and
//! unplugged through configfs (`/sys/kernel/config/vrust/<name>/enabled`), as vkms does.
//!
//! An instance is a faux device with a DRM device on it ([`Live`]). Its `connected` attribute
//! plugs a display into the virtual connector or unplugs it (`1`/`0`); a change sends a hotplug
//! event, and userspace sees the new status when it probes the connector.
//!
//! Registering happens in three steps: the device is allocated under the bound parent
//! ([`drm::UnregisteredDevice`]), its display is set up ([`crate::display::setup`], in the KMS
//! phase), then it is registered with userspace, which gives a [`drm::Registration`] held in the
//! parent's devres. Dropping the instance unplugs the device (open files get `ENODEV`), then
//! removes the parent.

use crate::driver::Vrust;
use kernel::{
    c_str,
    configfs::{
        self,
        configfs_attrs, //
    },
    devres::Devres,
    drm::{
        self,
        job, //
    },
    faux, new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
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
    /// Whether a display is plugged into the virtual connector: what its `detect` says.
    pub(crate) connected: Atomic<bool>,
    /// How long a GPU job may run before it times out, for the queues of files opened from
    /// now on (configfs attribute `job_timeout_ms`).
    pub(crate) job_timeout_ms: Atomic<u32>,
    /// The workqueue that the job queues of the device's files run on: one GPU.
    pub(crate) gpu_wq: Arc<job::Workqueue>,
}

/// A live instance: the DRM device, registered, on its faux parent.
///
/// The fields drop in order: first the registration (unplug), then the reference to the device,
/// then the parent.
struct Live {
    _drm: Devres<drm::Registration<Vrust>>,
    dev: ARef<drm::Device<Vrust>>,
    _parent: faux::Registration,
}

impl Live {
    fn new(name: &CStr, connected: bool, job_timeout_ms: u32) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        let gpu_wq = job::Workqueue::new(c"vrust-gpu")?;
        let dev = drm::UnregisteredDevice::<Vrust>::new(
            parent.as_ref(),
            try_pin_init!(VrustData {
                value <- new_mutex!(0),
                open_files <- new_mutex!(0),
                live_buffers: Atomic::new(0),
                next_bo_id: Atomic::new(1),
                connected: Atomic::new(connected),
                job_timeout_ms: Atomic::new(job_timeout_ms),
                gpu_wq,
            }),
        )?;
        let dev = dev.modeset(crate::display::setup)?;
        let drm_dev = ARef::from(&*dev);
        Ok(Self {
            _drm: dev.register()?,
            dev: drm_dev,
            _parent: parent,
        })
    }

    /// Plugs a display into the connector or unplugs it, and tells userspace.
    fn set_connected(&self, connected: bool) {
        if self.dev.connected.xchg(connected, Relaxed) != connected {
            self.dev.hotplug_event();
        }
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
    /// The value of `connected`, kept while the instance is disabled.
    connected: Atomic<bool>,
    /// The value of `job_timeout_ms`, likewise.
    job_timeout_ms: Atomic<u32>,
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
                connected: 1,
                job_timeout_ms: 2,
            ],
        };
        let faux_name = CString::try_from_fmt(fmt!("vrust-{}", name.to_str()?))?;
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            try_pin_init!(Instance {
                name: faux_name,
                live <- new_mutex!(None),
                connected: Atomic::new(true),
                job_timeout_ms: Atomic::new(DEFAULT_JOB_TIMEOUT_MS),
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
        let enable = parse_bool(page)?;
        let mut live = inst.live.lock();
        match (enable, live.is_some()) {
            (true, false) => {
                *live = Some(Live::new(
                    &inst.name,
                    inst.connected.load(Relaxed),
                    inst.job_timeout_ms.load(Relaxed),
                )?)
            }
            (false, true) => *live = None,
            _ => {}
        }
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<1> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        page[0] = if inst.connected.load(Relaxed) {
            b'1'
        } else {
            b'0'
        };
        page[1] = b'\n';
        Ok(2)
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let connected = parse_bool(page)?;
        // Under the lock, so that an instance being enabled sees the new value.
        let live = inst.live.lock();
        inst.connected.store(connected, Relaxed);
        if let Some(live) = &*live {
            live.set_connected(connected);
        }
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<2> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(&mut page[..]);
        core::fmt::Write::write_fmt(&mut w, fmt!("{}\n", inst.job_timeout_ms.load(Relaxed)))
            .map_err(|_| EINVAL)?;
        Ok(w.bytes_written())
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let text =
            core::str::from_utf8(page.strip_suffix(b"\n").unwrap_or(page)).map_err(|_| EINVAL)?;
        let ms: u32 = text.parse().map_err(|_| EINVAL)?;
        if ms == 0 || ms > MAX_JOB_TIMEOUT_MS {
            return Err(EINVAL);
        }
        let live = inst.live.lock();
        inst.job_timeout_ms.store(ms, Relaxed);
        if let Some(live) = &*live {
            live.dev.job_timeout_ms.store(ms, Relaxed);
        }
        Ok(())
    }
}

/// The job timeout of a new instance, in milliseconds.
const DEFAULT_JOB_TIMEOUT_MS: u32 = 10_000;
/// The longest job timeout an instance takes (`job_timeout_ms`), in milliseconds.
const MAX_JOB_TIMEOUT_MS: u32 = 600_000;

/// A configfs boolean: `1` or `0`, with or without a newline.
fn parse_bool(page: &[u8]) -> Result<bool> {
    match page.strip_suffix(b"\n").unwrap_or(page) {
        b"1" => Ok(true),
        b"0" => Ok(false),
        _ => Err(EINVAL),
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
            default: Live::new(c_str!("vrust"), true, DEFAULT_JOB_TIMEOUT_MS)?,
        })
    }
}
