// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The DMA mapping of a shmem object for its device: [`Object::sg_table`], and its release at
//! the parent's unbind.
//!
//! C header: [`include/drm/drm_gem_shmem_helper.h`](srctree/include/drm/drm_gem_shmem_helper.h)

use super::Object;
use crate::{
    bindings, device,
    devres::Devres,
    drm::gem::{
        prime,
        DriverObject, //
    },
    prelude::*,
    scatterlist::SGTable,
};
use core::ptr::{
    self,
    NonNull, //
};

impl<D: DriverObject> Object<D> {
    /// The scatter/gather table of the object, mapped for DMA by the device's parent `parent`.
    ///
    /// For an object of this device, it allocates and pins the pages; for an import, it maps the
    /// dma-buf for this device. The mapping is made once and belongs to the parent's binding:
    /// it is undone when the parent unbinds (or when the object is freed, if that comes first),
    /// so no DMA mapping outlives the binding it was made for. The table is borrowed for as
    /// long as `parent`, the proof that the binding lasts. After the unbind, the object has no
    /// mapping for the device any more: a later call fails with `ENXIO`.
    ///
    /// Takes the object's reservation lock: not to be called with it held (see
    /// [`vmap`](Self::vmap)).
    ///
    /// Fails with `EINVAL` when `parent` is not the parent of the object's device, with
    /// `EOPNOTSUPP` when the parent has no DMA mask (it cannot do DMA: a faux device, unless
    /// the driver gives it one), with `ENXIO` after an unbind, and with `ENOMEM`.
    pub fn sg_table<'a>(
        &'a self,
        parent: &'a device::Device<device::Bound>,
    ) -> Result<&'a SGTable> {
        // SAFETY: The device and its parent live as long as the object.
        let raw_parent = unsafe { (*self.dev.as_raw()).dev };
        if parent.as_raw() != raw_parent {
            return Err(EINVAL);
        }
        // SAFETY: As above; the mask pointer is set up before the device is bound.
        if unsafe { (*raw_parent).dma_mask.is_null() } {
            return Err(EOPNOTSUPP);
        }
        if self.sgt.as_ref().is_none() {
            // The reservation lock orders the first calls: one of them registers the release.
            let _guard = self.resv().lock_interruptible()?;
            if self.sgt.as_ref().is_none() {
                // INVARIANT: the release is kept in `self.sgt`, so it lives as long as `self`
                // at most.
                let release = Devres::new(parent, Ok::<_, Error>(SgtRelease { obj: self.into() }))?;
                // Cannot fail: the set is empty, and only filled under the lock.
                self.sgt.populate(release);
            }
        }
        // A release that is not revoked was registered in the current binding (an unbind
        // revokes every release of its binding), so it is not revoked before `parent` goes.
        let bound = self
            .sgt
            .as_ref()
            .is_some_and(|release| release.try_access().is_some());
        if !bound {
            return Err(ENXIO);
        }
        let sgt = match self.dma_buf_imported() {
            None => {
                // SAFETY: The object is initialised and not imported; the helper takes the
                // reservation lock itself, and keeps the table in `shmem->sgt`.
                let sgt = unsafe { bindings::drm_gem_shmem_get_pages_sgt(self.as_shmem()) };
                crate::error::from_err_ptr(sgt)?
            }
            Some(_) => {
                let _guard = self.resv().lock_interruptible()?;
                // SAFETY: `sgt` is only written under the reservation lock held above.
                let cached = unsafe { (*self.as_shmem()).sgt };
                if cached.is_null() {
                    // SAFETY: The object owns the attachment; the reservation lock of the
                    // dma-buf is held, as `dma_buf_map_attachment()` requires.
                    let sgt = unsafe { prime::map_attachment((*self.as_raw()).import_attach) }?;
                    // SAFETY: Under the reservation lock, see above.
                    unsafe { (*self.as_shmem()).sgt = sgt };
                    sgt
                } else {
                    cached
                }
            }
        };
        // SAFETY: The table is unmapped only by `SgtRelease`, at the unbind of `parent` (not
        // before `'a` ends) or when the object is freed (not before `&'a self` ends).
        Ok(unsafe { SGTable::from_raw(sgt) })
    }
}

