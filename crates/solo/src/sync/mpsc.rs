//! Multi-producer, single-consumer channels: many [`Sender`]s, one
//! [`Receiver`].
//!
//! Owns: [`channel`] (bounded), [`unbounded`], the two halves and their
//! errors. Both halves share one `Rc`. A bounded channel's free places are
//! a [`Semaphore`], so blocked senders are served first come, first served
//! and a cancelled `send` gives its place back; the single receiver needs
//! no list, only a waker.
//!
//! Closing: the channel closes when the receiver is dropped or
//! [closed](Receiver::close) (sends fail from then on, and blocked senders
//! wake with [`SendError`]), and it ends for the receiver when every
//! sender is dropped: [`recv`](Receiver::recv) returns the items still
//! buffered, then `None`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll, Waker};

use futures_core::Stream;

use super::semaphore::Semaphore;
use crate::coop::poll_proceed;

struct Chan<T> {
    buffer: RefCell<VecDeque<T>>,
    /// Free places of a bounded channel; closed with the channel.
    slots: Option<Semaphore>,
    senders: Cell<usize>,
    closed: Cell<bool>,
    rx_waker: Cell<Option<Waker>>,
}

impl<T> Chan<T> {
    fn pair(slots: Option<Semaphore>) -> (Sender<T>, Receiver<T>) {
        let chan = Rc::new(Chan {
            buffer: RefCell::new(VecDeque::new()),
            slots,
            senders: Cell::new(1),
            closed: Cell::new(false),
            rx_waker: Cell::new(None),
        });
        (Sender { chan: chan.clone() }, Receiver { chan })
    }

    fn wake_receiver(&self) {
        if let Some(w) = self.rx_waker.take() {
            w.wake();
        }
    }

    fn close(&self) {
        self.closed.set(true);
        if let Some(slots) = &self.slots {
            slots.close();
        }
    }
}

/// A channel that holds at most `capacity` items: [`Sender::send`] waits
/// while it is full.
///
/// Panics if `capacity` is 0 (use [`unbounded`] for no limit).
///
/// ```
/// solo::run(async {
///     let (tx, mut rx) = solo::sync::mpsc::channel(8);
///     for i in 0..3 {
///         let tx = tx.clone();
///         solo::spawn(async move { tx.send(i).await.unwrap() });
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await { got.push(i); }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "solo::sync::mpsc::channel: capacity must be at least 1 (use mpsc::unbounded() for no limit)"
    );
    Chan::pair(Some(Semaphore::new(capacity)))
}

/// A channel with no limit: [`Sender::send`] never waits.
///
/// ```
/// solo::run(async {
///     let (tx, mut rx) = solo::sync::mpsc::unbounded();
///     for i in 0..1000 { tx.send(i).await.unwrap(); }
///     assert_eq!(rx.recv().await, Some(0));
/// });
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    Chan::pair(None)
}

