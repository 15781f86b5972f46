//! # nexus
//!
//! The `nexus` binary's library: it wires sources, dataflows and sinks into runnable commands.
//!
//! - [`pipeline`]: the dataflow graph of one worker and the handles that feed it.
//! - [`worker`]: the loop of one timely worker (feed -> decode -> inputs -> step -> frontier).
//! - [`replay`]: `nexus replay`, the deterministic, as-fast-as-possible run over a recording.
//! - [`demo`]: `nexus demo`, the simulator driving the pipeline in-process with a live view.
//! - [`run`]: `nexus run`, the long-running worker on NATS and PostgreSQL.
//! - [`publish`] and [`record`]: recordings into and out of NATS; [`simulate`]: the simulator into NATS.
//! - [`admin`]: `nexus migrate` and `nexus validate`.
//! - [`error_chain`]: an error and its causes on one line, for logs and messages.
//! - [`progress`]: the terminal progress bar; [`introspection`]: arrangement sizes and operator times
//!   from timely's and differential's logs (`nexus replay --arrangement-sizes`, `--operator-times`).
//!
//! Domain types live in `nexus-model`, operators in `nexus-operators`, dataflows in
//! `nexus-dataflows`, input handling in `nexus-sources` and outputs in `nexus-sinks`.

pub mod admin;
pub mod demo;
pub mod error_chain;
pub mod introspection;
pub mod pipeline;
pub mod progress;
pub mod publish;
pub mod record;
pub mod replay;
pub mod run;
pub mod simulate;
pub mod worker;
