// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Planes: the image sources of a CRTC (primary, cursor, overlay), with typed states.
//!
//! C header: [`include/drm/drm_plane.h`](srctree/include/drm/drm_plane.h)

use super::{
    compose::pixel::{
        Encoding,
        Range, //
    },
    private::ModeObject,
    setup::{
        alloc_object,
        free_object, //
    },
    state::{
        self,
        Boxed,
        PlaneKind, //
    },
    Check,
    CrtcMask,
    Framebuffer,
    Handle,
    Rect,
    Setup,
    Update, //
};
use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::VTABLE_DEFAULT_ERROR,
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr,
};

/// The kind of a plane (`enum drm_plane_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaneType {
    /// The plane a CRTC scans out first: each CRTC has exactly one.
    Primary,
    /// A cursor: at most one per CRTC.
    Cursor,
    /// Any other plane.
    Overlay,
}

impl PlaneType {
    fn raw(self) -> bindings::drm_plane_type {
        match self {
            Self::Primary => bindings::drm_plane_type_DRM_PLANE_TYPE_PRIMARY,
            Self::Cursor => bindings::drm_plane_type_DRM_PLANE_TYPE_CURSOR,
            Self::Overlay => bindings::drm_plane_type_DRM_PLANE_TYPE_OVERLAY,
        }
    }
}

/// Rotation and reflection values (`DRM_MODE_ROTATE_*`, `DRM_MODE_REFLECT_*`), as bits.
pub mod rotation {
    /// No rotation.
    pub const ROTATE_0: u32 = 1 << 0;
    /// 90° counter-clockwise.
    pub const ROTATE_90: u32 = 1 << 1;
    /// 180°.
    pub const ROTATE_180: u32 = 1 << 2;
    /// 270° counter-clockwise.
    pub const ROTATE_270: u32 = 1 << 3;
    /// Every rotation.
    pub const ROTATE_MASK: u32 = 0xf;
    /// Mirrored along the X axis.
    pub const REFLECT_X: u32 = 1 << 4;
    /// Mirrored along the Y axis.
    pub const REFLECT_Y: u32 = 1 << 5;
    /// Both reflections.
    pub const REFLECT_MASK: u32 = REFLECT_X | REFLECT_Y;
}

/// Blend modes (`DRM_MODE_BLEND_*`), as bits of [`PlaneSpec::blend_modes`].
pub mod blend {
    /// `"Pre-multiplied"`: the colour is already multiplied by the plane's alpha.
    pub const PREMULTI: u32 = 1 << 0;
    /// `"Coverage"`: the colour is multiplied by alpha when blending.
    pub const COVERAGE: u32 = 1 << 1;
    /// `"None"`: the pixel alpha is ignored.
    pub const PIXEL_NONE: u32 = 1 << 2;
}

/// What a new plane is: its kind, its formats, the CRTCs it can feed, and its optional
/// properties.
pub struct PlaneSpec<'a> {
    /// The kind.
    pub kind: PlaneType,
    /// The pixel formats, as fourcc codes ([`format`](super::format)).
    pub formats: &'a [u32],
    /// The format modifiers; empty for linear only (`DRM_FORMAT_MOD_LINEAR`).
    pub modifiers: &'a [u64],
    /// The CRTCs the plane can be used with.
    pub possible_crtcs: CrtcMask,
    /// A `zpos` property: `Some((initial, min, max))`.
    pub zpos: Option<(u32, u32, u32)>,
    /// A `rotation` property with these supported bits ([`rotation`]); `ROTATE_0` is the
    /// default and must be among them.
    pub rotations: Option<u32>,
    /// An `alpha` property.
    pub alpha: bool,
    /// A `pixel blend mode` property with these modes ([`blend`]); the default is
    /// pre-multiplied, which must be among them.
    pub blend_modes: Option<u32>,
    /// `COLOR_ENCODING` and `COLOR_RANGE` properties, for a plane with YUV formats: every
    /// encoding and both ranges, BT.601 limited range by default.
    pub yuv_properties: bool,
}