/// A sending half; clone it for more producers. The receiver sees the end
/// once every clone is dropped.
///
/// ```
/// let (tx, rx) = solo::sync::mpsc::unbounded::<u8>();
/// let tx2 = tx.clone();
/// drop(rx);
/// assert!(tx2.is_closed());
/// ```
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free place if a bounded channel is
    /// full. Fails, giving `value` back, if the channel is closed. If the
    /// future is dropped while waiting, `value` is dropped with it.
    ///
    /// ```
    /// solo::run(async {
    ///     let (tx, rx) = solo::sync::mpsc::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     drop(rx);
    ///     assert_eq!(tx.send(2).await.unwrap_err().0, 2);
    /// });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let chan = &self.chan;
        let permit = match &chan.slots {
            Some(slots) => match slots.acquire().await {
                Ok(permit) => Some(permit),
                Err(_) => return Err(SendError(value)),
            },
            None => {
                poll_fn(poll_proceed).await;
                None
            }
        };
        if chan.closed.get() {
            return Err(SendError(value));
        }
        if let Some(p) = permit {
            p.forget();
        }
        chan.buffer.borrow_mut().push_back(value);
        chan.wake_receiver();
        Ok(())
    }

    /// Sends `value` if there is room now.
    ///
    /// ```
    /// use solo::sync::mpsc::{channel, TrySendError};
    /// let (tx, _rx) = channel(1);
    /// tx.try_send(1).unwrap();
    /// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let chan = &self.chan;
        if chan.closed.get() {
            return Err(TrySendError::Closed(value));
        }
        if let Some(slots) = &chan.slots {
            match slots.try_acquire() {
                Ok(p) => p.forget(),
                Err(_) => return Err(TrySendError::Full(value)),
            }
        }
        chan.buffer.borrow_mut().push_back(value);
        chan.wake_receiver();
        Ok(())
    }

    /// True once the receiver is dropped or closed.
    ///
    /// ```
    /// let (tx, mut rx) = solo::sync::mpsc::channel::<u8>(1);
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.closed.get()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.senders.set(self.chan.senders.get() + 1);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let left = self.chan.senders.get() - 1;
        self.chan.senders.set(left);
        if left == 0 {
            self.chan.wake_receiver();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// The receiving half. Also a [`Stream`] of the items.
///
/// ```
/// use futures::StreamExt;
/// solo::run(async {
///     let (tx, rx) = solo::sync::mpsc::unbounded();
///     tx.send(1).await.unwrap();
///     tx.send(2).await.unwrap();
///     drop(tx);
///     assert_eq!(rx.collect::<Vec<_>>().await, [1, 2]);
/// });
/// ```
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// The next item; `None` once the channel is empty and every sender is
    /// dropped (or the receiver was closed).
    ///
    /// ```
    /// solo::run(async {
    ///     let (tx, mut rx) = solo::sync::mpsc::channel(4);
    ///     tx.send("a").await.unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some("a"));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll-based [`recv`](Receiver::recv), for hand-written futures.
    ///
    /// ```
    /// solo::run(async {
    ///     let (tx, mut rx) = solo::sync::mpsc::unbounded();
    ///     tx.try_send(3).unwrap();
    ///     assert_eq!(std::future::poll_fn(|cx| rx.poll_recv(cx)).await, Some(3));
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        ready!(poll_proceed(cx));
        match self.take() {
            Ok(v) => Poll::Ready(Some(v)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => {
                self.chan.rx_waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }

    /// Takes an item if one is buffered, without waiting.
    ///
    /// ```
    /// use solo::sync::mpsc::{unbounded, TryRecvError};
    /// let (tx, mut rx) = unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.take()
    }

    fn take(&self) -> Result<T, TryRecvError> {
        let chan = &self.chan;
        let item = chan.buffer.borrow_mut().pop_front();
        match item {
            Some(v) => {
                if let Some(slots) = &chan.slots {
                    slots.add_permits(1);
                }
                Ok(v)
            }
            None if chan.senders.get() == 0 || chan.closed.get() => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: sends fail from now on (blocked ones too), and
    /// the items already buffered can still be received.
    ///
    /// ```
    /// solo::run(async {
    ///     let (tx, mut rx) = solo::sync::mpsc::unbounded();
    ///     tx.send(1).await.unwrap();
    ///     rx.close();
    ///     assert!(tx.send(2).await.is_err());
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close();
        // Dropped outside the borrow: an item may own a Sender of this
        // very channel.
        let items = std::mem::take(&mut *self.chan.buffer.borrow_mut());
        drop(items);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("buffered", &self.chan.buffer.borrow().len())
            .field("senders", &self.chan.senders.get())
            .finish_non_exhaustive()
    }
}

item_error! {
    /// The error of [`Sender::send`]: the channel is closed. Holds the
    /// value that was not sent.
    ///
    /// ```
    /// solo::run(async {
    ///     let (tx, rx) = solo::sync::mpsc::unbounded();
    ///     drop(rx);
    ///     let e: solo::sync::mpsc::SendError<&str> = tx.send("x").await.unwrap_err();
    ///     assert_eq!(e.0, "x");
    ///     assert_eq!(e.to_string(), "channel closed");
    /// });
    /// ```
    SendError, "channel closed"
}

/// The error of [`Sender::try_send`]. Holds the value that was not sent.
///
/// ```
/// use solo::sync::mpsc::{channel, TrySendError};
/// let (tx, rx) = channel(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2).unwrap_err().to_string(), "channel full");
/// drop(rx);
/// let e = tx.try_send(3).unwrap_err();
/// assert_eq!(e.to_string(), "channel closed");
/// assert_eq!(e.into_inner(), 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The bounded channel is full.
    Full(T),
    /// The receiver is dropped or closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let e = solo::sync::mpsc::TrySendError::Full(7);
    /// assert_eq!(e.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "channel full",
            TrySendError::Closed(_) => "channel closed",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The error of [`Receiver::try_recv`].
///
/// ```
/// let (tx, mut rx) = solo::sync::mpsc::unbounded::<()>();
/// assert_eq!(rx.try_recv().unwrap_err().to_string(), "channel empty");
/// drop(tx);
/// assert_eq!(rx.try_recv().unwrap_err().to_string(), "channel empty and disconnected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing buffered; senders remain.
    Empty,
    /// Nothing buffered, and every sender is dropped or the receiver was
    /// closed: nothing will come.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "channel empty",
            TryRecvError::Disconnected => "channel empty and disconnected",
        })
    }
}

