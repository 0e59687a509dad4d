//! Why a task has no value: [`TaskError`].
//!
//! Owns: the error type and its panic payload. Must not: grow the task
//! cell — the error is one pointer, so a `Result<(), TaskError>` output is
//! as small as a pointer.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

use super::TaskId;

/// Why a task has no value: it was cancelled, or it panicked (asyncio's
/// `CancelledError` and "the task's exception").
///
/// `TaskError` is `Send + Sync + 'static`, so `?` turns it into
/// `anyhow::Error` or `Box<dyn Error + Send + Sync>`. Its `Display` names
/// the task.
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(std::future::pending::<()>());
///     t.set_name("fetcher");
///     t.cancel();
///     let err = t.await.unwrap_err();
///     assert!(err.is_cancelled());
///     assert_eq!(err.to_string(), format!("task 'fetcher' (id {}) was cancelled", err.id()));
/// });
/// ```
pub struct TaskError {
    inner: Box<Inner>,
}

struct Inner {
    id: TaskId,
    name: Option<Box<str>>,
    kind: Kind,
}

enum Kind {
    Cancelled,
    Panicked {
        /// The payload's text, if it is a string (read without the lock).
        message: Option<Box<str>>,
        /// A `Mutex` makes the error `Sync` while the payload is only
        /// `Send`; it is only ever locked to move the payload out.
        payload: Mutex<Box<dyn Any + Send + 'static>>,
    },
}

impl TaskError {
    pub(crate) fn cancelled(id: u64, name: Option<Box<str>>) -> TaskError {
        TaskError::new(id, name, Kind::Cancelled)
    }

    pub(crate) fn panicked(
        id: u64,
        name: Option<Box<str>>,
        payload: Box<dyn Any + Send + 'static>,
    ) -> TaskError {
        let message = payload_str(&*payload).map(Box::from);
        let payload = Mutex::new(payload);
        TaskError::new(id, name, Kind::Panicked { message, payload })
    }

    /// A panic caught inside the running task (by a combinator that keeps
    /// the task alive).
    pub(crate) fn panicked_in_current_task(payload: Box<dyn Any + Send + 'static>) -> TaskError {
        let (id, name) = match crate::current_task() {
            Some(info) => {
                let id = info.id().as_u64();
                let named = info.name() != format!("Task-{id}");
                (id, named.then(|| info.name().into()))
            }
            None => (0, None),
        };
        TaskError::panicked(id, name, payload)
    }

    fn new(id: u64, name: Option<Box<str>>, kind: Kind) -> TaskError {
        TaskError {
            inner: Box::new(Inner {
                id: TaskId(id),
                name,
                kind,
            }),
        }
    }

    /// True if the task was cancelled.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(std::future::pending::<()>());
    ///     t.cancel();
    ///     assert!(t.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.kind, Kind::Cancelled)
    }

    /// True if the task panicked.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async { panic!("boom") });
    ///     assert!(t.await.unwrap_err().is_panic());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.kind, Kind::Panicked { .. })
    }

    /// The id of the task that failed.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async { panic!("boom") });
    ///     let id = t.id();
    ///     assert_eq!(t.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// The panic payload, for `std::panic::resume_unwind`.
    ///
    /// Panics if the task was cancelled; see
    /// [`try_into_panic`](TaskError::try_into_panic).
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async { std::panic::panic_any(7u32) });
    ///     let payload = t.await.unwrap_err().into_panic();
    ///     assert_eq!(*payload.downcast::<u32>().unwrap(), 7);
    /// });
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("TaskError::into_panic on a cancelled task")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async { panic!("boom") });
    ///     let payload = t.await.unwrap_err().try_into_panic().ok().unwrap();
    ///     assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.inner.kind {
            Kind::Panicked { .. } => {
                let Kind::Panicked { payload, .. } = self.inner.kind else {
                    unreachable!()
                };
                Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner()))
            }
            Kind::Cancelled => Err(self),
        }
    }

    /// The panic message, if the task panicked with a string.
    ///
    /// ```
    /// solo::run(async {
    ///     let t = solo::spawn(async { panic!("bad input") });
    ///     assert_eq!(t.await.unwrap_err().panic_message(), Some("bad input"));
    /// });
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Panicked { message, .. } => message.as_deref(),
            Kind::Cancelled => None,
        }
    }

    fn describe_task(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.name {
            Some(name) => write!(f, "task '{name}' (id {})", self.inner.id),
            None => write!(f, "task {}", self.inner.id),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TaskError");
        d.field("id", &self.inner.id);
        if let Some(name) = &self.inner.name {
            d.field("name", name);
        }
        match &self.inner.kind {
            Kind::Cancelled => d.field("cancelled", &true),
            Kind::Panicked { message, .. } => d.field(
                "panic",
                &message.as_deref().unwrap_or("<non-string panic payload>"),
            ),
        };
        d.finish()
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe_task(f)?;
        match &self.inner.kind {
            Kind::Cancelled => f.write_str(" was cancelled"),
            Kind::Panicked { message, .. } => write!(
                f,
                " panicked: {}",
                message.as_deref().unwrap_or("<non-string panic payload>")
            ),
        }
    }
}

impl std::error::Error for TaskError {}

fn payload_str(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

/// A readable message for a panic payload.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> &str {
    payload_str(p).unwrap_or("<non-string panic payload>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn is_send_sync_and_one_pointer() {
        assert_send_sync::<TaskError>();
        assert_eq!(
            std::mem::size_of::<Result<(), TaskError>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn display_names_the_task() {
        let e = TaskError::cancelled(3, None);
        assert_eq!(e.to_string(), "task 3 was cancelled");
        let e = TaskError::panicked(4, Some("fetcher".into()), Box::new("boom"));
        assert_eq!(e.to_string(), "task 'fetcher' (id 4) panicked: boom");
        assert_eq!(
            format!("{e:?}"),
            r#"TaskError { id: TaskId(4), name: "fetcher", panic: "boom" }"#
        );
        let e = TaskError::panicked(5, None, Box::new(1u8));
        assert_eq!(e.to_string(), "task 5 panicked: <non-string panic payload>");
        assert_eq!(e.panic_message(), None);
    }

    #[test]
    fn payload_round_trips() {
        let e = TaskError::panicked(1, None, Box::new(String::from("x")));
        assert_eq!(*e.into_panic().downcast::<String>().unwrap(), "x");
        let e = TaskError::cancelled(1, None);
        let e = e.try_into_panic().unwrap_err();
        assert!(e.is_cancelled() && !e.is_panic());
    }
}
