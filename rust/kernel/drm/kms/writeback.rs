// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Writeback connectors: a CRTC's frame written into a framebuffer of userspace's.
//!
//! A writeback connector ([`Writeback`], made by [`Setup::writeback`]) is a connector that
//! userspace routes to a CRTC with a framebuffer in its `WRITEBACK_FB_ID` property, and
//! optionally an out-fence (`WRITEBACK_OUT_FENCE_PTR`). The layer does the C core's part:
//!
//! * the check: the framebuffer is the size of the CRTC's mode and of one of the connector's
//!   formats (`drm_atomic_helper_check_wb_connector_state()`);
//! * before the commit's tail, the framebuffer is mapped ([`FbMap`]) into the job;
//! * in the tail, the job is queued (`drm_writeback_queue_job()`) and handed to the driver as a
//!   [`WritebackJob`], which the driver fills at the next frame and completes: that signals the
//!   out-fence (with the error, if any) and lets the C core free the job. A job dropped
//!   unfinished is completed with `ECANCELED`, so every out-fence is signalled.
//!
//! C header: [`include/drm/drm_writeback.h`](srctree/include/drm/drm_writeback.h)

use super::{
    connector::new_connector_state,
    private::ModeObject,
    setup::{
        alloc_object,
        free_object, //
    },
    state::{
        self,
        ConnectorKind, //
    },
    Encoder,
    FbMap,
    Framebuffer,
    Handle,
    Setup, //
};
use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    sync::Arc,
    types::Opaque,
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::Deref,
    ptr::{
        self,
        NonNull, //
    },
};

/// A writeback connector implementation: the connector's data and what it does with a job.
#[vtable]
pub trait WritebackImpl: Send + Sync + Sized + 'static {
    /// The driver.
    type Driver: Driver;

    /// Takes a job of a commit, in the commit's tail (a fence-signalling path: no allocation,
    /// no sleeping lock that reclaim or a fence wait can need). The driver writes the next
    /// frame of the connector's CRTC into the job's framebuffer and completes it.
    ///
    /// The C helpers queue jobs with the outputs' enables: after the planes with the default
    /// order of a [`Tail`](super::Tail), before them with `enable_outputs_first`, in which case
    /// the next frame may still be the previous commit's.
    fn queue(wb: &Writeback<Self>, job: WritebackJob);
}

/// A writeback connector of implementation `T`: a `struct drm_writeback_connector` with `T`
/// embedded.
///
/// # Invariants
///
/// `raw` is initialised by `drm_writeback_connector_init_with_encoder()` with `T`'s tables; the
/// connector lives, pinned, until its last reference is gone (the mode configuration's, or a
/// [`WritebackJob`]'s).
#[repr(C)]
#[pin_data]
pub struct Writeback<T: WritebackImpl> {
    raw: Opaque<bindings::drm_writeback_connector>,
    #[pin]
    data: T,
}

// SAFETY: The C connector is used under the mode config's locks and its job lock; `T` is
// `Send + Sync`.
unsafe impl<T: WritebackImpl> Send for Writeback<T> {}
// SAFETY: As above.
unsafe impl<T: WritebackImpl> Sync for Writeback<T> {}

impl<T: WritebackImpl> ModeObject for Writeback<T> {
    fn drm_device(&self) -> *mut bindings::drm_device {
        // SAFETY: `raw` is initialised (type invariant); `dev` does not change.
        unsafe { (*self.connector()).dev }
    }
}

impl<T: WritebackImpl> Deref for Writeback<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: WritebackImpl> Writeback<T> {
    /// The raw `struct drm_writeback_connector`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_writeback_connector {
        self.raw.get()
    }

    fn connector(&self) -> *mut bindings::drm_connector {
        // SAFETY: `base` is a field of the connector; only its address is taken.
        unsafe { &raw mut (*self.as_raw()).base }
    }

    /// The writeback connector embedding connector `raw`.
    ///
    /// # Safety
    ///
    /// `raw` must be the connector of a live `Writeback<T>`.
    unsafe fn from_connector<'a>(raw: *const bindings::drm_connector) -> &'a Self {
        // CAST: `base` is the first field of `struct drm_writeback_connector`, the first field
        // of the `#[repr(C)]` `Writeback<T>`.
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// The device of the connector.
    #[inline]
    pub fn device(&self) -> &Device<T::Driver> {
        // SAFETY: Writeback connectors of `T` are only created on devices of `T::Driver`, which
        // outlive them.
        unsafe { Device::from_raw(self.drm_device()) }
    }

    /// The connector's mode object id.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `raw` is initialised; the id does not change.
        unsafe { (*self.connector()).base.id }
    }
}

