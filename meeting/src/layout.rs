//! Where each participant goes in the picture sent to one VTC.
//!
//! [`tiles`] returns cells: integer rectangles with even `x`, `y`, `w` and `h` (for 4:2:0
//! video), inside the frame and never overlapping. The compositor scales each participant
//! into its cell keeping the aspect ratio (letterboxing); the cells themselves do not keep
//! 16:9. An odd frame size loses its last column or row; leftover pixels from the division
//! are split as an even margin on both sides (the layout is centred).
//!
//! The viewer (the VTC receiving the picture) is never shown to itself, and each participant
//! appears at most once (duplicates in the order are ignored). A frame too small to give every
//! cell at least 2×2 pixels gets no tiles.

use crate::participant::ParticipantId;

/// A layout a VTC can cycle through with `*8` ([`crate::Command::NextLayout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// The active speaker (or, before anyone spoke, the first participant) large in the top
    /// three quarters, up to 7 others as thumbnails in a strip below, centred. With nobody
    /// else to show, the speaker fills the frame.
    #[default]
    SpeakerPlus7,
    /// Four equal cells, filled row-major; fewer participants leave cells empty (the cells
    /// do not grow, so the picture does not jump when someone joins).
    Grid2x2,
    /// Nine equal cells, as [`Layout::Grid2x2`].
    Grid3x3,
}

impl Layout {
    pub const ALL: [Layout; 3] = [Layout::SpeakerPlus7, Layout::Grid2x2, Layout::Grid3x3];

    /// SpeakerPlus7 → Grid2x2 → Grid3x3 → SpeakerPlus7.
    pub fn next(self) -> Layout {
        match self {
            Layout::SpeakerPlus7 => Layout::Grid2x2,
            Layout::Grid2x2 => Layout::Grid3x3,
            Layout::Grid3x3 => Layout::SpeakerPlus7,
        }
    }

    /// The most participants shown at once.
    pub fn capacity(self) -> usize {
        match self {
            Layout::SpeakerPlus7 => 1 + THUMBNAILS,
            Layout::Grid2x2 => 4,
            Layout::Grid3x3 => 9,
        }
    }

    /// A stable snake_case name for logs and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::SpeakerPlus7 => "speaker_plus_7",
            Layout::Grid2x2 => "grid_2x2",
            Layout::Grid3x3 => "grid_3x3",
        }
    }
}

/// Thumbnails in [`Layout::SpeakerPlus7`]; the strip is divided into this many slots.
const THUMBNAILS: usize = 7;

/// One participant's cell in the output frame, in pixels from the top left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    pub participant: ParticipantId,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The cells of `layout` in an `output_w`×`output_h` frame for `viewer`.
///
/// `participants_in_order` is the meeting's display order (for example join order). In
/// SpeakerPlus7 `speaker` gets the large cell; in the grids, when there are more
/// participants than cells and `speaker` would not fit, it takes the last cell. A `speaker`
/// that is the viewer or not in the list is ignored.
pub fn tiles(
    layout: Layout,
    output_w: u32,
    output_h: u32,
    participants_in_order: &[ParticipantId],
    speaker: Option<ParticipantId>,
    viewer: ParticipantId,
) -> Vec<Tile> {
    let (w, h) = (even(output_w), even(output_h));
    let mut shown: Vec<ParticipantId> = Vec::new();
    for &p in participants_in_order {
        if p != viewer && !shown.contains(&p) {
            shown.push(p);
        }
    }
    let speaker = speaker.filter(|s| shown.contains(s));
    match layout {
        Layout::SpeakerPlus7 => {
            if let Some(s) = speaker {
                shown.retain(|&p| p != s);
                shown.insert(0, s);
            }
            shown.truncate(layout.capacity());
            speaker_plus_thumbs(w, h, &shown)
        }
        Layout::Grid2x2 | Layout::Grid3x3 => {
            let n = if layout == Layout::Grid2x2 { 2 } else { 3 };
            let cap = layout.capacity();
            if let Some(s) = speaker.filter(|s| !shown[..cap.min(shown.len())].contains(s)) {
                shown[cap - 1] = s;
            }
            shown.truncate(cap);
            grid(w, h, n, &shown)
        }
    }
}

fn speaker_plus_thumbs(w: u32, h: u32, shown: &[ParticipantId]) -> Vec<Tile> {
    let Some((&main, thumbs)) = shown.split_first() else {
        return Vec::new();
    };
    if thumbs.is_empty() {
        return cell(main, 0, 0, w, h).into_iter().collect();
    }
    let main_h = even(h / 4 * 3);
    let (thumb_w, thumb_h) = (even(w / THUMBNAILS as u32), h - main_h);
    if thumb_w == 0 || thumb_h == 0 || main_h == 0 {
        return Vec::new();
    }
    let count = u32::try_from(thumbs.len()).unwrap_or(u32::MAX);
    let left = even((w - thumb_w * count) / 2);
    let mut out: Vec<Tile> = cell(main, 0, 0, w, main_h).into_iter().collect();
    out.extend(
        (0u32..)
            .zip(thumbs)
            .filter_map(|(i, &p)| cell(p, left + i * thumb_w, main_h, thumb_w, thumb_h)),
    );
    out
}

fn grid(w: u32, h: u32, n: u32, shown: &[ParticipantId]) -> Vec<Tile> {
    let (cell_w, cell_h) = (even(w / n), even(h / n));
    let (left, top) = (even((w - cell_w * n) / 2), even((h - cell_h * n) / 2));
    (0u32..)
        .zip(shown)
        .filter_map(|(i, &p)| {
            let (col, row) = (i % n, i / n);
            cell(p, left + col * cell_w, top + row * cell_h, cell_w, cell_h)
        })
        .collect()
}

/// A tile, or `None` if it would be empty.
fn cell(participant: ParticipantId, x: u32, y: u32, w: u32, h: u32) -> Option<Tile> {
    (w > 0 && h > 0).then_some(Tile {
        participant,
        x,
        y,
        w,
        h,
    })
}

fn even(v: u32) -> u32 {
    v & !1
}

#[cfg(test)]
mod tests;
