//! Connecting to one of several addresses as asyncio's `create_connection` does: with a
//! happy-eyeballs delay, RFC 8305's staggered attempts (`staggered.staggered_race`) over
//! the addresses interleaved by family (asyncio's default `interleave=1` when a delay is
//! given); without one, each address in turn. Written over any connect and sleep futures,
//! so the library (WASI 0.2) and the 0.2.0 provider (WASI 0.3) share it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// asyncio's `_interleave_addrinfos(addrinfos, 1)`: the first address, then one of each
/// family in turn (families in the order they first appear), each family's own order
/// kept.
pub fn interleave(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut families: Vec<Vec<SocketAddr>> = Vec::new();
    for &address in addresses {
        match families.iter_mut().find(|family| family[0].is_ipv4() == address.is_ipv4()) {
            Some(family) => family.push(address),
            None => families.push(vec![address]),
        }
    }
    let longest = families.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest).flat_map(|i| families.iter().filter_map(move |family| family.get(i).copied())).collect()
}

/// The first connection `connect` makes to one of `addresses` (in `interleave`d order
/// when `delay` is given). Without `delay` the addresses are tried one after another.
/// With it, the next address's attempt starts when `delay` passes without a winner or
/// as soon as every attempt under way failed, while earlier attempts go on; the first
/// success wins and the attempts still under way are dropped (cancelled). When all
/// fail, the last error; with no address at all, `no_address`.
pub async fn connect_first<C, E, F, S>(
    addresses: &[SocketAddr],
    delay: Option<Duration>,
    mut connect: impl FnMut(SocketAddr) -> F,
    mut sleep: impl FnMut(Duration) -> S,
    no_address: E,
) -> Result<C, E>
where
    F: Future<Output = Result<C, E>>,
    S: Future<Output = ()>,
{
    let order = match delay {
        Some(_) => interleave(addresses),
        None => addresses.to_vec(),
    };
    let mut next = order.into_iter();
    let mut attempts: Vec<Pin<Box<F>>> = Vec::new();
    let mut last_error = Some(no_address);
    let mut stagger: Option<Pin<Box<S>>> = None;
    std::future::poll_fn(|cx| loop {
        let mut i = 0;
        while i < attempts.len() {
            match attempts[i].as_mut().poll(cx) {
                Poll::Ready(Ok(connected)) => return Poll::Ready(Ok(connected)),
                Poll::Ready(Err(error)) => {
                    last_error = Some(error);
                    drop(attempts.remove(i));
                }
                Poll::Pending => i += 1,
            }
        }
        let stagger_elapsed = stagger.as_mut().is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if attempts.is_empty() || stagger_elapsed {
            match next.next() {
                Some(address) => {
                    attempts.push(Box::pin(connect(address)));
                    stagger = delay.map(|delay| Box::pin(sleep(delay)));
                    continue;
                }
                None if attempts.is_empty() => {
                    return Poll::Ready(Err(last_error.take().expect("an error per failed attempt")))
                }
                None => stagger = None,
            }
        }
        return Poll::Pending;
    })
    .await
}

#[cfg(test)]
mod tests {
    //! The staggering over real time (threads as timers), with connect futures that
    //! succeed, fail or never answer.

