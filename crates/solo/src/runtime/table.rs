//! The table of live tasks.
//!
//! Owns: one reference to every task that has not completed, so that
//! `all_tasks()` can list them and closing the loop can cancel them. A slab:
//! insert and remove are O(1); a task's header remembers its slot.

use crate::task::raw::TaskRef;

#[derive(Default)]
pub(crate) struct TaskTable {
    slots: Vec<Option<TaskRef>>,
    free: Vec<u32>,
    len: usize,
}

impl TaskTable {
    pub(crate) fn insert(&mut self, task: TaskRef) {
        let slot = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("more than 4 billion live tasks")
            }
        };
        task.header().slot.set(slot);
        self.slots[slot as usize] = Some(task);
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Option<TaskRef> {
        let t = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        self.len -= 1;
        if self.len == 0 {
            // Give memory back after a burst of tasks.
            self.slots.clear();
            self.free.clear();
        }
        Some(t)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &TaskRef> {
        self.slots.iter().flatten()
    }
}
