use ddtrace_rocket::{traced, DatadogFairing};
use rocket::{get, routes};

#[get("/users/<id>")]
fn user(id: u32) -> String {
    format!("user {id}")
}

#[rocket::main]
async fn main() -> Result<(), Box<rocket::Error>> {
    let guard = ddtrace_core::init();
    let launched = rocket::build() // ROCKET_PORT, ROCKET_ADDRESS, Rocket.toml
        .attach(DatadogFairing::new())
        .mount("/", traced(routes![user])) // handlers run inside their span
        .launch() // stops gracefully on SIGTERM or Ctrl-C
        .await;
    guard.shutdown(); // flush every span
    launched.map(drop).map_err(Box::new)
}
