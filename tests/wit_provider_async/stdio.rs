//! `stdin-reader` and `stdout-writer`: the component's stdio (WASI 0.3 `wasi:cli`
//! streams) with the same reads and writes as a connection.

use std::process::Stdio;

use host::provider_async::{AsyncProvider, Error};
use host::NetworkPolicy;

use super::ok;
use crate::support::{component, within, Running};

async fn provider_with_stdin(stdin: &[u8]) -> AsyncProvider {
    AsyncProvider::instantiate_with_stdio(
        &component("streams-provider-async"),
        NetworkPolicy::deny_all(),
        stdin,
    )
    .await
    .expect("instantiate the 0.2.0 provider")
}

#[tokio::test]
async fn stdin_reads_lines_to_eof_with_its_limit() {
    let mut p = provider_with_stdin(b"one\ntwo").await;
    let (limit, lines, at_eof) = within(
        "readline over stdin",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let reader = ok(api.call_stdin_reader(acc, Some(100)).await?)?;
            let limit = api.reader().call_limit(acc, reader).await?;
            let mut lines = Vec::new();
            for _ in 0..3 {
                lines.push(ok(api.reader().call_readline(acc, reader).await?)?);
            }
            Ok((limit, lines, api.reader().call_at_eof(acc, reader).await?))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(limit, 100);
    assert_eq!(lines, [b"one\n".to_vec(), b"two".to_vec(), Vec::new()], "the last line, then EOF");
    assert!(at_eof);
}

/// `into-stream` before any read (the reader's pump runs from `stdin-reader` on, as
/// asyncio's pipe transport reads at once): forwarded to stdout with `write-stream`,
/// every byte of stdin comes out in order. A limit of 1 KiB: the pump has paused long
/// before the hand-off, which sends the paused bytes first and reads on.
#[tokio::test]
async fn stdin_into_stream_before_any_read_carries_every_byte_in_order() {
    const TOTAL: usize = 300_007;
    let stdin = super::host_streams::pattern(0, TOTAL);
    let mut p = provider_with_stdin(&stdin).await;
    let (taken, ended) = within(
        "stdin-reader, into-stream at once, write-stream to stdout, close",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let reader = ok(api.call_stdin_reader(acc, Some(1024)).await?)?;
            let bulk = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let writer = ok(api.call_stdout_writer(acc).await?)?;
            super::host_streams::forward_and_close(acc, api, bulk, writer).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(ended.is_ok(), "the bulk read ends well at stdin's EOF: {ended:?}");
    assert_eq!(taken, TOTAL as u64, "write-stream's count");
    let stdout = p.captured_stdout().unwrap();
    assert_eq!(stdout.len(), TOTAL, "every byte of stdin");
    super::host_streams::check_pattern(0, &stdout).unwrap();
}

#[tokio::test]
async fn a_stdin_limit_of_0_is_refused() {
    let mut p = provider_with_stdin(b"data").await;
    let bad_limit = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            Ok(api.call_stdin_reader(acc, Some(0)).await?.map(|_| ()))
        })
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(bad_limit, Err(Error::InvalidArgument(_))), "{bad_limit:?}");
}

#[tokio::test]
async fn stdout_gets_writes_and_writelines_in_order_and_closes() {
    let mut p = provider_with_stdin(b"").await;
    let can_write_eof = within(
        "write, writelines, drain, close, wait-closed on stdout",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let writer = ok(api.call_stdout_writer(acc).await?)?;
            let writers = api.writer();
            ok(writers.call_write(acc, writer, b"hello ".to_vec()).await?)?;
            ok(writers.call_writelines(acc, writer, vec![b"wor".to_vec(), b"ld\n".to_vec()]).await?)?;
            ok(writers.call_drain(acc, writer).await?)?;
            let can_write_eof = writers.call_can_write_eof(acc, writer).await?;
            writers.call_close(acc, writer).await?;
            ok(writers.call_wait_closed(acc, writer).await?)?;
            Ok(can_write_eof)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!can_write_eof, "false for stdout, as the WIT says");
    assert_eq!(p.captured_stdout().unwrap(), b"hello world\n");
}

/// A guest consumer (tests/guests/stdout-consumer, composed with the provider) writes
/// 720,000 bytes to `stdout-writer`'s writer with `write` alone, then waits on its stdin:
/// every line reaches the process's stdout, in order, while it waits, before anything
/// was awaited on the writer (`stdout-writer`'s task runs the pump). Its stdin closed, it
/// ends normally (`close`, `wait-closed`) with nothing more written.
#[tokio::test]
async fn a_write_alone_reaches_stdout_while_the_consumer_runs_on() {
    const LINES: u64 = 20_000;
    let mut consumer =
        Running::start_with_stdin("stdout-consumer", &[], &[&LINES.to_string()], Stdio::piped());
    let stdin = consumer.child.stdin.take().expect("the consumer's stdin");
    for i in 0..LINES {
        // Each line within crate::support::STEP, or the test fails.
        let Some(line) = consumer.next_line().await else {
            let stderr = consumer.stderr_text().await;
            panic!("stdout ended after {i} of {LINES} lines; stderr:\n{stderr}");
        };
        assert_eq!(line, format!("{i:08} abcdefghijklmnopqrstuvwxyz"), "line {i}");
    }
    let still_running = consumer.child.try_wait().expect("the consumer's status").is_none();
    assert!(still_running, "the lines came while the consumer waited on its stdin");
    drop(stdin); // EOF: it ends
    assert_eq!(consumer.next_line().await, None, "nothing after the lines");
    let stderr = consumer.stderr_text().await;
    assert_eq!(consumer.exit_code().await, 0, "stderr: {stderr}");
}
