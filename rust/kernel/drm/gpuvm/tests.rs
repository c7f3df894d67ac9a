// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The KUnit suite of GPUVM (`rust_drm_gpuvm`): the split/merge cases, invalid ranges, the
//! lifetimes of objects and VMs, the deferred drops of driver data, and random maps and unmaps
//! checked against an interval model.

use super::{
    DriverGpuVm,
    GpuVm,
    LockedVm,
    Mapped,
    OpMap,
    OpRemap,
    OpUnmap,
    Remapped,
    UniqueVm,
    Unmapped, //
};
use crate::{
    alloc::KVec,
    drm::{
        gem::{
            shmem::Object,
            Caching,
            DriverObject, //
        },
        tests::{
            GemDevice,
            TestBo,
            LIVE_BOS, //
        },
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::Relaxed, //
    },
};
use core::{
    marker::PhantomData,
    ptr, //
};

/// A VM that logs its steps and tags each mapping.
#[derive(Default)]
struct TestVm {
    maps: u32,
    unmaps: u32,
    remaps: u32,
}

impl DriverGpuVm for TestVm {
    type Object = TestBo;
    type VaData = u32;
    type VmBoData = ();
    type StepContext<'ctx> = u32;

    fn step_map<'op>(&mut self, op: OpMap<'op, Self>, tag: &mut u32) -> Result<Mapped<'op>> {
        self.maps += 1;
        op.insert(*tag)
    }

    fn step_unmap<'op>(&mut self, op: OpUnmap<'op, Self>, _: &mut u32) -> Result<Unmapped<'op>> {
        self.unmaps += 1;
        Ok(op.remove())
    }

    fn step_remap<'op>(&mut self, op: OpRemap<'op, Self>, _: &mut u32) -> Result<Remapped<'op>> {
        self.remaps += 1;
        // The parts keep the tag of the mapping they come from.
        op.remap(|tag, _part| *tag)
    }
}

pub(super) const PAGE: u64 = 4096;
pub(super) const VM_START: u64 = 0x10_0000;
pub(super) const VM_SIZE: u64 = 0x100_0000;

/// A mapping as (addr, size, offset, tag, which object).
pub(super) type Row = (u64, u64, u64, u32, usize);

/// The mappings.
pub(super) fn state<T: DriverGpuVm<Object = TestBo, VaData = u32>>(
    vm: &LockedVm<'_, T>,
    objs: &[&Object<TestBo>],
) -> Result<KVec<Row>> {
    let mut v = KVec::new();
    for va in vm.vas() {
        let which = objs
            .iter()
            .position(|o| ptr::eq(*o, va.object()))
            .ok_or(EINVAL)?;
        v.push(
            (va.addr(), va.size(), va.offset(), *va.data(), which),
            GFP_KERNEL,
        )?;
    }
    Ok(v)
}

fn setup() -> Result<(GemDevice, UniqueVm<TestVm>)> {
    let t = GemDevice::new(c"rust-drm-kunit-gpuvm", false)?;
    let vm = UniqueVm::new(&t.dev, c"kunit", VM_START, VM_SIZE, TestVm::default())?;
    Ok((t, vm))
}

pub(super) fn bo(t: &GemDevice, pages: u64) -> Result<ARef<Object<TestBo>>> {
    Object::new(
        &t.dev,
        (pages * PAGE) as usize,
        Caching::Cached,
        TestBo::new(0),
    )
}

/// A VM whose data has drops that take reservation locks: each VM object keeps a kernel
/// mapping of its object, each mapping a reference of another object (its last, once the
/// test lets go of it). Generic over the objects, so that the immediate-mode suite (whose
/// objects are of another mode) uses it too.
pub(super) struct HoldingVm<O>(PhantomData<fn() -> O>);

impl<O> HoldingVm<O> {
    pub(super) fn new() -> Self {
        HoldingVm(PhantomData)
    }
}

