//! parse_datagram on arbitrary bytes. If it parses: to_bytes → reparse gives the same
//! message (Content-Length aside, which to_bytes rewrites); validate_request and every typed
//! header view on every header value (and list element) must not panic, and every typed
//! value that parses must print back to an equal value.
#![no_main]

use cvi_sip::Message;
use cvi_sip::headers::{CSeq, MinSe, NameAddr, SessionExpires, SipUri, Via, option_tags, top_via};
use cvi_sip::message::split_list;
use cvi_sip::parse::{parse_datagram, validate_request};
use libfuzzer_sys::fuzz_target;
use std::fmt::{Debug, Display};

fn sans_cl(m: &Message) -> Vec<(String, String)> {
    m.headers()
        .0
        .iter()
        .filter(|(n, _)| n != "Content-Length")
        .cloned()
        .collect()
}

fn typed<T: Display + PartialEq + Debug, E>(v: &str, parse: fn(&str) -> Result<T, E>) {
    if let Ok(t) = parse(v) {
        let printed = t.to_string();
        match parse(&printed) {
            Ok(again) => assert_eq!(t, again, "value {v:?} printed as {printed:?}"),
            Err(_) => panic!("value {v:?} printed as {printed:?} does not reparse"),
        }
    }
}

fn all_typed(v: &str) {
    typed(v, Via::parse);
    typed(v, NameAddr::parse);
    typed(v, CSeq::parse);
    typed(v, SipUri::parse);
    typed(v, SessionExpires::parse);
    typed(v, MinSe::parse);
    if let Ok(n) = NameAddr::parse(v) {
        typed(&n.uri, SipUri::parse);
        let _ = n.with_tag("fuzz").tag();
    }
}

fuzz_target!(|data: &[u8]| {
    // Typed views straight on the input, too.
    all_typed(&String::from_utf8_lossy(data));

    let Ok(msg) = parse_datagram(data) else {
        return;
    };
    let bytes = msg.to_bytes();
    let again = match parse_datagram(&bytes) {
        Ok(m) => m,
        Err(e) => panic!("reparse failed: {e:?}\n{}", String::from_utf8_lossy(&bytes)),
    };
    assert_eq!(sans_cl(&msg), sans_cl(&again));
    assert_eq!(msg.body(), again.body());
    match (&msg, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!((&a.method, &a.uri), (&b.method, &b.uri));
            assert_eq!(validate_request(a), validate_request(b));
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!((a.status, &a.reason), (b.status, &b.reason))
        }
        _ => panic!("request/response changed"),
    }
    if let Message::Request(r) = &msg {
        typed(&r.uri, SipUri::parse);
    }
    let h = msg.headers();
    let _ = top_via(h);
    let _ = option_tags(h, "Supported");
    let _ = option_tags(h, "Require");
    for (_, v) in &h.0 {
        all_typed(v);
        for e in split_list(v) {
            all_typed(&e);
        }
    }
});
