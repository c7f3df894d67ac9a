// SPDX-License-Identifier: GPL-2.0

//! Configurable pipelines: the mode objects of an instance, made as directories of its configfs
//! directory, and the [`Pipeline`] they describe, checked when the instance is enabled.
//!
//! A directory's name says what it is: `plane*`, `crtc*`, `encoder*` or `connector*`. Its
//! attributes are vkms's, with lists of names where vkms has symbolic links (the Rust configfs
//! layer has none), and `plane_type` for vkms's `type` (a Rust keyword, which the attribute
//! macro cannot take):
//!
//! | object | attribute | value |
//! |--------|-----------|-------|
//! | plane | `plane_type` | `0` overlay (the default), `1` primary, `2` cursor |
//! | plane | `possible_crtcs` | the names of its CRTCs' directories, separated by spaces |
//! | CRTC | `writeback` | `1`: the CRTC has a writeback connector; `0` (the default) |
//! | encoder | `possible_crtcs` | as for planes |
//! | connector | `status` | `1` connected (the default), `2` disconnected, `3` unknown |
//! | connector | `possible_encoders` | the names of its encoders' directories |
//!
//! Objects are numbered in the order they were made, per kind. While the instance is enabled
//! its objects cannot be made or changed (`EBUSY`), except a connector's `status`, which sends
//! a hotplug event when it changes; removing one changes the pipeline of the next enable only.
//! An instance with no objects has the default pipe ([`Pipeline::single`]).

use crate::{
    device::Shared,
    display::{
        status_code,
        status_from_code,
        ConnectorDesc,
        Pipeline,
        PlaneDesc,
        MAX_OBJECTS, //
    },
    output::Plug,
};
use kernel::{
    configfs::{
        self,
        configfs_attrs, //
    },
    drm::kms::{
        PlaneType,
        Status, //
    },
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};

/// What a directory of an instance is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Plane,
    Crtc,
    Encoder,
    Connector,
}

impl Kind {
    /// The kind a directory named `name` is, by its prefix.
    fn of(name: &[u8]) -> Option<Self> {
        [
            (&b"plane"[..], Self::Plane),
            (b"crtc", Self::Crtc),
            (b"encoder", Self::Encoder),
            (b"connector", Self::Connector),
        ]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, kind)| kind)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Plane => "plane",
            Self::Crtc => "CRTC",
            Self::Encoder => "encoder",
            Self::Connector => "connector",
        }
    }
}

/// The attributes of an object that only change while its instance is disabled.
struct Attrs {
    /// A plane's `plane_type`.
    plane_type: PlaneType,
    /// A CRTC's `writeback`.
    writeback: bool,
    /// A plane's or an encoder's `possible_crtcs`, a connector's `possible_encoders`: names.
    links: KVec<u8>,
}

/// An object of an instance's pipeline.
#[pin_data]
pub(crate) struct Object {
    /// The name of its directory.
    name: CString,
    kind: Kind,
    /// Locked after the instance's lock.
    #[pin]
    attrs: Mutex<Attrs>,
    /// A connector's `status`, shared with the connector of the live device.
    plug: Arc<Plug>,
}

impl Object {
    fn name(&self) -> &str {
        self.name.to_str().unwrap_or("?")
    }
}

/// The data of an object's configfs directory.
pub(crate) struct ObjectDir {
    obj: Arc<Object>,
    shared: Arc<Shared>,
}

impl Drop for ObjectDir {
    /// The directory is gone (`rmdir`, and its files closed): the object leaves the pipeline.
    fn drop(&mut self) {
        let mut inner = self.shared.inner.lock();
        inner.objects.retain(|o| !Arc::ptr_eq(o, &self.obj));
    }
}

/// Makes the object directory `name` of an instance.
pub(crate) fn make_object(
    shared: &Arc<Shared>,
    name: &CStr,
) -> Result<impl PinInit<configfs::Group<ObjectDir>, Error>> {
    let Some(kind) = Kind::of(name.to_bytes()) else {
        pr_info!(
            "vrust: '{}' is not an object's name: it starts with plane, crtc, encoder or connector\n",
            name
        );
        return Err(EINVAL);
    };
    let item_type = match kind {
        Kind::Plane => configfs_attrs! {
            container: configfs::Group<ObjectDir>,
            data: ObjectDir,
            attributes: [
                plane_type: 0,
                possible_crtcs: 1,
            ],
        },
        Kind::Crtc => configfs_attrs! {
            container: configfs::Group<ObjectDir>,
            data: ObjectDir,
            attributes: [
                writeback: 2,
            ],
        },
        Kind::Encoder => configfs_attrs! {
            container: configfs::Group<ObjectDir>,
            data: ObjectDir,
            attributes: [
                possible_crtcs: 1,
            ],
        },
        Kind::Connector => configfs_attrs! {
            container: configfs::Group<ObjectDir>,
            data: ObjectDir,
            attributes: [
                status: 3,
                // The same list of names as `possible_crtcs`.
                possible_encoders: 1,
            ],
        },
    };
    let obj = Arc::pin_init(
        try_pin_init!(Object {
            name: name.try_into()?,
            kind,
            attrs <- new_mutex!(Attrs {
                plane_type: PlaneType::Overlay,
                writeback: false,
                links: KVec::new(),
            }),
            plug: Plug::new(Status::Connected)?,
        }),
        GFP_KERNEL,
    )?;
    {
        let mut inner = shared.inner.lock();
        if inner.live.is_some() {
            return Err(EBUSY);
        }
        if inner.objects.iter().filter(|o| o.kind == kind).count() >= MAX_OBJECTS {
            pr_info!(
                "vrust: an instance has at most {} {}s\n",
                MAX_OBJECTS,
                kind.name()
            );
            return Err(ENOSPC);
        }
        inner.objects.push(obj.clone(), GFP_KERNEL)?;
    }
    // From here the object is in the pipeline: the directory's drop takes it out.
    let dir = ObjectDir {
        obj,
        shared: shared.clone(),
    };
    Ok(configfs::Group::new(name.try_into()?, item_type, Ok(dir)))
}

