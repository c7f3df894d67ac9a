// SPDX-License-Identifier: GPL-2.0

//! The writeback connector: the CRTC's next composed frame written into a framebuffer of
//! userspace's, with its out-fence signalled when it is there.
//!
//! The layer checks the job (the framebuffer is the mode's size and one of
//! [`WRITE_FORMATS`](kernel::drm::kms::compose::write::WRITE_FORMATS)), maps its framebuffer and
//! queues it; [`queue`](kms::WritebackImpl::queue) hands it to the CRTC, whose vblank work
//! composes the frame into it and completes it ([`output`](crate::output)).

use crate::driver::Vrust;
use kernel::{
    drm::kms::{
        self,
        Writeback,
        WritebackJob, //
    },
    prelude::*,
};

/// The writeback connector's data: none.
pub(crate) struct VrustWriteback;

#[vtable]
impl kms::WritebackImpl for VrustWriteback {
    type Driver = Vrust;

    fn queue(wb: &Writeback<Self>, job: WritebackJob) {
        let dev = wb.device();
        // One CRTC per device: the job is for its next frame. A job that finds no CRTC is
        // dropped, which completes it with an error.
        if let Ok(crtc) = dev.display().and_then(|d| d.crtc.get(dev)) {
            crtc.queue_writeback(job);
        }
    }
}
