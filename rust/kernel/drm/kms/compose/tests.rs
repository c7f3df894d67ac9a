// SPDX-License-Identifier: GPL-2.0 OR MIT

//! KUnit tests of the composer: every format against reference values, rotation and reflection
//! against the C core's `drm_rect_rotate()`, blending, clipping and stacking.

use super::{
    pixel::*,
    *, //
};
use crate::{
    bindings,
    drm::kms::format::*, //
};

/// Planes of bytes in memory.
struct Mem(KVec<KVec<u8>>);

impl Mem {
    fn new(planes: &[&[u8]]) -> Result<Self> {
        let mut v = KVec::new();
        for p in planes {
            let mut bytes = KVec::new();
            bytes.extend_from_slice(p, GFP_KERNEL)?;
            v.push(bytes, GFP_KERNEL)?;
        }
        Ok(Self(v))
    }
}

impl Pixels for Mem {
    fn read(&self, plane: usize, offset: usize, buf: &mut [u8]) -> Result {
        let p = self.0.get(plane).ok_or(EINVAL)?;
        let end = offset.checked_add(buf.len()).ok_or(EINVAL)?;
        buf.copy_from_slice(p.get(offset..end).ok_or(EINVAL)?);
        Ok(())
    }
}

/// A layer and its memory.
struct Src(Layer, Mem);

impl Source for Src {
    fn layer(&self) -> &Layer {
        &self.0
    }
    fn pixels(&self) -> &dyn Pixels {
        &self.1
    }
}

fn fmt(fourcc: u32) -> &'static Format {
    Format::find(fourcc).expect("a format of the table")
}

/// Reads `n` pixels of row `y` of an image of `fourcc`.
fn read(fourcc: u32, pitches: [u32; 3], planes: &[&[u8]], y: u32, n: usize) -> Result<KVec<u32>> {
    read_with(
        fourcc,
        pitches,
        planes,
        y,
        n,
        YuvToRgb::new(Encoding::Bt601, Range::Limited, 8),
    )
}

fn read_with(
    fourcc: u32,
    pitches: [u32; 3],
    planes: &[&[u8]],
    y: u32,
    n: usize,
    yuv: YuvToRgb,
) -> Result<KVec<u32>> {
    let mem = Mem::new(planes)?;
    let image = Image {
        pixels: &mem,
        format: fmt(fourcc),
        pitches,
        yuv,
    };
    let mut out = KVec::new();
    out.resize(n, 0, GFP_KERNEL)?;
    let mut scratch = KVec::new();
    scratch.resize(scratch_len(n), 0, GFP_KERNEL)?;
    image.read_span(0, y, Dir::Right, &mut out, &mut scratch)?;
    Ok(out)
}

/// `round(c * 255 / max)`, the reference for channels of other depths.
fn round8(c: u32, max: u32) -> u32 {
    (2 * c * 255 + max) / (2 * max)
}

