// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The driver of the layer's doctests: [`drm_doctest_driver!`](crate::drm_doctest_driver).

/// Defines a DRM driver for a doctest, on faux parents, without ioctls, so that an example
/// shows only what it is about. Hidden: not an API, only the doctests' scaffolding.
///
/// * `drm_doctest_driver!(Gpu)`: driver `Gpu` without GEM objects and with `()` as device data;
/// * `drm_doctest_driver!(Gpu, data: T)`: with device data `T`;
/// * `drm_doctest_driver!(Gpu, object: gem::shmem::Object<Buffer>)`: with that object type,
///   whose [`DriverObject`](crate::drm::gem::DriverObject) the doctest implements;
/// * `drm_doctest_driver!(Gpu, buffer: Buffer)`: with objects `gem::shmem::Object<Buffer>`,
///   `Buffer` a unit struct defined here.
///
/// The per-file data is a unit struct `DoctestFile`.
#[doc(hidden)]
#[macro_export]
macro_rules! drm_doctest_driver {
    ($drv:ident) => {
        $crate::drm_doctest_driver!(
            @make $drv, (), $crate::drm::gem::NoGem, $crate::drm::kms::NoKms
        );
    };
    ($drv:ident, data: $data:ty) => {
        $crate::drm_doctest_driver!(
            @make $drv, $data, $crate::drm::gem::NoGem, $crate::drm::kms::NoKms
        );
    };
    ($drv:ident, object: $obj:ty) => {
        $crate::drm_doctest_driver!(@make $drv, (), $obj, $crate::drm::kms::NoKms);
    };
    ($drv:ident, buffer: $buf:ident) => {
        struct $buf;

        impl $crate::drm::gem::DriverObject for $buf {
            type Driver = $drv;

            fn create(
                _dev: &$crate::drm::Device<$drv>,
                _size: usize,
                _origin: $crate::drm::gem::Origin<'_>,
            ) -> impl $crate::prelude::PinInit<Self, $crate::error::Error> {
                Ok::<_, $crate::error::Error>($buf)
            }
        }

        $crate::drm_doctest_driver!(
            @make $drv, (), $crate::drm::gem::shmem::Object<$buf>, $crate::drm::kms::NoKms
        );
    };
    (@make $drv:ident, $data:ty, $obj:ty, $kms:ty) => {
        struct $drv;

        struct DoctestFile;

        impl $crate::drm::DriverFile for DoctestFile {
            type Driver = $drv;

            fn open(
                _dev: &$crate::drm::Device<$drv>,
                _client: &$crate::drm::Client,
            ) -> impl $crate::prelude::PinInit<Self, $crate::error::Error> {
                Ok::<_, $crate::error::Error>(DoctestFile)
            }
        }

        #[$crate::prelude::vtable]
        impl $crate::drm::Driver for $drv {
            type Data = $data;
            type File = DoctestFile;
            type Object = $obj;
            type Kms = $kms;
            type ParentDevice<Ctx: $crate::device::DeviceContext> = $crate::faux::Device<Ctx>;
            const INFO: $crate::drm::DriverInfo = $crate::drm::DriverInfo {
                major: 1,
                minor: 0,
                patchlevel: 0,
                name: c"doctest",
                desc: c"The driver of a doctest",
            };
            const IOCTLS: &'static [$crate::drm::ioctl::Desc<Self>] = &[];
        }
    };
}

/// Defines a DRM driver with a display for a doctest, on faux parents: driver `$drv` (no GEM
/// objects, `()` as device data) implementing [`Kms`](crate::drm::kms::Kms) with a [`Display`]
/// of one plane implementation `DoctestPlane` (state `DoctestState`, a `u32`), one CRTC
/// implementation `DoctestCrtc`, an encoder and a connector implementation `DoctestOutput`, and
/// `doctest_setup`, the KMS phase that makes one of each. Hidden, like
/// [`drm_doctest_driver!`](crate::drm_doctest_driver).
///
/// [`Display`]: crate::drm::kms::Kms::Display
#[doc(hidden)]
#[macro_export]
macro_rules! drm_doctest_display {
    ($drv:ident) => {
        $crate::drm_doctest_driver!(@make $drv, (), $crate::drm::gem::NoGem, Self);

        struct Display {
            primary: $crate::drm::kms::Handle<$crate::drm::kms::Plane<DoctestPlane>>,
            crtc: $crate::drm::kms::Handle<$crate::drm::kms::Crtc<DoctestCrtc>>,
            _encoder: $crate::drm::kms::Handle<$crate::drm::kms::Encoder>,
            _output: $crate::drm::kms::Handle<$crate::drm::kms::Connector<DoctestOutput>>,
        }

        #[$crate::prelude::vtable]
        impl $crate::drm::kms::Kms<$drv> for $drv {
            type Display = Display;
            const MODE_CONFIG: $crate::drm::kms::ModeConfig = $crate::drm::kms::ModeConfig {
                min_width: 1,
                min_height: 1,
                max_width: 4096,
                max_height: 4096,
                cursor_width: 64,
                cursor_height: 64,
            };
        }

        fn doctest_setup(
            s: &mut $crate::drm::kms::Setup<'_, $drv>,
        ) -> $crate::error::Result<Display> {
            use $crate::drm::kms;
            let pipe = kms::CrtcMask::only(s.num_crtcs());
            let primary = s.plane(&DoctestPlane::spec(pipe), Ok(DoctestPlane))?;
            let crtc = s.crtc(kms::CrtcPlanes::primary(s, &primary)?, Ok(DoctestCrtc))?;
            let encoder = s.encoder(kms::EncoderType::Virtual, pipe)?;
            let output = s.connector(kms::ConnectorType::Virtual, &encoder, Ok(DoctestOutput))?;
            Ok(Display { primary, crtc, _encoder: encoder, _output: output })
        }

        #[derive(Clone, Default)]
        struct DoctestState(u32);

        struct DoctestPlane;

        #[$crate::prelude::vtable]
        impl $crate::drm::kms::PlaneImpl for DoctestPlane {
            type Driver = $drv;
            type State = DoctestState;
        }

        impl DoctestPlane {
            fn spec(pipe: $crate::drm::kms::CrtcMask) -> $crate::drm::kms::PlaneSpec<'static> {
                $crate::drm::kms::PlaneSpec {
                    kind: $crate::drm::kms::PlaneType::Primary,
                    formats: &[$crate::drm::kms::format::XRGB8888],
                    modifiers: &[],
                    possible_crtcs: pipe,
                    zpos: None,
                    rotations: None,
                    alpha: false,
                    blend_modes: None,
                    yuv_properties: false,
                }
            }
        }

        struct DoctestCrtc;

        #[$crate::prelude::vtable]
        impl $crate::drm::kms::CrtcImpl for DoctestCrtc {
            type Driver = $drv;
            type State = ();
        }

        struct DoctestOutput;

        #[$crate::prelude::vtable]
        impl $crate::drm::kms::ConnectorImpl for DoctestOutput {
            type Driver = $drv;
            type State = ();

            fn get_modes(
                _c: &$crate::drm::kms::Connector<Self>,
                modes: &mut $crate::drm::kms::Modes<'_>,
            ) -> u32 {
                modes.add_standard(1024, 768)
            }
        }
    };
}
