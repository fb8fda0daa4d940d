use ddtrace_core::trace;

#[trace]
const fn slices() -> u32 {
    2
}

fn main() {
    let _ = slices();
}
