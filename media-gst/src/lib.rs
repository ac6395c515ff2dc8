//! GStreamer parts of the SIP leg.
