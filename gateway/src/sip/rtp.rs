//! RTP/RTCP sockets of a call's SIP leg. Bound for real before the SDP answer is written;
//! until the media pipeline exists, audio RTP is passed to the call (DTMF for the IVR) and
//! everything else is read and dropped.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

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

/// The media sockets of one call and the tasks draining them; dropping it closes them all.
pub(crate) struct CallMedia {
    pub audio: RtpPair,
    pub video: RtpPair,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
    /// Milliseconds after `started` at which the last packet (RTP or RTCP, any stream) came.
    last_packet_ms: Arc<AtomicU64>,
}

impl CallMedia {
    /// Binds the sockets. Audio RTP packets go to `audio_tx` (for DTMF; dropped when the
    /// receiver is slow or gone); everything else is read and dropped.
    pub(crate) async fn bind(ip: IpAddr, audio_tx: mpsc::Sender<Vec<u8>>) -> std::io::Result<Self> {
        let audio = bind_pair(ip).await?;
        let video = bind_pair(ip).await?;
        let mut tasks = Vec::new();
        let started = Instant::now();
        let last_packet_ms = Arc::new(AtomicU64::new(0));
        let stamp = move |last: &AtomicU64| {
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            last.store(ms, Ordering::Relaxed);
        };
        let (s, last) = (audio.rtp.clone(), last_packet_ms.clone());
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, _)) = s.recv_from(&mut buf).await {
                stamp(&last);
                if !audio_tx.is_closed() {
                    let _ = audio_tx.try_send(buf.get(..n).unwrap_or_default().to_vec());
                }
            }
        }));
        for s in [&audio.rtcp, &video.rtp, &video.rtcp] {
            let (s, last) = (s.clone(), last_packet_ms.clone());
            tasks.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                while s.recv_from(&mut buf).await.is_ok() {
                    stamp(&last);
                }
            }));
        }
        Ok(Self {
            audio,
            video,
            tasks,
            started,
            last_packet_ms,
        })
    }

    /// How long no RTP or RTCP packet has arrived on any stream of the call (since the
    /// sockets were bound, when none ever came). A muted or lonely endpoint still sends RTCP
    /// reports, so silence here means the far end is gone.
    pub(crate) fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_packet_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

impl Drop for CallMedia {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
