//! Times wasio's ChaCha20-Poly1305 where it runs, in wasm under wasmtime: ns per byte of
//! 16 KiB records (TLS's largest) and of shorter ones, best of several runs.
//!
//! The module is private to the guest library, so its source is compiled in here as it is.
//! Usage: `./scripts/build-guests && target/release/host aead-bench.wasm [-- SIZE...]`.

#[cfg(not(test))]
#[allow(dead_code, unused_imports)]
#[path = "../../../../guest/src/tls/chacha20_poly1305/mod.rs"]
mod chacha20_poly1305;

#[cfg(not(test))]
fn main() {
    use chacha20_poly1305::{open_in_place, seal_in_place};
    use std::hint::black_box;

    let sizes: Vec<usize> =
        std::env::args().skip(1).map(|arg| arg.parse().expect("a size in bytes")).collect();
    let sizes = if sizes.is_empty() { vec![16 * 1024, 1024, 64] } else { sizes };
    let (key, nonce, aad) = ([7u8; 32], [3u8; 12], [23u8, 3, 3, 64, 17]);
    println!("ns/byte, best of 7. poly1305: an open refused by its tag (the MAC, and the ChaCha20");
    println!("block its key comes from); chacha20: seal - poly1305.");
    println!("{:>6} {:>8} {:>8} {:>8} {:>8}", "bytes", "seal", "open", "poly1305", "chacha20");
    for size in sizes {
        let mut data = vec![0x5a_u8; size];
        let seal = best_ns_per_byte(size, || {
            black_box(seal_in_place(&key, &nonce, &aad, black_box(&mut data)));
        });
        let tag = seal_in_place(&key, &nonce, &aad, &mut data);
        let sealed = data.clone();
        // Each open starts from the ciphertext again (the copy is about 1% of the time).
        let open = best_ns_per_byte(size, || {
            data.copy_from_slice(&sealed);
            open_in_place(&key, &nonce, &aad, black_box(&mut data), &tag).expect("our own record");
        });
        let poly = best_ns_per_byte(size, || {
            black_box(open_in_place(&key, &nonce, &aad, black_box(&mut data), &[0; 16]))
                .expect_err("a wrong tag");
        });
        println!("{size:>6} {seal:>8.3} {open:>8.3} {poly:>8.3} {:>8.3}", seal - poly);
    }
}

/// The fastest of 7 runs of `round` (after one to warm up), each repeated over about 4 MiB,
/// per byte of `bytes`.
#[cfg(not(test))]
fn best_ns_per_byte(bytes: usize, mut round: impl FnMut()) -> f64 {
    let rounds = (4 << 20) / bytes.max(1) + 1;
    (0..8)
        .map(|_| {
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                round();
            }
            start.elapsed().as_nanos() as f64 / (rounds * bytes) as f64
        })
        .skip(1)
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
fn main() {}
