// SPDX-License-Identifier: GPL-2.0

//! vrust: the sample driver of the Rust DRM layer.
//!
//! A virtual DRM device on the faux bus, written as a manual for driver authors: it uses every
//! layer of `kernel::drm` and has no `unsafe`. Its uapi is `include/uapi/drm/vrust_drm.h`.
//!
//! Instances are made at run time through configfs, as vkms does; loading the module also
//! makes one instance, `vrust`:
//!
//! ```text
//! mkdir /sys/kernel/config/vrust/a            # an instance named a
//! echo 1 > /sys/kernel/config/vrust/a/enabled # faux device vrust-a, DRM device registered
//! echo 0 > /sys/kernel/config/vrust/a/enabled # unplugged: open files get -ENODEV
//! rmdir /sys/kernel/config/vrust/a
//! ```
//!
//! Each instance has a primary node and a render node, and these ioctls:
//!
//! * `GET_PARAM`: device and client facts (client id, node type, open files, ...);
//! * `COUNTER`: a counter private to the calling file;
//! * `SET_DEVICE_VALUE`: a device-wide value, primary node only (`AUTH`, no `RENDER_ALLOW`);
//! * `REVERSE`: reads a user buffer of checked length and writes it back reversed;
//! * `GEM_CREATE`, `GEM_INFO`: shmem-backed buffers ([`drm::gem::shmem::Object`]) and their
//!   `mmap()` offsets;
//! * `GEM_PWRITE`, `GEM_PREAD`: copies between user memory and a buffer, a page at a time
//!   through the kernel, so that tests can compare the CPU's and the kernel's views;
//! * `VM_CREATE`, `VM_DESTROY`, `VM_BIND`, `VM_QUERY`: GPU virtual address spaces per file
//!   ([`drm::gpuvm`]), with mappings of buffer ranges made and cut by the split/merge steps;
//! * `EXEC`: `FILL` and `COPY` commands run by a software "GPU", which resolves GPU addresses
//!   through a VM's mappings to the buffers' pages; bounded per call (`VRUST_EXEC_MAX_BYTES`),
//!   in chunks between which it reschedules and stops on a fatal signal.
//!
//! The C core adds, on top of the GEM layer: `GEM_CLOSE`, dumb buffers (`MODE_CREATE_DUMB`,
//! `MODE_MAP_DUMB`), `mmap()` of buffers, and PRIME export and import of dma-bufs.
//!
//! A client, in C with libdrm:
//!
//! ```c
//! int fd = open("/dev/dri/renderD128", O_RDWR);
//! struct drm_vrust_counter c = { .add = 5 };
//! ioctl(fd, DRM_IOCTL_VRUST_COUNTER, &c);            // c.value == 5
//! struct drm_vrust_set_device_value v = { .value = 1 };
//! ioctl(fd, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, &v);   // -1, errno EACCES: render node
//! ```

use kernel::{
    c_str,
    configfs::{
        self,
        configfs_attrs, //
    },
    device::DeviceContext,
    devres::Devres,
    drm::{
        self,
        gem::{
            self,
            shmem, //
        },
        gpuvm, //
        ioctl, //
    },
    faux,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex,
        SetOnce, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    uapi, //
};

module! {
    type: VrustModule,
    name: "rust_drm_vrust",
    authors: ["drm-rust maintainers"],
    description: "vrust: sample driver of the Rust DRM layer",
    license: "GPL",
}

/// The driver.
struct Vrust;

/// Per-device data.
#[pin_data]
struct VrustData {
    /// The value of `SET_DEVICE_VALUE`, read by `GET_PARAM`.
    #[pin]
    value: Mutex<u64>,
    /// Files open on the device.
    #[pin]
    open_files: Mutex<u64>,
    /// Buffers of the device still allocated.
    live_buffers: Atomic<i64>,
    /// The id of the next buffer.
    next_bo_id: Atomic<u64>,
}

/// The allocation flags of memory whose size a client chooses: a failure is the client's
/// `ENOMEM`, not a kernel warning.
fn user_sized() -> kernel::alloc::Flags {
    GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN
}

/// The largest buffer, `VRUST_BO_MAX_SIZE`.
const MAX_SIZE: u64 = uapi::VRUST_BO_MAX_SIZE as u64;

