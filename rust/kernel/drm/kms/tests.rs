// SPDX-License-Identifier: GPL-2.0 OR MIT

//! KUnit tests of the KMS state machinery, on a display with two plane implementations of
//! different state types: duplicate/destroy balance, typed lookups, failed checks, the tail.

use crate::{
    drm::{
        self,
        kms::{
            self,
            tail,
            CommitMode,
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
            Tail, //
        },
    },
    faux,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// States alive, of every object kind: made by `Default` and `Clone`, gone in `Drop`.
static LIVE: Atomic<i64> = Atomic::new(0);
/// Commit tails run.
static TAILS: Atomic<u64> = Atomic::new(0);

/// A state that counts itself in [`LIVE`], with a value and a flag the check hooks read.
struct Counted<const KIND: u32> {
    value: u32,
    reject: bool,
}

impl<const KIND: u32> Default for Counted<KIND> {
    fn default() -> Self {
        LIVE.fetch_add(1, Relaxed);
        Self {
            value: KIND,
            reject: false,
        }
    }
}

impl<const KIND: u32> Clone for Counted<KIND> {
    fn clone(&self) -> Self {
        LIVE.fetch_add(1, Relaxed);
        Self {
            value: self.value,
            reject: self.reject,
        }
    }
}

impl<const KIND: u32> Drop for Counted<KIND> {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Relaxed);
    }
}

struct KmsDriver;

struct KmsFile;

impl drm::DriverFile for KmsFile {
    type Driver = KmsDriver;

    fn open(_dev: &drm::Device<KmsDriver>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        Ok::<_, Error>(KmsFile)
    }
}

#[vtable]
impl drm::Driver for KmsDriver {
    type Data = ();
    type File = KmsFile;
    type Object = drm::gem::NoGem;
    type Kms = Self;
    type ParentDevice<Ctx: crate::device::DeviceContext> = faux::Device<Ctx>;
    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"kms-kunit",
        desc: c"KMS state tests",
    };
    const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
}

struct Display {
    primary: Handle<Plane<Primary>>,
    cursor: Handle<Plane<Cursor>>,
    crtc: Handle<Crtc<Pipe>>,
    _encoder: Handle<Encoder>,
    _connector: Handle<Connector<Output>>,
}

#[vtable]
impl kms::Kms<KmsDriver> for KmsDriver {
    type Display = Display;
    const MODE_CONFIG: kms::ModeConfig = kms::ModeConfig {
        min_width: 1,
        min_height: 1,
        max_width: 4096,
        max_height: 4096,
        cursor_width: 64,
        cursor_height: 64,
    };

    fn commit_tail<'c>(t: Tail<'c, KmsDriver, tail::Start>) -> Tail<'c, KmsDriver, tail::Done> {
        TAILS.fetch_add(1, Relaxed);
        t.disable_outputs()
            .enable_outputs_first()
            .commit_planes_per_crtc()
            .hw_done()
            .wait_for_flip_done()
            .cleanup_planes()
    }
}

struct Primary;

#[vtable]
impl kms::PlaneImpl for Primary {
    type Driver = KmsDriver;
    type State = Counted<1>;

    fn atomic_check(plane: &Plane<Self>, commit: &mut kms::Check<'_, KmsDriver>) -> Result {
        if commit.plane(plane)?.is_some_and(|s| s.reject) {
            return Err(EINVAL);
        }
        Ok(())
    }
}

struct Cursor;

#[vtable]
impl kms::PlaneImpl for Cursor {
    type Driver = KmsDriver;
    type State = Counted<2>;
}

struct Pipe;

#[vtable]
impl kms::CrtcImpl for Pipe {
    type Driver = KmsDriver;
    type State = Counted<3>;

    fn atomic_check(crtc: &Crtc<Self>, commit: &mut kms::Check<'_, KmsDriver>) -> Result {
        // The cursor's state, typed, from a CRTC hook: through the display's handle.
        let d = commit.display();
        let cursor = commit.plane(&d.cursor)?.map_or(0, |s| s.value);
        commit.crtc_mut(crtc)?.value += cursor;
        Ok(())
    }
}

struct Output;

#[vtable]
impl kms::ConnectorImpl for Output {
    type Driver = KmsDriver;
    type State = Counted<4>;

    fn get_modes(_c: &Connector<Self>, modes: &mut Modes<'_>) -> u32 {
        modes.add_standard(1024, 768)
    }
}

