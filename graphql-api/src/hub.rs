//! One Redis subscription per event and instance, fanned out to that instance's local
//! subscribers: the cost of a published change does not grow with the fans listening.
//!
//! A [`Hub`] is generic over a [`Topic`]: the topic names an event's channel, opens the
//! event's local feed the first time someone on this instance cares, and hands each published
//! message to that feed. The hub owns what every topic shares: the subscriber connection, the
//! map of open feeds, subscribing once per event, and the listen loop. fred re-subscribes
//! after a reconnect, so feeds survive a Redis restart.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use fred::{
    clients::SubscriberClient,
    prelude::{ClientLike as _, EventInterface as _, PubsubInterface as _},
};
use tokio::sync::broadcast::error::RecvError;

/// What one kind of live update needs from a [`Hub`].
pub trait Topic: Send + Sync + 'static {
    /// An event's local state: what this instance's subscribers read.
    type Feed: Send + Sync + 'static;

    /// Names the topic in logs.
    const NAME: &'static str;

    /// The channel an event's messages are published on.
    fn channel(&self, event: i64) -> String;

    /// Opens an event's feed, the first time this instance needs it.
    fn open(&self, event: i64) -> Self::Feed;

    /// Hands one published message to its event's feed. Unreadable messages are the
    /// topic's to log: the hub cannot tell what they should have been.
    fn deliver(&self, event: i64, feed: &Self::Feed, payload: &str);
}

/// An instance's fan-out of one topic: cheap to clone.
pub struct Hub<T: Topic> {
    inner: Arc<Inner<T>>,
}

impl<T: Topic> Clone for Hub<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<T: Topic> {
    topic: T,
    subscriber: SubscriberClient,
    feeds: Mutex<HashMap<i64, Arc<T::Feed>>>,
    /// Channel name -> event, to route each message without parsing its name.
    channels: Mutex<HashMap<String, i64>>,
}

impl<T: Topic> Hub<T> {
    /// Starts listening on `subscriber` (which the hub owns from now on).
    pub fn start(topic: T, subscriber: SubscriberClient) -> Self {
        let hub = Self {
            inner: Arc::new(Inner {
                topic,
                subscriber,
                feeds: Mutex::new(HashMap::new()),
                channels: Mutex::new(HashMap::new()),
            }),
        };
        tokio::spawn(hub.clone().listen());
        hub
    }

    /// The topic this hub carries.
    pub fn topic(&self) -> &T {
        &self.inner.topic
    }

    /// An event's feed, opened and subscribed to on first use.
    pub fn feed(&self, event: i64) -> Arc<T::Feed> {
        let mut feeds = self
            .inner
            .feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(feed) = feeds.get(&event) {
            return feed.clone();
        }
        let feed = Arc::new(self.inner.topic.open(event));
        feeds.insert(event, feed.clone());
        let channel = self.inner.topic.channel(event);
        self.inner
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(channel.clone(), event);
        let subscriber = self.inner.subscriber.clone();
        tokio::spawn(async move {
            // Subscriptions are managed: fred re-subscribes after a reconnect.
            if let Err(error) = subscriber.subscribe(channel).await {
                tracing::warn!(%error, event, topic = T::NAME, "subscribing failed; will retry on reconnect");
            }
        });
        feed
    }

    /// Every open feed, by event.
    pub fn feeds(&self) -> Vec<(i64, Arc<T::Feed>)> {
        self.inner
            .feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(event, feed)| (*event, feed.clone()))
            .collect()
    }

    async fn listen(self) {
        let mut messages = self.inner.subscriber.message_rx();
        loop {
            match messages.recv().await {
                Ok(message) => {
                    let event = self
                        .inner
                        .channels
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get(&*message.channel)
                        .copied();
                    let Some(event) = event else { continue };
                    let Some(payload) = message.value.as_str() else {
                        continue;
                    };
                    let feed = self.feed(event);
                    self.inner.topic.deliver(event, &feed, &payload);
                }
                Err(RecvError::Lagged(missed)) => {
                    // Topics make each message whole or detect gaps; see each topic.
                    tracing::warn!(missed, topic = T::NAME, "listener lagged");
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Stops listening (on shutdown).
    pub async fn stop(&self) {
        let _ = self.inner.subscriber.quit().await;
    }
}
