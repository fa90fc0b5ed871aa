//! Captures the `tracing` output of the current test's thread.
//!
//! Not `tracing::subscriber::set_default` per test: while at most one
//! dispatcher exists, tracing-core takes a new callsite's interest from the
//! default subscriber of the thread that hits it first. A callsite first hit
//! by a test without a subscriber while another test captures is then cached
//! as "never", and the capturing test silently misses those events (seen in
//! CI). One global subscriber, at TRACE, that writes each event to the buffer
//! of the thread that emitted it has no such race.
//!
//! A capturing test must run its futures on its own thread, which
//! `#[tokio::test]`'s default current-thread runtime does.
//!
//! Shared with the unit tests (`src/credentials/provider/tests.rs`) and the
//! workspace's `tests/secrets.rs` by `#[path]`.

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, Once};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// What the current thread logged at `level` or above, since [`capture`].
#[derive(Clone)]
pub struct Captured {
    text: Arc<Mutex<Vec<u8>>>,
    level: Level,
}

impl Captured {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }
}

/// Stops the capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Captures this thread's events at `level` and above until the guard drops.
pub fn capture(level: Level) -> (Captured, CaptureGuard) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_writer(ThreadWriter)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
    });
    let captured = Captured {
        text: Arc::default(),
        level,
    };
    CURRENT.with(|current| *current.borrow_mut() = Some(captured.clone()));
    (captured, CaptureGuard(()))
}

/// Hands the formatter a writer into the emitting thread's capture.
struct ThreadWriter;

/// Appends to a capture, or discards when the thread captures nothing.
struct ThreadSink(Option<Arc<Mutex<Vec<u8>>>>);

impl<'a> MakeWriter<'a> for ThreadWriter {
    type Writer = ThreadSink;

    fn make_writer(&'a self) -> ThreadSink {
        ThreadSink(CURRENT.with(|current| current.borrow().as_ref().map(|c| c.text.clone())))
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> ThreadSink {
        let text = CURRENT.with(|current| {
            current
                .borrow()
                .as_ref()
                .filter(|c| *meta.level() <= c.level)
                .map(|c| c.text.clone())
        });
        ThreadSink(text)
    }
}

impl io::Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(text) = &self.0 {
            text.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
