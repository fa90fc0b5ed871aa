//! An in-memory [`MetadataSource`] for tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::MetadataSource;
use crate::error::Error;

/// Answers from a map of paths (a missing path is a 404), records every
/// request, and can hold requests until released.
#[derive(Clone, Default)]
pub(crate) struct FakeImds {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    answers: Mutex<HashMap<String, Result<Bytes, Error>>>,
    requests: Mutex<Vec<String>>,
    gate: Mutex<Option<Arc<Semaphore>>>,
}

impl FakeImds {
    /// Answers `path` with `body`.
    pub(crate) fn set(&self, path: &str, body: impl Into<Bytes>) {
        let mut answers = self.inner.answers.lock().unwrap();
        answers.insert(path.to_owned(), Ok(body.into()));
    }

    /// Answers `path` with `error`.
    pub(crate) fn fail(&self, path: &str, error: Error) {
        let mut answers = self.inner.answers.lock().unwrap();
        answers.insert(path.to_owned(), Err(error));
    }

    /// Answers `path` with a 404.
    pub(crate) fn remove(&self, path: &str) {
        self.inner.answers.lock().unwrap().remove(path);
    }

    /// Every request so far, in order.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// How many requests went to `path`.
    pub(crate) fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|p| *p == path).count()
    }

    /// Holds every request from now on until [`release`](Self::release).
    pub(crate) fn hold(&self) {
        *self.inner.gate.lock().unwrap() = Some(Arc::new(Semaphore::new(0)));
    }

    /// Lets held and future requests through.
    pub(crate) fn release(&self) {
        if let Some(gate) = self.inner.gate.lock().unwrap().take() {
            gate.close();
        }
    }
}

impl MetadataSource for FakeImds {
    async fn get(&self, path: &str) -> Result<Option<Bytes>, Error> {
        self.inner.requests.lock().unwrap().push(path.to_owned());
        let gate = self.inner.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            // Closing the semaphore is the release.
            let _ = gate.acquire().await;
        }
        match self.inner.answers.lock().unwrap().get(path) {
            None => Ok(None),
            Some(Ok(body)) => Ok(Some(body.clone())),
            Some(Err(error)) => Err(error.clone()),
        }
    }
}
