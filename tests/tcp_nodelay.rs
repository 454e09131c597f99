//! The host sets TCP_NODELAY on the sockets a guest accepts and connects (and leaves Nagle on
//! with `--no-tcp-nodelay`), for WASI 0.2 guests here and WASI 0.3 ones in [`p3`], checked on
//! the host process's real sockets: `pidfd_getfd` (Linux 5.6+) copies them into the test
//! process, where `getsockopt` reads the option.
#![cfg(target_os = "linux")]

mod p3;

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::driver::Driver;
use crate::support::{peer, start_echo_server, within, Running};

/// TCP_NODELAY of the socket with these addresses in one of this process's children (the
/// host processes the tests started); panics if none has it.
fn host_socket_nodelay(local: SocketAddr, peer: SocketAddr) -> bool {
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
            continue;
        };
        if parent(pid) != Some(me) {
            continue;
        }
        if let Some(nodelay) = nodelay_in(pid, local, peer) {
            return nodelay;
        }
    }
    panic!("no host process has a TCP socket {local} -> {peer}")
}

/// The parent pid from /proc/PID/stat (the fourth field, after the parenthesised name).
fn parent(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// TCP_NODELAY of process `pid`'s socket with these addresses, if it has one.
fn nodelay_in(pid: i32, local: SocketAddr, peer: SocketAddr) -> Option<bool> {
    // SAFETY: plain syscalls; a non-negative result is a new descriptor that we own.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return None; // it has exited meanwhile
    }
    // SAFETY: pidfd_open returned a fresh descriptor.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        if !is_socket {
            continue;
        }
        // SAFETY: a plain syscall (needs ptrace rights over the child: ours, same user).
        let copy =
            unsafe { libc::syscall(libc::SYS_pidfd_getfd, std::os::fd::AsRawFd::as_raw_fd(&pidfd), fd, 0) };
        if copy < 0 {
            let error = std::io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EBADF) => continue, // closed since the listing
                Some(libc::ESRCH) => return None,
                _ => panic!("pidfd_getfd({pid}, {fd}) failed, cannot inspect the host's sockets: {error}"),
            }
        }
        // SAFETY: pidfd_getfd returned a fresh descriptor, a copy closed when dropped.
        let copy = unsafe { OwnedFd::from_raw_fd(copy as RawFd) };
        let socket = SockRef::from(&copy);
        let addr = |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket());
        if addr(socket.local_addr()) == Some(local) && addr(socket.peer_addr()) == Some(peer) {
            return Some(socket.tcp_nodelay().unwrap());
        }
    }
    None
}

/// echo-server under the host with `host_args`: TCP_NODELAY of the host's end of a client's
/// connection (accepted by the guest, which has echoed a line on it).
async fn accepted_nodelay(host_args: &[&str]) -> bool {
    let (_server, address) = if host_args.is_empty() {
        start_echo_server().await
    } else {
        let mut server = Running::start("echo-server", host_args, &["127.0.0.1", "0"]);
        let address = server.serving_address().await;
        (server, address)
    };
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"ping\n").await.unwrap();
    let mut echoed = [0; 5];
    within("read the echo", client.read_exact(&mut echoed)).await.unwrap();
    host_socket_nodelay(address, client.local_addr().unwrap())
}

/// stream-driver under the host with `host_args` connects to a native listener: TCP_NODELAY
/// of the host's end.
async fn connected_nodelay(host_args: &[&str]) -> bool {
    let (listener, address) = peer::listener().await;
    let mut driver = Driver::start_with(host_args);
    driver.ok(&format!("connect 127.0.0.1 {}", address.port())).await;
    let accepted = peer::accept(&listener).await;
    let nodelay = host_socket_nodelay(accepted.peer_addr().unwrap(), address);
    driver.finish().await;
    nodelay
}

#[tokio::test]
async fn accepted_sockets_get_nodelay() {
    assert!(accepted_nodelay(&[]).await, "TCP_NODELAY is off on a connection the guest accepted");
}

#[tokio::test]
async fn accepted_sockets_keep_nagle_with_no_tcp_nodelay() {
    assert!(!accepted_nodelay(&["--no-tcp-nodelay"]).await);
}

#[tokio::test]
async fn connected_sockets_get_nodelay() {
    assert!(connected_nodelay(&[]).await, "TCP_NODELAY is off on a connection the guest made");
}

#[tokio::test]
async fn connected_sockets_keep_nagle_with_no_tcp_nodelay() {
    assert!(!connected_nodelay(&["--no-tcp-nodelay"]).await);
}
