//! The table of live tasks.
//!
//! Owns: one reference to every task that has not completed, so that
//! `all_tasks()` can list them and closing the loop can cancel them. Insert
//! appends and a task's header remembers its slot, so remove is O(1). There
//! is no free list (it would cost 4 bytes per finished task after a burst):
//! emptied slots are reclaimed by compacting when at most a quarter of the
//! slots are live, which moves the live tasks down and tells each its new
//! slot — amortised O(1) per removal.

use crate::task::LocalTask;

#[derive(Default)]
pub(crate) struct TaskTable {
    slots: Vec<Option<LocalTask>>,
    len: usize,
}

impl TaskTable {
    pub(crate) fn insert(&mut self, task: LocalTask) {
        let slot = u32::try_from(self.slots.len()).expect("more than 4 billion live tasks");
        task.set_slot(slot);
        self.slots.push(Some(task));
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Option<LocalTask> {
        let t = self.slots.get_mut(slot as usize)?.take()?;
        self.len -= 1;
        if self.len == 0 {
            self.slots.clear();
        } else if self.slots.len() >= 1024 && self.len * 4 <= self.slots.len() {
            self.compact();
        }
        Some(t)
    }

    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        for (i, t) in self.slots.iter().flatten().enumerate() {
            t.set_slot(i as u32);
        }
        if self.slots.capacity() > 4 * self.slots.len() + 1024 {
            self.slots.shrink_to(2 * self.slots.len());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &LocalTask> {
        self.slots.iter().flatten()
    }
}
