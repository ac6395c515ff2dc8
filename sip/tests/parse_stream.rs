//! TCP/TLS framing with parse_stream.

use cvi_sip::Message;
use cvi_sip::parse::{ParseError, StreamItem, parse_stream};

const MAX: usize = 8192;

fn msg(body: &str) -> String {
    format!(
        "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: {}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len(),
        body.len()
    )
}

/// Feeds `chunks` in order into a growing buffer, draining complete items after each.
fn feed(chunks: &[&[u8]]) -> (Vec<StreamItem>, Vec<u8>) {
    let (mut items, mut buf) = (Vec::new(), Vec::new());
    for c in chunks {
        buf.extend_from_slice(c);
        while let Some((item, n)) = parse_stream(&buf, MAX).expect("no error") {
            items.push(item);
            buf.drain(..n);
        }
    }
    (items, buf)
}

fn body(item: &StreamItem) -> &[u8] {
    match item {
        StreamItem::Message(m) => m.body(),
        StreamItem::KeepAlive => b"<keepalive>",
    }
}

#[test]
fn two_messages_in_one_buffer() {
    let buf = format!("{}{}", msg("hello"), msg("world!"));
    let (items, rest) = feed(&[buf.as_bytes()]);
    assert_eq!(
        items.iter().map(body).collect::<Vec<_>>(),
        [&b"hello"[..], b"world!"]
    );
    assert!(rest.is_empty());
}

#[test]
fn split_message_at_every_point() {
    let one = msg("split body");
    let raw = one.as_bytes();
    for k in 0..=raw.len() {
        let (a, b) = raw.split_at(k);
        if k < raw.len() {
            assert_eq!(parse_stream(a, MAX), Ok(None), "prefix {k}");
        }
        let (items, rest) = feed(&[a, b]);
        assert_eq!(items.len(), 1, "split at {k}");
        assert_eq!(body(&items[0]), b"split body");
        assert!(rest.is_empty());
    }
}

#[test]
fn byte_by_byte() {
    let all = format!("\r\n\r\n{}\r\n{}\r\n\r\n", msg("a"), msg("bc"));
    let chunks: Vec<&[u8]> = all.as_bytes().chunks(1).collect();
    let (items, rest) = feed(&chunks);
    assert_eq!(
        items.iter().map(body).collect::<Vec<_>>(),
        [&b"<keepalive>"[..], b"a", b"bc", b"<keepalive>"]
    );
    assert!(rest.is_empty());
}

#[test]
fn keepalive_and_pong() {
    assert_eq!(
        parse_stream(b"\r\n\r\n", MAX),
        Ok(Some((StreamItem::KeepAlive, 4)))
    );
    assert_eq!(
        parse_stream(b"\r\n\r\nOPTIONS", MAX),
        Ok(Some((StreamItem::KeepAlive, 4)))
    );
    for partial in [&b""[..], b"\r", b"\r\n", b"\r\n\r"] {
        assert_eq!(parse_stream(partial, MAX), Ok(None));
    }
    // A single CRLF (a pong, or stray line end) before a message is skipped and counted.
    let m = msg("x");
    let buf = format!("\r\n{m}");
    let (item, n) = parse_stream(buf.as_bytes(), MAX)
        .expect("ok")
        .expect("complete");
    assert_eq!((body(&item), n), (&b"x"[..], m.len() + 2));
}

#[test]
fn lf_only_stream_message() {
    let raw = b"\nOPTIONS sip:a@b SIP/2.0\nCall-ID: 1\nl: 3\n\nabcNEXT";
    let (item, n) = parse_stream(raw, MAX).expect("ok").expect("complete");
    assert_eq!(n, raw.len() - 4);
    let StreamItem::Message(Message::Request(r)) = item else {
        panic!("request")
    };
    assert_eq!(r.body, b"abc");
}

#[test]
fn oversize() {
    let m = msg(&"z".repeat(100));
    assert!(matches!(
        parse_stream(m.as_bytes(), 120),
        Err(ParseError::BodyTooLarge {
            declared: 100,
            max: 120
        })
    ));
    assert!(parse_stream(m.as_bytes(), m.len()).expect("fits").is_some());
    // Headers without an end, beyond the limit, are refused before the end arrives.
    let mut endless = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
    while endless.len() <= 200 {
        endless.extend_from_slice(b"X-Pad: 0123456789\r\n");
    }
    assert_eq!(
        parse_stream(&endless, 200),
        Err(ParseError::TooLarge { max: 200 })
    );
    assert_eq!(
        parse_stream(endless.get(..150).expect("prefix"), 200),
        Ok(None)
    );
    // Stray LFs are skipped, but not without limit.
    assert_eq!(parse_stream(&[b'\n'; 100], 200), Ok(None));
    assert_eq!(
        parse_stream(&[b'\n'; 300], 200),
        Err(ParseError::TooLarge { max: 200 })
    );
}

#[test]
fn bad_start_line_reported_before_the_headers_end() {
    assert_eq!(
        parse_stream(b"HELLO\r\nVia: x", MAX),
        Err(ParseError::BadStartLine)
    );
    assert_eq!(
        parse_stream(b"GET / HTTP/1.1\r\n", MAX),
        Err(ParseError::BadStartLine)
    );
    assert_eq!(parse_stream(b"GET / HTTP/1.1", MAX), Ok(None));
    assert_eq!(
        parse_stream(b"OPTIONS sip:a@b SIP/3.0\r\n", MAX),
        Err(ParseError::UnsupportedVersion)
    );
}

#[test]
fn missing_content_length_on_stream() {
    assert_eq!(
        parse_stream(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n", MAX),
        Err(ParseError::MissingContentLength)
    );
}