/// The YUV reference values: `(Y, Cb, Cr, RGB)` for each encoding and range, from the
/// standards' equations in double precision, rounded.
#[allow(clippy::type_complexity)]
const YUV_REFERENCE: &[(Encoding, Range, &[(u32, u32, u32, u32)])] = &[
    (
        Encoding::Bt601,
        Range::Limited,
        &[
            (16, 128, 128, 0x000000),
            (235, 128, 128, 0xffffff),
            (0, 128, 128, 0x000000),
            (255, 128, 128, 0xffffff),
            (81, 90, 240, 0xfe0000),
            (145, 54, 34, 0x00ff01),
            (41, 240, 110, 0x0000ff),
            (126, 128, 128, 0x808080),
            (200, 60, 190, 0xffbe4d),
        ],
    ),
    (
        Encoding::Bt601,
        Range::Full,
        &[
            (16, 128, 128, 0x101010),
            (235, 128, 128, 0xebebeb),
            (0, 128, 128, 0x000000),
            (255, 128, 128, 0xffffff),
            (81, 90, 240, 0xee0e0e),
            (145, 54, 34, 0x0dee0e),
            (41, 240, 110, 0x100fef),
            (126, 128, 128, 0x7e7e7e),
            (200, 60, 190, 0xffb350),
        ],
    ),
    (
        Encoding::Bt709,
        Range::Limited,
        &[
            (16, 128, 128, 0x000000),
            (235, 128, 128, 0xffffff),
            (0, 128, 128, 0x000000),
            (255, 128, 128, 0xffffff),
            (81, 90, 240, 0xff1800),
            (145, 54, 34, 0x00d800),
            (41, 240, 110, 0x000fff),
            (126, 128, 128, 0x808080),
            (200, 60, 190, 0xffc447),
        ],
    ),
    (
        Encoding::Bt709,
        Range::Full,
        &[
            (16, 128, 128, 0x101010),
            (235, 128, 128, 0xebebeb),
            (0, 128, 128, 0x000000),
            (255, 128, 128, 0xffffff),
            (81, 90, 240, 0xff240a),
            (145, 54, 34, 0x00cb08),
            (41, 240, 110, 0x0d1cf9),
            (126, 128, 128, 0x7e7e7e),
            (200, 60, 190, 0xffb84a),
        ],
    ),
    (
        Encoding::Bt2020,
        Range::Limited,
        &[
            (16, 128, 128, 0x000000),
            (235, 128, 128, 0xffffff),
            (0, 128, 128, 0x000000),
            (255, 128, 128, 0xffffff),
            (81, 90, 240, 0xff0a00),
            (145, 54, 34, 0x00e100),
            (41, 240, 110, 0x0014ff),
            (126, 128, 128, 0x808080),
            (200, 60, 190, 0xffbb45),
        ],
    ),
    (
        Encoding::Bt2020,
        Range::Full,
        &[
            (16, 128, 128, 0x101010),
            (235, 128, 128, 0xebebeb),
            (0, 128, 128, 0x000000),
            (255, 128, 128, 0xffffff),
            (81, 90, 240, 0xf6170a),
            (145, 54, 34, 0x06d306),
            (41, 240, 110, 0x0e21fc),
            (126, 128, 128, 0x7e7e7e),
            (200, 60, 190, 0xffb048),
        ],
    ),
];

/// A 1x1 layer of `fourcc` at `(x, y)` of size `w` x `h`, not rotated.
fn layer(fourcc: u32, pitch: u32, w: i32, h: i32, x: i32, y: i32) -> Result<Layer> {
    Layer::new(
        fmt(fourcc),
        [pitch, 0, 0],
        Rect::from_size(0, 0, w, h),
        Rect::from_size(x, y, w, h),
        rotation::ROTATE_0,
    )
}

/// The bytes of XRGB/ARGB8888 pixels.
fn words(px: &[u32]) -> Result<KVec<u8>> {
    let mut v = KVec::new();
    for p in px {
        v.extend_from_slice(&p.to_le_bytes(), GFP_KERNEL)?;
    }
    Ok(v)
}

/// The reference blend of one channel: `s + d * (255 - a) / 255`, rounded and saturated.
fn over_ref(s: u32, d: u32, a: u32) -> u32 {
    (s + (d * (255 - a) + 127) / 255).min(255)
}

#[macros::kunit_tests(rust_drm_kms_compose)]
mod kunit {
    use super::*;

