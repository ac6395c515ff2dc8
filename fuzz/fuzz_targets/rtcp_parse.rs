//! RTCP compound parsing and H.264 depacketization on arbitrary bytes: never panic;
//! a parsed sender or receiver report rebuilds into a packet that parses back equal;
//! every access unit the depacketizer returns is Annex-B with at least one NAL unit.
//!
//! The whole input goes to `rtcp::parse`; it is also cut into records
//! `flags(1) payload(flags & 0x3f)` (bit 7 = marker, bit 6 = reset first) for
//! `h264::Depacketizer::push` and the payload readers (`payload_nal_units`,
//! `payload_is_keyframe`, `payload_sps_profile`).
#![no_main]

use cvi_media::rtp::h264::{self, Depacketizer};
use cvi_media::rtp::rtcp::{self, RtcpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packets) = rtcp::parse(data) {
        assert!(!packets.is_empty() && packets.len() <= data.len() / 4);
        for p in &packets {
            match p {
                RtcpPacket::SenderReport {
                    ssrc,
                    ntp,
                    rtp_ts,
                    packets,
                    octets,
                    blocks,
                } => {
                    let again =
                        rtcp::sender_report(*ssrc, *ntp, *rtp_ts, *packets, *octets, blocks, "f");
                    let parsed = rtcp::parse(&again).expect("rebuilt SR parses");
                    assert_eq!(parsed.first(), Some(p));
                }
                RtcpPacket::ReceiverReport { ssrc, blocks } => {
                    let again = rtcp::receiver_report(*ssrc, blocks, "f");
                    let parsed = rtcp::parse(&again).expect("rebuilt RR parses");
                    assert_eq!(parsed.first(), Some(p));
                }
                _ => {}
            }
        }
    }

    let mut depack = Depacketizer::new();
    let mut rest = data;
    while let [flags, tail @ ..] = rest {
        let len = usize::from(flags & 0x3f).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        if flags & 0x40 != 0 {
            depack.reset();
        }
        // What the meeting reads of each forwarded packet: the units it carries or begins.
        for n in h264::payload_nal_units(payload) {
            assert!(n.nal_type() <= 31);
        }
        let _ = (h264::payload_is_keyframe(payload), h264::payload_sps_profile(payload));
        if let Some(unit) = depack.push(payload, flags & 0x80 != 0) {
            assert!(unit.starts_with(&[0, 0, 0, 1]));
            assert!(h264::nal_units(&unit).next().is_some());
            let _ = h264::sps_profile(&unit);
        }
    }
});
