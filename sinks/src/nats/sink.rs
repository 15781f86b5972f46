//! Publishes complete batches.

use bytes::Bytes;

use crate::complete::CompleteBatch;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum NatsOutError {
    /// A publish failed.
    #[error("cannot publish to {subject}")]
    Publish {
        /// The subject.
        subject: String,
        /// The cause.
        #[source]
        source: async_nats::PublishError,
    },
    /// Flushing to the server failed.
    #[error("cannot flush to nats")]
    Flush(#[source] async_nats::client::FlushError),
}

/// One update as the files write it: `{"time":T,"diff":D,"data":{...}}`.
fn line(time: nexus_model::LogicalTime, diff: isize, data: &str) -> String {
    let mut line = String::with_capacity(data.len() + 64);
    line.push_str("{\"time\":");
    line.push_str(itoa::Buffer::new().format(time));
    line.push_str(",\"diff\":");
    line.push_str(itoa::Buffer::new().format(diff));
    line.push_str(",\"data\":");
    line.push_str(data);
    line.push('}');
    line
}

/// Publishes `out.<stream>` subjects.
pub struct NatsOutSink {
    client: async_nats::Client,
    prefix: String,
}

impl NatsOutSink {
    /// Publishes on `client`; subjects get `prefix` in front.
    pub fn new(client: async_nats::Client, prefix: &str) -> NatsOutSink {
        NatsOutSink { client, prefix: prefix.to_string() }
    }

    /// Publishes every update of the batch on `out.<stream>`, then flushes.
    pub async fn write(&self, batch: &CompleteBatch) -> Result<(), NatsOutError> {
        for (time, streams) in &batch.times {
            for (stream, updates) in streams {
                if stream.is_internal() {
                    continue;
                }
                let subject = async_nats::Subject::from(format!("{}out.{}", self.prefix, stream.name()));
                for (data, diff) in updates {
                    self.client
                        .publish(subject.clone(), Bytes::from(line(*time, *diff, data)))
                        .await
                        .map_err(|source| NatsOutError::Publish { subject: subject.to_string(), source })?;
                }
            }
        }
        self.client.flush().await.map_err(NatsOutError::Flush)
    }
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn a_line_is_the_files_json_for_one_update() {
        let text = line(1_763_596_800_123_000, -1, r#"{"venue":"binance","symbol":"BTC"}"#);
        assert_eq!(text, r#"{"time":1763596800123000,"diff":-1,"data":{"venue":"binance","symbol":"BTC"}}"#);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["data"]["symbol"], "BTC");
    }
}
