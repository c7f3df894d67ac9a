// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Sync objects: the containers of fences that userspace names by handle (`drm_syncobj`).
//!
//! A driver that declares [`Support::Binary`] or [`Support::Timeline`] in
//! [`Driver::SYNCOBJ`] gets the `DRIVER_SYNCOBJ` (and
//! `DRIVER_SYNCOBJ_TIMELINE`) feature, and with it the C core's sync object ioctls (create,
//! destroy, wait, signal, reset, query, transfer, eventfd, export and import as file
//! descriptors or sync files). Its own ioctls then take sync object handles: as inputs, the
//! fences a job waits for ([`SyncObj::find_fence`]), and as outputs, where its done fence goes
//! ([`SyncObj::replace_fence`] for a binary sync object, [`SyncObj::add_point`] for a timeline
//! point). Neither output allocates: a timeline point's chain node is allocated beforehand
//! ([`ChainNode::new`]), so both can be done after a job is pushed.
//!
//! C header: [`include/drm/drm_syncobj.h`](srctree/include/drm/drm_syncobj.h)

use crate::{
    bindings,
    dma_fence::Fence,
    drm::{
        self,
        Driver, //
    },
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque,
};
use core::ptr::{
    self,
    NonNull, //
};

/// The sync objects a driver supports ([`Driver::SYNCOBJ`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// None: no sync object ioctls.
    None,
    /// Binary sync objects (`DRIVER_SYNCOBJ`): one fence each.
    Binary,
    /// Binary and timeline sync objects (`DRIVER_SYNCOBJ` and `DRIVER_SYNCOBJ_TIMELINE`):
    /// timelines hold a fence per point.
    Timeline,
}

/// A sync object, reference counted.
///
/// # Invariants
///
/// `self.0` is an initialised sync object with a reference held while `&self` lives.
#[repr(transparent)]
pub struct SyncObj(Opaque<bindings::drm_syncobj>);

// SAFETY: Its fence pointer changes under its lock only; its refcount is atomic.
unsafe impl Send for SyncObj {}
// SAFETY: As above.
unsafe impl Sync for SyncObj {}

impl SyncObj {
    /// The sync object `handle` of `file` (`drm_syncobj_find()`), or `ENOENT`.
    ///
    /// Only for drivers that support sync objects: a driver without them does not build.
    pub fn lookup<T: Driver>(file: &drm::File<T>, handle: u32) -> Result<ARef<Self>> {
        const {
            assert!(
                !matches!(T::SYNCOBJ, Support::None),
                "the driver has no sync objects: set Driver::SYNCOBJ"
            )
        };
        // SAFETY: `file` is a live DRM file; the C core returns a new reference or NULL.
        let p = unsafe { bindings::drm_syncobj_find(file.client().as_raw(), handle) };
        let p = NonNull::new(p).ok_or(ENOENT)?;
        // SAFETY: The reference returned above is handed over.
        Ok(unsafe { ARef::from_raw(p.cast()) })
    }

    /// The fence of point `point` of sync object `handle` of `file` (`drm_syncobj_find_fence()`
    /// without flags): for `point == 0`, the binary fence. `ENOENT` for an unknown handle,
    /// `EINVAL` for a sync object without a fence or a point not submitted yet.
    pub fn find_fence<T: Driver>(
        file: &drm::File<T>,
        handle: u32,
        point: u64,
    ) -> Result<ARef<Fence>> {
        const {
            assert!(
                !matches!(T::SYNCOBJ, Support::None),
                "the driver has no sync objects: set Driver::SYNCOBJ"
            )
        };
        if point != 0 && !matches!(T::SYNCOBJ, Support::Timeline) {
            return Err(EINVAL);
        }
        let mut f = ptr::null_mut();
        // SAFETY: `file` is a live DRM file; on success `f` holds a new reference.
        crate::error::to_result(unsafe {
            bindings::drm_syncobj_find_fence(file.client().as_raw(), handle, point, 0, &mut f)
        })?;
        let f = NonNull::new(f).ok_or(EINVAL)?;
        // SAFETY: The reference returned above is handed over.
        Ok(unsafe { Fence::from_raw_owned(f) })
    }

    /// The raw `struct drm_syncobj`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_syncobj {
        self.0.get()
    }

    /// The sync object's current fence, if it has one (for a timeline, the last point's).
    pub fn fence(&self) -> Option<ARef<Fence>> {
        // SAFETY: Initialised with a reference held; returns a new reference or NULL.
        let f = unsafe { bindings::drm_syncobj_fence_get(self.as_raw()) };
        // SAFETY: The reference returned is handed over.
        NonNull::new(f).map(|f| unsafe { Fence::from_raw_owned(f) })
    }

    /// Replaces the sync object's fence with `fence` (`None` resets it). Does not allocate.
    pub fn replace_fence(&self, fence: Option<&Fence>) {
        let f = fence.map_or(ptr::null_mut(), Fence::as_raw);
        // SAFETY: Initialised; the sync object takes its own reference to the fence.
        unsafe { bindings::drm_syncobj_replace_fence(self.as_raw(), f) };
    }

    /// Adds `fence` as timeline point `point`, in the preallocated `chain`. Does not allocate.
    ///
    /// A point at or below the last one is still added, as the C core does (with a warning in
    /// its debug output): userspace asked for it.
    pub fn add_point(&self, chain: ChainNode, fence: &Fence, point: u64) {
        let c = chain.0;
        core::mem::forget(chain);
        // SAFETY: Initialised; `c` is a fresh chain node that the sync object takes over, and
        // it takes its own reference to `fence`.
        unsafe {
            bindings::drm_syncobj_add_point(self.as_raw(), c.as_ptr(), fence.as_raw(), point)
        };
    }
}

