//! # nexus-dataflows
//!
//! One module per dataflow of DESIGN section 5, each a function from differential collections to
//! differential collections. Nothing here knows about NATS, PostgreSQL or files: the dataflows are
//! fed collections directly, which is also how their oracle tests drive them.
//!
//! - [`reconcile`]: exchange and scanner funding rates -> `snapshots`, `discrepancies` (DESIGN 5.1),
//!   with [`reconcile::oracle`], the from-scratch recomputation the tests compare against.
//! - [`opportunities`]: snapshots and books -> scored `opportunities` and `ranked` (DESIGN 5.2), with
//!   [`opportunities::oracle`].
//! - [`var`]: fills and reference prices -> `positions`, rolling `var` and `stress` per account
//!   (DESIGN 5.3), with [`var::oracle`].
//! - [`risk_gate`]: opportunities, VaR, halts and alerts -> `decisions` and two-legged `orders`
//!   (DESIGN 5.5), with [`risk_gate::oracle`].
//! - [`surveillance`]: order events and trades -> manipulation `alerts` (DESIGN 5.4), with
//!   [`surveillance::oracle`].

pub mod opportunities;
pub mod reconcile;
pub mod risk_gate;
pub mod surveillance;
pub mod var;

/// Logical time of every dataflow (microseconds).
pub type Time = nexus_model::LogicalTime;
