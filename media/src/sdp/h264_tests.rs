//! Unit tests for profile-level-id handling (RFC 6184 §8.1, §8.2.2).
#![allow(clippy::unwrap_used)]

use super::super::h264_fmtp::{H264Local, H264Params, answer_h264};
use super::*;

fn pli(s: &str) -> ProfileLevelId {
    ProfileLevelId::parse(s).unwrap()
}

#[test]
fn profiles_from_flags_not_strings() {
    use H264Profile::*;
    for (s, p) in [
        ("42e01f", ConstrainedBaseline),
        ("42c01f", ConstrainedBaseline),
        ("42401f", ConstrainedBaseline),
        ("4d801f", ConstrainedBaseline),
        ("58c01f", ConstrainedBaseline),
        ("42801f", Baseline),
        ("42800d", Baseline),
        ("428020", Baseline),
        ("42001f", Baseline),
        ("58801f", Baseline),
        ("4d401e", Main),
        ("4d001f", Main),
        ("58001f", Extended),
        ("640028", High),
        ("64001f", High),
        ("640c1f", ConstrainedHigh),
        ("64081f", ProgressiveHigh),
        ("6e001f", High10),
        ("f4001f", High444),
        ("f4101f", High444Intra),
    ] {
        assert_eq!(pli(s).profile(), Ok(p), "{s}");
    }
    // Uppercase hex is the same id.
    assert_eq!(pli("42800C"), pli("42800c"));
    // Reserved bits set: no profile.
    assert_eq!(pli("42e11f").profile(), Err(H264Error::UnknownProfile));
    assert_eq!(pli("64101f").profile(), Err(H264Error::UnknownProfile));
    assert_eq!(pli("ff001f").profile(), Err(H264Error::UnknownProfile));
}

#[test]
fn same_profile_ignores_level_and_irrelevant_flags() {
    assert!(pli("42e01f").same_profile(&pli("42c00a")));
    assert!(pli("42e01f").same_profile(&pli("4d801f")));
    assert!(!pli("42e01f").same_profile(&pli("42801f")));
    assert!(!pli("42e01f").same_profile(&pli("640028")));
    assert!(!pli("640028").same_profile(&pli("4d401e")));
}

#[test]
fn levels_including_1b_forms() {
    use H264Level::*;
    assert_eq!(pli("42f00b").level(), Ok(L1b)); // CB, set3 + level_idc 11
    assert_eq!(pli("42100b").level(), Ok(L1b)); // Baseline, set3 + 11
    assert_eq!(pli("4d100b").level(), Ok(L1b)); // Main, set3 + 11
    assert_eq!(pli("42e00b").level(), Ok(L1_1)); // no set3: 1.1
    assert_eq!(pli("640009").level(), Ok(L1b)); // High: level_idc 9
    assert_eq!(pli("64000b").level(), Ok(L1_1)); // set3 means 1b only for B/M/E
    assert_eq!(pli("640028").level(), Ok(L4));
    assert_eq!(pli("42e01f").level(), Ok(L3_1));
    assert_eq!(pli("4d401e").level(), Ok(L3));
    assert_eq!(pli("42e0ff").level(), Err(H264Error::UnknownLevel));
    assert!(L1 < L1b && L1b < L1_1 && L3_1 < L4 && L4 < L4_1);
    assert_eq!(L1b.name(), "1b");
    assert_eq!(L3_1.name(), "3.1");
    assert_eq!(L4.name(), "4");
}

#[test]
fn with_level_writes_1b_per_profile() {
    use H264Level::*;
    assert_eq!(pli("42e01f").with_level(L1b).to_string(), "42f00b");
    assert_eq!(pli("42801f").with_level(L1b).to_string(), "42900b");
    assert_eq!(pli("64001f").with_level(L1b).to_string(), "640009");
    // 1.1 must clear set3 so it is not read back as 1b.
    assert_eq!(pli("42f00b").with_level(L1_1).to_string(), "42e00b");
    assert_eq!(pli("42f00b").with_level(L1_1).level(), Ok(L1_1));
    assert_eq!(pli("42e01f").with_level(L3).to_string(), "42e01e");
    assert_eq!(
        ProfileLevelId::new(H264Profile::ConstrainedBaseline, L3_1).to_string(),
        "42e01f"
    );
    assert_eq!(
        ProfileLevelId::new(H264Profile::High, L4).to_string(),
        "640028"
    );
}