    /// The 8-bit RGB formats: each channel where its fourcc says.
    #[test]
    fn rgb_8bit() -> Result {
        // One pixel with A=0x80, R=0x11, G=0x22, B=0x33 in each format's byte order.
        let cases: [(u32, &[u8], u32); 8] = [
            (XRGB8888, &[0x33, 0x22, 0x11, 0x80], 0xff112233),
            (ARGB8888, &[0x33, 0x22, 0x11, 0x80], 0x80112233),
            (XBGR8888, &[0x11, 0x22, 0x33, 0x80], 0xff112233),
            (ABGR8888, &[0x11, 0x22, 0x33, 0x80], 0x80112233),
            (RGBA8888, &[0x80, 0x33, 0x22, 0x11], 0x80112233),
            (BGRA8888, &[0x80, 0x11, 0x22, 0x33], 0x80112233),
            (RGB888, &[0x33, 0x22, 0x11], 0xff112233),
            (BGR888, &[0x11, 0x22, 0x33], 0xff112233),
        ];
        for (fourcc, bytes, want) in cases {
            assert_eq!(read(fourcc, [4, 0, 0], &[bytes], 0, 1)?[0], want);
        }
        Ok(())
    }

    /// RGB565 and BGR565: every value of the 5- and 6-bit channels, against `round(c*255/max)`.
    #[test]
    fn rgb565_every_value() -> Result {
        for c in 0..64u32 {
            let (c5, c6) = (c & 31, c);
            let v = ((c5 << 11) | (c6 << 5) | c5) as u16;
            let want =
                0xff00_0000 | (round8(c5, 31) << 16) | (round8(c6, 63) << 8) | round8(c5, 31);
            assert_eq!(read(RGB565, [2, 0, 0], &[&v.to_le_bytes()], 0, 1)?[0], want);
            assert_eq!(read(BGR565, [2, 0, 0], &[&v.to_le_bytes()], 0, 1)?[0], want);
        }
        // Distinct channels: R=31, G=0, B=1.
        let v: u16 = (31 << 11) | 1;
        assert_eq!(
            read(RGB565, [2, 0, 0], &[&v.to_le_bytes()], 0, 1)?[0],
            0xffff0008
        );
        assert_eq!(
            read(BGR565, [2, 0, 0], &[&v.to_le_bytes()], 0, 1)?[0],
            0xff0800ff
        );
        Ok(())
    }

    /// The 16-bit-per-channel formats, rounded to 8 bits.
    #[test]
    fn rgb_16bit() -> Result {
        // A=0x8000, R=0xffff, G=0x1234, B=0x0000 (ARGB order), and the BGR order.
        let argb: u64 = (0x8000 << 48) | (0xffff << 32) | (0x1234 << 16);
        let abgr: u64 = (0x8000 << 48) | (0x1234 << 16) | 0xffff;
        let (a, g) = (round8(0x8000, 0xffff), round8(0x1234, 0xffff));
        let want = |alpha: u32| (alpha << 24) | (0xff << 16) | (g << 8);
        assert_eq!(
            read(ARGB16161616, [8, 0, 0], &[&argb.to_le_bytes()], 0, 1)?[0],
            want(a)
        );
        assert_eq!(
            read(XRGB16161616, [8, 0, 0], &[&argb.to_le_bytes()], 0, 1)?[0],
            want(255)
        );
        assert_eq!(
            read(ABGR16161616, [8, 0, 0], &[&abgr.to_le_bytes()], 0, 1)?[0],
            want(a)
        );
        assert_eq!(
            read(XBGR16161616, [8, 0, 0], &[&abgr.to_le_bytes()], 0, 1)?[0],
            want(255)
        );
        // 8-bit values stored as 16-bit (`c * 257`) come back exactly.
        for c in [0u64, 1, 0x7e, 0x7f, 0x80, 0xfe, 0xff] {
            let v = (c * 257) << 32;
            let got = read(XRGB16161616, [8, 0, 0], &[&v.to_le_bytes()], 0, 1)?[0];
            assert_eq!(got, 0xff00_0000 | ((c as u32) << 16));
        }
        Ok(())
    }