/// Runs `f` on an object's attributes while the instance is disabled; `EBUSY` while enabled.
fn change(dir: &ObjectDir, f: impl FnOnce(&mut Attrs) -> Result) -> Result {
    let inner = dir.shared.inner.lock();
    if inner.live.is_some() {
        return Err(EBUSY);
    }
    let ret = f(&mut dir.obj.attrs.lock());
    drop(inner);
    ret
}

/// Writes `value` and a newline into `page`.
pub(crate) fn show_u32(page: &mut [u8; PAGE_SIZE], value: u32) -> Result<usize> {
    let mut w = kernel::str::Formatter::new(&mut page[..]);
    core::fmt::Write::write_fmt(&mut w, fmt!("{}\n", value)).map_err(|_| EINVAL)?;
    Ok(w.bytes_written())
}

/// A number written into an attribute, with or without a newline.
pub(crate) fn parse_u32(page: &[u8]) -> Result<u32> {
    let text =
        core::str::from_utf8(page.strip_suffix(b"\n").unwrap_or(page)).map_err(|_| EINVAL)?;
    text.parse().map_err(|_| EINVAL)
}

/// The configfs code of a plane type, as vkms's (`enum drm_plane_type`).
fn plane_type_code(kind: PlaneType) -> u32 {
    match kind {
        PlaneType::Overlay => 0,
        PlaneType::Primary => 1,
        PlaneType::Cursor => 2,
    }
}

#[vtable]
impl configfs::AttributeOperations<0> for ObjectDir {
    type Data = ObjectDir;

    fn show(dir: &ObjectDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let kind = dir.obj.attrs.lock().plane_type;
        show_u32(page, plane_type_code(kind))
    }

    fn store(dir: &ObjectDir, page: &[u8]) -> Result {
        let kind = match parse_u32(page)? {
            0 => PlaneType::Overlay,
            1 => PlaneType::Primary,
            2 => PlaneType::Cursor,
            _ => return Err(EINVAL),
        };
        change(dir, |a| {
            a.plane_type = kind;
            Ok(())
        })
    }
}

/// Shows a list of names.
fn show_links(dir: &ObjectDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
    let attrs = dir.obj.attrs.lock();
    let n = attrs.links.len();
    page[..n].copy_from_slice(&attrs.links);
    page[n] = b'\n';
    Ok(n + 1)
}

/// Stores a list of names: words of printable ASCII separated by white space.
fn store_links(dir: &ObjectDir, page: &[u8]) -> Result {
    let text = page.strip_suffix(b"\n").unwrap_or(page);
    // One byte stays for the newline of `show`.
    if text.len() >= PAGE_SIZE || !text.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        return Err(EINVAL);
    }
    let mut links = KVec::with_capacity(text.len(), GFP_KERNEL)?;
    links.extend_from_slice(text, GFP_KERNEL)?;
    change(dir, |a| {
        a.links = links;
        Ok(())
    })
}

#[vtable]
impl configfs::AttributeOperations<1> for ObjectDir {
    type Data = ObjectDir;

    fn show(dir: &ObjectDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_links(dir, page)
    }

    fn store(dir: &ObjectDir, page: &[u8]) -> Result {
        store_links(dir, page)
    }
}

#[vtable]
impl configfs::AttributeOperations<2> for ObjectDir {
    type Data = ObjectDir;

    fn show(dir: &ObjectDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let writeback = dir.obj.attrs.lock().writeback;
        show_u32(page, u32::from(writeback))
    }

    fn store(dir: &ObjectDir, page: &[u8]) -> Result {
        let writeback = match parse_u32(page)? {
            0 => false,
            1 => true,
            _ => return Err(EINVAL),
        };
        change(dir, |a| {
            a.writeback = writeback;
            Ok(())
        })
    }
}

#[vtable]
impl configfs::AttributeOperations<3> for ObjectDir {
    type Data = ObjectDir;

    fn show(dir: &ObjectDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_u32(page, status_code(dir.obj.plug.get()))
    }

