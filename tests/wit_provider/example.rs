//! The `host::provider` module documentation's example, as a test.

use super::*;

#[tokio::test]
async fn test_client_and_server_in_one_instance() {
    // host::provider's doc example: one instance both serves and connects.
    let (mut p, server, address) = serving(None).await;
    let (reader, writer) = within("open-connection", p.open_connection("127.0.0.1", address.port(), None))
        .await
        .unwrap()
        .unwrap();
    let (client_reader, client_writer) = within("accept", p.accept(&server)).await.unwrap().unwrap();
    p.write(&writer, b"hello\n").await.unwrap().unwrap();
    within("drain", p.drain(&writer)).await.unwrap().unwrap();
    let line = within("readline", p.readline(&client_reader)).await.unwrap().unwrap();
    assert_eq!(text(&line), "hello\n");
    p.write(&client_writer, b"hi\n").await.unwrap().unwrap();
    let (line, _) =
        until_ready(&mut p, Source::Reader(&reader), async |p: &mut Provider| p.try_readline(&reader).await)
            .await;
    assert_eq!(text(&line.unwrap()), "hi\n");
    p.close(&client_writer).await.unwrap();
    let result = within("readexactly", p.readexactly(&reader, 10)).await.unwrap();
    assert_err(result, incomplete(b"", Some(10)));
    p.drop_server(server).await.unwrap();
    p.drop_writer(writer).await.unwrap();
    p.drop_reader(reader).await.unwrap();
    p.drop_reader(client_reader).await.unwrap();
    p.drop_writer(client_writer).await.unwrap();
    still_usable(&mut p).await;
}
