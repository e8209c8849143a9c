//! `calstore serve --web-root DIR`: the directory's files at `/` (the web calendar), next
//! to the sync protocol, which no file shadows. A real process on a loopback port.
// Test support code outside #[test] functions: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "support/server.rs"]
mod support;
use support::*;

fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, kind, text)
}

#[test]
fn web_root_is_served_at_the_root_without_shadowing_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir_all(web.join("pkg")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>cal</title>").unwrap();
    std::fs::write(web.join("pkg/app.js"), "export const x = 1;").unwrap();
    // A file where a protocol path is: never served.
    std::fs::create_dir_all(web.join("sync/v1")).unwrap();
    std::fs::write(web.join("sync/v1/pull"), "not the protocol").unwrap();
    std::fs::write(web.join("healthz"), "not the health check").unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.db").display());
    let root = web.display().to_string();
    let server = Server::start_with(&db, dir.path(), "server", &["--web-root", &root], "http");

    let (status, kind, text) = get(&format!("{}/", server.url), &[]);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(text.contains("<title>cal</title>"));
    let (status, kind, text) = get(&format!("{}/pkg/app.js", server.url), &[]);
    assert_eq!(status, 200);
    assert!(kind.contains("javascript"), "{kind}");
    assert_eq!(text, "export const x = 1;");

    // The protocol and the health check are the server's.
    let (status, _, text) = get(&format!("{}/healthz", server.url), &[]);
    assert_eq!(status, 200);
    assert!(!text.contains("not the health check"), "{text}");
    let (status, kind, text) = get(&format!("{}/sync/v1/pull", server.url), &[]);
    assert_eq!(status, 405, "{text}");
    assert!(kind.starts_with("application/json"), "{kind}");
    let (status, kind, text) = get(&format!("{}/sync/v1/nothing", server.url), &[]);
    assert_eq!(status, 404);
    assert!(
        kind.starts_with("application/json") && text.contains("not_found"),
        "{text}"
    );

    // A missing file is the protocol's not_found; a second fetch may be answered 304.
    let (status, _, text) = get(&format!("{}/missing.js", server.url), &[]);
    assert_eq!(status, 404, "{text}");
    let (_, _, _) = get(&format!("{}/index.html", server.url), &[]);
    let (status, _, _) = get(
        &format!("{}/index.html", server.url),
        &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
    );
    assert_eq!(status, 304);
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn without_web_root_nothing_is_served_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.db").display());
    let server = Server::start(&db, dir.path(), "server");
    let (status, _, text) = get(&format!("{}/", server.url), &[]);
    assert_eq!(status, 404, "{text}");
    assert_eq!(server.terminate(), Some(0));
}
