//! Expansion of `#[trace]`: turns the parsed [`TraceArgs`] and the annotated
//! function into the instrumented function.
//!
//! The generated code only talks to `<crate>::__private` (see the crate
//! docs): `MacroSpan`, `enter`, `span`, `Instrument` and `record_error`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{
    AttrStyle, Attribute, Error, Item, ItemFn, ReturnType, Signature, Stmt, TraitItemFn, Type,
};

use crate::attr::{TextValue, TraceArgs};

/// Expands `#[trace(args)] item`. Never fails: errors become
/// `compile_error!` invocations emitted next to the unchanged item, so that
/// one mistake in the attribute does not cascade into "function not found"
/// errors elsewhere.
pub(crate) fn expand(args: TraceArgs, item: TokenStream) -> TokenStream {
    let function = match parse_function(item.clone()) {
        Ok(function) => function,
        Err(error) => return with_original(error, item),
    };
    match expand_fn(&args, function) {
        Ok(tokens) => tokens,
        Err(error) => with_original(error, item),
    }
}

/// `compile_error!(...)` followed by the untouched item.
pub(crate) fn with_original(error: Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.to_compile_error();
    tokens.extend(item);
    tokens
}

/// Parses the annotated item, rejecting everything but functions with a body.
fn parse_function(item: TokenStream) -> syn::Result<ItemFn> {
    const NOT_A_FN: &str = "#[trace] can only be applied to functions";
    let parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(_) => return Err(Error::new(Span::call_site(), NOT_A_FN)),
    };
    let culprit: TokenStream = match parsed {
        Item::Fn(function) => return Ok(function),
        Item::Verbatim(tokens) => {
            // `fn f();` (a trait method declaration) parses as verbatim.
            if let Ok(declaration) = syn::parse2::<TraitItemFn>(tokens.clone())
                && declaration.default.is_none()
            {
                let sig = &declaration.sig;
                return Err(Error::new_spanned(
                    quote!(#sig),
                    "#[trace] needs a function body; it cannot be applied to a \
                     function declaration without one",
                ));
            }
            tokens
        }
        Item::Struct(s) => introducer(&s.struct_token, &s.ident),
        Item::Enum(e) => introducer(&e.enum_token, &e.ident),
        Item::Union(u) => introducer(&u.union_token, &u.ident),
        Item::Trait(t) => introducer(&t.trait_token, &t.ident),
        Item::Type(t) => introducer(&t.type_token, &t.ident),
        Item::Const(c) => introducer(&c.const_token, &c.ident),
        Item::Static(s) => introducer(&s.static_token, &s.ident),
        Item::Mod(m) => introducer(&m.mod_token, &m.ident),
        Item::Impl(i) => i.impl_token.into_token_stream(),
        Item::Use(u) => u.use_token.into_token_stream(),
        Item::ExternCrate(e) => introducer(&e.crate_token, &e.ident),
        Item::ForeignMod(f) => f.abi.into_token_stream(),
        Item::Macro(m) => m.mac.path.into_token_stream(),
        Item::TraitAlias(t) => introducer(&t.trait_token, &t.ident),
        other => other.into_token_stream(),
    };
    Err(Error::new_spanned(culprit, NOT_A_FN))
}