/// The buffers of the driver: shmem pages, with this data.
type Bo = shmem::Object<VrustBo>;

/// Per-buffer data.
#[pin_data(PinnedDrop)]
struct VrustBo {
    /// `VRUST_BO_*`.
    flags: u32,
    /// Unique on the device.
    id: u64,
    /// The device, to count live buffers.
    dev: ARef<drm::Device<Vrust>>,
}

impl VrustBo {
    fn new(dev: &drm::Device<Vrust>, flags: u32) -> Result<Self> {
        dev.live_buffers.add(1, Relaxed);
        // Counted before the buffer exists: if making it fails, the drop uncounts it.
        Ok(VrustBo {
            flags,
            id: dev.next_bo_id.fetch_add(1, Relaxed),
            dev: dev.into(),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for VrustBo {
    fn drop(self: Pin<&mut Self>) {
        self.dev.live_buffers.add(-1, Relaxed);
    }
}

impl gem::DriverObject for VrustBo {
    type Driver = Vrust;

    fn create(
        dev: &drm::Device<Vrust>,
        size: usize,
        origin: gem::Origin<'_>,
    ) -> impl PinInit<Self, Error> {
        // Every buffer, whoever makes it, is at most `VRUST_BO_MAX_SIZE`.
        let flags = match origin {
            _ if size as u64 > MAX_SIZE => Err(EINVAL),
            gem::Origin::Dumb { .. } => Ok(uapi::VRUST_BO_DUMB),
            gem::Origin::Import(_) => Ok(uapi::VRUST_BO_IMPORTED),
        };
        flags.and_then(|flags| VrustBo::new(dev, flags))
    }
}

/// Per-file data.
#[pin_data(PinnedDrop)]
struct VrustFile {
    /// The device, to count open files.
    dev: ARef<drm::Device<Vrust>>,
    /// The `COUNTER` of this file.
    #[pin]
    counter: Mutex<u64>,
    /// The GPU VMs of this file.
    #[pin]
    vms: Mutex<VmTable>,
}

/// The GPU VMs of a file, by id.
#[derive(Default)]
struct VmTable {
    next_id: u32,
    vms: KVec<(u32, Arc<gpuvm::UniqueVm<VrustVm>>)>,
}

impl VrustFile {
    /// The VM `id` of this file.
    fn vm(&self, id: u32) -> Result<Arc<gpuvm::UniqueVm<VrustVm>>> {
        let table = self.vms.lock();
        let (_, vm) = table.vms.iter().find(|(i, _)| *i == id).ok_or(ENOENT)?;
        Ok(vm.clone())
    }
}

/// The state of a GPU VM: the software GPU has no page tables, it resolves addresses through
/// the VM's mappings when it runs. The state counts the mappings, for the limit.
#[derive(Default)]
struct VrustVm {
    mappings: usize,
}

/// The data of a buffer mapped in a VM (one per VM and buffer): the buffer's kernel mapping,
/// made when `EXEC` first uses it and kept while the buffer is mapped in the VM, as a GPU keeps
/// its page tables (mapping a buffer into the kernel costs far more than a copy). The layer
/// drops it when the buffer's last mapping in the VM goes, after the reservation locks of that
/// bind are released, as dropping a mapping takes its buffer's lock.
#[derive(Default)]
struct VmBuffer {
    map: SetOnce<shmem::VMap<VrustBo>>,
}

impl gpuvm::DriverGpuVm for VrustVm {
    type Object = VrustBo;
    type VaData = ();
    type VmBoData = VmBuffer;
    type StepContext = ();

    fn step_map<'op>(
        &mut self,
        op: gpuvm::OpMap<'op, Self>,
        _ctx: &mut (),
    ) -> Result<gpuvm::Mapped<'op>> {
        let done = op.insert(())?;
        self.mappings += 1;
        Ok(done)
    }

    fn step_unmap<'op>(
        &mut self,
        op: gpuvm::OpUnmap<'op, Self>,
        _ctx: &mut (),
    ) -> Result<gpuvm::Unmapped<'op>> {
        self.mappings -= 1;
        Ok(op.remove())
    }

