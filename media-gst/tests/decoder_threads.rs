#![allow(clippy::unwrap_used)]
//! In its own test binary so no concurrently running test changes the
//! process's thread count.

mod common;

use std::time::Duration;

use common::*;
use cvi_media_gst::H264Decoder;

fn rtp_stream(frames: u32) -> Vec<Vec<u8>> {
    run_samples(
        &format!(
            "videotestsrc num-buffers={frames} ! video/x-raw,width=320,height=240,framerate=30/1 ! \
             x264enc tune=zerolatency speed-preset=ultrafast ! rtph264pay pt=96 ! \
             appsink name=sink sync=false"
        ),
        Vec::new(),
    )
    .iter()
    .map(bytes)
    .collect()
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn dropping_decoders_leaks_no_threads() {
    cvi_media_gst::init().unwrap();
    let packets = rtp_stream(5);
    // Warm up (GStreamer/GLib create a few long-lived threads once).
    drop(H264Decoder::new(96, None).unwrap());
    let start = thread_count();
    for _ in 0..50 {
        let d = H264Decoder::new(96, None).unwrap();
        for p in &packets {
            d.push_rtp(p);
        }
        drop(d);
    }
    assert!(
        wait_until(Duration::from_secs(3), || thread_count() <= start + 4),
        "threads: {start} -> {}",
        thread_count()
    );
}
