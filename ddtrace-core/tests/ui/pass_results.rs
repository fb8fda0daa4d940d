//! `Result`-returning functions: `?`, early `return`, borrowed results,
//! `io::Result`, boxed errors, type aliases with `err = true`, `err = false`.
#![deny(warnings)]

use ddtrace_core::trace;
use std::fmt;
use std::io;

#[derive(Debug)]
struct SandwichError(String);

impl fmt::Display for SandwichError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::num::ParseIntError> for SandwichError {
    fn from(e: std::num::ParseIntError) -> Self {
        SandwichError(e.to_string())
    }
}

#[trace]
fn parse_slices(input: &str) -> Result<u32, SandwichError> {
    let slices: u32 = input.parse()?;
    if slices == 0 {
        return Err(SandwichError("no bread".into()));
    }
    Ok(slices)
}

#[trace]
fn first_word(input: &str) -> Result<&str, SandwichError> {
    input
        .split_whitespace()
        .next()
        .ok_or_else(|| SandwichError("empty".into()))
}

#[trace]
fn longest<'a>(a: &'a str, b: &str) -> std::result::Result<&'a str, SandwichError> {
    if a.len() >= b.len() {
        Ok(a)
    } else {
        Err(SandwichError(b.to_owned()))
    }
}

#[trace]
fn tail_mut(v: &mut [u8]) -> Result<&mut [u8], SandwichError> {
    if v.is_empty() {
        return Err(SandwichError("empty".into()));
    }
    Ok(&mut v[1..])
}

#[trace]
fn io_result(ok: bool) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::other("io"))
    }
}

#[trace]
fn boxed() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Ok("7".parse::<u8>()?)
}

type Answer = Result<u32, SandwichError>;

#[trace(err = true)]
fn alias() -> Answer {
    Err(SandwichError("alias".into()))
}

#[trace(err = false)]
fn lookup(key: &str) -> Result<u32, SandwichError> {
    Err(SandwichError(format!("{key} not found")))
}

#[trace]
fn impl_ok(x: u32) -> Result<impl fmt::Display, SandwichError> {
    if x > 0 {
        Ok(x)
    } else {
        Err(SandwichError("zero".into()))
    }
}

fn main() {
    assert_eq!(parse_slices("2").unwrap(), 2);
    assert!(parse_slices("x").is_err());
    assert!(parse_slices("0").is_err());
    assert_eq!(first_word("ham cheese").unwrap(), "ham");
    assert!(longest("a", "bb").is_err());
    let mut bytes = [1, 2, 3];
    tail_mut(&mut bytes).unwrap()[0] = 9;
    assert_eq!(bytes, [1, 9, 3]);
    assert!(tail_mut(&mut []).is_err());
    assert!(io_result(true).is_ok());
    assert!(io_result(false).is_err());
    assert_eq!(boxed().unwrap(), 7);
    assert!(alias().is_err());
    assert!(lookup("rye").is_err());
    assert_eq!(impl_ok(3).unwrap().to_string(), "3");
}
