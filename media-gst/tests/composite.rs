#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use cvi_media_gst::composite::{MAX_TILES, notice_height};
use cvi_media_gst::{
    CompositeLayout, CompositeSubscription, EncodedFrame, H264Profile, Mixer, SlateParams,
    TileSpec, VideoCodec,
};
use gst::prelude::*;
use tokio::sync::broadcast::error::TryRecvError;

const BG: [u8; 3] = [0x1e, 0x2a, 0x3a];
const NOTICE: [u8; 3] = [198, 40, 40];
const GREEN: u32 = 0xff20_c040;
const GREEN_RGB: [u8; 3] = [0x20, 0xc0, 0x40];
const ORANGE: u32 = 0xffe0_8010;
const ORANGE_RGB: [u8; 3] = [0xe0, 0x80, 0x10];

fn params(width: u32, height: u32, fps: u32) -> SlateParams {
    SlateParams {
        width,
        height,
        fps,
        bitrate_kbps: 600,
        profile: H264Profile::ConstrainedBaseline,
        max_nal_bytes: None,
    }
}

fn tile(source: u64, x: u32, y: u32, w: u32, h: u32, label: &str) -> TileSpec {
    TileSpec {
        source,
        x,
        y,
        w,
        h,
        label: label.into(),
        muted: false,
    }
}

fn layout(tiles: Vec<TileSpec>, notice: Option<&str>) -> CompositeLayout {
    CompositeLayout {
        tiles,
        notice: notice.map(str::to_owned),
    }
}

/// Encoded frames (data, keyframe) of a solid-colour clip.
fn clip(
    codec: VideoCodec,
    width: u32,
    height: u32,
    argb: u32,
    frames: u32,
) -> Vec<(Vec<u8>, bool)> {
    let encoder = match codec {
        VideoCodec::Vp8 => "vp8enc deadline=1 keyframe-max-dist=1000".to_string(),
        VideoCodec::H264 => "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=1000 ! \
             video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au"
            .to_string(),
    };
    let samples = run_samples(
        &format!(
            "videotestsrc pattern=solid-color foreground-color={argb} num-buffers={frames} ! \
             video/x-raw,width={width},height={height},framerate=10/1 ! {encoder} ! \
             appsink name=sink sync=false"
        ),
        vec![],
    );
    samples
        .iter()
        .map(|s| {
            let key = !s
                .buffer()
                .unwrap()
                .flags()
                .contains(gst::BufferFlags::DELTA_UNIT);
            (bytes(s), key)
        })
        .collect()
}

