//! SIP INFO DTMF bodies from the network: never panics, only real keys come out.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    if let Some(k) = cvi_media::dtmf::info::parse(&body) {
        assert!(cvi_media::dtmf::DIGITS.contains(&k), "{k:?}");
    }
});
