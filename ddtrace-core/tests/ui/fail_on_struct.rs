use ddtrace_core::trace;

#[trace]
struct Sandwich {
    bread: String,
}

fn main() {
    let _ = Sandwich {
        bread: String::new(),
    }
    .bread;
}