fn push_clip(mixer: &Mixer, source: u64, codec: VideoCodec, frames: &[(Vec<u8>, bool)]) {
    for (data, key) in frames {
        mixer.push(source, codec, data, *key);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A streaming H.264 → RGB decoder with no frame delay.
struct Viewer {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    sink: gst_app::AppSink,
    n: u64,
}

impl Viewer {
    fn new() -> Self {
        cvi_media_gst::init().unwrap();
        let pipeline = gst::parse::launch(
            "appsrc name=src format=time caps=video/x-h264,stream-format=byte-stream,alignment=au ! \
             h264parse ! avdec_h264 max-threads=1 ! videoconvert ! video/x-raw,format=RGB ! \
             appsink name=sink sync=false",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let src = pipeline
            .by_name("src")
            .unwrap()
            .downcast::<gst_app::AppSrc>()
            .unwrap();
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        Viewer {
            pipeline,
            src,
            sink,
            n: 0,
        }
    }

    fn decode(&mut self, frame: &EncodedFrame) -> RgbFrame {
        let mut b = gst::Buffer::from_slice(frame.data.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(self.n * 10));
        self.n += 1;
        self.src.push_buffer(b).unwrap();
        let s = self
            .sink
            .try_pull_sample(gst::ClockTime::from_seconds(3))
            .expect("decoded picture");
        let info = gst_video::VideoInfo::from_caps(s.caps().unwrap()).unwrap();
        RgbFrame {
            width: info.width() as usize,
            height: info.height() as usize,
            stride: info.stride()[0] as usize,
            data: bytes(&s),
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn next_frame(sub: &mut CompositeSubscription, timeout: Duration) -> Arc<EncodedFrame> {
    let deadline = Instant::now() + timeout;
    loop {
        match sub.try_recv() {
            Ok(f) => return f,
            Err(TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => panic!("no frame: {e:?}"),
        }
    }
}

/// Decodes frames until `pred` holds; returns how many frames that took.
fn wait_picture(
    sub: &mut CompositeSubscription,
    viewer: &mut Viewer,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&RgbFrame) -> bool,
) -> (usize, RgbFrame) {
    let deadline = Instant::now() + timeout;
    let mut n = 0;
    loop {
        let frame = next_frame(sub, Duration::from_secs(2));
        let pic = viewer.decode(&frame);
        n += 1;
        if pred(&pic) {
            return (n, pic);
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
    }
}

fn near(pic: &RgbFrame, x: usize, y: usize, want: [u8; 3]) -> bool {
    let got = pic.pixel(x, y);
    got.iter()
        .zip(want)
        .all(|(&g, w)| (i32::from(g) - i32::from(w)).abs() <= 24)
}

fn count(
    pic: &RgbFrame,
    xs: std::ops::Range<usize>,
    ys: std::ops::Range<usize>,
    f: impl Fn([u8; 3]) -> bool,
) -> usize {
    ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
        .filter(|&(x, y)| f(pic.pixel(x, y)))
        .count()
}

#[test]
fn sources_appear_in_their_tiles_letterboxed() {
    let mixer = Mixer::new().unwrap();
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(
                vec![
                    tile(1, 0, 0, 160, 90, "Alice"),
                    tile(2, 160, 90, 160, 90, "Bob"),
                ],
                None,
            ),
        )
        .unwrap();
    // 16:9 VP8 fills its tile; 4:3 H.264 is letterboxed (120x90 at x=180).
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 3),
    );
    push_clip(
        &mixer,
        2,
        VideoCodec::H264,
        &clip(VideoCodec::H264, 160, 120, ORANGE, 3),
    );
    let mut viewer = Viewer::new();
    let (_, pic) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(5),
        "both tiles",
        |p| near(p, 80, 30, GREEN_RGB) && near(p, 240, 110, ORANGE_RGB),
    );
    assert_eq!((pic.width, pic.height), (320, 180));
    // Tile 1 fills 0..160 x 0..90 (away from its label).
    for (x, y) in [(4, 4), (155, 4), (80, 45), (155, 60)] {
        assert!(
            near(&pic, x, y, GREEN_RGB),
            "{x},{y}: {:?}",
            pic.pixel(x, y)
        );
    }
    // Letterbox bars of tile 2 and the empty quarters are background.
    for (x, y) in [
        (166, 120),
        (314, 120),
        (240, 30),
        (300, 60),
        (60, 130),
        (120, 170),
    ] {
        assert!(near(&pic, x, y, BG), "{x},{y}: {:?}", pic.pixel(x, y));
    }
    // Orange spans the letterboxed picture.
    for (x, y) in [(186, 100), (294, 100), (240, 140)] {
        assert!(
            near(&pic, x, y, ORANGE_RGB),
            "{x},{y}: {:?}",
            pic.pixel(x, y)
        );
    }
    // Labels: white text on the shaded band at the bottom-left of each tile.
    let white = |p: [u8; 3]| p.iter().all(|&c| c > 200);
    assert!(count(&pic, 0..80, 70..90, white) > 15, "no label in tile 1");
    assert!(
        count(&pic, 160..240, 160..180, white) > 15,
        "no label in tile 2"
    );
    assert_eq!(mixer.active_decoders(), 2);
    assert_eq!(mixer.active_encoders(), 1);
}

#[test]
fn layout_change_moves_a_tile_without_restarting() {
    let mixer = Mixer::new().unwrap();
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(vec![tile(1, 0, 0, 160, 90, "Alice")], None),
        )
        .unwrap();
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 3),
    );
    let mut viewer = Viewer::new();
    wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(5),
        "tile 1",
        |p| near(p, 80, 30, GREEN_RGB) && near(p, 240, 120, BG),
    );
    sub.set_layout(&layout(vec![tile(1, 160, 90, 160, 90, "Alice")], None));
    let mut frames = 0;
    let moved = loop {
        let f = next_frame(&mut sub, Duration::from_secs(2));
        assert!(
            !f.keyframe,
            "the encoder restarted (IDR after a layout change)"
        );
        frames += 1;
        let pic = viewer.decode(&f);
        if near(&pic, 240, 120, GREEN_RGB) && near(&pic, 80, 30, BG) {
            break frames;
        }
        assert!(frames < 10, "tile did not move within 10 frames");
    };
    assert!(moved <= 3, "tile moved only after {moved} frames");
    assert_eq!(mixer.active_encoders(), 1);
    // Resizing to the full frame (letterboxed 16:9 → fills it).
    sub.set_layout(&layout(vec![tile(1, 0, 0, 320, 180, "Alice")], None));
    let (n, _) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "full frame",
        |p| near(p, 10, 10, GREEN_RGB) && near(p, 310, 100, GREEN_RGB),
    );
    assert!(n <= 3, "resize took {n} frames");
}

