// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Connectors: the outputs a display is plugged into, with typed states, modes and hotplug.
//!
//! C header: [`include/drm/drm_connector.h`](srctree/include/drm/drm_connector.h)

use super::{
    private::ModeObject,
    routing,
    setup::{
        alloc_object,
        free_object, //
    },
    state::{
        self,
        Boxed,
        ConnectorKind, //
    },
    Encoder,
    Handle,
    Setup, //
};
use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::to_result,
    error::VTABLE_DEFAULT_ERROR,
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

/// The kind of a connector (`DRM_MODE_CONNECTOR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorType {
    /// A virtual output (`DRM_MODE_CONNECTOR_VIRTUAL`).
    Virtual,
}

/// Whether a display is plugged into a connector (`enum drm_connector_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A display is connected.
    Connected,
    /// Nothing is connected.
    Disconnected,
    /// The connector cannot tell.
    Unknown,
}

/// The modes of a connector, being probed: given to [`ConnectorImpl::get_modes`].
pub struct Modes<'a> {
    raw: *mut bindings::drm_connector,
    _probe: PhantomData<&'a mut ()>,
}

impl Modes<'_> {
    /// Adds the standard modes (the DMT list) up to `max_width` x `max_height`, as for a display
    /// without EDID (`drm_add_modes_noedid()`). Returns how many were added.
    pub fn add_standard(&mut self, max_width: u32, max_height: u32) -> u32 {
        // SAFETY: `raw` is being probed under the mode config's mutex (invariant of `Modes`'s
        // constructor, `get_modes_callback`).
        let n = unsafe { bindings::drm_add_modes_noedid(self.raw, max_width, max_height) };
        n.max(0) as u32
    }

    /// Adds a mode of `width` x `height` at `refresh` Hz with CVT reduced-blanking timings
    /// (`drm_cvt_mode()`), for sizes the standard list lacks (it has no 3840x2160). Returns
    /// whether it was added: `false` if the C core could not make or allocate it.
    pub fn add_cvt(&mut self, width: u32, height: u32, refresh: u32) -> bool {
        let (Ok(w), Ok(h), Ok(hz)) = (
            c_int::try_from(width),
            c_int::try_from(height),
            c_int::try_from(refresh),
        ) else {
            return false;
        };
        // SAFETY: As in `add_standard`; the connector's device is live.
        let mode = unsafe { bindings::drm_cvt_mode((*self.raw).dev, w, h, hz, true, false, false) };
        if mode.is_null() {
            return false;
        }
        // SAFETY: `mode` is a fresh mode, which the connector's probed list takes over.
        unsafe { bindings::drm_mode_probed_add(self.raw, mode) };
        true
    }

    /// Marks the mode of this size as the preferred one (`drm_set_preferred_mode()`).
    pub fn set_preferred(&mut self, width: u32, height: u32) {
        // SAFETY: As in `add_standard`.
        unsafe { bindings::drm_set_preferred_mode(self.raw, width as c_int, height as c_int) };
    }
}

