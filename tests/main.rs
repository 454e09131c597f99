//! All integration tests, as one test binary: each of them links wasmtime, so one binary
//! instead of one per file saves minutes of linking and gigabytes of disk. Every module is
//! one area over real loopback TCP; `cargo test -p host --test integration streams_reader::`
//! runs one area.

mod support;

mod call_floor;
mod chat_flood;
mod compose;
mod compose_async;
mod echo_client;
mod echo_server;
mod examples;
mod fairness;
mod faults;
mod host_cli;
mod host_metrics;
mod host_metrics_p3;
mod host_instances;
mod host_reload;
mod mapped_address;
mod overload;
mod p3_host;
mod python_echo;
mod sandbox_bad_clients;
mod sandbox_limits;
mod sandbox_policy;
mod stream_examples;
mod streams_connect;
mod streams_reader;
mod streams_server;
mod streams_stream;
mod streams_writer;
mod tcp_nodelay;
mod tls;
mod tls_semantics;
mod wit_provider;
mod wit_provider_async;
mod wit_reader_pollable;
mod wit_tls;
mod wit_v02;
