// SPDX-License-Identifier: GPL-2.0 OR MIT

//! DRM ioctls: declaration, compile-time checks and dispatch.
//!
//! A driver declares each ioctl on its handler, with `#[ioctl(COMMAND, FLAGS)]` inside a
//! [`#[drm::ioctl::handlers]`](handlers) `impl` block, and lists the handlers in its table with
//! [`drm::ioctl::table!`](table). The argument type comes from the handler's signature and is a
//! uapi struct that is a value ([`drm::user`](crate::drm::user)). The macros check at compile
//! time, each error at the offending token, that
//!
//! * each command's `_IOC_TYPE` is `'d'`, its `_IOC_SIZE` the size of the argument type, and
//!   its direction bits those of the handler's signature (`&mut Arg`: `_IOR` or `_IOWR`,
//!   `&Arg`: `_IOW`, none: `_IO`);
//! * the commands of a table are numbered contiguously from `DRM_COMMAND_BASE`, in order;
//! * every handler of a table is of the table's driver (its type, `&[Desc<T>]`, ties it to one).
//!
//! At run time the C core (`drm_ioctl()`, `drm_ioctl_kernel()`) copies the argument in and
//! out, checks the flags, and returns `-ENODEV` without calling the handler once the device is
//! unplugged. A handler's `Ok(n)` is the ioctl's return value, its `Err(e)` reaches userspace
//! as `-e`.
//!
//! # Handlers run outside `drm_dev_enter()` sections
//!
//! A handler gets the [`Device`], not a section of it. The C core's unplug check before the
//! call is a snapshot: the device may be unplugged while the handler runs. That is the rule of the
//! C core too, and for the same reason: `drm_dev_enter()` sections are read-side sections of one
//! SRCU shared by every DRM device of the system, and `drm_dev_unplug()` of *any* device waits
//! for all of them. A handler that held one across a user copy (which a client can stall on a
//! page it never serves, with userfaultfd or FUSE), a sleep on a lock a client can hold, or
//! long work, would stall the unplug of every DRM device; and a drop of a [`Registration`]
//! inside it would wait for itself.
//!
//! So a handler copies user memory, allocates, takes locks and does long work outside any
//! section, and enters one with [`Device::enter`] only around what must not run after the
//! unplug, keeping it short. A section does not keep the parent bound: resources bound to the
//! parent are reached through [`Devres::try_access`], which checks. Software state (the device
//! data, files, GEM objects) lives as long as the references to it, unplugged or not.
//!
//! [`Devres::try_access`]: crate::devres::Devres::try_access
//!
//! [`Registration`]: crate::drm::Registration
//!
//! C header: [`include/drm/drm_ioctl.h`](srctree/include/drm/drm_ioctl.h)

use crate::ffi::c_int;
use crate::{
    bindings,
    drm::{
        Device,
        Driver,
        File, //
    },
    ioctl::_IOC_SIZE,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};
use core::{
    ffi::c_void,
    marker::PhantomData,
    mem,
    ptr::{
        self,
        NonNull, //
    },
};

/// The client must be authenticated, or use the render node (`DRM_AUTH`).
pub const AUTH: u32 = bindings::drm_ioctl_flags_DRM_AUTH;
/// The client must be the current DRM master (`DRM_MASTER`).
pub const MASTER: u32 = bindings::drm_ioctl_flags_DRM_MASTER;
/// The client must have `CAP_SYS_ADMIN` (`DRM_ROOT_ONLY`).
pub const ROOT_ONLY: u32 = bindings::drm_ioctl_flags_DRM_ROOT_ONLY;
/// The ioctl may be called on the render node (`DRM_RENDER_ALLOW`); without it, render
/// clients get `-EACCES`.
pub const RENDER_ALLOW: u32 = bindings::drm_ioctl_flags_DRM_RENDER_ALLOW;

// Commands are decoded with `kernel::ioctl` (`_IOC_NR`, `_IOC_TYPE`, `_IOC_SIZE`, `_IOC_DIR`).

