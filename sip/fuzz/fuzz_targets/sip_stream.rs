//! parse_stream framing. The first byte picks the size limit and the split points; the rest
//! is fed whole, in chunks and (if short) byte by byte, and all must yield the same items and
//! the same final error or leftover. Every prefix must answer either "need more" or exactly
//! what the whole buffer answers.
#![no_main]

use cvi_sip::parse::{ParseError, StreamItem, parse_stream};
use libfuzzer_sys::fuzz_target;

type Outcome = (Vec<StreamItem>, Option<ParseError>, Vec<u8>);

fn drain(buf: &mut Vec<u8>, items: &mut Vec<StreamItem>, max: usize) -> Option<ParseError> {
    loop {
        match parse_stream(buf, max) {
            Ok(Some((item, n))) => {
                assert!(n > 0 && n <= buf.len(), "consumed {n} of {}", buf.len());
                items.push(item);
                buf.drain(..n);
            }
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

fn feed(chunks: &[&[u8]], max: usize) -> Outcome {
    let (mut buf, mut items) = (Vec::new(), Vec::new());
    for c in chunks {
        buf.extend_from_slice(c);
        if let Some(e) = drain(&mut buf, &mut items, max) {
            // The rest of the input was never fed: compare items and error only.
            return (items, Some(e), Vec::new());
        }
    }
    (items, None, buf)
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    // The size limit varies with the selector: 64 .. 8224 bytes.
    let max = 64 + usize::from(sel) * 32;
    let whole = feed(&[data], max);

    // Up to four split points derived from the selector byte and the length.
    let n = data.len();
    let mut cuts: Vec<usize> = (0..4u32)
        .map(|i| {
            if n == 0 {
                0
            } else {
                (usize::from(sel).wrapping_mul(i as usize * 7 + 13) + i as usize) % (n + 1)
            }
        })
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut chunks = Vec::new();
    let mut last = 0;
    for c in cuts {
        chunks.push(data.get(last..c).unwrap_or_default());
        last = c;
    }
    chunks.push(data.get(last..).unwrap_or_default());
    assert_eq!(feed(&chunks, max), whole);

    // Byte at a time, for short inputs.
    if n <= 512 {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(feed(&bytes, max), whole);
    }

    // Prefix property on the first item.
    let full = parse_stream(data, max);
    for k in [n / 3, n / 2, n.saturating_sub(1)] {
        let p = parse_stream(data.get(..k).unwrap_or_default(), max);
        assert!(p == Ok(None) || p == full, "prefix {k}: {p:?} vs {full:?}");
    }
});
