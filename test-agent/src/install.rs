//! Installs pinned Python packages into a virtual environment under the workspace's `target/`,
//! once, race-free across threads and processes.
//!
//! A [`PinnedVenv`] is a directory `<workspace>/target/<name>/` plus a pip requirements file that
//! pins every package (transitive dependencies included, as written by `pip freeze`).
//! [`PinnedVenv::ensure_installed`]:
//!
//! 1. takes an exclusive lock on `<workspace>/target/<name>.lock` ([`std::fs::File::lock`]), so
//!    concurrent test threads and test binaries wait for one installer;
//! 2. if `<venv>/.installed` holds the hash of the requirements file, returns at once (warm);
//! 3. otherwise deletes any partial venv, runs `python3 -m venv <venv>` and
//!    `<venv>/bin/python -m pip install --disable-pip-version-check -q --no-input -r <file>`, and
//!    writes the marker last (atomically), so an interrupted install is redone next time.
//!
//! The workspace root is found at compile time (`CARGO_MANIFEST_DIR/..`), so the venv lives in
//! `<workspace>/target/` whatever `CARGO_TARGET_DIR` says. The test agent uses
//! [`PinnedVenv::test_agent`]; another pinned venv (e.g. the `ddtrace` Python package for
//! cross-language tests) is `PinnedVenv::new("ddtrace-python-venv", path_to_its_requirements)`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

/// The Python interpreter used to create virtual environments.
pub const PYTHON: &str = "python3";

/// The pinned version of the Datadog test agent.
pub const TEST_AGENT_VERSION: &str = "1.69.1";

/// Name of the completion marker file inside a venv.
const MARKER: &str = ".installed";

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `<workspace root>/target`, where venvs, logs and lock files go (independent of
/// `CARGO_TARGET_DIR`).
pub fn workspace_target_dir() -> PathBuf {
    workspace_root().join("target")
}

/// What [`PinnedVenv::ensure_installed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// The venv was already complete for this requirements file.
    AlreadyInstalled,
    /// The venv was (re)created and the packages installed now.
    Installed,
}

/// A Python virtual environment under `<workspace>/target/` with pinned packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedVenv {
    name: String,
    requirements: PathBuf,
}

impl PinnedVenv {
    /// A venv at `<workspace>/target/<name>/` installed from the pip requirements file
    /// `requirements` (which should pin every package with `==`).
    pub fn new(name: impl Into<String>, requirements: impl Into<PathBuf>) -> Self {
        PinnedVenv {
            name: name.into(),
            requirements: requirements.into(),
        }
    }

    /// The venv of the pinned test agent: `<workspace>/target/ddapm-test-agent-venv/`, from this
    /// crate's `requirements.txt` (`ddapm-test-agent==1.69.1` and its dependencies).
    pub fn test_agent() -> Self {
        PinnedVenv::new(
            "ddapm-test-agent-venv",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("requirements.txt"),
        )
    }

    /// The venv directory.
    pub fn dir(&self) -> PathBuf {
        workspace_target_dir().join(&self.name)
    }

    /// The requirements file.
    pub fn requirements(&self) -> &Path {
        &self.requirements
    }

    /// The venv's executables directory (`bin/`, or `Scripts/` on Windows).
    pub fn bin_dir(&self) -> PathBuf {
        if cfg!(windows) {
            self.dir().join("Scripts")
        } else {
            self.dir().join("bin")
        }
    }

    /// The path of executable `name` in the venv (e.g. `python`, `ddapm-test-agent`); does not
    /// install anything (see [`PinnedVenv::ensure_installed`] and [`python_venv_bin`]).
    pub fn bin(&self, name: &str) -> PathBuf {
        let mut file = name.to_owned();
        if cfg!(windows) && Path::new(name).extension().is_none() {
            file.push_str(".exe");
        }
        self.bin_dir().join(file)
    }

