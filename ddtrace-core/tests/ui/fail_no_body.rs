use ddtrace_core::trace;

trait Kitchen {
    #[trace]
    fn bake(&self) -> u32;
}

fn main() {}
