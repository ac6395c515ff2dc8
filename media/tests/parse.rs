//! Parser and serializer behaviour: what is tolerated, what is an error
//! (with its line), and that output parses back to the same value.
#![allow(clippy::unwrap_used)]

mod common;

use common::assert_round_trip;
use cvi_media::sdp::{
    Attribute, BandwidthType, Direction, ExtraLine, FbPayload, MAX_SDP_LEN, MediaType, ParseError,
    RtcpFb, Rtpmap, SessionDescription,
};

const BASIC: &str = "v=0\r\n\
o=- 20518 0 IN IP4 203.0.113.1\r\n\
s=-\r\n\
c=IN IP4 203.0.113.1\r\n\
b=AS:1024\r\n\
t=0 0\r\n\
a=sendrecv\r\n\
m=audio 54400 RTP/AVP 0 8 101\r\n\
b=TIAS:64000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
m=video 0/2 RTP/AVP 96\r\n\
a=rtcp-fb:* nack pli\r\n\
a=rtcp-fb:96 ccm fir\r\n\
a=content:slides\r\n\
a=label:12\r\n\
a=rtcp:53021 IN IP4 203.0.113.1\r\n\
m=application 5070 UDP/BFCP *\r\n\
a=floorctrl:c-s\r\n";

fn parse(s: &str) -> SessionDescription {
    SessionDescription::parse(s).unwrap()
}

fn err(s: &str) -> ParseError {
    SessionDescription::parse(s).unwrap_err()
}

#[test]
fn basic_structure_and_typed_attributes() {
    let d = parse(BASIC);
    assert_eq!(d.origin.session_id, "20518");
    assert_eq!(d.bandwidths[0].kind, BandwidthType::As);
    assert_eq!(d.attributes, [Attribute::Direction(Direction::SendRecv)]);
    assert_eq!(d.media.len(), 3);
    let a = &d.media[0];
    assert_eq!(a.payload_types().collect::<Vec<_>>(), [0, 8, 101]);
    assert_eq!(a.bandwidth(&BandwidthType::Tias), Some(64000));
    assert_eq!(
        a.rtpmap(101),
        Some(&Rtpmap {
            payload_type: 101,
            encoding: "telephone-event".into(),
            clock_rate: 8000,
            channels: None
        })
    );
    assert_eq!(a.fmtp(101).map(|f| f.params.as_str()), Some("0-15"));
    assert!(a.attributes.contains(&Attribute::other("ptime", "20")));
    let v = &d.media[1];
    assert_eq!((v.port, v.port_count), (0, Some(2)));
    assert_eq!(
        v.attributes[0],
        Attribute::RtcpFb(RtcpFb {
            payload: FbPayload::All,
            kind: "nack".into(),
            param: Some("pli".into())
        })
    );
    assert!(v.attributes.contains(&Attribute::Content("slides".into())));
    assert!(v.attributes.contains(&Attribute::Label("12".into())));
    let b = &d.media[2];
    assert_eq!(
        (b.media.clone(), b.formats.clone()),
        (MediaType::Application, vec!["*".to_owned()])
    );
    assert_round_trip(&d);
}

#[test]
fn serialization_is_canonical_crlf() {
    let d = parse(BASIC);
    assert_eq!(d.to_string(), BASIC);
}

#[test]
fn lf_crlf_trailing_spaces_and_blank_lines_are_tolerated() {
    let lf = BASIC.replace("\r\n", "\n");
    assert_eq!(parse(&lf), parse(BASIC));
    let messy = BASIC.replace("\r\n", " \t\r\n\r\n");
    assert_eq!(parse(&messy), parse(BASIC));
    let no_final_newline = BASIC.trim_end();
    assert_eq!(parse(no_final_newline), parse(BASIC));
}

#[test]
fn unknown_lines_and_attributes_are_kept_verbatim() {
    let text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=x\nk=prompt\nu=http://example.invalid/\nt=0 0\nr=7d 1h 0 25h\nY=odd\n\
                a=X-nat:0\nm=audio 1 RTP/AVP 0\nk=clear:abc\na=rtpmap:31 H26\na=x-foo: bar  baz\na=\na=sendrecv:x\n";
    let d = parse(text);
    let kinds: Vec<char> = d.extra.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ['u', 'r', 'k', 'Y'], "stored in RFC 8866 order");
    assert_eq!(
        d.media[0].extra,
        [ExtraLine {
            kind: 'k',
            value: "clear:abc".into()
        }]
    );
    assert_eq!(
        d.media[0].attributes,
        [
            Attribute::other("rtpmap", "31 H26"),
            Attribute::other("x-foo", " bar  baz"),
            Attribute::flag(""),
            Attribute::other("sendrecv", "x"),
        ]
    );
    assert_round_trip(&d);
}

