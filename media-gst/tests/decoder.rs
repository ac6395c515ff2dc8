#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use cvi_media_gst::H264Decoder;

/// Encodes `frames` test frames to H.264 RTP packets; returns the packets and
/// the payloader's sprop-parameter-sets.
fn rtp_stream(frames: u32, config_interval: i32) -> (Vec<Vec<u8>>, Option<String>) {
    let samples = run_samples(
        &format!(
            "videotestsrc num-buffers={frames} pattern=ball ! \
             video/x-raw,width=320,height=240,framerate=30/1 ! \
             x264enc tune=zerolatency speed-preset=ultrafast key-int-max=300 ! \
             video/x-h264,profile=constrained-baseline ! \
             rtph264pay pt=96 mtu=1200 config-interval={config_interval} aggregate-mode=none ! \
             appsink name=sink sync=false"
        ),
        Vec::new(),
    );
    let sprop = samples
        .last()
        .and_then(|s| s.caps())
        .and_then(|c| c.structure(0))
        .and_then(|s| s.get::<String>("sprop-parameter-sets").ok());
    (samples.iter().map(bytes).collect(), sprop)
}

fn nal_type(rtp: &[u8]) -> u8 {
    let cc = usize::from(rtp[0] & 0x0f);
    rtp[12 + 4 * cc] & 0x1f
}

fn feed(decoder: &H264Decoder, packets: &[Vec<u8>]) {
    for (i, p) in packets.iter().enumerate() {
        decoder.push_rtp(p);
        if i % 4 == 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn decodes_rtp_stream() {
    let (packets, _) = rtp_stream(30, -1);
    assert!(packets.len() >= 30);
    let decoder = H264Decoder::new(96, None).unwrap();
    assert_eq!(decoder.stats().frames_decoded, 0);
    feed(&decoder, &packets);
    assert!(
        wait_until(Duration::from_secs(5), || decoder.stats().frames_decoded
            >= 25),
        "{:?}",
        decoder.stats()
    );
    let stats = decoder.stats();
    assert_eq!((stats.width, stats.height), (320, 240));
    // Garbage and short packets are ignored, not fatal.
    decoder.push_rtp(&[1, 2, 3]);
    decoder.push_rtp(&[0u8; 40]);
}

#[test]
fn decodes_with_out_of_band_parameter_sets() {
    let (packets, sprop) = rtp_stream(20, 0);
    let sprop = sprop.expect("rtph264pay caps carry sprop-parameter-sets");
    let total = packets.len();
    let stripped: Vec<Vec<u8>> = packets
        .into_iter()
        .filter(|p| !matches!(nal_type(p), 7 | 8 | 24))
        .collect();
    assert!(stripped.len() < total, "no in-band SPS/PPS to strip");
    let decoder = H264Decoder::new(96, Some(&sprop)).unwrap();
    feed(&decoder, &stripped);
    assert!(
        wait_until(Duration::from_secs(5), || decoder.stats().frames_decoded
            >= 15),
        "{:?}",
        decoder.stats()
    );
    assert_eq!((decoder.stats().width, decoder.stats().height), (320, 240));
}

#[test]
fn packet_loss_requests_keyframe() {
    let (packets, _) = rtp_stream(30, -1);
    let decoder = H264Decoder::new(96, None).unwrap();
    assert!(!decoder.take_keyframe_request());
    let half = packets.len() / 2;
    feed(&decoder, &packets[..half]);
    // Lose a few packets in the middle of the stream.
    feed(&decoder, &packets[half + 3..]);
    assert!(
        wait_until(Duration::from_secs(3), || decoder.stats().keyframe_requests
            > 0),
        "{:?}",
        decoder.stats()
    );
    assert!(decoder.take_keyframe_request());
    let stats = decoder.stats();
    let mut taken = 1;
    while decoder.take_keyframe_request() {
        taken += 1;
    }
    assert!(taken <= stats.keyframe_requests.max(1) + 2);
    assert!(!decoder.take_keyframe_request());
}

#[test]
fn invalid_arguments_are_errors() {
    assert!(H264Decoder::new(200, None).is_err());
    assert!(H264Decoder::new(96, Some("not base64 <>")).is_err());
}