#[test]
fn notice_band_appears_and_disappears() {
    let mixer = Mixer::new().unwrap();
    let band = notice_height(180) as usize;
    assert_eq!(band, 22);
    assert_eq!(notice_height(720), 90);
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(vec![], Some("Recording")),
        )
        .unwrap();
    let mut viewer = Viewer::new();
    let in_band = |p: &RgbFrame| {
        [(3, band / 2), (316, band / 2), (3, 2), (316, band - 3)]
            .iter()
            .all(|&(x, y)| near(p, x, y, NOTICE))
    };
    let (_, pic) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "band",
        in_band,
    );
    // Exactly one band: below it is background, and the text is white.
    assert!(near(&pic, 3, band + 3, BG) && near(&pic, 160, 100, BG));
    let white = |p: [u8; 3]| p.iter().all(|&c| c > 200);
    assert!(count(&pic, 60..260, 0..band, white) > 20, "no notice text");

    sub.set_layout(&layout(vec![], None));
    let (n, _) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "no band",
        |p| near(p, 3, band / 2, BG) && near(p, 316, band / 2, BG),
    );
    assert!(n <= 3, "band still there after {n} frames");
    sub.set_layout(&layout(vec![], Some("Transcription is on")));
    let (n, _) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "band again",
        in_band,
    );
    assert!(n <= 3, "band back only after {n} frames");
}

#[test]
fn muted_tile_shows_red_marker() {
    let mixer = Mixer::new().unwrap();
    let mut muted = tile(5, 0, 0, 320, 180, "Carol");
    muted.muted = true;
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(vec![muted.clone()], None),
        )
        .unwrap();
    let mut viewer = Viewer::new();
    let red = |p: [u8; 3]| p[0] > 150 && p[1] < 110 && p[2] < 110;
    let (_, pic) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "marker",
        |p| count(p, 260..320, 0..50, red) > 40,
    );
    // Nowhere else (the unknown source shows background + label).
    assert_eq!(count(&pic, 0..240, 0..180, red), 0);
    let white = |p: [u8; 3]| p.iter().all(|&c| c > 200);
    let muted_label = count(&pic, 0..320, 140..180, white);
    assert!(muted_label > 30, "no label");
    sub.set_layout(&layout(
        vec![TileSpec {
            muted: false,
            ..muted
        }],
        None,
    ));
    let (n, pic) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "no marker",
        |p| count(p, 260..320, 0..50, red) == 0,
    );
    assert!(n <= 3);
    // " (muted)" is gone: a shorter label.
    let label = count(&pic, 0..320, 140..180, white);
    assert!(
        label > 10 && label < muted_label,
        "{label} vs {muted_label}"
    );
}

