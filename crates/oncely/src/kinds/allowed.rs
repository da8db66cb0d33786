//! Which programs a worker's `command` jobs may run: the worker's own
//! configuration decides, never the job row (anyone who can write to the
//! database can enqueue a job, through the library, the CLI or the SQL API).
//!
//! Invariants: with an allow list, a program is checked as the absolute path
//! the worker would execute — a bare name is looked up in the worker's `PATH`
//! first, a path must be absolute and free of `.` and `..` components — and
//! the worker executes exactly the path it checked. Patterns are absolute
//! globs (`*` never crosses a `/`; `**` does). Nothing is allowed unless a
//! pattern names it or the worker allows any program explicitly.

use std::path::{Component, Path, PathBuf};

use crate::error::ValidationError;

/// The programs a [`super::command::CommandWorker`] may run.
#[derive(Debug, Clone)]
pub enum AllowedPrograms {
    /// Every program a job names (`oncely worker --allow-any-program`): for
    /// databases only trusted parties can write to.
    Any,
    /// Only programs matching one of these patterns (empty: none).
    Only(Vec<ProgramPattern>),
}

/// One allowed program: an absolute path, or an absolute glob.
#[derive(Debug, Clone)]
pub struct ProgramPattern {
    text: String,
    pattern: glob::Pattern,
}

/// Why a program may not run for a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The worker's configuration does not allow it: the job must never run
    /// here.
    #[error("program {program:?} is not allowed on this worker ({why}); a worker runs only the programs its own configuration allows (`oncely worker --allow-program`)")]
    NotAllowed {
        /// The program as the job names it.
        program: String,
        /// What the check found.
        why: String,
    },
    /// A bare program name is not on this worker's `PATH`.
    #[error("program {0:?} was not found on this worker's PATH")]
    NotFound(String),
}

const MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl ProgramPattern {
    /// Parses an allowed program: an absolute path or glob
    /// (`/usr/bin/pg_dump`, `/opt/billing/bin/*`, `/opt/tools/**`).
    pub fn new(text: &str) -> Result<Self, ValidationError> {
        let bad = |why: &str| ValidationError::Args(format!("allowed program {text:?}: {why}"));
        if !text.starts_with('/') {
            return Err(bad("must be an absolute path or glob, starting with /"));
        }
        if Path::new(text)
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        {
            return Err(bad("must not contain . or .. components"));
        }
        let pattern = glob::Pattern::new(text).map_err(|e| bad(&e.to_string()))?;
        Ok(ProgramPattern {
            text: text.to_owned(),
            pattern,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn matches(&self, path: &Path) -> bool {
        self.pattern.matches_path_with(path, MATCH)
    }
}

impl AllowedPrograms {
    /// No program at all.
    pub fn none() -> Self {
        AllowedPrograms::Only(Vec::new())
    }

    /// Only the programs matching `patterns` (see [`ProgramPattern::new`]).
    pub fn only<S: AsRef<str>>(
        patterns: impl IntoIterator<Item = S>,
    ) -> Result<Self, ValidationError> {
        patterns
            .into_iter()
            .map(|p| ProgramPattern::new(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(AllowedPrograms::Only)
    }

    /// Whether no program is allowed.
    pub fn is_none(&self) -> bool {
        matches!(self, AllowedPrograms::Only(list) if list.is_empty())
    }

    /// The path to execute for `program` as a job names it, if this worker
    /// allows it.
    pub fn resolve(&self, program: &str) -> Result<PathBuf, Refusal> {
        let list = match self {
            AllowedPrograms::Any => return Ok(PathBuf::from(program)),
            AllowedPrograms::Only(list) => list,
        };
        let refuse = |why: String| Refusal::NotAllowed {
            program: program.to_owned(),
            why,
        };
        let path = if program.contains('/') {
            let path = PathBuf::from(program);
            if !path.is_absolute() {
                return Err(refuse("a path must be absolute".into()));
            }
            if path
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
            {
                return Err(refuse("a path must not contain . or ..".into()));
            }
            path
        } else {
            find_on_path(program).ok_or_else(|| Refusal::NotFound(program.to_owned()))?
        };
        if list.iter().any(|p| p.matches(&path)) {
            Ok(path)
        } else if list.is_empty() {
            Err(refuse("this worker allows no programs".into()))
        } else {
            let allowed: Vec<&str> = list.iter().map(ProgramPattern::as_str).collect();
            Err(refuse(format!(
                "{} matches none of {}",
                path.display(),
                allowed.join(", ")
            )))
        }
    }
}

impl std::fmt::Display for AllowedPrograms {
    /// `any program`, `no program`, or the patterns separated by commas.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllowedPrograms::Any => f.write_str("any program"),
            AllowedPrograms::Only(list) if list.is_empty() => f.write_str("no program"),
            AllowedPrograms::Only(list) => {
                let texts: Vec<&str> = list.iter().map(ProgramPattern::as_str).collect();
                f.write_str(&texts.join(", "))
            }
        }
    }
}

/// The first executable file named `name` in the directories of `PATH`
/// (absolute ones only: a relative `PATH` entry would depend on the working
/// directory).
fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(patterns: &[&str]) -> AllowedPrograms {
        AllowedPrograms::only(patterns).expect("valid patterns")
    }

    #[test]
    fn exact_paths_and_globs_allow_what_they_name() {
        let allowed = only(&["/usr/bin/env", "/opt/billing/bin/*", "/opt/tools/**"]);
        assert_eq!(
            allowed.resolve("/usr/bin/env"),
            Ok(PathBuf::from("/usr/bin/env"))
        );
        assert!(allowed.resolve("/opt/billing/bin/charge").is_ok());
        assert!(allowed.resolve("/opt/tools/a/b/c").is_ok());
        // `*` does not cross a directory.
        assert!(matches!(
            allowed.resolve("/opt/billing/bin/sub/charge"),
            Err(Refusal::NotAllowed { .. })
        ));
        assert!(matches!(
            allowed.resolve("/bin/sh"),
            Err(Refusal::NotAllowed { .. })
        ));
    }

    #[test]
    fn paths_that_escape_a_pattern_are_refused() {
        let allowed = only(&["/opt/billing/bin/*"]);
        for sneaky in [
            "/opt/billing/bin/../../../bin/sh",
            "/opt/billing/bin/./charge",
            "opt/billing/bin/charge",
            "./charge",
        ] {
            assert!(
                matches!(allowed.resolve(sneaky), Err(Refusal::NotAllowed { .. })),
                "{sneaky} allowed"
            );
        }
    }

    #[test]
    fn a_bare_name_is_checked_as_the_path_found_on_path() {
        let sh = find_on_path("sh").expect("sh on PATH");
        let allowed = only(&[sh.to_str().expect("utf-8 path")]);
        assert_eq!(allowed.resolve("sh"), Ok(sh));
        assert!(matches!(
            only(&["/nowhere/*"]).resolve("sh"),
            Err(Refusal::NotAllowed { .. })
        ));
        assert!(matches!(
            allowed.resolve("surely-no-such-program-here"),
            Err(Refusal::NotFound(_))
        ));
    }

    #[test]
    fn nothing_is_allowed_by_default_and_any_is_explicit() {
        assert!(AllowedPrograms::none().is_none());
        assert!(matches!(
            AllowedPrograms::none().resolve("/bin/true"),
            Err(Refusal::NotAllowed { .. })
        ));
        assert_eq!(
            AllowedPrograms::Any.resolve("./x"),
            Ok(PathBuf::from("./x"))
        );
    }

    #[test]
    fn patterns_must_be_absolute_and_well_formed() {
        for bad in ["bin/*", "", "/opt/[", "/opt/../bin/*"] {
            assert!(ProgramPattern::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
