// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A CRTC's gamma look-up table applied to composed lines, 8 bits per channel.

use crate::drm::kms::color::{
    Lut,
    LutEntry, //
};

/// A gamma table ready for 8-bit pixels: for each channel, the output of each input value.
///
/// An input value is placed along the table (`0` at the first entry, `255` at the last),
/// interpolated between the two entries around it, as vkms does in 16 bits, and rounded to 8
/// bits. A table of 256 entries is indexed by the value itself.
///
/// # Examples
///
/// ```
/// use kernel::drm::kms::{color::Lut, compose::gamma::Gamma};
///
/// // Two entries, black to white: the identity; as 8 bytes per entry, in the CPU's order.
/// let mut bytes = [0u8; 16];
/// for c in 0..3 {
///     bytes[8 + 2 * c..8 + 2 * c + 2].copy_from_slice(&0xffffu16.to_ne_bytes());
/// }
/// let gamma = Gamma::new(Lut::from_bytes(&bytes)).ok_or(EINVAL)?;
/// let mut line = [0x80_10_80_f0u32, 0xff00_00ff];
/// gamma.apply(&mut line);
/// assert_eq!(line, [0x80_10_80_f0, 0xff00_00ff]);
/// # Ok::<(), Error>(())
/// ```
pub struct Gamma {
    tables: [[u8; 256]; 3],
}

impl Gamma {
    /// The tables of `lut`; `None` for an empty one.
    pub fn new(lut: Lut<'_>) -> Option<Self> {
        let len = lut.len();
        if len == 0 {
            return None;
        }
        let mut tables = [[0u8; 256]; 3];
        let pick: [fn(LutEntry) -> u16; 3] = [|e| e.red, |e| e.green, |e| e.blue];
        for (table, pick) in tables.iter_mut().zip(pick) {
            for (c, out) in table.iter_mut().enumerate() {
                // The position of `c` along the table, `c * (len - 1) / 255` entries, split so
                // that nothing overflows on 32 bits, where a table (of up to 2^28 entries, the
                // C core does not bound it) times 255 would: with `len - 1 = 255 q + r`, it is
                // `c q + c r / 255` entries and `c r % 255` 255ths.
                let (q, r) = ((len - 1) / 255, (len - 1) % 255);
                let (i, frac) = (c * q + c * r / 255, (c * r % 255) as i64);
                let entry = |i: usize| i64::from(lut.get(i.min(len - 1)).map_or(0, pick));
                let (a, b) = (entry(i), entry(i + 1));
                // 255 times the 16-bit value; its 8-bit value is that over 65535, rounded.
                let v = a * 255 + (b - a) * frac;
                *out = ((v + 32767) / 65535) as u8;
            }
        }
        Some(Self { tables })
    }

    /// Applies the table to the colour channels of `0xAARRGGBB` pixels; alpha is unchanged.
    pub fn apply(&self, line: &mut [u32]) {
        let [r, g, b] = &self.tables;
        for px in line {
            let c = |shift: u32| ((*px >> shift) & 0xff) as usize;
            *px = (*px & 0xff00_0000)
                | (u32::from(r[c(16)]) << 16)
                | (u32::from(g[c(8)]) << 8)
                | u32::from(b[c(0)]);
        }
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_kms_gamma)]
mod tests {
    use super::*;
    use crate::prelude::*;

    /// The bytes of a table of `n` entries, entry `i` being `f(i)` on all three channels but
    /// for red, which is `255 - f(i)` when `invert_red`.
    fn table(n: usize, f: impl Fn(usize) -> u16, invert_red: bool) -> Result<KVec<u8>> {
        let mut bytes = KVec::new();
        for i in 0..n {
            let v = f(i);
            let red = if invert_red { 0xffff - v } else { v };
            for c in [red, v, v, 0] {
                bytes.extend_from_slice(&c.to_ne_bytes(), GFP_KERNEL)?;
            }
        }
        Ok(bytes)
    }

    /// The identity of 256 entries (`i * 257`) keeps every value; so does a table of two.
    #[test]
    fn identity() -> Result {
        for n in [256, 2] {
            let bytes = table(n, |i| (i * 0xffff / (n - 1)) as u16, false)?;
            let gamma = Gamma::new(Lut::from_bytes(&bytes)).ok_or(EINVAL)?;
            for c in 0..=255u32 {
                let mut px = [0x4000_0000 | (c << 16) | ((255 - c) << 8) | c];
                gamma.apply(&mut px);
                assert_eq!(px[0], 0x4000_0000 | (c << 16) | ((255 - c) << 8) | c);
            }
        }
        Ok(())
    }

    /// IGT's masked table (`i * 257 & 0xf800`) keeps the top five bits of each channel, and
    /// channels have their own tables.
    #[test]
    fn masked_and_per_channel() -> Result {
        let bytes = table(256, |i| (i * 257) as u16 & 0xf800, true)?;
        let gamma = Gamma::new(Lut::from_bytes(&bytes)).ok_or(EINVAL)?;
        let mut px = [0xff12_3456, 0x00ff_ffff];
        gamma.apply(&mut px);
        let to8 = |v: u32| (v * 255 + 32767) / 65535;
        let masked = |c: u32| to8((c * 257) & 0xf800);
        // Red through the inverted table.
        let red = |c: u32| to8(0xffff - ((c * 257) & 0xf800));
        assert_eq!(
            px[0],
            0xff00_0000 | red(0x12) << 16 | masked(0x34) << 8 | masked(0x56)
        );
        assert_eq!(px[1], red(0xff) << 16 | masked(0xff) << 8 | masked(0xff));
        // The top five bits, rounded to 8: 0x3000 is 48, 0xf800 is 247.
        assert_eq!((masked(0x34), masked(0xff)), (48, 247));
        Ok(())
    }

    /// Between entries the value is interpolated: a three-entry table of 0, 0x8000, 0x8000
    /// rises to half then stays; one entry maps everything to it; no entries is no table.
    #[test]
    fn interpolation() -> Result {
        let bytes = table(3, |i| if i == 0 { 0 } else { 0x8000 }, false)?;
        let gamma = Gamma::new(Lut::from_bytes(&bytes)).ok_or(EINVAL)?;
        let mut px = [0, 0x7f, 0x80, 0xff];
        gamma.apply(&mut px);
        // 0x7f is at 254/255 of the first step: 0x8000 * 254 / 255 in 16 bits.
        let half = |v: u32| (v * 255 + 32767) / 65535;
        assert_eq!(
            px,
            [0, half(0x8000 * 254 / 255), half(0x8000), half(0x8000)]
        );
        let one = table(1, |_| 0x1234, false)?;
        let gamma = Gamma::new(Lut::from_bytes(&one)).ok_or(EINVAL)?;
        let mut px = [0xffff_ffff];
        gamma.apply(&mut px);
        let v = half(0x1234);
        assert_eq!(px[0], 0xff00_0000 | v << 16 | v << 8 | v);
        assert!(Gamma::new(Lut::from_bytes(&[0u8; 7])).is_none());
        Ok(())
    }
}
