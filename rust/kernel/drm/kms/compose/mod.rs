// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Software composition: the planes of a CRTC blended into its frame on the CPU, a line at a
//! time, for virtual and software-rendered displays.
//!
//! This is a library, as the C core's format helpers are: a driver that composes in software
//! describes each visible plane as a [`Layer`] (from its checked state, [`Layer::from_plane`]),
//! keeps the layers of a CRTC in `zpos` order with access to their pixels ([`Source`]), and asks
//! a [`Composer`] for each line of the frame. What it does with the lines (a CRC, a writeback
//! buffer, a picture) is its own.
//!
//! # What a line is made of
//!
//! The line starts as the CRTC's background colour, opaque. Each layer that covers it, bottom
//! to top, is read from its framebuffer along the line (its rotation and reflection decide the
//! direction, [`pixel::Dir`]), converted to 8-bit ARGB ([`pixel`]) and blended over it:
//!
//! * with pixel blend mode `"None"`, the pixels are opaque;
//! * `"Pre-multiplied"` pixels are `src + dst * (1 - alpha)`;
//! * `"Coverage"` pixels are multiplied by their alpha first;
//!
//! and the plane alpha multiplies the pixel (colour and alpha) before the blend. The arithmetic
//! is the 8-bit one of pixman and cairo (`x * a / 255`, rounded), so a frame composed here
//! matches one that userspace draws with them.
//!
//! Layers are not scaled: a layer's destination is its source rectangle, rotated.
//!
//! # Context
//!
//! Composing allocates nothing and takes no lock: the [`Composer`]'s buffers are made up front,
//! and [`Pixels`] is read by copies. It can run on a path that must not allocate (one that
//! signals a writeback fence), for as long as the sources are kept alive around it.

use crate::{
    drm::kms::{
        rotation,
        PlaneImpl,
        PlaneState,
        Rect, //
    },
    prelude::*,
};

pub mod gamma;
pub mod pixel;
pub mod write;

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod tests;

use pixel::{
    Dir,
    Encoding,
    Format,
    Image,
    Range,
    YuvToRgb, //
};

/// The memory of a framebuffer, by plane: what a composer reads pixels from.
///
/// [`FbMap`](crate::drm::kms::FbMap) is the one of a framebuffer mapped into the kernel.
pub trait Pixels: Send + Sync {
    /// Copies `buf.len()` bytes at `offset` of plane `plane` (from the plane's first byte) into
    /// `buf`. Fails with `EINVAL` when the range is not inside the plane's memory.
    fn read(&self, plane: usize, offset: usize, buf: &mut [u8]) -> Result;
}

/// How a layer's pixels are blended: the plane's `pixel blend mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Blend {
    /// `"Pre-multiplied"`, the property's default.
    #[default]
    Premultiplied,
    /// `"Coverage"`.
    Coverage,
    /// `"None"`: the pixel alpha is ignored.
    None,
}

impl Blend {
    /// The blend mode of a plane state's `pixel_blend_mode` (`DRM_MODE_BLEND_*`).
    pub fn from_mode(mode: u16) -> Self {
        match u32::from(mode) {
            bindings::DRM_MODE_BLEND_COVERAGE => Self::Coverage,
            bindings::DRM_MODE_BLEND_PIXEL_NONE => Self::None,
            _ => Self::Premultiplied,
        }
    }
}

/// A plane as the composer sees it: where its pixels come from and go to, and how they blend.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    /// The pixel format.
    pub format: &'static Format,
    /// Bytes per line of each plane of the framebuffer.
    pub pitches: [u32; 3],
    /// The source rectangle in the framebuffer, in whole pixels.
    pub src: Rect,
    /// The destination on the CRTC: the size of `src`, rotated.
    pub dst: Rect,
    /// Rotation and reflection ([`rotation`] bits).
    pub rotation: u32,
    /// The plane alpha, `0` to `0xffff`.
    pub alpha: u16,
    /// The blend mode.
    pub blend: Blend,
    /// The YUV conversion, for a YUV format.
    pub yuv: YuvToRgb,
}

