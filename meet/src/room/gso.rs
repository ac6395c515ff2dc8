//! The room's packets to browsers, sent in batches with Linux UDP GSO (`UDP_SEGMENT`).
//!
//! A video frame leaves str0m as a run of SRTP packets to one browser, all of one size but
//! the last. Such a run goes to the kernel as one `sendmsg` whose buffer the kernel cuts
//! into the datagrams (`UDP_SEGMENT` = the size of each): one syscall, one route lookup,
//! one socket buffer and one wakeup of the receiver per run instead of per packet. The
//! receiver sees ordinary datagrams (the kernel or the NIC segments; a socket without
//! `UDP_GRO` gets them one by one). Where the kernel or the device refuses GSO (EIO,
//! EINVAL, ENOPROTOOPT while plain sends to the same address work) the sender falls back to
//! one `sendto` per packet for good.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Packets per batch at most (the kernel takes up to 64 on every GSO-capable version).
const MAX_SEGMENTS: usize = 32;
/// Bytes per batch at most (a UDP datagram's 64 KiB, less headers).
const MAX_BYTES: usize = 60_000;

#[derive(Debug)]
pub(super) struct Sender {
    buf: Vec<u8>,
    /// The size of every packet in `buf` but possibly the last.
    seg: usize,
    count: usize,
    to: Option<SocketAddr>,
    /// The last packet was shorter than `seg`: nothing more can join the batch.
    closed: bool,
    gso: bool,
    /// Batches and packets handed to the kernel (for the room's status).
    pub batches: u64,
    pub packets: u64,
}

impl Default for Sender {
    fn default() -> Self {
        Sender {
            buf: Vec::with_capacity(MAX_BYTES),
            seg: 0,
            count: 0,
            to: None,
            closed: false,
            gso: cfg!(target_os = "linux"),
            batches: 0,
            packets: 0,
        }
    }
}

impl Sender {
    /// Queues one packet for `to`; sends what was queued first when it cannot join.
    pub(super) fn push(&mut self, socket: &UdpSocket, bytes: &[u8], to: SocketAddr) {
        if bytes.is_empty() {
            return;
        }
        if !self.gso {
            self.batches += 1;
            self.packets += 1;
            let _ = socket.try_send_to(bytes, to);
            return;
        }
        if self.count > 0
            && (self.to != Some(to)
                || self.closed
                || bytes.len() > self.seg
                || self.count >= MAX_SEGMENTS
                || self.buf.len() + bytes.len() > MAX_BYTES)
        {
            self.flush(socket);
        }
        if self.count == 0 {
            self.seg = bytes.len();
            self.to = Some(to);
        } else if bytes.len() < self.seg {
            self.closed = true;
        }
        self.buf.extend_from_slice(bytes);
        self.count += 1;
    }

    /// Sends what is queued. A full socket buffer drops the batch, as it would drop
    /// single packets (RTP recovers with NACK and keyframes).
    pub(super) fn flush(&mut self, socket: &UdpSocket) {
        let (count, to) = (self.count, self.to);
        self.count = 0;
        self.closed = false;
        let Some(to) = to.filter(|_| count > 0) else {
            self.buf.clear();
            return;
        };
        self.batches += 1;
        self.packets += count as u64;
        if count == 1 {
            let _ = socket.try_send_to(&self.buf, to);
        } else if let Err(e) = send_segments(socket, &self.buf, self.seg, to)
            && matches!(
                e.raw_os_error(),
                Some(nix::libc::EIO | nix::libc::EINVAL | nix::libc::ENOPROTOOPT)
            )
        {
            // Refused: one by one instead. If a plain send works where the batch did not, the
            // kernel or device cannot do GSO (not a bad address): stop batching for good.
            let mut plain_ok = false;
            for p in self.buf.chunks(self.seg) {
                plain_ok |= socket.try_send_to(p, to).is_ok();
            }
            if plain_ok {
                tracing::info!("UDP GSO refused ({e}): sending packet by packet from now on");
                self.gso = false;
            }
        }
        self.buf.clear();
    }
}

