//! Drives the sans-IO IVR of one call: digits from RFC 4733 packets, in-band tones in G.711
//! or G.722 audio and SIP INFO go in; the IVR's actions come out for the call task to carry out.

use cvi_ivr::{Config, Digit, DigitSource, Ivr, Language};
use cvi_media::dtmf::g711::Law;
use cvi_media::dtmf::g722::G722Decoder;
use cvi_media::dtmf::{Rfc4733Receiver, ToneDetector};
use cvi_media::rtp::RtpHeader;
use cvi_media::sdp::NegotiatedStream;
use std::time::Instant;

/// The languages `assets/prompts` has recordings in.
const PROMPT_LANGUAGES: &[&str] = &["en", "de", "fr"];

/// The audio codec in-band tones are decoded from.
enum Inband {
    G711(Law),
    G722(Box<G722Decoder>),
}

pub(crate) struct IvrDriver {
    pub ivr: Ivr,
    tap: DigitTap,
}

/// Keypad digits from a caller's audio RTP: RFC 4733 events, or in-band tones in G.711/G.722.
pub(crate) struct DigitTap {
    te_pt: Option<u8>,
    rfc4733: Rfc4733Receiver,
    inband: Option<(u8, Inband)>,
    tones: Option<ToneDetector>,
    pcm: Vec<i16>,
}

impl IvrDriver {
    /// `audio` is the negotiated audio stream, if any (for the telephone-event PT and G.711).
    pub(crate) fn new(
        provider: &str,
        language: &str,
        blocked: bool,
        audio: Option<&NegotiatedStream>,
        now: Instant,
    ) -> Self {
        let config = Config {
            provider_name: provider.to_string(),
            language: Language::choose(Some(language), PROMPT_LANGUAGES),
            ..Config::default()
        };
        let ivr = if blocked {
            Ivr::new_blocked(config, now)
        } else {
            Ivr::new(config, now)
        };
        Self {
            ivr,
            tap: DigitTap::new(audio),
        }
    }

    /// One RTP packet from the caller's audio socket.
    pub(crate) fn on_rtp(&mut self, packet: &[u8], now: Instant) {
        let ivr = &mut self.ivr;
        self.tap.on_rtp(
            packet,
            &mut |d, source| ivr.handle_digit(d, source, now),
            now,
        );
    }

    pub(crate) fn on_info_digit(&mut self, c: char, now: Instant) {
        if let Some(d) = Digit::from_char(c) {
            self.ivr.handle_digit(d, DigitSource::SipInfo, now);
        }
    }
}

impl DigitTap {
    /// `audio` is the negotiated audio stream, if any (for the telephone-event PT and G.711).
    pub(crate) fn new(audio: Option<&NegotiatedStream>) -> Self {
        let inband = audio.and_then(|a| {
            let codec = match a.codec.name.to_ascii_uppercase().as_str() {
                "PCMU" => Inband::G711(Law::Ulaw),
                "PCMA" => Inband::G711(Law::Alaw),
                "G722" => Inband::G722(Box::default()),
                _ => return None,
            };
            Some((a.codec.payload_type, codec))
        });
        // G.722 decodes to 16 kHz (its RTP clock says 8000, RFC 3551 §4.5.2).
        let rate = match &inband {
            Some((_, Inband::G722(_))) => 16_000,
            _ => 8000,
        };
        Self {
            te_pt: audio.and_then(|a| a.telephone_event),
            rfc4733: Rfc4733Receiver::new(audio.map(|a| a.codec.clock_rate).unwrap_or(8000)),
            tones: inband.as_ref().and_then(|_| ToneDetector::new(rate).ok()),
            inband,
            pcm: Vec::with_capacity(320),
        }
    }

    /// One RTP packet from the caller's audio socket; digits go to `digit`.
    pub(crate) fn on_rtp(
        &mut self,
        packet: &[u8],
        digit: &mut dyn FnMut(Digit, DigitSource),
        now: Instant,
    ) {
        let Some(h) = RtpHeader::parse(packet) else {
            return;
        };
        let payload = h.payload(packet);
        if Some(h.payload_type) == self.te_pt {
            if let Some(ev) =
                self.rfc4733
                    .handle_packet(h.sequence, h.timestamp, h.marker, payload, now)
                && let Some(d) = Digit::from_char(ev.digit)
            {
                digit(d, DigitSource::Rfc4733);
            }
            return;
        }
        if let (Some((pt, codec)), Some(tones)) = (self.inband.as_mut(), self.tones.as_mut())
            && h.payload_type == *pt
        {
            self.pcm.clear();
            match codec {
                Inband::G711(law) => law.decode_into(payload, &mut self.pcm),
                Inband::G722(d) => d.decode_into(payload, &mut self.pcm),
            }
            tones.push_samples(&self.pcm);
            while let Some(d) = tones.poll_digit() {
                if let Some(d) = Digit::from_char(d.digit) {
                    digit(d, DigitSource::InBand);
                }
            }
        }
    }
}
