// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Pixel formats as the composer reads them: each format's layout, and the conversion of a span
//! of pixels to 8-bit ARGB.
//!
//! Every format becomes `0xAARRGGBB` (`u32`), the alpha as stored (formats without alpha are
//! opaque), channels of other depths rounded to 8 bits (`round(c * 255 / max)`), greyscale
//! replicated to the three channels, and YUV converted with the plane's colour encoding and
//! range ([`YuvToRgb`]).

use super::Pixels;
use crate::{
    drm::kms::format::*,
    prelude::*, //
};

/// How the pixels of a format are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Packed RGB in one plane, `bytes` per pixel, read as a little-endian integer; each channel
    /// is `(shift, bits)` in it, and a format without alpha has `a.1 == 0`.
    Rgb {
        /// Bytes per pixel.
        bytes: u8,
        /// Red: shift and width.
        r: (u8, u8),
        /// Green: shift and width.
        g: (u8, u8),
        /// Blue: shift and width.
        b: (u8, u8),
        /// Alpha: shift and width, width 0 for none.
        a: (u8, u8),
    },
    /// Greyscale in one plane, `bits` per pixel (1, 2, 4 or 8), the first pixel of a byte in
    /// its top bits.
    Grey {
        /// Bits per pixel.
        bits: u8,
    },
    /// YUV: a luma plane and either one plane of interleaved chroma (`planes == 2`) or one
    /// plane each (`planes == 3`), subsampled by `hsub` and `vsub`.
    Yuv {
        /// 2 (semi-planar) or 3 (planar).
        planes: u8,
        /// Horizontal chroma subsampling.
        hsub: u8,
        /// Vertical chroma subsampling.
        vsub: u8,
        /// Cr before Cb (NV21, YVU420, ...).
        swap: bool,
        /// Bytes per sample (1, or 2 for the 16-bit containers of P010/P012/P016).
        bytes: u8,
        /// Significant bits per sample, at the top of its container.
        depth: u8,
    },
}

/// A pixel format the composer reads: its fourcc code and layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// The fourcc code ([`format`](crate::drm::kms::format)).
    pub fourcc: u32,
    /// The layout.
    pub layout: Layout,
}

const fn rgb(fourcc: u32, bytes: u8, r: (u8, u8), g: (u8, u8), b: (u8, u8), a: (u8, u8)) -> Format {
    Format {
        fourcc,
        layout: Layout::Rgb { bytes, r, g, b, a },
    }
}

const fn yuv(
    fourcc: u32,
    planes: u8,
    hsub: u8,
    vsub: u8,
    swap: bool,
    bytes: u8,
    depth: u8,
) -> Format {
    Format {
        fourcc,
        layout: Layout::Yuv {
            planes,
            hsub,
            vsub,
            swap,
            bytes,
            depth,
        },
    }
}

const NO_ALPHA: (u8, u8) = (0, 0);

/// Every format the composer reads.
pub const FORMATS: &[Format] = &[
    rgb(XRGB8888, 4, (16, 8), (8, 8), (0, 8), NO_ALPHA),
    rgb(ARGB8888, 4, (16, 8), (8, 8), (0, 8), (24, 8)),
    rgb(XBGR8888, 4, (0, 8), (8, 8), (16, 8), NO_ALPHA),
    rgb(ABGR8888, 4, (0, 8), (8, 8), (16, 8), (24, 8)),
    rgb(RGBA8888, 4, (24, 8), (16, 8), (8, 8), (0, 8)),
    rgb(BGRA8888, 4, (8, 8), (16, 8), (24, 8), (0, 8)),
    rgb(RGB888, 3, (16, 8), (8, 8), (0, 8), NO_ALPHA),
    rgb(BGR888, 3, (0, 8), (8, 8), (16, 8), NO_ALPHA),
    rgb(RGB565, 2, (11, 5), (5, 6), (0, 5), NO_ALPHA),
    rgb(BGR565, 2, (0, 5), (5, 6), (11, 5), NO_ALPHA),
    rgb(XRGB16161616, 8, (32, 16), (16, 16), (0, 16), NO_ALPHA),
    rgb(ARGB16161616, 8, (32, 16), (16, 16), (0, 16), (48, 16)),
    rgb(XBGR16161616, 8, (0, 16), (16, 16), (32, 16), NO_ALPHA),
    rgb(ABGR16161616, 8, (0, 16), (16, 16), (32, 16), (48, 16)),
    Format {
        fourcc: R1,
        layout: Layout::Grey { bits: 1 },
    },
    Format {
        fourcc: R2,
        layout: Layout::Grey { bits: 2 },
    },
    Format {
        fourcc: R4,
        layout: Layout::Grey { bits: 4 },
    },
    Format {
        fourcc: R8,
        layout: Layout::Grey { bits: 8 },
    },
    yuv(NV12, 2, 2, 2, false, 1, 8),
    yuv(NV21, 2, 2, 2, true, 1, 8),
    yuv(NV16, 2, 2, 1, false, 1, 8),
    yuv(NV61, 2, 2, 1, true, 1, 8),
    yuv(NV24, 2, 1, 1, false, 1, 8),
    yuv(NV42, 2, 1, 1, true, 1, 8),
    yuv(YUV420, 3, 2, 2, false, 1, 8),
    yuv(YVU420, 3, 2, 2, true, 1, 8),
    yuv(YUV422, 3, 2, 1, false, 1, 8),
    yuv(YVU422, 3, 2, 1, true, 1, 8),
    yuv(YUV444, 3, 1, 1, false, 1, 8),
    yuv(YVU444, 3, 1, 1, true, 1, 8),
    yuv(P010, 2, 2, 2, false, 2, 10),
    yuv(P012, 2, 2, 2, false, 2, 12),
    yuv(P016, 2, 2, 2, false, 2, 16),
];

