//! The `oncely` binary as real OS processes: draining, kill -9, SIGTERM,
//! clock skew, a host partitioned from the database (network namespaces),
//! and bad input at the command line.

#[path = "processes/bad_input.rs"]
mod bad_input;
#[path = "processes/console.rs"]
mod console;
#[path = "processes/crashes.rs"]
mod crashes;
#[path = "processes/dashboard.rs"]
mod dashboard;
#[path = "processes/drain.rs"]
mod drain;
#[path = "processes/effects.rs"]
mod effects;
#[path = "processes/logs.rs"]
mod logs;
#[path = "processes/mariadb.rs"]
mod mariadb;
#[path = "processes/operator.rs"]
mod operator;
#[path = "processes/partition.rs"]
mod partition;
#[path = "processes/periodic.rs"]
mod periodic;
#[path = "processes/programs.rs"]
mod programs;
#[path = "processes/support.rs"]
mod support;