#[test]
fn missing_session_name_defaults_and_no_timing_is_accepted() {
    let d = parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n");
    assert_eq!(d.session_name, "-");
    assert!(d.timings.is_empty());
    assert_round_trip(&d);
}

#[test]
fn errors_carry_the_line_number() {
    assert_eq!(err(""), ParseError::Empty);
    assert_eq!(err("\r\n  \r\n"), ParseError::Empty);
    assert_eq!(
        err("o=- 1 1 IN IP4 1.2.3.4\r\n"),
        ParseError::MissingVersion { line: 1 }
    );
    assert_eq!(
        err("\r\nv=1\r\n"),
        ParseError::UnsupportedVersion { line: 2 }
    );
    assert_eq!(err("v=0\r\ns=-\r\n"), ParseError::MissingOrigin);
    assert_eq!(
        err("v=0\r\no=- 1 1 IN IP4\r\n"),
        ParseError::InvalidField {
            line: 2,
            field: 'o'
        }
    );
    let base = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    let at4 = |l: &str| err(&format!("{base}{l}\r\n"));
    assert_eq!(
        at4("max-mbps=245000"),
        ParseError::MalformedLine { line: 4 }
    );
    assert_eq!(at4("=x"), ParseError::MalformedLine { line: 4 });
    assert_eq!(at4("1=x"), ParseError::MalformedLine { line: 4 });
    assert_eq!(at4("a=b\0c"), ParseError::InvalidCharacter { line: 4 });
    assert_eq!(at4("a=b\rc"), ParseError::InvalidCharacter { line: 4 });
    assert_eq!(
        at4("b=AS:fast"),
        ParseError::InvalidField {
            line: 4,
            field: 'b'
        }
    );
    assert_eq!(
        at4("c=IN IP4"),
        ParseError::InvalidField {
            line: 4,
            field: 'c'
        }
    );
    assert_eq!(
        at4("t=0"),
        ParseError::InvalidField {
            line: 4,
            field: 't'
        }
    );
    assert_eq!(
        at4("m=audio 70000 RTP/AVP 0"),
        ParseError::InvalidField {
            line: 4,
            field: 'm'
        }
    );
    assert_eq!(
        at4("m=audio 5004"),
        ParseError::InvalidField {
            line: 4,
            field: 'm'
        }
    );
    assert_eq!(
        at4("o=- 2 2 IN IP4 192.0.2.1"),
        ParseError::DuplicateLine {
            line: 4,
            field: 'o'
        }
    );
    assert_eq!(
        at4("v=0"),
        ParseError::DuplicateLine {
            line: 4,
            field: 'v'
        }
    );
    assert_eq!(
        err(&format!("{base}m=audio 1 RTP/AVP 0\r\nt=0 0\r\n")),
        ParseError::UnexpectedLine {
            line: 5,
            field: 't'
        }
    );
    assert_eq!(
        err(&format!("{base}m=audio 1 RTP/AVP 0\r\nv=0\r\n")).line(),
        Some(5)
    );
}

#[test]
fn size_limit_and_lossy_utf8() {
    let big = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns={}\r\n",
        "x".repeat(MAX_SDP_LEN)
    );
    assert_eq!(err(&big), ParseError::TooLarge { max: MAX_SDP_LEN });
    let latin1 = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=Salle \xe9\r\n";
    let d = SessionDescription::parse_bytes(latin1).unwrap();
    assert_eq!(d.session_name, "Salle \u{FFFD}");
}

#[test]
fn crypto_and_rtcp_attributes_round_trip() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/SAVP 0\r\n\
                a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 KDR=1\r\n\
                a=rtcp:9\r\na=rtcp-mux\r\na=mid:audio\r\n";
    let d = parse(text);
    let Attribute::Crypto(c) = &d.media[0].attributes[0] else {
        panic!("not crypto")
    };
    assert_eq!(
        (c.tag, c.suite.as_str(), c.session_params.as_deref()),
        (1, "AES_CM_128_HMAC_SHA1_80", Some("KDR=1"))
    );
    assert_eq!(c.inline_key().unwrap().lifetime, Some("2^20"));
    assert!(d.media[0].has_flag("rtcp-mux"));
    assert_eq!(d.to_string(), text);
}
