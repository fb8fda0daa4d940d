//! Parsing of the arguments of `#[trace(...)]`.
//!
//! Grammar (options may come in any order, each at most once, separated by
//! commas, with an optional trailing comma):
//!
//! ```text
//! args      := [ string-literal [ "," ] ] [ option ( "," option )* [ "," ] ]
//! option    := "name"      "=" expr        // Into<Cow<'static, str>>
//!            | "service"   "=" expr        // Into<Cow<'static, str>>
//!            | "resource"  "=" expr        // Into<Cow<'static, str>>
//!            | "span_type" "=" expr        // Into<Cow<'static, str>>
//!            | "err"       "=" ( "true" | "false" )
//!            | "crate"     "=" path
//! ```
//!
//! This module only parses and validates; [`crate::expand`] turns the result
//! into code.

use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Expr, ExprLit, Ident, Lit, LitBool, LitStr, Path, Result, Token};

/// The options `#[trace]` accepts, in the order they are listed in errors.
pub(crate) const OPTIONS: &[&str] = &["name", "service", "resource", "span_type", "err", "crate"];

/// A text option (`name`, `service`, `resource`, `span_type`).
#[derive(Clone)]
pub(crate) struct TextValue {
    /// The value expression, evaluated when the traced function is called.
    pub(crate) expr: Expr,
    /// Whether it came from the `#[trace("name")]` shorthand.
    pub(crate) shorthand: bool,
}

impl TextValue {
    /// The value when it is a plain string literal.
    pub(crate) fn as_lit_str(&self) -> Option<&LitStr> {
        match &self.expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s),
                attrs,
            }) if attrs.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// The parsed arguments of one `#[trace(...)]` attribute.
#[derive(Clone, Default)]
pub(crate) struct TraceArgs {
    /// `name = ...` or the string shorthand; `None` means the default
    /// `module_path!()::fn_name`.
    pub(crate) name: Option<TextValue>,
    /// `service = ...`.
    pub(crate) service: Option<TextValue>,
    /// `resource = ...`.
    pub(crate) resource: Option<TextValue>,
    /// `span_type = ...`.
    pub(crate) span_type: Option<TextValue>,
    /// `err = true|false`; `None` means "record errors when the return type
    /// is syntactically a `Result`".
    pub(crate) err: Option<LitBool>,
    /// `crate = path`; `None` means `::ddtrace_core`.
    pub(crate) krate: Option<Path>,
}

impl Parse for TraceArgs {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        let mut args = TraceArgs::default();
        let mut first = true;
        while !input.is_empty() {
            if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                args.parse_shorthand(lit, first)?;
            } else if input.peek(Lit) {
                let lit: Lit = input.parse()?;
                return Err(Error::new(
                    lit.span(),
                    format!(
                        "expected a string literal span name or an option like `name = \"...\"`, \
                         found {}",
                        describe_lit(&lit)
                    ),
                ));
            } else if input.peek(Ident::peek_any) {
                let key = input.call(Ident::parse_any)?;
                args.parse_option(&key, input)?;
            } else {
                return Err(input.error(format!(
                    "expected a #[trace] option (one of {}) or a string literal span name",
                    list_options()
                )));
            }
            first = false;
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between #[trace] options"));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl TraceArgs {
    /// `#[trace("name")]`: only allowed as the first argument.
    fn parse_shorthand(&mut self, lit: LitStr, first: bool) -> Result<()> {
        if !first {
            return Err(Error::new(
                lit.span(),
                "a string literal span name must be the first #[trace] argument; \
                 write `name = \"...\"` instead",
            ));
        }
        if lit.value().is_empty() {
            return Err(Error::new(lit.span(), "the span name must not be empty"));
        }
        self.name = Some(TextValue {
            expr: Expr::Lit(ExprLit {
                attrs: Vec::new(),
                lit: Lit::Str(lit.clone()),
            }),
            shorthand: true,
        });
        Ok(())
    }

    /// `key = value`, with `key` already consumed.
    fn parse_option(&mut self, key: &Ident, input: ParseStream<'_>) -> Result<()> {
        let key_name = key.unraw().to_string();
        if !OPTIONS.contains(&key_name.as_str()) {
            let hint = suggest(&key_name)
                .map(|option| format!("; did you mean `{option}`?"))
                .unwrap_or_default();
            return Err(Error::new(
                key.span(),
                format!(
                    "unknown #[trace] option `{key_name}`; valid options are {}{hint}",
                    list_options()
                ),
            ));
        }
        self.check_duplicate(key, &key_name)?;
        if !input.peek(Token![=]) {
            let example = match key_name.as_str() {
                "err" => "err = false",
                "crate" => "crate = ::my_crate::ddtrace",
                _ => "... = \"...\"",
            };
            let example = example.replacen("...", &key_name, 1);
            return Err(Error::new(
                key.span(),
                format!("expected `=` after `{key_name}`, as in `{example}`"),
            ));
        }
        input.parse::<Token![=]>()?;
        match key_name.as_str() {
            "err" => self.err = Some(parse_bool(&key_name, input)?),
            "crate" => self.krate = Some(parse_crate_path(input)?),
            _ => {
                let value = parse_text(&key_name, input)?;
                let slot = match key_name.as_str() {
                    "name" => &mut self.name,
                    "service" => &mut self.service,
                    "resource" => &mut self.resource,
                    _ => &mut self.span_type,
                };
                *slot = Some(value);
            }
        }
        Ok(())
    }

