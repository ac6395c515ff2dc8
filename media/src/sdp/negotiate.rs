//! RFC 3264 answerer: a pure function of the offer, our capabilities, our
//! addresses and a random source (for SRTP keys and the `o=` session id).
//!
//! Every offered m-line is answered in order. A line we cannot or will not
//! carry is refused with port 0; the call only fails (488) when neither an
//! audio nor a video line is left.

use std::net::{IpAddr, SocketAddr};

use rand::RngCore;

use super::attr::{FbPayload, Fmtp, Rtpmap};
use super::caps::{LocalAddrs, LocalCapabilities, SrtpPolicy};
use super::h264_fmtp::{H264Local, answer_h264};
use super::model::{
    Attribute, Bandwidth, BandwidthType, Connection, Direction, MediaDescription, MediaType,
    Origin, SessionDescription, Timing, bandwidth_of, direction_of,
};
use super::select::{
    PtTable, rtcp_fb_attributes, select_audio, select_h264, select_rtcp_fb, select_telephone_event,
};
use super::srtp::{SrtpKey, SrtpParams, choose_offered, crypto_attribute, has_crypto};
use super::stream::{
    Answer, ContentRole, NegotiatedStream, NegotiationError, RefusalReason, RefusedStream,
    StreamKind,
};

pub use super::offer::{accept_answer, offer};

/// Answers an offer. See the module docs; the rules per line are in
/// `answer_media`. `rng` provides our SRTP keys and the `o=` session id.
pub fn answer(
    offer: &SessionDescription,
    caps: &LocalCapabilities,
    local: &LocalAddrs,
    rng: &mut impl RngCore,
) -> Result<Answer, NegotiationError> {
    let mut sdp = local_session(local, rng);
    if let Some(t) = offer.timings.first() {
        sdp.timings = vec![*t];
    }
    let session_dir = direction_of(&offer.attributes).unwrap_or(Direction::SendRecv);
    let mut ctx = Ctx {
        offer,
        caps,
        local,
        session_dir,
        have_audio: false,
        have_video: false,
    };
    let (mut streams, mut refused) = (Vec::new(), Vec::new());
    for (index, m) in offer.media.iter().enumerate() {
        match ctx.answer_media(index, m, rng) {
            Ok((section, stream)) => {
                sdp.media.push(section);
                streams.push(stream);
            }
            Err(reason) => {
                sdp.media.push(refused_section(m));
                refused.push(RefusedStream {
                    index,
                    media: m.media.clone(),
                    reason,
                });
            }
        }
    }
    if streams.is_empty() {
        return Err(NegotiationError::from_refusals(&refused));
    }
    Ok(Answer {
        sdp,
        streams,
        refused,
    })
}

/// `v= o= s= c= t=` for an SDP we originate.
pub(crate) fn local_session(local: &LocalAddrs, rng: &mut impl RngCore) -> SessionDescription {
    let conn = Connection::for_ip(local.ip);
    SessionDescription {
        origin: Origin {
            username: "cvi-gateway".into(),
            // 62 bits: fits peers that parse the id as a signed 64-bit number.
            session_id: (rng.next_u64() >> 2).to_string(),
            session_version: "1".into(),
            net_type: conn.net_type.clone(),
            addr_type: conn.addr_type.clone(),
            address: conn.address.clone(),
        },
        session_name: "cvi-gateway".into(),
        session_info: None,
        connection: Some(conn),
        bandwidths: Vec::new(),
        timings: vec![Timing { start: 0, stop: 0 }],
        attributes: Vec::new(),
        extra: Vec::new(),
        media: Vec::new(),
    }
}

/// RFC 3264 §6: a refused stream keeps media, protocol and formats, port 0.
fn refused_section(m: &MediaDescription) -> MediaDescription {
    let mut formats = m.formats.clone();
    if formats.is_empty() {
        formats.push("0".into());
    }
    MediaDescription::new(m.media.clone(), 0, &m.protocol, formats)
}

/// `(secure, feedback)` for the RTP profiles we speak; `None` otherwise.
pub(crate) fn rtp_profile(proto: &str) -> Option<bool> {
    match proto.to_ascii_uppercase().as_str() {
        "RTP/AVP" | "RTP/AVPF" => Some(false),
        "RTP/SAVP" | "RTP/SAVPF" => Some(true),
        _ => None,
    }
}

/// The content role of a section.
pub(crate) fn content_of(m: &MediaDescription) -> ContentRole {
    m.attributes
        .iter()
        .find_map(|a| match a {
            Attribute::Content(v) => Some(ContentRole::from_value(v)),
            _ => None,
        })
        .unwrap_or(ContentRole::Main)
}

