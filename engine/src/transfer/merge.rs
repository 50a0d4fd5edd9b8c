//! Two sorted streams merged by key, as `aws s3 sync` compares a source with a destination
//! (awscli's `comparator.py`): both sides come in S3's key order (the UTF-8 bytes of the key),
//! so the smaller head is the one the other side lacks, and equal heads are a pair to compare.
//! Neither side is ever held: at any moment the merge holds one item of each.
//!
//! Items without a key (a listing that failed, a file name that is not UTF-8) are passed on
//! as soon as they reach the head of their side, alone. A side whose keys go backwards would
//! make the merge call present entries missing, so it is an error, not a guess.

/// An item of a sorted side: its key below the side's root, or `None` for an item that
/// takes no part in the order.
pub(crate) trait Keyed {
    /// The key that orders and pairs this item.
    fn key(&self) -> Option<&str>;
}

/// A side of the merge: items in ascending key order, pulled one at a time.
pub(crate) trait Sorted {
    /// What this side yields.
    type Item: Keyed;
    /// The next item, or `None` at the end.
    async fn next(&mut self) -> Option<Self::Item>;
}

/// What the merge found at one key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pair<S, D> {
    /// Only the source has it (or it has no key and comes from the source).
    Source(S),
    /// Only the destination has it (or it has no key and comes from the destination).
    Destination(D),
    /// Both sides have the key.
    Both(S, D),
}

/// A side whose keys did not ascend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {side} is not in S3's key order ({next:?} came after {previous:?}); nothing more is compared, and nothing more is deleted"
)]
pub(crate) struct OutOfOrder {
    /// `source` or `destination`.
    pub(crate) side: &'static str,
    /// The key before.
    pub(crate) previous: String,
    /// The key that did not come after it.
    pub(crate) next: String,
}

/// One side: its stream, the item pulled but not yet paired, and the last key seen.
struct Side<T: Sorted> {
    stream: T,
    head: Option<T::Item>,
    done: bool,
    last: Option<String>,
    name: &'static str,
}

impl<T: Sorted> Side<T> {
    fn new(stream: T, name: &'static str) -> Self {
        Self {
            stream,
            head: None,
            done: false,
            last: None,
            name,
        }
    }

    /// Pulls the next item when the head is empty, checking the order.
    async fn fill(&mut self) -> Result<(), OutOfOrder> {
        if self.head.is_some() || self.done {
            return Ok(());
        }
        let Some(item) = self.stream.next().await else {
            self.done = true;
            return Ok(());
        };
        if let Some(key) = item.key() {
            if let Some(previous) = &self.last
                && key.as_bytes() <= previous.as_bytes()
            {
                self.done = true;
                return Err(OutOfOrder {
                    side: self.name,
                    previous: previous.clone(),
                    next: key.to_owned(),
                });
            }
            self.last = Some(key.to_owned());
        }
        self.head = Some(item);
        Ok(())
    }

    fn unkeyed_head(&self) -> bool {
        self.head.as_ref().is_some_and(|item| item.key().is_none())
    }
}

/// The merge of a source and a destination side.
pub(crate) struct Merge<S: Sorted, D: Sorted> {
    source: Side<S>,
    destination: Side<D>,
}

impl<S: Sorted, D: Sorted> Merge<S, D> {
    /// Merges `source` with `destination`; nothing is pulled until [`Merge::next`].
    pub(crate) fn new(source: S, destination: D) -> Self {
        Self {
            source: Side::new(source, "source"),
            destination: Side::new(destination, "destination"),
        }
    }

    /// The next key's pair, in ascending key order; `None` once both sides are done.
    pub(crate) async fn next(&mut self) -> Result<Option<Pair<S::Item, D::Item>>, OutOfOrder> {
        self.source.fill().await?;
        if self.source.unkeyed_head() {
            return Ok(self.source.head.take().map(Pair::Source));
        }
        self.destination.fill().await?;
        if self.destination.unkeyed_head() {
            return Ok(self.destination.head.take().map(Pair::Destination));
        }
        let order = match (&self.source.head, &self.destination.head) {
            (None, None) => return Ok(None),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            // `str` orders by bytes: S3's order.
            (Some(s), Some(d)) => s.key().cmp(&d.key()),
        };
        Ok(Some(match order {
            std::cmp::Ordering::Less => Pair::Source(self.source.head.take().expect("a head")),
            std::cmp::Ordering::Greater => {
                Pair::Destination(self.destination.head.take().expect("a head"))
            }
            std::cmp::Ordering::Equal => Pair::Both(
                self.source.head.take().expect("a head"),
                self.destination.head.take().expect("a head"),
            ),
        }))
    }

