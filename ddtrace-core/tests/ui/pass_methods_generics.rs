//! Methods with every receiver, generics, where-clauses, `impl Trait` in
//! argument and return position, trait impls, `crate = path`.
#![deny(warnings)]

use ddtrace_core::trace;
use std::fmt::Display;

mod reexport {
    pub use ddtrace_core as ddtrace;
}

struct Kitchen {
    name: String,
    orders: u32,
}

impl Kitchen {
    #[trace]
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            orders: 0,
        }
    }

    #[trace(resource = self.name.clone())]
    fn name(&self) -> &str {
        &self.name
    }

    #[trace]
    fn take_order(&mut self) -> Result<u32, String> {
        self.orders += 1;
        Ok(self.orders)
    }

    #[trace]
    fn orders_mut(&mut self) -> Result<&mut u32, String> {
        Ok(&mut self.orders)
    }

    #[trace]
    fn close(self) -> Result<String, String> {
        Ok(self.name)
    }

    #[trace]
    fn boxed(self: Box<Self>) -> u32 {
        self.orders
    }
}

trait Station {
    fn prepare(&self, item: &str) -> String;
}

impl Station for Kitchen {
    #[trace(name = "station.prepare")]
    fn prepare(&self, item: &str) -> String {
        format!("{}: {item}", self.name)
    }
}

#[trace]
fn describe<T: Display + Clone, U>(t: &T, _u: U) -> Result<T, String>
where
    U: Send,
{
    Ok(t.clone())
}

#[trace]
fn show(x: impl Display) -> impl Display {
    format!("<{x}>")
}

#[trace]
fn counter() -> impl Iterator<Item = u32> {
    0..3
}

#[trace(crate = crate::reexport::ddtrace)]
fn through_reexport() -> u32 {
    1
}

fn main() {
    let mut kitchen = Kitchen::new("main");
    assert_eq!(kitchen.name(), "main");
    assert_eq!(kitchen.take_order().unwrap(), 1);
    *kitchen.orders_mut().unwrap() += 1;
    assert_eq!(kitchen.take_order().unwrap(), 3);
    assert_eq!(kitchen.prepare("toast"), "main: toast");
    assert_eq!(Box::new(Kitchen::new("b")).boxed(), 0);
    assert_eq!(kitchen.close().unwrap(), "main");
    assert_eq!(describe(&5u8, ()).unwrap(), 5);
    assert_eq!(show(1).to_string(), "<1>");
    assert_eq!(counter().sum::<u32>(), 3);
    assert_eq!(through_reexport(), 1);
}
