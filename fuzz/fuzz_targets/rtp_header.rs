//! RTP header parsing on arbitrary datagrams: never panics, and the payload range it
//! reports is always inside the packet.
#![no_main]

use cvi_media::rtp::RtpHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(h) = RtpHeader::parse(data) {
        assert!(h.payload_start <= h.payload_end && h.payload_end <= data.len());
        assert_eq!(h.payload(data).len(), h.payload_end - h.payload_start);
        assert!(h.payload_type < 128);
    }
});
