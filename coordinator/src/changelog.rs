//! The change log: every state change is appended in the transaction that makes it (an
//! outbox), so it is in the log exactly when it committed; consumers read it back in
//! commit order after a [`LogPosition`], the same type that `GET /v1/changes` sends and
//! takes.
//!
//! Its followers here are the live seat hub, the notifier and the task worker; the
//! indexer follows it over HTTP. Every follower polls the log, which is what makes it
//! complete (commits of other coordinators on the same store show up there), and a
//! commit made here wakes the followers of its [`Topic`] at once, so they need not wait
//! for the next poll. Booking code only appends and says what it committed; it never
//! names a follower.

use std::sync::Arc;
use std::time::Duration;

use onsale_model::{Change, LogEntry, LogPosition};
use onsale_store::{Store, StoreError, StoreExt, Tx};
use tokio::sync::watch;

use crate::error::Result;
use crate::store::tables::CHANGES;

/// Entries read at most per call of [`ChangeLog::read_after`].
pub const MAX_READ: usize = 1000;

/// What a committed transaction wrote, for the followers that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Seat states changed (the live hub).
    Seats,
    /// Bookings changed (the notifier).
    Bookings,
    /// Tasks were queued (the task worker).
    Tasks,
}

impl Topic {
    const ALL: [Topic; 3] = [Topic::Seats, Topic::Bookings, Topic::Tasks];

    fn index(self) -> usize {
        self as usize
    }
}

/// Appends `change` to the log of `tx`; it gets its position when `tx` commits.
pub fn append(tx: &dyn Tx, change: &Change) -> Result<(), StoreError> {
    CHANGES.append(tx, change)
}

/// The change log of a store, and the wake-ups of its followers in this process.
pub struct ChangeLog {
    store: Arc<dyn Store>,
    /// One counter per topic, bumped after each commit that wrote to it.
    commits: [watch::Sender<u64>; Topic::ALL.len()],
}

impl ChangeLog {
    /// The log of `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        ChangeLog {
            store,
            commits: Topic::ALL.map(|_| watch::Sender::new(0)),
        }
    }

    /// At most `limit` entries (1 to [`MAX_READ`]) after `after` (exclusive; from the
    /// start when `None`), oldest first.
    pub async fn read_after(
        &self,
        after: Option<LogPosition>,
        limit: usize,
    ) -> Result<Vec<LogEntry>> {
        let limit = limit.clamp(1, MAX_READ);
        let entries = self
            .store
            .transact(|tx| async move { CHANGES.read_after(&tx, after, limit).await })
            .await?;
        Ok(entries
            .into_iter()
            .map(|(position, change)| LogEntry { position, change })
            .collect())
    }

    /// The position of the newest entry (`None` for an empty log).
    pub async fn end(&self) -> Result<Option<LogPosition>> {
        let end = self
            .store
            .transact(|tx| async move { CHANGES.end(&tx).await })
            .await?;
        Ok(end)
    }

    /// Says that a transaction committed here wrote to `topic`: its followers wake now.
    pub fn committed(&self, topic: Topic) {
        self.commits[topic.index()].send_modify(|count| *count = count.wrapping_add(1));
    }

    /// A follower of `topic`'s commits here.
    pub fn follow(&self, topic: Topic) -> Follower {
        let mut commits = self.commits[topic.index()].subscribe();
        commits.mark_unchanged();
        Follower { commits }
    }
}

/// How a follower's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A transaction committed here wrote to the follower's topic.
    Commit,
    /// The poll interval passed (commits elsewhere show up only this way).
    Poll,
}

/// Waits for commits of one topic; commits made while the follower was busy are not lost:
/// the next wait returns at once.
pub struct Follower {
    commits: watch::Receiver<u64>,
}

impl Follower {
    /// Waits for a commit of the topic here, or `poll`, whichever comes first.
    pub async fn wait(&mut self, poll: Duration) -> Wake {
        tokio::select! {
            changed = self.commits.changed() => match changed {
                Ok(()) => Wake::Commit,
                // The log is gone (the coordinator is shutting down): poll until stopped.
                Err(_) => {
                    tokio::time::sleep(poll).await;
                    Wake::Poll
                }
            },
            () = tokio::time::sleep(poll) => Wake::Poll,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsale_store::RetryPolicy;
    use onsale_store::fjall::FjallStore;

    #[tokio::test]
    async fn a_commit_wakes_only_the_followers_of_its_topic_even_when_they_were_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path(), RetryPolicy::default()).unwrap();
        let log = ChangeLog::new(Arc::new(store));
        let mut seats = log.follow(Topic::Seats);
        let mut tasks = log.follow(Topic::Tasks);
        let poll = Duration::from_millis(50);
        log.committed(Topic::Seats);
        assert_eq!(seats.wait(poll).await, Wake::Commit);
        assert_eq!(tasks.wait(poll).await, Wake::Poll);
        assert_eq!(seats.wait(poll).await, Wake::Poll, "one commit wakes once");
        log.committed(Topic::Tasks);
        log.committed(Topic::Tasks);
        assert_eq!(tasks.wait(poll).await, Wake::Commit);
        assert_eq!(
            tasks.wait(poll).await,
            Wake::Poll,
            "commits while busy wake once"
        );
    }
}
