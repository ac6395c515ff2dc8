//! The embedded meeting service of cvi-gateway.
//!
//! - `GET /meet/{meetingId}`: the meeting page (plain HTML/JS in `meet/assets`, no CDN);
//!   the organizer's link carries `?host=<key>` ([`MeetHub::host_key`]).
//! - `GET /meet/{meetingId}/ws`: the page's signalling ([`protocol`]).
//! - One room task per meeting in progress ([`room`]): WebRTC with every browser (str0m,
//!   sans-IO: ICE-lite, DTLS-SRTP, Opus/VP8/H.264, NACK, PLI/FIR, TWCC), forwarding between
//!   browsers as an SFU, and the VTCs' bridge ([`vtc`]): their H.264 forwarded to browsers
//!   as it is, their audio to Opus, a shared composite and mix-minus audio back.

mod http;
pub mod protocol;
mod room;
pub mod vtc;

pub use protocol::IceServer;
pub use room::RoomStatus;
pub use vtc::{VideoPackets, VtcEvent, VtcJoin, VtcLink, VtcMedia, VtcMediaIn, VtcMediaOut};

use protocol::MeetingRef;
use room::{RoomCmd, RoomTx};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The organizer's key for a meeting, from the gateway's meeting secret: the organizer's
/// link is `/meet/{meetingId}?host=<key>`.
pub fn host_key(secret: &str, meeting_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(secret.as_bytes());
    h.update(b"\0cvi-meet-host\0");
    h.update(meeting_id.as_bytes());
    hex::encode(h.finalize()).chars().take(32).collect()
}

/// Settings of the embedded meetings.
#[derive(Debug, Clone)]
pub struct MeetConfig {
    /// The address browsers send media to (a host ICE candidate).
    pub media_ip: IpAddr,
    /// STUN/TURN servers handed to the pages.
    pub ice_servers: Vec<IceServer>,
    /// Where recordings go (None: recording is refused).
    pub recordings_dir: Option<PathBuf>,
    /// Secret the organizers' host keys derive from.
    pub host_secret: String,
    /// How a VTC's video reaches browsers.
    pub vtc_video: VtcVideo,
}

/// How a VTC's H.264 reaches the browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VtcVideo {
    /// Forwarded as it is to every browser that negotiated its profile; transcoded (decode,
    /// scale, H.264 constrained baseline) for the others.
    #[default]
    Auto,
    /// Always transcoded (uniform streams; benchmarks of the transcoding path).
    Transcode,
}

/// A meeting as the page shows it; None from the lookup means "no such meeting".
pub type Lookup =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Option<MeetingInfo>> + Send>> + Send + Sync>;

/// What the lookup tells of a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingInfo {
    pub id: String,
    pub title: String,
}

/// The meetings in progress. Cheap to clone.
#[derive(Clone)]
pub struct MeetHub {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: Arc<MeetConfig>,
    lookup: Lookup,
    rooms: Mutex<HashMap<String, RoomTx>>,
}

impl MeetHub {
    pub fn new(cfg: MeetConfig, lookup: Lookup) -> MeetHub {
        MeetHub {
            inner: Arc::new(Inner {
                cfg: Arc::new(cfg),
                lookup,
                rooms: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The routes of the meeting pages and their signalling.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// The organizer's key for a meeting (`/meet/{id}?host=<key>`).
    pub fn host_key(&self, meeting_id: &str) -> String {
        host_key(&self.inner.cfg.host_secret, meeting_id)
    }

    fn is_host(&self, meeting_id: &str, key: &str) -> bool {
        let want = self.host_key(meeting_id);
        // Compare every byte whatever the first difference.
        want.len() == key.len()
            && want
                .bytes()
                .zip(key.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    async fn lookup(&self, meeting_id: &str) -> Option<MeetingInfo> {
        (self.inner.lookup)(meeting_id.to_string()).await
    }

    /// The room of a meeting, started if it is not running.
    async fn room(&self, m: &MeetingInfo) -> std::io::Result<RoomTx> {
        if let Some(tx) = self.rooms().get(&m.id).filter(|t| !t.is_closed()) {
            return Ok(tx.clone());
        }
        let (tx, _task) = room::spawn(
            MeetingRef {
                id: m.id.clone(),
                title: m.title.clone(),
            },
            self.inner.cfg.clone(),
        )
        .await?;
        let mut rooms = self.rooms();
        rooms.retain(|_, t| !t.is_closed());
        // Another join may have started the room meanwhile: use the first one.
        Ok(rooms.entry(m.id.clone()).or_insert(tx).clone())
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomTx>> {
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Puts a VTC into a meeting (waiting in its lobby if `join.waiting`).
    pub async fn join_vtc(&self, meeting_id: &str, join: VtcJoin) -> Result<VtcLink, String> {
        let m = self
            .lookup(meeting_id)
            .await
            .ok_or_else(|| format!("no meeting {meeting_id}"))?;
        // A room that closes while we join drops the reply: try a new one once.
        for _ in 0..2 {
            let room = self.room(&m).await.map_err(|e| format!("room: {e}"))?;
            let (reply, rx) = oneshot::channel();
            if room
                .send(RoomCmd::VtcJoin {
                    join: join.clone(),
                    reply,
                })
                .is_err()
            {
                continue;
            }
            if let Ok(link) = rx.await {
                return Ok(link);
            }
        }
        Err("the meeting room closed while joining".into())
    }

    /// A live snapshot of a meeting in progress (None: nobody is in it).
    pub async fn status(&self, meeting_id: &str) -> Option<RoomStatus> {
        let room = self.rooms().get(meeting_id).cloned()?;
        let (reply, rx) = oneshot::channel();
        room.send(RoomCmd::Status { reply }).ok()?;
        rx.await.ok()
    }

    /// Meetings with a room running.
    pub fn active_rooms(&self) -> usize {
        self.rooms().values().filter(|t| !t.is_closed()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(secret: &str) -> MeetHub {
        MeetHub::new(
            MeetConfig {
                media_ip: IpAddr::from([127, 0, 0, 1]),
                ice_servers: vec![],
                recordings_dir: None,
                host_secret: secret.into(),
                vtc_video: VtcVideo::Auto,
            },
            Arc::new(|_| Box::pin(async { None })),
        )
    }

    #[test]
    fn host_keys_are_per_meeting_and_secret() {
        let (a, b) = (hub("s1"), hub("s2"));
        let k = a.host_key("m1");
        assert_eq!(k.len(), 32);
        assert!(a.is_host("m1", &k));
        assert!(!a.is_host("m2", &k));
        assert!(!b.is_host("m1", &k));
        assert!(!a.is_host("m1", ""));
        assert!(!a.is_host("m1", &k[..31]));
    }
}
