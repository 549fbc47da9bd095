//! A slab: items addressed by a `u32` id, with freed slots reused. Requests, Redis and
//! database commands in flight and WebSocket messages all live in one.

/// Items by id; `remove` puts a slot on the free list for the next `insert`.
#[derive(Clone, Debug)]
pub struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { items: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Stores `item` in a free slot (the most recently freed) or a new one.
    #[inline]
    pub fn insert(&mut self, item: T) -> u32 {
        self.insert_with(|_| item)
    }
    /// Like `insert`, with a look at what the reused slot held before (for generations).
    #[inline]
    pub fn insert_with(&mut self, make: impl FnOnce(Option<&T>) -> T) -> u32 {
        match self.free.pop() {
            Some(id) => {
                let slot = &mut self.items[id as usize];
                *slot = make(Some(slot));
                id
            }
            None => {
                self.items.push(make(None));
                (self.items.len() - 1) as u32
            }
        }
    }
    /// Frees `id`'s slot; its item stays readable until the slot is reused.
    #[inline]
    pub fn remove(&mut self, id: u32) {
        self.free.push(id);
    }
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, id: u32) -> &T {
        &self.items[id as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, id: u32) -> &mut T {
        &mut self.items[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn freed_slots_are_reused_last_freed_first() {
        let mut s = Slab::default();
        let (a, b, c) = (s.insert('a'), s.insert('b'), s.insert('c'));
        assert_eq!((a, b, c), (0, 1, 2));
        s.remove(a);
        s.remove(c);
        assert_eq!(s.insert('d'), c);
        assert_eq!(s.insert_with(|old| old.copied().unwrap_or('?').to_ascii_uppercase()), a);
        assert_eq!(s[a], 'A');
        assert_eq!(s.insert('e'), 3);
    }
}
