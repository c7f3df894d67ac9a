// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Colour management: a CRTC's gamma look-up table, as userspace sets it (`GAMMA_LUT`, or the
//! legacy gamma ioctl), read from its state.
//!
//! C header: [`include/drm/drm_color_mgmt.h`](srctree/include/drm/drm_color_mgmt.h)

use super::Blob;

/// One entry of a colour look-up table (`struct drm_color_lut`): 16 bits per channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LutEntry {
    /// Red.
    pub red: u16,
    /// Green.
    pub green: u16,
    /// Blue.
    pub blue: u16,
}

/// The bytes of a `struct drm_color_lut`.
const ENTRY_BYTES: usize = core::mem::size_of::<crate::bindings::drm_color_lut>();
const _: () = assert!(ENTRY_BYTES == 8);

/// A colour look-up table: the entries of a property blob of `struct drm_color_lut`s, read by
/// copies (the C core checked that the blob is a whole number of them).
#[derive(Clone, Copy)]
pub struct Lut<'a> {
    bytes: &'a [u8],
}

impl<'a> Lut<'a> {
    /// The table in `blob`.
    pub(crate) fn from_blob(blob: &'a Blob) -> Self {
        Self::from_bytes(blob.data())
    }

    /// The table in `bytes`: `struct drm_color_lut`s in the CPU's byte order. A partial entry
    /// at the end is not part of it.
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        let len = bytes.len() / ENTRY_BYTES * ENTRY_BYTES;
        Self {
            bytes: &bytes[..len],
        }
    }

    /// The number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes.len() / ENTRY_BYTES
    }

    /// Whether the table has no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Entry `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<LutEntry> {
        let e = self.bytes.get(i * ENTRY_BYTES..(i + 1) * ENTRY_BYTES)?;
        let channel = |k: usize| u16::from_ne_bytes([e[2 * k], e[2 * k + 1]]);
        Some(LutEntry {
            red: channel(0),
            green: channel(1),
            blue: channel(2),
        })
    }
}
