//! A hierarchical timing wheel with millisecond resolution.
//!
//! Owns: every pending timer of one loop (sleeping futures' wakers and
//! `call_later` callbacks), in a slab of entries linked into slots.
//! Must not: run callbacks or wake tasks itself — `advance` hands what
//! expired back to the loop, which queues it in deadline order.
//!
//! # Design
//!
//! Six levels of 64 slots. Level `l` slots are `64^l` ms wide, so the wheel
//! spans 64^6 ms (about 2.2 years; later deadlines wait in the last level
//! and are re-filed as time comes closer; one more than about 584 years
//! after `origin`, past what `u64` nanoseconds count, is filed at that
//! point, `MAX_NS`). A timer goes to the level of the
//! highest 6-bit group in which its deadline differs from the wheel's
//! current time. Each level keeps a 64-bit occupancy mask, so finding the
//! next expiring slot is a rotate and a `trailing_zeros`. When a slot at
//! level `l > 0` comes due, its entries are re-filed into lower levels
//! ("cascading"); at level 0 they fire.
//!
//! Insert and cancel are O(1): entries live in a slab and form doubly
//! linked lists per slot, addressed by `(index, generation)` keys, so a
//! stale key (the timer already fired and the slot was reused) is detected.
//!
//! # Order and resolution
//!
//! Slots are a millisecond wide, but each entry keeps its exact deadline
//! (in nanoseconds), and what one `advance` hands back is sorted by it:
//! timers fire in deadline order, like asyncio's heap, also within one
//! millisecond; timers with the same deadline fire in the order they were
//! inserted. A timer never fires early: one due inside the current
//! millisecond normally waits for its end. A timer inserted already due
//! (`call_later(Duration::ZERO)`, a deadline in the past) goes to the
//! "expired" list and fires at the next `advance`, that is the loop's next
//! turn; that `advance` also fires the current millisecond's timers that
//! are due by then, so the order stays the deadline order.

use std::task::Waker;
use std::time::{Duration, Instant};

use crate::task::LocalTask;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const NIL: u32 = u32::MAX;
/// `loc` of an entry on the "already expired" list.
const EXPIRED: u16 = u16::MAX;
/// `loc` of a free entry.
const FREE: u16 = u16::MAX - 1;
/// The furthest deadline the levels can tell apart, in ms from now.
const SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);

/// Identifies a timer in the wheel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    gen: u32,
}

/// What an entry does when it expires.
pub(crate) enum Payload {
    Waker(Option<Waker>),
    /// A `call_later` callback's cell (one pointer, as small as a waker),
    /// made when it was scheduled: its `TimerHandle` holds it too, so it
    /// can cancel the callback until it runs.
    Callback(LocalTask),
}

/// An expired timer, handed back to the loop.
pub(crate) enum Fired {
    Waker(Waker),
    /// The callback's cell, for the ready queue.
    Callback(LocalTask),
}

