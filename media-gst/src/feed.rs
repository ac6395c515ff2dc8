//! A subscriber's view of a shared, live encoder: a broadcast receiver that
//! skips frames until the first keyframe after subscribing or lagging.
//!
//! Generic over the encoder so that every shared-encoder type (the slate
//! encoders, the composite outputs) gets the same `recv`/`try_recv`/
//! `blocking_recv` semantics.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::slate::EncodedFrame;

/// An encoder that can be asked for an IDR.
pub(crate) trait ForceKeyframe: Send + Sync {
    fn force_keyframe(&self);
}

/// Broadcast receiver + "wait for a keyframe" state.
pub(crate) struct Feed<E: ForceKeyframe> {
    pub(crate) encoder: Arc<E>,
    rx: broadcast::Receiver<Arc<EncodedFrame>>,
    waiting_for_keyframe: bool,
}

impl<E: ForceKeyframe> Feed<E> {
    pub(crate) fn new(encoder: Arc<E>, rx: broadcast::Receiver<Arc<EncodedFrame>>) -> Self {
        Feed {
            encoder,
            rx,
            waiting_for_keyframe: true,
        }
    }

    pub(crate) fn receiver(&mut self) -> &mut broadcast::Receiver<Arc<EncodedFrame>> {
        &mut self.rx
    }

    pub(crate) fn request_keyframe(&self) {
        self.encoder.force_keyframe();
    }

    pub(crate) async fn recv(&mut self) -> Result<Arc<EncodedFrame>, broadcast::error::RecvError> {
        loop {
            let result = self.rx.recv().await;
            if let Some(frame) = self.filter(result)? {
                return Ok(frame);
            }
        }
    }

    pub(crate) fn try_recv(&mut self) -> Result<Arc<EncodedFrame>, broadcast::error::TryRecvError> {
        loop {
            match self.rx.try_recv() {
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    self.on_lag();
                    return Err(broadcast::error::TryRecvError::Lagged(n));
                }
                Err(e) => return Err(e),
                Ok(frame) => {
                    if let Some(frame) = self.accept(frame) {
                        return Ok(frame);
                    }
                }
            }
        }
    }

    pub(crate) fn blocking_recv(
        &mut self,
    ) -> Result<Arc<EncodedFrame>, broadcast::error::RecvError> {
        loop {
            let result = self.rx.blocking_recv();
            if let Some(frame) = self.filter(result)? {
                return Ok(frame);
            }
        }
    }

    fn filter(
        &mut self,
        result: Result<Arc<EncodedFrame>, broadcast::error::RecvError>,
    ) -> Result<Option<Arc<EncodedFrame>>, broadcast::error::RecvError> {
        match result {
            Ok(frame) => Ok(self.accept(frame)),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                self.on_lag();
                Err(broadcast::error::RecvError::Lagged(n))
            }
            Err(e) => Err(e),
        }
    }

    fn accept(&mut self, frame: Arc<EncodedFrame>) -> Option<Arc<EncodedFrame>> {
        if self.waiting_for_keyframe && !frame.keyframe {
            return None;
        }
        self.waiting_for_keyframe = false;
        Some(frame)
    }

    fn on_lag(&mut self) {
        self.waiting_for_keyframe = true;
        self.encoder.force_keyframe();
    }
}
