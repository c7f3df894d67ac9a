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

/// The writeback connector's data: the index of its CRTC.
pub(crate) struct VrustWriteback {
    pub(crate) crtc: usize,
}

#[vtable]
impl kms::WritebackImpl for VrustWriteback {
    type Driver = Vrust;

    fn queue(wb: &Writeback<Self>, job: WritebackJob) {
        let dev = wb.device();
        // The job is for the next frame of the connector's CRTC. A job that finds no CRTC is
        // dropped, which completes it with an error.
        let crtc = dev
            .display()
            .and_then(|d| d.crtcs.get(wb.crtc).ok_or(ENOENT)?.get(dev));
        if let Ok(crtc) = crtc {
            crtc.queue_writeback(job);
        }
    }
}
