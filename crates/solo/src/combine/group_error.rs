//! What a failed [`TaskGroup`](crate::TaskGroup) reports: every failure,
//! like asyncio's `ExceptionGroup`.
//!
//! Owns: `TaskGroupError` and `ChildError`, their accessors and wording.
//! Must not: decide when a group fails (that is `group`).

use std::fmt;

use crate::TaskError;

/// How one task of a [`TaskGroup`](crate::TaskGroup) (or the body given
/// to [`TaskGroup::run`](crate::TaskGroup::run)) failed.
///
/// ```
/// let e: solo::ChildError<&str> = solo::ChildError::Failed("no route");
/// assert_eq!(e.to_string(), "no route");
/// ```
#[non_exhaustive]
pub enum ChildError<E> {
    /// The task returned `Err(e)`.
    Failed(E),
    /// The task panicked: the error names it, and
    /// [`into_panic`](TaskError::into_panic) gives what `panic!` was given.
    Panicked(TaskError),
    /// A failure that an earlier [`join`](crate::TaskGroup::join) of the
    /// same group already returned. Errors are not `Clone` in general, so
    /// the first `join` to finish gets every failure by value; every other
    /// `join` (another task awaiting the same group, or a second `join`)
    /// still fails, with one of these in place of each failure.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<&str>::new();
    ///     g.spawn(async { Err::<(), _>("no route") });
    ///     assert_eq!(g.join().await.unwrap_err().into_failed(), Some("no route"));
    ///     let again = g.join().await.unwrap_err();
    ///     assert!(matches!(again.first(), solo::ChildError::ReportedToEarlierJoin));
    /// });
    /// ```
    ReportedToEarlierJoin,
}

impl<E> ChildError<E> {
    /// The error the task returned, if it did not panic.
    ///
    /// ```
    /// assert_eq!(solo::ChildError::Failed(3).into_failed(), Some(3));
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            ChildError::Failed(e) => Some(e),
            ChildError::Panicked(_) | ChildError::ReportedToEarlierJoin => None,
        }
    }

    /// The panic message, if the task panicked with a string.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<()>::new();
    ///     g.spawn(async {
    ///         if true {
    ///             panic!("boom");
    ///         }
    ///         Ok(())
    ///     });
    ///     let err = g.join().await.unwrap_err();
    ///     assert_eq!(err.first().panic_message(), Some("boom"));
    /// });
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ChildError::Failed(_) | ChildError::ReportedToEarlierJoin => None,
            ChildError::Panicked(e) => e.panic_message(),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            ChildError::Panicked(e) => f.debug_tuple("Panicked").field(e).finish(),
            ChildError::ReportedToEarlierJoin => f.write_str("ReportedToEarlierJoin"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Failed(e) => e.fmt(f),
            ChildError::Panicked(e) => write!(
                f,
                "a task panicked: {}",
                e.panic_message().unwrap_or("<non-string panic payload>")
            ),
            ChildError::ReportedToEarlierJoin => {
                f.write_str("the failure was returned by an earlier join of this group")
            }
        }
    }
}

/// Why a [`TaskGroup`](crate::TaskGroup) failed: every task that returned
/// `Err` or panicked before the group cancelled the rest, in the order
/// they failed (asyncio's `ExceptionGroup`). Never empty. Only the first
/// [`join`](crate::TaskGroup::join) of a group gets the failures by value;
/// later ones get [`ChildError::ReportedToEarlierJoin`] in their place.
///
/// ```
/// solo::run(async {
///     let g = solo::TaskGroup::<String>::new();
///     g.spawn(async { Err::<(), _>("a".to_string()) });
///     g.spawn(async { Err::<(), _>("b".to_string()) });
///     let err = g.join().await.unwrap_err();
///     assert_eq!(err.len(), 2); // both failed in the same turn: both reported
///     assert_eq!(err.to_string(), "task group failed: a (and 1 more)");
///     let all: Vec<_> = err.into_errors().into_iter().filter_map(|e| e.into_failed()).collect();
///     assert_eq!(all, ["a", "b"]);
/// });
/// ```
pub struct TaskGroupError<E> {
    errors: Vec<ChildError<E>>,
}

impl<E> TaskGroupError<E> {
    pub(crate) fn new(errors: Vec<ChildError<E>>) -> Self {
        debug_assert!(!errors.is_empty());
        TaskGroupError { errors }
    }

    /// Every failure, in the order they happened.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<u8>::new();
    ///     g.spawn(async { Err::<(), _>(1) });
    ///     assert!(matches!(g.join().await.unwrap_err().errors(), [solo::ChildError::Failed(1)]));
    /// });
    /// ```
    pub fn errors(&self) -> &[ChildError<E>] {
        &self.errors
    }

    /// Every failure, in the order they happened, by value.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<u8>::new();
    ///     g.spawn(async { Err::<(), _>(1) });
    ///     assert_eq!(g.join().await.unwrap_err().into_errors().len(), 1);
    /// });
    /// ```
    pub fn into_errors(self) -> Vec<ChildError<E>> {
        self.errors
    }

    /// The first failure.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<u8>::new();
    ///     g.spawn(async { Err::<(), _>(1) });
    ///     assert!(matches!(g.join().await.unwrap_err().first(), solo::ChildError::Failed(1)));
    /// });
    /// ```
    pub fn first(&self) -> &ChildError<E> {
        &self.errors[0]
    }

    /// How many tasks failed (at least one).
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<u8>::new();
    ///     g.spawn(async { Err::<(), _>(1) });
    ///     assert_eq!(g.join().await.unwrap_err().len(), 1);
    /// });
    /// ```
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The error the first failing task returned, if it did not panic.
    ///
    /// ```
    /// solo::run(async {
    ///     let g = solo::TaskGroup::<&str>::new();
    ///     g.spawn(async { Err::<(), _>("no route") });
    ///     assert_eq!(g.join().await.unwrap_err().into_failed(), Some("no route"));
    /// });
    /// ```
    pub fn into_failed(self) -> Option<E> {
        self.errors
            .into_iter()
            .next()
            .and_then(ChildError::into_failed)
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskGroupError").field(&self.errors).finish()
    }
}

impl<E: fmt::Display> fmt::Display for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task group failed: {}", self.errors[0])?;
        if self.errors.len() > 1 {
            write!(f, " (and {} more)", self.errors.len() - 1)?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskGroupError<E> {
    /// The first failure's panic, if it was one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.errors[0] {
            ChildError::Failed(_) | ChildError::ReportedToEarlierJoin => None,
            ChildError::Panicked(e) => Some(e),
        }
    }
}
