//! RFC 3261 §8.1.1 / §8.2: the headers every request must carry, checked before a request
//! reaches the transaction layer.

use crate::headers::{CSeq, NameAddr, top_via};
use crate::message::{Method, Request, split_list};

/// `Ok` if To, From, Call-ID, CSeq (with the request's method) and a Via with a branch are
/// present and readable, and Max-Forwards (optional) is a number. Otherwise the status and
/// reason phrase to answer with: 400 naming the header, or 483 for `Max-Forwards: 0` on
/// anything but OPTIONS.
pub fn validate_request(r: &Request) -> Result<(), (u16, String)> {
    let bad = |what: &str| Err((400, what.to_string()));
    for name in ["To", "From", "Call-ID", "CSeq"] {
        if r.headers.get_all(name).flat_map(split_list).count() > 1 {
            return bad(&format!("Multiple {name} Headers"));
        }
    }
    for name in ["To", "From"] {
        match r.headers.get(name).map(NameAddr::parse) {
            None => return bad(&format!("Missing {name} Header")),
            Some(Err(_)) => return bad(&format!("Malformed {name} Header")),
            Some(Ok(_)) => {}
        }
    }
    if r.call_id().is_none_or(|c| c.trim().is_empty()) {
        return bad("Missing Call-ID Header");
    }
    match r.headers.get("CSeq").map(CSeq::parse) {
        None => return bad("Missing CSeq Header"),
        Some(Err(_)) => return bad("Malformed CSeq Header"),
        Some(Ok(c)) if c.method != r.method => return bad("CSeq Method Does Not Match"),
        Some(Ok(_)) => {}
    }
    match top_via(&r.headers) {
        Err(crate::headers::HeaderError::Missing(_)) => return bad("Missing Via Header"),
        Err(_) => return bad("Malformed Via Header"),
        Ok(v) if v.branch().is_none_or(str::is_empty) => return bad("Via Without Branch"),
        Ok(_) => {}
    }
    if let Some(mf) = r.headers.get("Max-Forwards") {
        let mf = mf.trim();
        if mf.is_empty() || !mf.bytes().all(|b| b.is_ascii_digit()) {
            return bad("Malformed Max-Forwards Header");
        }
        if mf.bytes().all(|b| b == b'0') && r.method != Method::Options {
            return Err((483, "Too Many Hops".to_string()));
        }
    }
    Ok(())
}