impl Layer {
    /// A layer showing `src` of a framebuffer at `dst`, opaque and not rotated, with BT.601
    /// limited-range YUV.
    ///
    /// Fails with `EINVAL` when a rectangle is empty, `src` starts outside the framebuffer's
    /// coordinates, or `dst` is not the size of `src` rotated.
    pub fn new(
        format: &'static Format,
        pitches: [u32; 3],
        src: Rect,
        dst: Rect,
        rotation: u32,
    ) -> Result<Self> {
        let (w, h) = (src.width(), src.height());
        let swapped = rotation & (rotation::ROTATE_90 | rotation::ROTATE_270) != 0;
        let (dw, dh) = if swapped { (h, w) } else { (w, h) };
        if w <= 0 || h <= 0 || src.x1 < 0 || src.y1 < 0 || dst.width() != dw || dst.height() != dh {
            return Err(EINVAL);
        }
        let depth = match format.layout {
            pixel::Layout::Yuv { depth, .. } => depth,
            _ => 8,
        };
        Ok(Self {
            format,
            pitches,
            src,
            dst,
            rotation,
            alpha: u16::MAX,
            blend: Blend::Premultiplied,
            yuv: YuvToRgb::new(Encoding::Bt601, Range::Limited, depth),
        })
    }

    /// The layer of a checked, visible plane state, or `None` when the plane shows nothing, its
    /// format is not one the composer reads ([`pixel::FORMATS`]), or it is scaled.
    pub fn from_plane<T: PlaneImpl>(state: &PlaneState<T>) -> Option<Self> {
        if !state.visible() {
            return None;
        }
        let fb = state.framebuffer()?;
        let format = Format::find(fb.format())?;
        let s = state.clipped_src();
        // Whole pixels: the C check allows no scaling, so the source is integral.
        let src = Rect {
            x1: s.x1 >> 16,
            y1: s.y1 >> 16,
            x2: s.x2 >> 16,
            y2: s.y2 >> 16,
        };
        let pitches = [fb.pitch(0), fb.pitch(1), fb.pitch(2)];
        let mut layer = Self::new(format, pitches, src, state.dst(), state.rotation()).ok()?;
        layer.alpha = state.alpha();
        layer.blend = Blend::from_mode(state.blend_mode());
        if let pixel::Layout::Yuv { depth, .. } = format.layout {
            layer.yuv = YuvToRgb::new(state.color_encoding(), state.color_range(), depth);
        }
        Some(layer)
    }

    /// The framebuffer pixel shown at `(x, y)` of the CRTC, if the layer covers it.
    pub fn source_of(&self, x: i32, y: i32) -> Option<(u32, u32)> {
        if x < self.dst.x1 || x >= self.dst.x2 || y < self.dst.y1 || y >= self.dst.y2 {
            return None;
        }
        let (sx, sy) = self.map(x - self.dst.x1, y - self.dst.y1);
        Some(((self.src.x1 + sx) as u32, (self.src.y1 + sy) as u32))
    }

    /// The source pixel, relative to `src`, of `(dx, dy)` relative to `dst`: the inverse of
    /// `drm_rect_rotate()`, reflection after rotation.
    fn map(&self, dx: i32, dy: i32) -> (i32, i32) {
        let (w, h) = (self.src.width(), self.src.height());
        let (ux, uy) = match self.rotation & rotation::ROTATE_MASK {
            rotation::ROTATE_90 => (w - 1 - dy, dx),
            rotation::ROTATE_180 => (w - 1 - dx, h - 1 - dy),
            rotation::ROTATE_270 => (dy, h - 1 - dx),
            _ => (dx, dy),
        };
        let sx = if self.rotation & rotation::REFLECT_X != 0 {
            w - 1 - ux
        } else {
            ux
        };
        let sy = if self.rotation & rotation::REFLECT_Y != 0 {
            h - 1 - uy
        } else {
            uy
        };
        (sx, sy)
    }

