//! `/debug/pprof` on a data node, as influxd serves it on its HTTP port: CPU profiles of
//! the whole process (every core's thread) as pprof protobuf (`go tool pprof`, `pprof`)
//! or as an SVG flamegraph, the index page and `cmdline`. `[http] pprof-enabled = false`
//! turns them off (404).
//!
//! A profile samples for `seconds` (default 30, at most 300) on a blocking thread, so the
//! cores keep serving; one profile runs at a time. The profiler's sample tables are
//! allocated by the first profile and kept for the life of the process.

use std::time::Duration;

use pprof::protos::Message;

use crate::http::{Request, Response};

/// Samples per second, as Go's pprof.
const PROFILE_HZ: i32 = 100;
const DEFAULT_PROFILE: Duration = Duration::from_secs(30);
const MAX_PROFILE: Duration = Duration::from_secs(300);

/// The answer to a `/debug/pprof` path (`None` for other paths).
pub async fn answer(req: &Request) -> Option<Response> {
    let path = req.head.path.as_str();
    if path != "/debug/pprof" && !path.starts_with("/debug/pprof/") {
        return None;
    }
    Some(match path {
        "/debug/pprof" | "/debug/pprof/" => Response::new(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(INDEX.as_bytes().to_vec()),
        "/debug/pprof/cmdline" => {
            // Go's: the arguments joined by NUL bytes.
            Response::text(200, std::env::args().collect::<Vec<_>>().join("\0"))
        }
        "/debug/pprof/profile" => match seconds(req) {
            Ok(d) => match run_profile(d).await {
                Ok(report) => match report.pprof() {
                    Ok(proto) => Response::new(200)
                        .header("Content-Type", "application/octet-stream")
                        .header("Content-Disposition", "attachment; filename=\"profile\"")
                        .body(proto.encode_to_vec()),
                    Err(e) => Response::text(500, format!("encoding the profile: {e}\n")),
                },
                Err(r) => r,
            },
            Err(r) => r,
        },
        "/debug/pprof/flamegraph" => match seconds(req) {
            Ok(d) => match run_profile(d).await {
                Ok(report) => {
                    let mut svg = Vec::new();
                    match report.flamegraph(&mut svg) {
                        Ok(()) if !svg.is_empty() => Response::new(200)
                            .header("Content-Type", "image/svg+xml")
                            .body(svg),
                        // No samples (an idle node): a valid SVG that says so.
                        Ok(()) => Response::new(200)
                            .header("Content-Type", "image/svg+xml")
                            .body(IDLE_SVG.as_bytes().to_vec()),
                        Err(e) => Response::text(500, format!("drawing the flamegraph: {e}\n")),
                    }
                }
                Err(r) => r,
            },
            Err(r) => r,
        },
        // Go's heap, goroutine, block… profiles have no counterpart here.
        _ => Response::text(404, "404 page not found\n"),
    })
}

const INDEX: &str = "<html><head><title>/debug/pprof/</title></head><body>\n\
<h1>/debug/pprof/</h1>\n<ul>\n\
<li><a href=\"profile?seconds=30\">profile</a>: CPU profile of every core (pprof protobuf; \
<code>go tool pprof</code>)</li>\n\
<li><a href=\"flamegraph?seconds=30\">flamegraph</a>: the same as an SVG flamegraph</li>\n\
<li><a href=\"cmdline\">cmdline</a>: the command line</li>\n\
</ul>\n<p><a href=\"/debug/vars\">/debug/vars</a></p>\n</body></html>\n";

const IDLE_SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="40"><text x="10" y="25">No CPU samples were collected: the node was idle.</text></svg>"#;

fn seconds(req: &Request) -> Result<Duration, Response> {
    match req.head.query_decoded("seconds") {
        None => Ok(DEFAULT_PROFILE),
        Some(s) => match s.parse::<u64>() {
            Ok(0) | Err(_) => Err(Response::text(
                400,
                format!("invalid seconds {s:?}: a positive number of seconds\n"),
            )),
            Ok(n) => Ok(Duration::from_secs(n).min(MAX_PROFILE)),
        },
    }
}

/// Profiles the process for `duration` on a blocking thread.
async fn run_profile(duration: Duration) -> Result<pprof::Report, Response> {
    glommio::executor()
        .spawn_blocking(move || {
            let guard = pprof::ProfilerGuardBuilder::default()
                .frequency(PROFILE_HZ)
                .blocklist(&["libc", "libgcc", "pthread", "vdso"])
                .build()
                .map_err(|e| Response::text(409, format!("cannot start the profiler: {e}\n")))?;
            std::thread::sleep(duration);
            let report = guard
                .report()
                .build()
                .map_err(|e| Response::text(500, format!("building the profile: {e}\n")));
            drop(guard);
            report
        })
        .await
}
