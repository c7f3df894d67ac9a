// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The KUnit suite of immediate mode (`rust_drm_gpuvm_bind`): prepared binds applied in the
//! ioctl's place and from a job queue, on the fence signalling path (where lockdep reports an
//! allocation, a reservation lock or a drop that takes one), the drops deferred to the `Bind`,
//! and the errors.

use super::{
    tests::{
        model_cut,
        Model,
        Rng,
        Row,
        PAGE,
        VM_SIZE,
        VM_START, //
    },
    Bind,
    DriverGpuVm,
    GpuVm,
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
    device::DeviceContext,
    dma_fence::{
        Fence,
        FenceNames,
        Status, //
    },
    drm::{
        self,
        gem::{
            shmem::Object,
            Caching,
            DriverObject,
            Origin, //
        },
        job,
    },
    faux,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
    },
    time::Delta,
};
use core::ptr;

/// Live [`ImmBo`]s and VM states: the tests check that each is dropped, once.
static LIVE_BOS: Atomic<i64> = Atomic::new(0);
static LIVE_VMS: Atomic<i64> = Atomic::new(0);

/// The objects of the test driver of immediate mode: every VM that maps them is in immediate
/// mode (the GEM test driver's objects are mapped in VMs of the other mode).
struct ImmBo;

impl ImmBo {
    fn new() -> Self {
        LIVE_BOS.add(1, Relaxed);
        ImmBo
    }
}

impl Drop for ImmBo {
    fn drop(&mut self) {
        LIVE_BOS.add(-1, Relaxed);
    }
}

impl DriverObject for ImmBo {
    type Driver = ImmDriver;
    const GPUVM_IMMEDIATE: bool = true;

    fn create(
        _dev: &drm::Device<ImmDriver>,
        _size: usize,
        _origin: Origin<'_>,
    ) -> impl PinInit<Self, Error> {
        Ok::<_, Error>(ImmBo::new())
    }
}

/// The test driver of immediate mode, on a faux parent, without ioctls.
struct ImmDriver;

struct ImmFile;

impl drm::DriverFile for ImmFile {
    type Driver = ImmDriver;

    fn open(_dev: &drm::Device<ImmDriver>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        Ok::<_, Error>(ImmFile)
    }
}

#[vtable]
impl drm::Driver for ImmDriver {
    type Data = ();
    type File = ImmFile;
    type Object = Object<ImmBo>;
    type Kms = drm::kms::NoKms;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"rust-drm-test-gpuvm-bind",
        desc: c"KUnit GPUVM immediate-mode test driver of the Rust DRM layer",
    };

    const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
}

/// A device of [`ImmDriver`] on its own faux parent (never registered: no node is needed).
struct ImmDevice {
    dev: ARef<drm::Device<ImmDriver>>,
    _parent: faux::Registration,
}

impl ImmDevice {
    fn new() -> Result<Self> {
        let parent = faux::Registration::new(c"rust-drm-kunit-gpuvm-bind", None)?;
        let dev = ARef::from(&*drm::UnregisteredDevice::<ImmDriver>::new(
            parent.as_ref(),
            Ok(()),
        )?);
        Ok(Self {
            dev,
            _parent: parent,
        })
    }
}

fn bo(t: &ImmDevice, pages: u64) -> Result<ARef<Object<ImmBo>>> {
    Object::new(
        &t.dev,
        (pages * PAGE) as usize,
        Caching::Cached,
        Ok::<_, Error>(ImmBo::new()),
    )
}

/// A VM that tags each mapping, as the other mode's suite's.
struct TagVm;

impl TagVm {
    fn new() -> Self {
        LIVE_VMS.add(1, Relaxed);
        TagVm
    }
}

impl Drop for TagVm {
    fn drop(&mut self) {
        LIVE_VMS.add(-1, Relaxed);
    }
}