/// A plane implementation: the data of a plane, its state type and its hooks.
///
/// A driver may have several plane implementations, with different states: each of its planes
/// is a [`Plane<T>`] of one of them.
///
/// # Examples
///
/// The sample's planes are in `samples/rust/vrust/kms/plane.rs`.
#[vtable]
pub trait PlaneImpl: Send + Sync + Sized + 'static {
    /// The driver.
    type Driver: Driver;

    /// The driver's part of the plane's state: duplicated with `Clone` for each commit that
    /// touches the plane, dropped with the state, and `Default` for the initial state.
    type State: Clone + Default + Send + Sync;

    /// Checks the plane's new state in a commit (`drm_plane_helper_funcs.atomic_check`). Runs
    /// for every plane in the commit.
    fn atomic_check(_plane: &Plane<Self>, _commit: &mut Check<'_, Self::Driver>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Applies the plane's new state, which has a CRTC and a framebuffer
    /// (`drm_plane_helper_funcs.atomic_update`). Must not fail. Optional: hardware that reads
    /// the state at scanout (as a software composer does) has nothing to do here.
    fn atomic_update(_plane: &Plane<Self>, _commit: &Update<'_, Self::Driver>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Turns the plane off: its new state has no CRTC (`drm_plane_helper_funcs.atomic_disable`).
    fn atomic_disable(_plane: &Plane<Self>, _commit: &Update<'_, Self::Driver>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A plane of implementation `T`: a `struct drm_plane` with `T` embedded.
///
/// Created by [`Setup::plane`]; freed with the device.
///
/// # Invariants
///
/// * `raw` is a plane initialised by `drm_universal_plane_init()` with `T`'s tables
///   (`PlaneVtable<T>`), so its states are `PlaneState<T>` (only our hooks make them);
/// * the plane lives, pinned, until the C core destroys it (`destroy` hook) when the mode
///   configuration of its device is cleaned up, after the device's last reference is gone.
#[repr(C)]
#[pin_data]
pub struct Plane<T: PlaneImpl> {
    raw: Opaque<bindings::drm_plane>,
    #[pin]
    data: T,
}

// SAFETY: The C plane is used under the mode config's locks; `T` is `Send + Sync`.
unsafe impl<T: PlaneImpl> Send for Plane<T> {}
// SAFETY: As above.
unsafe impl<T: PlaneImpl> Sync for Plane<T> {}

impl<T: PlaneImpl> ModeObject for Plane<T> {
    fn drm_device(&self) -> *mut bindings::drm_device {
        // SAFETY: `raw` is initialised (type invariant); `dev` does not change.
        unsafe { (*self.raw.get()).dev }
    }
}

impl<T: PlaneImpl> Deref for Plane<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: PlaneImpl> Plane<T> {
    /// The raw `struct drm_plane`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_plane {
        self.raw.get()
    }

    /// The plane embedding `raw`.
    ///
    /// # Safety
    ///
    /// `raw` must be the plane of a live `Plane<T>`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_plane) -> &'a Self {
        // CAST: `raw` is the first field of the `#[repr(C)]` `Plane<T>`.
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// The device of the plane.
    #[inline]
    pub fn device(&self) -> &Device<T::Driver> {
        // SAFETY: Planes of `T` are only created on devices of `T::Driver` ([`Setup::plane`]),
        // which outlive them (type invariant).
        unsafe { Device::from_raw(self.drm_device()) }
    }

    /// The plane's index among the device's planes.
    #[inline]
    pub fn index(&self) -> u32 {
        // SAFETY: `raw` is initialised; `index` does not change.
        unsafe { (*self.as_raw()).index }
    }

    /// The plane's mode object id, as userspace sees it.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `raw` is initialised; the id does not change.
        unsafe { (*self.as_raw()).base.id }
    }
}

/// The state of a plane of implementation `T` in a commit: the C `struct drm_plane_state` and
/// `T::State`, to which it derefs.
///
/// # Invariants
///
/// `self.0` is a state of a `Plane<T>`, made by the `state` hooks of its table.
#[repr(transparent)]
pub struct PlaneState<T: PlaneImpl>(Boxed<bindings::drm_plane_state, T::State>);

impl<T: PlaneImpl> PlaneState<T> {
    /// The state embedding `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is a state of a `Plane<T>`, valid for `'a` and not mutated meanwhile.
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_plane_state) -> &'a Self {
        // CAST: `PlaneState<T>` is a transparent wrapper of a `Boxed` whose first field is the C
        // state; every state of the object is one (type invariant of the object).
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// As [`from_raw`](Self::from_raw), mutably.
    ///
    /// # Safety
    ///
    /// As for `from_raw`, and nothing else accesses the state for `'a`.
    pub(crate) unsafe fn from_raw_mut<'a>(raw: *mut bindings::drm_plane_state) -> &'a mut Self {
        // SAFETY: As in `from_raw`, and exclusive by the safety requirements.
        unsafe { &mut *raw.cast::<Self>() }
    }

    #[inline]
    fn c(&self) -> &bindings::drm_plane_state {
        // SAFETY: `base` is initialised (type invariant), and shared with us for `&self`.
        unsafe { &*self.0.base.get() }
    }

    /// The raw `struct drm_plane_state`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_plane_state {
        self.0.base.get()
    }

    /// The framebuffer the plane shows, if any.
    pub fn framebuffer(&self) -> Option<&Framebuffer> {
        let fb = self.c().fb;
        // SAFETY: A state holds a reference to its framebuffer for as long as it lives.
        (!fb.is_null()).then(|| unsafe { Framebuffer::from_raw(fb) })
    }

    /// The index of the CRTC the plane feeds, if any.
    pub fn crtc_index(&self) -> Option<u32> {
        let crtc = self.c().crtc;
        // SAFETY: A non-null `crtc` is a CRTC of the plane's device, which outlives the state.
        (!crtc.is_null()).then(|| unsafe { (*crtc).index })
    }

    /// Whether the plane feeds the CRTC with index `index`.
    #[inline]
    pub fn feeds(&self, index: u32) -> bool {
        self.crtc_index() == Some(index)
    }

    /// The source rectangle, in 16.16 fixed point, as userspace set it.
    pub fn src(&self) -> Rect {
        let c = self.c();
        Rect::from_size(
            c.src_x as i32,
            c.src_y as i32,
            c.src_w as i32,
            c.src_h as i32,
        )
    }

    /// The destination rectangle on the CRTC, in pixels, as userspace set it.
    pub fn crtc_rect(&self) -> Rect {
        let c = self.c();
        Rect::from_size(c.crtc_x, c.crtc_y, c.crtc_w as i32, c.crtc_h as i32)
    }

    /// The visible destination rectangle, clipped to the mode, once checked
    /// ([`Check::check_plane`]).
    pub fn dst(&self) -> Rect {
        Rect::from_raw(&self.c().dst)
    }

    /// The visible source rectangle (16.16 fixed point), once checked.
    pub fn clipped_src(&self) -> Rect {
        Rect::from_raw(&self.c().src)
    }

    /// Whether the plane is visible on its CRTC, once checked.
    #[inline]
    pub fn visible(&self) -> bool {
        self.c().visible
    }

    /// The plane alpha, `0` (transparent) to `0xffff` (opaque).
    #[inline]
    pub fn alpha(&self) -> u16 {
        self.c().alpha
    }

    /// The blend mode: one of the [`blend`] bits' indices (`DRM_MODE_BLEND_*`).
    #[inline]
    pub fn blend_mode(&self) -> u16 {
        self.c().pixel_blend_mode
    }

    /// The rotation and reflection ([`rotation`] bits).
    #[inline]
    pub fn rotation(&self) -> u32 {
        self.c().rotation
    }

    /// The `zpos` as userspace set it.
    #[inline]
    pub fn zpos(&self) -> u32 {
        self.c().zpos
    }

    /// The YUV colour encoding (`COLOR_ENCODING`; BT.601 without the property).
    pub fn color_encoding(&self) -> Encoding {
        match self.c().color_encoding {
            bindings::drm_color_encoding_DRM_COLOR_YCBCR_BT709 => Encoding::Bt709,
            bindings::drm_color_encoding_DRM_COLOR_YCBCR_BT2020 => Encoding::Bt2020,
            _ => Encoding::Bt601,
        }
    }

    /// The YUV range (`COLOR_RANGE`; limited without the property).
    pub fn color_range(&self) -> Range {
        match self.c().color_range {
            bindings::drm_color_range_DRM_COLOR_YCBCR_FULL_RANGE => Range::Full,
            _ => Range::Limited,
        }
    }

    /// The `zpos` normalised over the planes of the CRTC, once checked.
    #[inline]
    pub fn normalized_zpos(&self) -> u32 {
        self.c().normalized_zpos
    }
}

