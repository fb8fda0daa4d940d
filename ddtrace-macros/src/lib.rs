//! The `#[trace]` attribute macro of `ddtrace-core`.
//!
//! Do not depend on this crate directly: use `ddtrace_core::trace`, which
//! re-exports [`macro@trace`] (feature `macros`, on by default). The
//! generated code refers to `::ddtrace_core::__private`, so `ddtrace-core`
//! must be a dependency of the crate using the attribute (or see the
//! [`crate` option](macro@trace#crate--path) when it is re-exported under
//! another name).
//!
//! `#[trace]` wraps a function in a Datadog span, a child of the span active
//! when the function runs:
//!
//! ```
//! use ddtrace_core::trace;
//! # pub struct Bread;
//! # pub struct Filling;
//! # pub struct Sandwich;
//! # impl Sandwich {
//! #     fn new(_bread: Bread, _fillings: &[Filling]) -> Sandwich { Sandwich }
//! # }
//! # pub struct Order;
//! # #[derive(Debug)]
//! # pub struct OrderError;
//! # impl std::fmt::Display for OrderError {
//! #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("no such order") }
//! # }
//! # async fn fetch_order(id: u64) -> Result<Order, OrderError> {
//! #     if id == 0 { Err(OrderError) } else { Ok(Order) }
//! # }
//! # async fn make(_order: Order) -> Sandwich { Sandwich }
//!
//! #[trace]
//! fn assemble_sandwich(bread: Bread, fillings: &[Filling]) -> Sandwich {
//!     // A span named "my_crate::kitchen::assemble_sandwich" is active here.
//!     Sandwich::new(bread, fillings)
//! }
//!
//! #[trace("assemble_sandwich", service = "my-sandwich-making-svc")]
//! async fn order(id: u64) -> Result<Sandwich, OrderError> {
//!     // The span stays open across `.await`, and an `Err` marks it as an error.
//!     let order = fetch_order(id).await?;
//!     Ok(make(order).await)
//! }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # let collector = ddtrace_core::Collector::new();
//! # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
//! #     ddtrace_core::Config::builder().enabled(true).build(),
//! #     collector.clone(),
//! # ));
//! # assemble_sandwich(Bread, &[Filling]);
//! # assert!(order(1).await.is_ok());
//! # assert!(order(0).await.is_err());
//! # let spans = collector.spans();
//! # assert_eq!(spans.len(), 3);
//! # assert_eq!(spans[0].name, concat!(module_path!(), "::assemble_sandwich"));
//! # assert_eq!((&*spans[1].name, &*spans[1].service), ("assemble_sandwich", "my-sandwich-making-svc"));
//! # assert!(!spans[1].error && spans[2].error);
//! # }
//! ```
//!
//! See [`macro@trace`] for every option, what the expansion looks like and
//! its limitations.
//!
//! # How the crate is organised
//!
//! - `attr`: parses and validates the attribute's arguments;
//! - `expand`: generates the instrumented function.
//!
//! # The contract with `ddtrace-core`
//!
//! The expansion only uses these hidden items of `<crate>::__private`:
//!
//! - `Cow` (`std::borrow::Cow`) and `MacroSpan { name, service, resource,
//!   span_type }`, the description of the span to start;
//! - `enter(MacroSpan) -> SpanGuard`, for synchronous functions: starts the
//!   span and makes it active until the guard drops;
//! - `span(MacroSpan) -> Span` and the `Instrument` trait, for `async fn`s:
//!   the future of the body is instrumented so that the span is active on
//!   every poll and finished when the future completes or is dropped;
//! - `record_error(&E)`, which marks the active span as an error.

mod attr;
mod expand;

use proc_macro::TokenStream;

