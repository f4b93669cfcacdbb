//! `influxd-ctl`: InfluxDB Enterprise-compatible cluster administration.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = tessera_ctl::ctl::parse(std::env::args_os());
    let mut stdout = std::io::stdout();
    match tessera_ctl::ctl::run(&cli, &mut stdout).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