impl<T: PlaneImpl> Deref for PlaneState<T> {
    type Target = T::State;

    #[inline]
    fn deref(&self) -> &T::State {
        &self.0.data
    }
}

impl<T: PlaneImpl> DerefMut for PlaneState<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T::State {
        &mut self.0.data
    }
}

impl<'s, D: Driver> Setup<'s, D> {
    /// Creates a plane of implementation `T` with data `data`, as `spec` says.
    ///
    /// Planes come first: a CRTC is created with its primary and cursor planes.
    pub fn plane<T: PlaneImpl<Driver = D>>(
        &mut self,
        spec: &PlaneSpec<'_>,
        data: impl PinInit<T, Error>,
    ) -> Result<Handle<Plane<T>>> {
        // The C list ends with `DRM_FORMAT_MOD_INVALID`; no list at all means linear only (the C
        // core then adds `DRM_FORMAT_MOD_LINEAR` itself), where an empty one would mean none.
        let mut modifiers = KVec::new();
        if !spec.modifiers.is_empty() {
            modifiers.reserve(spec.modifiers.len() + 1, GFP_KERNEL)?;
            for m in spec.modifiers {
                modifiers.push(*m, GFP_KERNEL)?;
            }
            modifiers.push(super::format::MOD_INVALID, GFP_KERNEL)?;
        }
        let modifiers_ptr = if modifiers.is_empty() {
            ptr::null()
        } else {
            modifiers.as_ptr()
        };
        let formats_len = u32::try_from(spec.formats.len()).map_err(|_| EINVAL)?;

        let plane = alloc_object(try_pin_init!(Plane::<T> {
            raw: Opaque::zeroed(),
            data <- data,
        }))?;
        // SAFETY: `plane` is freshly allocated, pinned and zeroed where the C init expects it.
        let raw = unsafe { &raw mut (*plane.as_ptr()).raw }.cast::<bindings::drm_plane>();
        // SAFETY:
        // * the mode configuration is initialised and the device not registered (invariant of
        //   `Setup`);
        // * `raw` is zeroed and pinned; the tables are `'static`;
        // * the C core copies `formats` and `modifiers` (terminated by `DRM_FORMAT_MOD_INVALID`);
        // * a null name makes the C core pick one.
        let ret = unsafe {
            bindings::drm_universal_plane_init(
                self.as_raw(),
                raw,
                spec.possible_crtcs.0,
                &PlaneVtable::<T>::FUNCS,
                spec.formats.as_ptr(),
                formats_len,
                modifiers_ptr,
                spec.kind.raw(),
                ptr::null(),
            )
        };
        if ret != 0 {
            // SAFETY: The init failed, so the C core does not know the plane.
            unsafe { free_object(plane.as_ptr()) };
            return Err(Error::from_errno(ret));
        }
        // From here on the C core owns the plane: the `destroy` hook frees it, also when a
        // later step fails (with the device).
        // SAFETY: The plane is initialised; `helper_private` is ours to set, before use.
        unsafe { (*raw).helper_private = &PlaneVtable::<T>::HELPERS };

        // The properties: `raw` is an initialised plane of a device in its KMS phase, and the C
        // functions check the values.
        if let Some((initial, min, max)) = spec.zpos {
            // SAFETY: See above.
            to_result(unsafe { bindings::drm_plane_create_zpos_property(raw, initial, min, max) })?;
        }
        if let Some(rotations) = spec.rotations {
            // SAFETY: See above.
            to_result(unsafe {
                bindings::drm_plane_create_rotation_property(raw, rotation::ROTATE_0, rotations)
            })?;
        }
        if spec.alpha {
            // SAFETY: See above.
            to_result(unsafe { bindings::drm_plane_create_alpha_property(raw) })?;
        }
        if let Some(modes) = spec.blend_modes {
            // SAFETY: See above.
            to_result(unsafe { bindings::drm_plane_create_blend_mode_property(raw, modes) })?;
        }
        if spec.yuv_properties {
            let encodings = (1 << bindings::drm_color_encoding_DRM_COLOR_YCBCR_BT601)
                | (1 << bindings::drm_color_encoding_DRM_COLOR_YCBCR_BT709)
                | (1 << bindings::drm_color_encoding_DRM_COLOR_YCBCR_BT2020);
            let ranges = (1 << bindings::drm_color_range_DRM_COLOR_YCBCR_LIMITED_RANGE)
                | (1 << bindings::drm_color_range_DRM_COLOR_YCBCR_FULL_RANGE);
            // SAFETY: See above.
            to_result(unsafe {
                bindings::drm_plane_create_color_properties(
                    raw,
                    encodings,
                    ranges,
                    bindings::drm_color_encoding_DRM_COLOR_YCBCR_BT601,
                    bindings::drm_color_range_DRM_COLOR_YCBCR_LIMITED_RANGE,
                )
            })?;
        }
        Ok(self.handle(plane))
    }
}