/// A connector implementation: the data of a connector, its state type and its hooks.
///
/// # Examples
///
/// The sample's connector is in `samples/rust/vrust/kms/output.rs`.
#[vtable]
pub trait ConnectorImpl: Send + Sync + Sized + 'static {
    /// The driver.
    type Driver: Driver;

    /// The driver's part of the connector's state (see
    /// [`PlaneImpl::State`](super::PlaneImpl::State)).
    type State: Clone + Default + Send + Sync;

    /// Adds the modes the connected display supports; returns their number. Called when
    /// userspace probes the connector, with the mode config's mutex held.
    fn get_modes(connector: &Connector<Self>, modes: &mut Modes<'_>) -> u32;

    /// Whether a display is connected. Optional: connected without it.
    fn detect(_connector: &Connector<Self>, _force: bool) -> Status {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A connector of implementation `T`: a `struct drm_connector` with `T` embedded.
///
/// # Invariants
///
/// `raw` is initialised by `drm_connector_init()` with `T`'s tables, its states are
/// `ConnectorState<T>`, and it lives, pinned, until its last reference is gone, which is at the
/// latest when its device's mode configuration is cleaned up.
#[repr(C)]
#[pin_data]
pub struct Connector<T: ConnectorImpl> {
    raw: Opaque<bindings::drm_connector>,
    #[pin]
    data: T,
}

// SAFETY: The C connector is used under the mode config's locks; `T` is `Send + Sync`.
unsafe impl<T: ConnectorImpl> Send for Connector<T> {}
// SAFETY: As above.
unsafe impl<T: ConnectorImpl> Sync for Connector<T> {}

impl<T: ConnectorImpl> ModeObject for Connector<T> {
    fn drm_device(&self) -> *mut bindings::drm_device {
        // SAFETY: `raw` is initialised (type invariant); `dev` does not change.
        unsafe { (*self.raw.get()).dev }
    }
}

impl<T: ConnectorImpl> Deref for Connector<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ConnectorImpl> Connector<T> {
    /// The raw `struct drm_connector`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_connector {
        self.raw.get()
    }

    /// The connector embedding `raw`.
    ///
    /// # Safety
    ///
    /// `raw` must be the connector of a live `Connector<T>`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_connector) -> &'a Self {
        // CAST: `raw` is the first field of the `#[repr(C)]` `Connector<T>`.
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// The device of the connector.
    #[inline]
    pub fn device(&self) -> &Device<T::Driver> {
        // SAFETY: Connectors of `T` are only created on devices of `T::Driver`, which outlive
        // them.
        unsafe { Device::from_raw(self.drm_device()) }
    }

    /// The connector's index among the device's connectors.
    #[inline]
    pub fn index(&self) -> u32 {
        // SAFETY: `raw` is initialised; `index` does not change.
        unsafe { (*self.as_raw()).index }
    }

    /// The encoders that can drive the connector, as a mask of their indexes: fixed once the
    /// KMS phase is over ([`Setup::connector`], [`Setup::attach_encoder`]).
    #[inline]
    pub fn possible_encoders(&self) -> u32 {
        // SAFETY: `raw` is initialised; `possible_encoders` only changes in the KMS phase,
        // through a `&mut Setup` of the device, on one thread.
        unsafe { (*self.as_raw()).possible_encoders }
    }

    /// The connector's mode object id.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `raw` is initialised; the id does not change.
        unsafe { (*self.as_raw()).base.id }
    }
}

/// The state of a connector of implementation `T`: the C `struct drm_connector_state` and
/// `T::State`, to which it derefs.
///
/// # Invariants
///
/// `self.0` is a state of a `Connector<T>`, made by the `state` hooks of its table.
#[repr(transparent)]
pub struct ConnectorState<T: ConnectorImpl>(Boxed<bindings::drm_connector_state, T::State>);

impl<T: ConnectorImpl> ConnectorState<T> {
    /// The state embedding `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is a state of a `Connector<T>`, valid for `'a` and not mutated meanwhile.
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_connector_state) -> &'a Self {
        // CAST: `ConnectorState<T>` is a transparent wrapper of a `Boxed` whose first field is
        // the C state; every state of the object is one (type invariant of the object).
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// As [`from_raw`](Self::from_raw), mutably.
    ///
    /// # Safety
    ///
    /// As for `from_raw`, and nothing else accesses the state for `'a`.
    pub(crate) unsafe fn from_raw_mut<'a>(raw: *mut bindings::drm_connector_state) -> &'a mut Self {
        // SAFETY: As in `from_raw`, and exclusive by the safety requirements.
        unsafe { &mut *raw.cast::<Self>() }
    }

    /// The index of the CRTC the connector is routed to, if any.
    pub fn crtc_index(&self) -> Option<u32> {
        // SAFETY: `base` is initialised (type invariant).
        let crtc = unsafe { (*self.0.base.get()).crtc };
        // SAFETY: A non-null `crtc` is a CRTC of the connector's device.
        (!crtc.is_null()).then(|| unsafe { (*crtc).index })
    }
}

impl<T: ConnectorImpl> Deref for ConnectorState<T> {
    type Target = T::State;

    #[inline]
    fn deref(&self) -> &T::State {
        &self.0.data
    }
}

impl<T: ConnectorImpl> DerefMut for ConnectorState<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T::State {
        &mut self.0.data
    }
}