struct Entry {
    /// The deadline, in ns since `origin`.
    at: u64,
    prev: u32,
    next: u32,
    gen: u32,
    loc: u16,
    payload: Option<Payload>,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

pub(crate) struct Wheel {
    origin: Instant,
    /// Current time of the wheel, in ms since `origin`.
    elapsed: u64,
    occupied: [u64; LEVELS],
    slots: [[List; SLOTS]; LEVELS],
    expired: List,
    entries: Vec<Entry>,
    free: u32,
    len: usize,
    /// What one `advance` fires, in the order found...
    batch: Vec<Option<Fired>>,
    /// ...and its sort keys: deadline in the high 64 bits, index in
    /// `batch` in the low ones (ties keep the order found). One `u128`
    /// sorts faster than the entries themselves.
    order: Vec<u128>,
}

/// The millisecond tick of a deadline in ns, rounded up: a timer never
/// fires early.
fn tick_of(at: u64) -> u64 {
    at.div_ceil(NS_PER_MS)
}

const NS_PER_MS: u64 = 1_000_000;

/// The latest deadline the wheel holds, in ns since `origin` (about 584
/// years): a later one is filed at it. A whole millisecond, so that `now`
/// reaching it (rounded down) and a deadline clamped to it (rounded up)
/// fall in the same tick: were they a tick apart, the timer would never
/// be due while `next_deadline` kept naming it, and a paused clock would
/// spin on it.
const MAX_NS: u64 = u64::MAX / NS_PER_MS * NS_PER_MS;

impl Wheel {
    pub(crate) fn new(origin: Instant) -> Wheel {
        Wheel {
            origin,
            elapsed: 0,
            occupied: [0; LEVELS],
            slots: [[EMPTY; SLOTS]; LEVELS],
            expired: EMPTY,
            entries: Vec::new(),
            free: NIL,
            len: 0,
            batch: Vec::new(),
            order: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `at` in ns since `origin` (0 before it; [`MAX_NS`] after it).
    fn ns(&self, at: Instant) -> u64 {
        let d = at.saturating_duration_since(self.origin);
        d.as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()))
            .min(MAX_NS)
    }

    /// The latest deadline the wheel can hold (about 584 years after its
    /// origin): a timer set later fires then. A sleep compares its
    /// deadline capped to this with the clock, or it would never be due.
    pub(crate) fn latest(&self) -> Instant {
        self.origin + Duration::from_nanos(MAX_NS)
    }

    fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    /// Adds a timer for `at`; `now` is the loop's clock (a timer already
    /// due fires at the next `advance`).
    pub(crate) fn insert(&mut self, at: Instant, now: Instant, payload: Payload) -> Key {
        let due = at <= now;
        let at = self.ns(at);
        let index = if self.free != NIL {
            let i = self.free;
            let e = &mut self.entries[i as usize];
            self.free = e.next;
            e.at = at;
            e.loc = 0;
            e.payload = Some(payload);
            i
        } else {
            let i = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("more than 4 billion timers");
            self.entries.push(Entry {
                at,
                prev: NIL,
                next: NIL,
                gen: 0,
                loc: 0,
                payload: Some(payload),
            });
            i
        };
        self.len += 1;
        if due {
            self.link(index, EXPIRED);
        } else {
            self.file(index);
        }
        Key {
            index,
            gen: self.entries[index as usize].gen,
        }
    }

    fn live(&self, key: Key) -> Option<&Entry> {
        self.entries
            .get(key.index as usize)
            .filter(|e| e.gen == key.gen && e.loc != FREE)
    }

    /// True while the timer has neither fired nor been removed.
    #[cfg(test)]
    pub(crate) fn contains(&self, key: Key) -> bool {
        self.live(key).is_some()
    }

    /// Replaces the waker of a pending sleep. False if it already fired.
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) -> bool {
        if self.live(key).is_none() {
            return false;
        }
        let e = &mut self.entries[key.index as usize];
        match &mut e.payload {
            Some(Payload::Waker(Some(w))) if w.will_wake(waker) => {}
            p => *p = Some(Payload::Waker(Some(waker.clone()))),
        }
        true
    }