/// The C tables of plane implementation `T`.
pub(crate) struct PlaneVtable<T: PlaneImpl>(PhantomData<T>);

impl<T: PlaneImpl> PlaneVtable<T> {
    const FUNCS: bindings::drm_plane_funcs = bindings::drm_plane_funcs {
        update_plane: Some(bindings::drm_atomic_helper_update_plane),
        disable_plane: Some(bindings::drm_atomic_helper_disable_plane),
        destroy: Some(destroy_callback::<T>),
        atomic_create_state: Some(state::create::<PlaneKind, T::State>),
        atomic_duplicate_state: Some(state::duplicate::<PlaneKind, T::State>),
        atomic_destroy_state: Some(state::destroy::<PlaneKind, T::State>),
        ..pin_init::zeroed()
    };

    const HELPERS: bindings::drm_plane_helper_funcs = bindings::drm_plane_helper_funcs {
        atomic_check: if T::HAS_ATOMIC_CHECK {
            Some(atomic_check_callback::<T>)
        } else {
            None
        },
        // The C helpers call `atomic_update` unconditionally for a plane that is on.
        atomic_update: Some(atomic_update_callback::<T>),
        atomic_disable: if T::HAS_ATOMIC_DISABLE {
            Some(atomic_disable_callback::<T>)
        } else {
            None
        },
        ..pin_init::zeroed()
    };
}