impl DriverGpuVm for TagVm {
    type Object = ImmBo;
    type VaData = u32;
    type VmBoData = ();
    type StepContext<'ctx> = u32;

    fn step_map<'op>(&mut self, op: OpMap<'op, Self>, tag: &mut u32) -> Result<Mapped<'op>> {
        op.insert(*tag)
    }

    fn step_unmap<'op>(&mut self, op: OpUnmap<'op, Self>, _: &mut u32) -> Result<Unmapped<'op>> {
        Ok(op.remove())
    }

    fn step_remap<'op>(&mut self, op: OpRemap<'op, Self>, _: &mut u32) -> Result<Remapped<'op>> {
        op.remap(|tag, _part| *tag)
    }
}

/// A VM whose step context borrows from the caller, as Tyr's borrows its page table: each step
/// writes its kind into the caller's log, room for which was reserved before the VM was locked.
struct LogVm;

/// What a step of [`LogVm`] gets: the caller's log, borrowed for the apply.
struct StepLog<'a> {
    steps: &'a mut KVec<u8>,
}

impl StepLog<'_> {
    fn note(&mut self, kind: u8) -> Result {
        self.steps.push_within_capacity(kind).map_err(|_| ENOMEM)
    }
}

impl DriverGpuVm for LogVm {
    type Object = ImmBo;
    type VaData = ();
    type VmBoData = ();
    type StepContext<'ctx> = StepLog<'ctx>;

    fn step_map<'op>(
        &mut self,
        op: OpMap<'op, Self>,
        log: &mut StepLog<'_>,
    ) -> Result<Mapped<'op>> {
        log.note(b'm')?;
        op.insert(())
    }

    fn step_unmap<'op>(
        &mut self,
        op: OpUnmap<'op, Self>,
        log: &mut StepLog<'_>,
    ) -> Result<Unmapped<'op>> {
        log.note(b'u')?;
        Ok(op.remove())
    }

    fn step_remap<'op>(
        &mut self,
        op: OpRemap<'op, Self>,
        log: &mut StepLog<'_>,
    ) -> Result<Remapped<'op>> {
        log.note(b'r')?;
        op.remap(|(), _part| ())
    }
}

/// The VM whose data has drops that take reservation locks, of the other mode's suite.
type HoldingVm = super::tests::HoldingVm<ImmBo>;

type Held = super::tests::Held<ImmBo>;

/// A job of the bind queue: a prepared bind and what its step gets.
struct BindJob {
    bind: Bind<HoldingVm>,
    ctx: Held,
}

/// A queue that applies binds in its `run`, as an asynchronous `VM_BIND` does: in a work item,
/// inside a fence signalling section.
struct Binder;

impl job::Backend for Binder {
    type Job = BindJob;

    fn run(&self, job: &mut BindJob) -> Result<Option<ARef<Fence>>> {
        let vm: ARef<GpuVm<HoldingVm>> = job.bind.vm().into();
        job.bind.apply(&mut vm.lock(), &mut job.ctx)?;
        Ok(None)
    }

    fn timed_out(&self, _job: &mut BindJob) -> job::TimeoutAction {
        job::TimeoutAction::Stopped
    }
}

fn tag_vm(t: &ImmDevice) -> Result<UniqueVm<TagVm>> {
    UniqueVm::new(&t.dev, c"kunit-bind", VM_START, VM_SIZE, TagVm::new())
}

/// Prepares and applies a map, as a synchronous bind does.
fn map(vm: &GpuVm<TagVm>, obj: &Object<ImmBo>, off: u64, addr: u64, size: u64, tag: u32) -> Result {
    let mut b = vm.prepare_map(obj, off, addr, size)?;
    b.apply(&mut vm.lock(), &mut { tag })
}

fn unmap(vm: &GpuVm<TagVm>, addr: u64, size: u64) -> Result {
    let mut b = vm.prepare_unmap(addr, size)?;
    b.apply(&mut vm.lock(), &mut 0)
}

