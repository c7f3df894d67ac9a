// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Encoder routing: which encoder drives each connector of a commit.
//!
//! A connector may be reachable through several encoders, and an encoder may serve several
//! connectors (see [`Setup::attach_encoder`](super::Setup::attach_encoder)), but in one
//! configuration every encoder drives at most one connector. Picking an encoder per
//! connector is a bipartite matching; [`route`] finds one whenever one exists, where taking
//! the first free encoder connector by connector would refuse valid configurations.

/// The most encoders (and connectors) a device may have: the width of the C core's
/// encoder masks.
pub(super) const MAX: usize = 32;

/// A connector that needs an encoder.
#[derive(Clone, Copy, Default)]
pub(super) struct Want {
    /// The encoders, by index, that may drive it: its possible encoders that can drive its
    /// new CRTC.
    pub(super) allowed: u32,
    /// The encoder that drives it now, kept when it can be.
    pub(super) current: Option<u8>,
}

/// The encoders in `mask`, lowest index first.
fn bits(mut mask: u32) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let bit = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(bit)
    })
}

/// The encoders `want` may take, its current one first, then by index.
fn order(want: &Want) -> impl Iterator<Item = usize> {
    let first = want
        .current
        .map_or(0, |e| 1u32.checked_shl(e.into()).unwrap_or(0))
        & want.allowed;
    bits(first).chain(bits(want.allowed & !first))
}

/// Gives connector `root` an encoder outside `taken`, moving as few connectors as it can: a
/// breadth-first search for the shortest augmenting path (a free encoder reached through the
/// fewest connectors that move on to another of theirs). `owner` is by encoder, `held` by
/// connector; both are updated. Returns `false`, changing nothing, when no path exists.
fn augment(
    wants: &[Want],
    root: usize,
    taken: u32,
    owner: &mut [Option<u8>; MAX],
    held: &mut [Option<u8>; MAX],
) -> bool {
    // Connectors to look from, in the order they were reached; the connector that reached
    // each encoder.
    let mut queue = [0u8; MAX];
    let (mut head, mut tail) = (0, 1);
    let mut via = [0u8; MAX];
    let mut seen = taken;
    // CAST: Connector and encoder indexes are below `MAX` (32), checked by `route`.
    queue[0] = root as u8;
    while head < tail {
        let c = usize::from(queue[head]);
        head += 1;
        for e in order(&wants[c]) {
            if seen & (1 << e) != 0 {
                continue;
            }
            seen |= 1 << e;
            via[e] = c as u8;
            match owner[e] {
                Some(next) => {
                    // Each connector is queued at most once: it owns one encoder, seen once.
                    queue[tail] = next;
                    tail += 1;
                }
                None => {
                    // Found: each connector on the path takes the encoder that reached it,
                    // leaving its own to the one before it.
                    let mut e = e;
                    loop {
                        let c = usize::from(via[e]);
                        let previous = held[c];
                        owner[e] = Some(c as u8);
                        held[c] = Some(e as u8);
                        match previous {
                            Some(p) if c != root => e = usize::from(p),
                            _ => return true,
                        }
                    }
                }
            }
        }
    }
    false
}

/// Assigns every connector of `wants` a different encoder among its allowed ones and outside
/// `taken`, writing them to `out` (by the index of the want). The current encoders of
/// connectors are kept, and a connector is moved to another only to make room for one that
/// has no other way (through the shortest chain of moves). The result depends only on the
/// arguments: the C core asks for each connector's encoder separately, and needs the same answer
/// every time. Returns `false`, with `out` holding a largest partial assignment and `None` for
/// the others, when no complete one exists, or when there are more than [`MAX`] wants.
pub(super) fn route(wants: &[Want], taken: u32, out: &mut [Option<u8>]) -> bool {
    if wants.len() > MAX || out.len() < wants.len() {
        return false;
    }
    let mut owner = [None::<u8>; MAX];
    let mut held = [None::<u8>; MAX];
    // Current encoders first, so that an unchanged connector keeps its encoder unless another
    // connector can be served no other way.
    for (i, want) in wants.iter().enumerate() {
        if let Some(e) = want.current.filter(|&e| usize::from(e) < MAX) {
            let bit = 1u32 << e;
            if want.allowed & bit != 0 && taken & bit == 0 && owner[usize::from(e)].is_none() {
                // CAST: `i` is below `MAX`, checked above.
                owner[usize::from(e)] = Some(i as u8);
                held[i] = Some(e);
            }
        }
    }
    let mut complete = true;
    for i in 0..wants.len() {
        if held[i].is_none() {
            complete &= augment(wants, i, taken, &mut owner, &mut held);
        }
    }
    out.iter_mut().for_each(|o| *o = None);
    out[..wants.len()].copy_from_slice(&held[..wants.len()]);
    complete
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_kms_routing)]
mod tests {
    use super::*;