/// Direction bits of an ioctl command (`_IOC_DIR`): no argument (`_IO`).
pub const IO: u32 = crate::uapi::_IOC_NONE;
/// Direction bits: the kernel writes the argument back (`_IOR`).
pub const IOR: u32 = crate::uapi::_IOC_READ;
/// Direction bits: the kernel reads the argument (`_IOW`).
pub const IOW: u32 = crate::uapi::_IOC_WRITE;
/// Direction bits: both (`_IOWR`).
pub const IOWR: u32 = crate::uapi::_IOC_READ | crate::uapi::_IOC_WRITE;

/// One ioctl of driver `T`, as the C core sees it (`struct drm_ioctl_desc`).
///
/// Made by [`handlers`] (through the hidden `Handler` trait, whose every implementation
/// [`Desc::new`] checks again for what `dispatch` relies on: the argument's size and type); the
/// type parameter ties a table to the driver whose [`Driver::IOCTLS`] it is, so a handler of
/// another driver cannot be in it.
#[repr(transparent)]
pub struct Desc<T: Driver>(bindings::drm_ioctl_desc, PhantomData<T>);

impl<T: Driver> Desc<T> {
    /// The entry of handler `H`.
    #[doc(hidden)]
    pub const fn new<H: Handler<Driver = T>>() -> Self {
        // Checked for every entry, however it was made: `dispatch` relies on it.
        const {
            assert!(
                _IOC_SIZE(H::CMD) == mem::size_of::<H::Arg>(),
                "_IOC_SIZE of a DRM ioctl differs from the size of its argument type"
            )
        };
        Self(
            bindings::drm_ioctl_desc {
                cmd: H::CMD,
                flags: H::FLAGS,
                func: Some(dispatch::<T, H>),
                name: crate::str::as_char_ptr_in_const_context(H::NAME),
            },
            PhantomData,
        )
    }

    /// The command.
    #[inline]
    pub const fn cmd(&self) -> u32 {
        self.0.cmd
    }

    /// The permission flags.
    #[inline]
    pub const fn flags(&self) -> u32 {
        self.0.flags
    }

    /// The handler as the C core calls it, e.g. for `drm_ioctl_kernel()`.
    // Only the layer's tests and benchmarks call a handler themselves.
    #[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
    #[inline]
    pub(crate) fn func(&self) -> bindings::drm_ioctl_t {
        self.0.func
    }
}

/// Whether any ioctl of a table may be called on the render node.
pub const fn any_render_allowed<T: Driver>(table: &[Desc<T>]) -> bool {
    let mut i = 0;
    while i < table.len() {
        if table[i].0.flags & RENDER_ALLOW != 0 {
            return true;
        }
        i += 1;
    }
    false
}

/// `DRM_COMMAND_BASE`: the number of a driver's first ioctl. A driver's ioctls are numbered
/// contiguously from it, in the order of its table ([`table!`] checks it).
pub const COMMAND_BASE: u32 = bindings::DRM_COMMAND_BASE;

/// The driver of a device type, for the ioctl handlers [`handlers`] generates: the handler's
/// first argument is a `&D` with `D: DeviceOf`, which may be an alias of [`Device<T>`].
///
/// Sealed: implemented for [`Device<T>`] only.
pub trait DeviceOf: private::Sealed {
    /// The driver of the device.
    type Driver: Driver;
}

impl<T: Driver> DeviceOf for Device<T> {
    type Driver = T;
}

mod private {
    pub trait Sealed {}

    impl<T: crate::drm::Driver> Sealed for crate::drm::Device<T> {}
}

/// One ioctl handler, as [`handlers`] generates it.
///
/// The argument type is a value ([`FromBytes`] and [`AsBytes`]: see [`drm::user`]), as the C
/// core copies it from and to userspace as bytes.
///
/// [`drm::user`]: crate::drm::user
#[doc(hidden)]
pub trait Handler {
    /// The driver.
    type Driver: Driver;
    /// The uapi argument.
    type Arg: FromBytes + AsBytes;
    /// The command.
    const CMD: u32;
    /// The permission flags.
    const FLAGS: u32;
    /// The command's name.
    const NAME: &'static CStr;