    /// The direction in the framebuffer of a step to the right on the CRTC.
    fn dir(&self) -> Dir {
        let (x0, y0) = self.map(0, 0);
        let (x1, y1) = self.map(1, 0);
        match (x1 - x0, y1 - y0) {
            (1, _) => Dir::Right,
            (-1, _) => Dir::Left,
            (_, 1) => Dir::Down,
            _ => Dir::Up,
        }
    }

    /// The plane alpha in 8 bits.
    fn alpha8(&self) -> u32 {
        (u32::from(self.alpha) * 255 + 32767) / 65535
    }
}

/// A layer with its pixels: what the driver hands the [`Composer`] for each plane.
pub trait Source {
    /// The layer.
    fn layer(&self) -> &Layer;
    /// Its pixels.
    fn pixels(&self) -> &dyn Pixels;
}

/// Each byte of `x` times `a / 255`, rounded (pixman's `UN8x4_MUL_UN8`).
#[inline(always)]
pub fn mul_un8x4(x: u32, a: u32) -> u32 {
    let mut lo = (x & 0x00ff_00ff) * a + 0x0080_0080;
    lo = ((lo + ((lo >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff;
    let mut hi = ((x >> 8) & 0x00ff_00ff) * a + 0x0080_0080;
    hi = (hi + ((hi >> 8) & 0x00ff_00ff)) & 0xff00_ff00;
    lo | hi
}

/// The bytes of `x` and `y` added, saturating at 255.
#[inline(always)]
fn add_sat_un8x4(x: u32, y: u32) -> u32 {
    let lo = (x & 0x00ff_00ff) + (y & 0x00ff_00ff);
    let hi = ((x >> 8) & 0x00ff_00ff) + ((y >> 8) & 0x00ff_00ff);
    // A carry into bit 8 of a half saturates that byte.
    let lo = (lo | (0x0100_0100 - ((lo >> 8) & 0x0001_0001))) & 0x00ff_00ff;
    let hi = (hi | (0x0100_0100 - ((hi >> 8) & 0x0001_0001))) & 0x00ff_00ff;
    lo | (hi << 8)
}

/// `src` (premultiplied) over `dst`.
#[inline(always)]
fn over(src: u32, dst: u32) -> u32 {
    let a = src >> 24;
    if a == 255 {
        src
    } else if src == 0 {
        dst
    } else {
        add_sat_un8x4(src, mul_un8x4(dst, 255 - a))
    }
}

/// Blends the pixels `src` of a layer over `dst`.
fn blend_span(dst: &mut [u32], src: &[u32], layer: &Layer) {
    let alpha = layer.alpha8();
    let pixel_alpha = layer.format.has_alpha() && layer.blend != Blend::None;
    match (pixel_alpha, alpha) {
        // Plane alpha 0 makes every pixel 0: nothing to blend.
        (_, 0) => {}
        (false, 255) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s | 0xff00_0000;
            }
        }
        (false, a) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = over(mul_un8x4(*s | 0xff00_0000, a), *d);
            }
        }
        (true, a) => {
            let coverage = layer.blend == Blend::Coverage;
            for (d, s) in dst.iter_mut().zip(src) {
                let mut p = *s;
                if coverage {
                    p = mul_un8x4(p | 0xff00_0000, p >> 24);
                }
                if a != 255 {
                    p = mul_un8x4(p, a);
                }
                *d = over(p, *d);
            }
        }
    }
}

/// The opaque 8-bit colour `0xffRRGGBB` of a 16-bit-per-channel `DRM_ARGB64` value, as the
/// CRTC's `BACKGROUND_COLOR` holds (its alpha is ignored: the background is opaque).
pub fn argb64_to_rgb(argb: u64) -> u32 {
    let c = |shift: u32| (((argb >> shift) & 0xffff) as u32 * 255 + 32767) / 65535;
    0xff00_0000 | (c(32) << 16) | (c(16) << 8) | c(0)
}

