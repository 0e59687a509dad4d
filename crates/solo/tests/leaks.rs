//! Nothing leaks: after the loop closes, every task allocation is freed.
//! A counting global allocator measures live bytes around a run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn workload() {
    solo::run(async {
        // Finished, detached, cancelled, panicked, pending-at-close tasks;
        // timers left in the wheel; callbacks; gathers and groups.
        let done: Vec<_> = (0..100)
            .map(|i| solo::spawn(async move { vec![i; 10] }))
            .collect();
        for t in done {
            t.await.unwrap();
        }
        for _ in 0..100 {
            drop(solo::spawn(async {
                solo::sleep(Duration::from_secs(3600)).await
            }));
        }
        let c = solo::spawn(std::future::pending::<String>());
        c.cancel();
        let _ = c.await;
        let p = solo::spawn(async {
            if true {
                panic!("x");
            }
        });
        let _ = p.await;
        let t = solo::spawn(async { 5 });
        t.add_done_callback(|_| ());
        solo::call_later(Duration::from_secs(3600), || ());
        solo::call_soon(|| ());
        let _ = solo::gather((0..10).map(|i| async move { i })).await;
        let g = solo::TaskGroup::<()>::new();
        g.spawn(async {
            solo::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        std::mem::forget(t); // a leaked handle keeps its task: not ours to free
        drop(g);
        let _ = solo::to_thread(|| 1).await;
        solo::yield_now().await;
    });
}

#[test]
fn every_task_allocation_is_freed_after_close() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // Warm up once: thread-locals, the loop registry, tracing's callsite
    // registry and the like allocate on first use and stay.
    workload();
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..5 {
        workload();
    }
    let after = LIVE.load(Ordering::SeqCst);
    std::panic::set_hook(prev);
    // The one handle we forget per run keeps one small task alive.
    let forgotten_per_run = 512;
    assert!(
        after - before <= 5 * forgotten_per_run,
        "{} bytes still allocated after 5 closed loops",
        after - before
    );
}