/// Undoes an object's DMA mapping for its device's parent: at unbind (devres), or when the
/// object is freed, whichever comes first.
///
/// # Invariants
///
/// `obj` is the object whose `sgt` holds this release: it lives as long as the release.
pub(super) struct SgtRelease<D: DriverObject> {
    obj: NonNull<Object<D>>,
}

// SAFETY: The release only unmaps the object's table, under its reservation lock; the object is
// `Sync`, so this may run on any thread.
unsafe impl<D: DriverObject> Send for SgtRelease<D> {}

impl<D: DriverObject> Drop for SgtRelease<D> {
    fn drop(&mut self) {
        // SAFETY: The object lives as long as its release (type invariant).
        let obj = unsafe { self.obj.as_ref() };
        // Not interruptible: the mapping must go.
        let _guard = obj.resv().lock();
        let shmem = obj.as_shmem();
        // SAFETY: `sgt` is only written under the reservation lock, which is held.
        if unsafe { (*shmem).sgt.is_null() } {
            return;
        }
        match obj.dma_buf_imported() {
            // SAFETY: The table was mapped by `drm_gem_shmem_get_pages_sgt()` for the parent;
            // the lock is held. The helper clears `sgt`; the pages stay counted until the object
            // is released.
            None => unsafe { bindings::__drm_gem_shmem_free_sgt_locked(shmem) },
            // SAFETY: The table was mapped through the object's attachment, whose dma-buf's
            // lock is held; cleared, so the object's release does not unmap it again.
            Some(_) => unsafe {
                prime::unmap_attachment((*obj.as_raw()).import_attach, (*shmem).sgt);
                (*shmem).sgt = ptr::null_mut();
            },
        }
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem_sgt)]
mod tests {
    use super::*;
    use crate::{
        drm::tests::{
            bo,
            live_bos as live,
            GemDevice,
            TestBo, //
        },
        page::PAGE_SIZE,
    };

    #[test]
    fn sg_table() -> Result {
        // A parent without a DMA mask cannot map: refused, without a warning.
        let nodma = GemDevice::new(c"rust-drm-kunit-gem-nodma", false)?;
        let nodma_bo = bo(&nodma, PAGE_SIZE, 0)?;
        assert_eq!(
            nodma_bo.sg_table(nodma.bound_parent()?).err(),
            Some(EOPNOTSUPP)
        );

        let t = GemDevice::new(c"rust-drm-kunit-gem", true)?;
        let a = bo(&t, 5 * PAGE_SIZE, 0)?;
        // Only with the proof that the object's own parent is bound.
        assert_eq!(a.sg_table(nodma.bound_parent()?).err(), Some(EINVAL));
        let sgt = a.sg_table(t.bound_parent()?)?;
        let total: u64 = sgt.iter().map(|e| e.dma_len()).sum();
        assert_eq!(total, 5 * PAGE_SIZE as u64);
        assert!(sgt.iter().all(|e| e.dma_address() != 0));
        // Made once: the same table again.
        assert!(core::ptr::eq(sgt, a.sg_table(t.bound_parent()?)?));
        Ok(())
    }

    /// The DMA mapping ends with the parent's binding, not with the object.
    #[test]
    fn sg_table_unmapped_at_unbind() -> Result {
        let base = live();
        let mut t = GemDevice::new(c"rust-drm-kunit-gem", true)?;
        let (a, b) = (bo(&t, 3 * PAGE_SIZE, 0)?, bo(&t, PAGE_SIZE, 0)?);
        let mapped = |o: &Object<TestBo>| {
            // SAFETY: The object is live; a plain read of the pointer, for the test.
            !unsafe { (*o.as_shmem()).sgt }.is_null()
        };
        a.sg_table(t.bound_parent()?)?;
        assert!(mapped(&a));
        // `b` is mapped and freed while the parent is bound: its release goes with it.
        b.sg_table(t.bound_parent()?)?;
        drop(b);
        // The unbind (the faux device goes) unmaps `a`, which lives on.
        drop(t.reg.take());
        drop(t.parent.take());
        assert!(!mapped(&a));
        assert_eq!(live(), base + 1);
        drop(a);
        assert_eq!(live(), base);
        Ok(())
    }
}
