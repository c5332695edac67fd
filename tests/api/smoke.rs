use fenliu_suite::{spawn_app, ShopFixture};
use serde_json::json;

#[tokio::test]
async fn an_online_agent_receives_an_inquiry() {
    // Arrange
    let app = spawn_app();
    let s = ShopFixture::new("smoke");
    let put = app.put(&s.path("/agents/a1"), &s.admin, json!({})).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let online = app
        .put(
            &s.path("/agents/a1/status"),
            &s.agent("a1"),
            json!({"status": "online"}),
        )
        .await;
    assert_eq!(online.status, 200);

    // Act
    let routed = app
        .post(
            &s.path("/inquiries"),
            &s.service,
            json!({"buyer_id": "b1", "entry": "product_detail"}),
        )
        .await;

    // Assert
    assert_eq!(routed.status, 201, "{:?}", routed.body);
    assert_eq!(routed.body["status"], "active");
    assert_eq!(routed.body["agent_id"], "a1");
    assert_eq!(routed.body["reason"], "default");
}