#[test]
fn bad_profile_level_ids() {
    for s in ["", "42e01", "42e01f0", "42e0g1", "+2e01f", "４２e01f"] {
        assert_eq!(
            ProfileLevelId::parse(s),
            Err(H264Error::BadProfileLevelId),
            "{s:?}"
        );
    }
}

#[test]
fn subset_rules() {
    use H264Profile::*;
    assert!(ConstrainedBaseline.is_subset_of(High));
    assert!(ConstrainedBaseline.is_subset_of(Baseline));
    assert!(Main.is_subset_of(High));
    assert!(!Baseline.is_subset_of(Main));
    assert!(!High.is_subset_of(Main));
    assert!(ConstrainedHigh.is_subset_of(High));
    assert!(!High10.is_subset_of(High));
}

fn local(max: H264Level, asym: bool) -> H264Local {
    H264Local {
        max_level: max,
        level_asymmetry_allowed: asym,
        max_fs: None,
        max_mbps: None,
    }
}

#[test]
fn answer_level_is_min_of_offer_and_ours() {
    use H264Level::*;
    let offer = H264Params::from_fmtp("profile-level-id=640032; packetization-mode=1").unwrap();
    let a = answer_h264(&offer, &local(L4, true)).unwrap();
    assert_eq!(a.answer.profile_level_id.to_string(), "640028");
    assert_eq!(a.answer.packetization_mode, 1);
    assert_eq!(a.limits.level, L4);

    let offer = H264Params::from_fmtp("profile-level-id=42e00d").unwrap();
    let a = answer_h264(&offer, &local(L4, false)).unwrap();
    assert_eq!(a.answer.profile_level_id.to_string(), "42e00d");
    assert_eq!(
        a.answer.to_fmtp(),
        "profile-level-id=42e00d;packetization-mode=0"
    );
}

#[test]
fn level_asymmetry_needs_both_sides() {
    use H264Level::*;
    let offer = H264Params::from_fmtp(
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    )
    .unwrap();
    let a = answer_h264(&offer, &local(L4, true)).unwrap();
    assert_eq!(a.answer.profile_level_id.to_string(), "42e028");
    assert!(a.answer.level_asymmetry_allowed);
    assert_eq!(a.limits.level, L3_1, "we send at the offerer's level");

    let a = answer_h264(&offer, &local(L4, false)).unwrap();
    assert_eq!(a.answer.profile_level_id.to_string(), "42e01f");
    assert!(!a.answer.level_asymmetry_allowed);
}

#[test]
fn offered_max_fs_and_mbps_raise_limits() {
    let offer = H264Params::from_fmtp(
        "profile-level-id=428020; packetization-mode=1; max-mbps=245000; max-fs=8192; max-br=5120",
    )
    .unwrap();
    let a = answer_h264(&offer, &local(H264Level::L4, false)).unwrap();
    assert_eq!(a.limits.level, H264Level::L3_2);
    assert_eq!((a.limits.max_fs, a.limits.max_mbps), (8192, 245000));
    assert_eq!(a.limits.max_bitrate_bps, Some(5_120_000));
    assert!(a.limits.allows(1920, 1080, 30));
    assert!(!a.limits.allows(1920, 1080, 60));
    assert_eq!(a.limits.max_dimension_px(), 4096);
}

#[test]
fn fmtp_keeps_sprop_and_unknown_and_rejects_bad_numbers() {
    let p = H264Params::from_fmtp(
        "Profile-Level-Id=42e01f;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwjxYuS,aMuMsg==;sar=13",
    )
    .unwrap();
    assert_eq!(
        p.sprop_parameter_sets.as_deref(),
        Some("Z0LAHtkDxWhAAAADAEAAAAwjxYuS,aMuMsg==")
    );
    assert_eq!(p.other, [("sar".to_owned(), "13".to_owned())]);
    assert_eq!(
        H264Params::from_fmtp("max-fs=big"),
        Err(H264Error::BadParameter("max-fs"))
    );
    assert_eq!(
        H264Params::from_fmtp("packetization-mode=3"),
        Err(H264Error::BadParameter("packetization-mode"))
    );
    assert_eq!(
        H264Params::from_fmtp("").map(|p| p.profile_level_id),
        Ok(ProfileLevelId::DEFAULT)
    );
}