pub(super) type Held<O> = Option<ARef<Object<O>>>;

impl<O: DriverObject> DriverGpuVm for HoldingVm<O> {
    type Object = O;
    type VaData = Held<O>;
    type VmBoData = crate::sync::SetOnce<crate::drm::gem::shmem::VMap<O>>;
    type StepContext<'ctx> = Held<O>;

    fn step_map<'op>(&mut self, op: OpMap<'op, Self>, h: &mut Held<O>) -> Result<Mapped<'op>> {
        op.insert(h.take())
    }

    fn step_unmap<'op>(
        &mut self,
        op: OpUnmap<'op, Self>,
        _: &mut Held<O>,
    ) -> Result<Unmapped<'op>> {
        Ok(op.remove())
    }

    fn step_remap<'op>(
        &mut self,
        op: OpRemap<'op, Self>,
        _: &mut Held<O>,
    ) -> Result<Remapped<'op>> {
        // The parts hold nothing: the old mapping's reference is the last one.
        op.remap(|_, _| None)
    }
}

/// Gives the VM object of the mapping at `addr` a kernel mapping of its object.
fn give_kernel_map(vm: &mut LockedVm<'_, HoldingVm<TestBo>>, addr: u64) -> Result {
    let va = vm.find(addr).ok_or(ENOENT)?;
    assert!(va.vm_bo().data().populate(va.object().vmap()?));
    Ok(())
}

/// A small deterministic generator (xorshift).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The model: non-overlapping (start, end, offset, tag, object) intervals, sorted.
pub(super) type Model = KVec<Row>;

/// Cuts `[a, b)` out of the model.
pub(super) fn model_cut(m: &Model, a: u64, b: u64) -> Result<Model> {
    let mut out = KVec::new();
    for &(s, e, off, tag, o) in m.iter() {
        if e <= a || s >= b {
            out.push((s, e, off, tag, o), GFP_KERNEL)?;
            continue;
        }
        if s < a {
            out.push((s, a, off, tag, o), GFP_KERNEL)?;
        }
        if e > b {
            out.push((b, e, off + (b - s), tag, o), GFP_KERNEL)?;
        }
    }
    Ok(out)
}

#[macros::kunit_tests(rust_drm_gpuvm)]
mod suite {
    use super::*;

