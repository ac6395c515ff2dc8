//! Parse arbitrary bytes and answer them with the default capabilities;
//! must never panic. An answer must itself serialize to SDP that parses,
//! and be accepted by `accept_answer` against the offer.
#![no_main]

use cvi_media::sdp::{LocalAddrs, LocalCapabilities, SessionDescription, accept_answer, answer};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = SessionDescription::parse_bytes(data) else { return };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let caps = LocalCapabilities::default();
    if let Ok(a) = answer(&offer, &caps, &LocalAddrs::default(), &mut rng) {
        assert_eq!(a.sdp.media.len(), offer.media.len(), "every m-line answered");
        let text = a.sdp.to_string();
        let reparsed = SessionDescription::parse(&text)
            .unwrap_or_else(|e| panic!("answer does not parse: {e}\n{text}"));
        assert_eq!(reparsed, a.sdp);
        let _ = accept_answer(&offer, &a.sdp);
    }
});
