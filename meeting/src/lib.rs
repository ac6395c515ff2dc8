//! The embedded meeting of cvi-gateway, sans-IO: the decisions of a small multipoint meeting
//! of VTCs and browsers, for a media layer to drive.
//!
//! Like the IVR it never reads a clock, a socket or a file and knows nothing of SIP stacks,
//! RTP or GStreamer: inputs carry `now`, outputs are plain data.
//!
//! - [`participant`]: [`Participant`], [`ParticipantId`], and [`vtc_name`], a VTC's name
//!   from its SIP `From` header.
//! - [`speaker`]: [`SpeakerDetector`] picks the active speaker from RFC 6464 audio levels,
//!   with a 300 ms onset and 1 s switching hysteresis.
//! - [`layout`]: [`tiles`] places participants for one viewer in a [`Layout`]
//!   (speaker + 7 thumbnails, 2×2 or 3×3 grid); even-aligned, non-overlapping cells.
//! - [`commands`]: [`CommandParser`] turns keypad DTMF into [`Command`]s (`*8` next layout,
//!   `*6` mute).
//! - [`mix`]: [`mix_for`] and [`mix_minus`], each receiver's audio without its own.
//! - [`notice`]: [`Notices`], the recording/transcription overlay and spoken notices.
//!
//! ```
//! use cvi_meeting::{tiles, CommandParser, Command, Layout, ParticipantId, SpeakerDetector};
//! use std::time::{Duration, Instant};
//!
//! let (vtc, alice, bob) = (ParticipantId(1), ParticipantId(2), ParticipantId(3));
//! let mut now = Instant::now(); // the driver's clock; tests use a simulated one
//! let mut speaker = SpeakerDetector::default();
//! for _ in 0..20 {
//!     speaker.report(alice, 25, now); // -25 dBov: talking
//!     speaker.report(bob, 127, now); // silence
//!     now += Duration::from_millis(20);
//! }
//! assert_eq!(speaker.active(), Some(alice));
//!
//! let mut layout = Layout::default();
//! let mut keys = CommandParser::new();
//! keys.handle_digit('*', now);
//! if keys.handle_digit('8', now + Duration::from_millis(400)) == Some(Command::NextLayout) {
//!     layout = layout.next();
//! }
//! let cells = tiles(layout, 1280, 720, &[vtc, alice, bob], speaker.active(), vtc);
//! assert_eq!(layout, Layout::Grid2x2);
//! assert_eq!(cells.len(), 2); // the VTC does not see itself
//! ```

pub mod commands;
pub mod layout;
pub mod mix;
pub mod notice;
pub mod participant;
pub mod speaker;
#[cfg(test)]
mod test_rng;

pub use commands::{Command, CommandParser, STAR_TIMEOUT};
pub use layout::{Layout, Tile, tiles};
pub use mix::{mix_for, mix_minus};
pub use notice::{NoticeAction, NoticeKind, Notices};
pub use participant::{FALLBACK_NAME, Kind, MAX_NAME_CHARS, Participant, ParticipantId, vtc_name};
pub use speaker::{SILENCE, SpeakerConfig, SpeakerDetector};