/// The fourcc codes of [`FORMATS`], for a plane's list of formats.
pub const FOURCCS: [u32; FORMATS.len()] = {
    let mut codes = [0; FORMATS.len()];
    let mut i = 0;
    while i < codes.len() {
        codes[i] = FORMATS[i].fourcc;
        i += 1;
    }
    codes
};

impl Format {
    /// The format of fourcc code `fourcc`, if the composer reads it.
    pub fn find(fourcc: u32) -> Option<&'static Format> {
        FORMATS.iter().find(|f| f.fourcc == fourcc)
    }

    /// Whether pixels carry an alpha value.
    pub fn has_alpha(&self) -> bool {
        matches!(self.layout, Layout::Rgb { a: (_, bits), .. } if bits != 0)
    }

    /// Whether the format is YUV.
    pub fn is_yuv(&self) -> bool {
        matches!(self.layout, Layout::Yuv { .. })
    }
}

/// A channel of `bits` bits rounded to 8 bits.
#[inline(always)]
fn to8(c: u32, bits: u8) -> u32 {
    match bits {
        8 => c,
        // The common depths with constant divisors, which the compiler turns into multiplies.
        5 => (c * 255 + 15) / 31,
        6 => (c * 255 + 31) / 63,
        16 => (c * 255 + 32767) / 65535,
        _ => {
            let max = (1u32 << bits) - 1;
            (c * 255 + max / 2) / max
        }
    }
}

#[inline(always)]
fn field(v: u64, (shift, bits): (u8, u8)) -> u32 {
    ((v >> shift) & ((1u64 << bits) - 1)) as u32
}

/// The YUV to RGB conversion of a plane: its colour encoding and range, for a sample depth.
///
/// `R = Y' + 2(1 - Kr) Cr'`, `B = Y' + 2(1 - Kb) Cb'`, `G = (Y' - Kr R - Kb B) / Kg`, with `Y'`
/// and `C'` normalised for the range (limited: luma 16 to 235, chroma 16 to 240 at 8 bits, scaled
/// for deeper samples), in 16-bit fixed point, rounded and clamped to 8 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvToRgb {
    y_off: i32,
    c_off: i32,
    y: i32,
    cr_r: i32,
    cb_g: i32,
    cr_g: i32,
    cb_b: i32,
}

/// A YUV colour encoding: the `COLOR_ENCODING` property of a plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    /// ITU-R BT.601 (the property's default).
    #[default]
    Bt601,
    /// ITU-R BT.709.
    Bt709,
    /// ITU-R BT.2020 (non-constant luminance).
    Bt2020,
}

/// A YUV range: the `COLOR_RANGE` property of a plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Range {
    /// Limited ("studio") range (the property's default).
    #[default]
    Limited,
    /// Full range.
    Full,
}

const SHIFT: u32 = 16;

