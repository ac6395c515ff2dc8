//! Layout geometry: tiles clamped to the frame, and where the labels,
//! "muted" markers and notice text go.

use super::{CompositeLayout, MAX_TILES};

/// Labels are cut to this many characters before fitting them to the tile.
const MAX_LABEL_CHARS: usize = 64;
const MAX_NOTICE_CHARS: usize = 200;

/// A tile clamped to the frame (even coordinates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Tile {
    pub(super) source: u64,
    pub(super) x: i32,
    pub(super) y: i32,
    pub(super) w: i32,
    pub(super) h: i32,
    pub(super) label: String,
    pub(super) muted: bool,
}

/// Text of one textoverlay (markup-escaped) and its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TextProps {
    pub(super) text: String,
    pub(super) font: String,
    pub(super) x: i32,
    pub(super) y: i32,
}

/// Clamps the tiles to the frame (even coordinates), at most [`MAX_TILES`].
pub(super) fn sanitize(
    layout: &CompositeLayout,
    width: u32,
    height: u32,
) -> (Vec<Tile>, Option<String>) {
    let even = |v: u32| i32::try_from(v & !1).unwrap_or(i32::MAX - 1);
    let tiles = layout
        .tiles
        .iter()
        .take(MAX_TILES)
        .map(|t| {
            let x = t.x.min(width);
            let y = t.y.min(height);
            Tile {
                source: t.source,
                x: even(x),
                y: even(y),
                w: even(t.w.min(width - x)),
                h: even(t.h.min(height - y)),
                label: clean_text(&t.label, MAX_LABEL_CHARS),
                muted: t.muted,
            }
        })
        .collect();
    let notice = layout
        .notice
        .as_deref()
        .map(|n| clean_text(n, MAX_NOTICE_CHARS));
    (tiles, notice)
}

fn clean_text(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Cuts `text` so that it plus `suffix` fits in `max_chars`.
fn fit(text: &str, suffix: &str, max_chars: usize) -> String {
    let room = max_chars.saturating_sub(suffix.chars().count());
    let mut out: String = if text.chars().count() > room {
        let mut cut: String = text.chars().take(room.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        text.to_owned()
    };
    out.push_str(suffix);
    out
}

/// Average advance of DejaVu Sans Bold, in font sizes.
const CHAR_WIDTH: f32 = 0.66;

fn max_chars(width: i32, font: i32) -> usize {
    let chars = width.max(0) as f32 / (CHAR_WIDTH * font.max(1) as f32);
    chars as usize
}

/// The label at the bottom-left of the tile, on textoverlay's shaded box.
pub(super) fn label_props(tile: &Tile) -> Option<TextProps> {
    if tile.w < 24 || tile.h < 24 {
        return None;
    }
    let font = (tile.h / 10).clamp(11, 32);
    let margin = (font / 2).max(6);
    let suffix = if tile.muted { " (muted)" } else { "" };
    let text = fit(&tile.label, suffix, max_chars(tile.w - 2 * margin, font));
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(TextProps {
        text: gst::glib::markup_escape_text(text).to_string(),
        font: format!("Sans Bold {font}px"),
        x: tile.x + margin,
        y: tile.y + tile.h - margin - font * 6 / 5,
    })
}

/// A red square (white outline) at the top-right of a muted tile, below
/// the notice band if that covers the tile's top.
pub(super) fn marker_props(tile: &Tile, band_bottom: i32) -> Option<TextProps> {
    if !tile.muted || tile.w < 24 || tile.h < 24 {
        return None;
    }
    let size = (tile.h / 8).clamp(12, 40);
    let margin = (size / 3).max(4);
    let top = tile.y.max(band_bottom.min(tile.y + tile.h - 2 * size));
    Some(TextProps {
        text: "\u{25a0}".into(),
        font: format!("Sans {size}px"),
        x: tile.x + tile.w - margin - size,
        y: top + margin - size / 5,
    })
}

/// The notice text, centred on the band (the band itself is a compositor pad).
pub(super) fn notice_props(text: &str, width: u32, band: u32) -> Option<TextProps> {
    let band = i32::try_from(band).ok()?;
    let width = i32::try_from(width).ok()?;
    let font = (band / 2).max(6);
    let text = fit(text, "", max_chars(width - band, font));
    if text.is_empty() {
        return None;
    }
    Some(TextProps {
        text: gst::glib::markup_escape_text(&text).to_string(),
        font: format!("Sans Bold {font}px"),
        x: 0,
        y: (band - font * 6 / 5) / 2,
    })
}