    /// Rejects a second occurrence of an option.
    fn check_duplicate(&self, key: &Ident, key_name: &str) -> Result<()> {
        let taken = match key_name {
            "name" => {
                if let Some(TextValue {
                    shorthand: true, ..
                }) = &self.name
                {
                    return Err(Error::new(
                        key.span(),
                        "the span name is given twice: by the string literal shorthand \
                         and by `name = ...`; keep only one",
                    ));
                }
                self.name.is_some()
            }
            "service" => self.service.is_some(),
            "resource" => self.resource.is_some(),
            "span_type" => self.span_type.is_some(),
            "err" => self.err.is_some(),
            _ => self.krate.is_some(),
        };
        if taken {
            return Err(Error::new(
                key.span(),
                format!("duplicate #[trace] option `{key_name}`"),
            ));
        }
        Ok(())
    }
}

/// The value of a text option: any expression, except literals that can
/// never be a string.
fn parse_text(key_name: &str, input: ParseStream<'_>) -> Result<TextValue> {
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error(format!(
            "expected a value after `{key_name} =`, e.g. `{key_name} = \"...\"`"
        )));
    }
    let expr: Expr = input.parse()?;
    if let Expr::Lit(ExprLit { lit, .. }) = &expr {
        match lit {
            Lit::Str(s) if s.value().is_empty() => {
                return Err(Error::new(
                    s.span(),
                    format!("`{key_name}` must not be an empty string"),
                ));
            }
            Lit::Str(_) => {}
            other => {
                return Err(Error::new(
                    other.span(),
                    format!(
                        "`{key_name}` expects a string, found {}; use a string literal like \
                         `{key_name} = \"...\"` or an expression convertible into \
                         `Cow<'static, str>`",
                        describe_lit(other)
                    ),
                ));
            }
        }
    }
    Ok(TextValue {
        expr,
        shorthand: false,
    })
}

/// `err = true` / `err = false`.
fn parse_bool(key_name: &str, input: ParseStream<'_>) -> Result<LitBool> {
    if input.peek(LitBool) {
        return input.parse();
    }
    let message = format!("`{key_name}` expects `true` or `false`");
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error(message));
    }
    let found: Expr = input.parse()?;
    Err(Error::new_spanned(found, message))
}

/// `crate = some::path`.
fn parse_crate_path(input: ParseStream<'_>) -> Result<Path> {
    const MESSAGE: &str = "`crate` expects a path to the ddtrace-core crate or to a re-export \
                           of it, e.g. `crate = ::my_crate::ddtrace`";
    if input.peek(Lit) {
        let lit: Lit = input.parse()?;
        return Err(Error::new(lit.span(), MESSAGE));
    }
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error(MESSAGE));
    }
    input
        .call(Path::parse_mod_style)
        .map_err(|e| Error::new(e.span(), MESSAGE))
}

/// "`name`, `service`, ..." for error messages.
pub(crate) fn list_options() -> String {
    OPTIONS
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The option a misspelled or misremembered key probably meant.
fn suggest(unknown: &str) -> Option<&'static str> {
    let lower = unknown.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "type" | "kind" | "spantype" | "span_kind" => Some("span_type"),
        "operation" | "operation_name" | "span_name" => Some("name"),
        "service_name" | "svc" => Some("service"),
        "resource_name" => Some("resource"),
        "error" | "errors" | "record_err" | "record_error" => Some("err"),
        _ => None,
    };
    alias.or_else(|| {
        OPTIONS
            .iter()
            .map(|option| (edit_distance(&lower, option), *option))
            .filter(|(distance, option)| *distance <= 2 && *distance < option.len())
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, option)| option)
    })
}

/// Levenshtein distance between two short ASCII strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let deletion = previous[j + 1] + 1;
            let insertion = current[j] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous[b.len()]
}