/// `struct Name`: where "not a function" errors point.
fn introducer(keyword: &impl ToTokens, ident: &syn::Ident) -> TokenStream {
    quote!(#keyword #ident)
}

/// Expands a function.
fn expand_fn(args: &TraceArgs, function: ItemFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &function.sig.constness {
        return Err(Error::new(
            constness.span,
            "#[trace] cannot be applied to a `const fn`: spans are created at run time; \
             remove `const` or the attribute",
        ));
    }
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let (inner_attrs, outer_attrs): (Vec<Attribute>, Vec<Attribute>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::ddtrace_core),
    };
    let span_args = macro_span(args, &sig, &krate);
    let record_err = match &args.err {
        Some(err) => err.value,
        None => returns_result(&sig.output),
    };
    if record_err
        && sig.asyncness.is_none()
        && let Some(attr) = outer_attrs
            .iter()
            .find(|a| a.path().is_ident("track_caller"))
    {
        return Err(Error::new_spanned(
            attr,
            "#[trace] records an `Err` return by running the body in a closure, which \
             `#[track_caller]` does not reach (panics would point into this function): \
             add `err = false` to #[trace] to keep the caller's location (an `Err` then \
             does not mark the span), or remove `#[track_caller]`",
        ));
    }
    let body = Body {
        krate: &krate,
        span_args,
        ret: annotatable_return_type(&sig.output),
        record_err,
        stmts: &block.stmts,
    };
    let body = if sig.asyncness.is_some() {
        body.asynchronous()
    } else {
        body.synchronous()
    };
    let brace = block.brace_token;
    let mut new_block = TokenStream::new();
    brace.surround(&mut new_block, |tokens| {
        for attr in &inner_attrs {
            attr.to_tokens(tokens);
        }
        tokens.extend(body);
    });
    Ok(quote! {
        #(#outer_attrs)*
        #vis #sig #new_block
    })
}

/// The `MacroSpan { .. }` literal.
fn macro_span(args: &TraceArgs, sig: &Signature, krate: &TokenStream) -> TokenStream {
    let cow = quote!(#krate::__private::Cow);
    let text = |value: &TextValue| -> TokenStream {
        if let Some(lit) = value.as_lit_str() {
            return quote_spanned!(lit.span()=> #cow::Borrowed(#lit));
        }
        let expr = &value.expr;
        // Spanned at the user's expression so that a wrong type is reported there.
        quote_spanned! {expr.span()=>
            ::core::convert::Into::<#cow<'static, str>>::into(#expr)
        }
    };
    let optional = |value: &Option<TextValue>| -> TokenStream {
        match value {
            Some(value) => {
                let value = text(value);
                quote!(::core::option::Option::Some(#value))
            }
            None => quote!(::core::option::Option::None),
        }
    };
    let name = match &args.name {
        Some(value) => text(value),
        None => {
            let fn_name = sig.ident.unraw().to_string();
            quote! {
                #cow::Borrowed(::core::concat!(::core::module_path!(), "::", #fn_name))
            }
        }
    };
    let service = optional(&args.service);
    let resource = optional(&args.resource);
    let span_type = optional(&args.span_type);
    quote! {
        #krate::__private::MacroSpan {
            name: #name,
            service: #service,
            resource: #resource,
            span_type: #span_type,
        }
    }
}

/// Everything needed to generate a new function body.
struct Body<'a> {
    krate: &'a TokenStream,
    span_args: TokenStream,
    /// The declared return type when it can be written in a type annotation
    /// (`None` for `-> ()` by default and for types containing `impl Trait`).
    ret: Option<&'a Type>,
    record_err: bool,
    stmts: &'a [Stmt],
}

impl Body<'_> {
    /// `{ let guard = enter(..); body }`, with error recording through a
    /// closure called once, so that `return` and `?` are caught.
    fn synchronous(self) -> TokenStream {
        let Body {
            krate,
            span_args,
            ret,
            record_err,
            stmts,
        } = self;
        let guard = local("__dd_guard");
        let enter = quote! {
            #[allow(unused_braces, unused_parens)]
            let #guard = #krate::__private::enter(#span_args);
        };
        if !record_err {
            return quote! {
                #enter
                #(#stmts)*
            };
        }
        let result = local("__dd_result");
        let ret = ret.map(|ret| quote!(-> #ret));
        let record = record_error(krate, &result);
        // The closure goes through an `FnOnce` parameter so that it is an
        // `FnOnce` closure: it owns its captures and may return borrows
        // reached through them (`Ok(&mut self.field)`), which an
        // immediately called `FnMut` closure could not.
        let call_once = local("__dd_call_once");
        quote! {
            #[inline]
            fn #call_once<R>(body: impl ::core::ops::FnOnce() -> R) -> R {
                body()
            }
            #enter
            let #result = #call_once(move || #ret { #(#stmts)* });
            #record
            #result
        }
    }

    /// `{ let span = span(..); instrument(async move { body }, span).await }`.
    fn asynchronous(self) -> TokenStream {
        let Body {
            krate,
            span_args,
            ret,
            record_err,
            stmts,
        } = self;
        let span = local("__dd_span");
        let pin = ret.map(pin_return_type);
        let mut future = quote! {
            async move {
                #pin
                #(#stmts)*
            }
        };
        if record_err {
            let result = local("__dd_result");
            let record = record_error(krate, &result);
            future = quote! {
                async move {
                    let #result = #future.await;
                    #record
                    #result
                }
            };
        }
        quote! {
            #[allow(unused_braces, unused_parens)]
            let #span = #krate::__private::span(#span_args);
            #krate::__private::Instrument::instrument(#future, #span).await
        }
    }
}

/// `if let Err(ref e) = result { record_error(e); }`.
fn record_error(krate: &TokenStream, result: &syn::Ident) -> TokenStream {
    let err = local("__dd_err");
    quote! {
        if let ::core::result::Result::Err(ref #err) = #result {
            #krate::__private::record_error(#err);
        }
    }
}

/// A never-run `return` of the declared type at the top of an `async`
/// block: it fixes the block's output type before the body is type-checked,
/// so that `?` and `.into()` in the body infer exactly as in the original
/// `async fn`.
fn pin_return_type(ret: &Type) -> TokenStream {
    let value = local("__dd_return");
    quote! {
        #[allow(
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::needless_return,
            clippy::let_unit_value
        )]
        if false {
            let #value: #ret = loop {};
            return #value;
        }
    }
}

