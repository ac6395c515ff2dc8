//! Helpers of the call task: SDP negotiation, stream summaries, header-safe text.

use super::*;

/// A VTC that dials the gateway's own address (`key.conf@203.0.113.5`) means the one SIP
/// domain the gateway serves: the host is replaced when exactly one domain is configured.
pub(super) fn dial_uri(uri: &str, shared: &SipShared) -> String {
    let Ok(parsed) = cvi_provisioning::dial::parse_sip_uri(uri) else {
        return uri.to_string();
    };
    let ours = parsed.host == shared.host
        || parsed
            .host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip == shared.rtp_ip || ip.is_loopback());
    match (ours, shared.served_domains.as_slice(), parsed.user) {
        (true, [only], Some(user)) => format!("sip:{user}@{only}"),
        _ => uri.to_string(),
    }
}

/// Text for a quoted header value: printable ASCII without quotes or backslashes, at most
/// 120 characters. Rejection texts may carry parser messages about bytes the caller sent.
pub(super) fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(120)
        .collect()
}

/// RFC 3264 §8: a later SDP of the session keeps the o= line of the previous one, with the
/// version incremented by one when the description changed.
pub(super) fn keep_origin(next: &mut SessionDescription, prev: &SessionDescription) {
    next.origin = prev.origin.clone();
    if next != prev {
        let v = prev
            .origin
            .session_version
            .parse::<u64>()
            .map_or(1, |v| v.saturating_add(1));
        next.origin.session_version = v.to_string();
    }
}

pub(super) type Negotiated = (SessionDescription, Vec<NegotiatedStream>);

pub(super) fn negotiate(
    body: &[u8],
    shared: &SipShared,
    local: &LocalAddrs,
) -> Result<Negotiated, (u16, String)> {
    let offer = SessionDescription::parse_bytes(body).map_err(|e| (400, format!("SDP: {e}")))?;
    match sdp::answer(&offer, &shared.caps, local, &mut rand::thread_rng()) {
        Ok(a) => Ok((a.sdp, a.streams)),
        Err(NegotiationError::NoCommonCodec) => Err((488, "noCommonCodec".into())),
        Err(e) => Err((488, format!("SDP: {e}"))),
    }
}

pub(super) fn stream_infos(streams: &[NegotiatedStream]) -> Vec<StreamInfo> {
    streams
        .iter()
        .map(|s| StreamInfo {
            kind: format!("{:?}", s.kind).to_lowercase(),
            codec: format!("{}/{}", s.codec.name, s.codec.clock_rate),
            local_port: s.local_port,
            remote: s.remote_rtp.map(|a| a.to_string()),
            direction: format!("{:?}", s.direction).to_lowercase(),
            srtp: s.srtp.is_some(),
        })
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn header_text_cannot_break_out_of_a_quoted_header() {
        assert_eq!(
            super::header_text("SDP: bad \"x\"\r\nVia: evil"),
            "SDP: bad ?x???Via: evil"
        );
        assert_eq!(super::header_text(&"a".repeat(500)).len(), 120);
    }
}