/// Remote RTP and RTCP addresses of a section.
pub(crate) fn remote_addrs(
    session: &SessionDescription,
    m: &MediaDescription,
    mux: bool,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let ip: Option<IpAddr> = m
        .connections
        .first()
        .or(session.connection.as_ref())
        .and_then(Connection::ip);
    let rtp = ip.map(|ip| SocketAddr::new(ip, m.port));
    if mux {
        return (rtp, rtp);
    }
    let rtcp_attr = m.attributes.iter().find_map(|a| match a {
        Attribute::Rtcp(r) => Some(r),
        _ => None,
    });
    let rtcp = match rtcp_attr {
        Some(r) => r
            .connection
            .as_ref()
            .and_then(Connection::ip)
            .or(ip)
            .map(|ip| SocketAddr::new(ip, r.port)),
        None => ip
            .zip(m.port.checked_add(1))
            .map(|(ip, p)| SocketAddr::new(ip, p)),
    };
    (rtp, rtcp)
}

struct Ctx<'a> {
    offer: &'a SessionDescription,
    caps: &'a LocalCapabilities,
    local: &'a LocalAddrs,
    session_dir: Direction,
    have_audio: bool,
    have_video: bool,
}

impl Ctx<'_> {
    fn answer_media(
        &mut self,
        index: usize,
        m: &MediaDescription,
        rng: &mut impl RngCore,
    ) -> Result<(MediaDescription, NegotiatedStream), RefusalReason> {
        let caps = self.caps;
        if m.port == 0 {
            return Err(RefusalReason::Disabled);
        }
        let content = content_of(m);
        let kind = match (&m.media, &content) {
            (MediaType::Audio, _) if self.have_audio => return Err(RefusalReason::ExtraStream),
            (MediaType::Audio, _) => StreamKind::Audio,
            (MediaType::Video, ContentRole::Slides) => return Err(RefusalReason::ContentStream),
            (MediaType::Video, _) if caps.video.is_none() => {
                return Err(RefusalReason::UnsupportedMedia);
            }
            (MediaType::Video, _) if self.have_video => return Err(RefusalReason::ExtraStream),
            (MediaType::Video, _) => StreamKind::Video,
            _ => return Err(RefusalReason::UnsupportedMedia),
        };
        let secure = rtp_profile(&m.protocol)
            .ok_or_else(|| RefusalReason::UnsupportedTransport(m.protocol.clone()))?;

        let table = PtTable::new(m);
        let (local_port, mut section, codec, telephone_event, rtcp_fb, video) = match kind {
            StreamKind::Audio => {
                let (pt, ours) =
                    select_audio(m, &table, caps).ok_or(RefusalReason::NoCommonCodec)?;
                let mut codec = table.codec(pt).ok_or(RefusalReason::NoCommonCodec)?;
                let te = caps
                    .telephone_event
                    .then(|| select_telephone_event(m, &table, codec.clock_rate))
                    .flatten();
                let mut s = MediaDescription::new(
                    MediaType::Audio,
                    self.local.audio_port,
                    &m.protocol,
                    vec![pt.to_string()],
                );
                s.attributes.push(Attribute::Rtpmap(Rtpmap {
                    payload_type: pt,
                    encoding: codec.name.clone(),
                    clock_rate: codec.clock_rate,
                    channels: codec.channels,
                }));
                if let Some(f) = ours.local_fmtp() {
                    s.attributes.push(Attribute::Fmtp(Fmtp {
                        payload_type: pt,
                        params: f.into(),
                    }));
                }
                if let Some(te) = te {
                    s.formats.push(te.to_string());
                    s.attributes.push(Attribute::Rtpmap(Rtpmap {
                        payload_type: te,
                        encoding: "telephone-event".into(),
                        clock_rate: codec.clock_rate,
                        channels: None,
                    }));
                    s.attributes.push(Attribute::Fmtp(Fmtp {
                        payload_type: te,
                        params: "0-15".into(),
                    }));
                }
                codec.channels = codec.channels.or(ours.channels().filter(|c| *c > 1));
                (self.local.audio_port, s, codec, te, Vec::new(), None)
            }
            StreamKind::Video => {
                let vcaps = caps.video.as_ref().ok_or(RefusalReason::UnsupportedMedia)?;
                let (pt, params) = select_h264(m, &table, &vcaps.h264, caps.preference)
                    .ok_or(RefusalReason::NoCommonCodec)?;
                let h264_local = H264Local {
                    max_level: vcaps.h264.max_level,
                    level_asymmetry_allowed: vcaps.h264.level_asymmetry_allowed,
                    max_fs: vcaps.h264.max_fs,
                    max_mbps: vcaps.h264.max_mbps,
                };
                let ans =
                    answer_h264(&params, &h264_local).map_err(|_| RefusalReason::NoCommonCodec)?;
                let codec = table.codec(pt).ok_or(RefusalReason::NoCommonCodec)?;
                let mut limits = ans.limits;
                limits.max_bitrate_bps = [
                    limits.max_bitrate_bps,
                    bandwidth(self.offer, m, &BandwidthType::Tias),
                    bandwidth(self.offer, m, &BandwidthType::As)
                        .map(|kbps| kbps.saturating_mul(1000)),
                ]
                .into_iter()
                .flatten()
                .min();
                let fb = select_rtcp_fb(m, pt, &vcaps.rtcp_fb);
                let mut s = MediaDescription::new(
                    MediaType::Video,
                    self.local.video_port,
                    &m.protocol,
                    vec![pt.to_string()],
                );
                if let Some(kbps) = vcaps.max_bitrate_kbps {
                    s.bandwidths.push(Bandwidth {
                        kind: BandwidthType::As,
                        value: u64::from(kbps),
                    });
                    s.bandwidths.push(Bandwidth {
                        kind: BandwidthType::Tias,
                        value: u64::from(kbps) * 1000,
                    });
                }
                s.attributes.push(Attribute::Rtpmap(Rtpmap {
                    payload_type: pt,
                    encoding: codec.name.clone(),
                    clock_rate: 90000,
                    channels: None,
                }));
                s.attributes.push(Attribute::Fmtp(Fmtp {
                    payload_type: pt,
                    params: ans.answer.to_fmtp(),
                }));
                s.attributes
                    .extend(rtcp_fb_attributes(FbPayload::Pt(pt), &fb));
                (self.local.video_port, s, codec, None, fb, Some(limits))
            }
        };

        let srtp = self.srtp(m, secure, rng)?;
        let offered_dir = m.direction().unwrap_or(self.session_dir);
        let direction = offered_dir.reversed().intersect(caps.direction);
        section.attributes.push(Attribute::Direction(direction));
        let rtcp_mux = caps.rtcp_mux && m.has_flag("rtcp-mux");
        if rtcp_mux {
            section.attributes.push(Attribute::RtcpMux);
        }
        if let Some(p) = &srtp {
            section
                .attributes
                .push(crypto_attribute(p.tag, p.suite, &p.local_key));
        }
        if m.attributes
            .iter()
            .any(|a| matches!(a, Attribute::Content(_)))
        {
            section.attributes.push(Attribute::Content("main".into()));
        }
        if let Some(mid) = m.attributes.iter().find_map(|a| match a {
            Attribute::Mid(v) => Some(v.clone()),
            _ => None,
        }) {
            section.attributes.push(Attribute::Mid(mid));
        }
        match kind {
            StreamKind::Audio => self.have_audio = true,
            StreamKind::Video => self.have_video = true,
        }
        let (remote_rtp, remote_rtcp) = remote_addrs(self.offer, m, rtcp_mux);
        let stream = NegotiatedStream {
            index,
            kind,
            content,
            local_port,
            remote_rtp,
            remote_rtcp,
            rtcp_mux,
            codec,
            telephone_event,
            rtcp_fb,
            direction,
            srtp,
            video,
        };
        Ok((section, stream))
    }

    /// The SRTP decision for a line (see [`SrtpPolicy`] and
    /// [`LocalCapabilities::best_effort_srtp`]).
    fn srtp(
        &self,
        m: &MediaDescription,
        secure: bool,
        rng: &mut impl RngCore,
    ) -> Result<Option<SrtpParams>, RefusalReason> {
        let caps = self.caps;
        let wanted = match (secure, caps.srtp) {
            (true, SrtpPolicy::Disabled) => return Err(RefusalReason::NoUsableCrypto),
            (true, _) => true,
            (false, SrtpPolicy::Disabled) => false,
            (false, _) => caps.best_effort_srtp && has_crypto(m),
        };
        let chosen = if wanted {
            choose_offered(m, &caps.srtp_suites)
        } else {
            None
        };
        match chosen {
            Some((tag, suite, remote_key)) => Ok(Some(SrtpParams {
                suite,
                tag,
                local_key: SrtpKey::generate(rng),
                remote_key,
            })),
            None if secure => Err(RefusalReason::NoUsableCrypto),
            None if caps.srtp == SrtpPolicy::Required => Err(RefusalReason::SrtpRequired),
            None => Ok(None),
        }
    }
}

/// Media-level bandwidth of a type, else the session-level one.
fn bandwidth(s: &SessionDescription, m: &MediaDescription, kind: &BandwidthType) -> Option<u64> {
    m.bandwidth(kind)
        .or_else(|| bandwidth_of(&s.bandwidths, kind))
}
