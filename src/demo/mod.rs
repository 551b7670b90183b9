//! `callcsv demo`: a realistic demo tenant to look at on the first day. The pure part is
//! here — what the tenant holds ([`world`]), the destination table ([`destinations`]),
//! the rating plans ([`plans`]) and the shape of its calls ([`calls`]), all seeded so
//! every run makes the same tenant. [`load`] creates it through the service's own
//! operations and call ingestion.

pub mod calls;
pub mod destinations;
pub mod load;
pub mod plans;
pub mod world;

/// The seed of the demo's random choices: the same tenant and calls at every run.
pub const SEED: u64 = 0x0ca1_1c5d_de30;
