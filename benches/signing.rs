//! Request signatures: `cargo bench --bench signing`.
//!
//! - Jushuitan: the MD5 signature of one business call (other.inout.query with a full `biz`),
//!   and the same call's form body;
//! - Kingdee: the SDK's signed headers of one BatchSave (two HMAC-SHA256 and the app data), and
//!   the LoginBySign signature (SHA-256).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferry::sink::kingdee::{login_by_sign_signature, signed_headers};
use ferry::source::jushuitan::{form_encode, sign};

const JST_SECRET: &str = "ferry-sim-app-secret";
const KD_APP_ID: &str = "300001_VlVHRh8eSl4OQ15SQFxFFQFcUAYPQ0US";
const KD_SECRET: &str = "5f3e2d1c0b4a69788796a5b4c3d2e1f0";
const KD_URL: &str = "http://127.0.0.1:8080/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc";

fn business_call() -> Vec<(&'static str, String)> {
    let biz = serde_json::json!({
        "modified_begin": "2026-09-01 00:00:00",
        "modified_end": "2026-09-08 00:00:00",
        "types": ["其它进仓"],
        "page_index": 12,
        "page_size": 50,
    });
    vec![
        ("access_token", "b7e3f1a2c4d5e6f708192a3b4c5d6e7f".into()),
        ("app_key", "ferry-sim-app-key".into()),
        ("biz", biz.to_string()),
        ("charset", "utf-8".into()),
        ("timestamp", "1788000000".into()),
        ("version", "2".into()),
    ]
}

fn signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("signing");
    g.throughput(Throughput::Elements(1));
    let params = business_call();
    g.bench_function("Jushuitan MD5 sign of a business call", |b| {
        b.iter(|| sign(black_box(JST_SECRET), black_box(&params)))
    });
    let mut signed = params.clone();
    signed.push(("sign", sign(JST_SECRET, &params)));
    g.bench_function("Jushuitan form body of a business call", |b| {
        b.iter(|| form_encode(black_box(&signed)))
    });
    g.bench_function("Kingdee signed headers of a BatchSave", |b| {
        b.iter(|| {
            signed_headers(
                black_box(KD_APP_ID),
                black_box(KD_SECRET),
                "ferry-sim-acct",
                "administrator",
                2052,
                "0",
                black_box(KD_URL),
                1_788_000_000,
            )
        })
    });
    g.bench_function("Kingdee LoginBySign signature", |b| {
        b.iter(|| {
            login_by_sign_signature(
                "ferry-sim-acct",
                "administrator",
                black_box(KD_APP_ID),
                black_box(KD_SECRET),
                1_788_000_000,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
