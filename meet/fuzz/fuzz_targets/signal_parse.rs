//! What a meeting page may send: any text frame goes through `protocol::parse`; the SDP of
//! an offer or answer through str0m's SDP parser and a candidate through its candidate
//! parser, as the room does. None of it may panic (a panic would end the meeting's room).
#![no_main]

use cvi_meet::protocol::{ClientMsg, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The frame as it is, and the bytes as the SDP of an offer (SDP-aware mutations).
    let sdp_msg = serde_json_escape(&text);
    for t in [text.to_string(), sdp_msg] {
        match parse(&t) {
            Ok(ClientMsg::Offer { sdp }) => {
                let _ = str0m::change::SdpOffer::from_sdp_string(&sdp);
            }
            Ok(ClientMsg::Answer { sdp }) => {
                let _ = str0m::change::SdpAnswer::from_sdp_string(&sdp);
            }
            Ok(ClientMsg::Candidate { candidate: Some(c) }) => {
                let _ = str0m::Candidate::from_sdp_string(&c);
            }
            _ => {}
        }
    }
});

/// `{"type":"offer","sdp":<text>}` with the text JSON-escaped.
fn serde_json_escape(text: &str) -> String {
    let mut out = String::from("{\"type\":\"offer\",\"sdp\":\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str("\"}");
    out
}
