//! A fresh key prefix per test on the shared Redis.

use fred::prelude::{ClientLike as _, KeysInterface as _};

/// Where tests find Redis.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// A Redis key prefix of its own for one test; its keys are deleted when dropped.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    /// A new prefix on the Redis of `TEST_REDIS_URL`.
    pub fn new() -> Self {
        Self {
            url: redis_url(),
            prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
        }
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let (url, pattern) = (self.url.clone(), format!("{}*", self.prefix));
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(config) = fred::prelude::Config::from_url(&url) else {
                    return;
                };
                let Ok(client) = fred::prelude::Builder::from_config(config).build() else {
                    return;
                };
                if client.init().await.is_err() {
                    return;
                }
                let mut cursor = "0".to_owned();
                loop {
                    let reply: Result<(String, Vec<String>), _> = client
                        .custom(
                            fred::cmd!("SCAN"),
                            vec![
                                cursor.clone(),
                                "MATCH".into(),
                                pattern.clone(),
                                "COUNT".into(),
                                "1000".into(),
                            ],
                        )
                        .await;
                    let Ok((next, keys)) = reply else { break };
                    if !keys.is_empty() {
                        let _: Result<i64, _> = client.del(keys).await;
                    }
                    if next == "0" {
                        break;
                    }
                    cursor = next;
                }
                let _ = client.quit().await;
            });
        })
        .join();
    }
}
