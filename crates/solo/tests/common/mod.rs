//! Helpers shared by the integration tests: capturing what `tracing`
//! prints (debug mode's warnings).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `tracing` writer that keeps what it is given.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// A plain-text `fmt` subscriber that writes here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let c = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || c.clone())
            .with_ansi(false)
            .finish()
    }
}

/// What `tracing` printed on this thread while `f` ran.
#[allow(dead_code)] // not every test binary uses it
pub fn captured(f: impl FnOnce()) -> String {
    let cap = Capture::default();
    tracing::subscriber::with_default(cap.subscriber(), f);
    cap.text()
}
