//! Decode arbitrary bytes as G.722: never panics (overflow checks are on
//! in fuzz builds, so any arithmetic overflow is found), two samples per
//! byte, and the output does not depend on how the stream is split into
//! payloads. Input: `split(1) stream…` — payloads of `split + 1` bytes.
#![no_main]

use cvi_media::dtmf::g722::G722Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let mut whole = Vec::new();
    G722Decoder::new().decode_into(stream, &mut whole);
    assert_eq!(whole.len(), 2 * stream.len());

    let mut dec = G722Decoder::default();
    let mut parts = Vec::new();
    for payload in stream.chunks(usize::from(split) + 1) {
        dec.decode_into(payload, &mut parts);
    }
    assert_eq!(whole, parts);

    dec.reset();
    assert_eq!(dec, G722Decoder::new());
});
