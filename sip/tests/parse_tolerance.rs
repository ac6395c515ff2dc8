//! What real endpoints send and the parser must accept: compact and mixed-case names,
//! folding, LF-only line ends, IPv6, sips, quoted names with commas, binary bodies.

use cvi_sip::headers::{NameAddr, Scheme, SipUri, top_via};
use cvi_sip::parse::{parse_datagram, validate_request};
use cvi_sip::{Message, Method};

fn parse(s: &str) -> Message {
    parse_datagram(s.as_bytes()).expect("parse")
}

fn names(m: &Message) -> Vec<&str> {
    m.headers().0.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn compact_forms_are_expanded() {
    let m = parse(
        "INVITE sip:bob@example.com SIP/2.0\r\n\
         v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\ni: abc@host\r\nf: <sip:a@x>;tag=1\r\nt: <sip:bob@example.com>\r\n\
         m: <sip:a@192.0.2.1>\r\nc: application/sdp\r\ne: gzip\r\nk: timer\r\ns: hi\r\no: refer\r\nr: <sip:c@x>\r\n\
         b: <sip:a@x>\r\nx: 1800\r\nu: talk\r\na: *;video\r\nj: *;audio\r\nd: proxy\r\ny: abc\r\nn: <https://x/c>\r\n\
         CSeq: 1 INVITE\r\nl: 0\r\n\r\n",
    );
    assert_eq!(
        names(&m),
        [
            "Via",
            "Call-ID",
            "From",
            "To",
            "Contact",
            "Content-Type",
            "Content-Encoding",
            "Supported",
            "Subject",
            "Event",
            "Refer-To",
            "Referred-By",
            "Session-Expires",
            "Allow-Events",
            "Accept-Contact",
            "Reject-Contact",
            "Request-Disposition",
            "Identity",
            "Identity-Info",
            "CSeq",
            "Content-Length"
        ]
    );
    let Message::Request(r) = m else {
        panic!("request")
    };
    validate_request(&r).expect("valid");
}

#[test]
fn header_names_in_any_case_are_canonical_unknown_kept() {
    let m = parse(
        "OPTIONS sip:x@y SIP/2.0\r\nCALL-ID: 1\r\ncall-id: 2\r\ncseq: 1 OPTIONS\r\nwww-authenticate: Digest\r\n\
         VIA: SIP/2.0/UDP h;branch=z9hG4bKx\r\nmax-FORWARDS: 70\r\nI: 3\r\nX-Odd-Case: 1\r\nx-odd-case: 2\r\n\
         mime-version: 1.0\r\nmin-se: 90\r\nrseq: 1\r\nRECORD-route: <sip:p;lr>\r\n\r\n",
    );
    assert_eq!(
        names(&m),
        [
            "Call-ID",
            "Call-ID",
            "CSeq",
            "WWW-Authenticate",
            "Via",
            "Max-Forwards",
            "Call-ID",
            "X-Odd-Case",
            "x-odd-case",
            "MIME-Version",
            "Min-SE",
            "RSeq",
            "Record-Route"
        ]
    );
    assert_eq!(
        m.headers().get_all("call-id").collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
}

#[test]
fn folding_whitespace_around_colon_and_lf_only() {
    let m = parse(
        "INVITE sip:bob@example.com SIP/2.0\n\
         Subject  :   first part\n   second part\n\tthird\n\
         Via\t: SIP/2.0/UDP 192.0.2.1\n ;branch=z9hG4bK1\n\
         Empty:\n\
         From:\n <sip:a@x>;tag=9\n\
         \n",
    );
    let h = m.headers();
    assert_eq!(h.get("Subject"), Some("first part second part third"));
    assert_eq!(h.get("Via"), Some("SIP/2.0/UDP 192.0.2.1 ;branch=z9hG4bK1"));
    assert_eq!(h.get("Empty"), Some(""));
    assert_eq!(h.get("From"), Some("<sip:a@x>;tag=9"));
    assert_eq!(top_via(h).expect("via").branch(), Some("z9hG4bK1"));
}

#[test]
fn repeated_and_multi_value_via() {
    let m = parse(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP a.example;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK2\r\n\
         Via: SIP/2.0/TLS b.example:5061;branch=z9hG4bK3;received=2001:db8::1;rport=1234\r\nContent-Length: 0\r\n\r\n",
    );
    let vias = m.headers().values("Via");
    assert_eq!(vias.len(), 3);
    let v: Vec<_> = vias
        .iter()
        .map(|v| cvi_sip::headers::Via::parse(v).expect("via"))
        .collect();
    assert_eq!(
        (v[1].host.as_str(), v[1].port),
        ("[2001:db8::9]", Some(5070))
    );
    assert_eq!(v[2].received(), Some("2001:db8::1"));
    assert_eq!(v[2].rport(), Some(Some(1234)));
}

#[test]
fn ipv6_and_sips_uris() {
    let m = parse(
        "INVITE sips:bob@[2001:db8::10]:5061;transport=tls SIP/2.0\r\n\
         Via: SIP/2.0/TLS [2001:db8::20];branch=z9hG4bKv6\r\nTo: <sips:bob@[2001:db8::10]>\r\n\
         From: <sips:alice@[2001:db8::20]:5061>;tag=6\r\nCall-ID: v6\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n",
    );
    let Message::Request(r) = m else {
        panic!("request")
    };
    validate_request(&r).expect("valid");
    let uri = SipUri::parse(&r.uri).expect("uri");
    assert_eq!(uri.scheme, Scheme::Sips);
    assert_eq!(
        (uri.host.as_str(), uri.port, uri.transport()),
        ("[2001:db8::10]", Some(5061), Some("tls"))
    );
    assert_eq!(uri.to_string(), r.uri);
    let via = top_via(&r.headers).expect("via");
    assert_eq!((via.host.as_str(), via.port), ("[2001:db8::20]", None));
}

#[test]
fn quoted_display_names_with_commas_escapes_and_utf8() {
    let m = parse(
        "SIP/2.0 180 Ringing\r\n\
         Contact: \"Doe, John \\\"JD\\\"\" <sip:jd@example.com;transport=tcp>;expires=60, <sip:other@example.com>\r\n\
         From: \"Ærøskøbing 会议室\" <sip:room@example.com>;tag=x\r\n\
         To: Jörg Müller <sip:jm@example.com>;tag=y\r\nContent-Length: 0\r\n\r\n",
    );
    let contacts = m.headers().values("Contact");
    assert_eq!(contacts.len(), 2);
    let c = NameAddr::parse(&contacts[0]).expect("contact");
    assert_eq!(c.display.as_deref(), Some("Doe, John \"JD\""));
    assert_eq!(c.uri, "sip:jd@example.com;transport=tcp");
    assert_eq!(c.param("expires"), Some(Some("60")));
    let f = NameAddr::parse(m.headers().get("From").expect("From")).expect("from");
    assert_eq!(f.display.as_deref(), Some("Ærøskøbing 会议室"));
    let t = NameAddr::parse(m.headers().get("To").expect("To")).expect("to");
    assert_eq!(
        (t.display.as_deref(), t.tag()),
        (Some("Jörg Müller"), Some("y"))
    );
}

#[test]
fn binary_body_and_body_without_content_length() {
    let mut raw = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\n".to_vec();
    raw.extend_from_slice(&[0xff, 0x00, 0xfe, 0x80]);
    assert_eq!(
        parse_datagram(&raw).expect("parse").body(),
        [0xff, 0x00, 0xfe, 0x80]
    );
    // UDP without Content-Length: the rest of the datagram.
    let m = parse("MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\nhello\r\nworld");
    assert_eq!(m.body(), b"hello\r\nworld");
    // Extra bytes after Content-Length are discarded (RFC 3261 §18.3).
    let m = parse("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello, and more");
    assert_eq!(m.body(), b"hello");
}

#[test]
fn leading_line_ends_mixed_endings_and_missing_blank_line() {
    let m = parse("\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\n\r\n");
    assert_eq!(m.headers().get("Call-ID"), Some("1"));
    let m = parse("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n");
    assert!(m.body().is_empty());
    let m = parse("SIP/2.0 200 OK\r\n\r\n");
    assert!(m.headers().0.is_empty());
}

#[test]
fn start_line_variants() {
    let Message::Response(r) = parse("sip/2.0 183  Session Progress  \r\n\r\n") else {
        panic!("response")
    };
    assert_eq!((r.status, r.reason.as_str()), (183, "Session Progress"));
    let Message::Response(r) = parse("SIP/2.0 200\r\n\r\n") else {
        panic!("response")
    };
    assert_eq!((r.status, r.reason.as_str()), (200, ""));
    let Message::Request(r) = parse("FOO sip:a@b SIP/2.0\r\n\r\n") else {
        panic!("request")
    };
    assert_eq!(r.method, Method::Other("FOO".into()));
}
