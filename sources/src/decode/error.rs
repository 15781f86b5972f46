//! Why an input was rejected. The `Display` text is the `reason` of the `rejected` record: a short
//! kind, a colon, and the detail; summaries and metrics group by the kind.

/// A rejected input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload exceeds [`MAX_PAYLOAD_BYTES`](crate::message::MAX_PAYLOAD_BYTES).
    #[error("payload too large: {size} bytes, limit {limit}")]
    TooLarge {
        /// Payload size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or truncated JSON.
    #[error("malformed json: {0}")]
    Malformed(String),
    /// JSON of the wrong shape: a missing field, a wrong type, a non-numeric or non-finite number,
    /// an unknown enum value, a non-positive price or size.
    #[error("invalid field: {0}")]
    InvalidField(String),
    /// The subject is not one of DESIGN section 4.
    #[error("unknown subject: {0}")]
    UnknownSubject(String),
    /// The subject names a venue nexus does not know.
    #[error("unknown venue: {0}")]
    UnknownVenue(String),
    /// A symbol that maps to no asset.
    #[error("invalid symbol: {0}")]
    InvalidSymbol(String),
    /// A Bybit delta for a symbol with no snapshot yet.
    #[error("delta before snapshot: {0}")]
    DeltaBeforeSnapshot(String),
    /// A `control.params` change that the configuration refuses.
    #[error("invalid param: {0}")]
    InvalidParam(String),
    /// A recording line that is not a recorded message.
    #[error("unreadable line: {0}")]
    UnreadableLine(String),
}

impl DecodeError {
    /// Classifies a serde_json error: syntax errors are malformed input, the rest is shape.
    pub fn from_json(error: &serde_json::Error) -> DecodeError {
        use serde_json::error::Category;
        match error.classify() {
            Category::Syntax | Category::Eof | Category::Io => DecodeError::Malformed(error.to_string()),
            Category::Data => DecodeError::InvalidField(error.to_string()),
        }
    }

    /// Prefixes the detail with the position of a bad element in an array payload.
    pub fn in_element(self, index: usize) -> DecodeError {
        let prefix = |detail: String| format!("element {index}: {detail}");
        match self {
            DecodeError::Malformed(d) => DecodeError::Malformed(prefix(d)),
            DecodeError::InvalidField(d) => DecodeError::InvalidField(prefix(d)),
            DecodeError::InvalidSymbol(d) => DecodeError::InvalidSymbol(prefix(d)),
            DecodeError::DeltaBeforeSnapshot(d) => DecodeError::DeltaBeforeSnapshot(prefix(d)),
            other => other,
        }
    }
}
