//! Built-in job kinds.

pub mod command;
