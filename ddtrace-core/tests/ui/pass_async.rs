//! `async fn`s: free, methods, generics, `?` and early `return`, borrowed
//! results, `impl Trait` outputs, `async fn` in trait impls, `Send` futures.
#![deny(warnings)]

use ddtrace_core::trace;
use std::fmt::Display;
use std::future::Future;
use std::task::{Context, Poll, Waker};

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Yields once, so that spans must survive a suspension.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[derive(Debug)]
struct OvenError(String);

impl std::fmt::Display for OvenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::num::ParseIntError> for OvenError {
    fn from(e: std::num::ParseIntError) -> Self {
        OvenError(e.to_string())
    }
}

#[trace]
async fn plain(x: u32) -> u32 {
    yield_now().await;
    x
}

#[trace("bake", service = "oven-svc", resource = format!("{loaves} loaves"), span_type = "worker")]
async fn bake(loaves: &str) -> Result<u32, OvenError> {
    let n: u32 = loaves.parse()?;
    yield_now().await;
    if n == 0 {
        return Err(OvenError("nothing to bake".into()));
    }
    Ok(n)
}

#[trace]
async fn converted() -> Result<String, OvenError> {
    let n: u32 = "7".parse()?;
    Ok(n.to_string())
}

#[trace(err = false)]
async fn not_an_error() -> Result<(), OvenError> {
    Err(OvenError("expected".into()))
}

#[trace]
async fn generic<T: Display + Send>(t: T) -> Result<String, OvenError> {
    yield_now().await;
    Ok(t.to_string())
}

#[trace]
async fn opaque(x: u32) -> impl Display {
    x
}

#[trace]
async fn mutate(mut x: u32) -> u32 {
    x += 1;
    yield_now().await;
    x
}

struct Oven {
    name: String,
    heat: u32,
}

impl Oven {
    #[trace(resource = self.name.clone())]
    async fn name(&self) -> &str {
        yield_now().await;
        &self.name
    }

    #[trace]
    async fn heat_up(&mut self) -> Result<&mut Self, OvenError> {
        yield_now().await;
        self.heat += 100;
        Ok(self)
    }

    #[trace]
    async fn into_name(self) -> Result<String, OvenError> {
        yield_now().await;
        Ok(self.name)
    }
}

trait Appliance {
    fn run(&self, secs: u32) -> impl Future<Output = Result<u32, OvenError>> + Send;
}

impl Appliance for Oven {
    #[trace]
    async fn run(&self, secs: u32) -> Result<u32, OvenError> {
        yield_now().await;
        Ok(secs + self.heat)
    }
}

fn main() {
    assert_eq!(block_on(plain(1)), 1);
    assert_eq!(block_on(bake("2")).unwrap(), 2);
    assert!(block_on(bake("x")).is_err());
    assert!(block_on(bake("0")).is_err());
    assert_eq!(block_on(converted()).unwrap(), "7");
    assert!(block_on(not_an_error()).is_err());
    assert_eq!(block_on(assert_send(generic(5u8))).unwrap(), "5");
    assert_eq!(block_on(opaque(3)).to_string(), "3");
    assert_eq!(block_on(mutate(1)), 2);

    let mut oven = Oven {
        name: "stone".into(),
        heat: 0,
    };
    assert_eq!(block_on(oven.name()), "stone");
    assert_eq!(block_on(oven.heat_up()).unwrap().heat, 100);
    assert_eq!(block_on(assert_send(oven.run(5))).unwrap(), 105);
    assert_eq!(block_on(assert_send(oven.into_name())).unwrap(), "stone");
}