    fn want(allowed: u32, current: Option<u8>) -> Want {
        Want { allowed, current }
    }

    fn routed(wants: &[Want], taken: u32) -> (bool, [Option<u8>; 4]) {
        let mut out = [Some(99); 4];
        let ok = route(wants, taken, &mut out);
        (ok, out)
    }

    /// Taking the first free encoder would give A encoder 0 and leave B none.
    #[test]
    fn needs_an_augmenting_path() {
        let (ok, out) = routed(&[want(0b11, None), want(0b01, None)], 0);
        assert!(ok);
        assert_eq!(out[..2], [Some(1), Some(0)]);
    }

    #[test]
    fn keeps_current_encoders() {
        let (ok, out) = routed(&[want(0b111, Some(2)), want(0b111, Some(0))], 0);
        assert!(ok);
        assert_eq!(out[..2], [Some(2), Some(0)]);
        // Where the current encoder is no longer allowed, the lowest free one.
        let (ok, out) = routed(&[want(0b011, Some(2)), want(0b111, Some(0))], 0);
        assert!(ok);
        assert_eq!(out[..2], [Some(1), Some(0)]);
    }

    /// A connector moves off its current encoder only when another has no other way.
    #[test]
    fn moves_current_when_needed() {
        let (ok, out) = routed(&[want(0b11, Some(0)), want(0b01, None)], 0);
        assert!(ok);
        assert_eq!(out[..2], [Some(1), Some(0)]);
    }

    #[test]
    fn respects_taken() {
        let (ok, out) = routed(&[want(0b11, Some(0)), want(0b110, None)], 0b001);
        assert!(ok);
        assert_eq!(out[..2], [Some(1), Some(2)]);
        let (ok, out) = routed(&[want(0b01, None)], 0b01);
        assert!(!ok);
        assert_eq!(out[0], None);
    }

    /// Three connectors on two encoders: two are served, the result is the same every time.
    #[test]
    fn too_few_encoders() {
        let wants = [want(0b11, None), want(0b11, None), want(0b11, None)];
        let (ok, first) = routed(&wants, 0);
        assert!(!ok);
        assert_eq!(first.iter().filter(|o| o.is_some()).count(), 2);
        assert_eq!(first[3], None);
        assert_eq!(routed(&wants, 0).1, first);
    }

    #[test]
    fn chain_of_moves() {
        // 0 may use {0,1}, 1 {1,2}, 2 {2,3}, 3 only {0}: everyone shifts up by one.
        let wants = [
            want(0b0011, Some(0)),
            want(0b0110, Some(1)),
            want(0b1100, Some(2)),
            want(0b0001, None),
        ];
        let (ok, out) = routed(&wants, 0);
        assert!(ok);
        assert_eq!(out, [Some(1), Some(2), Some(3), Some(0)]);
    }

    /// Making room for a new connector moves the fewest connectors: B to encoder 3, not A and
    /// D along a longer chain.
    #[test]
    fn fewest_moves() {
        let wants = [
            want(0b0010_0001, Some(0)),
            want(0b0000_1010, Some(1)),
            want(0b0110_0000, Some(5)),
            want(0b0000_0011, None),
        ];
        let (ok, out) = routed(&wants, 0);
        assert!(ok);
        assert_eq!(out, [Some(0), Some(3), Some(5), Some(1)]);
    }

    #[test]
    fn all_thirty_two() {
        let mut wants = [Want::default(); MAX];
        for (i, w) in wants.iter_mut().enumerate() {
            // Each may use its own encoder and the next; the last only encoder 0.
            w.allowed = if i == MAX - 1 { 1 } else { 0b11 << i };
        }
        let mut out = [None; MAX];
        assert!(route(&wants, 0, &mut out));
        assert_eq!(out[MAX - 1], Some(0));
        assert_eq!(out[0], Some(1));
        assert!(!route(&[Want::default(); MAX + 1], 0, &mut [None; MAX + 1]));
    }
}
