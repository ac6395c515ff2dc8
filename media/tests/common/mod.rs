//! Shared helpers for the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use cvi_media::sdp::{
    Answer, LocalAddrs, LocalCapabilities, NegotiationError, SessionDescription, answer,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Where the gateway listens in every test.
pub fn local() -> LocalAddrs {
    LocalAddrs {
        ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
        audio_port: 40000,
        video_port: 40002,
    }
}

/// A deterministic random source.
pub fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5EED)
}

/// Parses `text` (panicking with the error) and answers it with `caps`.
pub fn answer_with(text: &str, caps: &LocalCapabilities) -> Result<Answer, NegotiationError> {
    let offer = SessionDescription::parse(text).unwrap();
    answer(&offer, caps, &local(), &mut rng())
}

/// [`answer_with`] and the default capabilities.
pub fn answer_default(text: &str) -> Result<Answer, NegotiationError> {
    answer_with(text, &LocalCapabilities::default())
}

/// The fmtp text of `pt` in m-line `idx` of a description.
pub fn fmtp_of(sdp: &SessionDescription, idx: usize, pt: u8) -> String {
    sdp.media[idx]
        .fmtp(pt)
        .map(|f| f.params.clone())
        .unwrap_or_default()
}

/// A minimal offer: session lines followed by `media` (lines joined by CRLF).
pub fn offer_text(media: &[&str]) -> String {
    let mut s = String::from(
        "v=0\r\no=peer 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n",
    );
    for l in media {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s
}

/// Serializes and re-parses; the result must equal the input.
pub fn assert_round_trip(sdp: &SessionDescription) {
    let text = sdp.to_string();
    let again = SessionDescription::parse(&text).unwrap();
    assert_eq!(&again, sdp, "round trip changed the description:\n{text}");
}
