//! One stream of the SIP leg (audio or video): its sockets, where we send (symmetric RTP:
//! latched to where the caller's packets come from), RTP writing, receiver statistics and
//! SRTP when negotiated.

use super::sockets::RtpPair;
use super::stats::StreamStats;
use cvi_media::rtp::rtcp::{self, ReceiverStats, RtcpPacket};
use cvi_media::rtp::{RtpHeader, RtpWriter};
use cvi_media::sdp::{Direction, NegotiatedStream, SrtpParams};
use cvi_media::srtp::SrtpContext;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A latched source that has been silent this long may be replaced by a new one (the
/// caller's NAT binding changed); a live one may not (no hijacking by a stray sender).
const RELATCH_AFTER: Duration = Duration::from_secs(2);

/// What a datagram on the RTP socket was.
pub(super) enum Inbound {
    /// An RTP packet (decrypted when SRTP is on): `plain` holds it.
    Rtp,
    /// RTCP multiplexed on the RTP port (RFC 5761).
    Rtcp(Vec<RtcpPacket>),
    /// Dropped (malformed, wrong stream, failed authentication); counted.
    Dropped,
}

pub(super) struct StreamIo {
    pub pair: RtpPair,
    pub neg: Option<NegotiatedStream>,
    pub dest_rtp: Option<SocketAddr>,
    pub dest_rtcp: Option<SocketAddr>,
    /// RTCP goes over the RTP socket (negotiated rtcp-mux, or the caller sent RTCP there).
    pub mux: bool,
    last_rtp_from_dest: Option<Instant>,
    last_rtcp_from_dest: Option<Instant>,
    pub writer: RtpWriter,
    pub remote_ssrc: Option<u32>,
    pub rx: ReceiverStats,
    pub stats: StreamStats,
    srtp_out: Option<SrtpContext>,
    srtp_in: Option<SrtpContext>,
    srtp_params: Option<SrtpParams>,
    /// Set when latching moved the RTP destination (the caller's decoder starts afresh).
    pub moved: bool,
    /// The last packet received, decrypted.
    pub plain: Vec<u8>,
    out: Vec<u8>,
    protected: Vec<u8>,
}

impl StreamIo {
    pub(super) fn new(pair: RtpPair, ssrc: u32, first_seq: u16) -> Self {
        Self {
            pair,
            neg: None,
            dest_rtp: None,
            dest_rtcp: None,
            mux: false,
            last_rtp_from_dest: None,
            last_rtcp_from_dest: None,
            writer: RtpWriter::new(ssrc, 0, first_seq),
            remote_ssrc: None,
            rx: ReceiverStats::new(0),
            stats: StreamStats::default(),
            srtp_out: None,
            srtp_in: None,
            srtp_params: None,
            moved: false,
            plain: Vec::with_capacity(1500),
            out: Vec::with_capacity(1500),
            protected: Vec::with_capacity(1600),
        }
    }

    /// Takes a new negotiation of this stream (None: the stream is gone or refused).
    pub(super) fn configure(&mut self, neg: Option<NegotiatedStream>) {
        if let Some(n) = &neg {
            if !self.stats.latched {
                self.dest_rtp = n.remote_rtp;
                self.dest_rtcp = if n.rtcp_mux {
                    n.remote_rtp
                } else {
                    n.remote_rtcp
                };
            }
            self.mux |= n.rtcp_mux;
            if self.writer.payload_type() != n.codec.payload_type {
                self.writer = RtpWriter::new(
                    self.writer.ssrc(),
                    n.codec.payload_type,
                    self.writer.next_sequence(),
                );
            }
            if self.rx.clock_rate() != n.codec.clock_rate {
                self.rx = ReceiverStats::new(n.codec.clock_rate);
            }
            // New keys mean new contexts (RFC 4568 §7.1.4); the same keys keep their state.
            if n.srtp != self.srtp_params {
                self.srtp_out = n
                    .srtp
                    .as_ref()
                    .map(|s| SrtpContext::new(s.suite, &s.local_key));
                self.srtp_in = n
                    .srtp
                    .as_ref()
                    .map(|s| SrtpContext::new(s.suite, &s.remote_key));
                self.srtp_params = n.srtp.clone();
            }
            self.stats.srtp = n.srtp.is_some();
        }
        self.neg = neg;
    }

    fn direction(&self) -> Direction {
        self.neg
            .as_ref()
            .map_or(Direction::Inactive, |n| n.direction)
    }

    /// Whether we send on this stream now (negotiated, our direction sends, a destination).
    pub(super) fn can_send(&self) -> bool {
        matches!(self.direction(), Direction::SendRecv | Direction::SendOnly)
            && self.dest_rtp.is_some()
    }

    /// The negotiated direction lets us send (whether or not we know where to yet).
    pub(super) fn sends(&self) -> bool {
        matches!(self.direction(), Direction::SendRecv | Direction::SendOnly)
    }

    pub(super) fn receives(&self) -> bool {
        matches!(self.direction(), Direction::SendRecv | Direction::RecvOnly)
    }

    /// A datagram from the RTP socket. RTP is decrypted into `self.plain`.
    pub(super) fn on_rtp_socket(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        now: Instant,
        since_start: Duration,
    ) -> Inbound {
        if rtcp::is_rtcp(data) {
            return match self.on_rtcp(data, from, now, true) {
                Some(p) => Inbound::Rtcp(p),
                None => Inbound::Dropped,
            };
        }
        let ok = match self.srtp_in.as_mut() {
            Some(ctx) => match ctx.unprotect_rtp(data, &mut self.plain) {
                Ok(()) => true,
                Err(e) => {
                    tracing::debug!(error = %e, len = data.len(), "SRTP packet dropped");
                    false
                }
            },
            None => {
                self.plain.clear();
                self.plain.extend_from_slice(data);
                true
            }
        };
        let header = ok.then(|| RtpHeader::parse(&self.plain)).flatten();
        let Some(h) = header.filter(|_| self.neg.is_some()) else {
            self.stats.packets_dropped += 1;
            return Inbound::Dropped;
        };
        self.latch_rtp(from, now);
        if self.remote_ssrc != Some(h.ssrc) {
            self.remote_ssrc = Some(h.ssrc);
            self.rx = ReceiverStats::new(self.rx.clock_rate());
        }
        self.rx.on_packet(h.sequence, h.timestamp, since_start);
        self.stats.packets_received += 1;
        self.stats.octets_received += data.len() as u64;
        Inbound::Rtp
    }

    /// An RTCP datagram (from the RTCP socket, or muxed when `on_rtp_port`).
    pub(super) fn on_rtcp(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        now: Instant,
        on_rtp_port: bool,
    ) -> Option<Vec<RtcpPacket>> {
        let mut decrypted = Vec::new();
        let plain: Option<&[u8]> = match self.srtp_in.as_mut() {
            Some(ctx) => match ctx.unprotect_rtcp(data, &mut decrypted) {
                Ok(()) => Some(&decrypted),
                Err(e) => {
                    tracing::debug!(error = %e, len = data.len(), "SRTCP packet dropped");
                    None
                }
            },
            None => Some(data),
        };
        let parsed = plain.map(rtcp::parse);
        if let Some(Err(e)) = &parsed {
            tracing::debug!(error = %e, "RTCP packet dropped");
        }
        let Some(Ok(packets)) = parsed else {
            self.stats.packets_dropped += 1;
            return None;
        };
        if on_rtp_port {
            self.mux = true;
        }
        let fresh = self
            .last_rtcp_from_dest
            .is_none_or(|t| now.duration_since(t) > RELATCH_AFTER);
        if self.dest_rtcp == Some(from) || fresh {
            self.dest_rtcp = Some(from);
            self.last_rtcp_from_dest = Some(now);
        }
        self.stats.rtcp_received += 1;
        Some(packets)
    }

    fn latch_rtp(&mut self, from: SocketAddr, now: Instant) {
        if self.dest_rtp == Some(from) {
            self.last_rtp_from_dest = Some(now);
            self.stats.latched = true;
            return;
        }
        let fresh = self
            .last_rtp_from_dest
            .is_none_or(|t| now.duration_since(t) > RELATCH_AFTER);
        if fresh {
            tracing::debug!(to = %from, "RTP latched");
            self.moved = true;
            self.dest_rtp = Some(from);
            self.last_rtp_from_dest = Some(now);
            self.stats.latched = true;
            if self.mux {
                self.dest_rtcp = Some(from);
            }
        }
    }

    /// Sends one RTP packet (encrypted when SRTP is on).
    pub(super) async fn send_rtp(&mut self, marker: bool, ts: u32, payload: &[u8]) {
        let Some(dest) = self.dest_rtp else { return };
        self.writer.write(marker, ts, payload, &mut self.out);
        let wire = match self.srtp_out.as_mut() {
            Some(ctx) => {
                if ctx.protect_rtp(&self.out, &mut self.protected).is_err() {
                    return;
                }
                &self.protected
            }
            None => &self.out,
        };
        if self.pair.rtp.send_to(wire, dest).await.is_ok() {
            self.stats.packets_sent += 1;
            self.stats.octets_sent += wire.len() as u64;
        }
    }

    /// Sends one RTCP compound packet to the RTCP destination (the RTP port with mux).
    pub(super) async fn send_rtcp(&mut self, packet: &[u8]) {
        let Some(dest) = (if self.mux {
            self.dest_rtp
        } else {
            self.dest_rtcp
        }) else {
            return;
        };
        let wire = match self.srtp_out.as_mut() {
            Some(ctx) => {
                let mut out = Vec::with_capacity(packet.len() + 16);
                if ctx.protect_rtcp(packet, &mut out).is_err() {
                    return;
                }
                out
            }
            None => packet.to_vec(),
        };
        let socket = if self.mux {
            &self.pair.rtp
        } else {
            &self.pair.rtcp
        };
        if socket.send_to(&wire, dest).await.is_ok() {
            self.stats.rtcp_sent += 1;
        }
    }

    /// Our SR (when we sent) or RR, with a report block on the caller's source.
    /// Our SSRC on this stream.
    pub(super) fn ssrc(&self) -> u32 {
        self.writer.ssrc()
    }

    pub(super) fn report(&mut self, rtp_ts: u32, cname: &str, since_start: Duration) -> Vec<u8> {
        let mut blocks = Vec::new();
        if let Some(ssrc) = self.remote_ssrc {
            let b = self.rx.report_block(ssrc, since_start);
            self.stats.packets_lost = i64::from(b.cumulative_lost);
            let rate = self.rx.clock_rate().max(1);
            self.stats.jitter_ms = f64::from(b.jitter) * 1000.0 / f64::from(rate);
            blocks.push(b);
        }
        let ssrc = self.writer.ssrc();
        if self.writer.packets_sent() > 0 {
            let ntp = rtcp::ntp_now(std::time::SystemTime::now());
            rtcp::sender_report(
                ssrc,
                ntp,
                rtp_ts,
                self.writer.packets_sent(),
                self.writer.octets_sent(),
                &blocks,
                cname,
            )
        } else {
            rtcp::receiver_report(ssrc, &blocks, cname)
        }
    }

    pub(super) fn snapshot(&self) -> StreamStats {
        let mut s = self.stats.clone();
        s.remote_rtp = self.dest_rtp.map(|a| a.to_string());
        s.remote_rtcp = if self.mux {
            self.dest_rtp
        } else {
            self.dest_rtcp
        }
        .map(|a| a.to_string());
        s
    }
}
