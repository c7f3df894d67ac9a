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
/// YUV 4:2:0 in two planes: Y, then interleaved Cb and Cr.
pub const NV12: u32 = fourcc(b'N', b'V', b'1', b'2');
/// YUV 4:2:0 in three planes: Y, Cb, Cr.
pub const YUV420: u32 = fourcc(b'Y', b'U', b'1', b'2');

/// The linear layout (`DRM_FORMAT_MOD_LINEAR`).
pub const MOD_LINEAR: u64 = 0;
/// No valid modifier (`DRM_FORMAT_MOD_INVALID`): ends modifier lists.
pub const MOD_INVALID: u64 = (1 << 56) - 1;