fn spec(kind: PlaneType) -> PlaneSpec<'static> {
    PlaneSpec {
        kind,
        formats: &[kms::format::XRGB8888],
        modifiers: &[],
        possible_crtcs: CrtcMask::only(0),
        zpos: None,
        rotations: None,
        alpha: false,
        blend_modes: None,
        yuv_properties: false,
    }
}

fn setup(s: &mut kms::Setup<'_, KmsDriver>) -> Result<Display> {
    let primary = s.plane(&spec(PlaneType::Primary), Ok(Primary))?;
    let cursor = s.plane(&spec(PlaneType::Cursor), Ok(Cursor))?;
    let planes = CrtcPlanes::primary(s, &primary)?.with_cursor(s, &cursor)?;
    let crtc = s.crtc(planes, Ok(Pipe))?;
    let encoder = s.encoder(EncoderType::Virtual, CrtcMask::only(0))?;
    let connector = s.connector(ConnectorType::Virtual, &encoder, Ok(Output))?;
    Ok(Display {
        primary,
        cursor,
        crtc,
        _encoder: encoder,
        _connector: connector,
    })
}

/// A device of the test display on a fresh faux parent, through its KMS phase, not registered.
fn with_device(name: &CStr, f: impl FnOnce(&drm::Device<KmsDriver>) -> Result) -> Result {
    let parent = faux::Registration::new(name, None)?;
    let dev = drm::UnregisteredDevice::<KmsDriver>::new(parent.as_ref(), Ok(()))?;
    let dev = dev.modeset(setup)?;
    f(&dev)
}

#[macros::kunit_tests(rust_drm_kms)]
mod kunit {
    use super::*;

    /// Every state made for a commit is destroyed with it; the objects' states with the device.
    #[test]
    fn states_balance() -> Result {
        let before = LIVE.load(Relaxed);
        with_device(c"kms-kunit-balance", |dev| {
            // The initial states: two planes, a CRTC, a connector.
            assert_eq!(LIVE.load(Relaxed) - before, 4);
            let d = dev.display()?;
            for mode in [CommitMode::TestOnly, CommitMode::Blocking] {
                dev.atomic_commit(mode, |c| {
                    c.plane_mut(&d.primary)?;
                    c.plane_mut(&d.cursor)?;
                    c.crtc_mut(&d.crtc)?;
                    // Duplicates of the three, alive during the commit.
                    assert_eq!(LIVE.load(Relaxed) - before, 7);
                    Ok(())
                })?;
                assert_eq!(LIVE.load(Relaxed) - before, 4);
            }
            Ok(())
        })?;
        assert_eq!(LIVE.load(Relaxed), before);
        Ok(())
    }

    /// Each object's state has its own type, reached through its handle; an object not in the
    /// commit is `None`, not an error; a handle of another device is an error.
    #[test]
    fn typed_lookups() -> Result {
        with_device(c"kms-kunit-typed-a", |a| {
            with_device(c"kms-kunit-typed-b", |b| {
                let (da, db) = (a.display()?, b.display()?);
                a.atomic_commit(CommitMode::TestOnly, |c| {
                    assert!(c.plane(&da.cursor)?.is_none());
                    c.plane_mut(&da.primary)?.value = 10;
                    let cursor: &mut Counted<2> = c.plane_mut(&da.cursor)?;
                    assert_eq!(cursor.value, 2);
                    let primary: &Counted<1> = c.plane(&da.primary)?.ok_or(EINVAL)?;
                    assert_eq!(primary.value, 10);
                    assert_eq!(c.plane(&db.primary).err(), Some(EINVAL));
                    assert_eq!(c.plane_mut(&db.cursor).err(), Some(EINVAL));
                    Ok(())
                })?;
                // A CRTC hook read the cursor's typed state: 3 + 2.
                a.atomic_commit(CommitMode::Blocking, |c| {
                    c.plane_mut(&da.cursor)?;
                    c.crtc_mut(&da.crtc)?;
                    Ok(())
                })?;
                a.atomic_commit(CommitMode::TestOnly, |c| {
                    assert_eq!(c.crtc_mut(&da.crtc)?.value, 5);
                    Ok(())
                })?;
                // A handle only opens the objects of its own device.
                assert!(da.primary.get(a).is_ok());
                assert_eq!(da.primary.get(b).err(), Some(EINVAL));
                Ok(())
            })
        })
    }

