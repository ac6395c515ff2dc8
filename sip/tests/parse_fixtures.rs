//! The real INVITEs in shared/fixtures parse, validate and round-trip.

use cvi_sip::headers::{CSeq, NameAddr, SessionExpires, SipUri, Via, option_tags, top_via};
use cvi_sip::parse::{StreamItem, parse_datagram, parse_stream, validate_request};
use cvi_sip::{Message, Method};

const CISCO: &[u8] =
    include_bytes!("../../../shared/fixtures/sdp/04-cisco-tandberg257-te4.invite.sip");
const LINPHONE: &[u8] = include_bytes!("../../../shared/fixtures/sdp/09-linphone-3.6.1.invite.sip");

/// Headers other than Content-Length (which `to_bytes` rewrites at the end).
fn headers_sans_cl(m: &Message) -> Vec<(String, String)> {
    m.headers()
        .0
        .iter()
        .filter(|(n, _)| n != "Content-Length")
        .cloned()
        .collect()
}

fn assert_round_trip(m: &Message) {
    let again = parse_datagram(&m.to_bytes()).expect("reparse");
    assert_eq!(headers_sans_cl(m), headers_sans_cl(&again));
    assert_eq!(m.body(), again.body());
    match (m, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!((&a.method, &a.uri), (&b.method, &b.uri))
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!((a.status, &a.reason), (b.status, &b.reason))
        }
        _ => panic!("kind changed"),
    }
}

fn request(m: Message) -> cvi_sip::Request {
    match m {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

#[test]
fn cisco_tandberg_invite() {
    let r = request(parse_datagram(CISCO).expect("parse"));
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri, "sip:conference0_alias@rd.pexip.com");
    assert_eq!(r.body.len(), 3305);
    assert!(r.body.starts_with(b"v=0\r\n"));
    validate_request(&r).expect("valid");

    let vias = r.headers.values("Via");
    assert_eq!(vias.len(), 2);
    let top = top_via(&r.headers).expect("top via");
    assert_eq!(
        (top.transport.as_str(), top.host.as_str(), top.port),
        ("TLS", "10.44.143.13", Some(5061))
    );
    assert_eq!(top.rport(), Some(None));
    assert!(
        top.branch()
            .is_some_and(|b| b.starts_with("z9hG4bKf7cce9e2"))
    );
    let second = Via::parse(&vias[1]).expect("second via");
    assert_eq!(second.rport(), Some(Some(35991)));
    assert_eq!(second.received(), Some("10.44.10.2"));

    let from = NameAddr::parse(r.headers.get("From").expect("From")).expect("from");
    assert_eq!(from.display.as_deref(), Some("TE002"));
    assert_eq!(from.tag(), Some("81b7df65ad9d40db"));
    let to = NameAddr::parse(r.headers.get("To").expect("To")).expect("to");
    assert_eq!(to.tag(), None);
    let rr = r.headers.values("Record-Route");
    assert_eq!(rr.len(), 2);
    let rr = SipUri::parse(&NameAddr::parse(&rr[0]).expect("rr").uri).expect("rr uri");
    assert_eq!(
        rr.user.as_deref(),
        Some("proxy-call-id=fcf57da6-2b76-11e6-a9db-005056a903cb")
    );
    assert_eq!(
        (rr.transport(), rr.lr(), rr.port),
        (Some("tls"), true, Some(5061))
    );
    let contact = NameAddr::parse(r.headers.get("Contact").expect("Contact")).expect("contact");
    let contact = SipUri::parse(&contact.uri).expect("contact uri");
    assert_eq!(
        contact.param("opaque"),
        Some(Some("user:epid:F_7QBuwnO1GEg9vlaQLiigAA"))
    );
    assert_eq!(contact.param("gruu"), Some(None));

    assert_eq!(
        CSeq::parse(r.headers.get("CSeq").expect("CSeq"))
            .expect("cseq")
            .seq,
        100
    );
    let se = SessionExpires::parse(r.headers.get("Session-Expires").expect("SE")).expect("se");
    assert_eq!((se.delta, se.refresher), (180, None));
    assert_eq!(
        option_tags(&r.headers, "Supported"),
        ["replaces", "timer", "gruu", "path", "outbound"]
    );
    assert_eq!(r.headers.values("Allow").len(), 9);
    assert_round_trip(&Message::Request(r));
}

#[test]
fn linphone_invite() {
    let r = request(parse_datagram(LINPHONE).expect("parse"));
    assert_eq!(r.uri, "sip:88002@192.168.10.62");
    assert_eq!(r.body.len(), 435);
    validate_request(&r).expect("valid");
    let top = top_via(&r.headers).expect("via");
    assert_eq!(
        (top.transport.as_str(), top.port, top.branch()),
        ("UDP", Some(5061), Some("z9hG4bK826287637"))
    );
    assert_eq!(top.rport(), Some(None));
    // eXosip writes `(null)` as the Contact host: the name-addr reads, the URI does not.
    let contact = NameAddr::parse(r.headers.get("Contact").expect("Contact")).expect("contact");
    assert_eq!(contact.uri, "sip:martin@(null)");
    assert!(SipUri::parse(&contact.uri).is_err());
    assert_eq!(r.headers.get("Content-Length"), Some("435"));
    assert_eq!(r.headers.get("Subject"), Some("Phone call"));
    assert_round_trip(&Message::Request(r));
}

#[test]
fn fixtures_frame_on_a_stream_back_to_back() {
    let mut buf = CISCO.to_vec();
    buf.extend_from_slice(b"\r\n\r\n");
    buf.extend_from_slice(LINPHONE);
    let (first, n) = parse_stream(&buf, 65_536).expect("ok").expect("complete");
    assert_eq!(n, CISCO.len());
    assert!(matches!(first, StreamItem::Message(Message::Request(ref r)) if r.body.len() == 3305));
    let rest = buf.get(n..).expect("rest");
    assert_eq!(
        parse_stream(rest, 65_536),
        Ok(Some((StreamItem::KeepAlive, 4)))
    );
    let rest = rest.get(4..).expect("rest");
    let (second, n) = parse_stream(rest, 65_536).expect("ok").expect("complete");
    assert_eq!(n, LINPHONE.len());
    assert_eq!(
        second,
        StreamItem::Message(parse_datagram(LINPHONE).expect("parse"))
    );
}

#[test]
fn fixtures_with_lf_line_ends() {
    for raw in [CISCO, LINPHONE] {
        let crlf = parse_datagram(raw).expect("parse");
        let text = std::str::from_utf8(raw).expect("utf8");
        // Body line ends change length too, so compare headers only.
        let lf = text.replace("\r\n", "\n");
        let (head, body) = lf.split_once("\n\n").expect("blank line");
        let head: Vec<&str> = head
            .lines()
            .filter(|l| !l.starts_with("Content-Length"))
            .collect();
        let lf_msg = format!(
            "{}\nContent-Length: {}\n\n{body}",
            head.join("\n"),
            body.len()
        );
        let m = parse_datagram(lf_msg.as_bytes()).expect("lf parse");
        let names = |m: &Message| {
            m.headers()
                .0
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&m).len(), names(&crlf).len());
        assert_eq!(m.headers().get("Call-ID"), crlf.headers().get("Call-ID"));
        assert_eq!(m.body(), body.as_bytes());
    }
}
