//! The `reader` resource: asyncio.StreamReader's reads, each the core's operation run by
//! [`Connection::read_op`]; and `into-stream`, the bulk path ([`crate::bulk_read`]).

use std::rc::Rc;

use wasio::core::{SearchState, Separators};
use wasio::error::Error;

use crate::bulk_read::{self, BulkRead};
use crate::connection::Connection;
use crate::convert;
use crate::wit;

pub struct Reader {
    conn: Rc<Connection>,
}

impl Reader {
    pub(crate) fn new(conn: Rc<Connection>) -> Reader {
        Reader { conn }
    }

    /// `readuntil` and `readuntil-any`, once their separators are checked.
    async fn readuntil_of(&self, separators: Result<Separators, Error>) -> Result<Vec<u8>, wit::Error> {
        crate::returned_at_once::guard(async move {
            let separators = separators.map_err(convert::error)?;
            let mut search = SearchState::new();
            self.conn
                .read_op("readuntil", |b| b.readuntil(&separators, &mut search))
                .await
                .map_err(convert::error)
        })
        .await
    }
}

impl Drop for Reader {
    /// No bulk read can come any more (`into-stream` set its own before this).
    fn drop(&mut self) {
        self.conn.reader_gone.set(true);
        self.conn.read_changed.notify_all();
    }
}

fn size(n: u64) -> Result<i64, wit::Error> {
    i64::try_from(n).map_err(|_| convert::error(Error::invalid_argument("size is too large")))
}

impl wit::GuestReader for Reader {
    async fn read(&self, n: i64) -> Result<Vec<u8>, wit::Error> {
        crate::returned_at_once::guard(async move {
            self.conn.read_op("read", |b| b.read(n)).await.map_err(convert::error)
        })
        .await
    }

    async fn readline(&self) -> Result<Vec<u8>, wit::Error> {
        crate::returned_at_once::guard(async move {
            let mut search = SearchState::new();
            self.conn.read_op("readuntil", |b| b.readline(&mut search)).await.map_err(convert::error)
        })
        .await
    }

    async fn readexactly(&self, n: u64) -> Result<Vec<u8>, wit::Error> {
        crate::returned_at_once::guard(async move {
            let n = size(n)?;
            self.conn.read_op("readexactly", |b| b.readexactly(n)).await.map_err(convert::error)
        })
        .await
    }

    async fn readuntil(&self, separator: Vec<u8>) -> Result<Vec<u8>, wit::Error> {
        self.readuntil_of(Separators::single(&separator)).await
    }

    async fn readuntil_any(&self, separators: Vec<Vec<u8>>) -> Result<Vec<u8>, wit::Error> {
        self.readuntil_of(Separators::new(separators.iter().map(Vec::as_slice))).await
    }

    fn at_eof(&self) -> bool {
        self.conn.read.borrow().at_eof()
    }

    fn limit(&self) -> u64 {
        self.conn.read.borrow().limit() as u64
    }

    fn exception(&self) -> Option<wit::Error> {
        self.conn.read.borrow().exception().cloned().map(convert::error)
    }

    fn buffer_size(&self) -> u64 {
        self.conn.read.borrow().len() as u64
    }

    fn into_stream(this: wit::Reader) -> Result<bulk_read::Ends, wit::Error> {
        let reader: Reader = this.into_inner();
        crate::tls::before_into_stream(&reader.conn)?;
        let (bulk, ends) = BulkRead::start(&reader.conn)?;
        *reader.conn.bulk.borrow_mut() = Some(bulk);
        reader.conn.read_changed.notify_all(); // the reading task delivers it
        Ok(ends)
    }
}