    fn step_remap<'op>(
        &mut self,
        op: gpuvm::OpRemap<'op, Self>,
        _ctx: &mut (),
    ) -> Result<gpuvm::Remapped<'op>> {
        let parts = usize::from(op.prev().is_some()) + usize::from(op.next().is_some());
        let done = op.remap(|_data, _part| ())?;
        self.mappings = self.mappings - 1 + parts;
        Ok(done)
    }
}

/// A piece of a GPU address range that lies in one mapping: the mapping, the offset in its
/// buffer, and the length.
struct Chunk<'a> {
    va: &'a gpuvm::Va<VrustVm>,
    offset: usize,
    len: usize,
}

impl Chunk<'_> {
    /// The kernel mapping of the chunk's buffer, made on first use.
    fn kernel_map(&self) -> Result<&shmem::VMap<VrustBo>> {
        let slot = &self.va.vm_bo().data().map;
        if slot.as_ref().is_none() {
            // Not set by anyone else meanwhile: the VM is locked.
            slot.populate(self.va.object().vmap()?);
        }
        slot.as_ref().ok_or(EFAULT)
    }
}

/// The mapping chunk at GPU address `addr`, at most `len` bytes long.
fn resolve<'a>(vm: &'a gpuvm::LockedVm<'_, VrustVm>, addr: u64, len: u64) -> Result<Chunk<'a>> {
    let va = vm.find(addr).ok_or(EFAULT)?;
    let in_va = addr - va.addr();
    let n = len.min(va.size() - in_va);
    Ok(Chunk {
        va,
        offset: usize::try_from(va.offset() + in_va)?,
        len: usize::try_from(n)?,
    })
}

impl drm::DriverFile for VrustFile {
    type Driver = Vrust;

    fn open(dev: &drm::Device<Vrust>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        try_pin_init!(VrustFile {
            dev: dev.into(),
            counter <- new_mutex!(0),
            vms <- new_mutex!(VmTable::default()),
        })
        // Counted once the file is sure to open; the drop uncounts it.
        .pin_chain(|file| {
            *file.dev.open_files.lock() += 1;
            Ok(())
        })
    }
}

#[pinned_drop]
impl PinnedDrop for VrustFile {
    fn drop(self: Pin<&mut Self>) {
        *self.dev.open_files.lock() -= 1;
    }
}

impl Vrust {
    fn get_param(
        dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_get_param,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        arg.value = match arg.param {
            uapi::VRUST_PARAM_API_VERSION => uapi::VRUST_API_VERSION.into(),
            uapi::VRUST_PARAM_CLIENT_ID => file.client().id(),
            uapi::VRUST_PARAM_NODE_TYPE => match file.client().node() {
                drm::Node::Primary => uapi::VRUST_NODE_PRIMARY.into(),
                drm::Node::Render => uapi::VRUST_NODE_RENDER.into(),
                drm::Node::Accel => return Err(EINVAL),
            },
            uapi::VRUST_PARAM_DEVICE_VALUE => *dev.value.lock(),
            uapi::VRUST_PARAM_OPEN_FILES => *dev.open_files.lock(),
            uapi::VRUST_PARAM_LIVE_BUFFERS => dev.live_buffers.load(Relaxed).try_into()?,
            _ => return Err(EINVAL),
        };
        Ok(0)
    }

    fn counter(
        _dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_counter,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let mut counter = file.counter.lock();
        *counter = counter.checked_add(arg.add).ok_or(EOVERFLOW)?;
        arg.value = *counter;
        Ok(0)
    }

    fn set_device_value(
        dev: &drm::Device<Self>,
        arg: &uapi::drm_vrust_set_device_value,
        _file: &drm::File<Self>,
    ) -> Result<u32> {
        *dev.value.lock() = arg.value;
        Ok(0)
    }

    fn reverse(
        _dev: &drm::Device<Self>,
        arg: &uapi::drm_vrust_reverse,
        _file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.pad != 0 || arg.len > uapi::VRUST_REVERSE_MAX_LEN {
            return Err(EINVAL);
        }
        let len = usize::try_from(arg.len)?;
        for addr in [arg.src, arg.dst] {
            addr.checked_add(u64::from(arg.len)).ok_or(EOVERFLOW)?;
        }
        let src = UserPtr::from_addr(usize::try_from(arg.src).map_err(|_| EFAULT)?);
        let dst = UserPtr::from_addr(usize::try_from(arg.dst).map_err(|_| EFAULT)?);

        // Up to 64 KiB: no need for physically contiguous memory.
        let mut buf = KVVec::with_capacity(len, user_sized())?;
        UserSlice::new(src, len).read_all(&mut buf, user_sized())?;
        buf.reverse();
        UserSlice::new(dst, len).writer().write_slice(&buf)?;
        Ok(0)
    }