/// `drm_plane_funcs.destroy`.
///
/// # Safety
///
/// Called by the C core once, for a `Plane<T>` that nothing uses any more.
unsafe extern "C" fn destroy_callback<T: PlaneImpl>(raw: *mut bindings::drm_plane) {
    // SAFETY: `raw` is an initialised plane; this is its cleanup.
    unsafe { bindings::drm_plane_cleanup(raw) };
    // SAFETY: `raw` is the first field of a `Plane<T>` allocated by `alloc_object` (type
    // invariant), unused from now on.
    unsafe { free_object(raw.cast::<Plane<T>>()) };
}

/// `drm_plane_helper_funcs.atomic_check`.
///
/// # Safety
///
/// Called by the C helpers with a `Plane<T>` and a commit being checked that contains it.
unsafe extern "C" fn atomic_check_callback<T: PlaneImpl>(
    plane: *mut bindings::drm_plane,
    commit: *mut bindings::drm_atomic_commit,
) -> c_int {
    // SAFETY: `plane` is a live `Plane<T>`.
    let plane = unsafe { Plane::<T>::from_raw(plane) };
    from_result(|| {
        // SAFETY: `commit` is a commit of the plane's device being checked, ours for the call.
        let mut check = unsafe { Check::from_raw(plane.device(), commit) }?;
        T::atomic_check(plane, &mut check)?;
        Ok(0)
    })
}

/// `drm_plane_helper_funcs.atomic_update`.
///
/// # Safety
///
/// Called by the C helpers in the commit tail, with a `Plane<T>` of the commit.
unsafe extern "C" fn atomic_update_callback<T: PlaneImpl>(
    plane: *mut bindings::drm_plane,
    commit: *mut bindings::drm_atomic_commit,
) {
    if !T::HAS_ATOMIC_UPDATE {
        return;
    }
    // SAFETY: `plane` is a live `Plane<T>`.
    let plane = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: `commit` is a commit of the plane's device in its tail.
    let update = unsafe { Update::from_raw(plane.device(), commit) };
    T::atomic_update(plane, &update);
}

/// `drm_plane_helper_funcs.atomic_disable`.
///
/// # Safety
///
/// As for [`atomic_update_callback`].
unsafe extern "C" fn atomic_disable_callback<T: PlaneImpl>(
    plane: *mut bindings::drm_plane,
    commit: *mut bindings::drm_atomic_commit,
) {
    // SAFETY: `plane` is a live `Plane<T>`.
    let plane = unsafe { Plane::<T>::from_raw(plane) };
    // SAFETY: `commit` is a commit of the plane's device in its tail.
    let update = unsafe { Update::from_raw(plane.device(), commit) };
    T::atomic_disable(plane, &update);
}