    /// The two sides back (to wait for what feeds them).
    pub(crate) fn into_sides(self) -> (S, D) {
        (self.source.stream, self.destination.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    impl Keyed for Option<&'static str> {
        fn key(&self) -> Option<&str> {
            *self
        }
    }

    /// A side from a list, counting what was pulled from it.
    struct Counted {
        items: std::vec::IntoIter<Option<&'static str>>,
        pulled: Rc<Cell<usize>>,
    }

    impl Sorted for Counted {
        type Item = Option<&'static str>;
        async fn next(&mut self) -> Option<Self::Item> {
            let item = self.items.next()?;
            self.pulled.set(self.pulled.get() + 1);
            Some(item)
        }
    }

    fn side(items: &[Option<&'static str>]) -> (Counted, Rc<Cell<usize>>) {
        let pulled = Rc::new(Cell::new(0));
        let items = Vec::from(items).into_iter();
        let counted = Counted {
            items,
            pulled: pulled.clone(),
        };
        (counted, pulled)
    }

    fn keys(items: &[&'static str]) -> Vec<Option<&'static str>> {
        items.iter().map(|k| Some(*k)).collect()
    }

    type Pairs = Vec<Pair<Option<&'static str>, Option<&'static str>>>;

    async fn merged(
        source: &[Option<&'static str>],
        destination: &[Option<&'static str>],
    ) -> Result<Pairs, OutOfOrder> {
        let (source, _) = side(source);
        let (destination, _) = side(destination);
        let mut merge = Merge::new(source, destination);
        let mut all = Vec::new();
        for _ in 0..1000 {
            match merge.next().await? {
                Some(pair) => all.push(pair),
                None => return Ok(all),
            }
        }
        panic!("the merge did not end");
    }

    #[tokio::test]
    async fn keys_pair_up_and_each_side_names_what_the_other_lacks() {
        let source = keys(&["a-1", "a.txt", "a/b", "\u{e9}"]);
        let destination = keys(&["a.txt", "a/b", "a0", "z"]);
        let pairs = merged(&source, &destination).await.unwrap();
        assert_eq!(
            pairs,
            [
                Pair::Source(Some("a-1")),
                Pair::Both(Some("a.txt"), Some("a.txt")),
                Pair::Both(Some("a/b"), Some("a/b")),
                Pair::Destination(Some("a0")),
                Pair::Destination(Some("z")),
                Pair::Source(Some("\u{e9}")),
            ]
        );
    }

    #[tokio::test]
    async fn keys_compare_as_bytes_not_as_paths_or_chars() {
        // As paths `a/b` < `a-b`; as bytes `-` (0x2d) < `/` (0x2f). U+FFFD (EF BF BD) sorts
        // before U+1F600 (F0 …) as bytes, as it does as chars; upper case before lower.
        let source = keys(&["B", "a-b", "a/b", "\u{fffd}", "\u{1F600}"]);
        let pairs = merged(&source, &source).await.unwrap();
        assert_eq!(pairs.len(), 5, "{pairs:?}");
        assert!(
            pairs.iter().all(|p| matches!(p, Pair::Both(..))),
            "{pairs:?}"
        );
        // A path-ordered side is refused, naming the keys.
        let by_path = keys(&["a/b", "a-b"]);
        let error = merged(&by_path, &[]).await.unwrap_err();
        assert_eq!(
            (error.side, error.previous.as_str(), error.next.as_str()),
            ("source", "a/b", "a-b")
        );
    }

    #[tokio::test]
    async fn items_without_a_key_pass_through_where_they_stand() {
        let source = [Some("a"), None, Some("c")];
        let destination = [Some("b"), None];
        let pairs = merged(&source, &destination).await.unwrap();
        assert_eq!(
            pairs,
            [
                Pair::Source(Some("a")),
                Pair::Source(None),
                Pair::Destination(Some("b")),
                Pair::Destination(None),
                Pair::Source(Some("c")),
            ]
        );
    }

    #[tokio::test]
    async fn a_repeated_key_is_out_of_order() {
        let error = merged(&[], &keys(&["a", "a"])).await.unwrap_err();
        assert_eq!(error.side, "destination");
    }

    #[tokio::test]
    async fn the_merge_holds_one_item_per_side_never_the_listing() {
        // Interleaved keys: every pair is decided with at most one item pulled ahead on each
        // side, however long the sides are.
        let names: Vec<&'static str> = (0..20_000)
            .map(|i| &*Box::leak(format!("k{i:06}").into_boxed_str()))
            .collect();
        let source: Vec<_> = names.iter().step_by(2).map(|k| Some(*k)).collect();
        let destination: Vec<_> = names.iter().skip(1).step_by(3).map(|k| Some(*k)).collect();
        let (source, source_pulled) = side(&source);
        let (destination, destination_pulled) = side(&destination);
        let mut merge = Merge::new(source, destination);
        let (mut from_source, mut from_destination) = (0usize, 0usize);
        let mut most_ahead = 0;
        for _ in 0..names.len() {
            let Some(pair) = merge.next().await.unwrap() else {
                break;
            };
            match pair {
                Pair::Source(_) => from_source += 1,
                Pair::Destination(_) => from_destination += 1,
                Pair::Both(..) => {
                    (from_source, from_destination) = (from_source + 1, from_destination + 1)
                }
            }
            let ahead =
                (source_pulled.get() - from_source) + (destination_pulled.get() - from_destination);
            most_ahead = most_ahead.max(ahead);
        }
        assert_eq!(
            (from_source, from_destination),
            (source_pulled.get(), destination_pulled.get())
        );
        assert_eq!((from_source, from_destination), (10_000, 6_667));
        assert!(most_ahead <= 1, "held {most_ahead} items");
    }
}
