//! SIP for cvi-gateway, sans-IO. Bytes in, messages out; messages and `now` in, messages to
//! send and the next timeout out. No sockets, no clock.
//!
//! - [`message`]: the message model ([`Request`], [`Response`], [`Headers`]).
//! - [`parse`]: bytes → message (datagram or stream framing), tolerant of what real
//!   endpoints send; [`Message::to_bytes`] the other way.
//! - [`headers`]: typed views of the headers the stack reads (Via, CSeq, name-addr, …).
//! - [`transaction`]: RFC 3261 §17 client and server transactions, timers A–K as data.
//! - [`dialog`]: RFC 3261 §12 dialogs.

pub mod dialog;
pub mod headers;
pub mod message;
pub mod parse;
pub mod transaction;

pub use message::{Headers, Message, Method, Request, Response};