/// A queued writeback job: the framebuffer to write the next frame into, mapped.
///
/// Complete it with [`complete`](Self::complete) once the frame is written. The C core
/// completes the oldest job of the connector (`drm_writeback_signal_completion()`), so a driver
/// completes its jobs in the order it got them, one at a time: a job completed out of order
/// would signal another's fence. Dropping an unfinished job completes it with `ECANCELED`; a
/// job leaked (`mem::forget`) never signals its fence. It keeps its connector alive, and keeps
/// vblank on for its CRTC, so the next frame comes.
///
/// # Invariants
///
/// `wb` holds a reference to a live writeback connector on whose queue this job is, not yet
/// completed; `crtc` is the CRTC of the job's commit, with a vblank reference held, or null;
/// `map` is the mapping the job's `priv` holds as well, until the job is completed.
pub struct WritebackJob {
    wb: NonNull<bindings::drm_writeback_connector>,
    crtc: *mut bindings::drm_crtc,
    map: ManuallyDrop<Arc<FbMap>>,
}

// SAFETY: The connector is reference counted and its queue is behind its job lock; completing
// a job may happen on any thread.
unsafe impl Send for WritebackJob {}
// SAFETY: `&WritebackJob` only reads the mapping, which is `Sync`.
unsafe impl Sync for WritebackJob {}

impl WritebackJob {
    /// The framebuffer to write into, mapped for the CPU.
    #[inline]
    pub fn map(&self) -> &FbMap {
        &self.map
    }

    /// The framebuffer.
    #[inline]
    pub fn framebuffer(&self) -> &Framebuffer {
        self.map.framebuffer()
    }

    /// Completes the job, successfully or with `result`'s error: signals its out-fence (with
    /// the error), and lets the C core clean it up. Does not sleep.
    pub fn complete(self, result: Result) {
        let mut this = ManuallyDrop::new(self);
        this.finish(result);
    }

    fn finish(&mut self, result: Result) {
        // Not the last reference: the job's `priv` holds one until it is cleaned up, which
        // completing it starts (type invariant). So this never unmaps here.
        // SAFETY: `map` is dropped once, here; `finish` runs once (from `complete` or `drop`).
        unsafe { ManuallyDrop::drop(&mut self.map) };
        let status = match result {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
        let wb = self.wb.as_ptr();
        // SAFETY: `wb` is a live writeback connector with this job queued (type invariant).
        unsafe { bindings::drm_writeback_signal_completion(wb, status) };
        if !self.crtc.is_null() {
            // SAFETY: The vblank reference taken when the job was handed out (type invariant).
            unsafe { bindings::drm_crtc_vblank_put(self.crtc) };
        }
        // SAFETY: The reference taken when the job was handed out.
        unsafe { bindings::drm_connector_put(&raw mut (*wb).base) };
    }
}

impl Drop for WritebackJob {
    fn drop(&mut self) {
        self.finish(Err(ECANCELED));
    }
}

impl<'s, D: Driver> Setup<'s, D> {
    /// Creates a writeback connector of implementation `T` with data `data`, driven by
    /// `encoder` (of kind [`EncoderType::Virtual`](super::EncoderType::Virtual), made for it),
    /// writing frames in `formats`.
    ///
    /// Its modes are the standard ones up to the mode configuration's largest.
    pub fn writeback<T: WritebackImpl<Driver = D>>(
        &mut self,
        encoder: &Handle<Encoder>,
        formats: &[u32],
        data: impl PinInit<T, Error>,
    ) -> Result<Handle<Writeback<T>>> {
        let encoder = encoder.get(self.dev)?.as_raw();
        let n = c_int::try_from(formats.len()).map_err(|_| EINVAL)?;
        let wb = alloc_object(try_pin_init!(Writeback::<T> {
            raw: Opaque::zeroed(),
            data <- data,
        }))?;
        // SAFETY: `wb` is freshly allocated and pinned.
        let raw = unsafe { (*wb.as_ptr()).raw.get() };
        // SAFETY: The connector's helper table must be set before the init, which registers
        // the connector's properties; `base` is zeroed and ours.
        unsafe {
            (*raw).base.helper_private = ptr::from_ref(&WritebackVtable::<T>::HELPERS).cast()
        };
        // SAFETY:
        // * the device is in its KMS phase (invariant of `Setup`);
        // * `raw` is zeroed and pinned, the table `'static`, `encoder` an encoder of the device;
        // * the C core copies `formats` into a property blob.
        let ret = unsafe {
            bindings::drm_writeback_connector_init_with_encoder(
                self.as_raw(),
                raw,
                encoder,
                &WritebackVtable::<T>::FUNCS,
                formats.as_ptr(),
                n,
            )
        };
        if ret != 0 {
            // SAFETY: The init failed, so the C core does not know the connector.
            unsafe { free_object(wb.as_ptr()) };
            return Err(Error::from_errno(ret));
        }
        Ok(self.handle(wb))
    }
}

/// The C tables of writeback implementation `T`.
struct WritebackVtable<T: WritebackImpl>(PhantomData<T>);

impl<T: WritebackImpl> WritebackVtable<T> {
    const FUNCS: bindings::drm_connector_funcs = bindings::drm_connector_funcs {
        fill_modes: Some(bindings::drm_helper_probe_single_connector_modes),
        destroy: Some(destroy_callback::<T>),
        atomic_create_state: Some(state::create::<ConnectorKind, ()>),
        atomic_duplicate_state: Some(state::duplicate::<ConnectorKind, ()>),
        atomic_destroy_state: Some(state::destroy::<ConnectorKind, ()>),
        ..pin_init::zeroed()
    };