/// The buffers of a composition: a line of the frame, a line of a layer, and the bytes read.
///
/// # Examples
///
/// A 4x1 ARGB8888 layer of half-transparent white from `x = 2` on, over opaque black:
///
/// ```
/// use kernel::drm::kms::{
///     compose::{pixel::Format, Composer, Layer, Pixels, Source},
///     format, rotation, Rect,
/// };
///
/// /// Every pixel the same.
/// struct Solid(u32);
///
/// impl Pixels for Solid {
///     fn read(&self, _plane: usize, _offset: usize, buf: &mut [u8]) -> Result {
///         for px in buf.chunks_mut(4) {
///             px.copy_from_slice(&self.0.to_le_bytes());
///         }
///         Ok(())
///     }
/// }
///
/// struct Plane(Layer, Solid);
///
/// impl Source for Plane {
///     fn layer(&self) -> &Layer {
///         &self.0
///     }
///     fn pixels(&self) -> &dyn Pixels {
///         &self.1
///     }
/// }
///
/// let argb = Format::find(format::ARGB8888).ok_or(EINVAL)?;
/// let src = Rect::from_size(0, 0, 4, 1);
/// let layer = Layer::new(argb, [16, 0, 0], src, Rect::from_size(2, 0, 4, 1), rotation::ROTATE_0)?;
/// let mut composer = Composer::new(8)?;
/// let line = composer.compose_line(0, 4, 0, &[Plane(layer, Solid(0x8080_8080))])?;
/// // Clipped to the frame; the premultiplied white blends to 0x80 grey, as cairo draws it.
/// assert_eq!(line, &[0xff00_0000, 0xff00_0000, 0xff80_8080, 0xff80_8080]);
/// # Ok::<(), Error>(())
/// ```
pub struct Composer {
    line: KVec<u32>,
    span: KVec<u32>,
    scratch: KVec<u8>,
}

impl Composer {
    /// A composer for frames up to `max_width` pixels wide.
    pub fn new(max_width: usize) -> Result<Self> {
        let mut line = KVec::new();
        line.resize(max_width, 0, GFP_KERNEL)?;
        let mut span = KVec::new();
        span.resize(max_width, 0, GFP_KERNEL)?;
        let mut scratch = KVec::new();
        scratch.resize(pixel::scratch_len(max_width), 0, GFP_KERNEL)?;
        Ok(Self {
            line,
            span,
            scratch,
        })
    }

    /// The widest frame the composer makes.
    pub fn max_width(&self) -> usize {
        self.line.len()
    }

    /// Composes line `y` of a frame `width` pixels wide: `background` (`0xffRRGGBB`), then
    /// `layers`, bottom to top.
    ///
    /// Fails with `EINVAL` when `width` is wider than the composer, and with the error of a
    /// read that fails (a layer that reaches out of its memory).
    pub fn compose_line<S: Source>(
        &mut self,
        y: i32,
        width: usize,
        background: u32,
        layers: &[S],
    ) -> Result<&mut [u32]> {
        let line = self.line.get_mut(..width).ok_or(EINVAL)?;
        line.fill(background | 0xff00_0000);
        for source in layers {
            let layer = source.layer();
            if y < layer.dst.y1 || y >= layer.dst.y2 {
                continue;
            }
            let x1 = layer.dst.x1.max(0);
            let x2 = layer.dst.x2.min(width as i32);
            if x1 >= x2 {
                continue;
            }
            let (x1, x2) = (x1 as usize, x2 as usize);
            let (sx, sy) = layer.source_of(x1 as i32, y).ok_or(EINVAL)?;
            let image = Image {
                pixels: source.pixels(),
                format: layer.format,
                pitches: layer.pitches,
                yuv: layer.yuv,
            };
            let span = &mut self.span[..x2 - x1];
            image.read_span(sx, sy, layer.dir(), span, &mut self.scratch)?;
            blend_span(&mut line[x1..x2], span, layer);
        }
        Ok(line)
    }
}
