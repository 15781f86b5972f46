//! # nexus-sources
//!
//! Everything between raw bytes and typed inputs. Nothing here knows about dataflows.
//!
//! - [`message`]: a message as it enters the system (subject, payload, logical time, sequence).
//! - [`decode`]: one decoder per subject family of DESIGN section 4; every bad input becomes a
//!   [`Rejected`](nexus_model::records::Rejected) record with a reason, never a panic.
//! - [`recording`]: the JSON-lines recording format (optionally zstd), read line by line; an
//!   unreadable line is a rejection, not the end of the file.
//! - [`nats`]: connections (TLS, credentials from the environment), the core-NATS subscriber, and
//!   the rounds both NATS sources feed the workers in.
//! - [`jetstream`]: the durable source of `nexus run`: three streams replayed from the committed
//!   frontier, merged by time.
//! - [`paper`]: the paper venue that fills our orders at book prices (`nexus paper-venue`, the demo).
//! - [`simulator`]: the deterministic four-venue market behind `nexus demo`.
//! - [`bridge`]: logical time stamping (late messages clamped and counted), routing of messages to
//!   timely workers over bounded channels, and the recording feeder used by `nexus replay`.

pub mod bridge;
pub mod decode;
pub mod jetstream;
pub mod message;
pub mod nats;
pub mod paper;
pub mod recording;
pub mod simulator;
