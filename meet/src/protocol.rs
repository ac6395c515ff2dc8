//! The page ↔ gateway signalling messages (JSON text frames on `/meet/{id}/ws`).
//!
//! The page sends one offer after `joined`; every later negotiation is a server offer the
//! page answers, so there is never glare. See `meet/assets/meet.js` for the other side.

use serde::{Deserialize, Serialize};

/// Client → server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Join { name: String },
    Offer { sdp: String },
    Answer { sdp: String },
    Candidate { candidate: Option<String> },
    Mute { audio: bool, video: bool },
    Admit { id: String },
    Reject { id: String },
    Recording { on: bool },
    Transcription { on: bool },
    Leave,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Joined {
        id: String,
        host: bool,
        meeting: MeetingRef,
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
    },
    Roster {
        participants: Vec<RosterEntry>,
    },
    Lobby {
        waiting: Vec<Waiting>,
    },
    State {
        recording: bool,
        transcription: bool,
    },
    Error {
        message: String,
    },
    Bye {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingRef {
    pub id: String,
    pub title: String,
}

/// A STUN or TURN server for the page's `RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub audio_muted: bool,
    pub video_muted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waiting {
    pub id: String,
    pub name: String,
}

/// Parses one text frame; the error is for the page's status line.
pub fn parse(text: &str) -> Result<ClientMsg, String> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(format!("message over {MAX_MESSAGE_BYTES} bytes"));
    }
    serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))
}

/// Largest message accepted (an SDP offer with many m-lines is ~20 kB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_client_message() {
        assert_eq!(
            parse(r#"{"type":"join","name":"Alice"}"#),
            Ok(ClientMsg::Join {
                name: "Alice".into()
            })
        );
        assert_eq!(
            parse(r#"{"type":"candidate","candidate":null}"#),
            Ok(ClientMsg::Candidate { candidate: None })
        );
        assert_eq!(
            parse(
                r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 5 typ host","sdpMid":"0","sdpMLineIndex":0}"#
            ),
            Ok(ClientMsg::Candidate {
                candidate: Some("candidate:1 1 udp 1 127.0.0.1 5 typ host".into())
            })
        );
        assert_eq!(
            parse(r#"{"type":"mute","audio":true,"video":false}"#),
            Ok(ClientMsg::Mute {
                audio: true,
                video: false
            })
        );
        assert_eq!(parse(r#"{"type":"leave"}"#), Ok(ClientMsg::Leave));
        assert_eq!(
            parse(r#"{"type":"recording","on":true}"#),
            Ok(ClientMsg::Recording { on: true })
        );
    }

    #[test]
    fn rejects_garbage_with_a_message() {
        for bad in [
            "",
            "{",
            "null",
            r#"{"type":"nope"}"#,
            r#"{"type":"join"}"#,
            "[1,2]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"x".repeat(MAX_MESSAGE_BYTES + 1)).is_err());
    }

    #[test]
    fn server_messages_have_the_page_field_names() {
        let m = ServerMsg::Roster {
            participants: vec![RosterEntry {
                id: "v2".into(),
                name: "Room 1".into(),
                kind: "video_device",
                audio_muted: true,
                video_muted: false,
            }],
        };
        assert_eq!(
            serde_json::to_string(&m).ok().as_deref(),
            Some(
                r#"{"type":"roster","participants":[{"id":"v2","name":"Room 1","kind":"video_device","audioMuted":true,"videoMuted":false}]}"#
            )
        );
    }
}
