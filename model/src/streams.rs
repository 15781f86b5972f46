//! JetStream stream names and the subjects they hold (DESIGN section 8). Every name carries the
//! deployment's subject prefix, so several deployments or tests can share one server.

/// One JetStream stream nexus reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// `FEEDS`: every market and scanner feed (`feeds.>`).
    Feeds,
    /// `EXEC`: fills of our own orders (`exec.fills.>`).
    Exec,
    /// `CONTROL`: parameter changes and halts (`control.>`).
    Control,
    /// `ORDERS`: our order intents (`exec.orders.>`), written by the order dispatcher.
    Orders,
}

impl Stream {
    /// The streams a durable worker reads, in the order it breaks ties between equal times.
    pub const INPUTS: [Stream; 3] = [Stream::Control, Stream::Exec, Stream::Feeds];

    /// The name without the prefix.
    pub fn base_name(self) -> &'static str {
        match self {
            Stream::Feeds => "FEEDS",
            Stream::Exec => "EXEC",
            Stream::Control => "CONTROL",
            Stream::Orders => "ORDERS",
        }
    }

    /// The subject filter without the prefix.
    pub fn subjects(self) -> &'static str {
        match self {
            Stream::Feeds => "feeds.>",
            Stream::Exec => "exec.fills.>",
            Stream::Control => "control.>",
            Stream::Orders => "exec.orders.>",
        }
    }

    /// The stream's name under `prefix`: the prefix's letters and digits upper-cased, anything else
    /// as `_`, then the base name (`t42.` gives `T42_FEEDS`; no prefix gives `FEEDS`).
    pub fn name(self, prefix: &str) -> String {
        let mut name: String =
            prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        name.push_str(self.base_name());
        name
    }

    /// The stream's subject filter under `prefix`.
    pub fn subject_filter(self, prefix: &str) -> String {
        format!("{prefix}{}", self.subjects())
    }
}

#[cfg(test)]
mod tests {
    use super::Stream;

    #[test]
    fn names_carry_the_prefix() {
        assert_eq!(Stream::Feeds.name(""), "FEEDS");
        assert_eq!(Stream::Orders.name("t42."), "T42_ORDERS");
        assert_eq!(Stream::Exec.subject_filter("t42."), "t42.exec.fills.>");
    }
}
