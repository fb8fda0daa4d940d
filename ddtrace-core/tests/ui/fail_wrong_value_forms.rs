use ddtrace_core::trace;

#[trace(err = "no")]
fn err_as_string() -> Result<(), String> {
    Ok(())
}

#[trace(err)]
fn bare_err() -> Result<(), String> {
    Ok(())
}

#[trace(crate = "ddtrace_core")]
fn crate_as_string() {}

#[trace(service = "")]
fn empty_service() {}

#[trace(service = "svc", "late_name")]
fn late_shorthand() {}

#[trace(name = "a" service = "b")]
fn missing_comma() {}

fn main() {
    let _ = err_as_string();
    let _ = bare_err();
    crate_as_string();
    empty_service();
    late_shorthand();
    missing_comma();
}
