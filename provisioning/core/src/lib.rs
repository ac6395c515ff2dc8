//! The control-plane model of cvi-gateway and its policy engine.
//!
//! Everything here is pure: no IO, no clock. Callers pass `now` and a [`decide::Snapshot`]
//! of the rows a decision needs; the store (in `cvi-provisioning-server`) loads them.
//!
//! - [`model`]: tenants, users, groups, providers, consents, meetings and their validation.
//! - [`vtc_id`]: video teleconference IDs (random digits with a Damm check digit).
//! - [`video_policy`]: TeamsVideoInteropServicePolicy instances, grants and the effective policy.
//! - [`coordinates`]: the VTC coordinates and `joinInformation` of a meeting.
//! - [`dial`]: request-URI and dial-string parsing.
//! - [`decide`]: the decision the SIP side asks for every INVITE, with its check-by-check trace.
//! - [`interop`], [`federation`]: the other seed policies (TeamsInteropPolicy, ACS federation).

pub mod coordinates;
pub mod decide;
pub mod dial;
pub mod error;
pub mod federation;
pub mod interop;
pub mod model;
pub mod video_policy;
pub mod vtc_id;

pub use error::FieldError;