#[test]
fn same_view_and_params_share_one_encoder() {
    let mixer = Mixer::new().unwrap();
    let l = layout(vec![], None);
    let s1 = mixer.output("a", &params(320, 180, 10), &l).unwrap();
    let mut s2 = mixer
        .clone()
        .output("a", &params(320, 180, 10), &l)
        .unwrap();
    assert_eq!(mixer.active_encoders(), 1);
    // The second subscriber gets an IDR (with SPS/PPS) soon: recv skips to it.
    let start = Instant::now();
    let f = next_frame(&mut s2, Duration::from_secs(1));
    assert!(f.keyframe && start.elapsed() < Duration::from_millis(800));
    let types = nal_types(&f.data);
    assert!(
        types.contains(&7) && types.contains(&8) && types.contains(&5),
        "{types:?}"
    );

    let s3 = mixer.output("b", &params(320, 180, 10), &l).unwrap();
    assert_eq!(mixer.active_encoders(), 2);
    let s4 = mixer.output("a", &params(320, 180, 15), &l).unwrap();
    assert_eq!(mixer.active_encoders(), 3);
    drop(s1);
    assert_eq!(mixer.active_encoders(), 3);
    drop(s2);
    assert_eq!(mixer.active_encoders(), 2);
    drop((s3, s4));
    assert_eq!(mixer.active_encoders(), 0);
    // And it starts again.
    let mut s5 = mixer.output("a", &params(320, 180, 10), &l).unwrap();
    assert_eq!(mixer.active_encoders(), 1);
    assert!(next_frame(&mut s5, Duration::from_secs(2)).keyframe);
}

#[test]
fn request_keyframe_gives_an_idr_within_two_frames() {
    let mixer = Mixer::new().unwrap();
    let mut sub = mixer
        .output("main", &params(320, 180, 15), &layout(vec![], Some("x")))
        .unwrap();
    let first = next_frame(&mut sub, Duration::from_secs(2));
    assert!(first.keyframe);
    for _ in 0..4 {
        assert!(!next_frame(&mut sub, Duration::from_secs(1)).keyframe);
    }
    for _ in 0..3 {
        sub.request_keyframe();
        let mut n = 0;
        let idr = loop {
            let f = next_frame(&mut sub, Duration::from_secs(1));
            n += 1;
            if f.keyframe {
                break f;
            }
            assert!(n < 5, "no IDR within 5 frames");
        };
        assert!(n <= 2, "IDR only after {n} frames");
        let types = nal_types(&idr.data);
        let sps = types.iter().position(|&t| t == 7).expect("SPS");
        let idr_at = types.iter().position(|&t| t == 5).expect("IDR");
        assert!(sps < idr_at, "{types:?}");
        for _ in 0..3 {
            assert!(!next_frame(&mut sub, Duration::from_secs(1)).keyframe);
        }
    }
}

/// Deterministic pseudo-random bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn requests(rx: &mut tokio::sync::mpsc::UnboundedReceiver<u64>) -> Vec<u64> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[test]
fn garbage_frames_are_dropped_and_reported() {
    let mixer = Mixer::new().unwrap();
    let mut kf = mixer.keyframe_requests();
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(
                vec![tile(9, 0, 0, 160, 90, "x"), tile(10, 160, 0, 160, 90, "y")],
                None,
            ),
        )
        .unwrap();
    // Plain garbage, of every small length.
    for len in (0..40).chain([100, 1000, 20_000]) {
        mixer.push(9, VideoCodec::Vp8, &noise(len as u64, len), true);
        mixer.push(10, VideoCodec::H264, &noise(len as u64 + 7, len), true);
    }
    // Garbage that passes the header checks: a VP8 key frame header and
    // H.264 NAL headers (SPS, PPS, IDR) with random payloads.
    for i in 0..20u64 {
        let mut vp8 = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xa0, 0x00, 0x5a, 0x00];
        vp8.extend(noise(i + 100, 300));
        mixer.push(9, VideoCodec::Vp8, &vp8, true);
        let mut h264 = Vec::new();
        for nal in [0x67u8, 0x68, 0x65] {
            h264.extend([0, 0, 0, 1, nal]);
            h264.extend(noise(i * 3 + u64::from(nal), 60).iter().map(|&b| b | 1));
        }
        mixer.push(10, VideoCodec::H264, &h264, true);
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut seen = std::collections::HashSet::new();
    wait_until(Duration::from_secs(2), || {
        seen.extend(requests(&mut kf));
        seen.contains(&9) && seen.contains(&10)
    });
    assert!(
        seen.contains(&9) && seen.contains(&10),
        "requests: {seen:?}"
    );

    // Still producing (an IDR on request), and both sources recover with
    // real streams.
    sub.request_keyframe();
    let mut viewer = Viewer::new();
    let mut n = 0;
    loop {
        let f = next_frame(&mut sub, Duration::from_secs(1));
        if f.keyframe {
            viewer.decode(&f);
            break;
        }
        n += 1;
        assert!(n < 5, "no IDR after garbage");
    }
    push_clip(
        &mixer,
        9,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 3),
    );
    push_clip(
        &mixer,
        10,
        VideoCodec::H264,
        &clip(VideoCodec::H264, 160, 90, ORANGE, 3),
    );
    wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(5),
        "recovered sources",
        |p| near(p, 80, 30, GREEN_RGB) && near(p, 240, 30, ORANGE_RGB),
    );
}

