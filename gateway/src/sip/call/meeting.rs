//! The call's place in its meeting: joining (waiting in the lobby or in), the meeting's
//! events (admitted or rejected from the page, spoken notices, keyframe requests), and the
//! keypad commands the VTC sends while in the meeting.

use super::*;
use crate::sip::ivr_driver::DigitTap;
use cvi_meet::{VtcEvent, VtcJoin};

impl Call {
    /// Notes the negotiated audio codec (after every offer/answer).
    pub(super) fn note_streams(&mut self, streams: &[NegotiatedStream]) {
        let audio = streams.iter().find(|s| s.kind == sdp::StreamKind::Audio);
        let codec = audio.and_then(|s| cvi_media_gst::prompt_cache::codec_of(&s.codec.name));
        if codec != self.audio_codec {
            self.audio_codec = codec;
            if let Some(l) = &self.meeting {
                l.set_audio(codec);
            }
        }
        self.keypad = Some(DigitTap::new(audio));
    }

    /// Joins the meeting once the call knows it (lobby or in), and tells it when the caller
    /// got in. Cheap when nothing changed; called on every turn of the call loop.
    pub(super) async fn sync_meeting(&mut self) {
        if self.meeting_tried {
            if self.in_meeting && !self.meeting_entered {
                if let Some(l) = &self.meeting {
                    l.enter();
                }
                self.meeting_entered = true;
            }
            return;
        }
        if !(self.in_lobby || self.in_meeting) {
            return;
        }
        let Some(meeting_id) = self
            .ctx
            .shared
            .registry
            .get(&self.ctx.call_id)
            .and_then(|c| c.meeting_id)
        else {
            return;
        };
        self.meeting_tried = true;
        let from = self.ctx.invite.headers.get("From").unwrap_or_default();
        let join = VtcJoin {
            call_id: self.ctx.call_id.clone(),
            name: cvi_meeting::vtc_name(from),
            audio: self.audio_codec,
            waiting: !self.in_meeting,
        };
        match self
            .ctx
            .shared
            .meet
            .join_vtc(&meeting_id.to_string(), join)
            .await
        {
            Ok(mut link) => {
                tracing::info!(participant = %link.participant(), "in the meeting room");
                self.meeting_events = link.take_events();
                if let (Some(m), Some(media)) = (&self.media, link.take_media()) {
                    m.send(MediaCmd::Meeting(media));
                }
                self.meeting_entered = self.in_meeting;
                self.meeting = Some(link);
            }
            Err(e) => tracing::warn!("could not join the meeting room: {e}"),
        }
    }

    pub(super) async fn on_meeting_event(&mut self, e: VtcEvent) {
        match e {
            VtcEvent::Admitted | VtcEvent::Rejected => {
                // The same path as the API's admit/reject.
                let admit = e == VtcEvent::Admitted;
                self.ctx
                    .shared
                    .registry
                    .send(&self.ctx.call_id, CallInput::Admit(admit));
            }
            VtcEvent::Notice(kind) => {
                if let Some(m) = &self.media {
                    let lang = if self.ivr_language.is_empty() {
                        "en".to_string()
                    } else {
                        self.ivr_language.clone()
                    };
                    m.send(MediaCmd::Play {
                        id: None,
                        lang,
                        name: kind.name().into(),
                        looped: false,
                    });
                }
            }
            VtcEvent::AskKeyframe => {
                if let Some(m) = &self.media {
                    m.send(MediaCmd::AskKeyframe);
                }
            }
        }
    }

    /// The caller's audio while in the meeting: keypad digits for `*8` and `*6`.
    pub(super) fn meeting_rtp(&mut self, packet: &[u8]) {
        let (Some(tap), Some(link)) = (self.keypad.as_mut(), self.meeting.as_ref()) else {
            return;
        };
        tap.on_rtp(
            packet,
            &mut |d, _| link.digit(d.as_char()),
            std::time::Instant::now(),
        );
    }

    /// A digit by SIP INFO while in the meeting.
    pub(super) fn meeting_digit(&self, c: char) {
        if let Some(l) = &self.meeting {
            l.digit(c);
        }
    }
}
