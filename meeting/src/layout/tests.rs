use super::*;

const SIZES: [(u32, u32); 9] = [
    (1280, 720),
    (1920, 1080),
    (352, 288),
    (704, 576),
    (640, 360),
    (176, 144),
    (1281, 721),
    (1, 1),
    (0, 0),
];

fn ids(n: u64) -> Vec<ParticipantId> {
    (1..=n).map(ParticipantId).collect()
}

fn overlap(a: &Tile, b: &Tile) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

fn check(
    layout: Layout,
    w: u32,
    h: u32,
    order: &[ParticipantId],
    speaker: Option<ParticipantId>,
    viewer: ParticipantId,
) -> Vec<Tile> {
    let t = tiles(layout, w, h, order, speaker, viewer);
    let ctx = format!(
        "{layout:?} {w}x{h} n={} speaker={speaker:?} viewer={viewer}",
        order.len()
    );
    for (i, a) in t.iter().enumerate() {
        assert_ne!(a.participant, viewer, "{ctx}: viewer shown");
        assert!(a.w > 0 && a.h > 0, "{ctx}: empty {a:?}");
        assert!(a.x + a.w <= w && a.y + a.h <= h, "{ctx}: outside {a:?}");
        assert!(
            [a.x, a.y, a.w, a.h].iter().all(|v| v % 2 == 0),
            "{ctx}: odd {a:?}"
        );
        for b in &t[i + 1..] {
            assert!(!overlap(a, b), "{ctx}: {a:?} overlaps {b:?}");
            assert_ne!(a.participant, b.participant, "{ctx}: shown twice");
        }
        assert!(order.contains(&a.participant), "{ctx}: stranger {a:?}");
    }
    let mut others: Vec<_> = order.iter().filter(|&&p| p != viewer).collect();
    others.sort();
    others.dedup();
    let others = others.len();
    if w >= 64 && h >= 64 {
        assert_eq!(t.len(), others.min(layout.capacity()), "{ctx}: count");
    }
    t
}

#[test]
fn invariants_for_all_layouts_sizes_and_counts() {
    for layout in Layout::ALL {
        for (w, h) in SIZES {
            for n in 0..=12 {
                let order = ids(n);
                for viewer in [ParticipantId(1), ParticipantId(n.max(1)), ParticipantId(99)] {
                    for speaker in [
                        None,
                        Some(ParticipantId(1)),
                        Some(ParticipantId(n)),
                        Some(viewer),
                    ] {
                        check(layout, w, h, &order, speaker, viewer);
                    }
                }
            }
        }
    }
}

#[test]
fn speaker_plus_7_geometry() {
    let order = ids(9); // viewer 1, 8 others: speaker + 7 thumbnails
    let t = check(
        Layout::SpeakerPlus7,
        1280,
        720,
        &order,
        Some(ParticipantId(5)),
        ParticipantId(1),
    );
    assert_eq!(
        t[0],
        Tile {
            participant: ParticipantId(5),
            x: 0,
            y: 0,
            w: 1280,
            h: 540
        }
    );
    let thumbs: Vec<_> = t[1..].iter().map(|t| t.participant.0).collect();
    assert_eq!(thumbs, [2, 3, 4, 6, 7, 8, 9]);
    assert!(
        t[1..]
            .iter()
            .all(|t| t.y == 540 && t.w == 182 && t.h == 180)
    );
    assert_eq!(
        t[1].x, 2,
        "7 × 182 = 1274: a 3 px margin, rounded down to even"
    );
    // CIF.
    let t = check(
        Layout::SpeakerPlus7,
        352,
        288,
        &order,
        None,
        ParticipantId(1),
    );
    assert_eq!(
        (t[0].participant, t[0].w, t[0].h),
        (ParticipantId(2), 352, 216)
    );
    assert!(t[1..].iter().all(|t| t.w == 50 && t.h == 72));
}