    /// Calls the driver's handler.
    fn call(
        dev: &Device<Self::Driver>,
        arg: &mut Self::Arg,
        file: &File<Self::Driver>,
    ) -> Result<u32>;
}

/// The C entry point of ioctl `H` of driver `T`.
///
/// # Safety
///
/// Called by `drm_ioctl_kernel()` only (which checks the flags and that the device is not
/// unplugged first), through `T`'s driver table: `raw_dev` is a device of `T`, `raw_file` an
/// open file of it, and `data` a kernel buffer of at least `_IOC_SIZE(H::CMD)`
/// bytes that no one else accesses during the call.
unsafe extern "C" fn dispatch<T: Driver, H: Handler<Driver = T>>(
    raw_dev: *mut bindings::drm_device,
    data: *mut c_void,
    raw_file: *mut bindings::drm_file,
) -> c_int {
    // SAFETY: `raw_dev` is a device of `T` (safety requirements); the open file holds a
    // reference to it for the call.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    // `drm_ioctl_kernel()` returned `-ENODEV` already if the device was unplugged; the handler
    // runs outside any section (see the module documentation).
    // SAFETY: `raw_file` is an open file of `dev` (safety requirements).
    let file = unsafe { File::<T>::from_raw(raw_file) };
    let arg = data.cast::<H::Arg>();

    let ret = if mem::size_of::<H::Arg>() == 0 {
        // `_IO` commands: `data` may be NULL (e.g. from `drm_ioctl_kernel()` in the kernel).
        // SAFETY: A dangling, aligned pointer is valid for a zero-sized type.
        let none = unsafe { &mut *NonNull::<H::Arg>::dangling().as_ptr() };
        H::call(dev, none, file)
    } else if arg.align_offset(mem::align_of::<H::Arg>()) == 0 {
        // SAFETY: `data` is an exclusive kernel buffer of at least `_IOC_SIZE(H::CMD)` bytes
        // (safety requirements), which is `size_of::<H::Arg>()` (asserted in `Desc::new`); it is
        // aligned (checked above) and holds bytes copied from userspace, valid for `H::Arg`, which
        // is `FromBytes`.
        H::call(dev, unsafe { &mut *arg }, file)
    } else {
        // The C core's on-stack buffer has no declared alignment: copy through an aligned one.
        // SAFETY: As above, without the alignment, which `read_unaligned` does not need.
        let mut copy = unsafe { ptr::read_unaligned(arg) };
        let ret = H::call(dev, &mut copy, file);
        // SAFETY: As above.
        unsafe { ptr::write_unaligned(arg, copy) };
        ret
    };

    match ret {
        Ok(v) => c_int::try_from(v).unwrap_or(ERANGE.to_errno()),
        Err(e) => e.to_errno(),
    }
}

