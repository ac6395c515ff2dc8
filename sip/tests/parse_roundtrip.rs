//! parse → to_bytes → parse gives the same message, and a seeded mutation run over the
//! fixtures and a few hand-written messages (a stable-toolchain stand-in for the libFuzzer
//! targets in sip/fuzz, which check the same properties).

use cvi_sip::Message;
use cvi_sip::headers::{CSeq, MinSe, NameAddr, SessionExpires, SipUri, Via};
use cvi_sip::parse::{parse_datagram, parse_stream, validate_request};

const SEEDS: &[&[u8]] = &[
    include_bytes!("../../../shared/fixtures/sdp/04-cisco-tandberg257-te4.invite.sip"),
    include_bytes!("../../../shared/fixtures/sdp/09-linphone-3.6.1.invite.sip"),
    b"SIP/2.0 180 Ringing\nv: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport=5060;received=2001:db8::2\n\
      f: \"A, \\\"B\\\"\" <sips:a@x>;tag=1\nt: sip:b@y;tag=2\ni: c\nCSeq: 1 INVITE\nx: 90;refresher=uas\n\
      Min-SE: 90\nSubject: folded\n  twice\nl: 0\n\n",
    b"\r\nMESSAGE tel:+15551234;phone-context=x SIP/2.0\r\ncall-id: 1\r\nContent-Length: 3\r\n\r\n\xff\x00\xfe",
    b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP / 2.0 / TCP h ; branch = z9hG4bKx\r\nTo: <sip:a@b>\r\nFrom: B <sip:b@c>;tag=t\r\n\
      Call-ID: o\r\nCSeq: 3 OPTIONS\r\nMax-Forwards: 0\r\n\r\n",
];

fn sans_cl(m: &Message) -> Vec<(String, String)> {
    m.headers()
        .0
        .iter()
        .filter(|(n, _)| n != "Content-Length")
        .cloned()
        .collect()
}

fn check_typed<T: std::fmt::Display + PartialEq + std::fmt::Debug, E>(
    v: &str,
    parse: fn(&str) -> Result<T, E>,
) {
    if let Ok(t) = parse(v) {
        let printed = t.to_string();
        assert_eq!(
            parse(&printed).ok().as_ref(),
            Some(&t),
            "{v:?} printed as {printed:?}"
        );
    }
}

/// The properties the fuzz target `sip_datagram` checks.
fn check(input: &[u8]) {
    for k in [input.len() / 2, input.len()] {
        let _ = parse_stream(input.get(..k).unwrap_or_default(), 1024);
    }
    let Ok(m) = parse_datagram(input) else { return };
    let again = parse_datagram(&m.to_bytes())
        .unwrap_or_else(|e| panic!("reparse: {e}: {:?}", String::from_utf8_lossy(input)));
    assert_eq!(sans_cl(&m), sans_cl(&again));
    assert_eq!(m.body(), again.body());
    match (&m, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!((&a.method, &a.uri), (&b.method, &b.uri));
            let _ = validate_request(a);
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!((a.status, &a.reason), (b.status, &b.reason))
        }
        _ => panic!("kind changed"),
    }
    for (_, v) in &m.headers().0 {
        for e in cvi_sip::message::split_list(v)
            .iter()
            .map(String::as_str)
            .chain([v.as_str()])
        {
            check_typed(e, Via::parse);
            check_typed(e, NameAddr::parse);
            check_typed(e, CSeq::parse);
            check_typed(e, SipUri::parse);
            check_typed(e, SessionExpires::parse);
            check_typed(e, MinSe::parse);
        }
    }
}

#[test]
fn seeds_round_trip() {
    for s in SEEDS {
        let m = parse_datagram(s).expect("seed parses");
        let again = parse_datagram(&m.to_bytes()).expect("reparse");
        assert_eq!(sans_cl(&m), sans_cl(&again));
        assert_eq!(m.body(), again.body());
        // Serialising twice is stable.
        assert_eq!(again.to_bytes(), m.to_bytes());
        check(s);
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b"\"",
    b"\\",
    b"<",
    b">",
    b"[",
    b"]",
    b"@",
    b"=",
    b"\r",
    b"\xff",
    b"\x00",
    b"SIP/2.0",
    b"sip:",
    b"l: 9\r\n",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(5) {
            0 if at < input.len() => input[at] = (rng.next() & 0xff) as u8,
            1 if at < input.len() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                input.drain(at..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, t.iter().copied());
            }
            3 if at < input.len() => {
                let end = (at + 1 + rng.below(32)).min(input.len());
                let dup = input[at..end].to_vec();
                input.splice(at..at, dup);
            }
            _ => input.truncate(at),
        }
    }
}

#[test]
fn seeded_mutations_hold_the_properties() {
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let mut count = 0;
    for _ in 0..10_000 {
        let mut input = SEEDS[rng.below(SEEDS.len())].to_vec();
        mutate(&mut rng, &mut input);
        check(&input);
        count += 1;
    }
    assert_eq!(count, 10_000);
}
