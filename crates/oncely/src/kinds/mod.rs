//! Built-in job kinds.

pub mod allowed;
pub mod command;
mod parent_death;
