//! The gate on a Redis Cluster with replicas, as production runs Redis: admission records
//! are read from the node that serves their event's slot, a revoked one is refused, and a
//! primary killed under the gate fails sale requests closed, with a typed code, only until
//! its replica takes over.

use std::time::{Duration, Instant};

use graphql_api::testing::{TestApp, TestRedisServer};
use reqwest::StatusCode;

use crate::{
    admission::sale_post,
    support::{Gateway, GatewayOptions, admit, code_of, eventually, redis, revoke},
};

/// A typed refusal that says "wait and retry": the gate's own, or the API's (which checks the
/// admission record too).
fn says_retry(status: StatusCode, body: &serde_json::Value) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE
        && (code_of(body) == "GATE_UNAVAILABLE"
            || body["errors"][0]["extensions"]["code"] == "BUSY")
}

#[tokio::test]
async fn on_a_redis_cluster_the_gate_checks_admissions_and_rides_out_a_primarys_failover() {
    let mut cluster = TestRedisServer::cluster_with_replicas().await;
    let app = TestApp::spawn_with(|config| config.redis_url = cluster.url().into()).await;
    let prefix = app.redis.prefix.clone();
    let event = app.seed_event(20).await;
    let writer = redis(&cluster.url()).await;
    let fan = admit(&writer, &prefix, "fan-c", event, 600, 0).await;
    let revoked = admit(&writer, &prefix, "fan-r", event, 600, 0).await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &cluster.url(),
        &prefix,
    ))
    .await;
    let (before, before_body) = sale_post(&gateway, event, Some(&fan.token)).await;
    revoke(&writer, &prefix, event, &revoked.jti).await;
    let (refused, refused_body) = sale_post(&gateway, event, Some(&revoked.token)).await;

    let record = tokens::store::Keys::new(&prefix).admission(event, &fan.jti);
    let primary = cluster.primary_of(0, &record).expect("a primary");
    cluster.kill_node(primary);
    let killed_at = Instant::now();
    let mut answers = Vec::new();
    let failover = cluster.wait_failover(primary);
    tokio::pin!(failover);
    loop {
        tokio::select! {
            () = &mut failover => break,
            answer = sale_post(&gateway, event, Some(&fan.token)) => answers.push(answer),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replaced_after = killed_at.elapsed();
    let ((), back_after) = eventually(Duration::from_secs(15), "the fan passes again", || async {
        let (status, _) = sale_post(&gateway, event, Some(&fan.token)).await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
    // A fan admitted after the failover is written to, and read from, the promoted replica.
    let writer = redis(&cluster.url()).await;
    let newcomer = admit(&writer, &prefix, "fan-n", event, 600, 0).await;
    // Each node learns the new topology on its own: a first lookup may still be told to
    // retry (GATE_UNAVAILABLE), as any request during the failover is; it must pass soon.
    let ((after, after_body), _) =
        eventually(Duration::from_secs(15), "the newcomer passes", || async {
            let (status, body) = sale_post(&gateway, event, Some(&newcomer.token)).await;
            (status == StatusCode::OK || !says_retry(status, &body)).then_some((status, body))
        })
        .await;

    eprintln!(
        "replica promoted {replaced_after:?} after the kill; the fan passed again {back_after:?} \
         later; {} answers meanwhile, {} of them 200",
        answers.len(),
        answers.iter().filter(|(s, _)| *s == StatusCode::OK).count()
    );
    assert_eq!(before, StatusCode::OK, "{before_body}");
    assert_eq!(refused, StatusCode::UNAUTHORIZED, "{refused_body}");
    assert_eq!(code_of(&refused_body), "TOKEN_REVOKED");
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::OK || says_retry(*status, body),
            "during the failover a sale request passes or is told to retry: {status} {body}"
        );
    }
    assert!(
        answers
            .iter()
            .any(|(status, body)| says_retry(*status, body)),
        "the gate failed closed while the record's node was away"
    );
    assert_eq!(after, StatusCode::OK, "{after_body}");
}