#[test]
fn speaker_plus_7_few_participants() {
    // Alone with the viewer: nothing to show.
    assert!(
        tiles(
            Layout::SpeakerPlus7,
            1280,
            720,
            &ids(1),
            None,
            ParticipantId(1)
        )
        .is_empty()
    );
    // One other: full frame.
    let t = check(
        Layout::SpeakerPlus7,
        1280,
        720,
        &ids(2),
        Some(ParticipantId(1)),
        ParticipantId(1),
    );
    assert_eq!(
        t,
        [Tile {
            participant: ParticipantId(2),
            x: 0,
            y: 0,
            w: 1280,
            h: 720
        }]
    );
    // Three others: two thumbnails, centred.
    let t = check(
        Layout::SpeakerPlus7,
        1280,
        720,
        &ids(4),
        Some(ParticipantId(3)),
        ParticipantId(1),
    );
    assert_eq!(t[0].participant, ParticipantId(3));
    assert_eq!((t[1].x, t[2].x), (458, 640));
}

#[test]
fn speaker_is_the_largest_tile() {
    for n in 2..=12 {
        for s in 2..=n {
            let t = check(
                Layout::SpeakerPlus7,
                1920,
                1080,
                &ids(n),
                Some(ParticipantId(s)),
                ParticipantId(1),
            );
            let big = t.iter().max_by_key(|t| t.w * t.h).expect("tiles");
            assert_eq!(big.participant, ParticipantId(s));
        }
    }
}

#[test]
fn grids_fill_row_major_and_leave_cells_empty() {
    let t = check(Layout::Grid2x2, 1280, 720, &ids(3), None, ParticipantId(99));
    let rects: Vec<_> = t
        .iter()
        .map(|t| (t.participant.0, t.x, t.y, t.w, t.h))
        .collect();
    assert_eq!(
        rects,
        [
            (1, 0, 0, 640, 360),
            (2, 640, 0, 640, 360),
            (3, 0, 360, 640, 360)
        ]
    );
    let t = check(Layout::Grid3x3, 352, 288, &ids(5), None, ParticipantId(99));
    let pos: Vec<_> = t.iter().map(|t| (t.x, t.y, t.w, t.h)).collect();
    assert_eq!(
        pos,
        [
            (2, 0, 116, 96),
            (118, 0, 116, 96),
            (234, 0, 116, 96),
            (2, 96, 116, 96),
            (118, 96, 116, 96)
        ]
    );
}

#[test]
fn grid_overflow_keeps_the_speaker_visible() {
    let t = check(
        Layout::Grid2x2,
        1280,
        720,
        &ids(10),
        Some(ParticipantId(9)),
        ParticipantId(1),
    );
    let shown: Vec<_> = t.iter().map(|t| t.participant.0).collect();
    assert_eq!(shown, [2, 3, 4, 9]);
    let t = check(
        Layout::Grid2x2,
        1280,
        720,
        &ids(10),
        Some(ParticipantId(3)),
        ParticipantId(1),
    );
    let shown: Vec<_> = t.iter().map(|t| t.participant.0).collect();
    assert_eq!(shown, [2, 3, 4, 5], "already visible: order unchanged");
}

#[test]
fn duplicates_and_unknown_speaker() {
    let order = [
        ParticipantId(2),
        ParticipantId(3),
        ParticipantId(2),
        ParticipantId(1),
    ];
    let t = check(
        Layout::Grid3x3,
        640,
        360,
        &order,
        Some(ParticipantId(42)),
        ParticipantId(1),
    );
    assert_eq!(t.len(), 2);
}

#[test]
fn tiny_frames_get_no_tiles() {
    for layout in Layout::ALL {
        for (w, h) in [(0, 0), (1, 1), (0, 720), (1280, 1), (4, 4)] {
            let t = check(layout, w, h, &ids(9), None, ParticipantId(1));
            assert!(t.len() <= 9, "{layout:?} {w}x{h}");
        }
    }
    assert!(tiles(Layout::Grid3x3, 5, 5, &ids(3), None, ParticipantId(9)).is_empty());
}

#[test]
fn next_cycles() {
    let mut l = Layout::default();
    assert_eq!(l, Layout::SpeakerPlus7);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(l.as_str());
        l = l.next();
    }
    assert_eq!(l, Layout::SpeakerPlus7);
    assert_eq!(seen, ["speaker_plus_7", "grid_2x2", "grid_3x3"]);
}
