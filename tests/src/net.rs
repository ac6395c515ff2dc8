//! Loopback port helpers.
//!
//! `free_*_port()` bind port 0 on 127.0.0.1, read the port the kernel chose and release it
//! (bind-then-release). There is an unavoidable window before the child binds it; to keep
//! parallel tests in one process apart, a port is never handed out twice by this process.
//! `wait_listening()` reads `/proc/net/{udp,tcp}` (no probe traffic, no bind race) to tell
//! when a child has bound its port.

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Socket kind for [`wait_listening`] and [`is_listening`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// A bound UDP socket.
    Udp,
    /// A TCP socket in LISTEN state.
    Tcp,
}

fn remember(port: u16) -> bool {
    let mut set = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    set.insert(port)
}

fn pick(mut probe: impl FnMut() -> Option<u16>) -> u16 {
    for _ in 0..200 {
        if let Some(p) = probe()
            && remember(p)
        {
            return p;
        }
    }
    panic!("could not find a free port on 127.0.0.1 after 200 tries");
}

fn udp_port() -> Option<u16> {
    let s = UdpSocket::bind("127.0.0.1:0").ok()?;
    s.local_addr().ok().map(|a| a.port())
}

fn tcp_port() -> Option<u16> {
    let s = TcpListener::bind("127.0.0.1:0").ok()?;
    s.local_addr().ok().map(|a| a.port())
}

fn udp_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

fn tcp_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    pick(udp_port)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    pick(tcp_port)
}

/// A port free for both UDP and TCP on 127.0.0.1 (SIP stacks bind both on one port).
pub fn free_udp_tcp_port() -> u16 {
    pick(|| {
        let p = udp_port()?;
        tcp_free(p).then_some(p)
    })
}

/// A port `p` such that `p` and `p + 1` are free for UDP and TCP (e.g. a SIP port whose
/// TLS listener is on the next port).
pub fn free_port_pair() -> u16 {
    pick(|| {
        let p = udp_port()?;
        let q = p.checked_add(1)?;
        (tcp_free(p) && udp_free(q) && tcp_free(q) && remember(q)).then_some(p)
    })
}

fn proc_net_has(file: &str, port: u16, want_state: Option<&str>) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else {
        return false;
    };
    let needle = format!(":{port:04X}");
    text.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.len() > 3
            && cols[1].ends_with(&needle)
            && want_state.is_none_or(|s| cols[3].eq_ignore_ascii_case(s))
    })
}

/// Whether some socket on this host (any address, IPv4 or IPv6) is bound to `port`
/// (UDP) or listening on it (TCP), according to `/proc/net`.
pub fn is_listening(proto: Proto, port: u16) -> bool {
    match proto {
        Proto::Udp => {
            proc_net_has("/proc/net/udp", port, None) || proc_net_has("/proc/net/udp6", port, None)
        }
        Proto::Tcp => {
            proc_net_has("/proc/net/tcp", port, Some("0A"))
                || proc_net_has("/proc/net/tcp6", port, Some("0A"))
        }
    }
}

/// Polls [`is_listening`] until it holds or `timeout` passes.
pub fn wait_listening(proto: Proto, port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if is_listening(proto, port) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
