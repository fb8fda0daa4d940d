use ddtrace_core::trace;

#[trace(name = 42)]
fn assemble_sandwich() {}

fn main() {
    assemble_sandwich();
}