#[test]
fn decoder_waits_for_a_keyframe_and_asks_for_one() {
    let mixer = Mixer::new().unwrap();
    let mut kf = mixer.keyframe_requests();
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(vec![tile(3, 0, 0, 320, 180, "z")], None),
        )
        .unwrap();
    let frames = clip(VideoCodec::H264, 160, 90, GREEN, 6);
    assert!(frames[0].1 && frames[1..].iter().all(|f| !f.1));
    // Join mid-stream: P frames only (claimed to be keyframes, even).
    for (data, _) in &frames[1..] {
        mixer.push(3, VideoCodec::H264, data, true);
    }
    assert!(wait_until(Duration::from_secs(1), || requests(&mut kf).contains(&3)));
    assert_eq!(mixer.active_decoders(), 1);
    let mut viewer = Viewer::new();
    // A new output's first frame can leave before its live background's first picture
    // (black; seen once with the whole suite loading the machine): from the first frame
    // with the background on, the tile must stay background.
    wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "background",
        |p| near(p, 160, 60, BG),
    );
    for _ in 0..5 {
        let pic = viewer.decode(&next_frame(&mut sub, Duration::from_secs(2)));
        assert!(
            near(&pic, 160, 60, BG),
            "a picture without a keyframe: {:?}",
            pic.pixel(160, 60)
        );
    }
    push_clip(&mixer, 3, VideoCodec::H264, &frames);
    wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "picture",
        |p| near(p, 160, 60, GREEN_RGB),
    );
}

#[test]
fn codec_change_restarts_the_decoder() {
    let mixer = Mixer::new().unwrap();
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 10),
            &layout(vec![tile(4, 0, 0, 320, 180, "w")], None),
        )
        .unwrap();
    let mut viewer = Viewer::new();
    push_clip(
        &mixer,
        4,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 3),
    );
    wait_picture(&mut sub, &mut viewer, Duration::from_secs(5), "VP8", |p| {
        near(p, 160, 60, GREEN_RGB)
    });
    push_clip(
        &mixer,
        4,
        VideoCodec::H264,
        &clip(VideoCodec::H264, 320, 180, ORANGE, 3),
    );
    wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(5),
        "H.264",
        |p| near(p, 160, 60, ORANGE_RGB),
    );
    assert_eq!(mixer.active_decoders(), 1);
}

#[test]
fn removing_a_source_clears_its_tile() {
    let mixer = Mixer::new().unwrap();
    let l = layout(
        vec![tile(1, 0, 0, 160, 90, "a"), tile(2, 160, 0, 160, 90, "b")],
        None,
    );
    let mut sub = mixer.output("main", &params(320, 180, 10), &l).unwrap();
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 3),
    );
    push_clip(
        &mixer,
        2,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, ORANGE, 3),
    );
    let mut viewer = Viewer::new();
    wait_picture(&mut sub, &mut viewer, Duration::from_secs(5), "both", |p| {
        near(p, 80, 30, GREEN_RGB) && near(p, 240, 30, ORANGE_RGB)
    });
    assert_eq!(mixer.active_decoders(), 2);
    mixer.remove_source(1);
    assert_eq!(mixer.active_decoders(), 1);
    let (n, _) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(3),
        "cleared",
        |p| near(p, 80, 30, BG) && near(p, 240, 30, ORANGE_RGB),
    );
    assert!(n <= 3, "tile cleared after {n} frames");
    // A second output never shows it either.
    let mut other = mixer.output("other", &params(320, 180, 10), &l).unwrap();
    let mut viewer2 = Viewer::new();
    let (_, pic) = wait_picture(
        &mut other,
        &mut viewer2,
        Duration::from_secs(3),
        "other",
        |p| near(p, 240, 30, ORANGE_RGB),
    );
    assert!(near(&pic, 80, 30, BG));
}

