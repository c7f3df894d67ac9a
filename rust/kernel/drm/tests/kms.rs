// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The KMS driver of the benchmark against vkms: one pipe of the shape of vkms's.
//!
//! The device has what a vkms device configured with a primary, an overlay and a cursor plane
//! and no writeback connector has: the three planes (created in that order, as vkms does, so
//! that their indices match), one CRTC fed by them, a virtual encoder and a virtual connector
//! with the standard modes up to 8192x8192 (1024x768 preferred), and vkms's limits. Every plane
//! checks its placement with [`Check::check_plane`] (no scaling, positioned anywhere), as
//! `vkms_plane_atomic_check()` does with `drm_atomic_helper_check_plane_state()`; the CRTC's
//! check counts the visible planes of the commit into its state, as `vkms_crtc_atomic_check()`
//! does. The plane states carry no driver data.
//!
//! Self-contained: [`KmsTestDevice::new`] makes a registered device on a faux parent of its own,
//! and its drop unregisters both.

use crate::{
    device::DeviceContext,
    devres::Devres,
    drm::{
        self,
        kms::{
            self,
            rotation,
            Check,
            Connector,
            ConnectorType,
            Crtc,
            CrtcMask,
            CrtcPlanes,
            Encoder,
            EncoderType,
            Handle,
            Modes,
            Plane,
            PlaneSpec,
            PlaneType,
            Scaling, //
        },
    },
    faux,
    prelude::*,
    sync::aref::ARef,
};

/// The KMS test driver.
pub(crate) struct KmsTestDriver;

/// Its per-file data: none.
pub(crate) struct KmsTestFile;

impl drm::DriverFile for KmsTestFile {
    type Driver = KmsTestDriver;

    fn open(_dev: &drm::Device<KmsTestDriver>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        Ok::<_, Error>(KmsTestFile)
    }
}

#[vtable]
impl drm::Driver for KmsTestDriver {
    type Data = ();
    type File = KmsTestFile;
    type Object = drm::gem::NoGem;
    type Kms = Self;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"rust-drm-test-kms",
        desc: c"KMS test driver of the Rust DRM layer",
    };

    const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
}

/// The mode objects of a device of the test driver.
pub(crate) struct KmsTestDisplay {
    pub(crate) primary: Handle<Plane<TestPlane>>,
    pub(crate) overlay: Handle<Plane<TestPlane>>,
    pub(crate) cursor: Handle<Plane<TestPlane>>,
    pub(crate) crtc: Handle<Crtc<TestCrtc>>,
    pub(crate) _encoder: Handle<Encoder>,
    pub(crate) _connector: Handle<Connector<TestConnector>>,
}

#[vtable]
impl kms::Kms<KmsTestDriver> for KmsTestDriver {
    type Display = KmsTestDisplay;

    // vkms's (`XRES_MIN`, `XRES_MAX`, …).
    const MODE_CONFIG: kms::ModeConfig = kms::ModeConfig {
        min_width: 10,
        min_height: 10,
        max_width: 8192,
        max_height: 8192,
        cursor_width: 512,
        cursor_height: 512,
    };
}

/// The formats of the primary and overlay planes (a subset of vkms's: the check of a plane
/// without a framebuffer does not look at them).
const FORMATS: [u32; 4] = [
    kms::format::ARGB8888,
    kms::format::XRGB8888,
    kms::format::ABGR8888,
    kms::format::XBGR8888,
];

/// A plane of kind `kind` on the CRTC of `pipe`, with vkms's rotation property and modifiers
/// (vkms passes none, so the C core gives it linear).
fn plane_spec(kind: PlaneType, formats: &[u32], pipe: CrtcMask) -> PlaneSpec<'_> {
    PlaneSpec {
        kind,
        formats,
        modifiers: &[kms::format::MOD_LINEAR],
        possible_crtcs: pipe,
        zpos: None,
        rotations: Some(rotation::ROTATE_MASK | rotation::REFLECT_MASK),
        alpha: false,
        blend_modes: None,
        yuv_properties: false,
    }
}

