//! Every ParseError variant, its status and reason; validate_request's answers.

use cvi_sip::parse::{ParseError, parse_datagram, parse_stream, validate_request};
use cvi_sip::{Message, Request};

fn err(s: &[u8]) -> ParseError {
    parse_datagram(s).expect_err("must not parse")
}

#[test]
fn bad_start_line() {
    for s in [
        "",
        "\r\n\r\n",
        "INVITE sip:a@b\r\n\r\n",
        "INVITE sip:a@b SIP/2.0 extra\r\n\r\n",
        "INVITE a@b SIP/2.0\r\n\r\n",
        "IN(VITE sip:a@b SIP/2.0\r\n\r\n",
        "INVITE sip:a@b HTTP/1.1\r\n\r\n",
        "SIP/2.0 20 OK\r\n\r\n",
        "SIP/2.0 099 Low\r\n\r\n",
        "SIP/2.0 700 High\r\n\r\n",
        "SIP/2.0 2000 OK\r\n\r\n",
        "SIP/2.0 OK\r\n\r\n",
        "INVITE sip:a@b\x00 SIP/2.0\r\n\r\n",
        "INVITE sip:a\rb SIP/2.0\r\n\r\n",
    ] {
        assert_eq!(err(s.as_bytes()), ParseError::BadStartLine, "{s:?}");
    }
    assert_eq!(ParseError::BadStartLine.status(), 400);
}

#[test]
fn unsupported_version() {
    assert_eq!(
        err(b"OPTIONS sip:a@b SIP/7.0\r\n\r\n"),
        ParseError::UnsupportedVersion
    );
    assert_eq!(
        err(b"SIP/1.0 200 OK\r\n\r\n"),
        ParseError::UnsupportedVersion
    );
    assert_eq!(ParseError::UnsupportedVersion.status(), 505);
    assert_eq!(
        ParseError::UnsupportedVersion.reason(),
        "Version Not Supported"
    );
}

#[test]
fn missing_colon_and_bad_header() {
    assert_eq!(
        err(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nNoColonHere\r\n\r\n"),
        ParseError::MissingColon { line: 3 }
    );
    for (s, line) in [
        ("OPTIONS sip:a@b SIP/2.0\r\n continuation first\r\n\r\n", 2),
        ("OPTIONS sip:a@b SIP/2.0\r\n: empty name\r\n\r\n", 2),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nBad Name: x\r\n\r\n",
            3,
        ),
        ("OPTIONS sip:a@b SIP/2.0\r\nCall<ID>: x\r\n\r\n", 2),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\rInjected: 2\r\n\r\n",
            2,
        ),
    ] {
        assert_eq!(err(s.as_bytes()), ParseError::BadHeader { line }, "{s:?}");
    }
    assert_eq!(ParseError::MissingColon { line: 3 }.status(), 400);
}

