//! CPU per stream of the live audio transcoders, 20 ms at a time, each next
//! to the bare GStreamer pipeline doing the same codec work
//! (`appsrc ! CODEC ! fakesink`, all buffers pushed at once) in the same run.
//!
//! `cargo bench -p cvi-media-gst --bench live_audio`. Prints figures, asserts nothing.
//! CPU is the process's (user + system, every thread) from `getrusage`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use cvi_media_gst::live_audio::frame_samples;
use cvi_media_gst::{AudioCodec, AudioDecoder, AudioEncoder};
use gst::prelude::*;
use nix::sys::resource::{UsageWho, getrusage};

fn cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    tv(usage.user_time()) + tv(usage.system_time())
}

/// Speech-ish test signal: three wandering partials, amplitude modulation and noise.
fn signal(rate: u32, secs: u32) -> Vec<i16> {
    let mut seed = 0x2545_f491u32;
    (0..rate * secs)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            let envelope = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
            let partials: f64 = [(220.0, 0.5), (710.0, 0.3), (2300.0, 0.15)]
                .iter()
                .map(|&(hz, a)| {
                    a * (2.0 * std::f64::consts::PI * hz * t + (t * 1.7).sin() * 4.0).sin()
                })
                .sum();
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = f64::from(seed as i16) / 32768.0 * 0.03;
            (12000.0 * (envelope * partials + noise)) as i16
        })
        .collect()
}

fn pcm_buffers(pcm: &[i16], rate: u32) -> Vec<gst::Buffer> {
    pcm.chunks(frame_samples(rate))
        .enumerate()
        .map(|(i, c)| {
            let mut b = gst::Buffer::from_mut_slice(
                c.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>(),
            );
            let m = b.get_mut().unwrap();
            m.set_pts(gst::ClockTime::from_mseconds(20 * i as u64));
            m.set_duration(gst::ClockTime::from_mseconds(20));
            b
        })
        .collect()
}

fn payload_buffers(payloads: &[Vec<u8>]) -> Vec<gst::Buffer> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut b = gst::Buffer::from_slice(p.clone());
            let m = b.get_mut().unwrap();
            m.set_pts(gst::ClockTime::from_mseconds(20 * i as u64));
            m.set_duration(gst::ClockTime::from_mseconds(20));
            b
        })
        .collect()
}