// SAFETY: `drm_syncobj_get()`/`drm_syncobj_put()` are its refcount; the last put frees it.
unsafe impl AlwaysRefCounted for SyncObj {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::drm_syncobj_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_syncobj_put(obj.as_ref().as_raw()) };
    }
}

/// The memory of a timeline point (`struct dma_fence_chain`), allocated ahead of
/// [`SyncObj::add_point`]; dropped unused, it is freed.
///
/// # Invariants
///
/// `0` comes from `dma_fence_chain_alloc()` and is not initialised.
pub struct ChainNode(NonNull<bindings::dma_fence_chain>);

// SAFETY: Plain memory, owned by the node.
unsafe impl Send for ChainNode {}

impl ChainNode {
    /// Allocates a chain node.
    pub fn new() -> Result<Self> {
        // SAFETY: Always safe to call; returns NULL on failure.
        let c = unsafe { bindings::dma_fence_chain_alloc() };
        Ok(Self(NonNull::new(c).ok_or(ENOMEM)?))
    }
}

impl Drop for ChainNode {
    fn drop(&mut self) {
        // SAFETY: Allocated by `dma_fence_chain_alloc()` and never initialised.
        unsafe { bindings::dma_fence_chain_free(self.0.as_ptr()) };
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_syncobj)]
mod tests {
    use super::*;
    use crate::{
        dma_fence::{
            FenceNames,
            Signalling,
            Status,
            Timeline, //
        },
        drm::tests::{
            GemDevice,
            Minor,
            MockFile, //
        },
    };

    /// A new sync object of `file`, made as the `SYNCOBJ_CREATE` ioctl makes one.
    fn create(file: &MockFile<crate::drm::tests::GemDriver>) -> Result<u32> {
        let mut obj = ptr::null_mut();
        let mut handle = 0;
        // SAFETY: `obj` receives a new sync object with a reference, which the handle then
        // holds its own of; ours is put right after.
        unsafe {
            crate::error::to_result(bindings::drm_syncobj_create(&mut obj, 0, ptr::null_mut()))?;
            let ret =
                bindings::drm_syncobj_get_handle(file.file().client().as_raw(), obj, &mut handle);
            bindings::drm_syncobj_put(obj);
            crate::error::to_result(ret)?;
        }
        Ok(handle)
    }

    /// Lookups, binary fences, timeline points, and the errors of each.
    #[test]
    fn lookup_replace_points() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-syncobj", false)?;
        // The GEM test driver has no render node.
        let f = MockFile::open(&t.dev, Minor::Primary)?;
        let file = f.file();
        let h = create(&f)?;
        assert_eq!(SyncObj::lookup(file, h + 100).err(), Some(ENOENT));
        assert_eq!(SyncObj::find_fence(file, h + 100, 0).err(), Some(ENOENT));
        let obj = SyncObj::lookup(file, h)?;
        // No fence yet.
        assert!(obj.fence().is_none());
        assert_eq!(SyncObj::find_fence(file, h, 0).err(), Some(EINVAL));

        let names = FenceNames::new(c"rust-drm-kunit", c"syncobj")?;
        let timeline = Timeline::new(&names)?;
        let a = timeline.new_fence()?;
        obj.replace_fence(Some(&a));
        let got = SyncObj::find_fence(file, h, 0)?;
        assert_eq!((got.context(), got.seqno()), (a.context(), a.seqno()));
        obj.replace_fence(None);
        assert!(obj.fence().is_none());

        // Timeline points: each one's fence, in a chain node allocated beforehand.
        let b = timeline.new_fence()?;
        obj.add_point(ChainNode::new()?, &a, 1);
        obj.add_point(ChainNode::new()?, &b, 2);
        assert_eq!(SyncObj::find_fence(file, h, 3).err(), Some(EINVAL));
        let p2 = SyncObj::find_fence(file, h, 2)?;
        assert_eq!(p2.status(), Status::Pending);
        timeline.signal_to(a.seqno(), &Signalling::begin());
        assert_eq!(SyncObj::find_fence(file, h, 1)?.status(), Status::Signalled);
        assert_eq!(p2.status(), Status::Pending);
        timeline.signal_to(b.seqno(), &Signalling::begin());
        assert_eq!(p2.status(), Status::Signalled);
        // An unused chain node is freed.
        drop(ChainNode::new()?);
        Ok(())
    }
}
