//! Where this process runs, for the agent to tag its traces with its container: the
//! `Datadog-Container-ID` and `Datadog-Entity-ID` headers, read once (when the writer starts)
//! from `/proc/self/cgroup`.
//!
//! The entity id is `ci-<container id>` when the cgroup paths name the container. Where they do
//! not (cgroup v2 with a private cgroup namespace, the usual case under containerd and recent
//! Docker), it is `in-<inode>`, the inode of this process's cgroup directory, which the agent
//! maps to the container. A process in the host's cgroup namespace is not in a container: it
//! sends neither.

use std::path::{Path, PathBuf};

/// The inode of the host's cgroup namespace (`/proc/self/ns/cgroup`), fixed by the kernel
/// (`PROC_CGROUP_INIT_INO`).
const HOST_CGROUP_NAMESPACE_INODE: u64 = 0xEFFF_FFFB;

/// The cgroup v1 controller whose directory identifies the cgroup.
const V1_CONTROLLER: &str = "memory";

/// Where this process runs, as the agent's headers say it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Identity {
    /// `Datadog-Container-ID`.
    pub(crate) container_id: Option<String>,
    /// `Datadog-Entity-ID`.
    pub(crate) entity_id: Option<String>,
}

/// This process's identity (Linux only; elsewhere none).
pub(crate) fn identity() -> Identity {
    if !cfg!(target_os = "linux") {
        return Identity::default();
    }
    let Ok(cgroup) = std::fs::read_to_string("/proc/self/cgroup") else {
        return Identity::default();
    };
    let in_host_namespace =
        inode(Path::new("/proc/self/ns/cgroup")) == Some(HOST_CGROUP_NAMESPACE_INODE);
    identity_from(&cgroup, Path::new("/sys/fs/cgroup"), in_host_namespace)
}

/// [`identity`] from the text of `/proc/self/cgroup`, the cgroup file system mounted at `mount`.
fn identity_from(cgroup: &str, mount: &Path, in_host_namespace: bool) -> Identity {
    let container_id = parse_cgroup(cgroup);
    let entity_id = match &container_id {
        Some(id) => Some(format!("ci-{id}")),
        None if in_host_namespace => None,
        None => cgroup_dirs(cgroup, mount)
            .iter()
            .find_map(|dir| inode(dir))
            .map(|ino| format!("in-{ino}")),
    };
    Identity {
        container_id,
        entity_id,
    }
}

/// This process's cgroup directories under `mount`, in the order they are tried: the v1
/// `memory` controller's, then the unified (v2) hierarchy's, the line `0::<path>` (hierarchy id
/// 0, no controller; the only line under v2, one among the others on a hybrid host).
fn cgroup_dirs(cgroup: &str, mount: &Path) -> Vec<PathBuf> {
    let (mut memory, mut unified) = (None, None);
    for line in cgroup.lines() {
        // hierarchy-id:controllers:path
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim().trim_start_matches('/');
        if memory.is_none() && controllers.split(',').any(|c| c == V1_CONTROLLER) {
            memory = Some(mount.join(V1_CONTROLLER).join(relative));
        } else if unified.is_none() && id == "0" && controllers.is_empty() {
            unified = Some(mount.join(relative));
        }
    }
    memory.into_iter().chain(unified).collect()
}