    /// Cancels a timer. Returns its payload if it had not fired.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Payload> {
        self.live(key)?;
        self.unlink(key.index);
        Some(self.release(key.index))
    }

    /// The next moment something may need doing, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.expired.head != NIL {
            return Some(self.instant_of(self.elapsed));
        }
        self.next_expiration()
            .map(|(_, _, tick)| self.instant_of(tick))
    }

    /// Moves time forward to `now`, pushing every timer that is due to
    /// `out`, in deadline order (ties in insertion order); see the module
    /// doc for what "due" means inside the current millisecond.
    pub(crate) fn advance(&mut self, now: Instant, out: &mut Vec<Fired>) {
        let now_ns = self.ns(now);
        let now = now_ns / NS_PER_MS;
        let had_due = self.expired.head != NIL;
        while let Some((level, slot, deadline)) = self.next_expiration() {
            if deadline > now {
                break;
            }
            self.elapsed = self.elapsed.max(deadline);
            let mut list = std::mem::replace(&mut self.slots[level][slot], EMPTY);
            self.occupied[level] &= !(1u64 << slot);
            while list.head != NIL {
                let i = list.head;
                list.head = self.entries[i as usize].next;
                if tick_of(self.entries[i as usize].at) <= self.elapsed {
                    self.fire(i);
                } else {
                    self.file(i);
                }
            }
        }
        self.elapsed = self.elapsed.max(now);
        if had_due {
            self.fire_due_in_current_ms(now_ns);
        }
        // Last: a timer inserted already due was inserted after any other
        // timer with the same deadline.
        while self.expired.head != NIL {
            let i = self.expired.head;
            self.unlink(i);
            self.fire(i);
        }
        if self.order.windows(2).all(|w| w[0] <= w[1]) {
            out.extend(self.batch.drain(..).flatten());
        } else {
            self.order.sort_unstable();
            let batch = &mut self.batch;
            out.extend(
                self.order
                    .iter()
                    .filter_map(|&k| batch[k as u64 as usize].take()),
            );
            batch.clear();
        }
        self.order.clear();
    }

    /// Fires the timers of the millisecond under way that are due at
    /// `now_ns` (they would otherwise wait for its end, after a timer
    /// inserted already due with a later deadline).
    fn fire_due_in_current_ms(&mut self, now_ns: u64) {
        let (level, slot) = match self.loc_of(self.elapsed + 1) {
            EXPIRED => return,
            l => (l as usize / SLOTS, l as usize % SLOTS),
        };
        let mut i = self.slots[level][slot].head;
        while i != NIL {
            let e = &self.entries[i as usize];
            let next = e.next;
            if e.at <= now_ns {
                self.unlink(i);
                self.fire(i);
            }
            i = next;
        }
    }

    /// Drops every pending timer, but hands the callbacks' cells to
    /// `callbacks`: the loop cancels them once the wheel is no longer
    /// borrowed (a `TimerHandle` may keep a cell alive, and dropping a
    /// callback runs the `Drop` of what it captured).
    pub(crate) fn clear(&mut self, callbacks: &mut Vec<LocalTask>) {
        for e in self.entries.drain(..) {
            if let Some(Payload::Callback(cell)) = e.payload {
                callbacks.push(cell);
            }
        }
        self.occupied = [0; LEVELS];
        self.slots = [[EMPTY; SLOTS]; LEVELS];
        self.expired = EMPTY;
        self.free = NIL;
        self.len = 0;
        self.batch.clear();
        self.order.clear();
    }

    /// Moves an unlinked entry's payload to `batch`.
    fn fire(&mut self, index: u32) {
        let at = self.entries[index as usize].at;
        let fired = match self.release(index) {
            Payload::Waker(Some(w)) => Fired::Waker(w),
            Payload::Waker(None) => return,
            Payload::Callback(f) => Fired::Callback(f),
        };
        let seq = self.batch.len() as u128;
        self.order.push(u128::from(at) << 64 | seq);
        self.batch.push(Some(fired));
    }

    /// Frees an unlinked entry and returns its payload.
    fn release(&mut self, index: u32) -> Payload {
        let e = &mut self.entries[index as usize];
        e.gen = e.gen.wrapping_add(1);
        e.loc = FREE;
        e.prev = NIL;
        e.next = self.free;
        self.free = index;
        self.len -= 1;
        e.payload.take().expect("live timer entry without payload")
    }

    /// Links an entry into the slot its deadline belongs to now.
    fn file(&mut self, index: u32) {
        let loc = self.loc_of(tick_of(self.entries[index as usize].at));
        self.link(index, loc);
    }

    /// The slot (or the expired list) a timer due at `tick` belongs in.
    fn loc_of(&self, tick: u64) -> u16 {
        if tick <= self.elapsed {
            return EXPIRED;
        }
        let t = tick.min(self.elapsed + SPAN - 1);
        let masked = (self.elapsed ^ t) | (SLOTS as u64 - 1);
        let significant = 63 - masked.leading_zeros();
        let level = ((significant / SLOT_BITS) as usize).min(LEVELS - 1);
        let slot = ((t >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1);
        (level * SLOTS + slot) as u16
    }

    /// Appends an entry to the list at `loc`.
    fn link(&mut self, index: u32, loc: u16) {
        let list = match loc {
            EXPIRED => &mut self.expired,
            l => {
                let (level, slot) = (l as usize / SLOTS, l as usize % SLOTS);
                self.occupied[level] |= 1u64 << slot;
                &mut self.slots[level][slot]
            }
        };
        let old_tail = list.tail;
        list.tail = index;
        if old_tail == NIL {
            list.head = index;
        }
        if old_tail != NIL {
            self.entries[old_tail as usize].next = index;
        }
        let e = &mut self.entries[index as usize];
        e.loc = loc;
        e.prev = old_tail;
        e.next = NIL;
    }

    fn unlink(&mut self, index: u32) {
        let (prev, next, loc) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.loc)
        };
        if prev != NIL {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        let list = match loc {
            EXPIRED => &mut self.expired,
            l => &mut self.slots[l as usize / SLOTS][l as usize % SLOTS],
        };
        if list.head == index {
            list.head = next;
        }
        if list.tail == index {
            list.tail = prev;
        }
        if loc != EXPIRED && list.head == NIL {
            let (level, slot) = (loc as usize / SLOTS, loc as usize % SLOTS);
            self.occupied[level] &= !(1u64 << slot);
        }
    }

    /// The lowest level's next occupied slot and when it comes due.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let slot_range = 1u64 << shift;
            let level_range = slot_range << SLOT_BITS;
            let now_slot = ((self.elapsed >> shift) as usize) & (SLOTS - 1);
            let zeros = occupied.rotate_right(now_slot as u32).trailing_zeros() as usize;
            let slot = (zeros + now_slot) % SLOTS;
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + slot as u64 * slot_range;
            if deadline < self.elapsed {
                deadline += level_range;
            }
            return Some((level, slot, deadline));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::task::Wake;

    /// What fired, in order: each test timer's waker logs its value.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u64>>>);

    impl Log {
        fn borrow(&self) -> MutexGuard<'_, Vec<u64>> {
            self.0.lock().unwrap()
        }
    }

    struct Logged(Log, u64);

    impl Wake for Logged {
        fn wake(self: Arc<Self>) {
            self.0.borrow().push(self.1);
        }
    }

    fn cb(log: &Log, v: u64) -> Payload {
        Payload::Waker(Some(Waker::from(Arc::new(Logged(log.clone(), v)))))
    }

    /// A reproducible stream of pseudo-random numbers.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    fn run(out: &mut Vec<Fired>) {
        for f in out.drain(..) {
            if let Fired::Waker(w) = f {
                w.wake()
            }
        }
    }

    #[test]
    fn fires_in_deadline_order_never_early() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        // A spread across several levels, inserted out of order.
        let ms = [5u64, 1, 70, 64, 4096, 63, 300_000, 2, 5000, 262_144, 1];
        for &m in &ms {
            w.insert(origin + Duration::from_millis(m), origin, cb(&log, m));
        }
        let mut out = Vec::new();
        let mut t = 0;
        while !w.is_empty() {
            let next = w.next_deadline().unwrap();
            let next_ms = next.duration_since(origin).as_millis() as u64;
            assert!(next_ms >= t, "time goes forward");
            t = next_ms;
            w.advance(next, &mut out);
            for f in out.drain(..) {
                if let Fired::Waker(w) = f {
                    w.wake();
                    let last = *log.borrow().last().unwrap();
                    assert!(last <= t, "fired {last} ms at {t} ms: early");
                    assert_eq!(last, t, "fired late: {last} at {t}");
                }
            }
        }
        let mut sorted = ms.to_vec();
        sorted.sort();
        assert_eq!(*log.borrow(), sorted);
    }

    #[test]
    fn ties_fire_in_insertion_order_and_cancel_works() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let at = origin + Duration::from_millis(200);
        let keys: Vec<_> = (0..10).map(|i| w.insert(at, origin, cb(&log, i))).collect();
        assert!(w.remove(keys[3]).is_some());
        assert!(w.remove(keys[3]).is_none(), "second cancel is a no-op");
        let mut out = Vec::new();
        w.advance(origin + Duration::from_millis(199), &mut out);
        assert!(out.is_empty());
        w.advance(at, &mut out);
        run(&mut out);
        assert_eq!(*log.borrow(), [0, 1, 2, 4, 5, 6, 7, 8, 9]);
        assert!(!w.contains(keys[0]));
        assert!(w.is_empty());
    }

    #[test]
    fn past_deadline_fires_at_next_advance_and_slots_are_reused() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let mut out = Vec::new();
        w.advance(origin + Duration::from_millis(1000), &mut out);
        let k = w.insert(origin, origin + Duration::from_millis(1000), cb(&log, 1));
        assert_eq!(
            w.next_deadline(),
            Some(origin + Duration::from_millis(1000))
        );
        w.advance(origin + Duration::from_millis(1000), &mut out);
        run(&mut out);
        assert_eq!(*log.borrow(), [1]);
        let k2 = w.insert(
            origin + Duration::from_millis(1001),
            origin + Duration::from_millis(1000),
            cb(&log, 2),
        );
        assert_eq!(k.index, k2.index, "entry reused");
        assert!(!w.contains(k), "stale key is not live");
        assert!(w.contains(k2));
    }

    #[test]
    fn deadlines_inside_one_millisecond_fire_in_deadline_order() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        // All in the millisecond (2 ms, 3 ms], inserted latest first; 2700
        // twice (ties keep insertion order).
        for us in [2900u64, 2700, 2100, 2700, 3000, 2001] {
            w.insert(origin + Duration::from_micros(us), origin, cb(&log, us));
        }
        let mut out = Vec::new();
        w.advance(origin + Duration::from_millis(3), &mut out);
        run(&mut out);
        assert_eq!(*log.borrow(), [2001, 2100, 2700, 2700, 2900, 3000]);
    }

    #[test]
    fn a_timer_inserted_due_fires_at_the_next_advance_with_those_due_before_it() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let mut out = Vec::new();
        w.advance(origin + Duration::from_micros(5100), &mut out);
        // Pending inside the current millisecond (5 ms, 6 ms].
        w.insert(origin + Duration::from_micros(5300), origin, cb(&log, 5300));
        w.insert(origin + Duration::from_micros(5900), origin, cb(&log, 5900));
        let now = origin + Duration::from_micros(5500);
        w.advance(now, &mut out);
        assert!(out.is_empty(), "nothing due yet at a whole millisecond");
        // call_later(0) at 5.5 ms: due now, and fires with 5.3 before it;
        // 5.9 is not due yet.
        w.insert(now, now, cb(&log, 5500));
        assert_eq!(w.next_deadline().map(|d| d <= now), Some(true));
        w.advance(origin + Duration::from_micros(5600), &mut out);
        run(&mut out);
        assert_eq!(*log.borrow(), [5300, 5500]);
        w.advance(origin + Duration::from_millis(6), &mut out);
        run(&mut out);
        assert_eq!(*log.borrow(), [5300, 5500, 5900]);
        assert!(w.is_empty());
    }

    #[test]
    fn far_future_is_refiled() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let far = SPAN * 2 + 17;
        w.insert(origin + Duration::from_millis(far), origin, cb(&log, far));
        let mut out = Vec::new();
        let mut steps = 0;
        while !w.is_empty() {
            let next = w.next_deadline().unwrap();
            w.advance(next, &mut out);
            steps += 1;
            assert!(steps < 100);
        }
        run(&mut out);
        assert_eq!(*log.borrow(), [far]);
        assert_eq!(w.len(), 0);
    }

    /// A deadline past the wheel's range (it saturated at `u64::MAX` ns,
    /// whose tick rounded up was one after the tick of `now` saturated and
    /// rounded down) fires when time reaches the range's end: it was never
    /// due, while `next_deadline` kept naming it, and a paused clock spun.
    #[test]
    fn deadline_past_the_range_fires_at_its_end() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let year = Duration::from_secs(86400 * 365);
        for (v, years) in [(1, 634), (2, 1000), (3, 584)] {
            w.insert(origin + year * years, origin, cb(&log, v));
        }
        let mut out = Vec::new();
        let mut steps = 0;
        while !w.is_empty() {
            let next = w.next_deadline().unwrap();
            assert!(next <= w.latest(), "a deadline past the end");
            w.advance(next, &mut out);
            run(&mut out);
            steps += 1;
            // About 270 re-filings of the last level (2.2 years each).
            assert!(steps < 1000, "not due at the wheel's end");
        }
        assert_eq!(*log.borrow(), [3, 1, 2]);
    }

    #[test]
    fn randomized_against_sorted_model() {
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let mut rand = xorshift(0x2545F4914F6CDD1D);
        let n = if cfg!(miri) { 200 } else { 20_000 };
        let mut expect = Vec::new();
        let mut keys = Vec::new();
        for i in 0..n {
            let ms = rand() % 100_000;
            let k = w.insert(
                origin + Duration::from_millis(ms),
                origin,
                cb(&log, ms * 1_000_000 + i),
            );
            keys.push((k, ms * 1_000_000 + i));
        }
        for (j, (k, v)) in keys.iter().enumerate() {
            if j % 3 == 0 {
                assert!(w.remove(*k).is_some());
            } else {
                expect.push(*v);
            }
        }
        expect.sort();
        let mut out = Vec::new();
        let mut now = 0;
        while !w.is_empty() {
            now += rand() % 5000;
            w.advance(origin + Duration::from_millis(now), &mut out);
            run(&mut out);
            assert!(log.borrow().iter().all(|v| v / 1_000_000 <= now));
        }
        assert_eq!(*log.borrow(), expect);
    }

    #[test]
    fn randomized_microsecond_deadlines_fire_in_order_and_on_time() {
        // Timers inserted as a loop would (deadlines from now on, some due
        // at once), time moving in uneven steps: everything fires in
        // deadline order, never early, and at most until the end of the
        // millisecond of its deadline.
        let origin = Instant::now();
        let mut w = Wheel::new(origin);
        let log = Log::default();
        let mut rand = xorshift(0x9E3779B97F4A7C15);
        let steps = if cfg!(miri) { 30 } else { 3000 };
        let (mut now_us, mut seq) = (0u64, 0u64);
        let mut pending = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for _ in 0..steps {
            for _ in 0..rand() % 4 {
                let at = now_us + [0, rand() % 300, rand() % 5000][(rand() % 3) as usize];
                let v = at * 1_000_000 + seq;
                seq += 1;
                let now = origin + Duration::from_micros(now_us);
                w.insert(origin + Duration::from_micros(at), now, cb(&log, v));
                pending.insert(v);
            }
            now_us += rand() % 1500;
            let fired_before = log.borrow().len();
            w.advance(origin + Duration::from_micros(now_us), &mut out);
            run(&mut out);
            for v in &log.borrow()[fired_before..] {
                assert!(v / 1_000_000 <= now_us, "{v} fired early at {now_us} us");
                assert!(pending.remove(v));
            }
            let whole_ms = now_us / 1000 * 1000;
            assert!(pending.iter().all(|v| v / 1_000_000 > whole_ms), "late");
        }
        let log = log.borrow();
        assert!(log.windows(2).all(|p| p[0] < p[1]), "deadline order");
    }
}
