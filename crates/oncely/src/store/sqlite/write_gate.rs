//! One writer at a time per database file in this process.
//!
//! SQLite lets one connection write at a time; a second waits in its busy
//! handler, which sleeps in growing steps (milliseconds each). Writers of
//! this process queue on an async mutex instead, shared by every handle
//! opened on the same file (several clients, or an app's own handle beside
//! oncely's), so they hand the lock over without sleeping. Other processes
//! still meet the busy handler.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The gate of one database file.
pub(super) type Gate = Arc<tokio::sync::Mutex<()>>;

/// The gates of the files open in this process, by canonical path.
static GATES: OnceLock<Mutex<HashMap<PathBuf, Weak<tokio::sync::Mutex<()>>>>> = OnceLock::new();

/// The gate shared by every handle on the file at `path` (which exists).
/// A path that cannot be resolved gets a gate of its own.
pub(super) fn for_file(path: &Path) -> Gate {
    let Ok(key) = std::fs::canonicalize(path) else {
        return Gate::default();
    };
    let mut gates = GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    gates.retain(|_, gate| gate.strong_count() > 0);
    if let Some(gate) = gates.get(&key).and_then(Weak::upgrade) {
        return gate;
    }
    let gate = Gate::default();
    gates.insert(key, Arc::downgrade(&gate));
    gate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_on_one_file_share_a_gate() {
        let dir = std::env::temp_dir().join(format!("oncely-gate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (a, b) = (dir.join("a.db"), dir.join("b.db"));
        std::fs::write(&a, b"").expect("a");
        std::fs::write(&b, b"").expect("b");
        let first = for_file(&a);
        let again = for_file(&dir.join(".").join("a.db"));
        let other = for_file(&b);
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        drop((first, again, other));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