    fn gem_create(
        dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_gem_create,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let caching = match arg.flags {
            0 => gem::Caching::Cached,
            uapi::VRUST_BO_WRITE_COMBINED => gem::Caching::WriteCombined,
            _ => return Err(EINVAL),
        };
        if arg.size > MAX_SIZE {
            return Err(EINVAL);
        }
        let size = usize::try_from(arg.size)?;
        let bo = Bo::new(dev, size, caching, VrustBo::new(dev, arg.flags))?;
        // The handle holds a reference; ours goes at the end of the call.
        arg.handle = bo.create_handle(file)?;
        Ok(0)
    }

    fn gem_info(
        _dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_gem_info,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let bo = Bo::lookup(file, arg.handle)?;
        arg.flags = bo.flags;
        arg.size = bo.size() as u64;
        arg.offset = bo.mmap_offset();
        arg.id = bo.id;
        Ok(0)
    }

    /// The buffer, offset and length of a `GEM_PWRITE` or `GEM_PREAD`, checked.
    fn gem_rw_args(
        arg: &uapi::drm_vrust_gem_rw,
        file: &drm::File<Self>,
    ) -> Result<(ARef<Bo>, usize, usize)> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        let bo = Bo::lookup(file, arg.handle)?;
        let end = arg.offset.checked_add(arg.size).ok_or(EINVAL)?;
        if end > bo.size() as u64 {
            return Err(EINVAL);
        }
        // Both fit: they are below the buffer's size.
        Ok((bo, arg.offset as usize, arg.size as usize))
    }

    /// The bounce buffer of `GEM_PWRITE` and `GEM_PREAD`: user memory is copied into kernel
    /// memory, then into the buffer's pages, one page at a time (`cpu_access()`: no kernel
    /// mapping of the whole buffer, nothing pinned), so a one-byte write into a 1 GiB buffer
    /// touches one page. Every `WORK_CHUNK` bytes, the copy lets other tasks run and stops on
    /// a fatal signal.
    const CHUNK: usize = PAGE_SIZE;

    fn gem_pwrite(
        _dev: &drm::Device<Self>,
        arg: &uapi::drm_vrust_gem_rw,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let (bo, offset, len) = Self::gem_rw_args(arg, file)?;
        let src = UserPtr::from_addr(usize::try_from(arg.ptr).map_err(|_| EFAULT)?);
        let mut reader = UserSlice::new(src, len).reader();
        let mut chunk = KVec::from_elem(0u8, Self::CHUNK.min(len), GFP_KERNEL)?;
        let access = bo.cpu_access()?;
        let mut done = 0;
        while done < len {
            let n = Self::CHUNK.min(len - done);
            reader.read_slice(&mut chunk[..n])?;
            access.write(offset + done, &chunk[..n])?;
            done += n;
            if done as u64 % Self::WORK_CHUNK == 0 {
                Self::between_chunks()?;
            }
        }
        Ok(0)
    }

    fn gem_pread(
        _dev: &drm::Device<Self>,
        arg: &uapi::drm_vrust_gem_rw,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let (bo, offset, len) = Self::gem_rw_args(arg, file)?;
        let dst = UserPtr::from_addr(usize::try_from(arg.ptr).map_err(|_| EFAULT)?);
        let mut writer = UserSlice::new(dst, len).writer();
        let mut chunk = KVec::from_elem(0u8, Self::CHUNK.min(len), GFP_KERNEL)?;
        let access = bo.cpu_access()?;
        let mut done = 0;
        while done < len {
            let n = Self::CHUNK.min(len - done);
            access.read(offset + done, &mut chunk[..n])?;
            writer.write_slice(&chunk[..n])?;
            done += n;
            if done as u64 % Self::WORK_CHUNK == 0 {
                Self::between_chunks()?;
            }
        }
        Ok(0)
    }
}

/// The size of a `struct drm_vrust_cmd`.
const CMD_SIZE: usize = core::mem::size_of::<uapi::drm_vrust_cmd>();