/// The mappings, as the resv-mode suite's `state`, read into room allocated before the VM is
/// locked: the lock of a VM in immediate mode is taken on the fence signalling path, so lockdep
/// reports an allocation under it (it did, when this test allocated under it).
fn snapshot(vm: &GpuVm<TagVm>, objs: &[&Object<ImmBo>]) -> Result<KVec<Row>> {
    let mut v = KVec::with_capacity(512, GFP_KERNEL)?;
    let l = vm.lock();
    for va in l.vas() {
        let which = objs
            .iter()
            .position(|o| ptr::eq(*o, va.object()))
            .ok_or(EINVAL)?;
        v.push_within_capacity((va.addr(), va.size(), va.offset(), *va.data(), which))
            .map_err(|_| E2BIG)?;
    }
    Ok(v)
}

#[macros::kunit_tests(rust_drm_gpuvm_bind)]
mod suite {
    use super::*;

    /// Random binds through prepare and apply, checked against the interval model: the same
    /// split/merge as outside immediate mode, from the room a `Bind` brings.
    #[test]
    fn random_against_model() -> Result {
        let t = ImmDevice::new()?;
        let vm = tag_vm(&t)?;
        let (a, b) = (bo(&t, 64)?, bo(&t, 64)?);
        let objs = [&*a, &*b];
        let mut rng = Rng(0x000b_1d5e_ed77);
        let mut model = Model::new();
        for i in 0..1000u32 {
            let addr = VM_START + rng.below(256) * PAGE;
            let size = (1 + rng.below(24)) * PAGE;
            if rng.below(3) == 0 {
                unmap(&vm, addr, size)?;
                model = model_cut(&model, addr, addr + size)?;
            } else {
                let which = rng.below(2) as usize;
                let offset = rng.below(64 - size / PAGE + 1) * PAGE;
                map(&vm, objs[which], offset, addr, size, i)?;
                model = model_cut(&model, addr, addr + size)?;
                model.push((addr, addr + size, offset, i, which), GFP_KERNEL)?;
                model.sort_unstable_by_key(|m| m.0);
            }
            let got = snapshot(&vm, &objs)?;
            assert_eq!(got.len(), model.len());
            for (g, m) in got.iter().zip(model.iter()) {
                assert_eq!(*g, (m.0, m.1 - m.0, m.2, m.3, m.4));
            }
        }
        Ok(())
    }

    /// What a `Bind` refuses, and what an unapplied one leaves: nothing.
    /// A step context that borrows the caller's data: the steps of a map, of an unmap of the
    /// middle of the mapping (one remap), and of an unmap of what is left (two unmaps) write
    /// into a log that the caller reads after each apply.
    #[test]
    fn step_context_borrows() -> Result {
        let t = ImmDevice::new()?;
        let vm = UniqueVm::new(&t.dev, c"kunit-log", VM_START, VM_SIZE, LogVm)?;
        let a = bo(&t, 4)?;
        let mut steps = KVec::with_capacity(8, GFP_KERNEL)?;
        let mut b = vm.prepare_map(&a, 0, VM_START, 4 * PAGE)?;
        b.apply(&mut vm.lock(), &mut StepLog { steps: &mut steps })?;
        assert_eq!(&steps[..], b"m");
        let mut b = vm.prepare_unmap(VM_START + PAGE, PAGE)?;
        b.apply(&mut vm.lock(), &mut StepLog { steps: &mut steps })?;
        assert_eq!(&steps[..], b"mr");
        let mut b = vm.prepare_unmap(VM_START, 4 * PAGE)?;
        b.apply(&mut vm.lock(), &mut StepLog { steps: &mut steps })?;
        assert_eq!(&steps[..], b"mruu");
        Ok(())
    }