    /// Installs the venv unless it is already complete for the current requirements file.
    /// Safe to call from many threads and processes at once; the losers wait for the winner.
    pub fn ensure_installed(&self) -> Result<InstallOutcome> {
        let venv = self.dir();
        let install_error = |message: String| Error::Install {
            venv: venv.clone(),
            requirements: self.requirements.clone(),
            message,
        };
        let requirements = fs::read(&self.requirements).map_err(|e| {
            install_error(format!("cannot read {}: {e}", self.requirements.display()))
        })?;
        let expected = marker_text(&requirements);

        let target = workspace_target_dir();
        fs::create_dir_all(&target)
            .map_err(|e| install_error(format!("cannot create {}: {e}", target.display())))?;
        let lock_path = target.join(format!("{}.lock", self.name));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| install_error(format!("cannot open {}: {e}", lock_path.display())))?;
        lock.lock()
            .map_err(|e| install_error(format!("cannot lock {}: {e}", lock_path.display())))?;
        // The lock is released when `lock` is dropped, on every return path.

        let marker = venv.join(MARKER);
        if fs::read_to_string(&marker).is_ok_and(|found| found == expected)
            && self.bin("python").exists()
        {
            return Ok(InstallOutcome::AlreadyInstalled);
        }

        if venv.exists() {
            fs::remove_dir_all(&venv).map_err(|e| {
                install_error(format!(
                    "cannot remove the stale venv {}: {e}",
                    venv.display()
                ))
            })?;
        }
        run(Command::new(PYTHON).arg("-m").arg("venv").arg(&venv))
            .map_err(|e| install_error(format!("`{PYTHON} -m venv` failed: {e}")))?;
        run(Command::new(self.bin("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
                "-r",
            ])
            .arg(&self.requirements))
        .map_err(|e| install_error(format!("`pip install -r` failed: {e}")))?;

        let temporary = venv.join(format!("{MARKER}.tmp"));
        File::create(&temporary)
            .and_then(|mut f| f.write_all(expected.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| fs::rename(&temporary, &marker))
            .map_err(|e| install_error(format!("cannot write {}: {e}", marker.display())))?;
        drop(lock);
        Ok(InstallOutcome::Installed)
    }
}

/// Installs `venv` if needed and returns the path of its executable `name`.
///
/// ```no_run
/// # fn main() -> Result<(), ddtrace_test_agent::Error> {
/// use ddtrace_test_agent::{PinnedVenv, python_venv_bin};
///
/// let python = python_venv_bin(&PinnedVenv::test_agent(), "python")?;
/// assert!(python.exists());
/// # Ok(())
/// # }
/// ```
pub fn python_venv_bin(venv: &PinnedVenv, name: &str) -> Result<PathBuf> {
    venv.ensure_installed()?;
    Ok(venv.bin(name))
}

/// The marker contents for a requirements file: its FNV-1a 64 hash, plus the version of this
/// crate's install procedure.
fn marker_text(requirements: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in requirements {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("install-procedure=1\nrequirements-fnv1a64={hash:016x}\n")
}

/// Runs `command` to completion, capturing its output; a non-zero exit is an error carrying
/// stdout and stderr.
fn run(command: &mut Command) -> std::result::Result<Output, String> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{shown} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_under_the_workspace_target() {
        let venv = PinnedVenv::test_agent();
        assert_eq!(
            venv.dir(),
            workspace_root().join("target/ddapm-test-agent-venv")
        );
        assert!(workspace_root().join("Cargo.toml").exists());
        assert!(venv.requirements().exists());
        if cfg!(unix) {
            assert_eq!(venv.bin("python"), venv.dir().join("bin/python"));
        }
    }

    #[test]
    fn requirements_pin_the_test_agent_and_everything_else() {
        let text = fs::read_to_string(PinnedVenv::test_agent().requirements()).unwrap();
        assert!(
            text.lines()
                .any(|l| l == format!("ddapm-test-agent=={TEST_AGENT_VERSION}"))
        );
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            assert!(line.contains("=="), "unpinned requirement {line:?}");
        }
    }

    #[test]
    fn marker_depends_on_the_requirements() {
        assert_ne!(marker_text(b"a==1"), marker_text(b"a==2"));
        assert_eq!(marker_text(b"a==1"), marker_text(b"a==1"));
    }
}