    /// A commit that fails its check changes nothing and leaks nothing; the commit tail runs
    /// once per applied commit, and not for a test-only or failed one.
    #[test]
    fn failed_check_leaves_no_trace() -> Result {
        with_device(c"kms-kunit-reject", |dev| {
            let d = dev.display()?;
            let live = LIVE.load(Relaxed);
            let tails = TAILS.load(Relaxed);
            let r = dev.atomic_commit(CommitMode::Blocking, |c| {
                let s = c.plane_mut(&d.primary)?;
                s.value = 99;
                s.reject = true;
                Ok(())
            });
            assert_eq!(r, Err(EINVAL));
            assert_eq!(LIVE.load(Relaxed), live);
            assert_eq!(TAILS.load(Relaxed), tails);
            dev.atomic_commit(CommitMode::TestOnly, |c| {
                let s = c.plane_mut(&d.primary)?;
                assert_eq!((s.value, s.reject), (1, false));
                Ok(())
            })?;
            assert_eq!(TAILS.load(Relaxed), tails);
            dev.atomic_commit(CommitMode::Blocking, |c| {
                c.plane_mut(&d.primary)?.value = 42;
                Ok(())
            })?;
            assert_eq!(TAILS.load(Relaxed), tails + 1);
            dev.atomic_commit(CommitMode::TestOnly, |c| {
                assert_eq!(c.plane_mut(&d.primary)?.value, 42);
                Ok(())
            })?;
            assert_eq!(LIVE.load(Relaxed), live);
            Ok(())
        })
    }

    /// Blobs keep their bytes and their id for as long as a reference lives; a CRTC that is off
    /// has no mode blob.
    #[test]
    fn blobs() -> Result {
        with_device(c"kms-kunit-blobs", |dev| {
            let blob = kms::Blob::new(dev, b"a property blob")?;
            let other = kms::Blob::new(dev, b"b")?;
            assert_ne!(blob.id(), 0);
            assert_ne!(blob.id(), other.id());
            assert_eq!(kms::Blob::new(dev, &[]).err(), Some(EINVAL));
            let kept = blob.clone();
            drop(blob);
            assert_eq!(kept.data(), b"a property blob");
            let d = dev.display()?;
            dev.atomic_commit(CommitMode::TestOnly, |c| {
                assert!(c.crtc_mut(&d.crtc)?.mode_blob().is_none());
                Ok(())
            })
        })
    }

    /// A connector can be driven by several encoders; attaching one twice changes nothing.
    #[test]
    fn connector_encoders() -> Result {
        let parent = faux::Registration::new(c"kms-kunit-encoders", None)?;
        let dev = drm::UnregisteredDevice::<KmsDriver>::new(parent.as_ref(), Ok(()))?;
        let dev = dev.modeset(|s| {
            let d = setup(s)?;
            let second = s.encoder(EncoderType::Virtual, CrtcMask::only(0))?;
            assert_eq!(d._connector.get(&**s)?.possible_encoders(), 0b1);
            s.attach_encoder(&d._connector, &second)?;
            s.attach_encoder(&d._connector, &second)?;
            assert_eq!(d._connector.get(&**s)?.possible_encoders(), 0b11);
            Ok(d)
        })?;
        let d = dev.display()?;
        assert_eq!(d._connector.get(&*dev)?.possible_encoders(), 0b11);
        Ok(())
    }

    /// The KMS phase is the only way to a registrable device of a KMS driver, and runs once.
    #[test]
    fn phases() -> Result {
        let parent = faux::Registration::new(c"kms-kunit-phases", None)?;
        let dev = drm::UnregisteredDevice::<KmsDriver>::new(parent.as_ref(), Ok(()))?;
        assert_eq!(dev.display().err(), Some(ENODEV));
        // No mode configuration yet, so nowhere to keep a blob.
        assert_eq!(kms::Blob::new(&dev, b"x").err(), Some(ENODEV));
        // A display without a CRTC is refused.
        let r = dev.modeset(|s| {
            let _ = s.plane(&spec(PlaneType::Primary), Ok(Primary))?;
            Err(ENOSPC)
        });
        assert_eq!(r.err(), Some(ENOSPC));
        let dev = drm::UnregisteredDevice::<KmsDriver>::new(parent.as_ref(), Ok(()))?;
        let dev = dev.modeset(setup)?;
        let features = drm::Features::of::<KmsDriver>();
        assert!(features.contains(drm::Features::MODESET.union(drm::Features::ATOMIC)));
        let _reg = dev.register()?;
        Ok(())
    }
}
