//! Parse arbitrary bytes; whatever parses must serialize and re-parse to an
//! equal description.
#![no_main]

use cvi_media::sdp::SessionDescription;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = SessionDescription::parse_bytes(data) {
        let text = sdp.to_string();
        let again = SessionDescription::parse(&text)
            .unwrap_or_else(|e| panic!("serialized SDP does not parse: {e}\n{text}"));
        assert_eq!(again, sdp, "round trip changed the description:\n{text}");
    }
});
