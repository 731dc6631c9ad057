//! The loopback ports GDB servers listen on. The xtask binds each port itself and hands
//! QEMU the listening socket (`-chardev socket,fd=N`), so no other program can take the
//! port between its choice and QEMU's start (choosing a free port, closing it and letting
//! QEMU bind it again races with everything else on the machine: parallel test runs, CI
//! neighbours).

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Mutex;

/// Bound ports not yet handed to a QEMU.
static RESERVED: Mutex<BTreeMap<u16, TcpListener>> = Mutex::new(BTreeMap::new());

/// Binds `port` on 127.0.0.1 (a free one if None) and keeps it for the QEMU that will serve
/// on it; fails naming the port if it is taken.
pub fn reserve(port: Option<u16>) -> Result<u16> {
    let listener = match port {
        Some(port) => TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("port {port} on 127.0.0.1 is taken (--port)")),
        None => TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1"),
    }?;
    let port = listener.local_addr()?.port();
    RESERVED.lock().unwrap_or_else(|poison| poison.into_inner()).insert(port, listener);
    Ok(port)
}

/// The QEMU chardev that serves on `port`: its reserved socket, inherited by `command`'s
/// child (and closed in the xtask when `command` is dropped), or, for a port this process
/// did not reserve, a socket QEMU binds itself.
pub fn chardev(command: &mut Command, id: &str, port: u16) -> String {
    let reserved = RESERVED.lock().unwrap_or_else(|poison| poison.into_inner()).remove(&port);
    let Some(listener) = reserved else {
        return format!("socket,id={id},host=127.0.0.1,port={port},server=on,wait=off");
    };
    let fd = listener.as_raw_fd();
    // SAFETY: between fork and exec only fcntl(2), which is async-signal-safe, runs: it
    // clears close-on-exec on the one socket the child is to keep.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(listener.as_raw_fd(), libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    format!("socket,id={id},fd={fd},server=on,wait=off")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = reserve(Some(port)).unwrap_err().to_string();
        assert_eq!(error, format!("port {port} on 127.0.0.1 is taken (--port)"));
    }

    #[test]
    fn a_reserved_port_stays_bound_until_its_qemu_has_it_and_is_handed_over_once() {
        let port = reserve(None).unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err(), "reserved: nobody else can bind it");
        let mut command = Command::new("true");
        let handed = chardev(&mut command, "gdb", port);
        assert!(handed.starts_with("socket,id=gdb,fd=") && handed.ends_with(",server=on,wait=off"), "{handed}");
        assert_eq!(
            chardev(&mut Command::new("true"), "gdb", port),
            format!("socket,id=gdb,host=127.0.0.1,port={port},server=on,wait=off")
        );
        drop(command);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "released with the command");
    }
}
