//! The Windows service manager side: `ferry service install|uninstall|start|stop|status`.
//! The service's own entry point (`ferry service run`) is in `serve.rs`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use windows_service::service::{
    Service, ServiceAccess, ServiceAction as FailureAction, ServiceActionType, ServiceErrorControl,
    ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
    ServiceStartType, ServiceState, ServiceType,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

use super::{Failure, ServiceAction};
use crate::cli::CliError;

/// `println!` that does not panic when stdout is gone (`ferry service status | more`, closed
/// early: Windows has no SIGPIPE to end the process quietly).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_SERVICE_ALREADY_RUNNING: i32 = 1056;
const ERROR_SERVICE_DISABLED: i32 = 1058;
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;
const ERROR_SERVICE_NEVER_STARTED: u32 = 1077;
const ERROR_SERVICE_MARKED_FOR_DELETE: i32 = 1072;
const ERROR_SERVICE_EXISTS: i32 = 1073;
const ERROR_DUPLICATE_SERVICE_NAME: i32 = 1078;

/// Restarts after a failure (a crash, or a stop with a non-zero exit code): after 10 s, then
/// 1 min, then every 5 min; the count starts again after a day without failures.
const RESTART_AFTER: [u64; 3] = [10, 60, 300];
const RESET_AFTER: Duration = Duration::from_secs(86_400);

/// How long `start` and `stop` wait for the service to get there.
const START_WAIT: Duration = Duration::from_secs(60);
const STOP_WAIT: Duration = Duration::from_secs(180);

pub fn act(config: &Path, action: ServiceAction) -> Result<u8, CliError> {
    match action {
        ServiceAction::Install(n) => install(config, &n.name),
        ServiceAction::Uninstall(n) => uninstall(&n.name),
        ServiceAction::Start(n) => start(&n.name),
        ServiceAction::Stop(n) => stop(&n.name),
        ServiceAction::Status(n) => status(&n.name),
        ServiceAction::Run(n) => super::serve::run(config, &n.name),
        ServiceAction::SystemdUnit(_) => Ok(0),
    }
}