#[test]
fn one_decoder_feeds_every_output() {
    let mixer = Mixer::new().unwrap();
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 3),
    );
    // Outputs created after the source's last frame still show its picture.
    std::thread::sleep(Duration::from_millis(200));
    let mut a = mixer
        .output(
            "a",
            &params(320, 180, 10),
            &layout(vec![tile(1, 0, 0, 160, 90, "a")], None),
        )
        .unwrap();
    let mut b = mixer
        .output(
            "b",
            &params(640, 360, 10),
            &layout(vec![tile(1, 320, 180, 320, 180, "a")], None),
        )
        .unwrap();
    let (mut va, mut vb) = (Viewer::new(), Viewer::new());
    wait_picture(&mut a, &mut va, Duration::from_secs(3), "a", |p| {
        near(p, 80, 30, GREEN_RGB)
    });
    wait_picture(&mut b, &mut vb, Duration::from_secs(3), "b", |p| {
        near(p, 480, 240, GREEN_RGB) && near(p, 160, 90, BG)
    });
    assert_eq!(mixer.active_decoders(), 1);
    assert_eq!(mixer.active_encoders(), 2);
}

#[test]
fn dropping_the_last_subscription_stops_the_encoder() {
    let mixer = Mixer::new().unwrap();
    let l = layout(vec![tile(1, 0, 0, 160, 90, "a")], None);
    let s1 = mixer.output("main", &params(320, 180, 10), &l).unwrap();
    let s2 = mixer.output("main", &params(320, 180, 10), &l).unwrap();
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 2),
    );
    assert_eq!(mixer.active_encoders(), 1);
    drop(s1);
    assert_eq!(mixer.active_encoders(), 1);
    drop(s2);
    assert_eq!(mixer.active_encoders(), 0);
    // Decoded pictures with no output are fine.
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 2),
    );
    assert_eq!(mixer.active_decoders(), 1);
}

