use super::*;
use crate::test_rng::Rng;

#[test]
fn display_name_wins() {
    let from = "\"Room 4\" <sip:room4@vtc.example.com>;tag=x";
    assert_eq!(vtc_name(from), "Room 4");
    assert_eq!(vtc_name("Board Room <sip:br@h>;tag=1"), "Board Room");
    assert_eq!(vtc_name("  \"  Spaced  \"  <sip:s@h>"), "Spaced");
}

#[test]
fn quoted_escapes_and_specials() {
    assert_eq!(
        vtc_name(r#""Say \"hi\" \\ o/" <sip:a@h>"#),
        r#"Say "hi" \ o/"#
    );
    // `<`, `>`, `;` and `@` inside the quotes are part of the name.
    assert_eq!(vtc_name(r#""a<b>;c@d" <sip:x@h>"#), "a<b>;c@d");
    assert_eq!(
        vtc_name("\"Salle 3 – Zürich\" <sip:z@h>"),
        "Salle 3 – Zürich"
    );
}

#[test]
fn user_part_when_no_display_name() {
    assert_eq!(vtc_name("<sip:room@h>"), "room");
    assert_eq!(vtc_name("sip:room@h"), "room");
    assert_eq!(vtc_name("sip:room@h;tag=abc"), "room");
    assert_eq!(
        vtc_name("\"\" <sips:secure@h:5061;transport=tls>"),
        "secure"
    );
    assert_eq!(vtc_name("   <SIP:Upper@h>"), "Upper");
    assert_eq!(vtc_name("<sip:alice:secret@h>"), "alice");
    assert_eq!(vtc_name("<sip:room%204@h>"), "room 4");
    assert_eq!(vtc_name("<sip:bad%zz%4@h>"), "bad%zz%4");
    assert_eq!(vtc_name("<tel:+15551234;phone-context=x>"), "+15551234");
    assert_eq!(vtc_name("\" \t \" <sip:blank@h>"), "blank");
}

#[test]
fn fallback() {
    for from in [
        "",
        "   ",
        "<sip:h.example.com>",
        "sip:h",
        "\"\" <>",
        "<sip:@h>",
        "\"\u{7}\u{1b}\"",
        "<",
        "\"",
        "\\",
        ";tag=1",
    ] {
        assert_eq!(vtc_name(from), FALLBACK_NAME, "{from:?}");
    }
}

#[test]
fn malformed_is_lenient() {
    assert_eq!(
        vtc_name("\"Unterminated <sip:x@h>"),
        "Unterminated <sip:x@h>"
    );
    assert_eq!(vtc_name("<sip:open@h"), "open");
    assert_eq!(vtc_name("\"Trailing\\"), "Trailing");
    assert_eq!(vtc_name("Name only"), FALLBACK_NAME); // an addr-spec without user
    assert_eq!(vtc_name("\"Q\" sip:bare@h"), "Q");
    assert_eq!(vtc_name("<sip:%ff%fe@h>"), "\u{fffd}\u{fffd}");
}

#[test]
fn control_characters_are_stripped() {
    assert_eq!(vtc_name("\"Ro\u{0}om\r\n 4\u{7f}\" <sip:x@h>"), "Room 4");
    assert_eq!(vtc_name("<sip:a%0Ab%00@h>"), "ab");
}

#[test]
fn cut_to_64_characters() {
    let long = "é".repeat(100);
    let name = vtc_name(&format!("\"{long}\" <sip:x@h>"));
    assert_eq!(name.chars().count(), MAX_NAME_CHARS);
    // A cut that ends in white space does not leave it dangling.
    let spaced = format!("\"{} tail\" <sip:x@h>", "a".repeat(63));
    assert_eq!(vtc_name(&spaced), "a".repeat(63));
    let user = "u".repeat(80);
    assert_eq!(vtc_name(&format!("sip:{user}@h")).len(), MAX_NAME_CHARS);
}

#[test]
fn vtc_constructor() {
    let p = Participant::vtc(ParticipantId(7), "<sip:lobby@h>");
    assert_eq!(p.name, "lobby");
    assert_eq!(p.kind, Kind::VideoDevice);
    assert!(!p.muted && p.video);
    assert_eq!(p.id.to_string(), "p7");
}

#[test]
fn random_inputs_never_panic_and_stay_clean() {
    let pieces = [
        "\"", "\\", "<", ">", "@", ":", ";", "%", "%4", "%41", "sip:", "sips:", "tel:", "SIP:",
        " ", "\t", "\r\n", "\u{0}", "\u{1b}", "\u{85}", "é", "漢", "🎥", "a", "Room", "tag=",
        "%e2%82", "%ff", "\u{200b}",
    ];
    let mut rng = Rng::new(0x5eed_0001);
    for _ in 0..20_000 {
        let len = rng.below(12);
        let input: String = (0..len).map(|_| rng.pick(&pieces)).collect();
        let name = vtc_name(&input);
        assert!(!name.is_empty(), "{input:?}");
        assert!(name.chars().count() <= MAX_NAME_CHARS, "{input:?}");
        assert!(!name.chars().any(char::is_control), "{input:?} -> {name:?}");
        assert_eq!(name, name.trim(), "{input:?}");
    }
    // Arbitrary bytes, lossily decoded, as a SIP stack might hand them over.
    for _ in 0..5_000 {
        let bytes: Vec<u8> = (0..rng.below(40))
            .map(|_| rng.next().to_le_bytes()[0])
            .collect();
        let name = vtc_name(&String::from_utf8_lossy(&bytes));
        assert!(!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS);
    }
}
