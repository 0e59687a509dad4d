//! One value, sent once, from one task to another (an asyncio `Future`
//! that one side resolves and the other awaits).
//!
//! Owns: [`channel`], [`Sender`], [`Receiver`] and [`RecvError`]. Both
//! halves share one `Rc`; there is one waiter at most (the receiver), so a
//! `Cell` holding its waker is all the waiting machinery.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll, Waker};

use crate::coop::poll_proceed;

struct Shared<T> {
    value: Cell<Option<T>>,
    rx_waker: Cell<Option<Waker>>,
    /// The sender is gone: sent, or dropped without sending.
    tx_gone: Cell<bool>,
    /// The receiver is dropped or closed: sending fails.
    rx_closed: Cell<bool>,
}

/// Makes a one-shot channel: [`Sender::send`] one value, await the
/// [`Receiver`] for it.
///
/// ```
/// solo::run(async {
///     let (tx, rx) = solo::sync::oneshot::channel();
///     solo::spawn(async move { tx.send("done").unwrap() });
///     assert_eq!(rx.await, Ok("done"));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        value: Cell::new(None),
        rx_waker: Cell::new(None),
        tx_gone: Cell::new(false),
        rx_closed: Cell::new(false),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half of a [`channel`]. Dropping it without sending makes
/// the receiver fail with [`RecvError`].
///
/// ```
/// let (tx, rx) = solo::sync::oneshot::channel::<u8>();
/// drop(rx);
/// assert!(tx.is_closed());
/// ```
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, or gives it back if the receiver is gone (dropped or
    /// [closed](Receiver::close)).
    ///
    /// ```
    /// let (tx, rx) = solo::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        if self.shared.rx_closed.get() {
            return Err(value);
        }
        self.shared.value.set(Some(value));
        Ok(()) // dropping `self` wakes the receiver
    }

    /// True once the receiver is dropped or closed: a send would fail.
    ///
    /// ```
    /// let (tx, mut rx) = solo::sync::oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.rx_closed.get()
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.tx_gone.set(true);
        if let Some(w) = self.shared.rx_waker.take() {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a [`channel`]: a future of the value, or of
/// [`RecvError`] if the sender was dropped without sending.
///
/// ```
/// solo::run(async {
///     let (tx, rx) = solo::sync::oneshot::channel::<u8>();
///     drop(tx);
///     assert!(rx.await.is_err());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// ```
    /// use solo::sync::oneshot::{channel, TryRecvError};
    /// let (tx, mut rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.shared.value.take() {
            Some(v) => Ok(v),
            None if self.shared.tx_gone.get() => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses the value: later sends fail. A value already sent can
    /// still be received.
    ///
    /// ```
    /// let (tx, mut rx) = solo::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        self.shared.rx_closed.set(true);
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(poll_proceed(cx));
        let shared = &self.shared;
        match shared.value.take() {
            Some(v) => Poll::Ready(Ok(v)),
            None if shared.tx_gone.get() => Poll::Ready(Err(RecvError(()))),
            None => {
                shared.rx_waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.rx_closed.set(true);
        drop(self.shared.value.take());
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("sender_gone", &self.shared.tx_gone.get())
            .finish_non_exhaustive()
    }
}

/// The error of awaiting a [`Receiver`]: the sender was dropped without
/// sending.
///
/// ```
/// solo::run(async {
///     let (tx, rx) = solo::sync::oneshot::channel::<()>();
///     drop(tx);
///     let e: solo::sync::oneshot::RecvError = rx.await.unwrap_err();
///     assert_eq!(e.to_string(), "sender dropped without sending");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`].
///
/// ```
/// use solo::sync::oneshot::{channel, TryRecvError};
/// let (tx, mut rx) = channel::<u8>();
/// assert_eq!(rx.try_recv().unwrap_err().to_string(), "no value sent yet");
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is still there.
    Empty,
    /// The value was taken already, or the sender was dropped without
    /// sending.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "no value sent yet",
            TryRecvError::Closed => "sender dropped without sending, or value taken",
        })
    }
}

impl std::error::Error for TryRecvError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;

    #[test]
    fn send_wakes_the_receiver() {
        let (tx, rx) = channel();
        let mut rx = Probe::new(rx);
        rx.pending();
        assert!(!tx.is_closed());
        tx.send(String::from("v")).unwrap();
        assert_eq!(rx.wakes(), 1);
        assert_eq!(rx.ready().unwrap(), "v");
        assert_eq!(rx.ready(), Err(RecvError(())), "the value is taken");
    }

    #[test]
    fn dropped_sender_fails_the_receiver() {
        let (tx, rx) = channel::<u8>();
        let mut rx = Probe::new(rx);
        rx.pending();
        drop(tx);
        assert_eq!(rx.wakes(), 1);
        assert_eq!(rx.ready(), Err(RecvError(())));
    }

    #[test]
    fn closed_or_dropped_receiver_refuses_the_value() {
        let (tx, mut rx) = channel();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

        let (tx, rx) = channel();
        let v = std::rc::Rc::new(());
        tx.send(v.clone()).unwrap();
        drop(rx);
        assert_eq!(std::rc::Rc::strong_count(&v), 1, "value dropped with rx");
    }

    #[test]
    fn debug_output() {
        let (tx, rx) = channel::<u8>();
        assert_eq!(format!("{tx:?}"), "Sender { closed: false }");
        drop(tx);
        assert_eq!(format!("{rx:?}"), "Receiver { sender_gone: true, .. }");
    }
}