#[test]
fn bad_content_length() {
    for cl in [
        "-1",
        "abc",
        "1 2",
        "",
        "99999999999999999999999",
        "+5",
        "0x10",
    ] {
        let s = format!("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(err(s.as_bytes()), ParseError::BadContentLength, "{cl:?}");
    }
    let twice = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nxy";
    assert_eq!(err(twice), ParseError::BadContentLength);
    let agree = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\nl: 2\r\n\r\nxy";
    assert_eq!(
        parse_datagram(agree).expect("agreeing duplicates").body(),
        b"xy"
    );
}

#[test]
fn body_truncated() {
    assert_eq!(
        err(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort"),
        ParseError::BodyTruncated {
            declared: 10,
            available: 5
        }
    );
    assert_eq!(
        err(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\n"),
        ParseError::BodyTruncated {
            declared: 1,
            available: 0
        }
    );
}

#[test]
fn not_utf8() {
    assert_eq!(
        err(b"OPTIONS sip:a@b SIP/2.0\r\nSubject: \xff\xfe\r\n\r\n"),
        ParseError::NotUtf8
    );
    assert_eq!(
        err(b"OPTIONS sip:\xc3@b SIP/2.0\r\n\r\n"),
        ParseError::NotUtf8
    );
    assert_eq!(ParseError::NotUtf8.status(), 400);
}

#[test]
fn stream_only_errors() {
    let no_cl = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n";
    assert_eq!(
        parse_stream(no_cl, 4096),
        Err(ParseError::MissingContentLength)
    );
    let endless = vec![b'X'; 5000];
    let mut head = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
    head.extend_from_slice(&endless);
    assert_eq!(
        parse_stream(&head, 4096),
        Err(ParseError::TooLarge { max: 4096 })
    );
    let big_body = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n";
    assert_eq!(
        parse_stream(big_body, 4096),
        Err(ParseError::BodyTooLarge {
            declared: 5000,
            max: 4096
        })
    );
    let huge = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 18446744073709551615\r\n\r\n";
    assert!(matches!(
        parse_stream(huge, 4096),
        Err(ParseError::BodyTooLarge { .. })
    ));
    assert_eq!(ParseError::TooLarge { max: 1 }.status(), 513);
    assert_eq!(
        ParseError::BodyTooLarge {
            declared: 2,
            max: 1
        }
        .status(),
        413
    );
    assert_eq!(ParseError::MissingContentLength.status(), 400);
}

#[test]
fn every_variant_has_a_reason_without_input() {
    let all = [
        ParseError::BadStartLine,
        ParseError::UnsupportedVersion,
        ParseError::MissingColon { line: 1 },
        ParseError::BadHeader { line: 1 },
        ParseError::BadContentLength,
        ParseError::MissingContentLength,
        ParseError::BodyTruncated {
            declared: 1,
            available: 0,
        },
        ParseError::TooLarge { max: 1 },
        ParseError::BodyTooLarge {
            declared: 2,
            max: 1,
        },
        ParseError::NotUtf8,
    ];
    for e in all {
        assert!(!e.reason().is_empty() && e.reason().is_ascii());
        assert!([400, 413, 505, 513].contains(&e.status()));
        assert!(!e.to_string().is_empty());
    }
}

const VALID: &str = "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\n\
    To: <sip:bob@example.com>\r\nFrom: \"A\" <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
    Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

fn req(s: &str) -> Request {
    match parse_datagram(s.as_bytes()).expect("parse") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("request expected"),
    }
}

fn without(name: &str) -> Request {
    let mut r = req(VALID);
    r.headers.remove(name);
    r
}

#[test]
fn validate_request_names_the_missing_header() {
    assert_eq!(validate_request(&req(VALID)), Ok(()));
    for (name, reason) in [
        ("To", "Missing To Header"),
        ("From", "Missing From Header"),
        ("Call-ID", "Missing Call-ID Header"),
        ("CSeq", "Missing CSeq Header"),
        ("Via", "Missing Via Header"),
    ] {
        assert_eq!(
            validate_request(&without(name)),
            Err((400, reason.to_string()))
        );
    }
    assert_eq!(validate_request(&without("Max-Forwards")), Ok(()));
}

#[test]
fn validate_request_rejects_unreadable_headers() {
    for (name, value, reason) in [
        ("To", "\"unterminated <sip:b@x>", "Malformed To Header"),
        ("From", "not a uri", "Malformed From Header"),
        ("CSeq", "x INVITE", "Malformed CSeq Header"),
        ("CSeq", "1 BYE", "CSeq Method Does Not Match"),
        ("Via", "SIP/2.0/UDP 192.0.2.1", "Via Without Branch"),
        (
            "Via",
            "SIP/3.0/UDP 192.0.2.1;branch=z9hG4bKa",
            "Malformed Via Header",
        ),
        ("Max-Forwards", "seventy", "Malformed Max-Forwards Header"),
        ("Call-ID", " ", "Missing Call-ID Header"),
    ] {
        let mut r = req(VALID);
        r.headers.set(name, value);
        assert_eq!(
            validate_request(&r),
            Err((400, reason.to_string())),
            "{name}: {value}"
        );
    }
    let mut r = req(VALID);
    r.headers.push("CSeq", "2 INVITE");
    assert_eq!(
        validate_request(&r),
        Err((400, "Multiple CSeq Headers".to_string()))
    );
}

#[test]
fn max_forwards_zero() {
    let mut r = req(VALID);
    r.headers.set("Max-Forwards", "0");
    assert_eq!(
        validate_request(&r),
        Err((483, "Too Many Hops".to_string()))
    );
    let options = VALID.replace("INVITE", "OPTIONS");
    let mut r = req(&options);
    r.headers.set("Max-Forwards", "00");
    assert_eq!(validate_request(&r), Ok(()));
}
