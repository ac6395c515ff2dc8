#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::time::Duration;

use gst::prelude::*;

/// Runs a pipeline description ending in `appsink name=sink` (and optionally
/// starting with `appsrc name=src`, fed with `input`) to EOS; returns samples.
pub fn run_samples(desc: &str, input: Vec<gst::Buffer>) -> Vec<gst::Sample> {
    run_samples_with(desc, |_| {}, input)
}

/// [`run_samples`] after `setup` configured the pipeline's elements (properties, signal
/// handlers) before it starts.
pub fn run_samples_with(
    desc: &str,
    setup: impl FnOnce(&gst::Pipeline),
    input: Vec<gst::Buffer>,
) -> Vec<gst::Sample> {
    cvi_media_gst::init().unwrap();
    let pipeline = gst::parse::launch(desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    setup(&pipeline);
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    if let Some(src) = pipeline.by_name("src")
        && let Ok(src) = src.downcast::<gst_app::AppSrc>()
    {
        src.set_property("max-bytes", 0u64);
        for b in input {
            src.push_buffer(b).unwrap();
        }
        src.end_of_stream().unwrap();
    }
    let mut out = Vec::new();
    loop {
        match sink.try_pull_sample(gst::ClockTime::from_seconds(5)) {
            Some(s) => out.push(s),
            None => {
                assert!(sink.is_eos(), "pipeline stalled: {desc}");
                break;
            }
        }
    }
    let bus = pipeline.bus().unwrap();
    if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        panic!("pipeline error: {msg:?}");
    }
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

pub fn bytes(sample: &gst::Sample) -> Vec<u8> {
    sample.buffer().unwrap().map_readable().unwrap().to_vec()
}

pub fn buffer(data: &[u8]) -> gst::Buffer {
    cvi_media_gst::init().unwrap();
    gst::Buffer::from_slice(data.to_vec())
}

pub fn pcm_to_buffer(pcm: &[i16]) -> gst::Buffer {
    buffer(
        &pcm.iter()
            .flat_map(|s| s.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

pub fn s16(data: &[u8]) -> Vec<i16> {
    data.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt()
}

pub fn sine(rate: u32, hz: f64, secs: f64, amplitude: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| {
            (amplitude * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin())
                as i16
        })
        .collect()
}

/// Splits an Annex-B byte stream into NAL units (without start codes).
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new(); // (start code begin, payload begin)
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            let begin = if i > 0 && data[i - 1] == 0 { i - 1 } else { i };
            starts.push((begin, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &(_, payload)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |&(b, _)| b);
        nals.push(&data[payload..end]);
    }
    nals
}

pub fn nal_types(data: &[u8]) -> Vec<u8> {
    split_annex_b(data).iter().map(|n| n[0] & 0x1f).collect()
}

pub struct RgbFrame {
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    pub data: Vec<u8>,
}

impl RgbFrame {
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let o = y * self.stride + x * 3;
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }
}

/// Decodes Annex-B access units to RGB frames.
pub fn decode_h264(units: &[Vec<u8>]) -> Vec<RgbFrame> {
    let input = units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut b = gst::Buffer::from_slice(u.clone());
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(i as u64 * 100));
            b
        })
        .collect();
    run_samples(
        "appsrc name=src format=time \
         caps=video/x-h264,stream-format=byte-stream,alignment=au ! \
         h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=RGB ! \
         appsink name=sink sync=false",
        input,
    )
    .iter()
    .map(|s| {
        let info = gst_video::VideoInfo::from_caps(s.caps().unwrap()).unwrap();
        RgbFrame {
            width: info.width() as usize,
            height: info.height() as usize,
            stride: info.stride()[0] as usize,
            data: bytes(s),
        }
    })
    .collect()
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}
