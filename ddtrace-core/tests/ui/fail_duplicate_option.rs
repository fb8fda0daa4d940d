use ddtrace_core::trace;

#[trace(service = "my-sandwich-making-svc", service = "other-svc")]
fn assemble_sandwich() {}

#[trace("assemble_sandwich", name = "again")]
fn named_twice() {}

fn main() {
    assemble_sandwich();
    named_twice();
}
