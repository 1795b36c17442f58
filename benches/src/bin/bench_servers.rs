//! `bench-servers DYNAMODB_URL SQS_URL`: the loopback receiver, the recording
//! DynamoDB/SQS proxy, the instant stub and the control port (see
//! `hookline_benches::servers`). Prints the ports as one JSON line, then serves
//! until its standard input closes (the benchmark that started it ended).

use std::io::Read;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dynamodb, sqs] = args.as_slice() else {
        eprintln!("usage: bench-servers DYNAMODB_URL SQS_URL");
        std::process::exit(2);
    };
    let ports = hookline_benches::servers::run(dynamodb.clone(), sqs.clone()).await?;
    println!("{}", serde_json::to_string(&ports).expect("serializes"));
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .ok();
    Ok(())
}
