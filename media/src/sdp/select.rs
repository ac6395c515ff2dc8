//! Choosing a codec, a telephone-event payload type and RTCP feedback
//! from one offered m-line. Lookups go through a [`PtTable`] built once per
//! m-line, so a hostile offer with many formats and attributes stays linear.

use super::attr::{FbPayload, Fmtp, Rtpmap, tokens};
use super::caps::{AudioCodec, CodecPreference, H264Capabilities, LocalCapabilities, RtcpFeedback};
use super::h264_fmtp::H264Params;
use super::model::{Attribute, MediaDescription};
use super::stream::NegotiatedCodec;

/// RFC 3551 static payload types that matter here.
pub(crate) fn static_payload(pt: u8) -> Option<(&'static str, u32)> {
    Some(match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        13 => ("CN", 8000),
        15 => ("G728", 8000),
        18 => ("G729", 8000),
        26 => ("JPEG", 90000),
        31 => ("H261", 90000),
        32 => ("MPV", 90000),
        34 => ("H263", 90000),
        _ => return None,
    })
}

/// `a=rtpmap` and `a=fmtp` of one m-line indexed by payload type
/// (first line wins, as in [`MediaDescription::rtpmap`]).
pub(crate) struct PtTable<'a> {
    rtpmap: [Option<&'a Rtpmap>; 128],
    fmtp: [Option<&'a Fmtp>; 128],
}

impl<'a> PtTable<'a> {
    pub(crate) fn new(m: &'a MediaDescription) -> Self {
        let mut t = PtTable {
            rtpmap: [None; 128],
            fmtp: [None; 128],
        };
        for a in &m.attributes {
            match a {
                Attribute::Rtpmap(r) => {
                    if let Some(slot @ None) = t.rtpmap.get_mut(usize::from(r.payload_type)) {
                        *slot = Some(r);
                    }
                }
                Attribute::Fmtp(f) => {
                    if let Some(slot @ None) = t.fmtp.get_mut(usize::from(f.payload_type)) {
                        *slot = Some(f);
                    }
                }
                _ => {}
            }
        }
        t
    }

    /// Encoding name, clock rate and channels: from `a=rtpmap`, else the
    /// static table.
    pub(crate) fn encoding(&self, pt: u8) -> Option<(&'a str, u32, Option<u16>)> {
        match self.rtpmap.get(usize::from(pt)).copied().flatten() {
            Some(r) => Some((r.encoding.as_str(), r.clock_rate, r.channels)),
            None => static_payload(pt).map(|(e, c)| (e, c, None)),
        }
    }

    /// The fmtp parameters of a payload type, if any.
    pub(crate) fn fmtp(&self, pt: u8) -> Option<&'a str> {
        self.fmtp
            .get(usize::from(pt))
            .copied()
            .flatten()
            .map(|f| f.params.as_str())
    }

    /// A [`NegotiatedCodec`] for `pt` as the far end described it.
    pub(crate) fn codec(&self, pt: u8) -> Option<NegotiatedCodec> {
        let (name, clock_rate, channels) = self.encoding(pt)?;
        Some(NegotiatedCodec {
            payload_type: pt,
            name: name.to_owned(),
            clock_rate,
            channels,
            fmtp: self.fmtp(pt).map(str::to_owned),
        })
    }
}

/// Picks the candidate with the smallest key; ties keep offer order.
fn best<T, K: Ord>(candidates: impl Iterator<Item = (K, T)>) -> Option<T> {
    candidates.min_by(|a, b| a.0.cmp(&b.0)).map(|(_, t)| t)
}

