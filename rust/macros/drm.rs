// SPDX-License-Identifier: GPL-2.0

//! DRM ioctl tables: `#[ioctl(...)]` on the handlers, `drm::ioctl::table!` to list them.
//!
//! `#[drm::ioctl::handlers]` on an inherent `impl` block turns each method marked
//! `#[ioctl(COMMAND, FLAGS)]` into an ioctl: next to the method it adds a hidden associated
//! constant, the `drm::ioctl::Desc` of the ioctl, with the checks that involve one ioctl, each
//! reported at the user's token. For
//!
//! ```ignore
//! #[drm::ioctl::handlers]
//! impl Gpu {
//!     #[ioctl(DRM_IOCTL_GPU_GETPARAM, RENDER_ALLOW)]
//!     pub(crate) fn getparam(
//!         dev: &drm::Device<Self>,
//!         arg: &mut uapi::drm_gpu_getparam,
//!         file: &drm::File<Self>,
//!     ) -> Result<u32> { ... }
//! }
//! ```
//!
//! it adds, in the same `impl` block (`CMD` and `Handler` are names of the expansion's own, which
//! the user's code cannot see):
//!
//! ```ignore
//! #[doc(hidden)]
//! pub(crate) const __drm_ioctl_getparam: Desc<<drm::Device<Gpu> as DeviceOf>::Driver> = {
//!     const CMD: u32 = uapi::DRM_IOCTL_GPU_GETPARAM as u32;
//!     // `_IOC_TYPE` is 'd', `_IOC_SIZE` is the size of `Arg`, the direction bits are those of
//!     // the signature (`&mut Arg`: IOR or IOWR, `&Arg`: IOW, no argument: IO).
//!     const _: () = { assert!(...); ... };
//!     struct Handler;
//!     impl drm::ioctl::Handler for Handler {
//!         type Driver = <drm::Device<Gpu> as DeviceOf>::Driver;
//!         type Arg = uapi::drm_gpu_getparam;
//!         const CMD: u32 = CMD;
//!         const FLAGS: u32 = 0 | RENDER_ALLOW;
//!         const NAME: &CStr = c"DRM_IOCTL_GPU_GETPARAM";
//!         fn call(dev, arg, file) -> Result<u32> { <Gpu>::getparam(dev, arg, file) }
//!     }
//!     Desc::new::<Handler>()
//! };
//! ```
//!
//! `drm::ioctl::table![Gpu::getparam, ...]` is the driver's `IOCTLS`: the array of those
//! constants, in order, checked to be numbered contiguously from `DRM_COMMAND_BASE`, and of one
//! driver (the array has one element type).

use proc_macro2::{
    Span,
    TokenStream, //
};
use quote::{
    format_ident,
    quote,
    quote_spanned, //
};
use syn::{
    parse::{
        Parse,
        ParseStream, //
    },
    punctuated::Punctuated,
    spanned::Spanned,
    visit_mut::VisitMut,
    Error,
    FnArg,
    Ident,
    ImplItem,
    ItemImpl,
    Path,
    Result,
    Token,
    Type, //
};

/// The arguments of `#[ioctl(COMMAND)]` or `#[ioctl(COMMAND, FLAG | FLAG ...)]`.
struct IoctlAttr {
    cmd: Ident,
    flags: Vec<Ident>,
}

/// The permission flags an ioctl may have: the names of `kernel::drm::ioctl`'s flag constants.
const FLAGS: [&str; 4] = ["AUTH", "MASTER", "ROOT_ONLY", "RENDER_ALLOW"];

impl Parse for IoctlAttr {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        let cmd = input.parse()?;
        let mut flags = Vec::new();
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            flags.extend(Punctuated::<Ident, Token![|]>::parse_separated_nonempty(
                input,
            )?);
            input.parse::<Option<Token![,]>>()?;
        }
        // Only the flags: the other constants of `drm::ioctl` (the direction bits, say) are
        // numbers too, and would silently become permission bits.
        if let Some(bad) = flags.iter().find(|f| !FLAGS.iter().any(|name| *f == name)) {
            return Err(Error::new_spanned(
                bad,
                format!("not an ioctl permission flag: use {}", FLAGS.join(", ")),
            ));
        }
        Ok(Self { cmd, flags })
    }
}

/// What a handler's signature says about the direction of its ioctl.
enum Dir {
    /// `(dev, file)`: `_IO`.
    None,
    /// `(dev, &Arg, file)`: `_IOW`.
    Write,
    /// `(dev, &mut Arg, file)`: `_IOR` or `_IOWR`.
    Read,
}