/// CPU of running `appsrc caps=CAPS ! BODY ! fakesink` over `input` to EOS.
fn bare(caps: &str, body: &str, input: Vec<gst::Buffer>) -> Duration {
    let before = cpu();
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time caps={caps} ! {body} ! fakesink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    src.set_property("max-bytes", 0u64);
    pipeline.set_state(gst::State::Playing).unwrap();
    for b in input {
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    let msg = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .unwrap();
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    pipeline.set_state(gst::State::Null).unwrap();
    cpu() - before
}

fn report(name: &str, media: Duration, ours: Duration, frames: usize, bare: Duration) {
    let pct = |c: Duration| 100.0 * c.as_secs_f64() / media.as_secs_f64();
    let per_core = |c: Duration| media.as_secs_f64() / c.as_secs_f64().max(1e-9);
    println!(
        "{name:<24} ours {:>7.3}% of a core/stream ({:>8.0} streams/core, {:>6.1} µs/frame) | \
         bare pipeline {:>7.3}% ({:>8.0} streams/core) | ours/bare {:>5.2}",
        pct(ours),
        per_core(ours),
        ours.as_secs_f64() * 1e6 / frames as f64,
        pct(bare),
        per_core(bare),
        ours.as_secs_f64() / bare.as_secs_f64().max(1e-9),
    );
}

fn raw_caps(rate: u32) -> String {
    format!("audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate={rate}")
}

fn bench_encode(
    name: &str,
    codec: AudioCodec,
    rate: u32,
    secs: u32,
    bare_body: &str,
) -> Vec<Vec<u8>> {
    let pcm = signal(rate, secs);
    let mut encoder = AudioEncoder::new(codec, rate).unwrap();
    let before = cpu();
    let mut payloads = Vec::new();
    for chunk in pcm.chunks(frame_samples(rate)) {
        payloads.extend(encoder.encode(chunk).unwrap());
    }
    let ours = cpu() - before;
    let bare_cpu = bare(&raw_caps(rate), bare_body, pcm_buffers(&pcm, rate));
    report(
        name,
        Duration::from_secs(u64::from(secs)),
        ours,
        payloads.len(),
        bare_cpu,
    );
    payloads
}

fn bench_decode(
    name: &str,
    codec: AudioCodec,
    rate: u32,
    secs: u32,
    payloads: &[Vec<u8>],
    bare_caps: &str,
    bare_body: &str,
) {
    let mut decoder = AudioDecoder::new(codec, rate).unwrap();
    let mut out = Vec::with_capacity(frame_samples(rate));
    let before = cpu();
    for p in payloads {
        out.clear();
        decoder.decode_into(p, &mut out).unwrap();
    }
    let ours = cpu() - before;
    let bare_cpu = bare(bare_caps, bare_body, payload_buffers(payloads));
    report(
        name,
        Duration::from_secs(u64::from(secs)),
        ours,
        payloads.len(),
        bare_cpu,
    );
}

fn main() {
    cvi_media_gst::init().unwrap();
    let started = Instant::now();
    let opus = "opusenc frame-size=20 bitrate=32000 complexity=5 audio-type=voice \
                inband-fec=true packet-loss-percentage=10";
    let opus_caps = "audio/x-opus,channel-mapping-family=0,channels=1,rate=48000";
    let g722_caps = "audio/G722,rate=16000,channels=1";
    let ulaw_caps = "audio/x-mulaw,rate=8000,channels=1";
    println!(
        "live_audio bench: 20 ms frames, process CPU (getrusage), media time per case in brackets"
    );

    let secs = 30;
    let packets = bench_encode(
        &format!("Opus enc 48k [{secs}s]"),
        AudioCodec::Opus,
        48000,
        secs,
        opus,
    );
    bench_decode(
        &format!("Opus dec 48k [{secs}s]"),
        AudioCodec::Opus,
        48000,
        secs,
        &packets,
        opus_caps,
        &format!("opusdec ! {}", raw_caps(48000)),
    );
    let packets16 = bench_encode(
        &format!("Opus enc 16k [{secs}s]"),
        AudioCodec::Opus,
        16000,
        secs,
        opus,
    );
    // What a G.711 VTC's audio costs on its way to the browsers: 8 kHz in, SILK narrowband.
    bench_encode(
        &format!("Opus enc 8k [{secs}s]"),
        AudioCodec::Opus,
        8000,
        secs,
        opus,
    );
    bench_decode(
        &format!("Opus dec 16k [{secs}s]"),
        AudioCodec::Opus,
        16000,
        secs,
        &packets16,
        opus_caps,
        &format!("opusdec ! {}", raw_caps(16000)),
    );

    let secs = 60;
    let g722 = bench_encode(
        &format!("G.722 enc 16k [{secs}s]"),
        AudioCodec::G722,
        16000,
        secs,
        "avenc_g722",
    );
    bench_decode(
        &format!("G.722 dec 16k [{secs}s]"),
        AudioCodec::G722,
        16000,
        secs,
        &g722,
        g722_caps,
        "avdec_g722",
    );
    bench_encode(
        &format!("G.722 enc from 48k [{secs}s]"),
        AudioCodec::G722,
        48000,
        secs,
        &format!("audioresample ! {} ! avenc_g722", raw_caps(16000)),
    );
    bench_decode(
        &format!("G.722 dec to 48k [{secs}s]"),
        AudioCodec::G722,
        48000,
        secs,
        &g722,
        g722_caps,
        &format!("avdec_g722 ! audioresample ! {}", raw_caps(48000)),
    );

    let secs = 300;
    let ulaw = bench_encode(
        &format!("PCMU enc 8k [{secs}s]"),
        AudioCodec::Pcmu,
        8000,
        secs,
        "mulawenc",
    );
    bench_decode(
        &format!("PCMU dec 8k [{secs}s]"),
        AudioCodec::Pcmu,
        8000,
        secs,
        &ulaw,
        ulaw_caps,
        "mulawdec",
    );
    let secs = 60;
    bench_encode(
        &format!("PCMU enc from 48k [{secs}s]"),
        AudioCodec::Pcmu,
        48000,
        secs,
        &format!("audioresample ! {} ! mulawenc", raw_caps(8000)),
    );
    let ulaw60 = &ulaw[..ulaw.len() / 5];
    bench_decode(
        &format!("PCMU dec to 48k [{secs}s]"),
        AudioCodec::Pcmu,
        48000,
        secs,
        ulaw60,
        ulaw_caps,
        &format!("mulawdec ! audioresample ! {}", raw_caps(48000)),
    );
    println!("(bench ran {:?})", started.elapsed());
}