    /// Greyscale: the first pixel of a byte in its top bits, levels spread over 0 to 255.
    #[test]
    fn grey() -> Result {
        let grey = |v: u32| 0xff00_0000 | (v << 16) | (v << 8) | v;
        let r1 = read(R1, [1, 0, 0], &[&[0b1010_0001]], 0, 8)?;
        for (i, want) in [255, 0, 255, 0, 0, 0, 0, 255].iter().enumerate() {
            assert_eq!(r1[i], grey(*want));
        }
        let r2 = read(R2, [1, 0, 0], &[&[0b11_10_01_00]], 0, 4)?;
        for (i, want) in [255, 170, 85, 0].iter().enumerate() {
            assert_eq!(r2[i], grey(*want));
        }
        let r4 = read(R4, [1, 0, 0], &[&[0xf1]], 0, 2)?;
        assert_eq!((r4[0], r4[1]), (grey(255), grey(17)));
        assert_eq!(read(R8, [1, 0, 0], &[&[0x42]], 0, 1)?[0], grey(0x42));
        Ok(())
    }

    /// YUV to RGB: every encoding and range against the reference values.
    #[test]
    fn yuv_reference() -> Result {
        for (encoding, range, points) in YUV_REFERENCE {
            let c = YuvToRgb::new(*encoding, *range, 8);
            for (y, cb, cr, rgb) in points.iter() {
                assert_eq!(c.convert(*y, *cb, *cr), 0xff00_0000 | rgb);
            }
        }
        // 10 bits (P010), BT.709 limited: black, white and red.
        let c = YuvToRgb::new(Encoding::Bt709, Range::Limited, 10);
        assert_eq!(c.convert(64, 512, 512), 0xff000000);
        assert_eq!(c.convert(940, 512, 512), 0xffffffff);
        assert_eq!(c.convert(324, 360, 960), 0xffff1800);
        Ok(())
    }

    /// Every YUV layout finds each pixel's chroma: a 4x2 image whose chroma differs per
    /// position, read through every format, matches the conversion of the right samples.
    #[test]
    fn yuv_layouts() -> Result {
        let luma: [u8; 8] = [10, 60, 110, 160, 35, 85, 135, 185];
        // Chroma at full resolution, distinct everywhere: Cb = 40 + 20i, Cr = 200 - 20i.
        let cb = |x: usize, y: usize| 40 + 20 * (y * 4 + x) as u32;
        let cr = |x: usize, y: usize| 200 - 20 * (y * 4 + x) as u32;
        for f in FORMATS.iter() {
            let Layout::Yuv {
                planes,
                hsub,
                vsub,
                swap,
                bytes,
                depth,
            } = f.layout
            else {
                continue;
            };
            let (hsub, vsub, sz) = (hsub as usize, vsub as usize, bytes as usize);
            let (cw, ch) = (4 / hsub, 2 / vsub);
            let sample = |v: u32, out: &mut KVec<u8>| -> Result {
                if sz == 1 {
                    out.push(v as u8, GFP_KERNEL)?;
                } else {
                    // The 8-bit value at the top of the significant bits, at the top of 16.
                    let wide = (v << (depth - 8)) << (16 - depth);
                    out.extend_from_slice(&(wide as u16).to_le_bytes(), GFP_KERNEL)?;
                }
                Ok(())
            };
            let (mut y_plane, mut p1, mut p2) = (KVec::new(), KVec::new(), KVec::new());
            for l in luma {
                sample(l.into(), &mut y_plane)?;
            }
            for j in 0..ch {
                for i in 0..cw {
                    let (u, v) = (cb(i * hsub, j * vsub), cr(i * hsub, j * vsub));
                    let (first, second) = if swap { (v, u) } else { (u, v) };
                    if planes == 2 {
                        sample(first, &mut p1)?;
                        sample(second, &mut p1)?;
                    } else {
                        sample(first, &mut p1)?;
                        sample(second, &mut p2)?;
                    }
                }
            }
            let cpitch = (cw * sz * if planes == 2 { 2 } else { 1 }) as u32;
            let pitches = [(4 * sz) as u32, cpitch, cpitch];
            let conv = YuvToRgb::new(Encoding::Bt601, Range::Full, depth);
            let planes_mem: [&[u8]; 3] = [&y_plane, &p1, &p2];
            for row in 0..2 {
                let got = read_with(f.fourcc, pitches, &planes_mem, row as u32, 4, conv)?;
                for x in 0..4 {
                    let (cx, cy) = (x / hsub * hsub, row / vsub * vsub);
                    // The samples as stored: 8-bit values, or shifted to the top of `depth`.
                    let s = |v: u32| if sz == 1 { v } else { v << (depth - 8) };
                    let want =
                        conv.convert(s(luma[row * 4 + x].into()), s(cb(cx, cy)), s(cr(cx, cy)));
                    assert_eq!(got[x], want);
                }
            }
        }
        Ok(())
    }

