//! The transaction layer on a simulated clock: no sockets, no sleeping.

use cvi_sip::message::{Method, Request};
use cvi_sip::parse::parse_datagram;
use cvi_sip::transaction::{
    Event, Peer, ServerKey, Timers, TransactionLayer, Transport, make_response,
};
use cvi_sip::{Message, Response};
use std::time::{Duration, Instant};

fn peer(t: Transport) -> Peer {
    Peer {
        transport: t,
        addr: "192.0.2.10:5062".parse().expect("addr"),
        conn: Some(1),
    }
}

fn invite(branch: &str) -> Message {
    let s = format!(
        "INVITE sip:813878896.0179206841@t.plcm.vc SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.5:5062;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Room\" <sip:room@example.com>;tag=abc\r\n\
         To: <sip:813878896.0179206841@t.plcm.vc>\r\n\
         Call-ID: call-1@example.com\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:room@10.0.0.5:5062>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    parse_datagram(s.as_bytes()).expect("invite parses")
}

fn request_of(m: &Message) -> Request {
    match m {
        Message::Request(r) => r.clone(),
        Message::Response(_) => panic!("request expected"),
    }
}

struct Sim {
    l: TransactionLayer,
    now: Instant,
    sent: Vec<(Instant, Vec<u8>)>,
    events: Vec<Event>,
}

impl Sim {
    fn new() -> Self {
        Self {
            l: TransactionLayer::new(Timers::default()),
            now: Instant::now(),
            sent: Vec::new(),
            events: Vec::new(),
        }
    }
    fn drain(&mut self) {
        while let Some(t) = self.l.poll_transmit() {
            self.sent.push((self.now, t.bytes));
        }
        while let Some(e) = self.l.poll_event() {
            self.events.push(e);
        }
    }
    fn input(&mut self, m: Message, p: Peer) {
        self.l.handle_message(m, p, self.now);
        self.drain();
    }
    /// Advances the clock, firing timers in order.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.l.poll_timeout() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            self.l.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }
    fn statuses(&self) -> Vec<u16> {
        self.sent
            .iter()
            .filter_map(|(_, b)| match parse_datagram(b) {
                Ok(Message::Response(r)) => Some(r.status),
                _ => None,
            })
            .collect()
    }
    fn server_key(&self) -> ServerKey {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::Request { key, .. } => Some(key.clone()),
                _ => None,
            })
            .expect("a request event")
    }
}

fn ok_for(inv: &Message, tag: &str) -> Response {
    let mut r = make_response(&request_of(inv), 200, Some(tag));
    r.headers.push("Contact", "<sip:cvi@192.0.2.1:5060>");
    r
}

fn ack_2xx(branch: &str) -> Message {
    let s = format!(
        "ACK sip:cvi@192.0.2.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.5:5062;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Room\" <sip:room@example.com>;tag=abc\r\n\
         To: <sip:813878896.0179206841@t.plcm.vc>;tag=gw1\r\n\
         Call-ID: call-1@example.com\r\n\
         CSeq: 1 ACK\r\n\
         Content-Length: 0\r\n\r\n"
    );
    parse_datagram(s.as_bytes()).expect("ack parses")
}

#[test]
fn invite_gets_100_trying_at_once_with_received_and_rport() {
    let mut s = Sim::new();
    s.input(invite("z9hG4bK1"), peer(Transport::Udp));
    assert_eq!(s.statuses(), [100]);
    assert_eq!(s.sent[0].0, s.now, "sent with no delay");
    let text = String::from_utf8_lossy(&s.sent[0].1).to_string();
    assert!(text.contains("received=192.0.2.10"), "{text}");
    assert!(text.contains("rport=5062"), "{text}");
    assert!(
        matches!(&s.events[0], Event::Request { request, .. } if request.method == Method::Invite)
    );
}

