//! Billable calls: turning posted rows (JSON or CSV) into stored, rated calls.
//! `input` parses bodies into raw rows, `directory` is the brand's tenancy as ingestion
//! needs it (with inbound DDI provider detection), `rater` finds the plans in force and
//! prices calls, and `ingest` ties them together row by row.

pub mod directory;
pub mod ingest;
pub mod input;
pub mod rater;
pub mod rerate;
