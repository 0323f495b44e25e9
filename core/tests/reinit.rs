//! A pipeline installed again in the same process: request threads keep a copy of the
//! installed settings of their own, and must see the new installation, not the copy. A test
//! binary of its own: it installs the pipeline for the process.

use ddtrace_conformance::TestAgent;
use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};

fn serve(tracer: &RequestTracer, path: &str) {
    let req = http::Request::get(path)
        .header("host", "shop")
        .body(())
        .unwrap();
    let mut span = tracer.start(RequestInfo::from_request(&req));
    span.set_route(path);
    span.record_status(200, &http::HeaderMap::new());
    span.finish();
}

#[test]
fn a_second_installation_is_seen_by_threads_that_served_the_first() {
    let agent = TestAgent::start();
    let tracer = RequestTracer::new(
        Integration::new("foo", "foo.request"),
        Config::builder().build().unwrap(),
    );
    // The same worker thread serves under both installations, as a server's threads would.
    let (work, jobs) = std::sync::mpsc::channel::<&'static str>();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let worker = {
        let tracer = tracer.clone();
        std::thread::spawn(move || {
            for path in jobs {
                serve(&tracer, path);
                done.send(()).unwrap();
            }
        })
    };
    let on_worker = |path: &'static str| {
        work.send(path).unwrap();
        finished.recv().unwrap();
    };

    let first = agent.install_pipeline("first");
    serve(&tracer, "/one");
    on_worker("/two");
    first.shutdown();
    // Between installations nothing is sent, whatever a thread kept.
    on_worker("/between");

    let second = agent.install_pipeline("second");
    serve(&tracer, "/three");
    on_worker("/four");
    second.flush();
    let spans = agent.spans_once(4);
    second.shutdown();
    drop(work);
    worker.join().unwrap();

    let service_of = |path: &str| {
        spans
            .iter()
            .find(|s| s["meta"]["http.route"] == path)
            .map(|s| s["service"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_eq!(service_of("/one").as_deref(), Some("first"));
    assert_eq!(service_of("/two").as_deref(), Some("first"));
    assert_eq!(service_of("/between"), None, "{spans:#?}");
    assert_eq!(service_of("/three").as_deref(), Some("second"));
    assert_eq!(
        service_of("/four").as_deref(),
        Some("second"),
        "the worker's copy of the first installation's settings is not used"
    );
}
