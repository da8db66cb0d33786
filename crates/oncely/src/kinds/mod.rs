//! Built-in job kinds.

pub mod command;
mod parent_death;
