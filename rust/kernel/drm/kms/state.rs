// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The atomic states of planes, CRTCs and connectors: one allocation of the C state and the
//! driver's part, made by `atomic_create_state` (`Default`) and `atomic_duplicate_state`
//! (`Clone`), freed by `atomic_destroy_state` (`Drop`). The three kinds share this code; each
//! names its C functions in a [`Kind`].
//!
//! C header:
//! [`include/drm/drm_atomic_state_helper.h`](srctree/include/drm/drm_atomic_state_helper.h)

use crate::{
    bindings,
    prelude::*,
    types::Opaque, //
};
use core::{
    mem::MaybeUninit,
    ptr, //
};

/// An object kind with atomic states, and the C helpers that fill in its states.
///
/// # Safety
///
/// The functions are the C core's helpers for `Obj` and `State`: `init` initialises a zeroed
/// state, `duplicate` overwrites a state with a copy of the object's current state and takes its
/// references, `destroy` drops the references of a state, and `current` is the object's current
/// state.
pub(crate) unsafe trait Kind {
    /// The C object, e.g. `struct drm_plane`.
    type Obj;
    /// Its C state, e.g. `struct drm_plane_state`.
    type State;
    /// `__drm_atomic_helper_*_state_init()`.
    const INIT: unsafe extern "C" fn(*mut Self::State, *mut Self::Obj);
    /// `__drm_atomic_helper_*_duplicate_state()`.
    const DUPLICATE: unsafe extern "C" fn(*mut Self::Obj, *mut Self::State);
    /// `__drm_atomic_helper_*_destroy_state()`.
    const DESTROY: unsafe extern "C" fn(*mut Self::State);

    /// The current state of `obj` (`obj->state`).
    ///
    /// # Safety
    ///
    /// `obj` is a live, initialised object.
    unsafe fn current(obj: *mut Self::Obj) -> *mut Self::State;
}

/// A state of kind `K` with the driver's part `D`: what the typed states (`PlaneState<T>`, …)
/// wrap, and what their C states are the first field of.
///
/// # Invariants
///
/// Made only by [`create`] and [`duplicate`], inside a `KBox<Boxed<K::State, D>>`: `base` is
/// an initialised C state of an object whose every state is a `Boxed<K::State, D>`.
#[repr(C)]
pub(crate) struct Boxed<S, D> {
    pub(crate) base: Opaque<S>,
    pub(crate) data: D,
}

/// `atomic_create_state`: a pristine state of `obj`, with `D::default()`.
///
/// # Safety
///
/// `obj` is a live, initialised object of kind `K` whose states are `Boxed<K::State, D>`.
pub(crate) unsafe extern "C" fn create<K: Kind, D: Default>(obj: *mut K::Obj) -> *mut K::State {
    let Ok(state) = KBox::new(
        Boxed::<K::State, D> {
            base: Opaque::zeroed(),
            data: D::default(),
        },
        GFP_KERNEL,
    ) else {
        return ENOMEM.to_ptr();
    };
    // CAST: `base` is the first field of the `#[repr(C)]` `Boxed`.
    let base = KBox::into_raw(state).cast::<K::State>();
    // INVARIANT: initialised here, inside a `KBox<Boxed<K::State, D>>`.
    // SAFETY: `base` is zeroed and ours; `obj` is initialised (safety requirements).
    unsafe { K::INIT(base, obj) };
    base
}

/// `atomic_duplicate_state`: a copy of the current state of `obj`, with the driver's part
/// cloned. Returns null if the allocation fails, as the C core expects.
///
/// # Safety
///
/// `obj` is a live object of kind `K` that has a state, whose states are `Boxed<K::State, D>`,
/// and whose lock is held.
pub(crate) unsafe extern "C" fn duplicate<K: Kind, D: Clone>(obj: *mut K::Obj) -> *mut K::State {
    // SAFETY: `obj` is live and has a state, a `Boxed<K::State, D>` (safety requirements); the
    // lock keeps it.
    let old = unsafe { &*K::current(obj).cast::<Boxed<K::State, D>>() };
    let Ok(mut state) = KBox::<Boxed<K::State, D>>::new_uninit(GFP_KERNEL) else {
        return ptr::null_mut();
    };
    // The C helper copies the whole C state over the new one: no need to zero it first.
    let slot: &mut MaybeUninit<Boxed<K::State, D>> = &mut state;
    // SAFETY: Only a place is computed inside the uninitialised allocation.
    unsafe { (&raw mut (*slot.as_mut_ptr()).data).write(old.data.clone()) };
    let base = KBox::into_raw(state).cast::<K::State>();
    // INVARIANT: `data` was written above and `base` is initialised here from the current
    // state, inside a `KBox<Boxed<K::State, D>>`.
    // SAFETY: `base` is ours; the helper copies the current state and takes its references.
    unsafe { K::DUPLICATE(obj, base) };
    base
}

