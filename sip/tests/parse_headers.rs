//! Typed header views: parse, accessors, Display round-trips.

use cvi_sip::Method;
use cvi_sip::headers::{
    CSeq, HeaderError, MinSe, NameAddr, Refresher, Scheme, SessionExpires, SipUri, Via, option_tags,
};
use cvi_sip::message::Headers;
use std::fmt::Display;

/// parse → Display → parse gives an equal value.
fn round_trip<T: Display + PartialEq + std::fmt::Debug>(
    s: &str,
    parse: fn(&str) -> Result<T, HeaderError>,
) -> T {
    let v = parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    let again = parse(&v.to_string()).unwrap_or_else(|e| panic!("{v} (from {s:?}): {e}"));
    assert_eq!(v, again, "{s:?}");
    v
}

#[test]
fn via() {
    let v = round_trip(
        "SIP/2.0/udp host.example:5060;branch=z9hG4bK77;rport;received=192.0.2.9",
        Via::parse,
    );
    assert_eq!(
        (v.transport.as_str(), v.host.as_str(), v.port),
        ("UDP", "host.example", Some(5060))
    );
    assert_eq!(
        (v.branch(), v.rport(), v.received()),
        (Some("z9hG4bK77"), Some(None), Some("192.0.2.9"))
    );
    let mut v = round_trip(
        "SIP / 2.0 / WSS  [2001:db8::1] : 443 ; branch = z9hG4bKws ; x=\"a;b\"",
        Via::parse,
    );
    assert_eq!(
        (v.transport.as_str(), v.host.as_str(), v.port),
        ("WSS", "[2001:db8::1]", Some(443))
    );
    assert_eq!(v.params[1], ("x".to_string(), Some("\"a;b\"".to_string())));
    v.set_param("rport", Some("5070"));
    v.set_param("RECEIVED", Some("2001:db8::2"));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/WSS [2001:db8::1]:443;branch=z9hG4bKws;x=\"a;b\";rport=5070;RECEIVED=2001:db8::2"
    );
    assert_eq!(v.rport(), Some(Some(5070)));
    for bad in [
        "SIP/2.0/UDP",
        "SIP/2.0/UDPhost",
        "SIP/3.0/UDP h",
        "SIPS/2.0/UDP h",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP h:",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP h;;",
        "SIP/2.0/UDP h junk",
        "SIP/2.0/UDP h;x=\"open",
    ] {
        assert!(Via::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn name_addr_forms() {
    let n = round_trip(
        "\"Bob \\\"B\\\" \\\\ Smith\" <sip:bob@example.com;transport=tcp>;tag=abc;x",
        NameAddr::parse,
    );
    assert_eq!(n.display.as_deref(), Some("Bob \"B\" \\ Smith"));
    assert_eq!(
        (n.uri.as_str(), n.tag(), n.param("x")),
        ("sip:bob@example.com;transport=tcp", Some("abc"), Some(None))
    );
    // addr-spec: parameters after the URI are header parameters (RFC 3261 §20.10).
    let n = round_trip("sip:bob@example.com;tag=xyz;user=phone", NameAddr::parse);
    assert_eq!(
        (n.display.as_deref(), n.uri.as_str(), n.tag()),
        (None, "sip:bob@example.com", Some("xyz"))
    );
    assert_eq!(n.param("user"), Some(Some("phone")));
    let n = round_trip("Bob  Smith<sips:bob@example.com>", NameAddr::parse);
    assert_eq!(n.display.as_deref(), Some("Bob  Smith"));
    let n = round_trip("<sip:a@b>", NameAddr::parse)
        .with_tag("t1")
        .with_tag("t2");
    assert_eq!(n.to_string(), "<sip:a@b>;tag=t2");
    let n = round_trip("\"\" <tel:+15551234>", NameAddr::parse);
    assert_eq!(n.display.as_deref(), Some(""));
    for bad in [
        "",
        "<>",
        "\"open <sip:a@b>",
        "\"x\" sip:a@b",
        "<sip:a@b",
        "<sip:a@b> junk",
        "Bell, Alexander <sip:a@b>",
        "*",
        "sip:a@b x",
    ] {
        assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn cseq() {
    let c = round_trip("  4711   INVITE ", CSeq::parse);
    assert_eq!((c.seq, c.method), (4711, Method::Invite));
    assert_eq!(
        round_trip("0 NEWMETHOD", CSeq::parse).method,
        Method::Other("NEWMETHOD".into())
    );
    assert_eq!(CSeq::parse("4294967295 ACK").map(|c| c.seq), Ok(u32::MAX));
    for bad in [
        "INVITE",
        "1",
        "1INVITE",
        "4294967296 ACK",
        "-1 ACK",
        "1 INVITE x",
        "1 IN<VITE",
    ] {
        assert!(CSeq::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn sip_uri() {
    let u = round_trip(
        "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr;maddr=239.255.255.1?Subject=x&Priority=urgent",
        SipUri::parse,
    );
    assert_eq!(u.scheme, Scheme::Sips);
    assert_eq!(
        (u.user.as_deref(), u.host.as_str(), u.port),
        (Some("alice:secret"), "[2001:db8::1]", Some(5061))
    );
    assert_eq!(
        (u.transport(), u.lr(), u.headers.as_str()),
        (Some("tls"), true, "Subject=x&Priority=urgent")
    );
    let u = round_trip("SIP:proxy.example.com;LR", SipUri::parse);
    assert_eq!(
        (u.scheme, u.user.as_deref(), u.lr(), u.transport()),
        (Scheme::Sip, None, true, None)
    );
    assert_eq!(u.to_string(), "sip:proxy.example.com;LR");
    // RFC 4475 semiuri / esc01: `;` and escapes in the user part.
    let u = round_trip("sip:user;par=u%40example.net@example.com", SipUri::parse);
    assert_eq!(
        (u.user.as_deref(), u.host.as_str()),
        (Some("user;par=u%40example.net"), "example.com")
    );
    let u = round_trip(
        "tel:+1-201-555-0123;phone-context=example.com",
        SipUri::parse,
    );
    assert_eq!(
        (u.scheme, u.host.as_str(), u.param("phone-context")),
        (Scheme::Tel, "+1-201-555-0123", Some(Some("example.com")))
    );
    for bad in [
        "",
        "sip:",
        "http://x",
        "sip:@host",
        "sip:a b@c",
        "sip:host:port",
        "sip:host:70000",
        "sip:[zz]",
        "sip:host;=x",
        "sip:ho/st",
        "tel:",
    ] {
        assert!(SipUri::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn session_timer_headers() {
    let s = round_trip("1800;refresher=UAC", SessionExpires::parse);
    assert_eq!((s.delta, s.refresher), (1800, Some(Refresher::Uac)));
    assert_eq!(s.to_string(), "1800;refresher=uac");
    let s = round_trip(" 90 ; refresher = uas ; x=1", SessionExpires::parse);
    assert_eq!((s.delta, s.refresher), (90, Some(Refresher::Uas)));
    assert_eq!(round_trip("180", SessionExpires::parse).refresher, None);
    assert!(SessionExpires::parse("90;refresher=both").is_err());
    assert!(SessionExpires::parse("ninety").is_err());
    assert_eq!(round_trip("90;lr", MinSe::parse), MinSe(90));
    assert!(MinSe::parse("").is_err());
    assert!(MinSe::parse("99999999999").is_err());
}

#[test]
fn option_tags_across_entries() {
    let mut h = Headers::new();
    h.push("Supported", "timer, 100rel");
    h.push("k", "replaces");
    h.push("Require", "");
    h.push("Supported", "gruu,,path, bad<tag>");
    // Header names are matched case-insensitively; compact forms are expanded by the parser.
    assert_eq!(
        option_tags(&h, "supported"),
        ["timer", "100rel", "gruu", "path"]
    );
    assert!(option_tags(&h, "Require").is_empty());
}

#[test]
fn missing_header_error() {
    let h = Headers::new();
    assert_eq!(
        cvi_sip::headers::top_via(&h),
        Err(HeaderError::Missing("Via"))
    );
}
