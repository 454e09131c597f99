//! `--pin`: the load generator on the last CPU, every server on the others, so the scheduler
//! cannot move a ping-pong pair between sharing a core and waking across cores (on two cores
//! that alone moves 1-connection numbers by 3×).

use std::io;

/// The CPUs this process may run on, in order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into `set`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((0..libc::CPU_SETSIZE as usize).filter(|&cpu| libc::CPU_ISSET(cpu, &set)).collect())
    }
}

/// Restricts the calling thread (and the threads and processes it starts later) to `cpus`.
/// Async-signal-safe: callable between fork and exec.
pub fn pin_current_thread(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: `set` is a plain bit set; sched_setaffinity reads size_of::<cpu_set_t>() bytes.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// How the CPUs are split: (the load generator's, the servers'), or None with fewer than two.
pub fn split(cpus: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
    let (&client, servers) = cpus.split_last()?;
    (!servers.is_empty()).then(|| (vec![client], servers.to_vec()))
}
