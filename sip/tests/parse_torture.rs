//! Cases adapted from RFC 4475 (SIP torture tests), rewritten for this parser; each test
//! names the RFC 4475 message it follows. Bodies are short stand-ins; Content-Length is
//! computed so the framing stays right.

use cvi_sip::headers::{CSeq, NameAddr, SipUri, Via, top_via};
use cvi_sip::parse::{ParseError, parse_datagram, validate_request};
use cvi_sip::{Message, Method, Request};

fn with_body(head: &str, body: &str) -> String {
    head.replace("{len}", &body.len().to_string()) + body
}

fn req(raw: &str) -> Request {
    match parse_datagram(raw.as_bytes()).unwrap_or_else(|e| panic!("{e}: {raw}")) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("request expected"),
    }
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0\r\n";

/// "wsinv": whitespace and folding everywhere, mixed case, compact forms.
#[test]
fn wsinv_short_tortuous_invite() {
    let head = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n\
TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n\
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n\
MaX-fOrWaRdS: 0068\r\nCall-ID: wsinv.ndaksdj@192.0.2.1\r\nContent-Length   : {len}\r\n\
cseq: 0009\r\n  INVITE\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\ns :\r\n\
NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n\
UnknownHeaderWithUnusualValue: ;;,,;;,;\r\nContent-Type: application/sdp\r\n\
Route:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n\
v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n \
SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n\
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n\r\n";
    let r = req(&with_body(head, SDP));
    validate_request(&r).expect("valid");
    let h = &r.headers;
    let to = NameAddr::parse(h.get("To").expect("To")).expect("to");
    assert_eq!(
        (to.uri.as_str(), to.tag()),
        ("sip:vivekg@chair-dnrc.example.com", Some("1918181833n"))
    );
    let from = NameAddr::parse(h.get("From").expect("From")).expect("from");
    assert_eq!(
        (from.display.as_deref(), from.tag()),
        (Some("J Rosenberg \\\""), Some("98asjd8"))
    );
    assert_eq!(
        CSeq::parse(h.get("CSeq").expect("CSeq")).expect("cseq").seq,
        9
    );
    assert_eq!(h.get("Subject"), Some(""));
    assert_eq!(
        h.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    let vias = h.values("Via");
    assert_eq!(vias.len(), 3);
    let last = Via::parse(&vias[2]).expect("via");
    assert_eq!(
        (last.host.as_str(), last.branch()),
        ("192.168.255.111", Some("z9hG4bK30239"))
    );
    let m = NameAddr::parse(h.get("Contact").expect("Contact")).expect("contact");
    assert_eq!(
        (m.param("newparam"), m.param("secondparam"), m.param("q")),
        (Some(Some("newvalue")), Some(None), Some(Some("0.33")))
    );
    assert_eq!(r.body, SDP.as_bytes());
}

/// "intmeth": every token character in a method, header name and parameter names.
#[test]
fn intmeth_wide_range_of_valid_characters() {
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    let raw = format!(
        "{method} sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n\
To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n\
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.\r\n\
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}}{{\r\nCSeq: 139122385 {method}\r\nMax-Forwards: 255\r\n\
extensionHeader-!.%*+_`'~:\u{feff}大停電\r\nContent-Length: 0\r\n\r\n"
    );
    let r = req(&raw);
    assert_eq!(r.method, Method::Other(method.to_string()));
    validate_request(&r).expect("valid");
    let to = NameAddr::parse(r.headers.get("To").expect("To")).expect("to");
    assert_eq!(to.display.as_deref(), Some("BEL:\x07 NUL:\x00 DEL:\x7f"));
    let from = NameAddr::parse(r.headers.get("From").expect("From")).expect("from");
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        r.headers.get("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
}

/// "esc01" and "escnull": %-escapes are kept as received.
#[test]
fn esc01_escnull_escapes_kept() {
    let r = req(
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n\
To: sip:%75se%72@example.com\r\nFrom: <sip:I%20have%20spaces@example.net>;tag=938\r\n\
Max-Forwards: 87\r\nCall-ID: esc01.239409asdfakjkn23onasd0-3234\r\nCSeq: 234234 INVITE\r\n\
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\nContact: <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\n\
l: 0\r\n\r\n",
    );
    validate_request(&r).expect("valid");
    let uri = SipUri::parse(&r.uri).expect("uri");
    assert_eq!(
        (uri.user.as_deref(), uri.host.as_str()),
        (Some("sips%3Auser%40example.com"), "example.net")
    );
    let c = SipUri::parse(
        &NameAddr::parse(r.headers.get("Contact").expect("m"))
            .expect("m")
            .uri,
    )
    .expect("uri");
    assert_eq!(c.param("n%61me"), Some(Some("v%61lue%25%34%31")));
    let n = req("REGISTER sip:example.com SIP/2.0\r\nTo: sip:null-%00-null@example.com\r\n\r\n");
    assert_eq!(
        NameAddr::parse(n.headers.get("To").expect("To"))
            .expect("to")
            .uri,
        "sip:null-%00-null@example.com"
    );
}

/// "lwsdisp" (no space before `<`), "semiuri" (`;` in the user part).
#[test]
fn lwsdisp_and_semiuri() {
    let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").expect("lwsdisp");
    assert_eq!(
        (n.display.as_deref(), n.tag()),
        (Some("caller"), Some("323"))
    );
    let r =
        req("OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\nCall-ID: semiuri\r\n\r\n");
    let u = SipUri::parse(&r.uri).expect("uri");
    assert_eq!(
        (u.user.as_deref(), u.host.as_str()),
        (Some("user;par=u%40example.net"), "example.com")
    );
}

/// "longreq": very long values and many header entries.
#[test]
fn longreq_long_values() {
    let long = "very".repeat(1000);
    let vias: String = (0..50)
        .map(|i| format!("Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i}\r\n"))
        .collect();
    let raw = format!(
        "INVITE sip:user@example.com SIP/2.0\r\n{vias}To: \"I have a user name of {long} long\" <sip:{long}@example.com>\r\n\
From: sip:amazinglylongcallername{long}@example.net;tag=12982424;unknownheaderparam{long}={long}\r\n\
Call-ID: longreq.one{long}\r\nCSeq: 3882340 INVITE\r\nX-{long}: {long}\r\nContent-Length: 0\r\n\r\n"
    );
    let r = req(&raw);
    validate_request(&r).expect("valid");
    assert_eq!(r.headers.values("Via").len(), 50);
    let from = NameAddr::parse(r.headers.get("From").expect("From")).expect("from");
    assert_eq!(
        from.param(&format!("unknownheaderparam{long}")),
        Some(Some(long.as_str()))
    );
}

/// "dblreq": a datagram with a second request after Content-Length bytes.
#[test]
fn dblreq_extra_request_in_datagram_ignored() {
    let one = "REGISTER sip:example.com SIP/2.0\r\nCall-ID: dblreq\r\nContent-Length: 0\r\n\r\n";
    let r = req(&format!(
        "{one}INVITE sip:joe@example.com SIP/2.0\r\nCall-ID: second\r\n\r\n"
    ));
    assert_eq!(
        (&r.method, r.call_id()),
        (&Method::Register, Some("dblreq"))
    );
}

/// "transports", "mpart01" (binary body), "unreason",
/// "noreason".
#[test]
fn transports_binary_body_reasons() {
    for t in ["SCTP", "TLS", "UNKNOWN", "TCP", "WS"] {
        assert_eq!(
            Via::parse(&format!("SIP/2.0/{t} t.example.com;branch=z9hG4bKx"))
                .expect("via")
                .transport,
            t
        );
    }
    let mut raw = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Type: multipart/mixed;boundary=\"++\"\r\nContent-Length: 6\r\n\r\n".to_vec();
    raw.extend_from_slice(&[0x30, 0x82, 0x01, 0xfe, 0x06, 0x09]);
    assert_eq!(
        parse_datagram(&raw).expect("binary").body(),
        [0x30, 0x82, 0x01, 0xfe, 0x06, 0x09]
    );
    let reason = "= 2**3 * 5**2 но сто девяносто девять - простое";
    let Ok(Message::Response(r)) =
        parse_datagram(format!("SIP/2.0 200 {reason}\r\nl: 0\r\n\r\n").as_bytes())
    else {
        panic!("unreason")
    };
    assert_eq!(r.reason, reason);
    let Ok(Message::Response(r)) = parse_datagram(b"SIP/2.0 100 \r\nl: 0\r\n\r\n") else {
        panic!("noreason")
    };
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
}

/// "badinv01" (empty Via parameters), "scalar02"/"scalarlg"
/// (overlarge numbers), "quotbal", "insuf"/"mismatch01"/"mismatch02".
#[test]
fn invalid_requests_rejected_by_validation() {
    let base = "INVITE sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\n\
From: sip:caller@example.net;tag=134161461246\r\nMax-Forwards: 7\r\nCall-ID: badinv01\r\nCSeq: 8 INVITE\r\n\
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKa\r\nContent-Length: 0\r\n\r\n";
    validate_request(&req(base)).expect("base is valid");
    let cases = [
        (
            "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKa",
            "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
            "Malformed Via Header",
        ),
        (
            "CSeq: 8 INVITE",
            "CSeq: 36893488147419103232 INVITE",
            "Malformed CSeq Header",
        ),
        (
            "To: sip:j.user@example.com",
            "To: \"Mr. J. User <sip:j.user@example.com>",
            "Malformed To Header",
        ),
        ("Call-ID: badinv01\r\n", "", "Missing Call-ID Header"),
        (
            "CSeq: 8 INVITE",
            "CSeq: 8 OPTIONS",
            "CSeq Method Does Not Match",
        ),
        (
            "From: sip:caller@example.net;tag=134161461246",
            "From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "Multiple From Headers",
        ),
    ];
    for (from, to, reason) in cases {
        let r = req(&base.replace(from, to));
        assert_eq!(validate_request(&r), Err((400, reason.to_string())), "{to}");
    }
    let unknown = base
        .replace("INVITE sip", "NEWMETHOD sip")
        .replace("8 INVITE", "0 foobarNEWMETHOD");
    assert_eq!(
        validate_request(&req(&unknown)),
        Err((400, "CSeq Method Does Not Match".to_string()))
    );
    let zero = base.replace("Max-Forwards: 7", "Max-Forwards: 0");
    assert_eq!(validate_request(&req(&zero)).map_err(|e| e.0), Err(483));
    // "zeromf": OPTIONS with Max-Forwards 0 is answered, not refused.
    let zero_opt = zero.replace("INVITE", "OPTIONS");
    assert_eq!(validate_request(&req(&zero_opt)), Ok(()));
}

/// "clerr", "ncl", overlarge Content-Length (scalar02),
/// "ltgtruri", "lwsruri", "badvers", "bigcode".
#[test]
fn invalid_messages_rejected_by_parser() {
    let head = "INVITE sip:user@example.com SIP/2.0\r\nCall-ID: x\r\n";
    let e = |s: &str| parse_datagram(s.as_bytes()).expect_err(s);
    assert!(matches!(
        e(&format!("{head}Content-Length: 9999\r\n\r\n{SDP}")),
        ParseError::BodyTruncated { declared: 9999, .. }
    ));
    assert_eq!(
        e(&format!("{head}Content-Length: -999\r\n\r\n")),
        ParseError::BadContentLength
    );
    assert_eq!(
        e(&format!(
            "{head}Content-Length: 18446744073709551616\r\n\r\n"
        )),
        ParseError::BadContentLength
    );
    assert_eq!(
        e("INVITE <sip:user@example.com> SIP/2.0\r\n\r\n"),
        ParseError::BadStartLine
    );
    assert_eq!(
        e("INVITE sip:user@example.com; lr SIP/2.0\r\n\r\n"),
        ParseError::BadStartLine
    );
    assert_eq!(
        e("OPTIONS sip:t.watson@example.org SIP/7.0\r\n\r\n"),
        ParseError::UnsupportedVersion
    );
    assert_eq!(
        e("SIP/2.0 4294967301 better not break the receiver\r\n\r\n"),
        ParseError::BadStartLine
    );
}

/// "lwsstart" and "trws": extra whitespace in the request line, which
/// RFC 4475 lets an element tolerate; this parser does.
#[test]
fn lwsstart_trws_tolerated() {
    let r = req("INVITE  sip:user@example.com  SIP/2.0\r\nCall-ID: lws\r\n\r\n");
    assert_eq!(r.uri, "sip:user@example.com");
    let r = req("OPTIONS sip:remote-target@example.com SIP/2.0  \r\nCall-ID: trws\r\n\r\n");
    assert_eq!(r.method, Method::Options);
}

/// "unkscm", "novelsc": unknown URI schemes parse (the UA answers 416 later).
#[test]
fn unknown_schemes_parse() {
    assert_eq!(
        req("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n\r\n").uri,
        "nobodyKnowsThisScheme:totallyopaquecontent"
    );
    let r = req("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n\r\n");
    assert!(SipUri::parse(&r.uri).is_err());
}

/// "inv2543": an RFC 2543 request without a branch. RFC 4475 asks for tolerance;
/// this stack requires an RFC 3261 branch and refuses it.
#[test]
fn inv2543_without_branch_refused() {
    let r = req(
        "INVITE sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP iftgw.example.com\r\n\
From: <sip:+13035551111@ift.client.example.net;user=phone>\r\nRecord-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n\
To: sip:+16505552222@ss1.example.net;user=phone\r\nCall-ID: inv2543.1717@ift.client.example.com\r\nCSeq: 56 INVITE\r\n\r\n",
    );
    assert_eq!(top_via(&r.headers).expect("via").branch(), None);
    assert_eq!(
        validate_request(&r),
        Err((400, "Via Without Branch".to_string()))
    );
}
