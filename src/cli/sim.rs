//! `ferry sim --jushuitan 127.0.0.1:PORT --kingdee 127.0.0.1:PORT [--docs N] [--seed S] [--faults P] [--live RATE] [--json]`

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

use super::CliError;
use crate::sim::{self, SimSpec};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address for the Jushuitan simulator (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub jushuitan: SocketAddr,
    /// Address for the Kingdee simulator (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub kingdee: SocketAddr,
    /// Number of documents to generate per API (other in/out, sales out, returns, purchases,
    /// transfers; as many SKUs).
    #[arg(long, default_value_t = 500)]
    pub docs: u32,
    /// Number of shops to generate.
    #[arg(long, default_value_t = 20)]
    pub shops: u32,
    /// Seed for the generated history and the faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fault profile: none, latency, timeouts, http5xx, response-error, session-loss,
    /// rate-storm, lost-reply, chaos.
    #[arg(long, default_value = "none")]
    pub faults: String,
    /// Every document gets exactly this many lines (benchmarks); default: 0 to 5.
    #[arg(long)]
    pub lines: Option<u32>,
    /// Where the simulators keep their state (default: `data_dir/sim` of the config if it
    /// exists, else nothing is kept).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Jushuitan rate limits enforced by the simulator.
    #[arg(long, default_value_t = 5)]
    pub per_second: u32,
    #[arg(long, default_value_t = 100)]
    pub per_minute: u32,
    /// Live mode: the Jushuitan simulator keeps creating and changing documents, RATE changes
    /// per second to each API in use (e.g. 2, or 0.5; 0: off).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub live: f64,
    /// Print exactly one JSON line with the base URLs and credentials, then serve.
    #[arg(long)]
    pub json: bool,
}

pub fn sim(config_path: &Path, args: SimArgs) -> Result<u8, CliError> {
    for addr in [args.jushuitan, args.kingdee] {
        if !addr.ip().is_loopback() {
            return Err(CliError::Usage(format!(
                "the simulators listen on loopback only; {addr} is not a loopback address"
            )));
        }
    }
    super::logging::init_console("warn");
    let state_dir = args.state_dir.clone().or_else(|| {
        crate::config::load(config_path)
            .ok()
            .map(|c| c.data_dir.join("sim"))
    });
    let sims = sim::start(&SimSpec {
        jushuitan_addr: args.jushuitan,
        kingdee_addr: args.kingdee,
        state_dir,
        docs: args.docs,
        shops: args.shops,
        seed: args.seed,
        faults: args.faults.clone(),
        lines: args.lines,
        per_second: args.per_second,
        per_minute: args.per_minute,
        live: args.live,
        ..SimSpec::default()
    })
    .map_err(CliError::Sim)?;
    let d = sims.describe_json();
    if args.json {
        println!("{d}");
    } else {
        println!(
            "Jushuitan simulator: {}",
            d["jushuitan"]["base_url"].as_str().unwrap_or("")
        );
        println!(
            "  app_key    = {}",
            d["jushuitan"]["app_key"].as_str().unwrap_or("")
        );
        println!(
            "  app_secret = {}",
            d["jushuitan"]["app_secret"].as_str().unwrap_or("")
        );
        println!(
            "Kingdee simulator:   {}",
            d["kingdee"]["base_url"].as_str().unwrap_or("")
        );
        for k in ["acct_id", "user", "password", "app_id", "app_secret"] {
            println!("  {k:<10} = {}", d["kingdee"][k].as_str().unwrap_or(""));
        }
        println!("  lcid       = {}", d["kingdee"]["lcid"]);
        println!("(simulator credentials are for loopback testing only; Ctrl-C stops)");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(super::run::ctrl_c());
    sims.stop();
    Ok(0)
}