#[test]
fn lost_200_is_retransmitted_until_ack() {
    let mut s = Sim::new();
    let inv = invite("z9hG4bK2");
    s.input(inv.clone(), peer(Transport::Udp));
    let key = s.server_key();
    s.l.respond(&key, ok_for(&inv, "gw1"), s.now);
    s.drain();
    let start = s.now;
    s.advance(Duration::from_millis(7_600));
    let oks: Vec<Duration> = s
        .sent
        .iter()
        .filter(|(_, b)| b.starts_with(b"SIP/2.0 200"))
        .map(|(t, _)| *t - start)
        .collect();
    // 0, T1, 2T1 (1.5 s), 4T1 (3.5 s), then T2 capped (7.5 s).
    let ms: Vec<u128> = oks.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [0, 500, 1500, 3500, 7500]);
    s.input(ack_2xx("z9hG4bKack"), peer(Transport::Udp));
    assert!(s.events.iter().any(|e| matches!(e, Event::Ack { .. })));
    let before = s.sent.len();
    s.advance(Duration::from_secs(40));
    assert_eq!(s.sent.len(), before, "no retransmission after the ACK");
    assert!(
        !s.events
            .iter()
            .any(|e| matches!(e, Event::AckTimeout { .. }))
    );
}

#[test]
fn no_ack_for_200_gives_ack_timeout_after_64_t1() {
    let mut s = Sim::new();
    let inv = invite("z9hG4bK3");
    s.input(inv.clone(), peer(Transport::Udp));
    let key = s.server_key();
    s.l.respond(&key, ok_for(&inv, "gw1"), s.now);
    s.drain();
    s.advance(Duration::from_millis(31_999));
    assert!(
        !s.events
            .iter()
            .any(|e| matches!(e, Event::AckTimeout { .. }))
    );
    s.advance(Duration::from_millis(2));
    assert!(s.events.iter().any(
        |e| matches!(e, Event::AckTimeout { call_id, .. } if call_id == "call-1@example.com")
    ));
    assert_eq!(s.l.len(), (0, 0), "the transaction is gone");
}

#[test]
fn retransmitted_invite_is_absorbed_and_answered_with_the_last_response() {
    let mut s = Sim::new();
    let inv = invite("z9hG4bK4");
    s.input(inv.clone(), peer(Transport::Udp));
    s.input(inv.clone(), peer(Transport::Udp));
    let requests = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 1, "the TU sees the INVITE once");
    assert_eq!(s.statuses(), [100, 100]);
    let key = s.server_key();
    let mut busy = make_response(&request_of(&inv), 486, Some("gw1"));
    busy.reason = "Busy Here".into();
    s.l.respond(&key, busy, s.now);
    s.drain();
    s.input(inv, peer(Transport::Udp));
    assert_eq!(s.statuses(), [100, 100, 486, 486]);
}

#[test]
fn final_error_retransmits_until_ack_then_timer_h_or_i() {
    let mut s = Sim::new();
    let inv = invite("z9hG4bK5");
    s.input(inv.clone(), peer(Transport::Udp));
    let key = s.server_key();
    s.l.respond(
        &key,
        make_response(&request_of(&inv), 404, Some("gw1")),
        s.now,
    );
    s.drain();
    s.advance(Duration::from_millis(1_600));
    assert_eq!(
        s.statuses(),
        [100, 404, 404, 404],
        "timer G: 0, 0.5 s, 1.5 s"
    );
    // ACK with the INVITE's branch stops G; timer I ends the transaction after T4.
    let ack = String::from_utf8_lossy(&request_of(&inv).clone().into_message().to_bytes())
        .replace("INVITE sip:", "ACK sip:")
        .replace("CSeq: 1 INVITE", "CSeq: 1 ACK");
    s.input(
        parse_datagram(ack.as_bytes()).expect("ack"),
        peer(Transport::Udp),
    );
    let n = s.sent.len();
    s.advance(Duration::from_secs(5));
    assert_eq!(s.sent.len(), n);
    assert_eq!(s.l.len(), (0, 0));
    // Without an ACK: timer H after 64·T1.
    let mut s = Sim::new();
    s.input(invite("z9hG4bK6"), peer(Transport::Udp));
    let key = s.server_key();
    s.l.respond(
        &key,
        make_response(&request_of(&invite("z9hG4bK6")), 404, Some("t")),
        s.now,
    );
    s.drain();
    s.advance(Duration::from_millis(32_001));
    assert_eq!(s.l.len(), (0, 0));
}