/// One `sendmsg` of `buf` cut into datagrams of `seg` bytes (the last may be shorter).
fn send_segments(socket: &UdpSocket, buf: &[u8], seg: usize, to: SocketAddr) -> io::Result<()> {
    use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmsg};
    let seg = u16::try_from(seg).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let addr = SockaddrStorage::from(to);
    let fd = socket.as_raw_fd();
    socket.try_io(Interest::WRITABLE, || {
        sendmsg(
            fd,
            &[IoSlice::new(buf)],
            &[ControlMessage::UdpGsoSegments(&seg)],
            MsgFlags::empty(),
            Some(&addr),
        )
        .map(drop)
        .map_err(io::Error::from)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn recv_all(rx: &UdpSocket) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv(&mut buf)).await
        {
            got.push(buf.get(..n).unwrap_or_default().to_vec());
        }
        got
    }

    fn packet(len: usize, tag: u8) -> Vec<u8> {
        (0..len).map(|i| tag.wrapping_add(i as u8)).collect()
    }

    /// What goes in comes out as the same datagrams in the same order, whatever the runs
    /// (sizes changing, a short packet in the middle, two destinations, more than a batch).
    #[tokio::test]
    async fn datagrams_arrive_as_sent() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (ta, tb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // Sends never wait: the room's socket is long known writable when media flows.
        tx.writable().await.unwrap();
        let mut s = Sender::default();
        let mut want_a = Vec::new();
        let mut want_b = Vec::new();
        let sizes = [1200, 1200, 1200, 700, 1200, 1200, 90, 90, 1300, 1200];
        for (i, len) in sizes.iter().enumerate() {
            let p = packet(*len, i as u8);
            s.push(&tx, &p, ta);
            want_a.push(p);
        }
        for i in 0..(MAX_SEGMENTS + 5) {
            let p = packet(1100, i as u8);
            s.push(&tx, &p, tb);
            want_b.push(p);
        }
        let p = packet(40, 9);
        s.push(&tx, &p, ta);
        want_a.push(p);
        s.flush(&tx);
        let (got_a, got_b) = (recv_all(&a).await, recv_all(&b).await);
        let lens = |v: &[Vec<u8>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(lens(&got_a), lens(&want_a));
        assert_eq!(lens(&got_b), lens(&want_b));
        assert!(got_a == want_a && got_b == want_b, "the bytes differ");
        assert_eq!(s.packets, (sizes.len() + MAX_SEGMENTS + 5 + 1) as u64);
        // Linux has had UDP GSO since 4.18, on loopback too.
        assert!(s.gso, "UDP GSO refused on loopback");
        // The runs: 1200×3+700 | 1200×2+90 | 90 | 1300+1200 | 32×1100 | 5×1100 | 40.
        assert_eq!(s.batches, 7);
    }

    /// A batch no send can deliver (an IPv6 address from an IPv4 socket) is dropped, and
    /// does not switch GSO off: only the kernel refusing the batch itself does.
    #[tokio::test]
    async fn an_unsendable_batch_keeps_gso() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.writable().await.unwrap();
        let mut s = Sender::default();
        let to: SocketAddr = "[::1]:9".parse().unwrap();
        for i in 0..3 {
            s.push(&tx, &packet(1000, i), to);
        }
        s.flush(&tx);
        assert!(s.gso);
        // And the socket still serves.
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.push(&tx, &packet(500, 1), rx.local_addr().unwrap());
        s.push(&tx, &packet(500, 2), rx.local_addr().unwrap());
        s.flush(&tx);
        assert_eq!(recv_all(&rx).await.len(), 2);
    }

    #[tokio::test]
    async fn flush_of_nothing_sends_nothing() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut s = Sender::default();
        s.push(&tx, &[], rx.local_addr().unwrap());
        s.flush(&tx);
        s.flush(&tx);
        assert!(recv_all(&rx).await.is_empty());
        assert_eq!(s.batches, 0);
    }
}
