// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Pixel formats (fourcc codes, `DRM_FORMAT_*`) and format modifiers.
//!
//! C header: [`include/uapi/drm/drm_fourcc.h`](srctree/include/uapi/drm/drm_fourcc.h)

/// The fourcc code of `a`, `b`, `c`, `d` (`fourcc_code()`).
pub const fn fourcc(a: u8, b: u8, c: u8, d: u8) -> u32 {
    (a as u32) | ((b as u32) << 8) | ((c as u32) << 16) | ((d as u32) << 24)
}

/// 32 bpp RGB, 8 bits per channel, the top byte unused.
pub const XRGB8888: u32 = fourcc(b'X', b'R', b'2', b'4');
/// 32 bpp ARGB, 8 bits per channel.
pub const ARGB8888: u32 = fourcc(b'A', b'R', b'2', b'4');
/// 32 bpp BGR, 8 bits per channel, the top byte unused.
pub const XBGR8888: u32 = fourcc(b'X', b'B', b'2', b'4');
/// 32 bpp ABGR, 8 bits per channel.
pub const ABGR8888: u32 = fourcc(b'A', b'B', b'2', b'4');
/// 16 bpp RGB 5:6:5.
pub const RGB565: u32 = fourcc(b'R', b'G', b'1', b'6');
/// 32 bpp RGBA, 8 bits per channel.
pub const RGBA8888: u32 = fourcc(b'R', b'A', b'2', b'4');
/// 32 bpp BGRA, 8 bits per channel.
pub const BGRA8888: u32 = fourcc(b'B', b'A', b'2', b'4');
/// 24 bpp RGB, 8 bits per channel.
pub const RGB888: u32 = fourcc(b'R', b'G', b'2', b'4');
/// 24 bpp BGR, 8 bits per channel.
pub const BGR888: u32 = fourcc(b'B', b'G', b'2', b'4');
/// 16 bpp BGR 5:6:5.
pub const BGR565: u32 = fourcc(b'B', b'G', b'1', b'6');
/// 64 bpp RGB, 16 bits per channel, the top 16 bits unused.
pub const XRGB16161616: u32 = fourcc(b'X', b'R', b'4', b'8');
/// 64 bpp ARGB, 16 bits per channel.
pub const ARGB16161616: u32 = fourcc(b'A', b'R', b'4', b'8');
/// 64 bpp BGR, 16 bits per channel, the top 16 bits unused.
pub const XBGR16161616: u32 = fourcc(b'X', b'B', b'4', b'8');
/// 64 bpp ABGR, 16 bits per channel.
pub const ABGR16161616: u32 = fourcc(b'A', b'B', b'4', b'8');
/// 1 bpp greyscale, the first pixel in the top bit.
pub const R1: u32 = fourcc(b'R', b'1', b' ', b' ');
/// 2 bpp greyscale.
pub const R2: u32 = fourcc(b'R', b'2', b' ', b' ');
/// 4 bpp greyscale.
pub const R4: u32 = fourcc(b'R', b'4', b' ', b' ');
/// 8 bpp greyscale.
pub const R8: u32 = fourcc(b'R', b'8', b' ', b' ');
/// YUV 4:2:0 in two planes: Y, then interleaved Cb and Cr.
pub const NV12: u32 = fourcc(b'N', b'V', b'1', b'2');
/// YUV 4:2:0 in three planes: Y, Cb, Cr.
pub const YUV420: u32 = fourcc(b'Y', b'U', b'1', b'2');

/// YUV 4:2:0 in two planes: Y, then interleaved Cr and Cb.
pub const NV21: u32 = fourcc(b'N', b'V', b'2', b'1');
/// YUV 4:2:2 in two planes, Cb first.
pub const NV16: u32 = fourcc(b'N', b'V', b'1', b'6');
/// YUV 4:2:2 in two planes, Cr first.
pub const NV61: u32 = fourcc(b'N', b'V', b'6', b'1');
/// YUV 4:4:4 in two planes, Cb first.
pub const NV24: u32 = fourcc(b'N', b'V', b'2', b'4');
/// YUV 4:4:4 in two planes, Cr first.
pub const NV42: u32 = fourcc(b'N', b'V', b'4', b'2');
/// YUV 4:2:0 in three planes: Y, Cr, Cb.
pub const YVU420: u32 = fourcc(b'Y', b'V', b'1', b'2');
/// YUV 4:2:2 in three planes: Y, Cb, Cr.
pub const YUV422: u32 = fourcc(b'Y', b'U', b'1', b'6');
/// YUV 4:2:2 in three planes: Y, Cr, Cb.
pub const YVU422: u32 = fourcc(b'Y', b'V', b'1', b'6');
/// YUV 4:4:4 in three planes: Y, Cb, Cr.
pub const YUV444: u32 = fourcc(b'Y', b'U', b'2', b'4');
/// YUV 4:4:4 in three planes: Y, Cr, Cb.
pub const YVU444: u32 = fourcc(b'Y', b'V', b'2', b'4');
/// YUV 4:2:0 in two planes of 16-bit samples, 10 significant bits at the top.
pub const P010: u32 = fourcc(b'P', b'0', b'1', b'0');
/// As [`P010`], 12 significant bits.
pub const P012: u32 = fourcc(b'P', b'0', b'1', b'2');
/// As [`P010`], 16 significant bits.
pub const P016: u32 = fourcc(b'P', b'0', b'1', b'6');

/// The linear layout (`DRM_FORMAT_MOD_LINEAR`).
pub const MOD_LINEAR: u64 = 0;
/// No valid modifier (`DRM_FORMAT_MOD_INVALID`): ends modifier lists.
pub const MOD_INVALID: u64 = (1 << 56) - 1;