#[test]
fn dropping_the_mixer_closes_its_outputs() {
    let mixer = Mixer::new().unwrap();
    let mut sub = mixer
        .output("main", &params(320, 180, 10), &layout(vec![], None))
        .unwrap();
    push_clip(
        &mixer,
        1,
        VideoCodec::Vp8,
        &clip(VideoCodec::Vp8, 160, 90, GREEN, 2),
    );
    next_frame(&mut sub, Duration::from_secs(2));
    drop(mixer);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match sub.try_recv() {
            Err(TryRecvError::Closed) => break,
            Ok(_) | Err(TryRecvError::Empty) | Err(TryRecvError::Lagged(_)) => {
                assert!(Instant::now() < deadline, "still open");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    // Harmless after the mixer is gone.
    sub.set_layout(&layout(vec![tile(1, 0, 0, 10, 10, "")], Some("x")));
    sub.request_keyframe();
}

#[test]
fn empty_meeting_keeps_the_frame_rate() {
    let mixer = Mixer::new().unwrap();
    let mut sub = mixer
        .output(
            "main",
            &params(320, 180, 15),
            &layout(vec![tile(77, 0, 0, 320, 180, "Nobody")], None),
        )
        .unwrap();
    let first = next_frame(&mut sub, Duration::from_secs(2));
    let start = Instant::now();
    let mut last = first.pts;
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(2) {
        let f = next_frame(&mut sub, Duration::from_secs(1));
        assert!(f.pts > last);
        last = f.pts;
        n += 1;
    }
    assert!((24..=36).contains(&n), "{n} frames in 2 s at 15 fps");
    let per_frame = (last - first.pts) / n;
    assert!(
        per_frame > Duration::from_millis(60) && per_frame < Duration::from_millis(73),
        "{per_frame:?} per frame"
    );
}

#[test]
fn push_never_blocks() {
    let mixer = Mixer::new().unwrap();
    let mut kf = mixer.keyframe_requests();
    let frames = clip(VideoCodec::Vp8, 640, 360, GREEN, 60);
    let start = Instant::now();
    for _ in 0..5 {
        for (data, key) in &frames {
            mixer.push(1, VideoCodec::Vp8, data, *key);
        }
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "300 pushes took {took:?}"
    );
    // The decoder could not keep up: frames were dropped, a keyframe asked for.
    assert!(wait_until(Duration::from_secs(2), || requests(&mut kf).contains(&1)));
}

#[test]
fn bad_params_fail_and_odd_layouts_are_clamped() {
    let mixer = Mixer::new().unwrap();
    let l = layout(vec![], None);
    assert!(mixer.output("x", &params(0, 180, 10), &l).is_err());
    assert!(mixer.output("x", &params(321, 180, 10), &l).is_err());
    assert!(mixer.output("x", &params(320, 180, 0), &l).is_err());
    assert_eq!(mixer.active_encoders(), 0);
    // Out of frame, odd, empty, too many tiles: clamped, not an error.
    let mut tiles = vec![
        tile(1, 301, 171, 200, 200, "edge"),
        tile(2, 1000, 1000, 50, 50, "outside"),
        tile(3, 0, 0, 0, 0, ""),
        tile(4, 11, 13, 99, 77, &"long label ".repeat(40)),
    ];
    tiles.extend((0..MAX_TILES as u64).map(|i| tile(10 + i, 0, 0, 8, 8, "<b>&</b>")));
    let mut sub = mixer
        .output(
            "x",
            &params(320, 180, 10),
            &layout(tiles, Some(&"notice ".repeat(100))),
        )
        .unwrap();
    for s in 1..=4 {
        push_clip(
            &mixer,
            s,
            VideoCodec::Vp8,
            &clip(VideoCodec::Vp8, 64, 36, GREEN, 2),
        );
    }
    let mut viewer = Viewer::new();
    let (_, pic) = wait_picture(
        &mut sub,
        &mut viewer,
        Duration::from_secs(5),
        "edge tile",
        |p| near(p, 310, 176, GREEN_RGB),
    );
    assert_eq!((pic.width, pic.height), (320, 180));
}

/// A plain output (a transcode) shows its source's pictures only, scaled to the frame with
/// no compositor: the same layout with a label and a notice gets neither the band nor any
/// text, while a drawn output of it gets both; a 4:3 source is letterboxed in black (not
/// the meeting's background), and nothing is encoded before the source sends.
#[test]
fn plain_output_draws_no_text() {
    let mixer = Mixer::new().unwrap();
    let band = notice_height(180) as usize;
    let l = layout(vec![tile(9, 0, 0, 320, 180, "Room 42")], Some("Recording"));
    let mut drawn = mixer.output("drawn", &params(320, 180, 10), &l).unwrap();
    let mut plain = mixer
        .plain_output("plain", &params(320, 180, 10), &l)
        .unwrap();
    let white = |p: [u8; 3]| p.iter().all(|&c| c > 200);
    let mut viewer = Viewer::new();
    // Source 9 has not sent yet: its tile is background, so any white is text.
    wait_picture(
        &mut drawn,
        &mut viewer,
        Duration::from_secs(3),
        "band and label",
        |p| near(p, 3, band / 2, NOTICE) && count(p, 0..320, band..180, white) > 20,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        matches!(plain.try_recv(), Err(TryRecvError::Empty)),
        "a plain output encoded before its source sent a picture"
    );
    push_clip(
        &mixer,
        9,
        VideoCodec::H264,
        &clip(VideoCodec::H264, 160, 120, ORANGE, 10),
    );
    let mut viewer = Viewer::new();
    let (_, pic) = wait_picture(
        &mut plain,
        &mut viewer,
        Duration::from_secs(5),
        "the source's picture",
        |p| near(p, 160, 90, ORANGE_RGB),
    );
    assert_eq!((pic.width, pic.height), (320, 180));
    // 4:3 in 16:9: the picture spans x 40..280, black bars either side.
    for (x, y) in [(44, 10), (276, 170), (160, 4)] {
        assert!(
            near(&pic, x, y, ORANGE_RGB),
            "{x},{y}: {:?}",
            pic.pixel(x, y)
        );
    }
    for (x, y) in [(4, 90), (316, 90), (20, 4)] {
        assert!(
            near(&pic, x, y, [0, 0, 0]),
            "{x},{y}: {:?}",
            pic.pixel(x, y)
        );
    }
    assert_eq!(
        count(&pic, 0..320, 0..180, white),
        0,
        "text on a plain output"
    );
}
