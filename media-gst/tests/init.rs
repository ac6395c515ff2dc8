#![allow(clippy::unwrap_used)]

#[test]
fn init_is_idempotent_and_finds_elements() {
    cvi_media_gst::init().unwrap();
    cvi_media_gst::init().unwrap();
    for name in cvi_media_gst::REQUIRED_ELEMENTS {
        assert!(gst::ElementFactory::find(name).is_some(), "{name}");
    }
}

#[test]
fn missing_element_is_an_error_not_a_panic() {
    cvi_media_gst::init().unwrap();
    let err = cvi_media_gst::Error::MissingElement("nosuchelement".into());
    assert!(err.to_string().contains("nosuchelement"));
}
