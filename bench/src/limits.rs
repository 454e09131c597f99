//! The operating-system limits that decide how many connections a run can hold: open files
//! (for the bench and, inherited, the servers it starts) and the ephemeral port range.

use std::io;

/// What the idle scenario may use, and why it was capped if it was.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// RLIMIT_NOFILE (soft) after raising it; the servers inherit it.
    pub open_files: u64,
    /// Size of net.ipv4.ip_local_port_range, if readable.
    pub ephemeral_ports: Option<u64>,
    /// net.core.somaxconn, if readable (reported; connections are opened a few at a time).
    pub somaxconn: Option<u64>,
}

/// Descriptors the bench or a server needs besides the idle connections themselves.
const SPARE_DESCRIPTORS: u64 = 512;
/// Ports left for the other scenarios and for connections in TIME_WAIT.
const SPARE_PORTS: u64 = 2_000;

impl ConnectionLimits {
    /// Raises the soft RLIMIT_NOFILE to the hard limit (child processes inherit it) and reads
    /// the kernel's port range.
    pub fn raise_and_read() -> io::Result<ConnectionLimits> {
        Ok(ConnectionLimits {
            open_files: raise_open_files_limit()?,
            ephemeral_ports: read_port_range_size(),
            somaxconn: read_number("/proc/sys/net/core/somaxconn"),
        })
    }

    /// The most connections one process may hold open at a time, with room to spare.
    pub fn max_connections(&self) -> usize {
        let by_files = self.open_files.saturating_sub(SPARE_DESCRIPTORS);
        let by_ports = self.ephemeral_ports.map_or(u64::MAX, |ports| ports.saturating_sub(SPARE_PORTS));
        by_files.min(by_ports) as usize
    }

    /// Why [`ConnectionLimits::max_connections`] is below `wanted`, if it is.
    pub fn cap_reason(&self, wanted: usize) -> Option<String> {
        let max = self.max_connections();
        (max < wanted).then(|| {
            format!(
                "idle connections capped at {max} (wanted {wanted}): open-file limit {}, {} ephemeral ports",
                self.open_files,
                self.ephemeral_ports.map_or("unknown".to_string(), |p| p.to_string()),
            )
        })
    }
}

fn raise_open_files_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        // An unlimited hard limit is not a valid soft limit for open files: the kernel caps
        // it at fs.nr_open.
        let ceiling = if limit.rlim_max == libc::RLIM_INFINITY {
            read_number("/proc/sys/fs/nr_open").unwrap_or(1 << 20)
        } else {
            limit.rlim_max
        };
        if limit.rlim_cur < ceiling {
            let raised = libc::rlimit { rlim_cur: ceiling, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = ceiling;
            }
        }
    }
    Ok(limit.rlim_cur)
}

fn read_port_range_size() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    let (low, high) = (bounds.next()??, bounds.next()??);
    Some(high.saturating_sub(low) + 1)
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