impl Vrust {
    fn vm_create(
        _dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_vm_create,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        let mut table = file.vms.lock();
        if table.vms.len() >= uapi::VRUST_MAX_VMS_PER_FILE as usize {
            return Err(ENOSPC);
        }
        let vm = gpuvm::UniqueVm::new(
            &file.dev,
            c"vrust",
            uapi::VRUST_VM_START.into(),
            uapi::VRUST_VM_SIZE,
            VrustVm::default(),
        )?;
        table.next_id = table.next_id.checked_add(1).ok_or(ENOSPC)?;
        let id = table.next_id;
        table
            .vms
            .push((id, Arc::new(vm, GFP_KERNEL)?), GFP_KERNEL)?;
        arg.vm_id = id;
        Ok(0)
    }

    fn vm_destroy(
        _dev: &drm::Device<Self>,
        arg: &uapi::drm_vrust_vm_destroy,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        let vm = {
            let mut table = file.vms.lock();
            let i = table
                .vms
                .iter()
                .position(|(id, _)| *id == arg.vm_id)
                .ok_or(ENOENT)?;
            table.vms.remove(i)?
        };
        // Its mappings go when the last user (a running EXEC, say) lets go, outside the table
        // lock.
        drop(vm);
        Ok(0)
    }

    fn vm_bind(
        _dev: &drm::Device<Self>,
        arg: &uapi::drm_vrust_vm_bind,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let page = PAGE_SIZE as u64;
        if arg.pad != 0 || (arg.addr | arg.range | arg.offset) % page != 0 {
            return Err(EINVAL);
        }
        let vm = file.vm(arg.vm_id)?;
        let mut vm = vm.lock();
        let max = uapi::VRUST_VM_MAX_MAPPINGS as usize;
        match arg.op {
            uapi::VRUST_BIND_MAP => {
                // A map can cut one mapping in two around the new one.
                if vm.mappings + 2 > max {
                    return Err(ENOSPC);
                }
                let bo = Bo::lookup(file, arg.handle)?;
                vm.map(&mut (), &bo, arg.offset, arg.addr, arg.range)?;
            }
            uapi::VRUST_BIND_UNMAP => {
                if arg.handle != 0 || arg.offset != 0 {
                    return Err(EINVAL);
                }
                // An unmap can cut one mapping in two.
                if vm.mappings + 1 > max {
                    return Err(ENOSPC);
                }
                vm.unmap(&mut (), arg.addr, arg.range)?;
            }
            _ => return Err(EINVAL),
        }
        Ok(0)
    }

