// SPDX-License-Identifier: GPL-2.0 OR MIT

//! DRM subsystem abstractions.
//!
//! Safe Rust layers over the C DRM core, for drivers written in Rust. Each C object gets its own
//! module; the driver-facing entry points are re-exported from here as they land.
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)