    /// Each source pixel shows where the C core's `drm_rect_rotate()` puts it, for every
    /// rotation with every reflection.
    #[test]
    fn rotation_matches_drm_rect_rotate() -> Result {
        let (w, h) = (3, 2);
        for rot in [
            rotation::ROTATE_0,
            rotation::ROTATE_90,
            rotation::ROTATE_180,
            rotation::ROTATE_270,
        ] {
            for reflect in [
                0,
                rotation::REFLECT_X,
                rotation::REFLECT_Y,
                rotation::REFLECT_MASK,
            ] {
                let r = rot | reflect;
                let swapped = rot & (rotation::ROTATE_90 | rotation::ROTATE_270) != 0;
                let (dw, dh) = if swapped { (h, w) } else { (w, h) };
                let l = Layer::new(
                    fmt(XRGB8888),
                    [12, 0, 0],
                    Rect::from_size(5, 7, w, h),
                    Rect::from_size(100, 200, dw, dh),
                    r,
                )?;
                for sy in 0..h {
                    for sx in 0..w {
                        let mut px = bindings::drm_rect {
                            x1: sx,
                            y1: sy,
                            x2: sx + 1,
                            y2: sy + 1,
                        };
                        // SAFETY: `px` is a valid rectangle; the function only computes.
                        unsafe { bindings::drm_rect_rotate(&mut px, w, h, r) };
                        let got = l.source_of(100 + px.x1, 200 + px.y1);
                        assert_eq!(got, Some(((5 + sx) as u32, (7 + sy) as u32)));
                    }
                }
            }
        }
        Ok(())
    }

    /// A rotated layer is read along the right direction: a 2x3 image turned 90° shows its
    /// columns as lines.
    #[test]
    fn rotated_lines() -> Result {
        // Pixels 0..6, two per row.
        let px: [u32; 6] = [0, 1, 2, 3, 4, 5];
        let mut c = Composer::new(8)?;
        for (r, want) in [
            (rotation::ROTATE_90, [[1, 3, 5], [0, 2, 4]]),
            (rotation::ROTATE_270, [[4, 2, 0], [5, 3, 1]]),
            (
                rotation::ROTATE_90 | rotation::REFLECT_X,
                [[0, 2, 4], [1, 3, 5]],
            ),
        ] {
            let l = Layer::new(
                fmt(XRGB8888),
                [8, 0, 0],
                Rect::from_size(0, 0, 2, 3),
                Rect::from_size(0, 0, 3, 2),
                r,
            )?;
            let src = [Src(l, Mem::new(&[&words(&px)?])?)];
            for (y, row) in want.iter().enumerate() {
                let line = c.compose_line(y as i32, 3, 0, &src)?;
                for (x, v) in row.iter().enumerate() {
                    assert_eq!(line[x], 0xff00_0000 | v);
                }
            }
        }
        Ok(())
    }