/// The planes of the test driver, all three of one implementation, as vkms's are.
pub(crate) struct TestPlane;

#[vtable]
impl kms::PlaneImpl for TestPlane {
    type Driver = KmsTestDriver;
    type State = ();

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, KmsTestDriver>) -> Result {
        commit.check_plane(plane, Scaling::None, true)
    }
}

/// The CRTC of the test driver.
pub(crate) struct TestCrtc;

#[vtable]
impl kms::CrtcImpl for TestCrtc {
    type Driver = KmsTestDriver;
    /// The number of visible planes on the CRTC.
    type State = u32;

    fn atomic_check(crtc: &Crtc<Self>, commit: &mut Check<'_, KmsTestDriver>) -> Result {
        let d = commit.display();
        let ix = crtc.index();
        let mut visible = 0u32;
        for plane in [&d.primary, &d.overlay, &d.cursor] {
            if let Some(s) = commit.plane(plane)? {
                visible += u32::from(s.visible() && s.feeds(ix));
            }
        }
        **commit.crtc_mut(crtc)? = visible;
        Ok(())
    }
}

/// The virtual connector of the test driver: always connected, vkms's modes.
pub(crate) struct TestConnector;

#[vtable]
impl kms::ConnectorImpl for TestConnector {
    type Driver = KmsTestDriver;
    type State = ();

    fn get_modes(_connector: &Connector<Self>, modes: &mut Modes<'_>) -> u32 {
        let n = modes.add_standard(8192, 8192);
        modes.set_preferred(1024, 768);
        n
    }
}

/// Makes the mode objects of a device of the test driver, in its KMS phase.
fn setup(s: &mut kms::Setup<'_, KmsTestDriver>) -> Result<KmsTestDisplay> {
    let pipe = CrtcMask::only(s.num_crtcs());
    let primary = s.plane(
        &plane_spec(PlaneType::Primary, &FORMATS, pipe),
        Ok(TestPlane),
    )?;
    let overlay = s.plane(
        &plane_spec(PlaneType::Overlay, &FORMATS, pipe),
        Ok(TestPlane),
    )?;
    let cursor = s.plane(
        &plane_spec(PlaneType::Cursor, &[kms::format::ARGB8888], pipe),
        Ok(TestPlane),
    )?;
    let planes = CrtcPlanes::primary(s, &primary)?.with_cursor(s, &cursor)?;
    let crtc = s.crtc(planes, Ok(TestCrtc))?;
    let encoder = s.encoder(EncoderType::Virtual, pipe)?;
    let connector = s.connector(ConnectorType::Virtual, &encoder, Ok(TestConnector))?;
    Ok(KmsTestDisplay {
        primary,
        overlay,
        cursor,
        crtc,
        _encoder: encoder,
        _connector: connector,
    })
}

/// A registered device of the KMS test driver on its own faux parent.
///
/// The fields drop in order: the registration (unplug, which turns the CRTC off), the device
/// reference, then the parent.
pub(crate) struct KmsTestDevice {
    _reg: Devres<drm::Registration<KmsTestDriver>>,
    pub(crate) dev: ARef<drm::Device<KmsTestDriver>>,
    _parent: faux::Registration,
}

impl KmsTestDevice {
    /// Creates and registers a device on a new faux device named `name`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        let unreg =
            drm::UnregisteredDevice::<KmsTestDriver>::new(parent.as_ref(), Ok::<_, Error>(()))?;
        let unreg = unreg.modeset(setup)?;
        let dev = ARef::from(&*unreg);
        let reg = unreg.register()?;
        Ok(Self {
            _reg: reg,
            dev,
            _parent: parent,
        })
    }

    /// The device's mode objects (set in `new`: this does not fail).
    pub(crate) fn display(&self) -> Result<&KmsTestDisplay> {
        self.dev.display()
    }
}
