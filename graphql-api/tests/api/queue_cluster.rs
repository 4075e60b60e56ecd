//! The queue on a real three-node Redis Cluster: joins, FIFO admission and the cap, exactly
//! as on one Redis. Every key of an event shares the `{evt:N}` hash tag, so each script runs
//! on one node.

use graphql_api::testing::{TestApp, TestRedisServer};

use crate::queue::{
    admission_follows_join_order, concurrent_joins_get_distinct_gap_free_numbers,
    one_fan_joining_many_times_holds_one_place, the_cap_holds_under_two_tickers,
};

async fn app_on(cluster: &TestRedisServer) -> TestApp {
    TestApp::spawn_with(|config| config.redis_url = cluster.url().into()).await
}

#[tokio::test]
async fn on_a_redis_cluster_concurrent_joins_get_distinct_gap_free_numbers() {
    let cluster = TestRedisServer::cluster().await;
    let app = app_on(&cluster).await;
    concurrent_joins_get_distinct_gap_free_numbers(&app, 2_000).await;
    one_fan_joining_many_times_holds_one_place(&app).await;
}

#[tokio::test]
async fn on_a_redis_cluster_fans_are_admitted_in_join_order() {
    let cluster = TestRedisServer::cluster().await;
    let app = app_on(&cluster).await;
    admission_follows_join_order(&app, 200).await;
}

#[tokio::test]
async fn on_a_redis_cluster_the_cap_holds_with_two_instances() {
    let cluster = TestRedisServer::cluster().await;
    let app = app_on(&cluster).await;
    let second = app
        .spawn_instance(|config| config.redis_url = cluster.url().into())
        .await;
    the_cap_holds_under_two_tickers(&app, &second, 20).await;
}
