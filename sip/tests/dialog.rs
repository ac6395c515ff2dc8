//! Dialogs: identity, matching, CSeq order, route sets, in-dialog requests.

use cvi_sip::Message;
use cvi_sip::dialog::Dialog;
use cvi_sip::message::{Method, Request};
use cvi_sip::parse::parse_datagram;

fn req(s: &str) -> Request {
    match parse_datagram(s.as_bytes()).expect("parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("request expected"),
    }
}

const INVITE: &str = "INVITE sip:813878896.0179206841@t.plcm.vc SIP/2.0\r\n\
    Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKa\r\n\
    Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
    From: \"Room\" <sip:room@example.com>;tag=abc\r\n\
    To: <sip:813878896.0179206841@t.plcm.vc>\r\n\
    Call-ID: c1\r\nCSeq: 10 INVITE\r\nContact: <sip:room@10.0.0.5:5062>\r\nContent-Length: 0\r\n\r\n";

fn in_dialog(method: &str, cseq: u32, from_tag: &str, to_tag: &str) -> Request {
    req(&format!(
        "{method} sip:cvi@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK{cseq}\r\n\
         From: <sip:room@example.com>;tag={from_tag}\r\nTo: <sip:x@t.plcm.vc>;tag={to_tag}\r\n\
         Call-ID: c1\r\nCSeq: {cseq} {method}\r\nContact: <sip:room@10.0.0.99:5062>\r\nContent-Length: 0\r\n\r\n"
    ))
}

#[test]
fn uas_dialog_from_invite() {
    let d = Dialog::uas(&req(INVITE), "gw1", "<sip:cvi@192.0.2.1:5060>").expect("dialog");
    assert_eq!(d.id.call_id, "c1");
    assert_eq!(d.id.remote_tag, "abc");
    assert_eq!(d.id.local_tag, "gw1");
    assert_eq!(d.remote_target, "sip:room@10.0.0.5:5062");
    assert_eq!(
        d.route_set,
        ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert_eq!(d.remote_cseq, Some(10));
}

#[test]
fn matching_and_cseq_order_and_target_refresh() {
    let mut d = Dialog::uas(&req(INVITE), "gw1", "<sip:cvi@192.0.2.1:5060>").expect("dialog");
    assert!(d.matches(&in_dialog("BYE", 11, "abc", "gw1")));
    assert!(!d.matches(&in_dialog("BYE", 11, "abc", "other")));
    assert!(!d.matches(&in_dialog("BYE", 11, "zzz", "gw1")));
    assert_eq!(
        d.accept_remote(&in_dialog("INVITE", 11, "abc", "gw1")),
        Ok(())
    );
    assert_eq!(
        d.remote_target, "sip:room@10.0.0.99:5062",
        "re-INVITE refreshes the target"
    );
    assert_eq!(
        d.accept_remote(&in_dialog("INFO", 11, "abc", "gw1")),
        Err(500),
        "same CSeq again"
    );
    assert_eq!(
        d.accept_remote(&in_dialog("INFO", 9, "abc", "gw1")),
        Err(500),
        "lower CSeq"
    );
    assert_eq!(d.accept_remote(&in_dialog("BYE", 12, "abc", "gw1")), Ok(()));
}

#[test]
fn bye_from_the_uas_uses_route_set_and_increments_cseq() {
    let mut d = Dialog::uas(&req(INVITE), "gw1", "<sip:cvi@192.0.2.1:5060>").expect("dialog");
    let first = d.local_cseq;
    let bye = d.request(Method::Bye, "192.0.2.1:5060", "UDP");
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(
        bye.uri, "sip:room@10.0.0.5:5062",
        "loose routing: request-URI is the remote target"
    );
    let routes: Vec<&str> = bye.headers.get_all("Route").collect();
    assert_eq!(
        routes,
        ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert_eq!(
        bye.headers.get("CSeq"),
        Some(format!("{} BYE", first + 1).as_str())
    );
    assert!(
        bye.headers
            .get("From")
            .is_some_and(|f| f.contains("tag=gw1"))
    );
    assert!(bye.headers.get("To").is_some_and(|t| t.contains("tag=abc")));
    assert!(
        bye.headers
            .get("Via")
            .is_some_and(|v| v.contains("branch=z9hG4bK"))
    );
    let info = d.request(Method::Info, "192.0.2.1:5060", "UDP");
    assert_eq!(
        info.headers.get("CSeq"),
        Some(format!("{} INFO", first + 2).as_str())
    );
}

#[test]
fn strict_router_first() {
    let inv = INVITE.replace("<sip:p1.example.com;lr>, ", "<sip:p1.example.com>, ");
    let mut d = Dialog::uas(&req(&inv), "gw1", "<sip:cvi@192.0.2.1:5060>").expect("dialog");
    let bye = d.request(Method::Bye, "192.0.2.1:5060", "UDP");
    assert_eq!(bye.uri, "sip:p1.example.com");
    let routes: Vec<&str> = bye.headers.get_all("Route").collect();
    assert_eq!(
        routes,
        ["<sip:p2.example.com;lr>", "<sip:room@10.0.0.5:5062>"]
    );
}

#[test]
fn invite_without_from_tag_makes_no_dialog() {
    let inv = INVITE.replace(";tag=abc", "");
    assert!(Dialog::uas(&req(&inv), "gw1", "<sip:cvi@x>").is_err());
}

#[test]
fn uac_invite_dialog_and_ack() {
    use cvi_sip::dialog::OutgoingInvite;
    use cvi_sip::transaction::make_response;
    let inv = OutgoingInvite {
        target: "sip:room@10.0.0.5:5062",
        from: "sip:cvi@t.plcm.vc",
        to: "sip:room@10.0.0.5",
        contact: "<sip:cvi@192.0.2.1:5060>",
        via_sent_by: "192.0.2.1:5060",
        transport: "UDP",
        sdp: b"v=0\r\n",
    }
    .build();
    assert_eq!(inv.method, Method::Invite);
    assert_eq!(inv.headers.get("Content-Type"), Some("application/sdp"));
    // Round trip through the parser.
    let again = match parse_datagram(&Message::Request(inv.clone()).to_bytes()).expect("parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("request"),
    };
    assert_eq!(again.headers.get("Call-ID"), inv.headers.get("Call-ID"));
    let mut ok = make_response(&inv, 200, Some("room9"));
    ok.headers
        .push("Contact", "<sip:room@10.0.0.5:5062;transport=udp>");
    ok.headers.push(
        "Record-Route",
        "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
    );
    let mut d = Dialog::uac(&inv, &ok).expect("dialog");
    assert_eq!(d.id.remote_tag, "room9");
    assert_eq!(
        d.route_set,
        ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"],
        "UAC reverses Record-Route"
    );
    let ack = d.ack(1, "192.0.2.1:5060", "UDP");
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert_eq!(ack.uri, "sip:room@10.0.0.5:5062;transport=udp");
    let bye = d.request(Method::Bye, "192.0.2.1:5060", "UDP");
    assert_eq!(bye.headers.get("CSeq"), Some("2 BYE"));
}
