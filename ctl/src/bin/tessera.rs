//! `tessera`: start, check and stop a local Tessera cluster; issue licenses.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = tessera_ctl::tessera_cli::parse(std::env::args_os());
    let mut stdout = std::io::stdout();
    match tessera_ctl::tessera_cli::run(cli, &mut stdout).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("tessera {e}");
            ExitCode::FAILURE
        }
    }
}
