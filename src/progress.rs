//! A progress bar over the bytes of the input file, drawn only on a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A running progress display.
pub struct Progress {
    bar: ProgressBar,
    done: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts polling `counter` (bytes read) against `total` bytes.
    pub fn start(total: Option<u64>, counter: Arc<AtomicU64>) -> Progress {
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner(),
        };
        let done = Arc::new(AtomicBool::new(false));
        let (poll_bar, poll_done) = (bar.clone(), Arc::clone(&done));
        let poller = std::thread::Builder::new()
            .name("nexus-progress".into())
            .spawn(move || {
                while !poll_done.load(Ordering::Relaxed) {
                    poll_bar.set_position(counter.load(Ordering::Relaxed));
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .ok();
        Progress { bar, done, poller }
    }

    /// Stops and clears the display.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
        self.bar.finish_and_clear();
    }
}
