//! The NATS sink: every update of every output stream on `<prefix>out.<stream>`, as the same JSON
//! line the files carry (`{"time","diff","data"}`), complete times only, in time order.

mod sink;

pub use sink::{NatsOutError, NatsOutSink};