/// Makes the methods of an `impl` block marked `#[ioctl(COMMAND, FLAGS)]` ioctl handlers.
///
/// Each marked method becomes an ioctl that [`table!`] can list (by the method's path, e.g.
/// `Gpu::getparam`), checked at compile time, with the error at the offending token:
///
/// * `COMMAND` is a name in [`kernel::uapi`](crate::uapi) (the uapi header defines the commands
///   as enum constants, so that bindgen sees them), whose `_IOC_TYPE` must be `'d'` and whose
///   `_IOC_SIZE` must be the size of the argument type;
/// * `FLAGS` are [`AUTH`], [`MASTER`], [`ROOT_ONLY`] and [`RENDER_ALLOW`] joined with `|`, or
///   none;
/// * the signature gives the direction, which must be the command's:
///   - `fn(&drm::Device<D>, &mut Arg, &drm::File<D>) -> Result<u32>` for `_IOR` and `_IOWR`,
///   - `fn(&drm::Device<D>, &Arg, &drm::File<D>) -> Result<u32>` for `_IOW`,
///   - `fn(&drm::Device<D>, &drm::File<D>) -> Result<u32>` for `_IO`;
/// * `Arg` is a value ([`FromBytes`] and [`AsBytes`], see [`drm::user`](crate::drm::user)), and
///   `D` the driver; the device type may be an alias of `drm::Device<D>`.
///
/// The `impl` block may be of any type (the driver, its file type, a unit type per group of
/// ioctls), and a driver may spread its handlers over several blocks, in several modules. A
/// handler is listed in a table of another module only if it is visible there (`pub(crate)`).
///
/// `Ok(n)` is the ioctl's return value (`n` must fit an `int`, or the ioctl fails with
/// `ERANGE`), `Err(e)` reaches userspace as `-e`.
///
/// # Examples
///
/// A driver with a `GETPARAM` ioctl of Nova's shape (`include/uapi/drm/nova_drm.h`):
///
/// ```
/// use kernel::{drm, drm::ioctl, drm::Driver, faux, prelude::*, uapi};
///
/// struct Gpu;
///
/// #[drm::ioctl::handlers]
/// impl Gpu {
///     #[ioctl(DRM_IOCTL_NOVA_GETPARAM, RENDER_ALLOW)]
///     fn getparam(
///         _dev: &drm::Device<Self>,
///         arg: &mut uapi::drm_nova_getparam,
///         _file: &drm::File<Self>,
///     ) -> Result<u32> {
///         if arg.param != u64::from(uapi::NOVA_GETPARAM_VRAM_BAR_SIZE) {
///             return Err(EINVAL);
///         }
///         arg.value = 256 << 20;
///         Ok(0)
///     }
/// }
///
/// struct GpuFile;
///
/// impl drm::DriverFile for GpuFile {
///     type Driver = Gpu;
///
///     fn open(_dev: &drm::Device<Gpu>, _client: &drm::Client) -> impl PinInit<Self, Error> {
///         Ok::<_, Error>(GpuFile)
///     }
/// }
///
/// #[vtable]
/// impl drm::Driver for Gpu {
///     type Data = ();
///     type File = GpuFile;
///     type Object = drm::gem::NoGem;
///     type Kms = drm::kms::NoKms;
///     type ParentDevice<Ctx: kernel::device::DeviceContext> = faux::Device<Ctx>;
///     const INFO: drm::DriverInfo = drm::DriverInfo {
///         major: 1, minor: 0, patchlevel: 0, name: c"gpu", desc: c"Example GPU",
///     };
///     const IOCTLS: &'static [ioctl::Desc<Self>] = drm::ioctl::table![Gpu::getparam];
/// }
///
/// let getparam = &Gpu::IOCTLS[0];
/// assert_eq!(getparam.cmd(), uapi::DRM_IOCTL_NOVA_GETPARAM);
/// assert_eq!(
///     kernel::ioctl::_IOC_SIZE(getparam.cmd()),
///     core::mem::size_of::<uapi::drm_nova_getparam>()
/// );
/// assert_eq!(getparam.flags(), ioctl::RENDER_ALLOW);
/// // A render-allowed ioctl gives the driver a render node.
/// assert!(drm::Features::of::<Gpu>().contains(drm::Features::RENDER));
/// ```
///
/// A handler that breaks a rule does not compile. For example, marked
/// `#[ioctl(DRM_IOCTL_NOVA_GETPARAM)]` but taking `&uapi::drm_nova_getparam`, the build fails at
/// `DRM_IOCTL_NOVA_GETPARAM` with "the handler takes `&Arg`, but the command is not _IOW"; with
/// an argument type of another size, at the type with "_IOC_SIZE differs from the size of the
/// argument type"; with an argument type that is not a value, with "the trait bound
/// `...: FromBytes` is not satisfied".
pub use macros::drm_ioctl_handlers as handlers;