    #[test]
    fn errors_and_unapplied() -> Result {
        let base = LIVE_BOS.load(Relaxed);
        let vms = LIVE_VMS.load(Relaxed);
        let t = ImmDevice::new()?;
        let (vm, other) = (tag_vm(&t)?, tag_vm(&t)?);
        let a = bo(&t, 4)?;
        let s = VM_START;
        for (off, addr, size) in [
            (0, s, 0),
            (0, s - PAGE, 2 * PAGE),
            (0, s + VM_SIZE - PAGE, 2 * PAGE),
            (0, u64::MAX - PAGE, 2 * PAGE),
            (2 * PAGE, s, 4 * PAGE),
            (u64::MAX, s, PAGE),
        ] {
            assert!(matches!(vm.prepare_map(&a, off, addr, size), Err(e) if e == EINVAL));
        }
        assert!(matches!(vm.prepare_unmap(s, 0), Err(e) if e == EINVAL));
        assert!(matches!(vm.prepare_unmap(u64::MAX, 2), Err(e) if e == EINVAL));

        // Applied to another VM, or twice: refused, and the first changes nothing.
        let mut bind = vm.prepare_map(&a, 0, s, PAGE)?;
        assert!(bind.vm_bo().is_some());
        assert_eq!(bind.apply(&mut other.lock(), &mut 1), Err(EINVAL));
        assert_eq!(other.lock().vas().count(), 0);
        bind.apply(&mut vm.lock(), &mut 1)?;
        assert_eq!(bind.apply(&mut vm.lock(), &mut 1), Err(EINVAL));
        drop(bind);
        assert_eq!(vm.lock().vas().count(), 1);

        // A second map of the object finds its VM object: one pair for both mappings.
        let bind = vm.prepare_map(&a, 0, s + 4 * PAGE, PAGE)?;
        let pair = bind.vm_bo().map(ptr::from_ref);
        let first = vm.lock().find(s).map(|va| ptr::from_ref(va.vm_bo()));
        assert!(pair.is_some() && pair == first);
        // Dropped unapplied: nothing changes.
        drop(bind);
        assert_eq!(vm.lock().vas().count(), 1);

        // A map prepared for an object with no mapping yet, dropped unapplied, lets the object
        // go when the test does.
        let b = bo(&t, 1)?;
        drop(vm.prepare_map(&b, 0, s + 8 * PAGE, PAGE)?);
        drop(b);
        assert_eq!(LIVE_BOS.load(Relaxed), base + 1);

        // After the `UniqueVm`: no change.
        let stray: ARef<GpuVm<TagVm>> = (&*vm).into();
        let mut late = vm.prepare_unmap(s, PAGE)?;
        drop(vm);
        assert_eq!(LIVE_BOS.load(Relaxed), base + 1);
        assert_eq!(late.apply(&mut stray.lock(), &mut 0), Err(ENODEV));
        assert!(matches!(stray.prepare_unmap(s, PAGE), Err(e) if e == ENODEV));
        assert!(matches!(stray.prepare_map(&a, 0, s, PAGE), Err(e) if e == ENODEV));
        // The VM lives while a `Bind` of it does; every VM goes with its last reference.
        assert_eq!(LIVE_VMS.load(Relaxed), vms + 2);
        drop((stray, other));
        assert_eq!(LIVE_VMS.load(Relaxed), vms + 1);
        drop(late);
        assert_eq!(LIVE_VMS.load(Relaxed), vms);
        drop(a);
        assert_eq!(LIVE_BOS.load(Relaxed), base);
        Ok(())
    }