    #[test]
    fn split_and_unmap_cases() -> Result {
        let (t, vm) = setup()?;
        let (a, b) = (bo(&t, 64)?, bo(&t, 64)?);
        let objs = [&*a, &*b];
        let mut l = vm.lock();
        let s = VM_START;

        // A map inside an existing mapping splits it in three.
        l.map(&mut 1, &a, 0, s, 16 * PAGE)?;
        l.map(&mut 2, &b, 8 * PAGE, s + 4 * PAGE, 4 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 4 * PAGE, 0, 1, 0),
                (s + 4 * PAGE, 4 * PAGE, 8 * PAGE, 2, 1),
                (s + 8 * PAGE, 8 * PAGE, 8 * PAGE, 1, 0),
            ]
        );
        assert_eq!((l.maps, l.remaps), (2, 1));

        // Unmap of a middle part of one mapping leaves two.
        l.unmap(&mut 0, s + 10 * PAGE, 2 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 4 * PAGE, 0, 1, 0),
                (s + 4 * PAGE, 4 * PAGE, 8 * PAGE, 2, 1),
                (s + 8 * PAGE, 2 * PAGE, 8 * PAGE, 1, 0),
                (s + 12 * PAGE, 4 * PAGE, 12 * PAGE, 1, 0),
            ]
        );

        // An unmap across several: cuts the first and last, removes those inside.
        l.unmap(&mut 0, s + 2 * PAGE, 12 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 2 * PAGE, 0, 1, 0),
                (s + 14 * PAGE, 2 * PAGE, 14 * PAGE, 1, 0)
            ]
        );

        // A map over the exact range of a mapping replaces it; at an edge, it cuts.
        l.map(&mut 3, &b, 0, s, 2 * PAGE)?;
        l.map(&mut 4, &b, 0, s + 15 * PAGE, 4 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 2 * PAGE, 0, 3, 1),
                (s + 14 * PAGE, PAGE, 14 * PAGE, 1, 0),
                (s + 15 * PAGE, 4 * PAGE, 0, 4, 1),
            ]
        );
        assert!(l.find(s + 15 * PAGE + 5).is_some_and(|va| *va.data() == 4));
        assert!(l.find(s + 3 * PAGE).is_none());
        // Unmapping where nothing is mapped is fine.
        l.unmap(&mut 0, s + 100 * PAGE, PAGE)?;
        Ok(())
    }

    #[test]
    fn invalid_ranges() -> Result {
        let (t, vm) = setup()?;
        let a = bo(&t, 4)?;
        let mut l = vm.lock();
        let s = VM_START;
        for (off, addr, size) in [
            (0, s, 0),                         // empty
            (0, s - PAGE, 2 * PAGE),           // starts before the VM
            (0, s + VM_SIZE - PAGE, 2 * PAGE), // ends after it
            (0, u64::MAX - PAGE, 2 * PAGE),    // overflows
            (2 * PAGE, s, 4 * PAGE),           // past the end of the object
            (u64::MAX, s, PAGE),               // offset overflows
        ] {
            assert_eq!(l.map(&mut 0, &a, off, addr, size), Err(EINVAL));
        }
        assert_eq!(l.unmap(&mut 0, s, 0), Err(EINVAL));
        assert_eq!(l.unmap(&mut 0, u64::MAX, 2), Err(EINVAL));
        assert_eq!(l.vas().count(), 0);
        Ok(())
    }

    #[test]
    fn lifetimes() -> Result {
        let base = LIVE_BOS.load(Relaxed);
        let (t, vm) = setup()?;
        let a = bo(&t, 8)?;
        {
            let mut l = vm.lock();
            l.map(&mut 1, &a, 0, VM_START, 8 * PAGE)?;
            l.map(&mut 2, &a, 0, VM_START + 0x10000, 8 * PAGE)?;
            // Both mappings share one VM object.
            let mut vas = l.vas().map(|va| ptr::from_ref(va.vm_bo()));
            let (first, second) = (vas.next(), vas.next());
            assert!(first.is_some() && first == second && vas.next().is_none());
        }
        // The object, dropped while mapped, lives while a mapping does.
        drop(a);
        assert_eq!(LIVE_BOS.load(Relaxed), base + 1);
        vm.lock().unmap(&mut 0, VM_START, 8 * PAGE)?;
        assert_eq!(LIVE_BOS.load(Relaxed), base + 1);
        // Dropping the VM with a mapping left removes it, and the object goes.
        let stray: ARef<GpuVm<TestVm>> = (&*vm).into();
        drop(vm);
        assert_eq!(LIVE_BOS.load(Relaxed), base);
        // A reference kept past the `UniqueVm` cannot add mappings, which would keep the VM
        // alive forever.
        let b = bo(&t, 1)?;
        assert_eq!(stray.lock().map(&mut 0, &b, 0, VM_START, PAGE), Err(ENODEV));
        assert_eq!(stray.lock().unmap(&mut 0, VM_START, PAGE), Err(ENODEV));
        assert_eq!(stray.lock().vas().count(), 0);
        drop((stray, b));
        assert_eq!(LIVE_BOS.load(Relaxed), base);
        drop(t);
        Ok(())
    }

    /// Every step kind, and the drop of the VM, drops data whose drop takes a reservation lock:
    /// the layer defers those drops until the locks of the steps are released.
    #[test]
    fn drops_after_the_locks() -> Result {
        let base = LIVE_BOS.load(Relaxed);
        let t = GemDevice::new(c"rust-drm-kunit-gpuvm", false)?;
        let vm = UniqueVm::new(&t.dev, c"kunit", VM_START, VM_SIZE, HoldingVm::new())?;
        let (a, b) = (bo(&t, 16)?, bo(&t, 16)?);
        let s = VM_START;
        let mut l = vm.lock();
        let live = || LIVE_BOS.load(Relaxed) - base;

        // Unmap step: the mapping holds the last reference of `c`; its VM object a kernel
        // mapping of `a`.
        l.map(&mut Some(bo(&t, 1)?), &a, 0, s, 16 * PAGE)?;
        give_kernel_map(&mut l, s)?;
        assert_eq!(live(), 3);
        l.unmap(&mut None, s, 16 * PAGE)?;
        assert_eq!(live(), 2);

        // Remap step (a map in the middle cuts the mapping; the old one's data goes).
        l.map(&mut Some(bo(&t, 1)?), &a, 0, s, 16 * PAGE)?;
        l.map(&mut None, &b, 0, s + 4 * PAGE, 4 * PAGE)?;
        assert_eq!(live(), 2);
        // Unmap steps inside a map: `b`'s mapping is replaced; `b`'s VM object, with a kernel
        // mapping of `b`, goes with its last mapping.
        give_kernel_map(&mut l, s + 4 * PAGE)?;
        l.map(&mut Some(bo(&t, 1)?), &a, 0, s + 4 * PAGE, 4 * PAGE)?;
        assert_eq!(live(), 3);
        give_kernel_map(&mut l, s)?;

        // One unmap that frees many VM objects at once, each with a kernel mapping: the room
        // reserved before the steps holds them all (a shortfall would warn).
        let mut many = KVec::new();
        for i in 0..16u64 {
            let o = bo(&t, 1)?;
            let at = s + (64 + i) * PAGE;
            l.map(&mut Some(bo(&t, 1)?), &o, 0, at, PAGE)?;
            give_kernel_map(&mut l, at)?;
            many.push(o, GFP_KERNEL)?;
        }
        drop(many);
        assert_eq!(live(), 3 + 32);
        l.unmap(&mut None, s + 64 * PAGE, 16 * PAGE)?;
        assert_eq!(live(), 3);
        drop(l);

        // Dropping the VM removes the rest: data and kernel mappings go one mapping at a time.
        drop(vm);
        assert_eq!(live(), 2);
        drop((a, b));
        assert_eq!(live(), 0);
        Ok(())
    }

    #[test]
    fn random_against_model() -> Result {
        let (t, vm) = setup()?;
        let (a, b) = (bo(&t, 64)?, bo(&t, 64)?);
        let objs = [&*a, &*b];
        let mut rng = Rng(0x5eed_1234_abcd);
        let mut model = Model::new();
        let mut l = vm.lock();
        const SPAN: u64 = 256;
        for i in 0..2000u32 {
            let addr = VM_START + rng.below(SPAN) * PAGE;
            let size = (1 + rng.below(24)) * PAGE;
            if rng.below(3) == 0 {
                l.unmap(&mut 0, addr, size)?;
                model = model_cut(&model, addr, addr + size)?;
            } else {
                let which = rng.below(2) as usize;
                let offset = rng.below(64 - size / PAGE + 1) * PAGE;
                let mut tag = i;
                l.map(&mut tag, objs[which], offset, addr, size)?;
                model = model_cut(&model, addr, addr + size)?;
                model.push((addr, addr + size, offset, i, which), GFP_KERNEL)?;
                model.sort_unstable_by_key(|m| m.0);
            }
            let got = state(&l, &objs)?;
            assert_eq!(got.len(), model.len());
            for (g, m) in got.iter().zip(model.iter()) {
                assert_eq!(*g, (m.0, m.1 - m.0, m.2, m.3, m.4));
            }
        }
        Ok(())
    }
}