#[test]
fn non_invite_timer_j_and_reliable_transport_cleanup() {
    let mut s = Sim::new();
    let bye = invite("z9hG4bK7");
    let text = String::from_utf8_lossy(&bye.to_bytes())
        .replace("INVITE sip:", "BYE sip:")
        .replace("CSeq: 1 INVITE", "CSeq: 2 BYE");
    let bye = parse_datagram(text.as_bytes()).expect("bye");
    s.input(bye.clone(), peer(Transport::Udp));
    let key = s.server_key();
    s.l.respond(&key, make_response(&request_of(&bye), 200, None), s.now);
    s.drain();
    s.input(bye.clone(), peer(Transport::Udp));
    assert_eq!(s.statuses(), [200, 200], "retransmitted BYE answered again");
    s.advance(Duration::from_millis(31_999));
    assert_eq!(s.l.len(), (1, 0));
    s.advance(Duration::from_millis(2));
    assert_eq!(s.l.len(), (0, 0), "timer J");
    // Over TCP timer J is zero.
    let mut s = Sim::new();
    s.input(bye.clone(), peer(Transport::Tcp));
    let key = s.server_key();
    s.l.respond(&key, make_response(&request_of(&bye), 200, None), s.now);
    s.drain();
    s.advance(Duration::from_millis(1));
    assert_eq!(s.l.len(), (0, 0));
}

#[test]
fn cancel_racing_the_200() {
    // CANCEL before the final: the INVITE is still pending.
    let mut s = Sim::new();
    let inv = invite("z9hG4bK8");
    s.input(inv.clone(), peer(Transport::Udp));
    let key = s.server_key();
    assert!(s.l.invite_pending(&key));
    // The 200 wins the race: a CANCEL arriving now finds no pending INVITE (the TU answers
    // the CANCEL with 200 and does nothing else).
    s.l.respond(&key, ok_for(&inv, "gw1"), s.now);
    s.drain();
    assert!(!s.l.invite_pending(&key));
    let cancel = String::from_utf8_lossy(&inv.to_bytes())
        .replace("INVITE sip:", "CANCEL sip:")
        .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL");
    s.input(
        parse_datagram(cancel.as_bytes()).expect("cancel"),
        peer(Transport::Udp),
    );
    let cancel_key = s
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Request { key, request, .. } if request.method == Method::Cancel => {
                Some(key.clone())
            }
            _ => None,
        })
        .expect("the CANCEL reaches the TU");
    assert_eq!(
        cancel_key.branch, key.branch,
        "same branch, different method"
    );
    assert_ne!(cancel_key.method, key.method);
}

#[test]
fn client_bye_retransmits_and_times_out() {
    let mut s = Sim::new();
    let bye = parse_datagram(
        b"BYE sip:room@10.0.0.5:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye1\r\n\
          From: <sip:gw@t.plcm.vc>;tag=gw1\r\nTo: <sip:room@example.com>;tag=abc\r\n\
          Call-ID: call-1@example.com\r\nCSeq: 7 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    )
    .expect("bye");
    let key =
        s.l.send_request(request_of(&bye), peer(Transport::Udp), s.now)
            .expect("sent");
    s.drain();
    s.advance(Duration::from_secs(10));
    let times: Vec<u128> = s
        .sent
        .iter()
        .map(|(t, _)| (*t - s.sent[0].0).as_millis())
        .collect();
    // Timer E: 0, 0.5, 1.5, 3.5, 7.5 s (capped at T2 = 4 s).
    assert_eq!(&times[..5], &[0, 500, 1500, 3500, 7500]);
    s.advance(Duration::from_secs(23));
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::Timeout { key: k } if *k == key)),
        "timer F"
    );
    assert_eq!(s.l.len(), (0, 0));
}

#[test]
fn client_bye_answered_both_directions() {
    let mut s = Sim::new();
    let raw = "BYE sip:room@10.0.0.5:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye2\r\n\
               From: <sip:gw@t.plcm.vc>;tag=gw1\r\nTo: <sip:room@example.com>;tag=abc\r\n\
               Call-ID: call-1@example.com\r\nCSeq: 8 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let bye = request_of(&parse_datagram(raw.as_bytes()).expect("bye"));
    let key =
        s.l.send_request(bye.clone(), peer(Transport::Udp), s.now)
            .expect("sent");
    s.drain();
    let ok = make_response(&bye, 200, None);
    s.input(Message::Response(ok), peer(Transport::Udp));
    assert!(s.events.iter().any(
        |e| matches!(e, Event::Response { key: k, response } if *k == key && response.status == 200)
    ));
    let n = s.sent.len();
    s.advance(Duration::from_secs(10));
    assert_eq!(
        s.sent.len(),
        n,
        "no retransmission after the final response"
    );
    assert_eq!(s.l.len(), (0, 0), "timer K");
}
