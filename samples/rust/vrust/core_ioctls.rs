// SPDX-License-Identifier: GPL-2.0

//! The ioctls that only exercise the core layer: no buffers, no VMs.
//!
//! They show the parts every ioctl has: a handler declared with its command and permissions
//! ([`drm::ioctl::handlers`]), a uapi argument read and written as a value, the device and the
//! caller's file, and user memory reached through a uapi address ([`drm::user`]).
//! `SET_DEVICE_VALUE` has no `RENDER_ALLOW`: render clients get `EACCES` from the C core.

use crate::{
    driver::Vrust,
    user_sized, //
};
use kernel::{
    drm,
    prelude::*,
    sync::atomic::Relaxed,
    uapi, //
};

/// The handlers of the core ioctls.
pub(crate) struct CoreIoctls;

#[drm::ioctl::handlers]
impl CoreIoctls {
    /// `GET_PARAM`: a fact about the device or the calling client.
    #[ioctl(DRM_IOCTL_VRUST_GET_PARAM, RENDER_ALLOW)]
    pub(crate) fn get_param(
        dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_get_param,
        file: &drm::File<Vrust>,
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

    /// `COUNTER`: adds to the calling file's counter and returns it.
    #[ioctl(DRM_IOCTL_VRUST_COUNTER, RENDER_ALLOW)]
    pub(crate) fn counter(
        _dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_counter,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let mut counter = file.counter.lock();
        *counter = counter.checked_add(arg.add).ok_or(EOVERFLOW)?;
        arg.value = *counter;
        Ok(0)
    }

    /// `SET_DEVICE_VALUE`: sets the device-wide value, from the primary node only.
    #[ioctl(DRM_IOCTL_VRUST_SET_DEVICE_VALUE, AUTH)]
    pub(crate) fn set_device_value(
        dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_set_device_value,
        _file: &drm::File<Vrust>,
    ) -> Result<u32> {
        *dev.value.lock() = arg.value;
        Ok(0)
    }

    /// `REVERSE`: copies `len` bytes at `src` in, and writes them back reversed at `dst`.
    #[ioctl(DRM_IOCTL_VRUST_REVERSE, RENDER_ALLOW)]
    pub(crate) fn reverse(
        _dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_reverse,
        _file: &drm::File<Vrust>,
    ) -> Result<u32> {
        if arg.pad != 0 || arg.len > uapi::VRUST_REVERSE_MAX_LEN {
            return Err(EINVAL);
        }
        let len = usize::try_from(arg.len)?;
        for addr in [arg.src, arg.dst] {
            addr.checked_add(u64::from(arg.len)).ok_or(EOVERFLOW)?;
        }
        // Up to 64 KiB: no need for physically contiguous memory.
        let mut buf = KVVec::with_capacity(len, user_sized())?;
        drm::user::user_slice(arg.src, len)?.read_all(&mut buf, user_sized())?;
        buf.reverse();
        drm::user::user_slice(arg.dst, len)?
            .writer()
            .write_slice(&buf)?;
        Ok(0)
    }
}