    /// Blending: every mode and plane alpha against the per-channel reference.
    #[test]
    fn blending() -> Result {
        let bg = 0xff20_6090u32;
        let mut c = Composer::new(4)?;
        for blend in [Blend::Premultiplied, Blend::Coverage, Blend::None] {
            for alpha in [0u16, 0x7efc, 0x8000, 0xffff] {
                for pixel in [0x8040_2010u32, 0xff80_4020, 0x0000_0000, 0x40ff_ffff] {
                    let mut l = layer(ARGB8888, 4, 1, 1, 0, 0)?;
                    l.alpha = alpha;
                    l.blend = blend;
                    let src = [Src(l, Mem::new(&[&pixel.to_le_bytes()])?)];
                    let got = c.compose_line(0, 1, bg, &src)?[0];
                    // The reference: colour and alpha as the mode says, times the plane alpha,
                    // over the background, one channel at a time.
                    let pa = (u32::from(alpha) * 255 + 32767) / 65535;
                    let mul = |x: u32, a: u32| (x * a + 127) / 255;
                    let pixel_a = pixel >> 24;
                    let (mut sa, ch) = match blend {
                        Blend::None => (255, [pixel >> 16 & 255, pixel >> 8 & 255, pixel & 255]),
                        Blend::Premultiplied => {
                            (pixel_a, [pixel >> 16 & 255, pixel >> 8 & 255, pixel & 255])
                        }
                        Blend::Coverage => (
                            pixel_a,
                            [
                                mul(pixel >> 16 & 255, pixel_a),
                                mul(pixel >> 8 & 255, pixel_a),
                                mul(pixel & 255, pixel_a),
                            ],
                        ),
                    };
                    let ch = ch.map(|v| mul(v, pa));
                    sa = mul(sa, pa);
                    let d = [bg >> 16 & 255, bg >> 8 & 255, bg & 255];
                    let want = 0xff00_0000
                        | (over_ref(ch[0], d[0], sa) << 16)
                        | (over_ref(ch[1], d[1], sa) << 8)
                        | over_ref(ch[2], d[2], sa);
                    assert_eq!(got, want);
                }
            }
        }
        // Half-transparent white, premultiplied, over black: 0x80 grey, as cairo draws it.
        let l = layer(ARGB8888, 4, 1, 1, 0, 0)?;
        let src = [Src(l, Mem::new(&[&0x8080_8080u32.to_le_bytes()])?)];
        assert_eq!(c.compose_line(0, 1, 0, &src)?[0], 0xff80_8080);
        Ok(())
    }

    /// Layers are clipped to the frame, stack in order, and leave the background where they
    /// do not reach; an opaque format's alpha byte is ignored.
    #[test]
    fn clipping_and_stacking() -> Result {
        let mut c = Composer::new(8)?;
        // A 4x1 layer half off the left edge, and a 2x1 one over its second visible pixel
        // and past the right edge of a 4-pixel frame.
        let low = Src(
            layer(XRGB8888, 16, 4, 1, -2, 0)?,
            Mem::new(&[&words(&[
                0x0011_1111,
                0x0022_2222,
                0x0033_3333,
                0x0044_4444,
            ])?])?,
        );
        let high = Src(
            layer(XRGB8888, 8, 2, 1, 3, 0)?,
            Mem::new(&[&words(&[0x00aa_aaaa, 0x00bb_bbbb])?])?,
        );
        let line = c.compose_line(0, 4, 0x0012_3456, &[low, high])?;
        assert_eq!(line, &[0xff33_3333, 0xff44_4444, 0xff12_3456, 0xffaa_aaaa]);
        // A line the layers do not cover is the background.
        let low = Src(layer(XRGB8888, 4, 1, 1, 0, 0)?, Mem::new(&[&[1, 2, 3, 4]])?);
        assert_eq!(
            c.compose_line(1, 2, 0x0012_3456, &[low])?,
            &[0xff12_3456; 2]
        );
        Ok(())
    }

