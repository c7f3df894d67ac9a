// SPDX-License-Identifier: GPL-2.0

//! The composer: the planes of a CRTC blended into its frame at every vblank, off the timer's
//! interrupt, and the frame's CRC for userspace.
//!
//! The layer does the work ([`kms::compose`]); the driver keeps what it needs alive:
//!
//! * each plane's state maps its framebuffer in the plane's check ([`Mapped`]); a state that
//!   keeps the framebuffer of the state it was duplicated from shares that mapping;
//! * the CRTC's check gathers the planes it shows into a [`Scene`], in `zpos` order, with its
//!   gamma table, held by the CRTC's state; its flush makes that the scene the composer reads;
//! * the layer runs the CRTC's vblank work once per vblank ([`kms::CrtcImpl::vblank_work`]):
//!   while a reader has the CRC open or a writeback job waits, it composes the scene line by
//!   line, reports the CRC of the frame for every vblank since the last run (so a slow frame
//!   is counted as dropped), and writes the lines into the job's framebuffer.
//!
//! The composer works under the scene's lock and owns no reference to it: the last reference to
//! a scene, and with it to its mappings (whose drop takes reservation locks), is always a
//! state's, dropped with the commit after its tail.

use kernel::{
    drm::kms::{
        self,
        compose::{
            gamma::Gamma,
            write::{
                write_bytes_per_pixel,
                write_span, //
            },
            Composer,
            Layer,
            Pixels,
            Source, //
        },
        FbMap, Framebuffer, PlaneImpl, PlaneState, WritebackJob,
    },
    prelude::*,
    sync::Arc,
};

/// A plane state's mapping of its framebuffer, for the composer.
#[derive(Clone, Default)]
pub(crate) struct Mapped(Option<Arc<FbMap>>);

impl Mapped {
    /// Maps `fb`, unless it is mapped already; no framebuffer, no mapping.
    pub(crate) fn update(&mut self, fb: Option<&Framebuffer>) -> Result {
        let same = match (&self.0, fb) {
            (Some(map), Some(fb)) => core::ptr::eq(map.framebuffer(), fb),
            _ => false,
        };
        if !same {
            self.0 = match fb {
                Some(fb) => Some(Arc::new(fb.vmap()?, GFP_KERNEL)?),
                None => None,
            };
        }
        Ok(())
    }
}

/// A plane state with a mapping.
pub(crate) trait HasMapping {
    fn mapping(&self) -> &Mapped;
}

/// A plane of a scene: what it shows, and its pixels.
struct SceneLayer {
    layer: Layer,
    zpos: u32,
    pixels: Arc<FbMap>,
}

impl Source for SceneLayer {
    fn layer(&self) -> &Layer {
        &self.layer
    }

    fn pixels(&self) -> &dyn Pixels {
        &*self.pixels
    }
}

/// What a CRTC shows: its mode's size, its background and its visible planes, bottom to top,
/// and its gamma table.
pub(crate) struct Scene {
    width: u32,
    height: u32,
    background: u32,
    layers: KVec<SceneLayer>,
    gamma: Option<Gamma>,
}

impl Scene {
    /// An empty scene of a `width` x `height` mode with room for `planes` planes, its lines
    /// put through `gamma`.
    pub(crate) fn new(
        width: u32,
        height: u32,
        background: u32,
        planes: usize,
        gamma: Option<Gamma>,
    ) -> Result<Self> {
        Ok(Self {
            width,
            height,
            background,
            layers: KVec::with_capacity(planes, GFP_KERNEL)?,
            gamma,
        })
    }

    /// Adds the plane of `state`, if it is visible.
    pub(crate) fn add<T: PlaneImpl>(&mut self, state: &PlaneState<T>) -> Result
    where
        T::State: HasMapping,
    {
        let (Some(layer), Some(pixels)) = (Layer::from_plane(state), &state.mapping().0) else {
            return Ok(());
        };
        let zpos = state.normalized_zpos();
        self.layers.push(
            SceneLayer {
                layer,
                zpos,
                pixels: pixels.clone(),
            },
            GFP_KERNEL,
        )?;
        self.layers.sort_unstable_by_key(|l| l.zpos);
        Ok(())
    }

    /// The number of visible planes.
    pub(crate) fn len(&self) -> usize {
        self.layers.len()
    }

    /// Composes the frame with `work`'s buffers, writes it into `job`'s framebuffer if there
    /// is a job, and returns its CRC: the CRC-32 of its lines.
    pub(crate) fn compose(&self, work: &mut Work, job: Option<&WritebackJob>) -> Result<u32> {
        // Where the lines go: the framebuffer was checked against the mode of the commit that
        // queued it, which is this scene's; a frame of another size fails the job rather than
        // fill part of it.
        let out = job.map(|job| {
            let fb = job.framebuffer();
            (
                job,
                fb.format(),
                fb.pitch(0) as usize,
                fb.width() as usize,
                fb.height(),
            )
        });
        let bpp = match out {
            Some((_, _, _, w, h)) if (w, h) != (self.width as usize, self.height) => {
                return Err(EINVAL)
            }
            Some((_, fourcc, ..)) => write_bytes_per_pixel(fourcc).ok_or(EINVAL)?,
            None => 0,
        };
        let mut crc = 0;
        for y in 0..self.height {
            let line = work.composer.compose_line(
                y as i32,
                self.width as usize,
                self.background,
                &self.layers,
            )?;
            if let Some(gamma) = &self.gamma {
                gamma.apply(line);
            }
            crc = kms::crc32(crc, line);
            if let Some((job, fourcc, pitch, width, _)) = out {
                let bytes = work.bytes.get_mut(..width * bpp).ok_or(EINVAL)?;
                write_span(fourcc, line, bytes)?;
                job.map().write(0, y as usize * pitch, bytes)?;
            }
        }
        Ok(crc)
    }
}

/// The buffers of the vblank work: the composer's, and a line in a writeback format.
pub(crate) struct Work {
    composer: Composer,
    bytes: KVec<u8>,
}

impl Work {
    /// Buffers for frames up to `max_width` pixels wide.
    pub(crate) fn new(max_width: usize) -> Result<Self> {
        let mut bytes = KVec::new();
        // The widest writeback format has 8 bytes per pixel.
        bytes.resize(max_width * 8, 0, GFP_KERNEL)?;
        Ok(Self {
            composer: Composer::new(max_width)?,
            bytes,
        })
    }
}