/// The ioctl table of a driver: its handlers (made by [`handlers`]), by path, in the order of
/// their command numbers.
///
/// The commands must be numbered contiguously from `DRM_COMMAND_BASE` ([`COMMAND_BASE`]), in
/// the order of the table, which is checked at compile time: with `DRM_IOCTL_NOVA_GEM_CREATE`
/// (`DRM_COMMAND_BASE + 1`) first, the build fails at that entry with "DRM ioctls are numbered
/// contiguously from DRM_COMMAND_BASE, in the order of the table". The handlers must be of one
/// driver, the one whose [`Driver::IOCTLS`] the table is.
///
/// See [`handlers`] for an example.
pub use macros::drm_ioctl_table as table;

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_ioctl)]
mod tests {
    use super::*;
    use crate::drm::tests::{
        Minor,
        MockFile,
        TestData,
        TestDevice,
        TestDriver,
        TyrShaped, //
    };
    use crate::{
        drm::UnregisteredDevice,
        faux,
        ioctl::{
            _IOC_DIR,
            _IOC_NR,
            _IOC_TYPE, //
        },
        sync::aref::ARef,
        uapi, //
    };

    const GETPARAM: usize = 0;
    const GEM_CREATE: usize = 1;
    const GEM_INFO: usize = 2;

    #[test]
    fn command_fields() {
        let cmd = uapi::DRM_IOCTL_NOVA_GEM_INFO;
        assert_eq!(_IOC_NR(cmd), bindings::DRM_COMMAND_BASE + 2);
        assert_eq!(_IOC_TYPE(cmd), u32::from(b'd'));
        assert_eq!(_IOC_SIZE(cmd), mem::size_of::<uapi::drm_nova_gem_info>());
        assert_eq!(_IOC_DIR(cmd), IOWR);
    }

    #[test]
    fn table_is_built_in_order() {
        let table = TestDriver::IOCTLS;
        assert_eq!(table.len(), 3);
        assert_eq!(table[GETPARAM].cmd(), uapi::DRM_IOCTL_NOVA_GETPARAM);
        assert_eq!(table[GEM_CREATE].flags(), AUTH);
        assert_eq!(table[GEM_INFO].flags(), RENDER_ALLOW);
        assert!(table.iter().all(|d| d.func().is_some()));
        assert!(any_render_allowed(table));
        assert!(!any_render_allowed::<TestDriver>(&[]));
    }

    /// Tyr's `DEV_QUERY` through the layer: the size query and an unknown query. (The copy of
    /// the answer needs user memory, which a KUnit thread has not: UML panics on the fault.)
    #[test]
    fn tyr_dev_query_shape() -> Result {
        let parent = faux::Registration::new(c"rust-drm-kunit-tyr", None)?;
        let unreg = UnregisteredDevice::<TyrShaped>::new(parent.as_ref(), TestData::new(0x1234))?;
        let dev = ARef::from(&*unreg);
        let _reg = unreg.register()?;
        assert_eq!(TyrShaped::IOCTLS[0].flags(), RENDER_ALLOW);
        let f = MockFile::open(&dev, Minor::Render)?;
        let mut q = uapi::drm_panthor_dev_query {
            type_: uapi::drm_panthor_dev_query_type_DRM_PANTHOR_DEV_QUERY_GPU_INFO,
            size: 0,
            pointer: 0,
        };
        assert_eq!(f.ioctl(0, &mut q), Ok(0));
        assert_eq!(q.size as usize, mem::size_of::<u64>());
        q.type_ = uapi::drm_panthor_dev_query_type_DRM_PANTHOR_DEV_QUERY_CSIF_INFO;
        assert_eq!(f.ioctl(0, &mut q), Err(EINVAL));
        // On the primary node too: the flags allow it on both.
        let p = MockFile::open(&dev, Minor::Primary)?;
        q.type_ = uapi::drm_panthor_dev_query_type_DRM_PANTHOR_DEV_QUERY_GPU_INFO;
        q.size = 0;
        assert_eq!(p.ioctl(0, &mut q), Ok(0));
        assert_eq!(q.size as usize, mem::size_of::<u64>());
        Ok(())
    }

