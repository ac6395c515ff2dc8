use super::*;
use NoticeAction::{HideOverlay, PlayNotice, ShowOverlay};
use NoticeKind::*;
use std::time::Duration;

fn show(s: &str) -> NoticeAction {
    ShowOverlay(s.to_string())
}

#[test]
fn recording_on_and_off() {
    let now = Instant::now();
    let mut n = Notices::new();
    assert_eq!(
        n.set_recording(true, now),
        [show("Recording"), PlayNotice(RecordingStarted)]
    );
    assert!(n.recording() && !n.transcription());
    assert_eq!(n.changed_at(), Some(now));
    let later = now + Duration::from_secs(60);
    assert_eq!(
        n.set_recording(false, later),
        [HideOverlay, PlayNotice(RecordingStopped)]
    );
    assert_eq!(n.changed_at(), Some(later));
    assert_eq!(
        n,
        Notices {
            changed_at: Some(later),
            ..Notices::new()
        }
    );
}

#[test]
fn the_same_state_again_does_nothing() {
    let now = Instant::now();
    let mut n = Notices::new();
    assert!(n.set_recording(false, now).is_empty());
    assert!(n.set_transcription(false, now).is_empty());
    assert_eq!(n.changed_at(), None);
    n.set_recording(true, now);
    let later = now + Duration::from_secs(1);
    assert!(n.set_recording(true, later).is_empty());
    assert_eq!(n.changed_at(), Some(now));
}

#[test]
fn both_combine_in_the_overlay() {
    let now = Instant::now();
    let mut n = Notices::new();
    assert_eq!(
        n.set_transcription(true, now),
        [show("Transcription"), PlayNotice(TranscriptionStarted)]
    );
    assert_eq!(
        n.set_recording(true, now),
        [
            show("Recording and transcription"),
            PlayNotice(RecordingStarted)
        ]
    );
    assert_eq!(
        n.set_recording(false, now),
        [show("Transcription"), PlayNotice(RecordingStopped)]
    );
    n.set_recording(true, now);
    assert_eq!(
        n.set_transcription(false, now),
        [show("Recording"), PlayNotice(TranscriptionStopped)]
    );
    assert_eq!(
        n.set_recording(false, now),
        [HideOverlay, PlayNotice(RecordingStopped)]
    );
    assert_eq!(n.overlay_text(), None);
}

#[test]
fn a_late_joiner_is_told() {
    let now = Instant::now();
    let mut n = Notices::new();
    assert!(n.for_new_viewer().is_empty());
    n.set_recording(true, now);
    n.set_transcription(true, now);
    assert_eq!(
        n.for_new_viewer(),
        [
            show("Recording and transcription"),
            PlayNotice(RecordingStarted),
            PlayNotice(TranscriptionStarted)
        ]
    );
}

#[test]
fn every_notice_has_a_prompt_asset() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/prompts/en");
    for kind in NoticeKind::ALL {
        let file = dir.join(format!("{}.opus", kind.name()));
        assert!(file.is_file(), "missing {}", file.display());
    }
}
