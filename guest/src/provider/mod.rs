//! The WIT face of the library: `wasio:streams/types` exported by a component (the
//! `provider` world), on the same code paths as the Rust API — one implementation,
//! two faces.
//!
//! WASI 0.2 exports run one call at a time, so: blocking methods run the Rust API's
//! future to completion with `block_on`; `try-*` methods never wait; every call first
//! lets background work (flushes, closes started earlier) progress without waiting.
//! The crate `guest/provider` turns this into a component with `export_provider!`.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "provider",
        with: {
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:sockets/network@0.2.12": wasip2::sockets::network,
        },
        pub_export_macro: true,
        export_macro_name: "export_provider",
        default_bindings_module: "wasio::provider::bindings",
    });
}

mod convert;
mod resources;
mod tls;

pub use resources::{Provider, ReaderResource, ServerResource, WriterResource};
