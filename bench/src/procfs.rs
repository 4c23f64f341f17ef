//! The processes of the stack, found through /proc by the port they listen on.

/// Resident memory of the process listening on `port` (found through /proc).
pub(crate) fn rss_mib(port: u16) -> Option<f64> {
    let pid = listening_pid(port)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The process with a listening TCP socket on `port`: the socket's inode from
/// /proc/net/tcp, then the process holding that inode.
pub(crate) fn listening_pid(port: u16) -> Option<u32> {
    let wanted = format!(":{port:04X}");
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        std::fs::read_to_string(table).ok()?.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1)?.ends_with(&wanted) && fields.get(3) == Some(&"0A"))
                .then(|| fields.get(9).map(|s| s.to_string()))?
        })
    })?;
    let socket = format!("socket:[{inode}]");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_str() == Some(socket.as_str())))
            .then_some(pid)
    })
}
