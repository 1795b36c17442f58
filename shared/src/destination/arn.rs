//! The forms of role ARNs, resource ARNs and SQS queue URLs (spec §16). Each parser
//! borrows from its input and says in its error what is wrong.

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// `arn:<partition>:iam::<account>:role/<optional path/>name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleArn<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>` of a topic, bus or stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

/// An SQS queue URL. `region` is `None` for an emulator URL on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueUrl<'a> {
    pub region: Option<&'a str>,
    pub account: &'a str,
    pub name: &'a str,
}

struct Parts<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn split_arn(s: &str) -> Result<Parts<'_>, String> {
    let mut it = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
        (it.next(), it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err("is not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)".into());
    };
    if !PARTITIONS.contains(&partition) {
        return Err(format!("has an unknown partition `{partition}` (aws, aws-cn or aws-us-gov)"));
    }
    Ok(Parts { partition, service, region, account, resource })
}

fn check_account(account: &str) -> Result<(), String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("has an invalid account `{account}` (12 digits)"))
    }
}

/// A region name such as `eu-west-1`, `cn-north-1` or `us-gov-west-1`, of the partition.
fn check_region(partition: &str, region: &str) -> Result<(), String> {
    let bad = || Err(format!("has an invalid region `{region}`"));
    let parts: Vec<&str> = region.split('-').collect();
    if parts.len() < 3 || parts.len() > 4 {
        return bad();
    }
    let (number, words) = parts.split_last().expect("at least three parts");
    if number.is_empty() || number.len() > 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return bad();
    }
    if words[0].len() != 2 || words.iter().any(|w| w.is_empty() || !w.bytes().all(|b| b.is_ascii_lowercase())) {
        return bad();
    }
    let expected = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    if partition != expected {
        return Err(format!("has region `{region}`, which is not in partition `{partition}`"));
    }
    Ok(())
}

fn check_name(name: &str, what: &str, max: usize, allowed: impl Fn(u8) -> bool, rule: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > max || !name.bytes().all(allowed) {
        Err(format!("has an invalid {what} name `{name}` ({rule})"))
    } else {
        Ok(())
    }
}

fn word_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A queue or topic name: `[A-Za-z0-9_-]`, optionally ending `.fifo`, `max` characters in all.
fn check_fifo_name(name: &str, what: &str, max: usize) -> Result<(), String> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    if stem.is_empty() || name.len() > max || !stem.bytes().all(word_char) {
        Err(format!("has an invalid {what} name `{name}` (1 to {max} characters of A-Z, a-z, 0-9, _ and -, optionally ending .fifo)"))
    } else {
        Ok(())
    }
}

impl<'a> RoleArn<'a> {
    pub fn parse(s: &'a str) -> Result<RoleArn<'a>, String> {
        let p = split_arn(s)?;
        if p.service != "iam" {
            return Err(format!("is not an IAM role ARN (service `{}`, not `iam`)", p.service));
        }
        if !p.region.is_empty() {
            return Err("is not an IAM role ARN (IAM ARNs have no region: arn:aws:iam::<account>:role/<name>)".into());
        }
        check_account(p.account)?;
        let Some(path_and_name) = p.resource.strip_prefix("role/") else {
            return Err("is not an IAM role ARN (the resource must be role/<optional path/>name)".into());
        };
        let (path, name) = path_and_name.rsplit_once('/').unwrap_or(("", path_and_name));
        if path.len() > 510
            || (!path.is_empty()
                && path.split('/').any(|seg| seg.is_empty() || !seg.bytes().all(|b| (0x21..=0x7e).contains(&b))))
        {
            return Err(format!("has an invalid role path `/{path}/`"));
        }
        check_name(
            name,
            "role",
            64,
            |b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b),
            "1 to 64 characters of A-Z, a-z, 0-9 and +=,.@_-",
        )?;
        Ok(RoleArn { partition: p.partition, account: p.account, name })
    }
}

