//! Creates the table and the queues of the template in the emulators.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::template::{Definitions, KeyDef, QueueDef};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn key_schema(k: &KeyDef) -> Result<Vec<KeySchemaElement>, BoxError> {
    let mut out = vec![KeySchemaElement::builder().attribute_name(&k.hash).key_type(KeyType::Hash).build()?];
    if let Some(r) = &k.range {
        out.push(KeySchemaElement::builder().attribute_name(r).key_type(KeyType::Range).build()?);
    }
    Ok(out)
}

/// Creates the table (if missing) as the template defines it.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, defs: &Definitions) -> Result<(), BoxError> {
    let t = &defs.table;
    let mut req = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for (attr, ty) in &t.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(ty.as_str()))
                .build()?,
        );
    }
    req = req.set_key_schema(Some(key_schema(&t.key)?));
    for ix in &t.indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&ix.name)
                .set_key_schema(Some(key_schema(&ix.key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(ix.projection.as_str()))
                        .set_non_key_attributes(Some(ix.non_key_attributes.clone()).filter(|a| !a.is_empty()))
                        .build(),
                )
                .build()?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(Box::new(e)),
    }
    if let Some(ttl) = &t.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name(ttl).enabled(true).build()?)
            .send()
            .await?;
    }
    Ok(())
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    def: &QueueDef,
    visibility_override: Option<u32>,
    dlq_arn: Option<&str>,
) -> Result<String, BoxError> {
    let mut req = client
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_override.unwrap_or(def.visibility_timeout).to_string(),
        )
        .attributes(QueueAttributeName::MessageRetentionPeriod, def.retention_seconds.to_string());
    if let (Some(arn), Some(max)) = (dlq_arn, def.max_receive_count) {
        req = req.attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max}).to_string(),
        );
    }
    Ok(req.send().await?.queue_url.ok_or("no queue URL")?)
}

/// The delivery queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct Queues {
    pub delivery_url: String,
    pub dead_letter_url: String,
}

/// Creates `{name}-dlq` and `{name}` with the template's redrive policy.
/// `visibility_override` (tests, `HOOKLINE_VISIBILITY_TIMEOUT`) shortens the wait before a
/// failed message returns.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    name: &str,
    defs: &Definitions,
    visibility_override: Option<u32>,
) -> Result<Queues, BoxError> {
    let dead_letter_url = create_queue(client, &format!("{name}-dlq"), &defs.dead_letter_queue, None, None).await?;
    let attrs = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    let arn = attrs
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("dead-letter queue has no ARN")?;
    let delivery_url = create_queue(client, name, &defs.queue, visibility_override, Some(&arn)).await?;
    Ok(Queues { delivery_url, dead_letter_url })
}
