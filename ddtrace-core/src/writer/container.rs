//! The container id for the `Datadog-Container-ID` header, read once from `/proc/self/cgroup`.

/// The container id of this process, if it runs in a container (Linux only).
pub(crate) fn container_id() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    parse_cgroup(&text)
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
}
