//! Tells the test suite whether PostgreSQL is there to run against: with
//! `CALLCSV_TEST_PG_URL` unset at build time, the PostgreSQL variants of the tests are
//! marked `ignored` (so `cargo test` counts them as such instead of as passed).
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CALLCSV_TEST_PG_URL");
    println!("cargo::rustc-check-cfg=cfg(callcsv_pg_tests)");
    if std::env::var("CALLCSV_TEST_PG_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=callcsv_pg_tests");
    }
}