/// Traces a function: each call runs inside a new Datadog span, a child of
/// the span active at that moment, finished when the function returns.
///
/// # Usage
///
/// ```
/// use ddtrace_core::trace;
/// # pub struct Bread;
/// # pub struct Filling;
/// # pub struct Sandwich;
/// # impl Sandwich {
/// #     fn new(_bread: Bread, _fillings: &[Filling]) -> Sandwich { Sandwich }
/// # }
///
/// // Span name: concat!(module_path!(), "::", "assemble_sandwich"),
/// // e.g. "my_crate::kitchen::assemble_sandwich".
/// #[trace]
/// fn assemble_sandwich(bread: Bread, fillings: &[Filling]) -> Sandwich {
///     Sandwich::new(bread, fillings)
/// }
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # assemble_sandwich(Bread, &[Filling]);
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 1);
/// # assert_eq!(spans[0].name, concat!(module_path!(), "::", "assemble_sandwich"));
/// # }
/// ```
///
/// It works on free functions, methods (`&self`, `&mut self`, `self`,
/// `self: Box<Self>`, ...), generic functions, functions returning
/// `impl Trait`, `unsafe fn`s, `extern "C" fn`s, `async fn`s (also in trait
/// impls), and function bodies with early `return`s and `?`. The signature,
/// attributes (doc comments included), visibility, generics and `where`
/// clauses are kept as written.
///
/// # Options
///
/// Options are separated by commas, may come in any order, and each may be
/// given once:
///
/// ```text
/// #[trace( ["span name",] [name = EXPR,] [service = EXPR,] [resource = EXPR,]
///          [span_type = EXPR,] [err = true|false,] [crate = PATH] )]
/// ```
///
/// `name`, `service`, `resource` and `span_type` take any expression
/// convertible `Into<Cow<'static, str>>`: a string literal (the common
/// case), a `&'static str` constant, a `String` (e.g. `format!(..)`), a
/// `Cow<'static, str>`. The expressions may use the function's arguments and
/// are evaluated on each call, before the body runs. Literals that can never
/// be a string (`name = 42`) and empty string literals are rejected at
/// compile time.
///
/// ## `name = EXPR`, or a string literal first
///
/// The span (operation) name. Defaults to the function's path,
/// `concat!(module_path!(), "::", "<fn name>")`, built at compile time.
///
/// ```
/// # use ddtrace_core::trace;
/// #[trace(name = "assemble_sandwich")]
/// fn assemble() {}
///
/// // Shorthand: a string literal as the first argument is the name.
/// #[trace("assemble_sandwich", service = "my-sandwich-making-svc")]
/// fn assemble_too() {}
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # assemble();
/// # assemble_too();
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 2);
/// # assert!(spans.iter().all(|s| s.name == "assemble_sandwich"));
/// # assert_eq!(spans[1].service, "my-sandwich-making-svc");
/// # }
/// ```
///
/// ## `service = EXPR`
///
/// The service the span belongs to; defaults to the parent's (or the
/// tracer's configured) service.
///
/// ```
/// # use ddtrace_core::trace;
/// #[trace(service = "my-sandwich-making-svc")]
/// fn slice_bread() {}
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # slice_bread();
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 1);
/// # assert_eq!(spans[0].service, "my-sandwich-making-svc");
/// # }
/// ```
///
/// ## `resource = EXPR`
///
/// The resource (what the operation acted on); defaults to the span name.
/// Expressions can use the arguments:
///
/// ```
/// # use ddtrace_core::trace;
/// # pub struct Order;
/// # fn load(_id: u64) -> Order { Order }
/// # pub struct Handler { route: String }
/// #[trace(name = "http.request", resource = format!("GET /orders/{id}"))]
/// fn get_order(id: u64) -> Order { load(id) }
///
/// impl Handler {
///     #[trace(resource = self.route.clone())] // String: evaluated per call
///     fn handle(&self) {}
/// }
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # get_order(42);
/// # Handler { route: "/menu".to_string() }.handle();
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 2);
/// # assert_eq!((&*spans[0].name, &*spans[0].resource), ("http.request", "GET /orders/42"));
/// # assert_eq!(spans[1].resource, "/menu");
/// # }
/// ```
///
/// ## `span_type = EXPR`
///
/// The Datadog span type (`"web"`, `"db"`, `"cache"`, `"http"`, `"custom"`, ...).
///
/// ```
/// # use ddtrace_core::trace;
/// # pub struct Rows;
/// # fn run(_sql: &str) -> Rows { Rows }
/// #[trace(name = "postgres.query", span_type = "db")]
/// fn query(sql: &str) -> Rows { run(sql) }
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # query("SELECT 1");
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 1);
/// # assert_eq!((&*spans[0].name, &*spans[0].span_type), ("postgres.query", "db"));
/// # }
/// ```
///
/// ## `err = true|false`
///
/// When the declared return type is syntactically a `Result` (a path whose
/// last segment is `Result`: `Result<T, E>`, `io::Result<T>`,
/// `anyhow::Result<T>`, ...), a returned `Err(e)` marks the span as an
/// error (`error.type` = the type name of `E`, `error.message` =
/// `e.to_string()`, so `E` must implement `Display`). Early `return`s and
/// `?` are caught too.
///
/// `err = false` turns this off. `err = true` turns it on even when the
/// return type is not spelled `Result` (e.g. a type alias `type Answer =
/// Result<u32, MyError>;`); the type must then still be a
/// `core::result::Result`.
///
/// ```
/// # use ddtrace_core::trace;
/// # use std::fmt;
/// # pub struct Config;
/// # pub struct Doc;
/// # #[derive(Debug)]
/// # pub struct ParseError;
/// # impl fmt::Display for ParseError {
/// #     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("empty input") }
/// # }
/// # fn lex(input: &str) -> Result<Doc, ParseError> {
/// #     if input.is_empty() { Err(ParseError) } else { Ok(Doc) }
/// # }
/// # fn build(_doc: Doc) -> Result<Config, ParseError> { Ok(Config) }
/// # pub struct Value;
/// # pub struct NotFound; // no `Display`: `err = false` does not need it
/// # fn cache_get(_key: &str) -> Result<Value, NotFound> { Err(NotFound) }
/// # #[derive(Debug)]
/// # pub struct MyError;
/// # impl fmt::Display for MyError {
/// #     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("no answer") }
/// # }
/// # type Answer = Result<u32, MyError>;
/// #[trace]
/// fn parse(input: &str) -> Result<Config, ParseError> {
///     let doc = lex(input)?; // an Err here marks the span as an error
///     build(doc)
/// }
///
/// // A "not found" answer is not an error for this span.
/// #[trace(err = false)]
/// fn lookup(key: &str) -> Result<Value, NotFound> { cache_get(key) }
///
/// #[trace(err = true)]
/// fn answer() -> Answer { Ok(42) }
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # assert!(parse("").is_err());
/// # assert!(parse("bread").is_ok());
/// # assert!(lookup("ham").is_err());
/// # assert!(answer().is_ok());
/// # let errors: Vec<bool> = collector.spans().iter().map(|s| s.error).collect();
/// # assert_eq!(errors, [true, false, false, false]);
/// # }
/// ```
///
/// A panic unwinding out of a synchronous traced function also marks the
/// span as an error.
///
/// ## `crate = PATH`
///
/// The path to `ddtrace-core`, for crates that only reach it through a
/// re-export (the default is `::ddtrace_core`):
///
/// ```standalone_crate
/// # // This doctest plays `my_framework` itself.
/// # extern crate self as my_framework;
/// # pub use ddtrace_core as ddtrace;
/// // In a crate depending on `my_framework`, which has `pub use ddtrace_core as ddtrace;`
/// #[my_framework::ddtrace::trace(crate = ::my_framework::ddtrace)]
/// fn handler() {}
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # handler();
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 1);
/// # assert_eq!(spans[0].name, concat!(module_path!(), "::handler"));
/// # }
/// ```
///
/// # Async functions
///
/// `async fn`s stay `async fn`s. Their body becomes a future instrumented
/// with the span: the span is active while the body runs (across every
/// `.await`) and inactive while the task is suspended, and it is finished
/// when the body completes or when the future is dropped (e.g. cancelled).
///
/// ```
/// # use ddtrace_core::trace;
/// # use std::fmt;
/// # pub struct Bread;
/// # pub struct Oven;
/// # #[derive(Debug)]
/// # pub struct OvenError;
/// # impl fmt::Display for OvenError {
/// #     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("nothing to bake") }
/// # }
/// # impl Oven {
/// #     async fn preheat(&self) -> Result<(), OvenError> { Ok(()) }
/// #     async fn bake(&self, loaves: u32) -> Result<Bread, OvenError> {
/// #         if loaves == 0 { Err(OvenError) } else { Ok(Bread) }
/// #     }
/// # }
/// struct Kitchen { oven: Oven }
///
/// impl Kitchen {
///     #[trace(service = "kitchen")]
///     async fn bake(&self, loaves: u32) -> Result<Bread, OvenError> {
///         self.oven.preheat().await?;
///         self.oven.bake(loaves).await
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # let kitchen = Kitchen { oven: Oven };
/// # assert!(kitchen.bake(2).await.is_ok());
/// # assert!(kitchen.bake(0).await.is_err());
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 2);
/// # assert!(spans.iter().all(|s| s.service == "kitchen"));
/// # assert!(!spans[0].error && spans[1].error);
/// # }
/// ```
///
/// # Expansion
///
/// For a synchronous function returning a `Result`:
///
/// ```
/// # use ddtrace_core::trace;
/// # use std::{io, path::Path};
/// # fn read(path: &Path) -> io::Result<String> {
/// #     if path.as_os_str().is_empty() { Err(io::Error::other("empty path")) } else { Ok(String::new()) }
/// # }
/// #[trace(service = "svc")]
/// fn load(path: &Path) -> io::Result<String> { let s = read(path)?; Ok(s) }
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # assert!(load(Path::new("menu.txt")).is_ok());
/// # assert!(load(Path::new("")).is_err());
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 2);
/// # assert_eq!(spans[0].name, concat!(module_path!(), "::load"));
/// # assert_eq!(spans[0].service, "svc");
/// # assert!(!spans[0].error && spans[1].error);
/// # }
/// ```
///
/// becomes (the `__dd_*` names are hygienic and cannot clash with yours):
///
/// ```
/// # use ddtrace_core::__private::Cow;
/// # use std::{io, path::Path};
/// # fn read(path: &Path) -> io::Result<String> {
/// #     if path.as_os_str().is_empty() { Err(io::Error::other("empty path")) } else { Ok(String::new()) }
/// # }
/// fn load(path: &Path) -> io::Result<String> {
///     // Makes the closure below `FnOnce`, so it may return borrows of its captures.
///     fn __dd_call_once<R>(body: impl FnOnce() -> R) -> R { body() }
///     let __dd_guard = ::ddtrace_core::__private::enter(::ddtrace_core::__private::MacroSpan {
///         name: Cow::Borrowed(concat!(module_path!(), "::", "load")),
///         service: Some(Cow::Borrowed("svc")),
///         resource: None,
///         span_type: None,
///     });
///     let __dd_result = __dd_call_once(move || -> io::Result<String> {
///         let s = read(path)?;
///         Ok(s)
///     });
///     if let Err(ref __dd_err) = __dd_result {
///         ::ddtrace_core::__private::record_error(__dd_err);
///     }
///     __dd_result
/// }
/// # fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # assert!(load(Path::new("menu.txt")).is_ok());
/// # assert!(load(Path::new("")).is_err());
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 2);
/// # assert_eq!(spans[0].name, concat!(module_path!(), "::load"));
/// # assert_eq!(spans[0].service, "svc");
/// # assert!(!spans[0].error && spans[1].error);
/// # }
/// ```
///
/// Without error recording, the body simply follows the `let __dd_guard`.
/// An `async fn` becomes:
///
/// ```
/// # use ddtrace_core::__private::{Cow, MacroSpan};
/// # use std::fmt;
/// # pub struct Order;
/// # #[derive(Debug)]
/// # pub struct Error;
/// # impl fmt::Display for Error {
/// #     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("no such order") }
/// # }
/// async fn fetch(id: u64) -> Result<Order, Error> {
///     let __dd_span = ::ddtrace_core::__private::span(MacroSpan {
///         // name, service, resource, span_type: as above
/// #         name: Cow::Borrowed(concat!(module_path!(), "::", "fetch")),
/// #         service: None,
/// #         resource: None,
/// #         span_type: None,
///     });
///     ::ddtrace_core::__private::Instrument::instrument(
///         async move {
///             let __dd_result = async move {
///                 // Never runs: fixes the block's output type for `?`.
///                 if false { let __dd_return: Result<Order, Error> = loop {}; return __dd_return; }
///                 /* the original body */
/// # if id == 0 { Err(Error) } else { Ok(Order) }
///             }
///             .await;
///             if let Err(ref __dd_err) = __dd_result {
///                 ::ddtrace_core::__private::record_error(__dd_err);
///             }
///             __dd_result
///         },
///         __dd_span,
///     )
///     .await
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let collector = ddtrace_core::Collector::new();
/// # ddtrace_core::set_global_tracer(ddtrace_core::Tracer::with_exporter(
/// #     ddtrace_core::Config::builder().enabled(true).build(),
/// #     collector.clone(),
/// # ));
/// # assert!(fetch(1).await.is_ok());
/// # assert!(fetch(0).await.is_err());
/// # let spans = collector.spans();
/// # assert_eq!(spans.len(), 2);
/// # assert_eq!(spans[0].name, concat!(module_path!(), "::fetch"));
/// # assert!(!spans[0].error && spans[1].error);
/// # }
/// ```
///
/// # Errors
///
/// The attribute is rejected at compile time, pointing at the offending
/// token, for: an unknown option (the message lists the valid ones), an
/// option given twice, a value of the wrong form (`name = 42`,
/// `err = "yes"`, `crate = "path"`, an empty string), a `const fn`, a
/// function declaration without a body, and anything that is not a function
/// ("#[trace] can only be applied to functions").
///
/// # Limitations
///
/// - The span of an `async fn` starts when its future is first polled (that
///   is when an `async fn`'s body starts running), so its parent is the span
///   active at that first poll, and option expressions are evaluated then.
/// - A function written as `fn f() -> impl Future { async move { .. } }` (or
///   rewritten that way by another attribute, like `#[async_trait]` placed
///   before `#[trace]`) is traced as a synchronous function: the span only
///   covers the creation of the future. Write it as an `async fn`.
/// - Option expressions are evaluated before the body and may move the
///   arguments they use: write `name = arg.clone()` rather than `name = arg`
///   if the body still needs `arg`. Values must be `'static` (borrowing an
///   argument as `&str` does not work; use `.to_string()` / `.clone()`).
/// - `Result` detection is syntactic: a type alias not named `...Result`
///   needs `err = true`, and a user type named `Result` that is not
///   `core::result::Result` needs `err = false`.
/// - When the return type mentions `impl Trait` (e.g. `Result<impl Display,
///   E>`), it cannot be written in the closure/async-block annotation, so
///   `?` in the body has to infer its error type without it.
/// - In synchronous functions with error recording, the body runs inside a
///   `move` closure called once: `self` and the arguments are moved into it
///   (which is invisible to the body), and `return` inside the body returns
///   from that closure, as intended. `#[track_caller]` does not reach into a
///   closure, so on such a function it is a compile error: add `err = false`
///   (no closure then; the caller's location is kept) or drop
///   `#[track_caller]`.
#[proc_macro_attribute]
pub fn trace(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match syn::parse::<attr::TraceArgs>(args) {
        Ok(args) => expand::expand(args, item),
        Err(error) => expand::with_original(error, item),
    }
    .into()
}
