//! `stdin-reader` and `stdout-writer`: the component's stdio (WASI 0.3 `wasi:cli`
//! streams) with the same reads and writes as a connection.

use host::provider_async::{AsyncProvider, Error};
use host::NetworkPolicy;

use super::ok;
use crate::support::{component, within};

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

#[tokio::test]
async fn stdin_into_stream_needs_a_read_first_and_a_bad_limit_is_refused() {
    let mut p = provider_with_stdin(b"data").await;
    let (before_a_read, bad_limit) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let reader = ok(api.call_stdin_reader(acc, None).await?)?;
            let before_a_read = api.reader().call_into_stream(acc, reader).await?.map(|_| ());
            let bad_limit = api.call_stdin_reader(acc, Some(0)).await?.map(|_| ());
            Ok((before_a_read, bad_limit))
        })
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(before_a_read, Err(Error::NotImplemented(_))), "{before_a_read:?}");
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