    #[test]
    fn handler_runs_with_its_argument() -> Result {
        let t = TestDevice::new(42)?;
        let f = MockFile::open(&t.dev, Minor::Render)?;
        let mut arg = uapi::drm_nova_getparam { param: 1, value: 0 };
        assert_eq!(f.ioctl(GETPARAM, &mut arg)?, 0);
        assert_eq!(arg.value, 42);
        arg.param = 99;
        assert_eq!(f.ioctl(GETPARAM, &mut arg), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn per_file_state_is_private() -> Result {
        let t = TestDevice::new(0)?;
        let a = MockFile::open(&t.dev, Minor::Primary)?;
        let b = MockFile::open(&t.dev, Minor::Primary)?;
        let mut create = uapi::drm_nova_gem_create {
            handle: 0,
            pad: 0,
            size: 4096,
        };
        a.ioctl(GEM_CREATE, &mut create)?;
        assert_eq!(create.handle, 1);
        let mut info = uapi::drm_nova_gem_info {
            handle: 1,
            pad: 0,
            size: 0,
        };
        a.ioctl(GEM_INFO, &mut info)?;
        assert_eq!(info.size, 4096);
        // Handle 1 of file A means nothing to file B.
        assert_eq!(b.ioctl(GEM_INFO, &mut info), Err(ENOENT));
        Ok(())
    }

    #[test]
    fn flags_are_enforced() -> Result {
        let t = TestDevice::new(0)?;
        let render = MockFile::open(&t.dev, Minor::Render)?;
        let mut create = uapi::drm_nova_gem_create {
            handle: 0,
            pad: 0,
            size: 4096,
        };
        // GEM_CREATE lacks RENDER_ALLOW in this table.
        assert_eq!(render.ioctl(GEM_CREATE, &mut create), Err(EACCES));
        Ok(())
    }

    #[test]
    fn unaligned_argument_is_copied() -> Result {
        let t = TestDevice::new(77)?;
        let f = MockFile::open(&t.dev, Minor::Render)?;
        let desc = &TestDriver::IOCTLS[GETPARAM];
        let size = mem::size_of::<uapi::drm_nova_getparam>();
        // An 8-aligned buffer, used from offset 1: misaligned for the u64 fields.
        let mut buf = [0u64; 4];
        let bytes = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `bytes + 1 .. bytes + 1 + size` lies inside `buf`.
        let arg = unsafe { bytes.add(1) };
        // SAFETY: As above; writes the `param` field (1) unaligned.
        unsafe { ptr::write_unaligned(arg.cast::<u64>(), 1) };
        // SAFETY: `f` is an open file of a `TestDriver` device; `arg` points to `size` bytes
        // that nothing else uses during the call.
        let ret = unsafe {
            bindings::drm_ioctl_kernel(f.as_raw(), desc.func(), arg.cast(), desc.flags())
        };
        assert_eq!(ret, 0);
        // SAFETY: As above; reads the `value` field.
        let value = unsafe { ptr::read_unaligned(arg.add(size / 2).cast::<u64>()) };
        assert_eq!(value, 77);
        Ok(())
    }

    #[test]
    fn unplugged_device_returns_enodev() -> Result {
        let mut t = TestDevice::new(5)?;
        let f = MockFile::open(&t.dev, Minor::Render)?;
        drop(t.reg.take());
        let mut arg = uapi::drm_nova_getparam { param: 1, value: 0 };
        assert_eq!(f.ioctl(GETPARAM, &mut arg), Err(ENODEV));
        assert_eq!(arg.value, 0);
        Ok(())
    }

    /// A handler runs outside `drm_dev_enter()` sections, so it may unplug a device, even its
    /// own: inside a section, the unplug would wait for the section it runs in.
    #[test]
    fn handler_may_unplug_its_own_device() -> Result {
        let mut t = TestDevice::new(5)?;
        let f = MockFile::open(&t.dev, Minor::Render)?;
        let reg = t.reg.take().ok_or(EINVAL)?;
        *t.dev.dropped_by_handler.lock() = Some(KBox::new(reg, GFP_KERNEL)?);
        let mut arg = uapi::drm_nova_getparam { param: 2, value: 0 };
        assert_eq!(f.ioctl(GETPARAM, &mut arg), Ok(0));
        assert_eq!(arg.value, 1);
        assert!(t.dev.enter().is_none());
        assert_eq!(f.ioctl(GETPARAM, &mut arg), Err(ENODEV));
        Ok(())
    }
}
