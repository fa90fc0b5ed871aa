//! Running async code on a thread that may enter namespaces.

use std::future::Future;

/// Runs `f`'s future to completion on a new OS thread, with a
/// current-thread tokio runtime (I/O and time enabled), and returns its
/// output; a panic in it is resumed here. The thread starts in the
/// caller's namespace and may [`enter`](crate::Netns::enter) others: it is
/// never reused, so nothing else ever runs in a namespace it entered.
pub fn run<F, Fut>(f: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send,
    Fut: Future,
    Fut::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime")
                    .block_on(f())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