/// Replaces `Self` by the type of the `impl` block, for items generated inside a nested item
/// (where `Self` would be the nested item); refuses `Self::Assoc` paths, which have no
/// equivalent outside the `impl` block.
struct ReplaceSelf<'a> {
    ty: &'a Type,
    error: Option<Error>,
}

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(p) = ty {
            if p.qself.is_none() && p.path.is_ident("Self") {
                *ty = self.ty.clone();
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }

    fn visit_path_mut(&mut self, path: &mut Path) {
        if path.segments.len() > 1 && path.segments[0].ident == "Self" && self.error.is_none() {
            self.error = Some(Error::new_spanned(
                &*path,
                "`Self::...` in the type of an ioctl handler's argument: name the type instead",
            ));
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

/// The name of the hidden constant that holds the `Desc` of handler `name`.
fn desc_name(name: &Ident) -> Ident {
    format_ident!("__drm_ioctl_{}", name, span = name.span())
}

/// The type behind a reference, with `Self` replaced.
fn referent(arg: &FnArg, self_ty: &Type, what: &str) -> Result<(Type, bool)> {
    let FnArg::Typed(pat) = arg else {
        return Err(Error::new_spanned(
            arg,
            "an ioctl handler is not a method: no `self`",
        ));
    };
    let Type::Reference(r) = &*pat.ty else {
        return Err(Error::new_spanned(
            &pat.ty,
            format!("expected a reference: {what}"),
        ));
    };
    let mut ty = (*r.elem).clone();
    let mut replace = ReplaceSelf {
        ty: self_ty,
        error: None,
    };
    replace.visit_type_mut(&mut ty);
    match replace.error {
        Some(e) => Err(e),
        None => Ok((ty, r.mutability.is_some())),
    }
}

/// `#[drm::ioctl::handlers]`.
pub(crate) fn handlers(mut item: ItemImpl) -> Result<TokenStream> {
    if let Some((_, path, _)) = &item.trait_ {
        return Err(Error::new_spanned(
            path,
            "`#[drm::ioctl::handlers]` goes on an inherent `impl` block, not a trait `impl`",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &item.generics,
            "ioctl handlers cannot be generic: the ioctl table of a driver is one concrete type",
        ));
    }
    let self_ty = (*item.self_ty).clone();
    let mut descs = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(f) = impl_item else {
            continue;
        };
        let mut attrs = f.attrs.extract_if(.., |a| a.path().is_ident("ioctl"));
        let Some(attr) = attrs.next() else {
            continue;
        };
        if let Some(again) = attrs.next() {
            return Err(Error::new_spanned(
                again,
                "a handler has one `#[ioctl(...)]`",
            ));
        }
        drop(attrs);
        let IoctlAttr { cmd, flags } = attr.parse_args()?;
        let name = &f.sig.ident;
        let shape = "an ioctl handler is `fn(&drm::Device<D>, &Arg or &mut Arg, &drm::File<D>) -> \
                     Result<u32>`, or without the argument for an `_IO` command";
        let inputs: Vec<&FnArg> = f.sig.inputs.iter().collect();
        let (dev, arg, file) = match inputs.as_slice() {
            [dev, file] => (*dev, None, *file),
            [dev, arg, file] => (*dev, Some(*arg), *file),
            _ => return Err(Error::new_spanned(&f.sig.inputs, shape)),
        };
        let (dev_ty, _) = referent(dev, &self_ty, "`&drm::Device<D>`")?;
        let (arg_ty, dir) = match arg {
            None => (syn::parse_quote!(()), Dir::None),
            Some(arg) => {
                let (ty, mutable) = referent(arg, &self_ty, "`&Arg` (IOW) or `&mut Arg`")?;
                (ty, if mutable { Dir::Read } else { Dir::Write })
            }
        };
        // Spanned at the file argument: a handler for another driver's file does not compile,
        // and the error says where.
        let call = match dir {
            Dir::None => quote_spanned!(file.span()=> <#self_ty>::#name(dev, file)),
            Dir::Write => quote_spanned!(file.span()=> <#self_ty>::#name(dev, &*arg, file)),
            Dir::Read => quote_spanned!(file.span()=> <#self_ty>::#name(dev, arg, file)),
        };
        // Names of the expansion's own, which the user's types can neither see nor shadow.
        let h = Ident::new("Handler", Span::mixed_site());
        let cmd_const = Ident::new("CMD", Span::mixed_site());
        let cmd_name = cmd.to_string();
        let dir_check = match dir {
            Dir::None => quote_spanned! {cmd.span()=>
                ::core::assert!(
                    ::kernel::ioctl::_IOC_DIR(#cmd_const) == ::kernel::drm::ioctl::IO,
                    ::core::concat!(#cmd_name, ": the handler takes no argument, but the \
                        command is not _IO")
                );
            },
            Dir::Write => quote_spanned! {cmd.span()=>
                ::core::assert!(
                    ::kernel::ioctl::_IOC_DIR(#cmd_const) == ::kernel::drm::ioctl::IOW,
                    ::core::concat!(#cmd_name, ": the handler takes `&Arg`, but the command is \
                        not _IOW (take `&mut Arg` for _IOR and _IOWR)")
                );
            },
            Dir::Read => quote_spanned! {cmd.span()=>
                ::core::assert!(
                    ::kernel::ioctl::_IOC_DIR(#cmd_const) & ::kernel::drm::ioctl::IOR != 0,
                    ::core::concat!(#cmd_name, ": the handler takes `&mut Arg`, but the \
                        command is _IOW (take `&Arg`) or _IO (take no argument)")
                );
            },
        };
        let type_check = quote_spanned! {cmd.span()=>
            ::core::assert!(
                ::kernel::ioctl::_IOC_TYPE(#cmd_const) == b'd' as u32,
                ::core::concat!(#cmd_name, ": not a DRM ioctl (its type is not 'd')")
            );
        };
        let size_check = quote_spanned! {arg_ty.span()=>
            ::core::assert!(
                ::kernel::ioctl::_IOC_SIZE(#cmd_const) == ::core::mem::size_of::<#arg_ty>(),
                ::core::concat!(#cmd_name, ": _IOC_SIZE differs from the size of the \
                    argument type")
            );
        };
        let flags = flags.iter().map(|f| quote!(::kernel::drm::ioctl::#f));
        let vis = &f.vis;
        let cfgs = crate::helpers::gather_cfg_attrs(&f.attrs);
        let desc = desc_name(name);
        let driver = quote!(<#dev_ty as ::kernel::drm::ioctl::DeviceOf>::Driver);
        descs.push(quote! {
            #(#cfgs)*
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            #vis const #desc: ::kernel::drm::ioctl::Desc<#driver> = {
                const #cmd_const: u32 = ::kernel::uapi::#cmd as u32;
                const _: () = {
                    #type_check
                    #size_check
                    #dir_check
                };
                struct #h;
                impl ::kernel::drm::ioctl::Handler for #h {
                    type Driver = #driver;
                    type Arg = #arg_ty;
                    const CMD: u32 = #cmd_const;
                    const FLAGS: u32 = 0 #(| #flags)*;
                    const NAME: &'static ::kernel::str::CStr =
                        ::kernel::c_str!(::core::stringify!(#cmd));

                    #[inline(always)]
                    fn call(
                        dev: &::kernel::drm::Device<Self::Driver>,
                        arg: &mut Self::Arg,
                        file: &::kernel::drm::File<Self::Driver>,
                    ) -> ::kernel::error::Result<u32> {
                        let _ = &arg;
                        #call
                    }
                }
                ::kernel::drm::ioctl::Desc::new::<#h>()
            };
        });
    }
    for desc in descs {
        item.items.push(syn::parse2(desc)?);
    }
    Ok(quote!(#item))
}

/// `drm::ioctl::table![...]`.
pub(crate) fn table(handlers: Punctuated<Path, Token![,]>) -> Result<TokenStream> {
    let mut entries = Vec::new();
    let mut checks = Vec::new();
    for (i, handler) in handlers.iter().enumerate() {
        if handler.segments.len() < 2 {
            return Err(Error::new_spanned(
                handler,
                "name the handler with the type of its `#[drm::ioctl::handlers]` block, e.g. \
                 `Gpu::getparam`",
            ));
        }
        let mut desc = handler.clone();
        if let Some(last) = desc.segments.last_mut() {
            last.ident = desc_name(&last.ident);
        }
        let index = u32::try_from(i).map_err(|_| Error::new_spanned(handler, "too many ioctls"))?;
        let name = quote!(#handler).to_string().replace(' ', "");
        checks.push(quote_spanned! {handler.span()=>
            ::core::assert!(
                ::kernel::ioctl::_IOC_NR(#desc.cmd())
                    == ::kernel::drm::ioctl::COMMAND_BASE + #index,
                ::core::concat!(#name, ": DRM ioctls are numbered contiguously from \
                    DRM_COMMAND_BASE, in the order of the table, and this one is not")
            );
        });
        entries.push(quote_spanned!(handler.span()=> #desc));
    }
    Ok(quote! {{
        const _: () = { #(#checks)* };
        &[ #(#entries),* ]
    }})
}
