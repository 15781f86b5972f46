//! The recording format (DESIGN section 3): JSON lines `{"recv_us", "subject", "payload"}` in
//! logical-time order, optionally zstd-compressed (`.zst`).

mod reader;

pub use reader::{RecordedLine, RecordingError, RecordingReader};