    use super::*;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Waker};
    use std::time::Instant;

    fn v4(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 80))
    }

    fn v6(last: u16) -> SocketAddr {
        SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, last], 80))
    }

    /// Completes after `duration`, woken by a thread.
    struct Sleep {
        until: Instant,
        waker: Option<Arc<Mutex<Option<Waker>>>>,
    }

    fn sleep(duration: Duration) -> Sleep {
        Sleep { until: Instant::now() + duration, waker: None }
    }

    impl Future for Sleep {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if Instant::now() >= self.until {
                return Poll::Ready(());
            }
            match &self.waker {
                Some(waker) => *waker.lock().unwrap() = Some(cx.waker().clone()),
                None => {
                    let waker = Arc::new(Mutex::new(Some(cx.waker().clone())));
                    let (until, shared) = (self.until, waker.clone());
                    std::thread::spawn(move || {
                        std::thread::sleep(until.saturating_duration_since(Instant::now()));
                        if let Some(waker) = shared.lock().unwrap().take() {
                            waker.wake();
                        }
                    });
                    self.waker = Some(waker);
                }
            }
            Poll::Pending
        }
    }

    /// How an address answers: after a while, with a connection or a refusal; or never.
    #[derive(Clone, Copy)]
    enum Answer {
        Connects(u64),
        Refuses(u64),
        Silent,
    }

    /// Runs `connect_first` with `answer` per address; what won (or the error) and when
    /// each attempt started (ms since the start).
    fn race(
        addresses: &[SocketAddr],
        delay: Option<u64>,
        answer: impl Fn(SocketAddr) -> Answer,
    ) -> (Result<SocketAddr, String>, Vec<(SocketAddr, u128)>) {
        let started = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let attempts = log.clone();
        let outcome = futures_lite::future::block_on(connect_first(
            addresses,
            delay.map(Duration::from_millis),
            |address| {
                attempts.lock().unwrap().push((address, started.elapsed().as_millis()));
                let answer = answer(address);
                async move {
                    match answer {
                        Answer::Connects(ms) => {
                            sleep(Duration::from_millis(ms)).await;
                            Ok(address)
                        }
                        Answer::Refuses(ms) => {
                            sleep(Duration::from_millis(ms)).await;
                            Err(format!("{address} refused"))
                        }
                        Answer::Silent => std::future::pending().await,
                    }
                }
            },
            sleep,
            "no address".to_string(),
        ));
        let log = log.lock().unwrap().clone();
        (outcome, log)
    }

    #[test]
    fn interleave_alternates_families_from_the_first_one() {
        let given = [v6(1), v6(2), v6(3), v4(1), v4(2)];
        assert_eq!(interleave(&given), [v6(1), v4(1), v6(2), v4(2), v6(3)]);
        assert_eq!(interleave(&[v4(1), v4(2)]), [v4(1), v4(2)]);
        assert_eq!(interleave(&[]), Vec::<SocketAddr>::new());
    }

    #[test]
    fn a_silent_first_address_is_overtaken_after_the_delay() {
        let (won, attempts) =
            race(
                &[v6(1), v4(1)],
                Some(100),
                |a| if a.is_ipv6() { Answer::Silent } else { Answer::Connects(0) },
            );
        assert_eq!(won, Ok(v4(1)));
        assert_eq!(attempts.len(), 2);
        assert!((100..5_000).contains(&attempts[1].1), "the second attempt started at {} ms", attempts[1].1);
    }

    #[test]
    fn a_slow_first_attempt_still_wins_if_it_connects_first() {
        let (won, attempts) =
            race(
                &[v4(1), v6(1)],
                Some(50),
                |a| {
                    if a.is_ipv4() {
                        Answer::Connects(150)
                    } else {
                        Answer::Silent
                    }
                },
            );
        assert_eq!(won, Ok(v4(1)), "earlier attempts go on after the next one starts");
        assert_eq!(attempts.len(), 2);
    }

    #[test]
    fn a_failed_attempt_starts_the_next_at_once() {
        let (won, attempts) = race(&[v4(1), v4(2)], Some(10_000), |a| {
            if a == v4(1) {
                Answer::Refuses(0)
            } else {
                Answer::Connects(0)
            }
        });
        assert_eq!(won, Ok(v4(2)));
        assert!(attempts[1].1 < 5_000, "did not wait for the delay: {} ms", attempts[1].1);
    }

    #[test]
    fn without_a_delay_the_addresses_go_in_turn_and_all_failing_is_the_last_error() {
        let (won, attempts) = race(&[v6(1), v6(2), v4(1)], None, |_| Answer::Refuses(10));
        assert_eq!(won, Err(format!("{} refused", v4(1))));
        let order: Vec<SocketAddr> = attempts.iter().map(|(a, _)| *a).collect();
        assert_eq!(order, [v6(1), v6(2), v4(1)], "given order, not interleaved");
    }

    #[test]
    fn no_address_is_its_error() {
        assert_eq!(race(&[], Some(10), |_| Answer::Connects(0)).0, Err("no address".to_string()));
    }
}
