//! The single-table layout. Every item has `pk`/`sk`; lists use three generic
//! global secondary indexes (`gsi1`–`gsi3`, keys `gsiNpk`/`gsiNsk`, all string).
//!
//! | item | pk | sk | gsi1 | gsi2 | gsi3 |
//! | --- | --- | --- | --- | --- | --- |
//! | project id counter | `COUNTER` | `PROJECT` | | | |
//! | project | `PRJ#{pid}` | `PRJ` | | | |
//! | API key → project | `KEY#{sha256}` | `KEY` | | | |
//! | webhook | `PRJ#{pid}` | `WH#{wh}` | | | |
//! | event | `EVT#{evt}` | `EVT` | `PRJ#{pid}#EVT` / evt | `PRJ#{pid}#EVT#{type}` / evt | |
//! | delivery | `MSG#{msg}` | `MSG` | `EVT#{evt}#MSG` / msg | `PRJ#{pid}#WH#{wh}` / msg | `PRJ#{pid}#WH#{wh}#{status}` / msg |
//! | attempt | `MSG#{msg}` | `ATT#{n:05}` | | | |
//! | idempotency record | `IDEM#{pid}#{sha256(key)}` | `IDEM` | | | |
//! | rate-limit state | `RATE#{pid}` | `RATE` | | | |

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const GSI3: &str = "gsi3";

pub fn index_attrs(index: &str) -> (&'static str, &'static str) {
    match index {
        GSI1 => ("gsi1pk", "gsi1sk"),
        GSI2 => ("gsi2pk", "gsi2sk"),
        _ => ("gsi3pk", "gsi3sk"),
    }
}

pub fn project(pid: u64) -> String {
    format!("PRJ#{pid}")
}

pub fn api_key(hash: &str) -> String {
    format!("KEY#{hash}")
}

pub fn webhook_sk(wh: &str) -> String {
    format!("WH#{wh}")
}

pub fn event(evt: &str) -> String {
    format!("EVT#{evt}")
}

pub fn project_events(pid: u64) -> String {
    format!("PRJ#{pid}#EVT")
}

pub fn project_events_of_type(pid: u64, event_type: &str) -> String {
    format!("PRJ#{pid}#EVT#{event_type}")
}

pub fn delivery(msg: &str) -> String {
    format!("MSG#{msg}")
}

pub fn event_deliveries(evt: &str) -> String {
    format!("EVT#{evt}#MSG")
}

pub fn webhook_deliveries(pid: u64, wh: &str) -> String {
    format!("PRJ#{pid}#WH#{wh}")
}

pub fn webhook_deliveries_with_status(pid: u64, wh: &str, status: &str) -> String {
    format!("PRJ#{pid}#WH#{wh}#{status}")
}

pub fn attempt_sk(n: u32) -> String {
    format!("ATT#{n:05}")
}

pub fn idempotency(pid: u64, key_hash: &str) -> String {
    format!("IDEM#{pid}#{key_hash}")
}

pub fn rate(pid: u64) -> String {
    format!("RATE#{pid}")
}
