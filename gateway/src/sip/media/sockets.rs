//! RTP/RTCP port pairs: an even RTP port with RTCP on the next one (RFC 3550 §11).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::UdpSocket;

/// An even RTP port with RTCP on the next one.
pub(crate) struct RtpPair {
    pub rtp: Arc<UdpSocket>,
    pub rtcp: Arc<UdpSocket>,
    pub port: u16,
}

pub(crate) async fn bind_pair(ip: IpAddr) -> std::io::Result<RtpPair> {
    let mut last = None;
    for _ in 0..64 {
        let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = rtp.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        match UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
            Ok(rtcp) => {
                return Ok(RtpPair {
                    rtp: Arc::new(rtp),
                    rtcp: Arc::new(rtcp),
                    port,
                });
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no even/odd port pair free")))
}
