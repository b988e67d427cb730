//! The Windows service's entry point, `ferry --config PATH service run --name NAME`: what the
//! service manager starts. It runs the same [`run_with`] as `ferry run`, with the service
//! manager's Stop (or the system's Shutdown) as the shutdown signal instead of Ctrl-C.
//!
//! States reported: StartPending while the config loads and the store opens, Running once the
//! pipeline starts, StopPending (its checkpoint going up every second) while the batch in hand
//! is finished, then Stopped: with exit code 0 after a requested stop, or with a
//! service-specific code ([`Failure`]) when ferry stopped by itself, which makes the service
//! manager restart it (see `windows.rs`, failure actions).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::{define_windows_service, service_dispatcher};

use super::Failure;
use crate::cli::run::{run_with, Host, RunArgs};
use crate::cli::CliError;

const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;

/// What the service manager's thread needs: set once, before the dispatcher starts.
struct Launch {
    config: PathBuf,
    name: String,
}

static LAUNCH: OnceLock<Launch> = OnceLock::new();

/// Hands this process to the service manager; returns when the service has stopped.
pub fn run(config: &Path, name: &str) -> Result<u8, CliError> {
    // The service manager starts us in C:\Windows\System32: never rely on the working folder.
    let config = std::path::absolute(config)?;
    let _ = LAUNCH.set(Launch {
        config,
        name: name.to_string(),
    });
    match service_dispatcher::start(name, ffi_service_main) {
        Ok(()) => Ok(0),
        Err(e) if super::windows::os_code(&e) == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) => {
            Err(CliError::Service(
                "`ferry service run` is what the Windows service manager starts; it does not run \
                 in a console. Run ferry in this window with `ferry run`, or start the service \
                 with `ferry service start`"
                    .into(),
            ))
        }
        Err(e) => Err(CliError::Service(format!(
            "cannot connect to the Windows service manager: {e}"
        ))),
    }
}

define_windows_service!(ffi_service_main, service_main);

fn service_main(_arguments: Vec<OsString>) {
    if let Some(launch) = LAUNCH.get() {
        serve(launch);
    }
}

/// The state last reported, and the thread that keeps a pending state's checkpoint moving.
struct Reporter {
    handle: ServiceStatusHandle,
    /// (state, checkpoint)
    now: Mutex<(ServiceState, u32)>,
    done: AtomicBool,
}

impl Reporter {
    fn set(&self, state: ServiceState, exit_code: ServiceExitCode) {
        let mut now = self.now.lock();
        if now.0 == ServiceState::Stopped {
            return;
        }
        let pending = matches!(
            state,
            ServiceState::StartPending | ServiceState::StopPending
        );
        let checkpoint = if pending { now.1 + 1 } else { 0 };
        let status = ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: if state == ServiceState::Running {
                ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
            } else {
                ServiceControlAccept::empty()
            },
            exit_code,
            checkpoint,
            wait_hint: if pending {
                Duration::from_secs(10)
            } else {
                Duration::ZERO
            },
            process_id: None,
        };
        if let Err(e) = self.handle.set_service_status(status) {
            tracing::warn!(error = %e, "cannot report the service state");
        }
        *now = (state, checkpoint);
    }

    /// Stop was asked for: StopPending, unless already stopping or stopped.
    fn stopping(&self) {
        let state = self.now.lock().0;
        if matches!(state, ServiceState::Running | ServiceState::StartPending) {
            self.set(ServiceState::StopPending, ServiceExitCode::NO_ERROR);
        }
    }

    /// Every second while a state is pending: the next checkpoint (the service manager then
    /// knows ferry is still at work, e.g. waiting for Kingdee to answer the batch in hand).
    fn heartbeat(self: &Arc<Self>) {
        let me = self.clone();
        std::thread::spawn(move || {
            while !me.done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                let state = me.now.lock().0;
                if matches!(
                    state,
                    ServiceState::StartPending | ServiceState::StopPending
                ) {
                    me.set(state, ServiceExitCode::NO_ERROR);
                }
            }
        });
    }

    fn stopped(&self, exit_code: ServiceExitCode) {
        self.done.store(true, Ordering::Relaxed);
        self.set(ServiceState::Stopped, exit_code);
    }
}

fn serve(launch: &Launch) {
    // A panic ends the process (the service manager then restarts it): say why in the log
    // first, since nobody sees stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("ferry service panicked: {info}");
        default_hook(info);
    }));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop_tx = Mutex::new(Some(stop_tx));
    let reporter: Arc<OnceLock<Arc<Reporter>>> = Arc::new(OnceLock::new());
    let for_handler = reporter.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(r) = for_handler.get() {
                r.stopping();
            }
            if let Some(tx) = stop_tx.lock().take() {
                let _ = tx.send(());
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let handle = match service_control_handler::register(&launch.name, handler) {
        Ok(h) => h,
        Err(e) => {
            let message = format!(
                "the Windows service {} cannot register with the service manager: {e}",
                launch.name
            );
            let _ = super::write_start_error(&launch.config, &exe_dir(), &message);
            return;
        }
    };
    let r = Arc::new(Reporter {
        handle,
        now: Mutex::new((ServiceState::StartPending, 0)),
        done: AtomicBool::new(false),
    });
    r.set(ServiceState::StartPending, ServiceExitCode::NO_ERROR);
    let _ = reporter.set(r.clone());
    r.heartbeat();

    let mut ready = || r.set(ServiceState::Running, ServiceExitCode::NO_ERROR);
    let shutdown = async move {
        // A dropped sender (the handler went away) also means stop.
        let _ = stop_rx.await;
    };
    // A panic unwinds through run_with (its log guard flushes the hook's line) to here, and
    // the service stops with an error code instead of vanishing.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_with(
            &launch.config,
            RunArgs::service(),
            Host::Service { ready: &mut ready },
            shutdown,
        )
    }));
    let exit_code = match result {
        // Stopped on request: 0 whatever the summary says (a non-zero code would make the
        // service manager restart a service it was asked to stop).
        Ok(Ok(_)) => ServiceExitCode::NO_ERROR,
        Err(_) => ServiceExitCode::ServiceSpecific(Failure::Pipeline.code()),
        Ok(Err(e)) => {
            let failure = Failure::of(&e);
            if let CliError::Config(errors) = &e {
                // There was no log dir to write to yet (run_with logged every other error).
                let message = format!(
                    "the Windows service {} cannot start: the config {} has mistakes:\n{errors}",
                    launch.name,
                    launch.config.display()
                );
                let _ = super::write_start_error(&launch.config, &exe_dir(), &message);
            }
            ServiceExitCode::ServiceSpecific(failure.code())
        }
    };
    r.stopped(exit_code);
}

/// The folder of ferry.exe: where a start error goes when the config cannot be read.
fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}