    fn vm_query(
        _dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_vm_query,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        let vm = file.vm(arg.vm_id)?;
        let vm = vm.lock();
        let room = usize::try_from(arg.count)?;
        let size = core::mem::size_of::<uapi::drm_vrust_vm_mapping>();
        let ptr = UserPtr::from_addr(usize::try_from(arg.mappings).map_err(|_| EFAULT)?);
        let mut writer = UserSlice::new(ptr, room.checked_mul(size).ok_or(EINVAL)?).writer();
        let mut total = 0u32;
        for va in vm.vas() {
            if (total as usize) < room {
                let mut m = [0u8; 32];
                for (i, v) in [va.addr(), va.size(), va.offset(), va.object().id]
                    .into_iter()
                    .enumerate()
                {
                    m[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
                }
                writer.write_slice(&m)?;
            }
            total += 1;
        }
        arg.count = total;
        Ok(0)
    }

    /// The most bytes the driver fills or copies for a client between two checks for other
    /// tasks and for a fatal signal: a client chooses how long an `EXEC` (up to
    /// `VRUST_EXEC_MAX_BYTES`) or a `GEM_PWRITE` runs.
    const WORK_CHUNK: u64 = 1 << 20;

    /// Between two chunks of `EXEC` work: lets other tasks run, and stops with `EINTR` when
    /// the caller is being killed.
    fn between_chunks() -> Result {
        kernel::task::cond_resched();
        if kernel::current!().fatal_signal_pending() {
            return Err(EINTR);
        }
        Ok(())
    }

    /// `FILL`: sets `len` bytes at GPU address `dst` to `value`.
    fn gpu_fill(vm: &gpuvm::LockedVm<'_, VrustVm>, dst: u64, len: u64, value: u8) -> Result {
        dst.checked_add(len).ok_or(EINVAL)?;
        let (mut at, mut left) = (dst, len);
        while left > 0 {
            let c = resolve(vm, at, left.min(Self::WORK_CHUNK))?;
            c.kernel_map()?.fill(c.offset, c.len, value)?;
            at += c.len as u64;
            left -= c.len as u64;
            Self::between_chunks()?;
        }
        Ok(())
    }

    /// `COPY`: copies `len` bytes from GPU address `src` to `dst`.
    fn gpu_copy(vm: &gpuvm::LockedVm<'_, VrustVm>, src: u64, dst: u64, len: u64) -> Result {
        let src_end = src.checked_add(len).ok_or(EINVAL)?;
        let dst_end = dst.checked_add(len).ok_or(EINVAL)?;
        if src < dst_end && dst < src_end {
            return Err(EINVAL);
        }
        let (mut s, mut d, mut left) = (src, dst, len);
        while left > 0 {
            let from = resolve(vm, s, left.min(Self::WORK_CHUNK))?;
            let to = resolve(vm, d, from.len as u64)?;
            let n = to.len;
            to.kernel_map()?
                .copy_from(to.offset, from.kernel_map()?, from.offset, n)?;
            s += n as u64;
            d += n as u64;
            left -= n as u64;
            Self::between_chunks()?;
        }
        Ok(())
    }

    fn exec(
        _dev: &drm::Device<Self>,
        arg: &mut uapi::drm_vrust_exec,
        file: &drm::File<Self>,
    ) -> Result<u32> {
        arg.done = 0;
        if arg.pad != 0 || arg.count > uapi::VRUST_EXEC_MAX_CMDS {
            return Err(EINVAL);
        }
        // The commands are copied in before any lock is taken.
        let len = usize::try_from(arg.count)? * CMD_SIZE;
        let ptr = UserPtr::from_addr(usize::try_from(arg.cmds).map_err(|_| EFAULT)?);
        let mut raw = KVVec::with_capacity(len, user_sized())?;
        UserSlice::new(ptr, len).read_all(&mut raw, user_sized())?;
        let vm = file.vm(arg.vm_id)?;
        let vm = vm.lock();
        let mut budget = uapi::VRUST_EXEC_MAX_BYTES;
        for cmd in raw.chunks_exact(CMD_SIZE) {
            let u32_at =
                |i: usize| u32::from_ne_bytes([cmd[i], cmd[i + 1], cmd[i + 2], cmd[i + 3]]);
            let u64_at = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&cmd[i..i + 8]);
                u64::from_ne_bytes(b)
            };
            let (op, value, src, dst, len) =
                (u32_at(0), u32_at(4), u64_at(8), u64_at(16), u64_at(24));
            if op != uapi::VRUST_CMD_FILL && op != uapi::VRUST_CMD_COPY {
                return Err(EINVAL);
            }
            // Both commands touch `len` bytes. One longer than any EXEC may touch can never run;
            // one beyond what is left of the budget is not started (the client resubmits it).
            if len > uapi::VRUST_EXEC_MAX_BYTES {
                return Err(EINVAL);
            }
            budget = budget.checked_sub(len).ok_or(E2BIG)?;
            match op {
                uapi::VRUST_CMD_FILL => Self::gpu_fill(&vm, dst, len, value as u8)?,
                uapi::VRUST_CMD_COPY => Self::gpu_copy(&vm, src, dst, len)?,
                _ => return Err(EINVAL),
            }
            arg.done += 1;
        }
        Ok(0)
    }
}