/// `atomic_destroy_state`.
///
/// # Safety
///
/// `state` is a state of kind `K` made by [`create`] or [`duplicate`] with `D`, that nothing
/// uses any more.
pub(crate) unsafe extern "C" fn destroy<K: Kind, D>(_obj: *mut K::Obj, state: *mut K::State) {
    // SAFETY: `state` is initialised and unused; the helper drops its references.
    unsafe { K::DESTROY(state) };
    // SAFETY: `state` is the base of a `KBox<Boxed<K::State, D>>` (type invariant of `Boxed`).
    drop(unsafe { KBox::from_raw(state.cast::<Boxed<K::State, D>>()) });
}

/// Planes.
pub(crate) struct PlaneKind;

// SAFETY: The plane state helpers of `drm_atomic_state_helper.c`.
unsafe impl Kind for PlaneKind {
    type Obj = bindings::drm_plane;
    type State = bindings::drm_plane_state;
    const INIT: unsafe extern "C" fn(*mut Self::State, *mut Self::Obj) =
        bindings::__drm_atomic_helper_plane_state_init;
    const DUPLICATE: unsafe extern "C" fn(*mut Self::Obj, *mut Self::State) =
        bindings::__drm_atomic_helper_plane_duplicate_state;
    const DESTROY: unsafe extern "C" fn(*mut Self::State) =
        bindings::__drm_atomic_helper_plane_destroy_state;

    unsafe fn current(obj: *mut Self::Obj) -> *mut Self::State {
        // SAFETY: `obj` is live (safety requirements).
        unsafe { (*obj).state }
    }
}

/// CRTCs.
pub(crate) struct CrtcKind;

// SAFETY: The CRTC state helpers of `drm_atomic_state_helper.c`.
unsafe impl Kind for CrtcKind {
    type Obj = bindings::drm_crtc;
    type State = bindings::drm_crtc_state;
    const INIT: unsafe extern "C" fn(*mut Self::State, *mut Self::Obj) =
        bindings::__drm_atomic_helper_crtc_state_init;
    const DUPLICATE: unsafe extern "C" fn(*mut Self::Obj, *mut Self::State) =
        bindings::__drm_atomic_helper_crtc_duplicate_state;
    const DESTROY: unsafe extern "C" fn(*mut Self::State) =
        bindings::__drm_atomic_helper_crtc_destroy_state;

    unsafe fn current(obj: *mut Self::Obj) -> *mut Self::State {
        // SAFETY: `obj` is live (safety requirements).
        unsafe { (*obj).state }
    }
}

/// Connectors.
pub(crate) struct ConnectorKind;

// SAFETY: The connector state helpers of `drm_atomic_state_helper.c`.
unsafe impl Kind for ConnectorKind {
    type Obj = bindings::drm_connector;
    type State = bindings::drm_connector_state;
    const INIT: unsafe extern "C" fn(*mut Self::State, *mut Self::Obj) =
        bindings::__drm_atomic_helper_connector_state_init;
    const DUPLICATE: unsafe extern "C" fn(*mut Self::Obj, *mut Self::State) =
        bindings::__drm_atomic_helper_connector_duplicate_state;
    const DESTROY: unsafe extern "C" fn(*mut Self::State) =
        bindings::__drm_atomic_helper_connector_destroy_state;

    unsafe fn current(obj: *mut Self::Obj) -> *mut Self::State {
        // SAFETY: `obj` is live (safety requirements).
        unsafe { (*obj).state }
    }
}
