//! Creating the input streams.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use nexus_model::streams::Stream;

use crate::nats::NatsSourceError;

/// How long the input streams keep a message (30 days): longer than any lookback, bounded so a
/// stream does not grow for ever.
pub const INPUT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Creates `FEEDS`, `EXEC` and `CONTROL` under `prefix` where they are missing (existing streams
/// are left as they are); returns them in [`Stream::INPUTS`] order.
pub async fn ensure_input_streams(
    context: &jetstream::Context,
    prefix: &str,
) -> Result<Vec<stream::Stream>, NatsSourceError> {
    let mut streams = Vec::new();
    for input in Stream::INPUTS {
        let name = input.name(prefix);
        let created = context
            .get_or_create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![input.subject_filter(prefix)],
                max_age: INPUT_MAX_AGE,
                ..Default::default()
            })
            .await
            .map_err(|source| NatsSourceError::Stream { stream: name, source: Box::new(source) })?;
        streams.push(created);
    }
    Ok(streams)
}