/// The inode of `path`, if it exists.
fn inode(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Finds a container id in the text of `/proc/self/cgroup`: the last path segment of a line
/// (with a `docker-`/`cri-containerd-`/`crio-` prefix and a `.scope` suffix removed) that is 64
/// hex digits, a UUID, or an ECS task id (32 hex digits, a dash and digits).
pub(crate) fn parse_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        // hierarchy-id:controllers:path
        let path = line.splitn(3, ':').nth(2)?;
        let segment = path.trim().rsplit('/').next()?;
        let segment = segment.strip_suffix(".scope").unwrap_or(segment);
        let segment = segment
            .rsplit('-')
            .next()
            .filter(|s| is_hex(s, 64))
            .map_or(segment, |s| s);
        is_container_id(segment).then(|| segment.to_owned())
    })
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_container_id(s: &str) -> bool {
    if is_hex(s, 64) {
        return true;
    }
    let parts: Vec<&str> = s.split('-').collect();
    let uuid = parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(len, part)| is_hex(part, *len));
    let ecs = parts.len() == 2
        && is_hex(parts[0], 32)
        && !parts[1].is_empty()
        && parts[1].bytes().all(|b| b.is_ascii_digit());
    uuid || ecs
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860";

    #[test]
    fn finds_docker_and_kubernetes_ids() {
        assert_eq!(
            parse_cgroup(&format!("0::/docker/{ID}\n")).as_deref(),
            Some(ID)
        );
        assert_eq!(
            parse_cgroup(&format!(
                "1:name=systemd:/\n12:pids:/kubepods.slice/kubepods-pod1.slice/docker-{ID}.scope\n"
            ))
            .as_deref(),
            Some(ID)
        );
        assert_eq!(
            parse_cgroup("1:cpu:/ecs/task/34dc0b5e626f2c5c4c5170e34b10e765-1234567890\n")
                .as_deref(),
            Some("34dc0b5e626f2c5c4c5170e34b10e765-1234567890")
        );
        assert_eq!(
            parse_cgroup("1:cpu:/kubepods/pod/7b8952da-b9a3-4c6e-8a0a-2f2d3c4d5e6f\n").as_deref(),
            Some("7b8952da-b9a3-4c6e-8a0a-2f2d3c4d5e6f")
        );
    }

    #[test]
    fn none_outside_a_container() {
        assert_eq!(parse_cgroup("0::/\n"), None);
        assert_eq!(
            parse_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
        assert_eq!(parse_cgroup(""), None);
    }

    /// A cgroup file system of its own, with the directory `relative` in it.
    struct Mount(PathBuf);

    impl Mount {
        fn with_dir(relative: &str) -> Mount {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let root =
                std::env::temp_dir().join(format!("ddtrace-cgroup-{}-{n}", std::process::id()));
            std::fs::create_dir_all(root.join(relative)).unwrap();
            Mount(root)
        }

        fn inode_of(&self, relative: &str) -> u64 {
            inode(&self.0.join(relative)).unwrap()
        }
    }

    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_entity_id_names_the_container_when_the_cgroup_does() {
        let mount = Mount::with_dir("memory/docker");
        let cgroup = format!("4:memory:/docker/{ID}\n0::/\n");
        assert_eq!(
            identity_from(&cgroup, &mount.0, false),
            Identity {
                container_id: Some(ID.to_owned()),
                entity_id: Some(format!("ci-{ID}")),
            }
        );
    }

    #[test]
    fn else_the_entity_id_is_the_inode_of_the_cgroup_directory() {
        // cgroup v2, in a private cgroup namespace: the path says nothing of the container.
        let mount = Mount::with_dir("");
        let expected = format!("in-{}", mount.inode_of(""));
        assert_eq!(
            identity_from("0::/\n", &mount.0, false).entity_id,
            Some(expected)
        );
        // cgroup v1: the memory controller's directory (whichever line it is on, and with
        // other controllers on the line).
        let mount = Mount::with_dir("memory/process_api/b33c");
        let expected = format!("in-{}", mount.inode_of("memory/process_api/b33c"));
        let v1 = "9:name=systemd:/\n4:cpu,memory:/process_api/b33c\n0::/\n";
        assert_eq!(
            identity_from(v1, &mount.0, false),
            Identity {
                container_id: None,
                entity_id: Some(expected),
            }
        );
        // A hybrid host: the unified line last, and no memory controller directory (memory
        // accounting off): the unified hierarchy's directory.
        let mount = Mount::with_dir("system.slice/app.service");
        let expected = format!("in-{}", mount.inode_of("system.slice/app.service"));
        let hybrid = "4:memory:/system.slice/app.service\n1:name=systemd:/\n\
                      0::/system.slice/app.service\n";
        assert_eq!(
            identity_from(hybrid, &mount.0, false).entity_id,
            Some(expected)
        );
    }

    #[test]
    fn no_entity_id_in_the_host_namespace_or_without_a_cgroup_directory() {
        let mount = Mount::with_dir("");
        assert_eq!(identity_from("0::/\n", &mount.0, true), Identity::default());
        // The directory is not there, or the file names no cgroup to look for.
        assert_eq!(
            identity_from("0::/gone\n", &mount.0, false),
            Identity::default()
        );
        assert_eq!(
            identity_from("4:cpu:/a\n", &mount.0, false),
            Identity::default()
        );
        assert_eq!(
            identity_from("garbage\n", &mount.0, false),
            Identity::default()
        );
        // A line without controllers but a hierarchy id other than 0 is not the unified one.
        assert_eq!(
            identity_from("1::/\n", &mount.0, false),
            Identity::default()
        );
    }
}