/// "an integer literal", "a boolean literal", ... for error messages.
fn describe_lit(lit: &Lit) -> &'static str {
    match lit {
        Lit::Str(_) => "a string literal",
        Lit::ByteStr(_) => "a byte string literal",
        Lit::CStr(_) => "a C string literal",
        Lit::Byte(_) => "a byte literal",
        Lit::Char(_) => "a character literal",
        Lit::Int(_) => "an integer literal",
        Lit::Float(_) => "a float literal",
        Lit::Bool(_) => "a boolean literal",
        _ => "a literal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens as _;

    fn parse(src: &str) -> Result<TraceArgs> {
        syn::parse_str::<TraceArgs>(src)
    }

    fn err(src: &str) -> String {
        match parse(src) {
            Ok(_) => panic!("`{src}` should not parse"),
            Err(e) => e.to_string(),
        }
    }

    fn text(v: &Option<TextValue>) -> String {
        v.as_ref()
            .map(|v| v.expr.to_token_stream().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn empty() {
        let args = parse("").unwrap();
        assert!(args.name.is_none());
        assert!(args.service.is_none());
        assert!(args.resource.is_none());
        assert!(args.span_type.is_none());
        assert!(args.err.is_none());
        assert!(args.krate.is_none());
    }

    #[test]
    fn every_option() {
        let args = parse(
            r#"name = "assemble_sandwich", service = "my-sandwich-making-svc",
               resource = format!("GET /{}", id), span_type = "web", err = false,
               crate = ::my::ddtrace,"#,
        )
        .unwrap();
        assert_eq!(text(&args.name), r#""assemble_sandwich""#);
        assert!(!args.name.as_ref().unwrap().shorthand);
        assert_eq!(text(&args.service), r#""my-sandwich-making-svc""#);
        assert_eq!(text(&args.resource), r#"format ! ("GET /{}" , id)"#);
        assert_eq!(text(&args.span_type), r#""web""#);
        assert!(!args.err.unwrap().value);
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: my :: ddtrace"
        );
    }

    #[test]
    fn shorthand_name() {
        let args = parse(r#""assemble_sandwich", service = "svc""#).unwrap();
        let name = args.name.unwrap();
        assert!(name.shorthand);
        assert_eq!(name.as_lit_str().unwrap().value(), "assemble_sandwich");
        assert_eq!(text(&args.service), r#""svc""#);
        let args = parse(r#""only_name","#).unwrap();
        assert!(args.name.unwrap().shorthand);
    }

    #[test]
    fn crate_path_forms() {
        for (src, want) in [
            ("crate = ddtrace_core", "ddtrace_core"),
            ("crate = crate::reexported", "crate :: reexported"),
            ("crate = ::a::b::c", ":: a :: b :: c"),
        ] {
            let args = parse(src).unwrap();
            assert_eq!(args.krate.unwrap().to_token_stream().to_string(), want);
        }
    }

    #[test]
    fn expressions_are_kept() {
        let args = parse("name = self.name.clone(), service = SERVICE, err = true").unwrap();
        assert_eq!(text(&args.name), "self . name . clone ()");
        assert_eq!(text(&args.service), "SERVICE");
        assert!(args.err.unwrap().value);
        assert!(args.name.unwrap().as_lit_str().is_none());
    }

    #[test]
    fn unknown_option_lists_the_valid_ones() {
        assert_eq!(
            err(r#"nmae = "x""#),
            "unknown #[trace] option `nmae`; valid options are `name`, `service`, \
             `resource`, `span_type`, `err`, `crate`; did you mean `name`?"
        );
        assert!(err("type = \"web\"").ends_with("; did you mean `span_type`?"));
        assert!(err("servce = \"s\"").ends_with("; did you mean `service`?"));
        assert!(err("error = false").ends_with("; did you mean `err`?"));
        assert!(err("r#async = 1").starts_with("unknown #[trace] option `async`"));
        assert!(!err("level = 1").contains("did you mean"));
    }

    #[test]
    fn duplicates() {
        assert_eq!(
            err(r#"name = "a", name = "b""#),
            "duplicate #[trace] option `name`"
        );
        assert_eq!(
            err("err = true, err = false"),
            "duplicate #[trace] option `err`"
        );
        assert_eq!(
            err("crate = a, crate = b"),
            "duplicate #[trace] option `crate`"
        );
        assert!(err(r#""a", name = "b""#).starts_with("the span name is given twice"));
    }

    #[test]
    fn wrong_value_forms() {
        assert!(err("name = 42").starts_with("`name` expects a string, found an integer literal"));
        assert!(err("service = true").starts_with("`service` expects a string, found a boolean"));
        assert!(err("span_type = 'w'").starts_with("`span_type` expects a string, found a char"));
        assert_eq!(err(r#"name = """#), "`name` must not be an empty string");
        assert_eq!(err(r#""""#), "the span name must not be empty");
        assert_eq!(err(r#"err = "no""#), "`err` expects `true` or `false`");
        assert_eq!(err("err = 0"), "`err` expects `true` or `false`");
        assert_eq!(err("err = yes"), "`err` expects `true` or `false`");
        assert!(err(r#"crate = "ddtrace_core""#).starts_with("`crate` expects a path"));
        assert!(err("crate = 3").starts_with("`crate` expects a path"));
        assert!(err("name =").contains("expected a value after `name =`"));
        assert!(err("name = , service = \"s\"").starts_with("expected a value after `name =`"));
    }

    #[test]
    fn missing_equals() {
        assert_eq!(err("err"), "expected `=` after `err`, as in `err = false`");
        assert_eq!(
            err("name"),
            "expected `=` after `name`, as in `name = \"...\"`"
        );
    }

    #[test]
    fn bad_positionals_and_separators() {
        assert!(err("42").starts_with("expected a string literal span name"));
        assert!(
            err(r#"service = "s", "late""#)
                .starts_with("a string literal span name must be the first")
        );
        assert_eq!(
            err(r#"name = "a" service = "b""#),
            "expected `,` between #[trace] options"
        );
        assert!(err("[x]").starts_with("expected a #[trace] option"));
    }
}
