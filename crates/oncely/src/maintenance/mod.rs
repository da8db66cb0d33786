//! Maintenance services that keep the jobs table healthy. Each is a small
//! struct with a validated config, `run(stop)` and a `run_once()` that tests
//! call directly.

pub mod rescuer;
