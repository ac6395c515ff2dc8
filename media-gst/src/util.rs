//! Small private helpers shared by the pipeline modules.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::Error;

/// Builds a pipeline from a `gst-launch` style description.
pub(crate) fn parse_pipeline(desc: &str) -> Result<gst::Pipeline, Error> {
    let element = gst::parse::launch(desc).map_err(|e| {
        if e.kind::<gst::ParseError>() == Some(gst::ParseError::NoSuchElement) {
            Error::MissingElement(e.message().to_string())
        } else {
            Error::Pipeline(format!("cannot build `{desc}`: {e}"))
        }
    })?;
    element
        .downcast::<gst::Pipeline>()
        .map_err(|_| Error::Pipeline(format!("`{desc}` is not a pipeline")))
}

/// Looks an element up by name and casts it.
pub(crate) fn by_name<T: IsA<gst::Element>>(
    pipeline: &gst::Pipeline,
    name: &str,
) -> Result<T, Error> {
    pipeline
        .by_name(name)
        .and_then(|e| e.downcast::<T>().ok())
        .ok_or_else(|| Error::Pipeline(format!("element `{name}` not found in pipeline")))
}

/// Sets the pipeline to `Null` when dropped.
pub(crate) struct NullOnDrop(pub(crate) gst::Pipeline);

impl Drop for NullOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// Formats a bus error message.
pub(crate) fn describe_error(err: &gst::message::Error) -> String {
    let src = err
        .src()
        .map(|s| s.path_string().to_string())
        .unwrap_or_else(|| "?".into());
    match err.debug() {
        Some(debug) => format!("{src}: {} ({debug})", err.error()),
        None => format!("{src}: {}", err.error()),
    }
}

/// Runs `pipeline` (which must contain an `appsrc` named `src` and an
/// `appsink` named `sink`) synchronously: pushes `buffers`, signals EOS, waits
/// for EOS on the bus (or an error, or `timeout`) and returns every buffer the
/// sink received. The pipeline is left in `Null`.
pub(crate) fn run_to_eos(
    pipeline: gst::Pipeline,
    buffers: Vec<gst::Buffer>,
    timeout: Duration,
) -> Result<Vec<gst::Buffer>, Error> {
    let src: gst_app::AppSrc = by_name(&pipeline, "src")?;
    let sink: gst_app::AppSink = by_name(&pipeline, "sink")?;
    let bus = pipeline
        .bus()
        .ok_or_else(|| Error::Pipeline("pipeline has no bus".into()))?;
    let guard = NullOnDrop(pipeline);

    let out: Arc<Mutex<Vec<gst::Buffer>>> = Arc::default();
    let out_cb = Arc::clone(&out);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(buffer) = sample.buffer_owned() {
                    out_cb
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(buffer);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    // Everything is pushed up front: never block, never drop.
    src.set_property("max-bytes", 0u64);
    src.set_property("block", false);

    guard.0.set_state(gst::State::Playing)?;
    for buffer in buffers {
        if src.push_buffer(buffer).is_err() {
            // The pipeline failed; the bus carries the reason.
            break;
        }
    }
    let _ = src.end_of_stream();

    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(timeout));
        }
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX)),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        match msg.as_ref().map(|m| m.view()) {
            None => return Err(Error::Timeout(timeout)),
            Some(gst::MessageView::Eos(_)) => break,
            Some(gst::MessageView::Error(err)) => {
                return Err(Error::Pipeline(describe_error(err)));
            }
            Some(_) => {}
        }
    }
    drop(guard);
    let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
    Ok(std::mem::take(&mut *out))
}

/// Copies bytes into a new buffer with the given timestamp and duration.
pub(crate) fn timed_buffer(data: Vec<u8>, pts: Duration, duration: Duration) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(data);
    if let Some(b) = buffer.get_mut() {
        b.set_pts(clock_time(pts));
        b.set_duration(clock_time(duration));
    }
    buffer
}

pub(crate) fn clock_time(d: Duration) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
