use ddtrace_core::trace;

// Option values must be convertible into `Cow<'static, str>`.
#[trace(resource = id)]
fn load_order(id: u64) -> u64 {
    id
}

fn main() {
    load_order(1);
}
