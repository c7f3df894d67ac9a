// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The GEM test driver: objects with counted data, a registered device on a faux parent with or
//! without DMA, and the helpers the GEM suites share.

use crate::{
    bindings,
    device::DeviceContext,
    drm,
    faux::{
        self,
        Device as FauxDevice, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
    },
};

/// Live [`TestBo`]s, to check that object data is dropped exactly once.
pub(crate) static LIVE_BOS: Atomic<i64> = Atomic::new(0);

/// The per-object data of [`GemDriver`].
pub(crate) struct TestBo {
    /// A value the test chooses; imports get their dma-buf's size.
    pub(crate) tag: usize,
    /// Whether the C core made the object for an import.
    pub(crate) imported: bool,
}

impl TestBo {
    /// Data with `tag`, counted in [`LIVE_BOS`].
    pub(crate) fn new(tag: usize) -> Result<Self> {
        LIVE_BOS.add(1, Relaxed);
        Ok(Self {
            tag,
            imported: false,
        })
    }
}

impl Drop for TestBo {
    fn drop(&mut self) {
        LIVE_BOS.add(-1, Relaxed);
    }
}

impl drm::gem::DriverObject for TestBo {
    type Driver = GemDriver;

    fn create(
        _dev: &drm::Device<GemDriver>,
        size: usize,
        origin: drm::gem::Origin<'_>,
    ) -> impl PinInit<Self, Error> {
        let imported = matches!(origin, drm::gem::Origin::Import(_));
        TestBo::new(size).map(|mut bo| {
            bo.imported = imported;
            bo
        })
    }
}

/// A GEM test driver on faux parents, without ioctls.
pub(crate) struct GemDriver;

/// Per-file data of [`GemDriver`].
pub(crate) struct GemFile;

impl drm::DriverFile for GemFile {
    type Driver = GemDriver;

    fn open(_dev: &drm::Device<GemDriver>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        Ok::<_, Error>(GemFile)
    }
}

#[vtable]
impl drm::Driver for GemDriver {
    type Data = ();
    type File = GemFile;
    type Object = drm::gem::shmem::Object<TestBo>;
    type Kms = drm::kms::NoKms;
    type ParentDevice<Ctx: DeviceContext> = FauxDevice<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"rust-drm-test-gem",
        desc: c"KUnit GEM test driver of the Rust DRM layer",
    };

    const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];

    // For the sync object tests (rust/kernel/drm/syncobj.rs).
    const SYNCOBJ: drm::syncobj::Support = drm::syncobj::Support::Timeline;
}

/// A registered device of [`GemDriver`] on its own faux parent.
pub(crate) struct GemDevice {
    pub(crate) reg: Option<crate::devres::Devres<drm::Registration<GemDriver>>>,
    pub(crate) dev: ARef<drm::Device<GemDriver>>,
    pub(crate) parent: Option<faux::Registration>,
}

impl GemDevice {
    /// Creates and registers a device on a faux device named `name`; with `dma`, the parent gets
    /// a 64-bit DMA mask, as vgem gives its faux device.
    pub(crate) fn new(name: &CStr, dma: bool) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        if dma {
            let fdev: &FauxDevice<crate::device::Bound> = parent.as_ref();
            let ddev: &crate::device::Device<crate::device::Bound> = fdev.as_ref();
            let raw = ddev.as_raw();
            // SAFETY: The faux device is live and not bound to a driver doing DMA; this is
            // `dma_coerce_mask_and_coherent()`, which is inline in C.
            crate::error::to_result(unsafe {
                (*raw).dma_mask = &raw mut (*raw).coherent_dma_mask;
                bindings::dma_set_mask_and_coherent(raw, u64::MAX)
            })?;
        }
        let unreg = drm::UnregisteredDevice::<GemDriver>::new(parent.as_ref(), Ok(()))?;
        let dev = ARef::from(&*unreg);
        let reg = unreg.register()?;
        Ok(Self {
            reg: Some(reg),
            dev,
            parent: Some(parent),
        })
    }
}

impl GemDevice {
    /// The parent, bound while its registration lives.
    pub(crate) fn bound_parent(&self) -> Result<&crate::device::Device<crate::device::Bound>> {
        let parent = self.parent.as_ref().ok_or(ENODEV)?;
        let fdev: &FauxDevice<crate::device::Bound> = parent.as_ref();
        Ok(fdev.as_ref())
    }
}

/// A new object of `size` bytes on `dev`, cached, with data `tag`.
pub(crate) fn bo(
    dev: &GemDevice,
    size: usize,
    tag: usize,
) -> Result<ARef<drm::gem::shmem::Object<TestBo>>> {
    drm::gem::shmem::Object::new(&dev.dev, size, drm::gem::Caching::Cached, TestBo::new(tag))
}

/// The number of live [`TestBo`]s.
pub(crate) fn live_bos() -> i64 {
    LIVE_BOS.load(Relaxed)
}
