// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Where removed mappings and freed VM objects wait to be dropped: [`Graveyard`].
//!
//! The steps remove mappings, and the C core frees VM objects, where their driver data may not
//! be dropped: inside a `drm_exec` acquire context, or on the fence signalling path (immediate
//! mode). The layer puts them in the VM's graveyard, a lock-free stack linked through the
//! entries themselves, so that burying allocates nothing and takes no lock, and drops them
//! later, where the driver's drops may take locks.

use crate::{
    alloc::KBox,
    sync::atomic::{
        Acquire,
        Atomic,
        Relaxed,
        Release, //
    },
};
use core::ptr;

/// An entry of a [`Graveyard`]: an object with a link of its own.
///
/// # Safety
///
/// `link` must return the same field of `self` every time, a field that only the graveyard
/// uses.
pub(super) unsafe trait Buried: Sized {
    /// The link to the next entry of the graveyard.
    fn link(&self) -> &Atomic<*mut Self>;
}

/// A lock-free stack of boxed `N`s, to be dropped later.
///
/// # Invariants
///
/// `head` is NULL or the first of a chain of leaked `KBox<N>`s, linked through their
/// [`Buried::link`], that only the graveyard owns.
pub(super) struct Graveyard<N: Buried> {
    head: Atomic<*mut N>,
}

impl<N: Buried> Graveyard<N> {
    /// An empty graveyard.
    pub(super) const fn new() -> Self {
        // INVARIANT: Empty.
        Graveyard {
            head: Atomic::new(ptr::null_mut()),
        }
    }

    /// Keeps `entry` until the next [`Graveyard::drop_all`]. Allocates nothing, takes no lock.
    pub(super) fn bury(&self, entry: KBox<N>) {
        let raw = KBox::into_raw(entry);
        // SAFETY: Leaked just above: valid, and ours until it is published below.
        let link = unsafe { (*raw).link() };
        let mut head = self.head.load(Relaxed);
        loop {
            link.store(head, Relaxed);
            // INVARIANT: The entry links to the chain it is pushed onto; Release publishes the
            // link with it.
            match self.head.cmpxchg(head, raw, Release) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }

    /// Drops every entry buried so far, newest first. Entries buried meanwhile (by the drops,
    /// say) wait for the next call.
    pub(super) fn drop_all(&self) {
        // INVARIANT: The chain is taken whole; the graveyard is empty again.
        let mut pos = self.head.xchg(ptr::null_mut(), Acquire);
        while !pos.is_null() {
            // SAFETY: `pos` is an entry of the chain taken above (type invariant), now ours;
            // Acquire made its link visible.
            let entry = unsafe { KBox::from_raw(pos) };
            pos = entry.link().load(Relaxed);
            drop(entry);
        }
    }
}

impl<N: Buried> Drop for Graveyard<N> {
    fn drop(&mut self) {
        self.drop_all();
    }
}