impl YuvToRgb {
    /// The conversion for `encoding` and `range`, of samples of `depth` bits.
    pub fn new(encoding: Encoding, range: Range, depth: u8) -> Self {
        // Kr and Kb in units of 1/10000: exact for the three standards.
        let (kr, kb): (i64, i64) = match encoding {
            Encoding::Bt601 => (2990, 1140),
            Encoding::Bt709 => (2126, 722),
            Encoding::Bt2020 => (2627, 593),
        };
        let kg = 10000 - kr - kb;
        let depth = u32::from(depth.clamp(8, 16));
        let scale = 1i64 << (depth - 8);
        let (y_off, y_span, c_span) = match range {
            Range::Limited => (16 * scale, 219 * scale, 224 * scale),
            Range::Full => (0, (1i64 << depth) - 1, (1i64 << depth) - 1),
        };
        let one = 255i64 << SHIFT;
        // Rounded quotients of positive values.
        let div = |n: i64, d: i64| (n + d / 2) / d;
        Self {
            y_off: y_off as i32,
            c_off: (1i32 << (depth - 1)),
            y: div(one, y_span) as i32,
            cr_r: div(one * 2 * (10000 - kr), 10000 * c_span) as i32,
            cb_g: div(one * 2 * kb * (10000 - kb), 10000 * kg * c_span) as i32,
            cr_g: div(one * 2 * kr * (10000 - kr), 10000 * kg * c_span) as i32,
            cb_b: div(one * 2 * (10000 - kb), 10000 * c_span) as i32,
        }
    }

    /// The opaque `0xffRRGGBB` of the samples `y`, `cb`, `cr`.
    #[inline(always)]
    pub fn convert(&self, y: u32, cb: u32, cr: u32) -> u32 {
        let y = (y as i32 - self.y_off) * self.y + (1 << (SHIFT - 1));
        let cb = cb as i32 - self.c_off;
        let cr = cr as i32 - self.c_off;
        let clamp = |v: i32| (v >> SHIFT).clamp(0, 255) as u32;
        let r = clamp(y + self.cr_r * cr);
        let g = clamp(y - self.cb_g * cb - self.cr_g * cr);
        let b = clamp(y + self.cb_b * cb);
        0xff00_0000 | (r << 16) | (g << 8) | b
    }
}

/// The direction of a span in the framebuffer, from its first pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Along the row, left to right.
    Right,
    /// Along the row, right to left.
    Left,
    /// Down the column.
    Down,
    /// Up the column.
    Up,
}

/// An image to read spans of pixels from: a format, its plane pitches and the pixels.
pub struct Image<'a> {
    /// The pixels.
    pub pixels: &'a dyn Pixels,
    /// The format.
    pub format: &'static Format,
    /// Bytes per line, per plane.
    pub pitches: [u32; 3],
    /// The YUV conversion (ignored for RGB).
    pub yuv: YuvToRgb,
}

/// The scratch bytes [`Image::read_span`] needs for spans of up to `width` pixels.
pub const fn scratch_len(width: usize) -> usize {
    // The widest layout: 8 bytes per pixel; YUV needs less (luma, then chroma with a sample
    // more at each end).
    width * 8 + 64
}

