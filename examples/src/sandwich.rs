//! The seed document's Python examples, in Rust, on ddtrace-core.
//!
//! Every function here mirrors one snippet of Datadog's "custom instrumentation" page:
//! the decorator (`#[trace]`), the context manager (a guard), manual finish, the active span,
//! the root span, local and global tags, an error and the manual error flag.

use ddtrace_core::trace;

/// What can go wrong in the kitchen.
#[derive(Debug)]
pub enum KitchenError {
    /// No bread left.
    OutOfBread,
}

impl std::fmt::Display for KitchenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KitchenError::OutOfBread => f.write_str("Oups ! No bread left"),
        }
    }
}

impl std::error::Error for KitchenError {}

/// A sandwich.
#[derive(Debug)]
pub struct Sandwich {
    /// What is in it.
    pub ingredients: Vec<&'static str>,
}

/// `@tracer.wrap()`: a span named after the function, module-qualified
/// (`examples::sandwich::get_ingredients`).
#[trace]
pub fn get_ingredients() -> Vec<&'static str> {
    // "open the cupboard, check the fridge": the active span is this function's.
    if let Some(span) = ddtrace_core::current_span() {
        span.set_tag("ingredients.source", "fridge");
    }
    vec!["bread", "comté", "tomato"]
}

/// `@tracer.wrap("assemble_sandwich", service="my-sandwich-making-svc")`.
#[trace(name = "assemble_sandwich", service = "my-sandwich-making-svc")]
pub fn assemble_sandwich(ingredients: &[&'static str]) -> Sandwich {
    // `with tracer.trace("another.operation")` + `tracer.current_root_span()`.
    let another = ddtrace_core::trace("another.operation");
    another.set_tag("step", "assemble");
    if let Some(root) = ddtrace_core::current_root_span() {
        root.set_tag("sandwich.assembled", true);
    }
    Sandwich {
        ingredients: ingredients.to_vec(),
    }
}

/// The context manager around the decorated functions, with a local numeric tag:
/// `with tracer.trace("sandwich.make") as span: ... span.set_tag("num_ingredients", ...)`.
pub fn make_sandwich_request() -> Sandwich {
    let span = ddtrace_core::trace("sandwich.make");
    let ingredients = get_ingredients();
    span.set_tag("num_ingredients", ingredients.len());
    assemble_sandwich(&ingredients)
}

/// Nested context managers: `sandwich.create` with `get_ingredients` and `assemble_sandwich`.
pub fn make_sandwich_request_nested() {
    let _outer = ddtrace_core::trace("sandwich.create");
    {
        let span = ddtrace_core::trace("get_ingredients");
        span.set_tag("style", "context-manager");
    }
    {
        let span = ddtrace_core::trace("assemble_sandwich");
        span.set_tag("style", "context-manager");
    }
}

/// Manual: `span = tracer.trace("sandwich.create"); ...; span.finish()`.
pub fn make_sandwich_request_manual() -> Sandwich {
    let span = ddtrace_core::trace("sandwich.create");
    span.set_tag("style", "manual");
    let ingredients = get_ingredients();
    let sandwich = assemble_sandwich(&ingredients);
    span.finish();
    sandwich
}

/// `with tracer.trace("throws.an.error"): raise Exception("Oups !")`: the error leaving the
/// traced function marks its span (`error.type`, `error.message`).
#[trace(name = "throws.an.error")]
pub fn throws_an_error() -> Result<Sandwich, KitchenError> {
    Err(KitchenError::OutOfBread)
}

/// `span = tracer.trace("operation"); span.error = 1; span.finish()`.
pub fn operation_with_manual_error() {
    let span = ddtrace_core::trace("operation");
    span.set_error_flag(true);
    span.finish();
}

/// Runs every example once with the process-wide tracer, after setting the global `version` tag
/// (`tracer.set_tag("version", __version__)`).
pub fn run() {
    ddtrace_core::tracer().set_tag("version", env!("CARGO_PKG_VERSION"));
    make_sandwich_request();
    make_sandwich_request_nested();
    make_sandwich_request_manual();
    if let Err(e) = throws_an_error() {
        eprintln!("throws.an.error returned: {e}");
    }
    operation_with_manual_error();
}