impl std::error::Error for TryRecvError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;
    use futures::StreamExt;

    #[test]
    fn bounded_send_waits_for_room_in_order() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let mut a = Probe::new(tx.send(1));
        let mut b = Probe::new(tx.send(2));
        a.pending();
        b.pending();
        assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        a.ready().unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        b.ready().unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn recv_waits_and_wakes_on_send() {
        let (tx, mut rx) = unbounded();
        let mut recv = Probe::new(async move { (rx.recv().await, rx.recv().await) });
        recv.pending();
        tx.try_send("a").unwrap();
        assert_eq!(recv.wakes(), 1);
        recv.pending();
        drop(tx);
        assert_eq!(recv.wakes(), 2, "the last sender's drop wakes it");
        assert_eq!(recv.ready(), (Some("a"), None));
    }

    #[test]
    fn close_fails_blocked_senders_and_keeps_buffered_items() {
        let (tx, mut rx) = channel(1);
        tx.try_send(1).unwrap();
        let mut blocked = Probe::new(tx.send(2));
        blocked.pending();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(blocked.wakes(), 1);
        assert_eq!(blocked.ready().unwrap_err().0, 2);
        assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(Probe::new(rx.recv()).ready(), None);
    }

    #[test]
    fn stream_ends_when_all_senders_are_gone() {
        let (tx, rx) = unbounded();
        let tx2 = tx.clone();
        tx.try_send(1).unwrap();
        tx2.try_send(2).unwrap();
        drop(tx);
        let mut all = Probe::new(rx.collect::<Vec<_>>());
        all.pending();
        drop(tx2);
        assert_eq!(all.ready(), [1, 2]);
    }

    #[test]
    fn dropped_receiver_drops_buffer_even_if_it_holds_a_sender() {
        struct Msg(#[allow(dead_code)] Sender<Msg>);
        let (tx, rx) = unbounded();
        tx.try_send(Msg(tx.clone())).unwrap();
        assert_eq!(tx.chan.senders.get(), 2);
        drop(rx); // drops the buffered Msg, whose Sender touches the channel
        assert!(tx.is_closed());
        assert_eq!(tx.chan.senders.get(), 1, "the buffered sender is gone");
        assert!(tx.chan.buffer.borrow().is_empty());
    }

    #[test]
    fn errors_and_debug() {
        struct Opaque;
        let (tx, rx) = channel(1);
        assert_eq!(format!("{tx:?}"), "Sender { closed: false, .. }");
        assert_eq!(
            format!("{rx:?}"),
            "Receiver { buffered: 0, senders: 1, .. }"
        );
        tx.try_send(Opaque).unwrap();
        let full = tx.try_send(Opaque).unwrap_err();
        assert_eq!(format!("{full:?}"), "Full(..)");
        drop(rx);
        let e = Probe::new(tx.send(Opaque)).ready().unwrap_err();
        assert_eq!(format!("{e:?}"), "SendError(..)");
        let e: Box<dyn std::error::Error> = Box::new(e);
        assert_eq!(e.to_string(), "channel closed");
    }

    #[test]
    #[should_panic(expected = "capacity must be at least 1")]
    fn zero_capacity_panics() {
        let _ = channel::<()>(0);
    }
}
