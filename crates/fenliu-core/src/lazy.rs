//! A part of a shop that many shops never touch, kept out of line and
//! allocated on first write.
//!
//! A node holds every shop it serves in memory, most of them idle: an idle
//! shop has no orders, no queue, no rules and no figures, yet each of those
//! costs its maps' and vectors' headers inline (issue 9: an idle live shop
//! under 2 KiB). [`Lazy<T>`] is one pointer until something mutates it, and
//! reads as `T::default()` meanwhile, so code using it does not change:
//! reads and writes go through `Deref` and `DerefMut`, and behaviour is the
//! one of a plain `T`.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A `T` that reads as `T::default()` until it is first borrowed mutably,
/// and only then is allocated.
#[derive(Clone, Default)]
pub(crate) struct Lazy<T>(Option<Box<T>>);

/// A type whose default value can be shared: what a [`Lazy`] reads as
/// before it is allocated.
pub(crate) trait Empty: Default + 'static {
    /// `Self::default()`, built once per process.
    fn empty() -> &'static Self;
}

/// Implements [`Empty`] for each type, with a shared default built on first
/// use.
macro_rules! empty {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::lazy::Empty for $t {
            fn empty() -> &'static Self {
                static EMPTY: std::sync::LazyLock<$t> = std::sync::LazyLock::new(<$t>::default);
                &EMPTY
            }
        })*
    };
}
pub(crate) use empty;

impl<T> Lazy<T> {
    /// `value`, allocated unless `is_default` says it is the default value
    /// (a part rebuilt empty stays unallocated).
    pub(crate) fn of(value: T, is_default: bool) -> Self {
        Self((!is_default).then(|| Box::new(value)))
    }

    /// Whether it was allocated.
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

impl<T: Default> Lazy<T> {
    /// The value, leaving the default in its place: an allocated part keeps
    /// its allocation for the next use, an unallocated one stays so.
    pub(crate) fn take(&mut self) -> T {
        self.0
            .as_deref_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The value to change, if it is allocated or `needed`: a change that
    /// leaves the default value as it is (an empty index rebuilt from
    /// nothing) allocates nothing.
    pub(crate) fn get_mut_if(&mut self, needed: bool) -> Option<&mut T> {
        if needed {
            Some(self.0.get_or_insert_with(Box::default))
        } else {
            self.0.as_deref_mut()
        }
    }
}

impl<T: Empty> Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self.0.as_deref() {
            Some(value) => value,
            None => T::empty(),
        }
    }
}

impl<T: Empty> DerefMut for Lazy<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Empty + fmt::Debug> fmt::Debug for Lazy<T> {
    /// As the `T` it reads as: allocated or not does not show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<'a, T: Empty> IntoIterator for &'a Lazy<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        (**self).into_iter()
    }
}

/// Going through the items to change them allocates nothing when there are
/// none.
impl<'a, T: Empty> IntoIterator for &'a mut Lazy<T>
where
    &'a mut T: IntoIterator,
{
    type Item = <&'a mut T as IntoIterator>::Item;
    type IntoIter = std::iter::Flatten<std::option::IntoIter<&'a mut T>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.as_deref_mut().into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    empty!(BTreeMap<u32, u32>);

    #[test]
    fn a_lazy_value_reads_as_the_default_until_written_and_then_as_written() {
        let mut lazy: Lazy<BTreeMap<u32, u32>> = Lazy::default();
        assert!(lazy.is_empty());
        assert!(lazy.0.is_none(), "a read allocates nothing");
        lazy.insert(1, 2);
        assert_eq!(lazy.get(&1), Some(&2));
        assert_eq!(format!("{lazy:?}"), "{1: 2}");
        assert_eq!((&lazy).into_iter().count(), 1);
    }
}
