//! `reader.into-stream` over TLS: the bulk read's bytes after the hand-off are the
//! socket's ciphertext decrypted on the way, through the connection's session (which the
//! writing task goes on using), at the pace the consumer takes them.

use std::mem;

use wasio::core::{ReadBuffer, Step};
use wasio::error::Error;
use wasip3::wit_bindgen::{StreamReader, StreamResult, StreamWriter};

use super::pumps::{after_decrypt, with_session};
use crate::bulk_read::dropped;
use crate::connection::{Connection, Ended};
use crate::{convert, wit};

/// Ciphertext is read from the socket in reads of up to this much.
const BULK_READ: usize = 256 * 1024;
/// Plaintext is handed on whenever this much is decrypted (one record is 16 KiB).
const PLAINTEXT_BATCH: usize = 128 * 1024;

/// Decrypts `carry` (ciphertext already read), then the socket's ciphertext, into
/// `sink` until the peer's close_notify or EOF; how it ended.
pub(crate) async fn deliver(
    conn: &Connection,
    sink: &mut StreamWriter<u8>,
    mut incoming: StreamReader<u8>,
    received: Ended,
    carry: Vec<u8>,
) -> Result<(), wit::Error> {
    let mut plain = ReadBuffer::new(PLAINTEXT_BATCH).map_err(convert::error)?;
    let mut ciphertext = carry;
    loop {
        // Everything the session can decrypt now, on to the consumer.
        loop {
            let arrived = mem::take(&mut ciphertext);
            decrypt(conn, &mut plain, |session, plain| session.receive(arrived, plain))?;
            hand_on(sink, &mut plain).await?;
            if !with_session(conn, |session| session.has_pending_input()) {
                break;
            }
        }
        if plain.is_eof() {
            return Ok(()); // the peer's close_notify
        }
        let (result, bytes) = incoming.read(Vec::with_capacity(BULK_READ)).await;
        match result {
            StreamResult::Complete(_) => ciphertext = bytes,
            StreamResult::Cancelled => {}
            StreamResult::Dropped => break,
        }
    }
    let ended = received.await;
    conn.tls.input_ended.set(true);
    if let Err(error) = ended {
        conn.lose(error.clone());
        return Err(convert::error(error));
    }
    decrypt(conn, &mut plain, |session, plain| session.receive_eof(plain))?;
    hand_on(sink, &mut plain).await
}

/// Runs `step` on the session into `plain`: a failure loses the connection and is the
/// bulk read's end too.
fn decrypt(
    conn: &Connection,
    plain: &mut ReadBuffer,
    step: impl FnOnce(&mut wasio::tls::TlsSession, &mut ReadBuffer) -> wasio::error::Result<()>,
) -> Result<(), wit::Error> {
    let outcome = with_session(conn, |session| step(session, plain));
    let failure: Option<Error> = outcome.as_ref().err().cloned();
    after_decrypt(conn, outcome);
    failure.map_or(Ok(()), |error| Err(convert::error(error)))
}

/// Hands what was decrypted to the consumer (waiting while it does not take it).
async fn hand_on(sink: &mut StreamWriter<u8>, plain: &mut ReadBuffer) -> Result<(), wit::Error> {
    let buffered = plain.len() as i64;
    if buffered == 0 {
        return Ok(());
    }
    let bytes = match plain.read(buffered) {
        Step::Ready(result) => result.map_err(convert::error)?,
        Step::NeedData => return Ok(()),
    };
    if !sink.write_all(bytes).await.is_empty() {
        return Err(dropped());
    }
    Ok(())
}
