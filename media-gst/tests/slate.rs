#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use cvi_media_gst::{EncodedFrame, H264Profile, SlateHub, SlateParams, SlateSubscription};
use tokio::sync::broadcast::error::TryRecvError;

fn params(width: u32, height: u32) -> SlateParams {
    SlateParams {
        width,
        height,
        fps: 10,
        bitrate_kbps: 400,
        profile: H264Profile::ConstrainedBaseline,
        max_nal_bytes: None,
    }
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|s| s.to_string()).collect()
}

/// Next raw frame from the broadcast receiver, within `timeout`.
fn next_raw(sub: &mut SlateSubscription, timeout: Duration) -> Option<Arc<EncodedFrame>> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match sub.receiver().try_recv() {
            Ok(f) => return Some(f),
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{e:?}"),
        }
    }
    None
}

fn collect(sub: &mut SlateSubscription, n: usize) -> Vec<Arc<EncodedFrame>> {
    (0..n)
        .map(|_| next_raw(sub, Duration::from_secs(2)).expect("frame"))
        .collect()
}

fn assert_idr_with_headers(frame: &EncodedFrame) {
    let types = nal_types(&frame.data);
    assert!(frame.keyframe);
    assert!(types.contains(&5), "IDR slice in {types:?}");
    let sps = types.iter().position(|&t| t == 7).expect("SPS");
    let pps = types.iter().position(|&t| t == 8).expect("PPS");
    let idr = types.iter().position(|&t| t == 5).unwrap();
    assert!(sps < idr && pps < idr, "{types:?}");
}

#[test]
fn first_frame_is_keyframe_and_decodes() {
    let hub = SlateHub::new();
    let mut sub = hub
        .subscribe(
            &lines(&["Please wait", "The meeting starts soon"]),
            &params(640, 360),
        )
        .unwrap();
    let first = next_raw(&mut sub, Duration::from_secs(2)).expect("a frame within 2 s");
    assert_idr_with_headers(&first);
    let mut frames = vec![first];
    frames.extend(collect(&mut sub, 4));
    assert!(frames[1..].iter().all(|f| !f.keyframe));
    assert!(frames.windows(2).all(|w| w[0].pts < w[1].pts));

    let units: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    let decoded = decode_h264(&units);
    assert_eq!(decoded.len(), 5);
    for d in &decoded {
        assert_eq!((d.width, d.height), (640, 360));
    }

    // Pixel check: background colour 0x1e2a3a at the corners, bright text
    // near the centre.
    let pic = decoded.last().unwrap();
    for (x, y) in [(2, 2), (637, 2), (2, 357), (637, 357)] {
        let [r, g, b] = pic.pixel(x, y);
        let near = |a: u8, e: u8| (i32::from(a) - i32::from(e)).abs() <= 12;
        assert!(
            near(r, 0x1e) && near(g, 0x2a) && near(b, 0x3a),
            "corner {x},{y}: {r},{g},{b}"
        );
    }
    let bright = (130..230)
        .flat_map(|y| (120..520).map(move |x| (x, y)))
        .filter(|&(x, y)| pic.pixel(x, y).iter().all(|&c| c > 200))
        .count();
    assert!(bright > 200, "only {bright} bright pixels near the centre");
}

#[test]
fn markup_characters_render_as_plain_text() {
    // Invalid Pango markup: rendered only if the text is taken literally.
    let hub = SlateHub::new();
    let mut sub = hub
        .subscribe(&lines(&["<b>Tom & \"Jerry\" <i"]), &params(640, 360))
        .unwrap();
    let frames = collect(&mut sub, 3);
    let units: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    let pic = decode_h264(&units).pop().unwrap();
    let bright = (130..230)
        .flat_map(|y| (50..590).map(move |x| (x, y)))
        .filter(|&(x, y)| pic.pixel(x, y).iter().all(|&c| c > 200))
        .count();
    assert!(
        bright > 200,
        "only {bright} bright pixels: text not rendered"
    );
}

#[test]
fn encoders_are_shared_per_key() {
    let hub = SlateHub::new();
    let a = lines(&["Waiting room"]);
    let b = lines(&["Something else"]);
    let s1 = hub.subscribe(&a, &params(320, 180)).unwrap();
    let mut s2 = hub.clone().subscribe(&a, &params(320, 180)).unwrap();
    assert_eq!(hub.active_encoders(), 1);
    // The second subscriber (recv skips to the next keyframe) gets an IDR soon.
    let start = Instant::now();
    let f = loop {
        match s2.try_recv() {
            Ok(f) => break f,
            Err(TryRecvError::Empty) if start.elapsed() < Duration::from_secs(1) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_idr_with_headers(&f);

    let s3 = hub.subscribe(&b, &params(320, 180)).unwrap();
    assert_eq!(hub.active_encoders(), 2);
    let s4 = hub
        .subscribe(
            &a,
            &SlateParams {
                profile: H264Profile::High,
                ..params(320, 180)
            },
        )
        .unwrap();
    assert_eq!(hub.active_encoders(), 3);
    drop(s1);
    assert_eq!(hub.active_encoders(), 3);
    drop((s2, s3, s4));
    assert!(wait_until(Duration::from_secs(1), || hub.active_encoders() == 0));
    // And it starts again.
    let _s = hub.subscribe(&a, &params(320, 180)).unwrap();
    assert_eq!(hub.active_encoders(), 1);
}

#[test]
fn max_nal_bytes_limits_slices() {
    let hub = SlateHub::new();
    let p = SlateParams {
        max_nal_bytes: Some(1100),
        bitrate_kbps: 2000,
        ..params(1280, 720)
    };
    let mut sub = hub
        .subscribe(&lines(&["Conference", "Room 42", "Recording is on"]), &p)
        .unwrap();
    let frames = collect(&mut sub, 5);
    assert!(frames[0].keyframe);
    let mut slices = 0;
    for f in &frames {
        for nal in split_annex_b(&f.data) {
            assert!(
                nal.len() <= 1100,
                "NAL type {} is {} bytes",
                nal[0] & 0x1f,
                nal.len()
            );
            if matches!(nal[0] & 0x1f, 1 | 5) {
                slices += 1;
            }
        }
    }
    assert!(slices > frames.len(), "expected several slices per frame");
    let units: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    let decoded = decode_h264(&units);
    assert_eq!((decoded[0].width, decoded[0].height), (1280, 720));
}

#[test]
fn request_keyframe_forces_idr() {
    let hub = SlateHub::new();
    let mut sub = hub
        .subscribe(&lines(&["Keyframes"]), &params(320, 180))
        .unwrap();
    let first = collect(&mut sub, 3);
    assert!(first[0].keyframe && !first[1].keyframe && !first[2].keyframe);
    for _ in 0..2 {
        sub.request_keyframe();
        let start = Instant::now();
        let mut got = false;
        while start.elapsed() < Duration::from_secs(1) {
            if let Some(f) = next_raw(&mut sub, Duration::from_millis(200))
                && f.keyframe
            {
                assert_idr_with_headers(&f);
                got = true;
                break;
            }
        }
        assert!(got, "no keyframe within 1 s after request_keyframe");
    }
}

#[test]
fn invalid_params_are_errors() {
    let hub = SlateHub::new();
    assert!(hub.subscribe(&lines(&["x"]), &params(0, 360)).is_err());
    assert!(hub.subscribe(&lines(&["x"]), &params(641, 360)).is_err());
    assert!(
        hub.subscribe(
            &lines(&["x"]),
            &SlateParams {
                fps: 0,
                ..params(640, 360)
            }
        )
        .is_err()
    );
    assert_eq!(hub.active_encoders(), 0);
}
