//! The offerer side, for late-offer INVITEs (the gateway offers in its
//! 200 OK and the caller answers in the ACK): [`offer`] and [`accept_answer`].

use rand::RngCore;

use super::attr::{Crypto, FbPayload, Fmtp, Rtpmap};
use super::caps::{LocalAddrs, LocalCapabilities, RtcpFeedback, SrtpPolicy};
use super::h264::{H264Profile, ProfileLevelId};
use super::h264_fmtp::{H264Params, limits_from_answer};
use super::model::{
    Attribute, Bandwidth, BandwidthType, Direction, MediaDescription, MediaType,
    SessionDescription, direction_of,
};
use super::negotiate::{content_of, local_session, remote_addrs, rtp_profile};
use super::select::{PtTable, rtcp_fb_attributes, select_rtcp_fb, select_telephone_event};
use super::srtp::{SrtpKey, SrtpParams, SrtpSuite, crypto_attribute, usable_crypto};
use super::stream::{NegotiatedStream, NegotiationError, StreamKind};

/// First dynamic payload type for our H.264 offers.
const FIRST_VIDEO_PT: u8 = 96;
/// telephone-event payload types at 8 kHz and 48 kHz.
const TE_8K: u8 = 101;
const TE_48K: u8 = 110;

/// Our offer: one audio line (every codec of `caps.audio`, in order, plus
/// telephone-event) and, when video is enabled, one video line with an
/// H.264 payload type per profile × packetization mode at our max level.
///
/// SRTP: `Required` offers RTP/SAVP with a=crypto; `Optional` offers RTP/AVP
/// with a=crypto when `best_effort_srtp` is set (peers that do not
/// understand it ignore it), plain RTP/AVP otherwise. Baseline is not
/// offered next to Constrained Baseline (we accept it, but do not ask for it).
pub fn offer(
    caps: &LocalCapabilities,
    local: &LocalAddrs,
    rng: &mut impl RngCore,
) -> SessionDescription {
    let mut sdp = local_session(local, rng);
    let proto = if caps.srtp == SrtpPolicy::Required {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let crypto = caps.srtp == SrtpPolicy::Required
        || (caps.srtp == SrtpPolicy::Optional && caps.best_effort_srtp);

    let mut audio = MediaDescription::new(MediaType::Audio, local.audio_port, proto, Vec::new());
    for c in &caps.audio {
        let pt = c.offer_payload_type();
        audio.formats.push(pt.to_string());
        audio.attributes.push(Attribute::Rtpmap(Rtpmap {
            payload_type: pt,
            encoding: c.encoding().into(),
            clock_rate: c.clock_rate(),
            channels: c.channels(),
        }));
        if let Some(f) = c.local_fmtp() {
            audio.attributes.push(Attribute::Fmtp(Fmtp {
                payload_type: pt,
                params: f.into(),
            }));
        }
    }
    if caps.telephone_event {
        for (pt, clock) in [(TE_8K, 8000), (TE_48K, 48000)] {
            if caps.audio.iter().any(|c| c.clock_rate() == clock) {
                audio.formats.push(pt.to_string());
                audio.attributes.push(Attribute::Rtpmap(Rtpmap {
                    payload_type: pt,
                    encoding: "telephone-event".into(),
                    clock_rate: clock,
                    channels: None,
                }));
                audio.attributes.push(Attribute::Fmtp(Fmtp {
                    payload_type: pt,
                    params: "0-15".into(),
                }));
            }
        }
    }
    let mut sections = vec![audio];

    if let Some(v) = &caps.video {
        let mut video =
            MediaDescription::new(MediaType::Video, local.video_port, proto, Vec::new());
        if let Some(kbps) = v.max_bitrate_kbps {
            video.bandwidths.push(Bandwidth {
                kind: BandwidthType::As,
                value: u64::from(kbps),
            });
            video.bandwidths.push(Bandwidth {
                kind: BandwidthType::Tias,
                value: u64::from(kbps) * 1000,
            });
        }
        let has_cb = v.h264.profiles.contains(&H264Profile::ConstrainedBaseline);
        let profiles = v
            .h264
            .profiles
            .iter()
            .filter(|p| !(has_cb && **p == H264Profile::Baseline));
        let mut pt = FIRST_VIDEO_PT;
        for profile in profiles {
            for pm in &v.h264.packetization_modes {
                if pt > 127 {
                    break;
                }
                let params = H264Params {
                    profile_level_id: ProfileLevelId::new(*profile, v.h264.max_level),
                    packetization_mode: *pm,
                    level_asymmetry_allowed: v.h264.level_asymmetry_allowed,
                    max_fs: v.h264.max_fs,
                    max_mbps: v.h264.max_mbps,
                    ..H264Params::default()
                };
                video.formats.push(pt.to_string());
                video.attributes.push(Attribute::Rtpmap(Rtpmap {
                    payload_type: pt,
                    encoding: "H264".into(),
                    clock_rate: 90000,
                    channels: None,
                }));
                video.attributes.push(Attribute::Fmtp(Fmtp {
                    payload_type: pt,
                    params: params.to_fmtp(),
                }));
                pt += 1;
            }
        }
        video
            .attributes
            .extend(rtcp_fb_attributes(FbPayload::All, &v.rtcp_fb));
        if !video.formats.is_empty() {
            sections.push(video);
        }
    }

    for s in &mut sections {
        s.attributes.push(Attribute::Direction(caps.direction));
        if caps.rtcp_mux {
            s.attributes.push(Attribute::RtcpMux);
        }
        if crypto {
            for (i, suite) in caps.srtp_suites.iter().enumerate() {
                let tag = u32::try_from(i + 1).unwrap_or(u32::MAX);
                s.attributes
                    .push(crypto_attribute(tag, *suite, &SrtpKey::generate(rng)));
            }
        }
    }
    sdp.media = sections;
    sdp
}

/// Reads the answer to our [`offer`]. Lines refused by either side, and
/// lines whose answer is unusable (no offered codec, SRTP line without a
/// matching crypto), are left out of the result; a wrong number or kind of
/// m-lines is an error, as is an answer that leaves nothing.
pub fn accept_answer(
    our_offer: &SessionDescription,
    their_answer: &SessionDescription,
) -> Result<Vec<NegotiatedStream>, NegotiationError> {
    if our_offer.media.len() != their_answer.media.len() {
        return Err(NegotiationError::AnswerMismatch("m-line count differs"));
    }
    let our_dir = direction_of(&our_offer.attributes).unwrap_or(Direction::SendRecv);
    let their_dir = direction_of(&their_answer.attributes).unwrap_or(Direction::SendRecv);
    let mut streams = Vec::new();
    for (index, (o, a)) in our_offer.media.iter().zip(&their_answer.media).enumerate() {
        if o.media != a.media {
            return Err(NegotiationError::AnswerMismatch("media type differs"));
        }
        if o.port == 0 || a.port == 0 {
            continue;
        }
        if let Some(s) = accept_line(index, o, a, our_dir, their_dir, their_answer) {
            streams.push(s);
        }
    }
    if streams.is_empty() {
        return Err(NegotiationError::NoCommonCodec);
    }
    Ok(streams)
}

fn accept_line(
    index: usize,
    o: &MediaDescription,
    a: &MediaDescription,
    our_dir: Direction,
    their_dir: Direction,
    answer: &SessionDescription,
) -> Option<NegotiatedStream> {
    let kind = match o.media {
        MediaType::Audio => StreamKind::Audio,
        MediaType::Video => StreamKind::Video,
        _ => return None,
    };
    let secure = rtp_profile(&a.protocol)?;
    let (ot, at) = (PtTable::new(o), PtTable::new(a));
    let mut offered_set = [false; 128];
    for pt in o.payload_types() {
        if let Some(slot) = offered_set.get_mut(usize::from(pt)) {
            *slot = true;
        }
    }
    let offered = |pt: u8| offered_set.get(usize::from(pt)).copied().unwrap_or(false);
    let mut chosen = None;
    for pt in a.payload_types().filter(|pt| offered(*pt)) {
        let Some((enc, _, _)) = at.encoding(pt).or_else(|| ot.encoding(pt)) else {
            continue;
        };
        if enc.eq_ignore_ascii_case("telephone-event") {
            continue;
        }
        let video = match kind {
            StreamKind::Audio => None,
            StreamKind::Video => {
                let limits = H264Params::from_fmtp(at.fmtp(pt).unwrap_or(""))
                    .and_then(|p| limits_from_answer(&p));
                let Ok(limits) = limits else { continue };
                Some(limits)
            }
        };
        chosen = Some((pt, video));
        break;
    }
    let (pt, video) = chosen?;
    let mut codec = at.codec(pt).or_else(|| ot.codec(pt))?;
    if codec.fmtp.is_none() {
        codec.fmtp = at.fmtp(pt).map(str::to_owned);
    }
    let telephone_event =
        select_telephone_event(a, &at, codec.clock_rate).filter(|te| offered(*te));
    let all = [
        RtcpFeedback::Nack,
        RtcpFeedback::NackPli,
        RtcpFeedback::CcmFir,
    ];
    let ours = select_rtcp_fb(o, pt, &all);
    let rtcp_fb = select_rtcp_fb(a, pt, &ours);
    let mine = o.direction().unwrap_or(our_dir);
    let theirs = a.direction().unwrap_or(their_dir);
    let direction = mine.intersect(theirs.reversed());
    let srtp = answered_crypto(o, a);
    if secure && srtp.is_none() {
        return None;
    }
    let rtcp_mux = o.has_flag("rtcp-mux") && a.has_flag("rtcp-mux");
    let (remote_rtp, remote_rtcp) = remote_addrs(answer, a, rtcp_mux);
    Some(NegotiatedStream {
        index,
        kind,
        content: content_of(o),
        local_port: o.port,
        remote_rtp,
        remote_rtcp,
        rtcp_mux,
        codec,
        telephone_event,
        rtcp_fb,
        direction,
        srtp,
        video,
    })
}

/// The answered crypto line matched to ours by tag and suite.
fn answered_crypto(o: &MediaDescription, a: &MediaDescription) -> Option<SrtpParams> {
    let cryptos = |m: &MediaDescription| -> Vec<Crypto> {
        m.attributes
            .iter()
            .filter_map(|x| match x {
                Attribute::Crypto(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    };
    let ours = cryptos(o);
    cryptos(a).iter().find_map(|theirs| {
        let mine = ours
            .iter()
            .find(|c| c.tag == theirs.tag && c.suite == theirs.suite)?;
        let all = [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ];
        let (suite, local_key) = usable_crypto(mine, &all)?;
        let (_, remote_key) = usable_crypto(theirs, &[suite])?;
        Some(SrtpParams {
            suite,
            tag: theirs.tag,
            local_key,
            remote_key,
        })
    })
}