/// The Windows error code inside a service-manager error.
pub fn os_code(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

/// A service-manager error in an admin's words: what was being done, and what to do about it.
fn explain(doing: &str, name: &str, e: windows_service::Error) -> CliError {
    let admin = "open the Command Prompt with \"Run as administrator\" (右键 → 以管理员身份运行) \
                 and run the same command again";
    let text = match os_code(&e) {
        Some(ERROR_ACCESS_DENIED) => {
            format!("{doing} the Windows service {name}: access denied; this needs administrator rights: {admin}")
        }
        Some(ERROR_SERVICE_DOES_NOT_EXIST) => format!(
            "{doing} the Windows service {name}: no service of that name is installed \
             (install it with `ferry --config PATH service install --name {name}`)"
        ),
        Some(ERROR_SERVICE_EXISTS) | Some(ERROR_DUPLICATE_SERVICE_NAME) => format!(
            "{doing} the Windows service {name}: a service of that name (or display name) is \
             already installed; remove it first with `ferry service uninstall --name {name}`, \
             or choose another --name"
        ),
        Some(ERROR_SERVICE_MARKED_FOR_DELETE) => format!(
            "{doing} the Windows service {name}: Windows is still removing a service of that \
             name; close services.msc (and any other program showing services) and try again"
        ),
        Some(ERROR_SERVICE_DISABLED) => format!(
            "{doing} the Windows service {name}: it is disabled; set its startup type to \
             Automatic in services.msc"
        ),
        _ => {
            let detail = match &e {
                windows_service::Error::Winapi(io) => io.to_string(),
                other => other.to_string(),
            };
            format!("{doing} the Windows service {name}: {detail}")
        }
    };
    CliError::Service(text)
}

fn manager(
    access: ServiceManagerAccess,
    doing: &str,
    name: &str,
) -> Result<ServiceManager, CliError> {
    ServiceManager::local_computer(None::<&str>, access).map_err(|e| explain(doing, name, e))
}

fn open(name: &str, access: ServiceAccess, doing: &str) -> Result<Service, CliError> {
    manager(ServiceManagerAccess::CONNECT, doing, name)?
        .open_service(name, access)
        .map_err(|e| explain(doing, name, e))
}

fn install(config: &Path, name: &str) -> Result<u8, CliError> {
    let config = super::absolute_config(config)?;
    // A config the service could not start with is refused now rather than at the next boot.
    let loaded = crate::config::load_without_secrets(&config)?;
    let exe = std::env::current_exe()?;
    let doing = "installing";
    let manager = manager(
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
        doing,
        name,
    )?;
    let info = ServiceInfo {
        name: name.into(),
        display_name: super::display_name(name).into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe.clone(),
        launch_arguments: super::launch_arguments(&config, name),
        dependencies: vec![],
        // LocalSystem: no password to keep, and it can write the data folder where an admin
        // put it.
        account_name: None,
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::QUERY_CONFIG | ServiceAccess::DELETE;
    let service = manager
        .create_service(&info, access)
        .map_err(|e| explain(doing, name, e))?;
    if let Err(e) = configure(&service, &config) {
        // Half a service is worse than none.
        let _ = service.delete();
        return Err(explain(doing, name, e));
    }
    // Also restart after a stop with a non-zero exit code (a config error, a pipeline error),
    // not only after a crash: a config fixed in the meantime then takes effect by itself.
    // Wine 8 does not know this setting (error 124, invalid level): not a reason to fail.
    let restart_on_error = service.set_failure_actions_on_non_crash_failures(true);
    let command = service
        .query_config()
        .map(|c| c.executable_path.display().to_string())
        .unwrap_or_default();
    say!(
        "installed the Windows service {name} ({})",
        super::display_name(name)
    );
    say!("  runs:    {command}");
    say!("  starts:  automatically with Windows; after a failure it is restarted in 10 s, 1 min, then every 5 min");
    say!("  logs:    {}", shown(&loaded.log.dir));
    if let Err(e) = restart_on_error {
        let detail = match &e {
            windows_service::Error::Winapi(io) => io.to_string(),
            other => other.to_string(),
        };
        say!(
            "note: this Windows did not take the setting that restarts ferry after it stops with \
             an error ({detail}); it is still restarted after a crash"
        );
    }
    say!(
        "start it now with: \"{}\" service start --name {name}",
        exe.display()
    );
    if let Err(errors) = crate::config::load(&config) {
        say!(
            "note: in this window the config is not complete:\n{errors}\n\
             The service runs as LocalSystem and sees the system's environment variables, not \
             this window's: see \"Running as a Windows service\" in the README."
        );
    }
    Ok(0)
}

fn configure(service: &Service, config: &Path) -> windows_service::Result<()> {
    service.set_description(super::description(config))?;
    let actions = RESTART_AFTER
        .iter()
        .map(|&secs| FailureAction {
            action_type: ServiceActionType::Restart,
            delay: Duration::from_secs(secs),
        })
        .collect();
    service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(RESET_AFTER),
        reboot_msg: None,
        command: None,
        actions: Some(actions),
    })
}

fn uninstall(name: &str) -> Result<u8, CliError> {
    let doing = "removing";
    let access = ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE;
    let service = open(name, access, doing)?;
    let state = service
        .query_status()
        .map_err(|e| explain(doing, name, e))?;
    if state.current_state != ServiceState::Stopped {
        say!("stopping the Windows service {name} first...");
        request_stop(&service, name)?;
        wait_while(&service, ServiceState::StopPending, STOP_WAIT);
    }
    service.delete().map_err(|e| explain(doing, name, e))?;
    say!(
        "removed the Windows service {name}; ferry.exe, config.toml, the data folder and the \
         logs stay where they are"
    );
    Ok(0)
}

fn start(name: &str) -> Result<u8, CliError> {
    let doing = "starting";
    let access = ServiceAccess::QUERY_STATUS | ServiceAccess::START | ServiceAccess::QUERY_CONFIG;
    let service = open(name, access, doing)?;
    match service.start::<OsString>(&[]) {
        Ok(()) => {}
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_ALREADY_RUNNING) => {
            say!("the Windows service {name} is already running");
            return Ok(0);
        }
        Err(e) => return Err(explain(doing, name, e)),
    }
    wait_while(&service, ServiceState::StartPending, START_WAIT);
    // A service that stops at once (a config error) may first have reported Running: look
    // again a moment later.
    std::thread::sleep(Duration::from_secs(2));
    report(&service, name)
}

