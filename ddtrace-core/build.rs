//! Records the compiler version for the `Datadog-Meta-Lang-Version` request header.

use std::process::Command;

fn main() {
    // Cargo tells build scripts which compiler it uses; this is not tracer configuration.
    #[allow(clippy::disallowed_methods)]
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        // "rustc 1.89.0 (29483883e 2025-08-04)" -> "1.89.0"
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=DDTRACE_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");
}
