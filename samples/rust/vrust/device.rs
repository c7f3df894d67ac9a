// SPDX-License-Identifier: GPL-2.0

//! The device and its instances: per-device data, and instances made, registered and
//! unplugged through configfs (`/sys/kernel/config/vrust/<name>/enabled`), as vkms does.
//!
//! An instance is a faux device with a DRM device on it ([`Live`]), made with the pipeline that
//! the directories of its mode objects describe ([`config`](crate::config)), or the default
//! one. Its `connected` attribute plugs a display into the default pipeline's connector or
//! unplugs it (`1`/`0`); a change sends a hotplug event, and userspace sees the new status when
//! it probes the connector.
//!
//! Registering happens in three steps: the device is allocated under the bound parent
//! ([`drm::UnregisteredDevice`]), its display is set up ([`crate::display::setup`], in the KMS
//! phase), then it is registered with userspace, which gives a [`drm::Registration`] held in the
//! parent's devres. Dropping the instance unplugs the device (open files get `ENODEV`), then
//! removes the parent.

use crate::{
    config::{
        self,
        Object,
        ObjectDir, //
    },
    display::Pipeline,
    driver::Vrust,
    output::Plug,
};
use kernel::{
    c_str,
    configfs::{
        self,
        configfs_attrs, //
    },
    devres::Devres,
    drm::{
        self,
        job,
        kms::Status, //
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
pub(crate) struct Live {
    _drm: Devres<drm::Registration<Vrust>>,
    dev: ARef<drm::Device<Vrust>>,
    _parent: faux::Registration,
    /// Whether the device has the default pipeline, whose connector `connected` plugs.
    default_pipe: bool,
}

impl Live {
    /// Makes the device of `pipeline`, which is the default one if `default_pipe`.
    fn new(
        name: &CStr,
        pipeline: &Pipeline,
        default_pipe: bool,
        job_timeout_ms: u32,
    ) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        let gpu_wq = job::Workqueue::new(c"vrust-gpu")?;
        let dev = drm::UnregisteredDevice::<Vrust>::new(
            parent.as_ref(),
            try_pin_init!(VrustData {
                value <- new_mutex!(0),
                open_files <- new_mutex!(0),
                live_buffers: Atomic::new(0),
                next_bo_id: Atomic::new(1),
                job_timeout_ms: Atomic::new(job_timeout_ms),
                gpu_wq,
            }),
        )?;
        let dev = dev.modeset(|s| crate::display::setup(s, pipeline))?;
        let drm_dev = ARef::from(&*dev);
        Ok(Self {
            _drm: dev.register()?,
            dev: drm_dev,
            _parent: parent,
            default_pipe,
        })
    }
}

/// An instance's state, shared by its configfs directory and those of its objects.
#[pin_data]
pub(crate) struct Shared {
    /// The faux device name, `vrust-<name>`.
    name: CString,
    #[pin]
    pub(crate) inner: Mutex<Inner>,
    /// The status of the default pipeline's connector (`connected`), kept while the instance
    /// is disabled.
    connected: Arc<Plug>,
    /// The value of `job_timeout_ms`, likewise.
    job_timeout_ms: Atomic<u32>,
}

/// What the instance's lock protects.
pub(crate) struct Inner {
    /// The live instance while `enabled` is 1.
    pub(crate) live: Option<Live>,
    /// The objects of the pipeline, in the order they were made.
    pub(crate) objects: KVec<Arc<Object>>,
}

impl Inner {
    /// Tells userspace that a connector of the live instance may have changed.
    pub(crate) fn hotplug(&self) {
        if let Some(live) = &self.live {
            live.dev.hotplug_event();
        }
    }

    /// Tells userspace that the connector of the default pipeline may have changed, if the
    /// live instance has that pipeline.
    fn hotplug_default(&self) {
        if self.live.as_ref().is_some_and(|live| live.default_pipe) {
            self.hotplug();
        }
    }
}

/// A configfs instance directory, `/sys/kernel/config/vrust/<name>`.
struct Instance {
    shared: Arc<Shared>,
}

#[vtable]
impl configfs::GroupOperations for Instance {
    type Child = ObjectDir;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<ObjectDir>, Error>> {
        config::make_object(&self.shared, name)
    }
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
            child: ObjectDir,
            attributes: [
                enabled: 0,
                connected: 1,
                job_timeout_ms: 2,
            ],
        };
        let faux_name = CString::try_from_fmt(fmt!("vrust-{}", name.to_str()?))?;
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                name: faux_name,
                inner <- new_mutex!(Inner {
                    live: None,
                    objects: KVec::new(),
                }),
                connected: Plug::new(Status::Connected)?,
                job_timeout_ms: Atomic::new(DEFAULT_JOB_TIMEOUT_MS),
            }),
            GFP_KERNEL,
        )?;
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            Ok(Instance { shared }),
        ))
    }
}

#[vtable]
impl configfs::AttributeOperations<0> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        page[0] = if inst.shared.inner.lock().live.is_some() {
            b'1'
        } else {
            b'0'
        };
        page[1] = b'\n';
        Ok(2)
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let enable = parse_bool(page)?;
        let sh = &*inst.shared;
        let mut inner = sh.inner.lock();
        match (enable, inner.live.is_some()) {
            (true, false) => {
                let default_pipe = inner.objects.is_empty();
                let pipeline = if default_pipe {
                    Pipeline::single(sh.connected.clone())?
                } else {
                    config::pipeline(&sh.name, &inner.objects)?
                };
                let timeout = sh.job_timeout_ms.load(Relaxed);
                inner.live = Some(Live::new(&sh.name, &pipeline, default_pipe, timeout)?);
            }
            (false, true) => inner.live = None,
            _ => {}
        }
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<1> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        page[0] = if inst.shared.connected.get() == Status::Connected {
            b'1'
        } else {
            b'0'
        };
        page[1] = b'\n';
        Ok(2)
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let status = if parse_bool(page)? {
            Status::Connected
        } else {
            Status::Disconnected
        };
        // Under the lock, so that an instance being enabled sees the new value.
        let inner = inst.shared.inner.lock();
        if inst.shared.connected.set(status) {
            inner.hotplug_default();
        }
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<2> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        config::show_u32(page, inst.shared.job_timeout_ms.load(Relaxed))
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let ms = config::parse_u32(page)?;
        if ms == 0 || ms > MAX_JOB_TIMEOUT_MS {
            return Err(EINVAL);
        }
        let inner = inst.shared.inner.lock();
        inst.shared.job_timeout_ms.store(ms, Relaxed);
        if let Some(live) = &inner.live {
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
            instances <- configfs::Subsystem::new(
                c_str!("vrust"),
                item_type,
                try_pin_init!(Instances {}),
            ),
            default: Live::new(
                c_str!("vrust"),
                &Pipeline::single(Plug::new(Status::Connected)?)?,
                true,
                DEFAULT_JOB_TIMEOUT_MS,
            )?,
        })
    }
}
