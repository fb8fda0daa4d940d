use ddtrace_core::trace;

#[trace]
#[track_caller]
fn checked(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

fn main() {
    let _ = checked(1);
}
