// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Composed pixels written out in a framebuffer's format, for writeback.
//!
//! A composed line is opaque `0xffRRGGBB`; each format takes it at its own depth, channels
//! rounded (`round(c * max / 255)`) and alpha opaque.

use crate::{
    drm::kms::format::*,
    prelude::*, //
};

/// The formats [`write_span`] writes.
pub const WRITE_FORMATS: [u32; 7] = [
    XRGB8888,
    ARGB8888,
    XBGR8888,
    ABGR8888,
    XRGB16161616,
    ARGB16161616,
    RGB565,
];

/// The bytes per pixel of `fourcc`, if [`write_span`] writes it.
pub fn write_bytes_per_pixel(fourcc: u32) -> Option<usize> {
    match fourcc {
        XRGB8888 | ARGB8888 | XBGR8888 | ABGR8888 => Some(4),
        XRGB16161616 | ARGB16161616 => Some(8),
        RGB565 => Some(2),
        _ => None,
    }
}

/// Writes the opaque pixels `line` into `out` in format `fourcc`.
///
/// Fails with `EINVAL` for a format not in [`WRITE_FORMATS`] and when `out` is not exactly the
/// size of the pixels in it.
pub fn write_span(fourcc: u32, line: &[u32], out: &mut [u8]) -> Result {
    let bpp = write_bytes_per_pixel(fourcc).ok_or(EINVAL)?;
    if out.len() != line.len().checked_mul(bpp).ok_or(EINVAL)? {
        return Err(EINVAL);
    }
    let chunks = out.chunks_exact_mut(bpp).zip(line);
    let rgb = |p: u32| ((p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff);
    match fourcc {
        XRGB8888 | ARGB8888 => {
            for (o, p) in chunks {
                o.copy_from_slice(&(p | 0xff00_0000).to_le_bytes());
            }
        }
        XBGR8888 | ABGR8888 => {
            for (o, p) in chunks {
                let (r, g, b) = rgb(*p);
                o.copy_from_slice(&(0xff00_0000 | (b << 16) | (g << 8) | r).to_le_bytes());
            }
        }
        XRGB16161616 | ARGB16161616 => {
            for (o, p) in chunks {
                let (r, g, b) = rgb(*p);
                let w = |c: u32| u64::from(c * 257);
                let v = (0xffffu64 << 48) | (w(r) << 32) | (w(g) << 16) | w(b);
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
        _ => {
            for (o, p) in chunks {
                let (r, g, b) = rgb(*p);
                let d = |c: u32, max: u32| (c * max + 127) / 255;
                let v = ((d(r, 31) << 11) | (d(g, 63) << 5) | d(b, 31)) as u16;
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    Ok(())
}