#[vtable]
impl drm::Driver for Vrust {
    type Data = VrustData;
    type File = VrustFile;
    type Object = Bo;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"vrust",
        desc: c"Sample driver of the Rust DRM layer",
    };

    const IOCTLS: &'static [ioctl::Desc<Self>] = kernel::drm_ioctls! { Vrust:
        (IOWR, DRM_IOCTL_VRUST_GET_PARAM, drm_vrust_get_param, Vrust::get_param, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_COUNTER, drm_vrust_counter, Vrust::counter, RENDER_ALLOW),
        (IOW, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, drm_vrust_set_device_value,
            Vrust::set_device_value, AUTH),
        (IOW, DRM_IOCTL_VRUST_REVERSE, drm_vrust_reverse, Vrust::reverse, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_GEM_CREATE, drm_vrust_gem_create, Vrust::gem_create,
            RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_GEM_INFO, drm_vrust_gem_info, Vrust::gem_info, RENDER_ALLOW),
        (IOW, DRM_IOCTL_VRUST_GEM_PWRITE, drm_vrust_gem_rw, Vrust::gem_pwrite, RENDER_ALLOW),
        (IOW, DRM_IOCTL_VRUST_GEM_PREAD, drm_vrust_gem_rw, Vrust::gem_pread, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_VM_CREATE, drm_vrust_vm_create, Vrust::vm_create, RENDER_ALLOW),
        (IOW, DRM_IOCTL_VRUST_VM_DESTROY, drm_vrust_vm_destroy, Vrust::vm_destroy,
            RENDER_ALLOW),
        (IOW, DRM_IOCTL_VRUST_VM_BIND, drm_vrust_vm_bind, Vrust::vm_bind, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_VM_QUERY, drm_vrust_vm_query, Vrust::vm_query, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_VRUST_EXEC, drm_vrust_exec, Vrust::exec, RENDER_ALLOW),
    };
}

/// A live instance: the DRM device, registered, on its faux parent.
///
/// The fields drop in order: first the registration (unplug), then the parent.
struct Live {
    _drm: Devres<drm::Registration<Vrust>>,
    _parent: faux::Registration,
}

impl Live {
    fn new(name: &CStr) -> Result<Self> {
        let parent = faux::Registration::new(name, None)?;
        let dev = drm::UnregisteredDevice::<Vrust>::new(
            parent.as_ref(),
            try_pin_init!(VrustData {
                value <- new_mutex!(0),
                open_files <- new_mutex!(0),
                live_buffers: Atomic::new(0),
                next_bo_id: Atomic::new(1),
            }),
        )?;
        Ok(Self {
            _drm: dev.register()?,
            _parent: parent,
        })
    }
}

/// A configfs instance directory, `/sys/kernel/config/vrust/<name>`.
#[pin_data]
struct Instance {
    /// The faux device name, `vrust-<name>`.
    name: CString,
    /// The live instance while `enabled` is 1.
    #[pin]
    live: Mutex<Option<Live>>,
}

/// The configfs subsystem, `/sys/kernel/config/vrust`.
#[pin_data]
struct Instances {}

#[vtable]
impl configfs::GroupOperations for Instances {
    type Child = Instance;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<Instance>, Error>> {
        let item_type = configfs_attrs! {
            container: configfs::Group<Instance>,
            data: Instance,
            attributes: [
                enabled: 0,
            ],
        };
        let faux_name = CString::try_from_fmt(fmt!("vrust-{}", name.to_str()?))?;
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            try_pin_init!(Instance {
                name: faux_name,
                live <- new_mutex!(None),
            }),
        ))
    }
}

#[vtable]
impl configfs::AttributeOperations<0> for Instance {
    type Data = Instance;

    fn show(inst: &Instance, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        page[0] = if inst.live.lock().is_some() {
            b'1'
        } else {
            b'0'
        };
        page[1] = b'\n';
        Ok(2)
    }

    fn store(inst: &Instance, page: &[u8]) -> Result {
        let enable = match page.strip_suffix(b"\n").unwrap_or(page) {
            b"1" => true,
            b"0" => false,
            _ => return Err(EINVAL),
        };
        let mut live = inst.live.lock();
        match (enable, live.is_some()) {
            (true, false) => *live = Some(Live::new(&inst.name)?),
            (false, true) => *live = None,
            _ => {}
        }
        Ok(())
    }
}

#[pin_data]
struct VrustModule {
    #[pin]
    instances: configfs::Subsystem<Instances>,
    default: Live,
}

impl kernel::InPlaceModule for VrustModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let item_type = configfs_attrs! {
            container: configfs::Subsystem<Instances>,
            data: Instances,
            child: Instance,
            attributes: [],
        };
        try_pin_init!(Self {
            instances <- configfs::Subsystem::new(c_str!("vrust"), item_type, try_pin_init!(Instances {})),
            default: Live::new(c_str!("vrust"))?,
        })
    }
}