    fn store(dir: &ObjectDir, page: &[u8]) -> Result {
        let status = status_from_code(parse_u32(page)?).ok_or(EINVAL)?;
        // Under the instance's lock, so that the device being enabled or disabled sees it.
        let inner = dir.shared.inner.lock();
        if dir.obj.plug.set(status) {
            inner.hotplug();
        }
        Ok(())
    }
}

/// The pipeline that `objects`, the objects of instance `dev`, describe; `EINVAL`, with the
/// reason in the kernel log, if it is not one.
pub(crate) fn pipeline(dev: &CStr, objects: &[Arc<Object>]) -> Result<Pipeline> {
    let of = |kind| -> Result<KVec<&Object>> {
        let mut list = KVec::new();
        for o in objects.iter().filter(|o| o.kind == kind) {
            list.push(&**o, GFP_KERNEL)?;
        }
        if list.is_empty() {
            pr_info!(
                "{}: no {} directory: a pipeline has 1 to {} of each kind of object\n",
                dev,
                kind.name(),
                MAX_OBJECTS
            );
            return Err(EINVAL);
        }
        Ok(list)
    };
    let (planes, crtcs) = (of(Kind::Plane)?, of(Kind::Crtc)?);
    let (encoders, connectors) = (of(Kind::Encoder)?, of(Kind::Connector)?);
    let mut p = Pipeline {
        planes: KVec::new(),
        crtcs: KVec::new(),
        encoders: KVec::new(),
        connectors: KVec::new(),
    };
    for plane in &planes {
        let attrs = plane.attrs.lock();
        let crtcs = links(dev, plane, &attrs, "possible_crtcs", &crtcs)?;
        let kind = attrs.plane_type;
        if kind != PlaneType::Overlay && crtcs.count_ones() != 1 {
            pr_info!(
                "{}: plane {} is a primary or cursor plane, of exactly one CRTC: list one in its possible_crtcs\n",
                dev,
                plane.name()
            );
            return Err(EINVAL);
        }
        p.planes.push(PlaneDesc { kind, crtcs }, GFP_KERNEL)?;
    }
    for crtc in &crtcs {
        p.crtcs.push(crtc.attrs.lock().writeback, GFP_KERNEL)?;
    }
    for encoder in &encoders {
        let mask = links(
            dev,
            encoder,
            &encoder.attrs.lock(),
            "possible_crtcs",
            &crtcs,
        )?;
        p.encoders.push(mask, GFP_KERNEL)?;
    }
    for connector in &connectors {
        let attrs = connector.attrs.lock();
        let encoders = links(dev, connector, &attrs, "possible_encoders", &encoders)?;
        let plug = connector.plug.clone();
        p.connectors
            .push(ConnectorDesc { encoders, plug }, GFP_KERNEL)?;
    }
    for (i, crtc) in crtcs.iter().enumerate() {
        let bit = 1 << i;
        let on = |kind| {
            p.planes
                .iter()
                .filter(|d| d.kind == kind && d.crtcs & bit != 0)
                .count()
        };
        let why = if on(PlaneType::Primary) != 1 {
            "needs exactly one primary plane (plane_type 1) that lists it in possible_crtcs"
        } else if on(PlaneType::Cursor) > 1 {
            "has more than one cursor plane (plane_type 2)"
        } else if !p.encoders.iter().any(|&m| m & bit != 0) {
            "has no encoder: list it in an encoder's possible_crtcs"
        } else {
            continue;
        };
        pr_info!("{}: CRTC {} {}\n", dev, crtc.name(), why);
        return Err(EINVAL);
    }
    let writebacks = p.crtcs.iter().filter(|&&w| w).count();
    if p.encoders.len().max(p.connectors.len()) + writebacks > 32 {
        pr_info!(
            "{}: {} encoders, {} connectors and {} writeback connectors (with an encoder each): at most 32 encoders and 32 connectors in all\n",
            dev,
            p.encoders.len(),
            p.connectors.len(),
            writebacks
        );
        return Err(EINVAL);
    }
    Ok(p)
}

/// The mask of the objects `targets` that object `obj` lists in its attribute `attr`.
fn links(dev: &CStr, obj: &Object, attrs: &Attrs, attr: &str, targets: &[&Object]) -> Result<u32> {
    // `store_links` took ASCII only.
    let text = core::str::from_utf8(&attrs.links).map_err(|_| EINVAL)?;
    let mut mask = 0u32;
    for word in text.split_ascii_whitespace() {
        let Some(i) = targets
            .iter()
            .position(|t| t.name.to_bytes() == word.as_bytes())
        else {
            pr_info!(
                "{}: {} {} lists '{}' in {}, but there is no {} directory of that name\n",
                dev,
                obj.kind.name(),
                obj.name(),
                word,
                attr,
                targets[0].kind.name()
            );
            return Err(EINVAL);
        };
        mask |= 1 << i;
    }
    if mask == 0 {
        pr_info!(
            "{}: {} {} has an empty {}: write the names of its {}s into it\n",
            dev,
            obj.kind.name(),
            obj.name(),
            attr,
            targets[0].kind.name()
        );
        return Err(EINVAL);
    }
    Ok(mask)
}