    /// Bad input is an error, not a panic: a frame wider than the composer, a layer reaching
    /// out of its memory, a destination that does not fit the source.
    #[test]
    fn errors() -> Result {
        let mut c = Composer::new(4)?;
        let none: [Src; 0] = [];
        assert_eq!(c.compose_line(0, 5, 0, &none).err(), Some(EINVAL));
        let short = Src(layer(XRGB8888, 8, 2, 1, 0, 0)?, Mem::new(&[&[0; 4]])?);
        assert_eq!(c.compose_line(0, 4, 0, &[short]).err(), Some(EINVAL));
        let bad = Layer::new(
            fmt(XRGB8888),
            [8, 0, 0],
            Rect::from_size(0, 0, 2, 1),
            Rect::from_size(0, 0, 2, 1),
            rotation::ROTATE_90,
        );
        assert_eq!(bad.err(), Some(EINVAL));
        Ok(())
    }

    /// Writeback: each format gets the composed colour at its depth, rounded, opaque; what
    /// it writes reads back the same through the format's reader where the depth allows.
    #[test]
    fn write_formats() -> Result {
        let px = [0xff12_80ffu32, 0xff00_0001];
        for fourcc in super::super::write::WRITE_FORMATS {
            let bpp = super::super::write::write_bytes_per_pixel(fourcc).ok_or(EINVAL)?;
            let mut out = KVec::new();
            out.resize(2 * bpp, 0, GFP_KERNEL)?;
            super::super::write::write_span(fourcc, &px, &mut out)?;
            let back = read(fourcc, [(2 * bpp) as u32, 0, 0], &[&out], 0, 2)?;
            if fourcc == RGB565 {
                // 0x12 -> 2/31 -> 0x10, 0x80 -> 32/63 -> 0x82, 0xff; 0x01 -> 0.
                assert_eq!(back[0], 0xff10_82ff);
                assert_eq!(back[1], 0xff00_0000);
            } else {
                assert_eq!(back[0], px[0]);
                assert_eq!(back[1], px[1]);
            }
        }
        // The 16-bit formats: `c * 257`, alpha 0xffff.
        let mut out = [0u8; 8];
        super::super::write::write_span(XRGB16161616, &px[..1], &mut out)?;
        assert_eq!(u64::from_le_bytes(out), 0xffff_1212_8080_ffff);
        // A wrong size or format is refused.
        let mut short = [0u8; 7];
        assert_eq!(
            super::super::write::write_span(XRGB16161616, &px[..1], &mut short).err(),
            Some(EINVAL)
        );
        assert_eq!(
            super::super::write::write_span(NV12, &px[..1], &mut out).err(),
            Some(EINVAL)
        );
        Ok(())
    }

    /// The background colour: 16-bit channels rounded to 8, alpha ignored.
    #[test]
    fn background_color() -> Result {
        let argb = (0x1234u64 << 48) | (0xffff << 32) | (0x8080 << 16) | 0x0101;
        assert_eq!(argb64_to_rgb(argb), 0xffff_8001);
        Ok(())
    }

    /// The CRC is the C core's CRC-32 (`crc32_le()` of "123456789" is 0xcbf43926 with the
    /// usual pre- and post-inversion).
    #[test]
    fn crc32_check_value() -> Result {
        let data = *b"123456789\0\0\0";
        let words: [u32; 3] = [
            u32::from_le_bytes([data[0], data[1], data[2], data[3]]),
            u32::from_le_bytes([data[4], data[5], data[6], data[7]]),
            u32::from_le_bytes([data[8], 0, 0, 0]),
        ];
        // Nine bytes: the last word's other three bytes are not part of the check string, so
        // the CRC of the first two words continued over the ninth byte alone is compared.
        let two = crate::drm::kms::crc32(!0, &words[..2]);
        // SAFETY: One valid byte.
        let nine = unsafe { bindings::crc32_le(two, data[8..].as_ptr().cast(), 1) };
        assert_eq!(!nine, 0xcbf4_3926);
        Ok(())
    }
}
