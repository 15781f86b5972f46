//! The NATS sink: every update of every output stream on `<prefix>out.<stream>`, as the same JSON
//! line the files carry (`{"time","diff","data"}`), complete times only, in time order.

//! Order intents also go to `<prefix>exec.orders.<venue>`, deduplicated by client order id.

mod orders;
mod sink;

pub use orders::{DUPLICATE_WINDOW, DispatchError, ORDERS_MAX_AGE, OrderDispatch, stream_name};
pub use sink::{NatsOutError, NatsOutSink};
