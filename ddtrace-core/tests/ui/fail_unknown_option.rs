use ddtrace_core::trace;

#[trace(nmae = "assemble_sandwich")]
fn assemble_sandwich() {}

fn main() {
    assemble_sandwich();
}