    const HELPERS: bindings::drm_connector_helper_funcs = bindings::drm_connector_helper_funcs {
        get_modes: Some(get_modes_callback),
        atomic_check: Some(atomic_check_callback),
        prepare_writeback_job: Some(prepare_job_callback),
        cleanup_writeback_job: Some(cleanup_job_callback),
        atomic_commit: Some(atomic_commit_callback::<T>),
        ..pin_init::zeroed()
    };
}

/// The new state of CRTC `crtc` in `commit` (`drm_atomic_get_new_crtc_state()`), or null.
///
/// # Safety
///
/// `commit` is a live commit and `crtc` a CRTC of its device.
unsafe fn new_crtc_state(
    commit: *mut bindings::drm_atomic_commit,
    crtc: *mut bindings::drm_crtc,
) -> *mut bindings::drm_crtc_state {
    // SAFETY: The array has an entry per CRTC of the device (`drm_atomic_commit_init()`).
    unsafe { (*(*commit).crtcs.add((*crtc).index as usize)).new_state }
}

/// `get_modes`: the standard modes up to the largest the device allows.
///
/// # Safety
///
/// Called by the C probe helper with a connector, under the mode config's mutex.
unsafe extern "C" fn get_modes_callback(raw: *mut bindings::drm_connector) -> c_int {
    // SAFETY: `raw` is a live connector of a live device; the limits do not change.
    let (w, h) = unsafe {
        let mc = &(*(*raw).dev).mode_config;
        (mc.max_width, mc.max_height)
    };
    // SAFETY: `raw` is probed under the mode config's mutex.
    unsafe { bindings::drm_add_modes_noedid(raw, w, h) }
}

/// `atomic_check`: a job's framebuffer is the size of the CRTC's mode and of one of the
/// connector's formats.
///
/// # Safety
///
/// Called by the C helpers with a writeback connector and a commit being checked that
/// contains it.
unsafe extern "C" fn atomic_check_callback(
    raw: *mut bindings::drm_connector,
    commit: *mut bindings::drm_atomic_commit,
) -> c_int {
    from_result(|| {
        // SAFETY: The connector is in the commit (safety requirements).
        let conn = unsafe { new_connector_state(commit, raw) };
        if conn.is_null() {
            return Ok(0);
        }
        // SAFETY: A connector state of the commit, valid during the check.
        let (job, crtc) = unsafe { ((*conn).writeback_job, (*conn).crtc) };
        // SAFETY: A non-null job is the state's.
        if job.is_null() || unsafe { (*job).fb.is_null() } || crtc.is_null() {
            return Ok(0);
        }
        // SAFETY: The C core adds the CRTC of a connector in the commit.
        let crtc_state = unsafe { new_crtc_state(commit, crtc) };
        if crtc_state.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: Both are valid during the check; the framebuffer is referenced by the job.
        let fits = unsafe {
            let mode = &(*crtc_state).mode;
            let fb = &*(*job).fb;
            fb.width == u32::from(mode.hdisplay) && fb.height == u32::from(mode.vdisplay)
        };
        if !fits {
            return Err(EINVAL);
        }
        // SAFETY: As above.
        to_result(unsafe { bindings::drm_atomic_helper_check_wb_connector_state(raw, commit) })?;
        Ok(0)
    })
}

/// `prepare_writeback_job`: maps the job's framebuffer into `job->priv`.
///
/// # Safety
///
/// Called by the C helpers before a commit's tail, with a job of the commit.
unsafe extern "C" fn prepare_job_callback(
    _wb: *mut bindings::drm_writeback_connector,
    job: *mut bindings::drm_writeback_job,
) -> c_int {
    from_result(|| {
        // SAFETY: The job is valid (safety requirements).
        let fb = unsafe { (*job).fb };
        if fb.is_null() {
            return Ok(0);
        }
        // SAFETY: The job holds a reference to its framebuffer.
        let map = Arc::new(unsafe { Framebuffer::from_raw(fb) }.vmap()?, GFP_KERNEL)?;
        // SAFETY: `priv` is the driver's; it is given back by `cleanup_job_callback`.
        unsafe { (*job).priv_ = Arc::into_raw(map).cast_mut().cast() };
        // The C core cleans the job up in a work of its own, after completion: the connector
        // stays until then.
        // SAFETY: The job's connector is live; the reference is put by `cleanup_job_callback`,
        // which the C core calls for every prepared job.
        unsafe { bindings::drm_connector_get(&raw mut (*(*job).connector).base) };
        Ok(0)
    })
}

/// `cleanup_writeback_job`: drops the mapping of `job->priv`.
///
/// # Safety
///
/// Called by the C core once per prepared job, after it completed (from the C core's cleanup
/// work) or when its commit is dropped; process context.
unsafe extern "C" fn cleanup_job_callback(
    _wb: *mut bindings::drm_writeback_connector,
    job: *mut bindings::drm_writeback_job,
) {
    // SAFETY: The job is valid (safety requirements).
    let map = unsafe { (*job).priv_ };
    if !map.is_null() {
        // SAFETY: `priv` is the `Arc` of `prepare_job_callback`, given back once.
        drop(unsafe { Arc::<FbMap>::from_raw(map.cast::<FbMap>()) });
        // SAFETY: As above.
        unsafe { (*job).priv_ = ptr::null_mut() };
        // Last: the C core does not touch the connector after this hook.
        // SAFETY: The reference of `prepare_job_callback`, for a job with a mapping.
        unsafe { bindings::drm_connector_put(&raw mut (*(*job).connector).base) };
    }
}

/// `atomic_commit`: queues the commit's job and hands it to the driver.
///
/// # Safety
///
/// Called by the C helpers in the commit tail, for a `Writeback<T>` of the commit with a job
/// that has a framebuffer, prepared by `prepare_job_callback`.
unsafe extern "C" fn atomic_commit_callback<T: WritebackImpl>(
    raw: *mut bindings::drm_connector,
    commit: *mut bindings::drm_atomic_commit,
) {
    // SAFETY: `raw` is a live `Writeback<T>`.
    let wb = unsafe { Writeback::<T>::from_connector(raw) };
    // SAFETY: The connector is in the commit (safety requirements): its state is there.
    let conn = unsafe { new_connector_state(commit, raw) };
    // SAFETY: The state's job, prepared (safety requirements); `priv` is our mapping.
    let (map, crtc) = unsafe { ((*(*conn).writeback_job).priv_.cast::<FbMap>(), (*conn).crtc) };
    // SAFETY: A writeback connector and its state in the tail, with a prepared job: from now
    // on the job is on the connector's queue, and completing it is the only way off.
    unsafe { bindings::drm_writeback_queue_job(wb.as_raw(), conn) };
    // SAFETY: The connector is live; the reference is the token's, given back by `finish`.
    unsafe { bindings::drm_connector_get(raw) };
    // The frame comes at a vblank: keep vblank on until the job is done (a commit that turns
    // the CRTC on leaves it off otherwise).
    // SAFETY: A CRTC of the commit, with vblank support.
    let vblank = !crtc.is_null() && unsafe { bindings::drm_crtc_vblank_get(crtc) } == 0;
    let wb_ptr = NonNull::from(&wb.raw).cast::<bindings::drm_writeback_connector>();
    if map.is_null() || !vblank {
        // No mapping (a framebuffer that cannot be mapped) or no vblank: the job fails now.
        // SAFETY: The job was queued above; the connector reference is ours.
        unsafe {
            bindings::drm_writeback_signal_completion(wb.as_raw(), EINVAL.to_errno());
            if vblank {
                bindings::drm_crtc_vblank_put(crtc);
            }
            bindings::drm_connector_put(raw);
        }
        return;
    }
    // A reference of the token's own.
    // SAFETY: `priv` is a live `Arc<FbMap>` until the job is cleaned up, after completion.
    let map = (*ManuallyDrop::new(unsafe { Arc::from_raw(map) })).clone();
    // INVARIANT: the job is on `wb`'s queue, with references to the connector and to the
    // CRTC's vblank.
    let job = WritebackJob {
        wb: wb_ptr,
        crtc,
        map: ManuallyDrop::new(map),
    };
    T::queue(wb, job);
}

/// `drm_connector_funcs.destroy`.
///
/// # Safety
///
/// Called by the C core once, when the last reference to a `Writeback<T>` is gone.
unsafe extern "C" fn destroy_callback<T: WritebackImpl>(raw: *mut bindings::drm_connector) {
    // SAFETY: `raw` is an initialised connector; this is its cleanup.
    unsafe { bindings::drm_connector_cleanup(raw) };
    // SAFETY: `raw` is the first field of a `Writeback<T>` from `alloc_object`.
    unsafe { free_object(raw.cast::<Writeback<T>>()) };
}
