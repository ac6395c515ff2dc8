//! `cvi-media`: the sans-IO media negotiation of the gateway's SIP leg.
//!
//! [`sdp`] parses and writes SDP, applies the RFC 6184 H.264 rules and
//! answers (or makes) offers. It does no IO: the call task binds sockets,
//! passes their ports in [`sdp::LocalAddrs`], and hands the resulting
//! [`sdp::NegotiatedStream`]s to the media pipeline.
//!
//! ```
//! use cvi_media::sdp::{self, SessionDescription, LocalCapabilities, LocalAddrs};
//! let offer = SessionDescription::parse(
//!     "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!      m=audio 5004 RTP/AVP 8 0\r\n",
//! )?;
//! let mut rng = rand::rngs::mock::StepRng::new(1, 1);
//! let answer = sdp::answer(&offer, &LocalCapabilities::default(), &LocalAddrs::default(), &mut rng)?;
//! assert_eq!(answer.streams[0].codec.name, "PCMA");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod dtmf;
pub mod rtp;
pub mod sdp;
pub mod srtp;
