//! `#[solo::main]` and `#[solo::test]`.