fn stop(name: &str) -> Result<u8, CliError> {
    let service = open(
        name,
        ServiceAccess::QUERY_STATUS | ServiceAccess::STOP,
        "stopping",
    )?;
    if !request_stop(&service, name)? {
        say!("the Windows service {name} is not running");
        return Ok(0);
    }
    say!("stopping the Windows service {name} (it finishes the batch in hand first)...");
    let state = wait_while(&service, ServiceState::StopPending, STOP_WAIT);
    if state == Some(ServiceState::Stopped) {
        say!("the Windows service {name} has stopped");
        Ok(0)
    } else {
        say!(
            "the Windows service {name} is still stopping after {} s; look again with \
             `ferry service status --name {name}`",
            STOP_WAIT.as_secs()
        );
        Ok(1)
    }
}

/// Asks the service to stop; false when it was not running.
fn request_stop(service: &Service, name: &str) -> Result<bool, CliError> {
    match service.stop() {
        Ok(_) => Ok(true),
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_NOT_ACTIVE) => Ok(false),
        Err(e) => Err(explain("stopping", name, e)),
    }
}

/// Polls while the service is in `state` (at most `limit`); the state it ended in.
fn wait_while(service: &Service, state: ServiceState, limit: Duration) -> Option<ServiceState> {
    let started = Instant::now();
    loop {
        let now = service.query_status().ok().map(|s| s.current_state);
        if now != Some(state) || started.elapsed() >= limit {
            return now;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn status(name: &str) -> Result<u8, CliError> {
    let access = ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG;
    let service = match open(name, access, "querying") {
        Ok(s) => s,
        Err(e) => {
            say!("{e}");
            return Ok(1);
        }
    };
    report(&service, name)
}

/// Prints the service's state in plain words; 0 when it runs, 3 when it does not.
fn report(service: &Service, name: &str) -> Result<u8, CliError> {
    let st = service
        .query_status()
        .map_err(|e| explain("querying", name, e))?;
    let config = service.query_config().ok();
    let command = config
        .as_ref()
        .map(|c| c.executable_path.to_string_lossy().into_owned());
    let state = match st.current_state {
        ServiceState::Running => match st.process_id {
            Some(pid) => format!("running (pid {pid})"),
            None => "running".into(),
        },
        ServiceState::Stopped => "stopped".into(),
        ServiceState::StartPending => "starting".into(),
        ServiceState::StopPending => "stopping (finishing the batch in hand)".into(),
        ServiceState::Paused | ServiceState::PausePending => "paused".into(),
        ServiceState::ContinuePending => "resuming".into(),
    };
    say!("the Windows service {name} is {state}");
    let config_path = command.as_deref().and_then(super::config_in_command_line);
    let log_dir = config_path.as_ref().map(|path| {
        let exe_dir = command
            .as_deref()
            .map(super::split_command_line)
            .and_then(|args| {
                args.first()
                    .and_then(|e| Path::new(e).parent().map(Path::to_path_buf))
            })
            .unwrap_or_else(|| PathBuf::from("."));
        super::start_errors_dir(path, &exe_dir)
    });
    if st.current_state == ServiceState::Stopped {
        match st.exit_code {
            ServiceExitCode::ServiceSpecific(code) if code != 0 => {
                say!("  it stopped by itself: {}", Failure::describe(code));
                if let (Some(dir), Failure::CONFIG_CODE) = (&log_dir, code) {
                    say!("  why:     {}", shown(&dir.join(super::START_ERRORS_FILE)));
                }
            }
            ServiceExitCode::Win32(ERROR_SERVICE_NEVER_STARTED) => {
                say!("  it has not run since it was installed")
            }
            ServiceExitCode::Win32(code) if code != 0 => {
                say!("  it stopped by itself: Windows error {code}")
            }
            _ => {}
        }
    }
    if let Some(c) = &config {
        let start = match c.start_type {
            ServiceStartType::AutoStart => "automatically with Windows",
            ServiceStartType::OnDemand => "only when started by hand",
            ServiceStartType::Disabled => "never (disabled)",
            _ => "by the system",
        };
        say!("  starts:  {start}");
    }
    if let Some(command) = &command {
        say!("  runs:    {command}");
    }
    if let Some(path) = &config_path {
        say!("  config:  {}", shown(path));
    }
    if let Some(dir) = &log_dir {
        say!("  logs:    {}", shown(dir));
    }
    Ok(if st.current_state == ServiceState::Running {
        0
    } else {
        3
    })
}

/// A path as an admin types it: config values such as `data/logs` joined to a folder leave
/// forward slashes, which Windows accepts but Explorer's address bar shows oddly.
fn shown(path: &Path) -> String {
    path.display().to_string().replace('/', "\\")
}
