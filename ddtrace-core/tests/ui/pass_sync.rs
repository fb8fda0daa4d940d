//! Synchronous free functions: default name, every option, shorthand name,
//! `unsafe`, `extern "C"`, raw identifiers, inner attributes, doc comments.
#![deny(warnings)]

use ddtrace_core::trace;

const SERVICE: &str = "my-sandwich-making-svc";

/// Doc comments and other attributes are kept.
#[trace]
#[inline]
#[must_use]
pub fn assemble_sandwich(slices: u32) -> u32 {
    slices + 1
}

#[trace("assemble_sandwich", service = "my-sandwich-making-svc")]
fn shorthand() {}

#[trace(
    name = "assemble_sandwich",
    service = SERVICE,
    resource = format!("sandwich #{id}"),
    span_type = String::from("custom"),
)]
fn every_option(id: u64) -> u64 {
    id
}

#[trace(name = ::std::borrow::Cow::Borrowed("cow"), err = false)]
fn cow_name() {}

/// # Safety
/// `p` must be valid for reads.
#[trace]
unsafe fn read(p: *const u32) -> u32 {
    unsafe { *p }
}

#[trace]
extern "C" fn callback(x: u32) -> u32 {
    x
}

#[trace]
fn r#type() {}

#[trace]
fn patterns((a, b): (u32, u32), _: u8, mut c: Vec<u32>) -> usize {
    #![allow(clippy::needless_pass_by_value)]
    c.push(a + b);
    c.len()
}

#[trace]
fn early_return(x: u32) -> u32 {
    if x > 3 {
        return 3;
    }
    x
}

#[trace]
fn never_returns_normally() -> ! {
    std::process::exit(0)
}

fn main() {
    assert_eq!(assemble_sandwich(1), 2);
    shorthand();
    assert_eq!(every_option(7), 7);
    cow_name();
    assert_eq!(unsafe { read(&5) }, 5);
    assert_eq!(callback(4), 4);
    r#type();
    assert_eq!(patterns((1, 2), 0, vec![]), 1);
    assert_eq!(early_return(9), 3);
    if std::env::args().any(|arg| arg == "--never") {
        never_returns_normally();
    }
}