    /// Binds applied from a job queue, on the fence signalling path, whose steps remove data
    /// that holds kernel mappings and the last references of objects: the boot's lockdep sees
    /// the steps inside the section, and the drops outside it, when the queue drops the jobs.
    /// Each job's fence signals without an error, in order; a failing bind fails its fence.
    #[test]
    fn from_a_job_queue() -> Result {
        let base = LIVE_BOS.load(Relaxed);
        let live = || LIVE_BOS.load(Relaxed) - base;
        let t = ImmDevice::new()?;
        let vm = UniqueVm::new(&t.dev, c"kunit-bind", VM_START, VM_SIZE, HoldingVm::new())?;
        let names = FenceNames::new(c"rust-gpuvm-kunit", c"kunit-binds")?;
        let config = job::Config {
            credits: 1,
            timeout: Some(Delta::from_millis(5000)),
            workqueue: None,
        };
        let q = job::Queue::new(Ok(Binder), &names, config)?;
        let (a, b) = (bo(&t, 16)?, bo(&t, 16)?);
        let s = VM_START;
        let mut fences = KVec::new();
        let mut push = |bind: Bind<HoldingVm>, ctx: Held| -> Result {
            let f = q.prepare(BindJob { bind, ctx }, 1)?.push();
            fences.push(f, GFP_KERNEL)?;
            Ok(())
        };
        // Map `a` whole, its VM object with a kernel mapping made in the ioctl's place;
        // the mapping holds an object of its own.
        let bind = vm.prepare_map(&a, 0, s, 16 * PAGE)?;
        if let Some(pair) = bind.vm_bo() {
            pair.data().populate(a.vmap()?);
        }
        push(bind, Some(bo(&t, 1)?))?;
        // Map `b` in the middle: a remap step drops the old mapping and its object.
        let bind = vm.prepare_map(&b, 0, s + 4 * PAGE, 4 * PAGE)?;
        if let Some(pair) = bind.vm_bo() {
            pair.data().populate(b.vmap()?);
        }
        push(bind, None)?;
        // Unmap `b`'s mapping: its VM object, with its kernel mapping, goes (deferred).
        push(vm.prepare_unmap(s + 4 * PAGE, 4 * PAGE)?, None)?;
        // An unmap of everything.
        push(vm.prepare_unmap(s, 16 * PAGE)?, None)?;
        // A map into a VM whose `UniqueVm` is gone when the job runs: its fence fails.
        let gone = UniqueVm::new(
            &t.dev,
            c"kunit-bind-gone",
            VM_START,
            VM_SIZE,
            HoldingVm::new(),
        )?;
        let bind = gone.prepare_map(&a, 0, s, PAGE)?;
        drop(gone);
        push(bind, Some(bo(&t, 1)?))?;
        let n = fences.len();
        for (i, f) in fences.iter().enumerate() {
            f.wait(false, Some(Delta::from_millis(5000)))?;
            let want = if i == n - 1 {
                Status::Failed(ENODEV)
            } else {
                Status::Signalled
            };
            assert_eq!(f.status(), want);
        }
        // The jobs, with their binds, are dropped by the queue's free work: the drop of the
        // queue waits for it.
        drop(q);
        assert_eq!(vm.lock().vas().count(), 0);
        drop((a, b));
        assert_eq!(live(), 0);
        drop(vm);
        Ok(())
    }

    /// Many binds of one object prepared before any is applied, then applied in the other
    /// order: all share the one VM object of the pair, made by the first.
    #[test]
    fn prepared_before_applied() -> Result {
        let t = ImmDevice::new()?;
        let vm = tag_vm(&t)?;
        let a = bo(&t, 64)?;
        let mut binds = KVec::new();
        for i in 0..32u64 {
            binds.push(
                vm.prepare_map(&a, 0, VM_START + i * 2 * PAGE, PAGE)?,
                GFP_KERNEL,
            )?;
        }
        let pair = binds[0].vm_bo().map(ptr::from_ref);
        assert!(binds.iter().all(|b| b.vm_bo().map(ptr::from_ref) == pair));
        while let Some(mut bind) = binds.pop() {
            bind.apply(&mut vm.lock(), &mut 7)?;
        }
        assert_eq!(vm.lock().vas().count(), 32);
        assert!(vm
            .lock()
            .vas()
            .all(|va| ptr::from_ref(va.vm_bo()) == pair.unwrap_or(ptr::null())));
        Ok(())
    }
}