/// An identifier of the expansion, invisible to the user's code
/// (macro_rules-like hygiene), so it can never clash with the body's names.
fn local(name: &str) -> syn::Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}

/// Whether the declared return type is syntactically a `Result`: a path whose
/// last segment is `Result` (`Result<T, E>`, `io::Result<T>`,
/// `anyhow::Result<T>`, `std::result::Result<T, E>`, ...).
pub(crate) fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => is_result(ty),
    }
}

fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Group(group) => is_result(&group.elem),
        Type::Paren(paren) => is_result(&paren.elem),
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result"),
        _ => false,
    }
}

/// The declared return type, if it can be written as a type annotation.
pub(crate) fn annotatable_return_type(output: &ReturnType) -> Option<&Type> {
    match output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) if mentions_impl(ty.to_token_stream()) => None,
        ReturnType::Type(_, ty) => Some(ty),
    }
}

/// Whether a type mentions `impl Trait` (which cannot appear in a `let` or
/// closure annotation).
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(src: &str) -> ReturnType {
        syn::parse_str::<ReturnType>(src).unwrap()
    }

    fn expand_str(attr: &str, item: &str) -> String {
        let args: TraceArgs = syn::parse_str(attr).unwrap();
        expand(args, item.parse().unwrap()).to_string()
    }

    #[test]
    fn result_detection() {
        for src in [
            "-> Result<u32, Error>",
            "-> io::Result<()>",
            "-> std::io::Result<()>",
            "-> anyhow::Result<Vec<u8>>",
            "-> ::core::result::Result<&'a str, Box<dyn std::error::Error>>",
            "-> Result",
            "-> (Result<(), E>)",
            "-> Result<impl Display, E>",
        ] {
            assert!(returns_result(&output(src)), "{src}");
        }
        for src in [
            "",
            "-> u32",
            "-> Option<Result<(), E>>",
            "-> Vec<Result<(), E>>",
            "-> &Result<(), E>",
            "-> <T as Trait>::Result",
            "-> impl Future<Output = Result<(), E>>",
            "-> Box<dyn Fn() -> Result<(), E>>",
            "-> MyResult",
        ] {
            assert!(!returns_result(&output(src)), "{src}");
        }
    }

    #[test]
    fn annotatable_return_types() {
        assert!(annotatable_return_type(&output("")).is_none());
        assert!(annotatable_return_type(&output("-> impl Display")).is_none());
        assert!(annotatable_return_type(&output("-> Result<impl Display, E>")).is_none());
        assert!(annotatable_return_type(&output("-> Box<dyn Fn(impl X)>")).is_none());
        assert!(annotatable_return_type(&output("-> Result<&'a Self, E>")).is_some());
        assert!(annotatable_return_type(&output("-> Box<dyn Display>")).is_some());
    }

    #[test]
    fn sync_result_uses_a_typed_closure_and_records() {
        let out = expand_str("", "fn f(x: u32) -> Result<u32, E> { let y = x?; Ok(y) }");
        assert!(
            out.contains(":: ddtrace_core :: __private :: enter"),
            "{out}"
        );
        assert!(
            out.contains("__dd_call_once (move || -> Result < u32 , E > {"),
            "{out}"
        );
        assert!(
            out.contains(":: ddtrace_core :: __private :: record_error"),
            "{out}"
        );
        assert!(out.contains("\"f\""), "{out}");
    }

    #[test]
    fn sync_without_result_has_no_closure() {
        let out = expand_str("", "fn f(x: u32) -> u32 { x }");
        assert!(!out.contains("move ||"), "{out}");
        assert!(!out.contains("record_error"), "{out}");
        let out = expand_str("err = false", "fn f() -> Result<(), E> { Ok(()) }");
        assert!(!out.contains("move ||"), "{out}");
        assert!(!out.contains("record_error"), "{out}");
    }

    #[test]
    fn err_true_forces_recording() {
        let out = expand_str("err = true", "fn f() -> MyResult { Ok(()) }");
        assert!(out.contains("record_error"), "{out}");
    }

    #[test]
    fn impl_trait_return_is_not_annotated() {
        let out = expand_str("", "fn f() -> Result<impl Display, E> { Ok(1) }");
        assert!(out.contains("__dd_call_once (move || {"), "{out}");
    }

    #[test]
    fn async_fn_is_instrumented() {
        let out = expand_str(
            "\"n\", service = \"s\"",
            "async fn f(&self) -> Result<u32, E> { Ok(self.x) }",
        );
        assert!(out.starts_with("async fn f"), "{out}");
        assert!(
            out.contains(":: ddtrace_core :: __private :: span"),
            "{out}"
        );
        assert!(
            out.contains("Instrument :: instrument (async move {"),
            "{out}"
        );
        assert!(
            out.contains("let __dd_return : Result < u32 , E > = loop { } ;"),
            "{out}"
        );
        assert!(out.contains("record_error"), "{out}");
        assert!(out.contains("Cow :: Borrowed (\"n\")"), "{out}");
        assert!(
            out.contains("Some (:: ddtrace_core :: __private :: Cow :: Borrowed (\"s\"))"),
            "{out}"
        );
    }

    #[test]
    fn crate_path_is_used() {
        let out = expand_str("crate = ::my::dd", "fn f() {}");
        assert!(out.contains(":: my :: dd :: __private :: enter"), "{out}");
        assert!(!out.contains("ddtrace_core"), "{out}");
    }

    #[test]
    fn attributes_and_inner_attributes_are_kept() {
        let out = expand_str(
            "",
            "/// Docs.\n#[inline] pub(crate) fn f<T: Clone>(t: T) -> T where T: Send { #![allow(unused)] t }",
        );
        assert!(
            out.starts_with("# [doc = \" Docs.\"] # [inline] pub (crate) fn f < T : Clone > (t : T) -> T where T : Send { # ! [allow (unused)]"),
            "{out}"
        );
    }

    #[test]
    fn raw_identifiers_are_unraw_in_the_default_name() {
        let out = expand_str("", "fn r#type() {}");
        assert!(out.contains("\"type\""), "{out}");
    }

    #[test]
    fn errors_keep_the_original_item() {
        let out = expand_str("", "const fn f() -> u32 { 1 }");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("const fn f () -> u32 { 1 }"), "{out}");
        let out = expand_str("", "struct S;");
        assert!(out.contains("can only be applied to functions"), "{out}");
        assert!(out.ends_with("struct S ;"), "{out}");
        let out = expand_str("", "fn f(&self);");
        assert!(out.contains("needs a function body"), "{out}");
    }
}
