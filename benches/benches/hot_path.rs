//! The CPU hot path of one delivery, per byte of event data: HMAC-SHA256 as the
//! machine's physical limit, the two signatures Hookline computes, and payload
//! building (envelope JSON, flat JSON, XML), at 1 KiB, 16 KiB and 256 KiB.
//!
//! `cargo bench -p hookline-benches --bench hot_path` (scripts/bench.sh runs it and
//! `bench_report` turns the results into MB/s and ratios to raw HMAC).
//! Throughput is counted in bytes of the signed body (signing) or of the event's
//! `data` JSON (payloads), decimal MB/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use hookline::clock::Millis;
use hookline::model::{ContentType, PayloadFormat};
use hookline::service::deliver::{build_payload, delivery_headers};
use hookline::signing::{ed25519_header, hex_signature, signature_header, SignatureScheme};
use hookline_benches::data::{self, SIZES};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_01KAT9YB8M2N4P6Q8R0S2T4V6W";
/// An Ed25519 key (§17), fixed so that runs compare: the RFC 8032 test 2 seed.
const ED25519_KEY: &str = "whsk_TM0Imyj/ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U+4pvs=";

fn signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("signing");
    for (size, label) in SIZES {
        let body = serde_json::to_vec(&data::event_data(size)).unwrap();
        g.throughput(Throughput::BytesDecimal(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("raw_hmac_sha256", label), &body, |b, body| {
            b.iter(|| {
                let mut m = Hmac::<Sha256>::new_from_slice(b"0123456789abcdef0123456789abcdef").unwrap();
                m.update(black_box(body));
                black_box(m.finalize().into_bytes())
            })
        });
        g.bench_with_input(BenchmarkId::new("signature_header", label), &body, |b, body| {
            b.iter(|| black_box(signature_header(&[SECRET], MSG_ID, 1_795_445_102, black_box(body))))
        });
        g.bench_with_input(BenchmarkId::new("hex_signature", label), &body, |b, body| {
            b.iter(|| black_box(hex_signature(SECRET, black_box(body))))
        });
        // §17's `v1a`: the key pair derived from the stored seed, then the signature.
        g.bench_with_input(BenchmarkId::new("ed25519_header", label), &body, |b, body| {
            b.iter(|| black_box(ed25519_header(&[ED25519_KEY], MSG_ID, 1_795_445_102, black_box(body))))
        });
    }
    g.finish();
}

fn payloads(c: &mut Criterion) {
    let mut g = c.benchmark_group("payload");
    for (size, label) in SIZES {
        let raw = data::raw_data(size);
        let bytes = raw.get().len() as u64;
        let event = data::event(raw);
        g.throughput(Throughput::BytesDecimal(bytes));
        for (name, format, ct) in [
            ("envelope_json", PayloadFormat::Envelope, ContentType::Json),
            ("flat_json", PayloadFormat::Flat, ContentType::Json),
            ("envelope_xml", PayloadFormat::Envelope, ContentType::Xml),
        ] {
            let wh = data::webhook(format, ct);
            g.bench_with_input(BenchmarkId::new(name, label), &event, |b, event| {
                b.iter(|| black_box(build_payload(black_box(event), &wh)))
            });
        }
        // Everything a delivery computes before it sends: the body and every header, both signatures included.
        let wh = data::webhook(PayloadFormat::Envelope, ContentType::Json);
        g.bench_with_input(BenchmarkId::new("build_and_sign_envelope_json", label), &event, |b, event| {
            b.iter(|| {
                let p = build_payload(black_box(event), &wh);
                black_box(delivery_headers(&wh, &event.event_type, MSG_ID, 1, Millis(1_795_445_102_988), &p))
            })
        });
        let ed = hookline::model::Webhook {
            signature_scheme: SignatureScheme::Ed25519,
            secret: ED25519_KEY.into(),
            ..data::webhook(PayloadFormat::Envelope, ContentType::Json)
        };
        g.bench_with_input(BenchmarkId::new("build_and_sign_envelope_json_ed25519", label), &event, |b, event| {
            b.iter(|| {
                let p = build_payload(black_box(event), &ed);
                black_box(delivery_headers(&ed, &event.event_type, MSG_ID, 1, Millis(1_795_445_102_988), &p))
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = signing, payloads }
criterion_main!(benches);
