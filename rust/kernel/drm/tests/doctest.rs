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
        $crate::drm_doctest_driver!(@make $drv, (), $crate::drm::gem::NoGem);
    };
    ($drv:ident, data: $data:ty) => {
        $crate::drm_doctest_driver!(@make $drv, $data, $crate::drm::gem::NoGem);
    };
    ($drv:ident, object: $obj:ty) => {
        $crate::drm_doctest_driver!(@make $drv, (), $obj);
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

        $crate::drm_doctest_driver!(@make $drv, (), $crate::drm::gem::shmem::Object<$buf>);
    };
    (@make $drv:ident, $data:ty, $obj:ty) => {
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
            type Kms = $crate::drm::kms::NoKms;
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