impl<'s, D: Driver> Setup<'s, D> {
    /// Creates a connector of implementation `T` and kind `kind` with data `data`, driven by
    /// `encoder`.
    pub fn connector<T: ConnectorImpl<Driver = D>>(
        &mut self,
        kind: ConnectorType,
        encoder: &Handle<Encoder>,
        data: impl PinInit<T, Error>,
    ) -> Result<Handle<Connector<T>>> {
        let encoder = encoder.get(self.dev)?.as_raw();
        let connector = alloc_object(try_pin_init!(Connector::<T> {
            raw: Opaque::zeroed(),
            data <- data,
        }))?;
        // SAFETY: `connector` is freshly allocated and pinned.
        let raw = unsafe { &raw mut (*connector.as_ptr()).raw }.cast::<bindings::drm_connector>();
        let kind = match kind {
            ConnectorType::Virtual => bindings::DRM_MODE_CONNECTOR_VIRTUAL,
        };
        // SAFETY: The device is in its KMS phase (invariant of `Setup`); `raw` is zeroed and
        // pinned, the table `'static`.
        let ret = unsafe {
            bindings::drm_connector_init(
                self.as_raw(),
                raw,
                &ConnectorVtable::<T>::FUNCS,
                kind as c_int,
            )
        };
        if ret != 0 {
            // SAFETY: The init failed, so the C core does not know the connector.
            unsafe { free_object(connector.as_ptr()) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: The connector is initialised; `helper_private` is ours to set, before use.
        unsafe { (*raw).helper_private = ptr::from_ref(&ConnectorVtable::<T>::HELPERS).cast() };
        // SAFETY: Both are initialised objects of this device, in its KMS phase.
        to_result(unsafe { bindings::drm_connector_attach_encoder(raw, encoder) })?;
        Ok(self.handle(connector))
    }

    /// Lets `connector` be driven by `encoder` too, besides the encoder it was made with
    /// (`drm_connector_attach_encoder()`). A connector takes at most 32 encoders.
    pub fn attach_encoder<T: ConnectorImpl<Driver = D>>(
        &mut self,
        connector: &Handle<Connector<T>>,
        encoder: &Handle<Encoder>,
    ) -> Result {
        let raw = connector.get(self.dev)?.as_raw();
        let encoder = encoder.get(self.dev)?.as_raw();
        // SAFETY: Both are initialised objects of this device, in its KMS phase (invariant of
        // `Setup`).
        to_result(unsafe { bindings::drm_connector_attach_encoder(raw, encoder) })
    }
}

/// The C tables of connector implementation `T`.
struct ConnectorVtable<T: ConnectorImpl>(PhantomData<T>);

impl<T: ConnectorImpl> ConnectorVtable<T> {
    const FUNCS: bindings::drm_connector_funcs = bindings::drm_connector_funcs {
        detect: if T::HAS_DETECT {
            Some(detect_callback::<T>)
        } else {
            None
        },
        fill_modes: Some(bindings::drm_helper_probe_single_connector_modes),
        destroy: Some(destroy_callback::<T>),
        atomic_create_state: Some(state::create::<ConnectorKind, T::State>),
        atomic_duplicate_state: Some(state::duplicate::<ConnectorKind, T::State>),
        atomic_destroy_state: Some(state::destroy::<ConnectorKind, T::State>),
        ..pin_init::zeroed()
    };

    const HELPERS: bindings::drm_connector_helper_funcs = bindings::drm_connector_helper_funcs {
        get_modes: Some(get_modes_callback::<T>),
        atomic_best_encoder: Some(best_encoder_callback),
        ..pin_init::zeroed()
    };
}

/// The new state of connector `conn` in `commit` (`drm_atomic_get_new_connector_state()`), or
/// null.
///
/// # Safety
///
/// `commit` is a live commit and `conn` a connector of its device.
pub(super) unsafe fn new_connector_state(
    commit: *mut bindings::drm_atomic_commit,
    conn: *mut bindings::drm_connector,
) -> *mut bindings::drm_connector_state {
    // SAFETY: Both are live (safety requirements).
    let (i, n) = unsafe { ((*conn).index, (*commit).num_connector.max(0) as u32) };
    if i >= n {
        return ptr::null_mut();
    }
    // SAFETY: `i` is below `num_connector`, the length of the array.
    unsafe { (*(*commit).connectors.add(i as usize)).new_state }
}

/// For each CRTC index, the encoders that can drive it (their `possible_crtcs`).
///
/// # Safety
///
/// `dev` is a device whose KMS phase is over.
unsafe fn encoders_by_crtc(dev: *mut bindings::drm_device) -> [u32; routing::MAX] {
    let mut drives = [0u32; routing::MAX];
    // SAFETY: The device's encoder list does not change after the KMS phase until the mode
    // configuration is cleaned up, after the last reference to the device, which every
    // commit holds; nor do the encoders' `index` and `possible_crtcs`.
    let head = unsafe { &raw mut (*dev).mode_config.encoder_list };
    // SAFETY: `head` is the list head; its entries are `drm_encoder`s linked by `head`.
    let mut pos = unsafe { (*head).next };
    while pos != head {
        // SAFETY: `pos` is the `head` of an encoder of the list.
        let encoder = unsafe { crate::container_of!(pos, bindings::drm_encoder, head) };
        // SAFETY: `encoder` is an initialised encoder of the device; as above.
        let (index, crtcs) = unsafe { ((*encoder).index, (*encoder).possible_crtcs) };
        for (crtc, mask) in drives.iter_mut().enumerate() {
            if crtcs & (1 << crtc) != 0 {
                *mask |= 1 << (index % 32);
            }
        }
        // SAFETY: As above.
        pos = unsafe { (*pos).next };
    }
    drives
}

/// The index of `encoder`, if not null.
///
/// # Safety
///
/// `encoder` is null or an initialised encoder.
unsafe fn encoder_index(encoder: *const bindings::drm_encoder) -> Option<u8> {
    // SAFETY: Not null, so initialised (safety requirements); `index` is below 32.
    (!encoder.is_null()).then(|| unsafe { (*encoder).index } as u8)
}

/// The encoder at `index` in `dev`'s encoder list, or null.
///
/// # Safety
///
/// As for [`encoders_by_crtc`].
unsafe fn encoder_at(dev: *mut bindings::drm_device, index: u8) -> *mut bindings::drm_encoder {
    // SAFETY: As in `encoders_by_crtc` (safety requirements).
    let head = unsafe { &raw mut (*dev).mode_config.encoder_list };
    // SAFETY: As in `encoders_by_crtc`.
    let mut pos = unsafe { (*head).next };
    while pos != head {
        // SAFETY: As in `encoders_by_crtc`.
        let encoder = unsafe { crate::container_of!(pos, bindings::drm_encoder, head) };
        // SAFETY: As in `encoders_by_crtc`.
        if unsafe { (*encoder).index } == u32::from(index) {
            return encoder;
        }
        // SAFETY: As in `encoders_by_crtc`.
        pos = unsafe { (*pos).next };
    }
    ptr::null_mut()
}

/// `drm_connector_helper_funcs.atomic_best_encoder`: the encoder that drives the connector's
/// new CRTC, or null if none can (the check then fails with `EINVAL`). The C core's default
/// takes a connector's only encoder, and warns if it has more.
///
/// The connectors of the commit that get a CRTC are matched with encoders that can drive it
/// ([`routing::route`]), keeping their current encoders where they can, and leaving alone the
/// encoders that connectors outside the commit drive. If that is impossible, the connectors
/// left without an encoder may take those too (and, if that is not enough, any connector of
/// the commit may): the C core then refuses the commit with a message naming the connector in
/// the way, or, for the legacy `SETCRTC`, turns that connector off, as it does for drivers of
/// one encoder per connector.
///
/// The result depends only on the commit's connectors and their CRTCs, and on the encoders
/// held outside it, so it is the same for every connector and every call while those do not
/// change, as the C core needs: it asks for all of them before routing any
/// (`handle_conflicting_encoders()`, `update_connector_routing()`), and refuses a commit where
/// two take one encoder. (No connector hook may add connectors to the commit in between. The
/// legacy `SETCRTC` does, when it turns connectors off: the encoders held outside shrink, and
/// the routing that follows is the one that needs none of theirs.)
///
/// # Safety
///
/// Called by the C atomic helpers with a connector of a live commit `commit`.
unsafe extern "C" fn best_encoder_callback(
    raw: *mut bindings::drm_connector,
    commit: *mut bindings::drm_atomic_commit,
) -> *mut bindings::drm_encoder {
    // SAFETY: `commit` is live; its connector array has `num_connector` entries.
    let (dev, n) = unsafe { ((*raw).dev, (*commit).num_connector.max(0) as usize) };
    // SAFETY: As above.
    let entry = |i: usize| unsafe { &*(*commit).connectors.add(i) };
    let mut outside = 0u32;
    let mut iter = core::mem::MaybeUninit::<bindings::drm_connector_list_iter>::uninit();
    // SAFETY: `dev` is live; `iter` is initialised by `begin` and released by `end`.
    unsafe { bindings::drm_connector_list_iter_begin(dev, iter.as_mut_ptr()) };
    loop {
        // SAFETY: `iter` was begun above.
        let c = unsafe { bindings::drm_connector_list_iter_next(iter.as_mut_ptr()) };
        if c.is_null() {
            break;
        }
        // SAFETY: `c` is a live connector of the device.
        let i = unsafe { (*c).index } as usize;
        if i < n && !entry(i).ptr.is_null() {
            continue;
        }
        // SAFETY: The commit holds `connection_mutex` (it has a connector state, `raw`'s),
        // under which the current states of the other connectors do not change.
        let state = unsafe { (*c).state };
        if state.is_null() {
            continue;
        }
        // SAFETY: A connector's current state lives while that lock is held; `best_encoder`
        // is null or an encoder of the device.
        if let Some(e) = unsafe { encoder_index((*state).best_encoder) } {
            outside |= 1 << (e % 32);
        }
    }
    // SAFETY: Begun above.
    unsafe { bindings::drm_connector_list_iter_end(iter.as_mut_ptr()) };

    // SAFETY: The device is registered, its KMS phase over.
    let drives = unsafe { encoders_by_crtc(dev) };
    let mut wants = [routing::Want::default(); routing::MAX];
    let mut count = 0;
    let mut mine = None;
    for e in (0..n).map(entry) {
        // SAFETY: A non-null state is the commit's, alive with it.
        if e.ptr.is_null() || e.new_state.is_null() || unsafe { (*e.new_state).crtc.is_null() } {
            continue;
        }
        if count == routing::MAX {
            return ptr::null_mut();
        }
        // SAFETY: The connector and its new CRTC are objects of the registered device; the
        // old state lives with the commit, its `best_encoder` null or an encoder.
        let (possible, crtc, current) = unsafe {
            (
                (*e.ptr).possible_encoders,
                (*(*e.new_state).crtc).index as usize,
                encoder_index((*e.old_state).best_encoder),
            )
        };
        wants[count] = routing::Want {
            allowed: possible & drives.get(crtc).copied().unwrap_or(0),
            current,
        };
        if e.ptr == raw {
            mine = Some(count);
        }
        count += 1;
    }
    let Some(mine) = mine else {
        return ptr::null_mut();
    };
    let mut out = [None; routing::MAX];
    let all = wants;
    if !routing::route(&wants[..count], outside, &mut out) {
        // The connectors left without an encoder can only have one that a connector outside
        // the commit drives: the others keep what they got, those take such encoders.
        for (want, got) in wants[..count].iter_mut().zip(out) {
            if let Some(e) = got {
                *want = routing::Want {
                    allowed: 1 << e,
                    current: Some(e),
                };
            }
        }
        // Still incomplete: the connectors that got an encoder must move to free one for
        // another, onto encoders held outside; failing that, some connector has none at all
        // and the check fails on it.
        if !routing::route(&wants[..count], 0, &mut out) {
            let _ = routing::route(&all[..count], 0, &mut out);
        }
    }
    // SAFETY: As for `encoders_by_crtc`.
    out[mine].map_or(ptr::null_mut(), |e| unsafe { encoder_at(dev, e) })
}

/// `drm_connector_funcs.detect`.
///
/// # Safety
///
/// Called by the C probe helper with a `Connector<T>`.
unsafe extern "C" fn detect_callback<T: ConnectorImpl>(
    raw: *mut bindings::drm_connector,
    force: bool,
) -> bindings::drm_connector_status {
    // SAFETY: `raw` is a live `Connector<T>`.
    match T::detect(unsafe { Connector::<T>::from_raw(raw) }, force) {
        Status::Connected => bindings::drm_connector_status_connector_status_connected,
        Status::Disconnected => bindings::drm_connector_status_connector_status_disconnected,
        Status::Unknown => bindings::drm_connector_status_connector_status_unknown,
    }
}

/// `drm_connector_helper_funcs.get_modes`.
///
/// # Safety
///
/// Called by the C probe helper with a `Connector<T>`, under the mode config's mutex.
unsafe extern "C" fn get_modes_callback<T: ConnectorImpl>(
    raw: *mut bindings::drm_connector,
) -> c_int {
    let mut modes = Modes {
        raw,
        _probe: PhantomData,
    };
    // SAFETY: `raw` is a live `Connector<T>`.
    let n = T::get_modes(unsafe { Connector::<T>::from_raw(raw) }, &mut modes);
    n.min(c_int::MAX as u32) as c_int
}

/// `drm_connector_funcs.destroy`.
///
/// # Safety
///
/// Called by the C core once, when the last reference to a `Connector<T>` is gone.
unsafe extern "C" fn destroy_callback<T: ConnectorImpl>(raw: *mut bindings::drm_connector) {
    // SAFETY: `raw` is an initialised connector; this is its cleanup.
    unsafe { bindings::drm_connector_cleanup(raw) };
    // SAFETY: `raw` is the first field of a `Connector<T>` from `alloc_object`.
    unsafe { free_object(raw.cast::<Connector<T>>()) };
}