impl<'a> ResourceArn<'a> {
    fn of(s: &'a str, service: &str, what: &str) -> Result<Parts<'a>, String> {
        let p = split_arn(s)?;
        if p.service != service {
            return Err(format!("is not {what} ARN (service `{}`, not `{service}`)", p.service));
        }
        check_region(p.partition, p.region)?;
        check_account(p.account)?;
        Ok(p)
    }

    /// `arn:<partition>:sns:<region>:<account>:<topic>`.
    pub fn topic(s: &'a str) -> Result<ResourceArn<'a>, String> {
        let p = Self::of(s, "sns", "an SNS topic")?;
        check_fifo_name(p.resource, "topic", 256)?;
        Ok(ResourceArn { partition: p.partition, region: p.region, account: p.account, name: p.resource })
    }

    /// `arn:<partition>:events:<region>:<account>:event-bus/<name>`.
    pub fn event_bus(s: &'a str) -> Result<ResourceArn<'a>, String> {
        let p = Self::of(s, "events", "an event bus")?;
        let Some(name) = p.resource.strip_prefix("event-bus/") else {
            return Err("is not an event bus ARN (the resource must be event-bus/<name>)".into());
        };
        check_name(
            name,
            "event bus",
            256,
            |b| b.is_ascii_alphanumeric() || b"/._-".contains(&b),
            "1 to 256 characters of A-Z, a-z, 0-9 and /._-",
        )?;
        Ok(ResourceArn { partition: p.partition, region: p.region, account: p.account, name })
    }

    /// `arn:<partition>:kinesis:<region>:<account>:stream/<name>`.
    pub fn stream(s: &'a str) -> Result<ResourceArn<'a>, String> {
        let p = Self::of(s, "kinesis", "a Kinesis stream")?;
        let Some(name) = p.resource.strip_prefix("stream/") else {
            return Err("is not a Kinesis stream ARN (the resource must be stream/<name>)".into());
        };
        check_name(
            name,
            "stream",
            128,
            |b| b.is_ascii_alphanumeric() || b"_.-".contains(&b),
            "1 to 128 characters of A-Z, a-z, 0-9 and _.-",
        )?;
        Ok(ResourceArn { partition: p.partition, region: p.region, account: p.account, name })
    }
}

impl<'a> QueueUrl<'a> {
    /// `https://sqs.<region>.amazonaws.com/<account>/<name>` (`.amazonaws.com.cn` in China),
    /// the legacy `https://<region>.queue.amazonaws.com/<account>/<name>`, and with
    /// `allow_local` an emulator's `http://127.0.0.1:<port>/<account>/<name>` or
    /// `http://localhost:<port>/…`.
    pub fn parse(s: &'a str, allow_local: bool) -> Result<QueueUrl<'a>, String> {
        const FORM: &str = "https://sqs.<region>.amazonaws.com/<account>/<queue name>";
        let bad = || Err(format!("is not an SQS queue URL ({FORM})"));
        let (scheme, rest) = if let Some(r) = s.strip_prefix("https://") {
            ("https", r)
        } else if let Some(r) = s.strip_prefix("http://") {
            ("http", r)
        } else {
            return bad();
        };
        let Some((host, path)) = rest.split_once('/') else { return bad() };
        let region = if scheme == "http" {
            let port = host.strip_prefix("127.0.0.1:").or_else(|| host.strip_prefix("localhost:"));
            let Some(port) = port else {
                return Err(format!("is not an SQS queue URL ({FORM}; https only)"));
            };
            if !allow_local {
                return Err(format!("is not an SQS queue URL ({FORM}): local queue URLs are not allowed here"));
            }
            if port.is_empty()
                || port.len() > 5
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u32>().map_or(true, |p| p == 0 || p > 65535)
            {
                return Err(format!("has an invalid port `{port}`"));
            }
            None
        } else {
            let (region, partition) =
                if let Some(r) = host.strip_prefix("sqs.").and_then(|h| h.strip_suffix(".amazonaws.com.cn")) {
                    (r, "aws-cn")
                } else if let Some(r) = host.strip_prefix("sqs.").and_then(|h| h.strip_suffix(".amazonaws.com")) {
                    (r, if r.starts_with("us-gov-") { "aws-us-gov" } else { "aws" })
                } else if let Some(r) = host.strip_suffix(".queue.amazonaws.com.cn") {
                    (r, "aws-cn")
                } else if let Some(r) = host.strip_suffix(".queue.amazonaws.com") {
                    (r, if r.starts_with("us-gov-") { "aws-us-gov" } else { "aws" })
                } else {
                    return bad();
                };
            check_region(partition, region)?;
            Some(region)
        };
        let Some((account, name)) = path.split_once('/') else { return bad() };
        check_account(account)?;
        check_fifo_name(name, "queue", 80)?;
        Ok(QueueUrl { region, account, name })
    }

    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        let r = RoleArn::parse("arn:aws:iam::111122223333:role/hookline-delivery").unwrap();
        assert_eq!((r.partition, r.account, r.name), ("aws", "111122223333", "hookline-delivery"));
        let r = RoleArn::parse("arn:aws-us-gov:iam::111122223333:role/service/team/Deliver+=,.@_-").unwrap();
        assert_eq!(r.name, "Deliver+=,.@_-");
        assert!(RoleArn::parse("arn:aws-cn:iam::111122223333:role/r").is_ok());
        for bad in [
            "",
            "role/x",
            "arn:aws:iam::111122223333:user/x",
            "arn:aws:iam::11112222333:role/x",
            "arn:aws:iam::1111222233334:role/x",
            "arn:aws:iam::11112222333a:role/x",
            "arn:aws:iam:us-east-1:111122223333:role/x",
            "arn:aws:sts::111122223333:role/x",
            "arn:aws-eu:iam::111122223333:role/x",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/a//b",
            "arn:aws:iam::111122223333:role/has space",
            &format!("arn:aws:iam::111122223333:role/{}", "r".repeat(65)),
        ] {
            assert!(RoleArn::parse(bad).is_err(), "{bad}");
        }
        assert!(RoleArn::parse(&format!("arn:aws:iam::111122223333:role/{}", "r".repeat(64))).is_ok());
    }

    #[test]
    fn topic_bus_and_stream_arns() {
        let t = ResourceArn::topic("arn:aws:sns:us-east-2:111122223333:orders.fifo").unwrap();
        assert_eq!((t.region, t.account, t.name), ("us-east-2", "111122223333", "orders.fifo"));
        assert!(ResourceArn::topic(&format!("arn:aws:sns:us-east-2:111122223333:{}", "t".repeat(256))).is_ok());
        let b = ResourceArn::event_bus("arn:aws:events:eu-west-1:111122223333:event-bus/a/b.c-d_e").unwrap();
        assert_eq!((b.region, b.name), ("eu-west-1", "a/b.c-d_e"));
        let s = ResourceArn::stream("arn:aws-cn:kinesis:cn-northwest-1:111122223333:stream/s.1-2_3").unwrap();
        assert_eq!((s.partition, s.region, s.name), ("aws-cn", "cn-northwest-1", "s.1-2_3"));
        for bad in [
            "arn:aws:sns:us-east-2:111122223333:",
            "arn:aws:sns:us-east-2:111122223333:.fifo",
            "arn:aws:sns:us-east-2:111122223333:a.b",
            "arn:aws:sns:us-east-2:111122223333:a:b",
            "arn:aws:sns::111122223333:t",
            "arn:aws:sns:useast2:111122223333:t",
            "arn:aws:sns:US-EAST-2:111122223333:t",
            "arn:aws:sns:cn-north-1:111122223333:t",
            "arn:aws-cn:sns:us-east-1:111122223333:t",
            "arn:aws:sqs:us-east-2:111122223333:t",
            "arn:aws:sns:us-east-2:1111:t",
        ] {
            assert!(ResourceArn::topic(bad).is_err(), "{bad}");
        }
        assert!(ResourceArn::topic(&format!("arn:aws:sns:us-east-2:111122223333:{}", "t".repeat(257))).is_err());
        for bad in [
            "arn:aws:events:eu-west-1:111122223333:rule/x",
            "arn:aws:events:eu-west-1:111122223333:event-bus/",
            "arn:aws:events:eu-west-1:111122223333:event-bus/a b",
            "arn:aws:events:eu-west-1:111122223333:event-bus/a:b",
            "arn:aws:sns:eu-west-1:111122223333:event-bus/a",
        ] {
            assert!(ResourceArn::event_bus(bad).is_err(), "{bad}");
        }
        for bad in [
            "arn:aws:kinesis:eu-west-1:111122223333:stream/",
            "arn:aws:kinesis:eu-west-1:111122223333:stream/a/b",
            "arn:aws:kinesis:eu-west-1:111122223333:s",
            "arn:aws:firehose:eu-west-1:111122223333:stream/s",
        ] {
            assert!(ResourceArn::stream(bad).is_err(), "{bad}");
        }
        assert!(
            ResourceArn::stream(&format!("arn:aws:kinesis:eu-west-1:111122223333:stream/{}", "s".repeat(128))).is_ok()
        );
        assert!(
            ResourceArn::stream(&format!("arn:aws:kinesis:eu-west-1:111122223333:stream/{}", "s".repeat(129))).is_err()
        );
    }

    #[test]
    fn queue_urls() {
        let q = QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/111122223333/orders", false).unwrap();
        assert_eq!(q, QueueUrl { region: Some("eu-west-1"), account: "111122223333", name: "orders" });
        assert!(!q.is_fifo());
        let q = QueueUrl::parse("https://us-west-2.queue.amazonaws.com/111122223333/o_1-2.fifo", false).unwrap();
        assert_eq!((q.region, q.name), (Some("us-west-2"), "o_1-2.fifo"));
        assert!(q.is_fifo());
        let q = QueueUrl::parse("https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q", false).unwrap();
        assert_eq!(q.region, Some("cn-north-1"));
        assert!(QueueUrl::parse("https://sqs.us-gov-east-1.amazonaws.com/111122223333/q", false).is_ok());
        assert!(QueueUrl::parse(
            &format!("https://sqs.eu-west-1.amazonaws.com/111122223333/{}", "q".repeat(80)),
            false
        )
        .is_ok());
        assert!(QueueUrl::parse(
            &format!("https://sqs.eu-west-1.amazonaws.com/111122223333/{}.fifo", "q".repeat(75)),
            false
        )
        .is_ok());
        for bad in [
            "sqs.eu-west-1.amazonaws.com/111122223333/q",
            "http://sqs.eu-west-1.amazonaws.com/111122223333/q",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/q/",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/",
            "https://sqs.eu-west-1.amazonaws.com/111122223333",
            "https://sqs.eu-west-1.amazonaws.com/11112222333/q",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/q?x=1",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/a.b",
            "https://sqs.eu-west-1.amazonaws.com.cn/111122223333/q",
            "https://sqs.cn-north-1.amazonaws.com/111122223333/q",
            "https://sqs.eu-west-1.example.com/111122223333/q",
            "https://evil.com/sqs.eu-west-1.amazonaws.com/111122223333/q",
            "https://sqs.amazonaws.com/111122223333/q",
            "http://127.0.0.1:4566/111122223333/q",
        ] {
            assert!(QueueUrl::parse(bad, false).is_err(), "{bad}");
        }
        assert!(QueueUrl::parse(
            &format!("https://sqs.eu-west-1.amazonaws.com/111122223333/{}", "q".repeat(81)),
            false
        )
        .is_err());
        assert!(QueueUrl::parse(
            &format!("https://sqs.eu-west-1.amazonaws.com/111122223333/{}.fifo", "q".repeat(76)),
            false
        )
        .is_err());
    }

    #[test]
    fn emulator_queue_urls_only_when_allowed() {
        for local in ["http://127.0.0.1:4566/123456789012/q", "http://localhost:9324/123456789012/q.fifo"] {
            let q = QueueUrl::parse(local, true).unwrap();
            assert_eq!((q.region, q.account), (None, "123456789012"));
            assert!(QueueUrl::parse(local, false).unwrap_err().contains("not allowed"));
        }
        for bad in [
            "http://127.0.0.1/123456789012/q",
            "http://127.0.0.1:0/123456789012/q",
            "http://127.0.0.1:70000/123456789012/q",
            "http://10.0.0.1:4566/123456789012/q",
            "http://localhost.evil.com:4566/123456789012/q",
            "https://127.0.0.1:4566/123456789012/q",
            "http://127.0.0.1:4566/q",
        ] {
            assert!(QueueUrl::parse(bad, true).is_err(), "{bad}");
        }
    }
}
