//! `verify`: checks "once and only once" from the outside, for applications'
//! own chaos tests and audits. Give it the items that should each have had
//! their effect once (invoice ids, say), the effects an outside system
//! recorded (one entry per charge), and the items oncely reports in doubt; it
//! says which were done twice, which were lost, and which effects nobody asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;

use serde::Serialize;

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict<K: Ord> {
    /// Items expected.
    pub expected: usize,
    /// Items whose effect happened exactly once.
    pub once: usize,
    /// Items whose effect happened more than once, with how many times.
    pub duplicated: BTreeMap<K, usize>,
    /// Effects beyond the first of each item.
    pub extra_effects: usize,
    /// Items with no effect that are not in doubt either: lost.
    pub lost: BTreeSet<K>,
    /// Items with no effect that are in doubt (visible, waiting for a decision).
    pub in_doubt_without_effect: BTreeSet<K>,
    /// Effects for items nobody expected.
    pub unexpected: BTreeSet<K>,
}

impl<K: Ord> Verdict<K> {
    /// True when nothing happened twice, nothing was lost, nothing unexpected happened.
    pub fn holds(&self) -> bool {
        self.duplicated.is_empty() && self.lost.is_empty() && self.unexpected.is_empty()
    }
}

/// Compares what should have happened once with what happened.
pub fn verify<K, E, F, D>(expected: E, effects: F, in_doubt: D) -> Verdict<K>
where
    K: Ord + Hash + Clone,
    E: IntoIterator<Item = K>,
    F: IntoIterator<Item = K>,
    D: IntoIterator<Item = K>,
{
    let expected: BTreeSet<K> = expected.into_iter().collect();
    let doubt: BTreeSet<K> = in_doubt.into_iter().collect();
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for effect in effects {
        *counts.entry(effect).or_default() += 1;
    }
    let mut verdict = Verdict {
        expected: expected.len(),
        once: 0,
        duplicated: BTreeMap::new(),
        extra_effects: 0,
        lost: BTreeSet::new(),
        in_doubt_without_effect: BTreeSet::new(),
        unexpected: BTreeSet::new(),
    };
    for item in &expected {
        match counts.get(item).copied().unwrap_or(0) {
            0 if doubt.contains(item) => {
                verdict.in_doubt_without_effect.insert(item.clone());
            }
            0 => {
                verdict.lost.insert(item.clone());
            }
            1 => verdict.once += 1,
            n => {
                verdict.duplicated.insert(item.clone(), n);
                verdict.extra_effects += n - 1;
            }
        }
    }
    verdict.unexpected = counts
        .keys()
        .filter(|k| !expected.contains(*k))
        .cloned()
        .collect();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_losses_and_strangers() {
        let v = verify(1..=5, [1, 2, 2, 2, 4, 9], [5]);
        assert_eq!(v.expected, 5);
        assert_eq!(v.once, 2);
        assert_eq!(v.duplicated, BTreeMap::from([(2, 3)]));
        assert_eq!(v.extra_effects, 2);
        assert_eq!(v.lost, BTreeSet::from([3]));
        assert_eq!(v.in_doubt_without_effect, BTreeSet::from([5]));
        assert_eq!(v.unexpected, BTreeSet::from([9]));
        assert!(!v.holds());
        assert!(verify(1..=3, [3, 1, 2], []).holds());
        assert!(verify(1..=2, [1], [2]).holds(), "in doubt is not lost");
    }
}