/// The audio codec to answer: the first offered one we support, or with
/// [`CodecPreference::Local`] the one earliest in our list.
pub(crate) fn select_audio(
    m: &MediaDescription,
    t: &PtTable<'_>,
    caps: &LocalCapabilities,
) -> Option<(u8, AudioCodec)> {
    let cands = m.payload_types().enumerate().filter_map(|(i, pt)| {
        let (enc, clock, ch) = t.encoding(pt)?;
        let local = caps.audio.iter().position(|c| c.matches(enc, clock, ch))?;
        let codec = *caps.audio.get(local)?;
        let key = match caps.preference {
            CodecPreference::Offerer => (i, 0),
            CodecPreference::Local => (local, i),
        };
        Some((key, (pt, codec)))
    });
    best(cands)
}

/// The offered telephone-event payload type at `clock_rate`, if any.
pub(crate) fn select_telephone_event(
    m: &MediaDescription,
    t: &PtTable<'_>,
    clock_rate: u32,
) -> Option<u8> {
    m.payload_types().find(|pt| {
        matches!(t.encoding(*pt), Some((e, c, _)) if e.eq_ignore_ascii_case("telephone-event") && c == clock_rate)
    })
}

/// The H.264 payload type to answer, with its parsed parameters.
///
/// Candidates are H264/90000 payload types whose fmtp parses, whose profile
/// is decodable by one of ours and whose packetization-mode we handle. The
/// packetization mode decides first (our order: mode 1 before 0, so an
/// offer listing both as separate PTs gets mode 1), then offer order (or
/// our profile order with [`CodecPreference::Local`]).
pub(crate) fn select_h264(
    m: &MediaDescription,
    t: &PtTable<'_>,
    h264: &H264Capabilities,
    pref: CodecPreference,
) -> Option<(u8, H264Params)> {
    let cands = m.payload_types().enumerate().filter_map(|(i, pt)| {
        let (enc, clock, _) = t.encoding(pt)?;
        if !enc.eq_ignore_ascii_case("H264") || clock != 90000 {
            return None;
        }
        let params = H264Params::from_fmtp(t.fmtp(pt).unwrap_or("")).ok()?;
        let profile = params.profile().ok()?;
        params.level().ok()?;
        let prof_rank = h264
            .profiles
            .iter()
            .position(|p| profile.is_subset_of(*p))?;
        let pm_rank = h264
            .packetization_modes
            .iter()
            .position(|pm| *pm == params.packetization_mode)?;
        let key = match pref {
            CodecPreference::Offerer => (pm_rank, 0, i),
            CodecPreference::Local => (pm_rank, prof_rank, i),
        };
        Some((key, (pt, params)))
    });
    best(cands)
}

/// Feedback offered for `pt` (or `*`) that we also support, in our order.
///
/// Lenient about Polycom's `ccm fir tmmbr` (two ccm types on one line): each
/// token after `ccm` is read as one ccm type.
pub(crate) fn select_rtcp_fb(
    m: &MediaDescription,
    pt: u8,
    ours: &[RtcpFeedback],
) -> Vec<RtcpFeedback> {
    let mut offered = Vec::new();
    for a in &m.attributes {
        let Attribute::RtcpFb(fb) = a else { continue };
        if !fb.payload.covers(pt) {
            continue;
        }
        let param = fb.param.as_deref().unwrap_or("");
        match fb.kind.as_str() {
            "nack" if param.is_empty() => offered.push(RtcpFeedback::Nack),
            "nack" if param == "pli" => offered.push(RtcpFeedback::NackPli),
            "ccm" if tokens(param).any(|p| p == "fir") => offered.push(RtcpFeedback::CcmFir),
            _ => {}
        }
    }
    ours.iter()
        .copied()
        .filter(|f| offered.contains(f))
        .collect()
}

/// `a=rtcp-fb:<pt> …` lines for a feedback set.
pub(crate) fn rtcp_fb_attributes(pt: FbPayload, fbs: &[RtcpFeedback]) -> Vec<Attribute> {
    fbs.iter()
        .map(|f| {
            let (kind, param) = f.sdp();
            Attribute::RtcpFb(super::attr::RtcpFb {
                payload: pt,
                kind: kind.to_owned(),
                param: param.map(str::to_owned),
            })
        })
        .collect()
}