impl Image<'_> {
    /// Reads `out.len()` pixels from `(x, y)` on in direction `dir` into `out`, as 8-bit ARGB.
    ///
    /// The caller keeps the span inside the framebuffer; a span that reaches out of the planes'
    /// memory fails with `EINVAL` ([`Pixels::read`]). `scratch` holds at least
    /// [`scratch_len`]`(out.len())` bytes.
    pub fn read_span(
        &self,
        x: u32,
        y: u32,
        dir: Dir,
        out: &mut [u32],
        scratch: &mut [u8],
    ) -> Result {
        let n = out.len() as u32;
        if n == 0 {
            return Ok(());
        }
        match dir {
            Dir::Right => self.read_row(x, y, out, scratch),
            Dir::Left => {
                let x0 = x.checked_sub(n - 1).ok_or(EINVAL)?;
                self.read_row(x0, y, out, scratch)?;
                out.reverse();
                Ok(())
            }
            Dir::Down | Dir::Up => {
                for (i, px) in out.iter_mut().enumerate() {
                    let i = i as u32;
                    let y = if dir == Dir::Down {
                        y + i
                    } else {
                        y.checked_sub(i).ok_or(EINVAL)?
                    };
                    self.read_row(x, y, core::slice::from_mut(px), scratch)?;
                }
                Ok(())
            }
        }
    }

    /// Reads pixels `x..x + out.len()` of row `y`.
    fn read_row(&self, x: u32, y: u32, out: &mut [u32], scratch: &mut [u8]) -> Result {
        let n = out.len();
        let row = |plane: usize, y: u32| y as usize * self.pitches[plane] as usize;
        match self.format.layout {
            Layout::Rgb { bytes, r, g, b, a } => {
                let bytes = usize::from(bytes);
                let buf = scratch.get_mut(..n * bytes).ok_or(EINVAL)?;
                self.pixels.read(0, row(0, y) + x as usize * bytes, buf)?;
                match self.format.fourcc {
                    // The common cases, in whole words.
                    XRGB8888 => {
                        for (px, s) in out.iter_mut().zip(buf.chunks_exact(4)) {
                            *px = 0xff00_0000 | u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        }
                    }
                    ARGB8888 => {
                        for (px, s) in out.iter_mut().zip(buf.chunks_exact(4)) {
                            *px = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        }
                    }
                    _ => {
                        for (px, s) in out.iter_mut().zip(buf.chunks_exact(bytes)) {
                            let mut le = [0u8; 8];
                            le[..bytes].copy_from_slice(s);
                            let v = u64::from_le_bytes(le);
                            let alpha = if a.1 == 0 { 255 } else { to8(field(v, a), a.1) };
                            *px = (alpha << 24)
                                | (to8(field(v, r), r.1) << 16)
                                | (to8(field(v, g), g.1) << 8)
                                | to8(field(v, b), b.1);
                        }
                    }
                }
            }
            Layout::Grey { bits } => {
                let bits = u32::from(bits);
                let first = (x * bits / 8) as usize;
                let last = ((x + n as u32) * bits).div_ceil(8) as usize;
                let buf = scratch.get_mut(..last - first).ok_or(EINVAL)?;
                self.pixels.read(0, row(0, y) + first, buf)?;
                let mask = (1u32 << bits) - 1;
                let per_byte = 8 / bits;
                for (i, px) in out.iter_mut().enumerate() {
                    let xi = x + i as u32;
                    let byte = buf[(xi * bits / 8) as usize - first];
                    let shift = 8 - bits * (xi % per_byte + 1);
                    let v = to8((u32::from(byte) >> shift) & mask, bits as u8);
                    *px = 0xff00_0000 | (v << 16) | (v << 8) | v;
                }
            }
            Layout::Yuv {
                planes,
                hsub,
                vsub,
                swap,
                bytes,
                depth,
            } => {
                let (hsub, vsub, sz) = (u32::from(hsub), u32::from(vsub), usize::from(bytes));
                let sample = |s: &[u8], i: usize| -> u32 {
                    if sz == 1 {
                        u32::from(s[i])
                    } else {
                        u32::from(u16::from_le_bytes([s[2 * i], s[2 * i + 1]])) >> (16 - depth)
                    }
                };
                let (luma, rest) = scratch.split_at_mut_checked(n * sz).ok_or(EINVAL)?;
                self.pixels.read(0, row(0, y) + x as usize * sz, luma)?;
                let (c0, c1) = (x / hsub, (x + n as u32 - 1) / hsub + 1);
                let cn = (c1 - c0) as usize;
                let cy = y / vsub;
                // Semi-planar: Cb Cr pairs in plane 1; planar: Cb in plane 1, Cr in plane 2
                // (the other way round when swapped).
                let (cb, cr, step) = if planes == 2 {
                    let chroma = rest.get_mut(..cn * 2 * sz).ok_or(EINVAL)?;
                    self.pixels
                        .read(1, row(1, cy) + c0 as usize * 2 * sz, chroma)?;
                    let (cb, cr): (&[u8], &[u8]) = if swap {
                        (&chroma[sz..], chroma)
                    } else {
                        (chroma, &chroma[sz..])
                    };
                    (cb, cr, 2)
                } else {
                    let (p1, p2) = rest.split_at_mut_checked(cn * sz).ok_or(EINVAL)?;
                    let p2 = p2.get_mut(..cn * sz).ok_or(EINVAL)?;
                    self.pixels.read(1, row(1, cy) + c0 as usize * sz, p1)?;
                    self.pixels.read(2, row(2, cy) + c0 as usize * sz, p2)?;
                    let (cb, cr): (&[u8], &[u8]) = if swap { (p2, p1) } else { (p1, p2) };
                    (cb, cr, 1)
                };
                for (i, px) in out.iter_mut().enumerate() {
                    let c = ((x + i as u32) / hsub - c0) as usize * step;
                    *px = self
                        .yuv
                        .convert(sample(luma, i), sample(cb, c), sample(cr, c));
                }
            }
        }
        Ok(())
    }
}
