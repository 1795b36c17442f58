//! Which webhooks an event type reaches.

/// `true` when `event_type` is covered by the subscriptions: an empty list or `*`
/// means every event, `prefix.*` every type under `prefix.`, anything else an exact type.
pub fn subscribed(patterns: &[String], event_type: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| pattern_matches(p, event_type))
}

fn pattern_matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        // `submission.*` keeps its dot, so it cannot match `submissions.x`.
        Some(prefix) => event_type.len() > prefix.len() && event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

/// `[A-Za-z0-9_.-]{1,128}`: the alphabet of event types.
pub fn is_valid_event_type(t: &str) -> bool {
    !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// An exact type, `*`, or a prefix wildcard `prefix.*`.
pub fn is_valid_pattern(p: &str) -> bool {
    if p == "*" {
        return true;
    }
    match p.strip_suffix(".*") {
        Some(prefix) => is_valid_event_type(prefix),
        None => is_valid_event_type(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_subscription_means_everything() {
        assert!(subscribed(&[], "anything.at.all"));
        assert!(subscribed(&pats(&["*"]), "x"));
    }

    #[test]
    fn exact_and_prefix_patterns() {
        let p = pats(&["submission.*", "aml.match.found"]);
        assert!(subscribed(&p, "submission.completed"));
        assert!(subscribed(&p, "submission.a.b"));
        assert!(subscribed(&p, "aml.match.found"));
        assert!(!subscribed(&p, "submission"));
        assert!(!subscribed(&p, "submissions.created"));
        assert!(!subscribed(&p, "aml.match.dismissed"));
    }

    #[test]
    fn validates_types_and_patterns() {
        assert!(is_valid_event_type("submission.completed"));
        assert!(!is_valid_event_type("has space"));
        assert!(!is_valid_event_type(&"a".repeat(129)));
        assert!(is_valid_pattern("submission.*"));
        assert!(!is_valid_pattern("sub*"));
        assert!(!is_valid_pattern(".*"));
    }
}
